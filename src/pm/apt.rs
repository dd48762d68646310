//! apt (Debian, Ubuntu): `apt-get -s upgrade` is the listing and the
//! simulation (no root, no lock), origins tell security updates apart
//! (check_apt's rule), kept-back and phased updates are not pending,
//! `/var/run/reboot-required` is the reboot flag.

use super::{
    listing_section, strs, tool_error, Ask, Change, ChangeKind, Driver, Listing, Manager,
    Simulation,
};
use crate::model::Update;
use crate::sections::{ParseError, Sections};

/// The apt driver.
pub struct Apt;

/// Options every apt-get run gets: quiet progress, keep existing config files.
const APT_COMMON: &[&str] = &[
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
];

/// Options of an apt-get simulation: no lock, no "NOTE: This is only a simulation".
const APT_SIM: &[&str] = &[
    "-s",
    "-o",
    "Debug::NoLocking=true",
    "-o",
    "APT::Get::Show-User-Simulation-Note=false",
];

impl Driver for Apt {
    fn probe_stamp(&self) -> &'static str {
        r#"    apt) meta="/var/lib/apt/lists/*Release"
         inputs="/var/lib/apt/lists /var/lib/dpkg/status /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/preferences /etc/apt/preferences.d /etc/apt/apt.conf.d" ;;
"#
    }
    fn probe_listing(&self) -> &'static str {
        r#"        apt)
            echo "@@opsdeck list.apt"
            $T apt-get -s -o Debug::NoLocking=true -o APT::Get::Show-User-Simulation-Note=false \
                -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= upgrade 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.apt.rc"
            echo "$rc" ;;
"#
    }
    fn listing(&self, _m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError> {
        let (text, rc, list_name) = listing_section(s, "apt")?;
        if rc != 0 {
            return Ok(Err(tool_error("apt-get", rc, &text)));
        }
        parse_apt(&text)
            .map(Ok)
            .map_err(|m| ParseError::new(&list_name, m))
    }
    fn simulation_needs_root(&self) -> bool {
        false
    }
    fn env(&self) -> &'static [&'static str] {
        &["LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"]
    }
    fn refresh(&self, _m: Manager) -> (bool, Vec<String>) {
        (true, strs(&["apt-get", "-q", "update"]))
    }
    fn upgrade(&self, _m: Manager, sim: bool, ask: &Ask) -> Vec<String> {
        let mut argv = vec!["apt-get".to_string()];
        argv.extend(strs(if sim { APT_SIM } else { &["-y"] }));
        argv.extend(strs(APT_COMMON));
        match &ask.packages {
            None => argv.push("upgrade".into()),
            Some(pkgs) => {
                argv.push("install".into());
                argv.push("--only-upgrade".into());
                argv.extend(pkgs.iter().cloned());
            }
        }
        argv
    }
    fn reboot_probe(&self, _m: Manager) -> &'static str {
        "if [ -e /var/run/reboot-required ]; then echo reboot=yes; else echo reboot=no; fi"
    }
    fn simulation(&self, _m: Manager, text: &str) -> Simulation {
        parse_apt_simulation(text)
    }
    fn applied(&self, _m: Manager, text: &str) -> Vec<Change> {
        parse_apt_apply(text)
    }
}

/// `apt-get -s upgrade` output: `Inst` lines, and the kept-back and
/// deferred-by-phasing blocks.
///
/// `Inst libc6 [2.36-9+deb12u7] (2.36-9+deb12u10 Debian-Security:12/stable-security [amd64])`
pub fn parse_apt(text: &str) -> Result<Listing, String> {
    let mut l = Listing {
        security_known: true,
        ..Default::default()
    };
    let mut in_block = false;
    for line in text.lines() {
        if line.starts_with("The following packages have been kept back:")
            || line.starts_with("The following upgrades have been deferred due to phasing:")
            || line.starts_with("The following held packages will be changed:")
        {
            in_block = true;
            continue;
        }
        if in_block {
            if line.starts_with(' ') {
                for name in line.split_whitespace() {
                    if !l.kept_back.iter().any(|k| k == name) {
                        l.kept_back.push(name.to_string());
                    }
                }
                continue;
            }
            in_block = false;
        }
        if line.starts_with("Inst ") {
            l.updates.push(parse_apt_inst(line).ok_or_else(|| {
                format!(
                    "cannot read `{}`",
                    line.chars().take(200).collect::<String>()
                )
            })?);
        }
    }
    // A package both kept back and installed (rare: dependency pull-in) counts once.
    l.kept_back
        .retain(|k| !l.updates.iter().any(|u| &u.package == k));
    Ok(l)
}

/// One `Inst` line, read by the same parser as the apply side's
/// simulations; a line without a candidate version is unreadable.
fn parse_apt_inst(line: &str) -> Option<Update> {
    let c = parse_apt_line(line)?;
    Some(Update {
        package: c.package,
        installed: c.from,
        candidate: c.to.filter(|v| !v.is_empty())?,
        origin: c.origin,
        security: c.security,
    })
}

/// Is this apt origin a security one? As Nagios check_apt's default regex
/// (`Debian-Security:` or `Ubuntu…/…-security`), widened to Ubuntu ESM
/// origins with several dashes in the suite (monitoring-plugins#1974).
pub fn apt_origin_is_security(origin: &str) -> bool {
    let o = origin.trim();
    if o.starts_with("Debian-Security:") {
        return true;
    }
    if o.starts_with("Ubuntu") {
        if let Some((_, suite)) = o.split_once('/') {
            return suite.ends_with("-security");
        }
    }
    false
}

/// `Inst NAME [OLD] (NEW ORIGIN, ORIGIN [ARCH]) []` and `Remv NAME [OLD]`.
pub fn parse_apt_line(line: &str) -> Option<Change> {
    let (kind, rest) = if let Some(r) = line.strip_prefix("Inst ") {
        (ChangeKind::Upgrade, r)
    } else if let Some(r) = line.strip_prefix("Remv ") {
        (ChangeKind::Remove, r)
    } else {
        return None;
    };
    let rest = rest.trim();
    let (name, mut rest) = match rest.split_once(' ') {
        Some((n, r)) => (n, r.trim_start()),
        None => (rest, ""),
    };
    if name.is_empty() {
        return None;
    }
    let mut from = None;
    if let Some(r) = rest.strip_prefix('[') {
        if let Some((old, r2)) = r.split_once(']') {
            from = Some(old.to_string());
            rest = r2.trim_start();
        }
    }
    let mut to = None;
    let mut origin = None;
    let mut security = None;
    if let Some(r) = rest.strip_prefix('(') {
        // Up to the matching ')' (a trailing " []" may follow).
        let inner = match r.rfind(')') {
            Some(i) => &r[..i],
            None => r,
        };
        let (ver, tail) = match inner.split_once(' ') {
            Some((v, t)) => (v, t),
            None => (inner, ""),
        };
        to = Some(ver.to_string());
        // tail: "ORIGIN, ORIGIN [ARCH]"
        let origins_part = match tail.rfind(" [") {
            Some(i) => &tail[..i],
            None if tail.starts_with('[') => "",
            None => tail,
        };
        let origins: Vec<&str> = origins_part
            .split(", ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if !origins.is_empty() {
            security = Some(origins.iter().any(|o| apt_origin_is_security(o)));
            origin = Some(origins.join(", "));
        } else {
            security = Some(false);
        }
    }
    let kind = match (kind, &from) {
        (ChangeKind::Upgrade, None) => ChangeKind::Install,
        (k, _) => k,
    };
    let kind = if kind == ChangeKind::Upgrade {
        match (&from, &to) {
            (Some(f), Some(t)) if deb_version_lt(t, f) => ChangeKind::Downgrade,
            _ => ChangeKind::Upgrade,
        }
    } else {
        kind
    };
    Some(Change {
        package: name.to_string(),
        kind,
        from,
        to,
        origin,
        security: if kind == ChangeKind::Remove {
            None
        } else {
            security
        },
    })
}

/// A crude "is a older than b" for Debian versions, only to tell a downgrade
/// apart in simulations; compares epochs then falls back to string order of
/// digit runs. Good enough: apt itself already decided what to do.
pub fn deb_version_lt(a: &str, b: &str) -> bool {
    let split = |v: &str| -> (u64, String) {
        match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
                (e.parse().unwrap_or(0), r.to_string())
            }
            _ => (0, v.to_string()),
        }
    };
    let (ea, ra) = split(a);
    let (eb, rb) = split(b);
    if ea != eb {
        return ea < eb;
    }
    // Compare run by run: digits numerically, the rest bytewise with '~' lowest.
    let runs = |s: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((ld, r)) if *ld == d => r.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    };
    let (xa, xb) = (runs(&ra), runs(&rb));
    for (p, q) in xa.iter().zip(xb.iter()) {
        if p.0 && q.0 {
            let (n, m) = (
                p.1.parse::<u128>().unwrap_or(0),
                q.1.parse::<u128>().unwrap_or(0),
            );
            if n != m {
                return n < m;
            }
        } else if p.1 != q.1 {
            let key = |s: &str| -> Vec<i32> {
                s.chars()
                    .map(|c| if c == '~' { -1 } else { c as i32 + 256 })
                    .collect()
            };
            return key(&p.1) < key(&q.1);
        }
    }
    match xa.len().cmp(&xb.len()) {
        std::cmp::Ordering::Greater => xa[xb.len()].1.starts_with('~'),
        std::cmp::Ordering::Less => !xb[xa.len()].1.starts_with('~'),
        std::cmp::Ordering::Equal => false,
    }
}

/// A block of package names after a header line, indented, until a line
/// that is not indented.
fn indented_block<'a>(lines: &[&'a str], start: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    for l in &lines[start..] {
        if l.starts_with(' ') && !l.trim().is_empty() {
            out.extend(l.split_whitespace());
        } else {
            break;
        }
    }
    out
}

/// `apt-get -s upgrade` / `apt-get -s install --only-upgrade ...` output.
pub fn parse_apt_simulation(text: &str) -> Simulation {
    let lines: Vec<&str> = text.lines().collect();
    let mut sim = Simulation::default();
    for (i, l) in lines.iter().enumerate() {
        if let Some(c) = parse_apt_line(l) {
            sim.changes.push(c);
        } else if l.starts_with("The following packages have been kept back:") {
            sim.kept_back
                .extend(indented_block(&lines, i + 1).iter().map(|s| s.to_string()));
        } else if l.starts_with("The following upgrades have been deferred due to phasing:") {
            sim.deferred
                .extend(indented_block(&lines, i + 1).iter().map(|s| s.to_string()));
        }
    }
    sim
}

/// `apt-get -y upgrade` output: `Unpacking NAME (NEW) over (OLD) ...`,
/// `Unpacking NAME (NEW) ...` (new package), `Removing NAME (OLD) ...`,
/// `Setting up NAME (NEW) ...` (confirms the configured version).
pub fn parse_apt_apply(text: &str) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let paren = |s: &str| -> Option<(String, String)> {
        let s = s.trim_start();
        let r = s.strip_prefix('(')?;
        let (v, rest) = r.split_once(')')?;
        Some((v.to_string(), rest.to_string()))
    };
    for l in text.lines() {
        let l = l.trim_end();
        if let Some(r) = l.strip_prefix("Unpacking ") {
            let Some((name, rest)) = r.split_once(' ') else {
                continue;
            };
            let Some((new, rest)) = paren(rest) else {
                continue;
            };
            let old = rest
                .trim_start()
                .strip_prefix("over ")
                .and_then(|r| paren(r).map(|(v, _)| v));
            let kind = if old.is_some() {
                ChangeKind::Upgrade
            } else {
                ChangeKind::Install
            };
            if let Some(c) = out.iter_mut().find(|c| c.package == name) {
                c.to = Some(new);
                if old.is_some() {
                    c.from = old;
                }
                continue;
            }
            out.push(Change {
                package: name.to_string(),
                kind,
                from: old,
                to: Some(new),
                origin: None,
                security: None,
            });
        } else if let Some(r) = l.strip_prefix("Setting up ") {
            let Some((name, rest)) = r.split_once(' ') else {
                continue;
            };
            let Some((new, _)) = paren(rest) else {
                continue;
            };
            match out.iter_mut().find(|c| c.package == name) {
                Some(c) => c.to = Some(new),
                None => out.push(Change {
                    package: name.to_string(),
                    kind: ChangeKind::Upgrade,
                    from: None,
                    to: Some(new),
                    origin: None,
                    security: None,
                }),
            }
        } else if let Some(r) = l.strip_prefix("Removing ") {
            let Some((name, rest)) = r.split_once(' ') else {
                continue;
            };
            let Some((old, _)) = paren(rest) else {
                continue;
            };
            out.push(Change {
                package: name.to_string(),
                kind: ChangeKind::Remove,
                from: Some(old),
                to: None,
                origin: None,
                security: None,
            });
        }
    }
    out
}
