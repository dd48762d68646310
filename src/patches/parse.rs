//! Pure parsers of the package managers' simulation and apply output (forced
//! to `LC_ALL=C`), and of their exit statuses. Never panic on any input.

use super::commands::Manager;

pub use crate::pm::apk::parse_apk;
pub use crate::pm::apt::{
    apt_origin_is_security, deb_version_lt, parse_apt_apply, parse_apt_line, parse_apt_simulation,
};
pub use crate::pm::pacman::{parse_checkupdates, parse_pacman_apply};
pub use crate::pm::rpm::{parse_dnf, split_nevra};
pub use crate::pm::zypper::parse_zypper;
pub use crate::pm::{Change, ChangeKind, Outcome, Simulation};

// ------------------------------------------------------------------ any

/// Simulation output of manager `m`.
pub fn parse_simulation(m: Manager, text: &str) -> Simulation {
    m.driver().simulation(m, text)
}

/// Packages changed by an apply of manager `m`; `planned` fills in what the
/// tool's output leaves out (pacman prints no versions, dnf4 no old ones).
pub fn parse_apply(m: Manager, text: &str, planned: &[Change]) -> Vec<Change> {
    let mut changes = m.driver().applied(m, text);
    for c in &mut changes {
        if let Some(p) = planned.iter().find(|p| p.package == c.package) {
            if c.from.is_none() {
                c.from = p.from.clone();
            }
            if c.to.is_none() {
                c.to = p.to.clone();
            }
            if c.origin.is_none() {
                c.origin = p.origin.clone();
            }
            if c.security.is_none() {
                c.security = p.security;
            }
        }
    }
    changes
}

/// Interpret an exit status (None: killed by a signal).
pub fn outcome(m: Manager, simulate: bool, status: Option<i32>, output: &str) -> Outcome {
    let Some(code) = status else {
        return Outcome::Failed("killed by a signal".into());
    };
    if code == 0 {
        return Outcome::Ok;
    }
    m.driver()
        .exit_meaning(m, simulate, code, output)
        .unwrap_or_else(|| {
            Outcome::Failed(format!("exit status {code}{}", last_error_line(output)))
        })
}

/// ": E: ..." — the tool's last error line, if any, for the message.
fn last_error_line(output: &str) -> String {
    let pick = output.lines().rev().map(str::trim).find(|l| {
        l.starts_with("E: ")
            || l.starts_with("Error")
            || l.starts_with("error:")
            || l.starts_with("ERROR:")
            || l.starts_with("Problem")
            || l.contains("ERROR")
    });
    match pick {
        Some(l) => format!(": {}", l.chars().take(200).collect::<String>()),
        None => String::new(),
    }
}

/// What went wrong with sudo, from stderr (LC_ALL=C forced for sudo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SudoProblem {
    PasswordRequired,
    NotAllowed,
    EnvNotAllowed,
    Missing,
}

pub fn sudo_problem(stderr: &str) -> Option<SudoProblem> {
    for l in stderr.lines() {
        let l = l.trim();
        if l.starts_with("sudo: a password is required")
            || l.starts_with("sudo: a terminal is required")
            || l.contains("sudo: no tty present")
        {
            return Some(SudoProblem::PasswordRequired);
        }
        if l.starts_with(
            "sudo: sorry, you are not allowed to set the following environment variables",
        ) {
            return Some(SudoProblem::EnvNotAllowed);
        }
        if l.starts_with("Sorry, user") && l.contains("is not allowed to execute") {
            return Some(SudoProblem::NotAllowed);
        }
        if l.ends_with("sudo: not found")
            || l.ends_with("sudo: command not found")
            || l.contains("sudo: No such file or directory")
        {
            return Some(SudoProblem::Missing);
        }
    }
    None
}

impl SudoProblem {
    pub fn message(&self, host: &str, user: &str) -> String {
        match self {
            SudoProblem::PasswordRequired => format!(
                "sudo needs a password on {host}: allow NOPASSWD for the package manager or use root"
            ),
            SudoProblem::NotAllowed => format!(
                "sudo refuses the package manager to {user} on {host}: allow it in sudoers (NOPASSWD) or use root"
            ),
            SudoProblem::EnvNotAllowed => format!(
                "sudo on {host} refuses to set DEBIAN_FRONTEND/LC_ALL for {user}: give the rule the SETENV tag \
                 (e.g. `{user} ALL=(root) NOPASSWD:SETENV: /usr/bin/apt-get`) or use root"
            ),
            SudoProblem::Missing => format!(
                "sudo is not installed on {host} and {user} is not root: install sudo or connect as root"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/patches/",
                $name
            ))
        };
    }

    fn names(cs: &[Change]) -> Vec<&str> {
        cs.iter().map(|c| c.package.as_str()).collect()
    }

    #[test]
    fn apt_real_debian12_simulation() {
        let text = fixture!("apt-sim-upgrade-debian12.txt");
        let sim = parse_apt_simulation(text);
        let inst = text.lines().filter(|l| l.starts_with("Inst ")).count();
        assert_eq!(sim.changes.len(), inst);
        assert_eq!(sim.changes.len(), 131);
        let sec = sim
            .changes
            .iter()
            .filter(|c| c.security == Some(true))
            .count();
        let sec_lines = text
            .lines()
            .filter(|l| l.starts_with("Inst ") && l.contains("Debian-Security:"))
            .count();
        assert_eq!(sec, sec_lines);
        assert!(sec > 0 && sec < 131);
        let bash = sim.changes.iter().find(|c| c.package == "bash").unwrap();
        assert_eq!(bash.from.as_deref(), Some("5.2.15-2+b8"));
        assert_eq!(bash.to.as_deref(), Some("5.2.15-2+b13"));
        assert_eq!(bash.origin.as_deref(), Some("Debian:12.15/oldstable"));
        assert_eq!(bash.security, Some(false));
        assert_eq!(bash.kind, ChangeKind::Upgrade);
        // The trailing " []" of a broken-dependency marker is not an origin.
        let g = sim
            .changes
            .iter()
            .find(|c| c.package == "libgcrypt20-dev")
            .unwrap();
        assert_eq!(
            g.origin.as_deref(),
            Some("Debian:12.15/oldstable, Debian-Security:12/oldstable-security")
        );
        assert_eq!(g.security, Some(true));
        assert!(sim.kept_back.is_empty());
    }

    /// Real output of this Debian 12 machine with `apt-mark hold bash
    /// base-files`: held packages are "kept back", get no Inst line, and
    /// are neither pending nor part of what an upgrade changes; the checks'
    /// listing reads the same text the same way.
    #[test]
    fn apt_held_packages_are_kept_back_not_pending() {
        let text = fixture!("apt-sim-held-debian12.txt");
        let sim = parse_apt_simulation(text);
        assert_eq!(sim.kept_back, ["base-files", "bash"]);
        assert_eq!(sim.changes.len(), 129);
        assert!(sim
            .changes
            .iter()
            .all(|c| c.package != "bash" && c.package != "base-files"));
        let listing = crate::checks::listing::parse_apt(text).expect("parses");
        assert_eq!(listing.updates.len(), 129);
        assert_eq!(listing.kept_back, ["base-files", "bash"]);
    }

    #[test]
    fn apt_ubuntu_kept_back_phasing_epoch_multiarch() {
        let sim = parse_apt_simulation(fixture!("apt-sim-ubuntu-keptback-phased.txt"));
        assert_eq!(sim.kept_back, ["linux-generic", "linux-headers-generic"]);
        assert_eq!(
            sim.deferred,
            ["python3-distupgrade", "ubuntu-release-upgrader-core"]
        );
        assert_eq!(
            names(&sim.changes),
            ["bind9-dnsutils", "libc6:i386", "libc6", "openssl", "snapd"]
        );
        let b = &sim.changes[0];
        assert_eq!(b.from.as_deref(), Some("1:9.18.18-0ubuntu0.22.04.1"));
        assert_eq!(b.to.as_deref(), Some("1:9.18.28-0ubuntu0.22.04.1"));
        assert_eq!(b.security, Some(true));
        assert_eq!(sim.changes[1].security, Some(true));
        // -updates only: not security (as check_apt)
        assert_eq!(sim.changes[4].security, Some(false));
        // ESM origin with a multi-dash suite counts as security.
        assert_eq!(sim.changes[3].security, Some(true));
    }

    #[test]
    fn apt_no_updates() {
        let sim = parse_apt_simulation(fixture!("apt-sim-none.txt"));
        assert!(sim.changes.is_empty());
        assert!(sim.kept_back.is_empty());
    }

    #[test]
    fn apt_real_only_upgrade_pulls_dependency() {
        let sim = parse_apt_simulation(fixture!("apt-sim-only-upgrade-debian12.txt"));
        assert_eq!(
            names(&sim.changes),
            ["bash", "libgcrypt20-dev", "libgcrypt20"]
        );
    }

    #[test]
    fn apt_apply_output() {
        let cs = parse_apt_apply(fixture!("apt-apply.txt"));
        let d: Vec<String> = cs.iter().map(Change::describe).collect();
        assert_eq!(
            d,
            [
                "bash 5.2.15-2+b8 -> 5.2.15-2+b13",
                "libc6:i386 2.36-9+deb12u7 -> 2.36-9+deb12u10",
                "bind9-dnsutils 1:9.18.19-1~deb12u1 -> 1:9.18.33-1~deb12u2",
                "linux-image-6.1.0-28-amd64 (new) 6.1.119-1",
            ]
        );
    }

    #[test]
    fn apt_downgrade_detection() {
        assert!(deb_version_lt("1.0~rc1", "1.0"));
        assert!(deb_version_lt("1:1.0", "2:0.1"));
        assert!(!deb_version_lt("5.2.15-2+b13", "5.2.15-2+b8"));
        assert!(deb_version_lt("5.2.15-2+b8", "5.2.15-2+b13"));
    }

    #[test]
    fn dnf4_assumeno_and_apply() {
        let sim = parse_dnf(fixture!("dnf4-assumeno.txt"));
        assert_eq!(
            names(&sim.changes),
            [
                "kernel",
                "kernel-core",
                "bash",
                "python3-libdnf5-very-long-package-name"
            ]
        );
        assert_eq!(sim.changes[2].to.as_deref(), Some("5.2.26-3.fc40"));
        assert_eq!(sim.changes[2].origin.as_deref(), Some("updates"));
        assert_eq!(sim.changes[2].kind, ChangeKind::Upgrade);
        assert_eq!(sim.changes[1].kind, ChangeKind::Install);
        assert_eq!(sim.changes[3].to.as_deref(), Some("2:5.1.0-1.fc40"));
        assert_eq!(
            outcome(Manager::Dnf, true, Some(1), fixture!("dnf4-assumeno.txt")),
            Outcome::Ok
        );
        let applied = parse_dnf(fixture!("dnf4-apply.txt"));
        let bash = applied
            .changes
            .iter()
            .find(|c| c.package == "bash")
            .unwrap();
        assert_eq!(bash.from.as_deref(), Some("5.2.26-1.fc40"));
        assert_eq!(bash.to.as_deref(), Some("5.2.26-3.fc40"));
        assert_eq!(
            outcome(Manager::Dnf, false, Some(0), fixture!("dnf4-apply.txt")),
            Outcome::Ok
        );
    }

    #[test]
    fn dnf5_replacing_rows() {
        let sim = parse_dnf(fixture!("dnf5-assumeno.txt"));
        assert_eq!(names(&sim.changes), ["bash", "openssl-libs"]);
        assert_eq!(sim.changes[0].from.as_deref(), Some("5.2.26-1.fc40"));
        assert_eq!(sim.changes[1].from.as_deref(), Some("1:3.2.1-2.fc40"));
        assert_eq!(sim.changes[1].to.as_deref(), Some("1:3.2.2-3.fc40"));
    }

    #[test]
    fn dnf_nothing_to_do() {
        let text = fixture!("dnf4-security-nothing.txt");
        assert!(parse_dnf(text).changes.is_empty());
        assert_eq!(outcome(Manager::Dnf, true, Some(0), text), Outcome::Ok);
    }

    #[test]
    fn zypper_details() {
        let sim = parse_zypper(fixture!("zypper-update-dry-run.txt"));
        let d: Vec<String> = sim.changes.iter().map(Change::describe).collect();
        assert_eq!(
            d,
            [
                "kernel-default (new) 6.4.0-150600.23.30.1",
                "curl 8.0.1-11.86.1 -> 8.0.1-11.95.1",
                "libcurl4 8.0.1-11.86.1 -> 8.0.1-11.95.1",
            ]
        );
        assert_eq!(sim.kept_back, ["vim"]);
        let sec = parse_zypper(fixture!("zypper-patch-security.txt"));
        assert_eq!(names(&sec.changes), ["libopenssl3", "openssl-3"]);
        assert!(sec.kept_back.is_empty());
        assert_eq!(
            outcome(Manager::Zypper, false, Some(102), ""),
            Outcome::OkRebootNeeded
        );
        assert_eq!(
            outcome(Manager::Zypper, false, Some(103), ""),
            Outcome::OkRunAgain
        );
        assert!(matches!(
            outcome(Manager::Zypper, false, Some(4), ""),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn apk_sim_and_apply() {
        let sim = parse_apk(fixture!("apk-upgrade.txt"));
        let d: Vec<String> = sim.changes.iter().map(Change::describe).collect();
        assert_eq!(
            d,
            [
                "busybox 1.36.1-r5 -> 1.36.1-r7",
                "ssl_client 1.36.1-r5 -> 1.36.1-r7",
                "libcrypto3 (new) 3.1.4-r5",
            ]
        );
    }

    #[test]
    fn pacman_checkupdates_and_apply() {
        let sim = parse_checkupdates(fixture!("pacman-checkupdates.txt"));
        assert_eq!(names(&sim.changes), ["linux", "openssl", "systemd"]);
        assert_eq!(sim.changes[2].from.as_deref(), Some("255.6-1"));
        let applied = parse_apply(Manager::Pacman, fixture!("pacman-apply.txt"), &sim.changes);
        let d: Vec<String> = applied.iter().map(Change::describe).collect();
        assert_eq!(
            d,
            [
                "linux 6.9.1.arch1-1 -> 6.9.2.arch1-1",
                "openssl 3.3.0-1 -> 1:3.3.1-1",
            ]
        );
        assert_eq!(outcome(Manager::Pacman, true, Some(2), ""), Outcome::Ok);
        assert!(
            matches!(outcome(Manager::Pacman, false, Some(1), "error: failed to commit transaction"), Outcome::Failed(m) if m.contains("failed to commit"))
        );
    }

    #[test]
    fn sudo_messages() {
        assert_eq!(
            sudo_problem("sudo: a password is required\n"),
            Some(SudoProblem::PasswordRequired)
        );
        assert_eq!(
            sudo_problem("sudo: sorry, you are not allowed to set the following environment variables: DEBIAN_FRONTEND\n"),
            Some(SudoProblem::EnvNotAllowed)
        );
        assert_eq!(
            sudo_problem("sh: 1: sudo: not found\n"),
            Some(SudoProblem::Missing)
        );
        assert_eq!(sudo_problem("E: Could not get lock\n"), None);
        assert_eq!(
            SudoProblem::PasswordRequired.message("web1", "deploy"),
            "sudo needs a password on web1: allow NOPASSWD for the package manager or use root"
        );
    }

    #[test]
    fn failure_message_names_the_error() {
        let o = outcome(
            Manager::Apt,
            false,
            Some(100),
            "Reading package lists...\nE: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (apt-get)\n",
        );
        assert_eq!(
            o,
            Outcome::Failed("exit status 100: E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (apt-get)".into())
        );
        assert_eq!(
            outcome(Manager::Apt, false, None, ""),
            Outcome::Failed("killed by a signal".into())
        );
    }

    #[test]
    fn garbage_never_panics() {
        let junk = [
            "Inst ",
            "Inst x [",
            "Inst x (",
            "Inst x [1] (",
            "Inst x [1] (2 [",
            "Unpacking ",
            "Unpacking x (",
            "Setting up x",
            "(1/2)",
            "(1/2) Upgrading",
            "(1/2) Upgrading x (",
            "a -> ",
            " replacing",
            "Upgrading:\n x\n",
            "Upgrading:\n a b\n",
            "The following 1 package is going to be upgraded:\n  a -> \n",
            "\u{0}\u{1b}[31m",
        ];
        for j in junk {
            for m in Manager::ALL {
                let _ = parse_simulation(m, j);
                let _ = parse_apply(m, j, &[]);
                let _ = outcome(m, true, Some(1), j);
            }
            let _ = sudo_problem(j);
        }
    }
}
