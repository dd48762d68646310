//! The remote command lines, per package manager: detection, refresh,
//! simulation (dry run), apply, reboot-required probe, reboot. Pure: builds
//! strings, runs nothing. Every word goes through `util::shell_quote`.

use crate::util::shell_quote;

pub use crate::pm::{Ask, Manager, Mode};

/// Who runs the package manager on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    /// The SSH user is root: no sudo.
    pub root: bool,
}

/// One exec that tells the user id, the package manager and the boot id.
/// Output lines: `uid=N`, `user=NAME`, `pm=NAME` (empty when none), `boot=ID`.
pub const DETECT: &str = "echo \"uid=$(id -u)\"; echo \"user=$(id -un)\"; pm=; \
for c in apt-get dnf yum zypper apk pacman; do \
if command -v \"$c\" >/dev/null 2>&1; then pm=$c; break; fi; done; \
echo \"pm=$pm\"; \
echo \"boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)\"";

/// What `DETECT` printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detected {
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub manager: Option<Manager>,
    pub boot_id: Option<String>,
}

pub fn parse_detect(out: &str) -> Detected {
    let mut d = Detected::default();
    for line in out.lines() {
        if let Some(v) = line.strip_prefix("uid=") {
            d.uid = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("user=") {
            let v = v.trim();
            if !v.is_empty() {
                d.user = Some(v.to_string());
            }
        } else if let Some(v) = line.strip_prefix("pm=") {
            d.manager = Manager::from_name(v);
        } else if let Some(v) = line.strip_prefix("boot=") {
            let v = v.trim();
            if !v.is_empty() {
                d.boot_id = Some(v.to_string());
            }
        }
    }
    d
}

/// Build one remote command line: environment, `sudo -n` when not root, argv.
/// `env` are `NAME=value` words; under sudo they are passed as sudo's own
/// `VAR=value` arguments (sudo resets the environment), and `LC_ALL=C` is set
/// for sudo itself so its messages are in English.
pub fn command_line(privileged: bool, root: bool, env: &[&str], argv: &[String]) -> String {
    let mut words: Vec<String> = Vec::new();
    if privileged && !root {
        words.push("LC_ALL=C".into());
        words.push("sudo".into());
        words.push("-n".into());
    }
    words.extend(env.iter().map(|s| s.to_string()));
    words.extend(argv.iter().cloned());
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `apt-get update`, `dnf makecache`, ... The pacman case refreshes only the
/// temporary database of `checkupdates` (never `pacman -Sy` alone: a partial
/// upgrade waiting to happen on Arch); it needs no root.
pub fn refresh_command(m: Manager, p: Privilege) -> String {
    let (privileged, argv) = m.driver().refresh(m);
    command_line(privileged, p.root, m.driver().env(), &argv)
}

/// The simulation or apply command of `ask` on manager `m`.
/// Err: the request cannot be honoured on this manager (said why).
pub fn upgrade_command(m: Manager, p: Privilege, mode: Mode, ask: &Ask) -> Result<String, String> {
    if ask.security_only && !m.has_security_metadata() {
        return Err(format!(
            "{} has no security metadata, so --security-only cannot be honoured; \
             apply all updates on this host or leave it out",
            m.name()
        ));
    }
    let sim = mode == Mode::Simulate;
    let privileged = !sim || m.simulation_needs_root();
    let argv = m.driver().upgrade(m, sim, ask);
    Ok(command_line(privileged, p.root, m.driver().env(), &argv))
}

/// The full apt simulation that lists every upgradable package with its
/// origin (used to learn names and security origins before a narrower ask).
pub fn apt_full_simulation() -> String {
    upgrade_command(
        Manager::Apt,
        Privilege { root: true },
        Mode::Simulate,
        &Ask::default(),
    )
    .unwrap_or_default()
}

/// Prints `reboot=yes`, `reboot=no` or `reboot=unknown`. Needs no root.
pub fn reboot_required_probe(m: Manager) -> &'static str {
    m.driver().reboot_probe(m)
}

pub fn parse_reboot_probe(out: &str) -> Option<bool> {
    for line in out.lines() {
        match line.trim() {
            "reboot=yes" => return Some(true),
            "reboot=no" => return Some(false),
            _ => {}
        }
    }
    None
}

/// Issue a reboot: `shutdown -r now`, else `systemctl reboot`.
pub fn reboot_command(p: Privilege) -> String {
    let a = command_line(true, p.root, &[], &strs(&["shutdown", "-r", "now"]));
    let b = command_line(true, p.root, &[], &strs(&["systemctl", "reboot"]));
    format!("{a} || {b}")
}

/// Prints the boot id (and uptime seconds as a fallback): `boot=ID up=SECS`.
pub const BOOT_ID: &str = "echo \"boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) \
up=$(cut -d. -f1 /proc/uptime 2>/dev/null)\"";

/// (boot id, uptime seconds) from `BOOT_ID`'s output.
pub fn parse_boot(out: &str) -> (Option<String>, Option<u64>) {
    let mut boot = None;
    let mut up = None;
    for w in out.split_whitespace() {
        if let Some(v) = w.strip_prefix("boot=") {
            if !v.is_empty() {
                boot = Some(v.to_string());
            }
        } else if let Some(v) = w.strip_prefix("up=") {
            up = v.parse().ok();
        }
    }
    (boot, up)
}

/// Glob match of a hold pattern against a package name: `*`, `?`, `[...]`.
/// A pattern without an architecture also matches `name:arch` (apt multi-arch).
pub fn hold_matches(pattern: &str, package: &str) -> bool {
    if glob(pattern.as_bytes(), package.as_bytes()) {
        return true;
    }
    if !pattern.contains(':') {
        if let Some((name, _arch)) = package.split_once(':') {
            return glob(pattern.as_bytes(), name.as_bytes());
        }
    }
    false
}

/// The first hold pattern matching `package`.
pub fn held_by<'a>(holds: &'a [String], package: &str) -> Option<&'a str> {
    holds
        .iter()
        .find(|h| hold_matches(h, package))
        .map(|s| s.as_str())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking; no recursion blow-up.
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&p[pi..], s[si]) {
                        if matched {
                            pi += next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// `[abc]`, `[a-z]`, `[!x]` at the start of `p`: (matches c, length of the class).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if p[i] <= c && c <= p[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Privilege = Privilege { root: true };
    const USER: Privilege = Privilege { root: false };

    #[test]
    fn globs() {
        assert!(hold_matches("linux-image*", "linux-image-amd64"));
        assert!(hold_matches("postgresql-1?", "postgresql-15"));
        assert!(!hold_matches("postgresql-1?", "postgresql-157"));
        assert!(hold_matches("libc6", "libc6:i386"));
        assert!(!hold_matches("libc6:amd64", "libc6:i386"));
        assert!(hold_matches("lib[cd]*", "libdpkg-perl"));
        assert!(!hold_matches("lib[!cd]*", "libdpkg-perl"));
        assert!(hold_matches("*", "x"));
        assert!(!hold_matches("bash", "bash-completion"));
        assert!(hold_matches("*a*b*c", "xxaxxbxxc"));
        assert!(!hold_matches("[", "a"));
        assert!(hold_matches("[", "["));
    }

    #[test]
    fn apt_commands() {
        let all = upgrade_command(Manager::Apt, USER, Mode::Apply, &Ask::default()).unwrap();
        assert_eq!(
            all,
            "LC_ALL=C sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -y -q \
             -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade"
        );
        let ask = Ask {
            security_only: true,
            holds: vec![],
            packages: Some(vec!["libc6:i386".into(), "bash".into()]),
        };
        let sec = upgrade_command(Manager::Apt, ROOT, Mode::Apply, &ask).unwrap();
        assert_eq!(
            sec,
            "LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -y -q \
             -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
             install --only-upgrade libc6:i386 bash"
        );
        // Simulation never needs sudo on apt.
        let sim = upgrade_command(Manager::Apt, USER, Mode::Simulate, &Ask::default()).unwrap();
        assert!(sim.starts_with("LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -s "));
        assert!(!sim.contains("sudo"));
    }

    #[test]
    fn hostile_package_names_are_quoted() {
        let ask = Ask {
            packages: Some(vec!["x;rm -rf /".into()]),
            ..Default::default()
        };
        let c = upgrade_command(Manager::Apt, ROOT, Mode::Apply, &ask).unwrap();
        assert!(c.ends_with("'x;rm -rf /'"));
        let ask = Ask {
            holds: vec!["kernel*".into(), "a'b".into()],
            ..Default::default()
        };
        let c = upgrade_command(Manager::Dnf, USER, Mode::Simulate, &ask).unwrap();
        assert_eq!(
            c,
            "LC_ALL=C sudo -n LC_ALL=C dnf --assumeno upgrade '--exclude=kernel*' '--exclude=a'\\''b'"
        );
    }

    #[test]
    fn security_only_refused_without_metadata() {
        let ask = Ask {
            security_only: true,
            ..Default::default()
        };
        for m in [Manager::Apk, Manager::Pacman] {
            let e = upgrade_command(m, ROOT, Mode::Apply, &ask).unwrap_err();
            assert!(e.contains("no security metadata"), "{e}");
        }
        let c = upgrade_command(Manager::Zypper, ROOT, Mode::Apply, &ask).unwrap();
        assert_eq!(
            c,
            "LC_ALL=C zypper --non-interactive patch --category security --details"
        );
        let c = upgrade_command(Manager::Yum, ROOT, Mode::Simulate, &ask).unwrap();
        assert_eq!(c, "LC_ALL=C yum --assumeno update --security");
    }

    #[test]
    fn pacman_never_syncs_alone() {
        let ask = Ask {
            holds: vec!["linux*".into(), "nvidia".into()],
            ..Default::default()
        };
        assert_eq!(
            upgrade_command(Manager::Pacman, USER, Mode::Apply, &ask).unwrap(),
            "LC_ALL=C sudo -n LC_ALL=C pacman -Syu --noconfirm --ignore 'linux*,nvidia'"
        );
        assert_eq!(
            upgrade_command(Manager::Pacman, USER, Mode::Simulate, &ask).unwrap(),
            "LC_ALL=C checkupdates"
        );
        assert_eq!(
            refresh_command(Manager::Pacman, USER),
            "LC_ALL=C checkupdates"
        );
        assert_eq!(
            refresh_command(Manager::Apt, USER),
            "LC_ALL=C sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -q update"
        );
    }

    #[test]
    fn detect_and_boot() {
        let d = parse_detect("uid=1000\nuser=deploy\npm=apt-get\nboot=abc-123\n");
        assert_eq!(d.user.as_deref(), Some("deploy"));
        assert_eq!(d.uid, Some(1000));
        assert_eq!(d.manager, Some(Manager::Apt));
        assert_eq!(d.boot_id.as_deref(), Some("abc-123"));
        let d = parse_detect("uid=\nuser=\npm=\nboot=\n");
        assert_eq!(d, Detected::default());
        assert_eq!(
            parse_boot("boot=x-y up=12\n"),
            (Some("x-y".into()), Some(12))
        );
        assert_eq!(parse_reboot_probe("reboot=yes\n"), Some(true));
        assert_eq!(parse_reboot_probe("reboot=unknown\n"), None);
        assert_eq!(
            reboot_command(USER),
            "LC_ALL=C sudo -n shutdown -r now || LC_ALL=C sudo -n systemctl reboot"
        );
    }
}
