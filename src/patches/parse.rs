//! Pure parsers of the package managers' simulation and apply output (forced
//! to `LC_ALL=C`), and of their exit statuses. Never panic on any input.

use super::commands::Manager;

/// What happens to one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Upgrade,
    Install,
    Remove,
    Downgrade,
}

/// One package a transaction changes (or would change).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub package: String,
    pub kind: ChangeKind,
    /// Installed version before; None for a new package or where the tool does not say.
    pub from: Option<String>,
    /// Version after; None for a removal or where the tool does not say.
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// None where the tool gives no security classification here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<bool>,
}

impl Change {
    fn upgrade(package: &str, from: Option<&str>, to: Option<&str>) -> Change {
        Change {
            package: package.to_string(),
            kind: ChangeKind::Upgrade,
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            origin: None,
            security: None,
        }
    }

    /// `bash 5.2.15-2+b8 -> 5.2.15-2+b13`, `(new) foo 1.0`, `(removed) bar 2.0`.
    pub fn describe(&self) -> String {
        let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        match self.kind {
            ChangeKind::Upgrade | ChangeKind::Downgrade => {
                format!("{} {} -> {}", self.package, v(&self.from), v(&self.to))
            }
            ChangeKind::Install => format!("{} (new) {}", self.package, v(&self.to)),
            ChangeKind::Remove => format!("{} (removed) {}", self.package, v(&self.from)),
        }
    }
}

/// What a simulation (or the summary printed before an apply) says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulation {
    pub changes: Vec<Change>,
    /// apt: "The following packages have been kept back".
    pub kept_back: Vec<String>,
    /// apt on Ubuntu: "The following upgrades have been deferred due to phasing".
    pub deferred: Vec<String>,
}

// ------------------------------------------------------------------ apt

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
pub(crate) fn parse_apt_line(line: &str) -> Option<Change> {
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
fn deb_version_lt(a: &str, b: &str) -> bool {
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

// ------------------------------------------------------------------ dnf / yum

/// Split an RPM `name-[epoch:]version-release.arch` into (name, evr, arch).
pub fn split_nevra(s: &str) -> Option<(String, String, String)> {
    let (rest, arch) = s.rsplit_once('.')?;
    let (rest, release) = rest.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() || arch.is_empty() {
        return None;
    }
    Some((
        name.to_string(),
        format!("{version}-{release}"),
        arch.to_string(),
    ))
}

fn dnf_section(header: &str) -> Option<Option<ChangeKind>> {
    let h = header.trim_end_matches(':').trim();
    let kind = match h {
        "Upgrading" | "Updating" | "Upgrading dependencies" | "Updating dependencies" => {
            ChangeKind::Upgrade
        }
        "Installing"
        | "Installing dependencies"
        | "Installing weak dependencies"
        | "Installing for dependencies"
        | "Installing group/module packages" => ChangeKind::Install,
        "Removing" | "Removing dependent packages" | "Removing unused dependencies" | "Erasing" => {
            ChangeKind::Remove
        }
        "Downgrading" => ChangeKind::Downgrade,
        // Sections we know and skip (Reinstalling, Obsoleting, Skipping...).
        _ => return Some(None),
    };
    Some(Some(kind))
}

/// The transaction table of `dnf/yum upgrade` (dnf4, dnf5 and yum layouts),
/// printed by both `--assumeno` and `-y`; from-versions come from dnf5's
/// `replacing` rows and, after an apply, from the `Cleanup`/`Upgraded` lines.
pub fn parse_dnf(text: &str) -> Simulation {
    let mut sim = Simulation::default();
    let mut section: Option<ChangeKind> = None;
    let mut in_table = false;
    let mut pending_name: Option<String> = None;
    let mut cleanup: Vec<(String, String, String)> = Vec::new();
    for raw in text.lines() {
        let l = raw.trim_end();
        let t = l.trim();
        if t.starts_with("Transaction Summary") || t.starts_with("Transaction Summary:") {
            in_table = false;
            section = None;
            continue;
        }
        // Section headers are unindented and end with ':' (dnf5: "Upgrading:").
        if !l.starts_with(' ') && t.ends_with(':') && !t.contains("  ") {
            if let Some(k) = dnf_section(t) {
                section = k;
                in_table = true;
                pending_name = None;
                continue;
            }
        }
        if t.starts_with("Cleanup") || t.starts_with("Cleaning up") {
            // "  Cleanup          : bash-5.2.26-1.fc40.x86_64     3/4"
            if let Some((_, r)) = t.split_once(':') {
                if let Some(w) = r.split_whitespace().next() {
                    if let Some(n) = split_nevra(w) {
                        cleanup.push(n);
                    }
                }
            }
            continue;
        }
        if !in_table || !l.starts_with(' ') || t.is_empty() {
            if in_table && !l.starts_with(' ') && !t.is_empty() && !t.starts_with('=') {
                // An unindented line that is no section: the table is over.
                if dnf_section(t).is_none() {
                    in_table = false;
                }
            }
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if words.first() == Some(&"replacing") {
            // dnf5: "   replacing bash   x86_64   5.2.26-1.fc40   updates  8.1 MiB"
            // dnf4: "     replacing  bash.x86_64 5.2.26-1.fc40"
            let (name, ver) = match words.len() {
                n if n >= 4 => (words[1].to_string(), words[3].to_string()),
                3 => (
                    words[1]
                        .rsplit_once('.')
                        .map(|(n, _)| n)
                        .unwrap_or(words[1])
                        .to_string(),
                    words[2].to_string(),
                ),
                _ => continue,
            };
            if let Some(c) = sim.changes.iter_mut().rev().find(|c| c.package == name) {
                c.from = Some(ver);
            } else if let Some(c) = sim.changes.last_mut() {
                if c.from.is_none() {
                    c.from = Some(ver);
                }
            }
            continue;
        }
        let Some(kind) = section else {
            continue;
        };
        // A long name is printed alone, the rest of its row on the next line.
        let words: Vec<String> = match (&pending_name, words.len()) {
            (None, 1) => {
                pending_name = Some(words[0].to_string());
                continue;
            }
            (Some(n), _) => {
                let mut v = vec![n.clone()];
                v.extend(words.iter().map(|s| s.to_string()));
                pending_name = None;
                v
            }
            _ => words.iter().map(|s| s.to_string()).collect(),
        };
        if words.len() < 3 {
            continue;
        }
        let name = words[0].clone();
        let ver = words[2].clone();
        let repo = words.get(3).cloned();
        let (from, to) = match kind {
            ChangeKind::Remove => (Some(ver), None),
            _ => (None, Some(ver)),
        };
        sim.changes.push(Change {
            package: name,
            kind,
            from,
            to,
            origin: repo,
            security: None,
        });
    }
    for (name, evr, _arch) in cleanup {
        if let Some(c) = sim
            .changes
            .iter_mut()
            .find(|c| c.package == name && c.from.is_none() && c.kind != ChangeKind::Install)
        {
            c.from = Some(evr);
        }
    }
    sim
}

// ------------------------------------------------------------------ zypper

/// `zypper --non-interactive update|patch --details [--dry-run]`: the summary
/// blocks ("The following N packages are going to be upgraded:" ...), whose
/// rows with `--details` read `NAME  OLD -> NEW  ARCH  REPO ...`.
pub fn parse_zypper(text: &str) -> Simulation {
    #[derive(Clone, Copy, PartialEq)]
    enum Block {
        Changes(ChangeKind),
        KeptBack,
        Ignore,
    }
    let mut sim = Simulation::default();
    let mut block: Option<Block> = None;
    for raw in text.lines() {
        let l = raw.trim_end();
        let t = l.trim();
        if t.starts_with("The following") && t.ends_with(':') {
            block = Some(
                if t.contains("will NOT be installed") || t.contains("not going to be") {
                    Block::KeptBack
                } else if t.contains("going to be upgraded") {
                    Block::Changes(ChangeKind::Upgrade)
                } else if t.contains("going to be downgraded") {
                    Block::Changes(ChangeKind::Downgrade)
                } else if t.contains("going to be REMOVED") {
                    Block::Changes(ChangeKind::Remove)
                } else if t.contains("NEW package") && t.contains("going to be installed") {
                    Block::Changes(ChangeKind::Install)
                } else {
                    Block::Ignore
                },
            );
            continue;
        }
        if t.is_empty() || !l.starts_with(' ') {
            block = None;
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let kind = match block {
            None | Some(Block::Ignore) => continue,
            Some(Block::KeptBack) => {
                // details rows start with the name; plain rows are names only
                if words
                    .get(1)
                    .is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                {
                    sim.kept_back.push(words[0].to_string());
                } else {
                    sim.kept_back.extend(words.iter().map(|s| s.to_string()));
                }
                continue;
            }
            Some(Block::Changes(k)) => k,
        };
        if let Some(i) = words.iter().position(|w| *w == "->") {
            if i >= 2 {
                sim.changes.push(Change {
                    package: words[0].to_string(),
                    kind,
                    from: Some(words[i - 1].to_string()),
                    to: words.get(i + 1).map(|s| s.to_string()),
                    origin: None,
                    security: None,
                });
            }
            continue;
        }
        if words.len() >= 2 && words[1].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            // details row of a new/removed package: NAME VERSION ARCH REPO
            let v = Some(words[1].to_string());
            let (from, to) = if kind == ChangeKind::Remove {
                (v, None)
            } else {
                (None, v)
            };
            sim.changes.push(Change {
                package: words[0].to_string(),
                kind,
                from,
                to,
                origin: None,
                security: None,
            });
        } else {
            // without --details: names only
            for w in words {
                sim.changes.push(Change {
                    package: w.to_string(),
                    kind,
                    from: None,
                    to: None,
                    origin: None,
                    security: None,
                });
            }
        }
    }
    sim
}

// ------------------------------------------------------------------ apk

/// `apk upgrade [--simulate]`: `(1/3) Upgrading busybox (1.36.1-r5 -> 1.36.1-r7)`,
/// `(2/3) Installing foo (1.0-r0)`, `(3/3) Purging bar (2.0-r1)`.
pub fn parse_apk(text: &str) -> Simulation {
    let mut sim = Simulation::default();
    for l in text.lines() {
        let t = l.trim();
        let Some(rest) = t.strip_prefix('(') else {
            continue;
        };
        let Some((counter, rest)) = rest.split_once(") ") else {
            continue;
        };
        if !counter.contains('/') {
            continue;
        }
        let mut it = rest.splitn(3, ' ');
        let (Some(verb), Some(name), Some(vers)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let vers = vers
            .trim()
            .trim_start_matches('(')
            .split(')')
            .next()
            .unwrap_or("");
        let (from, to) = match vers.split_once(" -> ") {
            Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
            None => (None, Some(vers.to_string())),
        };
        let kind = match verb {
            "Upgrading" | "Replacing" => ChangeKind::Upgrade,
            "Downgrading" => ChangeKind::Downgrade,
            "Installing" => ChangeKind::Install,
            "Purging" | "Removing" => ChangeKind::Remove,
            _ => continue,
        };
        let (from, to) = if kind == ChangeKind::Remove {
            (to, None)
        } else {
            (from, to)
        };
        sim.changes.push(Change {
            package: name.to_string(),
            kind,
            from,
            to,
            origin: None,
            security: None,
        });
    }
    sim
}

// ------------------------------------------------------------------ pacman

/// `checkupdates`: `linux 6.9.1.arch1-1 -> 6.9.2.arch1-1`.
pub fn parse_checkupdates(text: &str) -> Simulation {
    let mut sim = Simulation::default();
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() >= 4 && w[2] == "->" {
            sim.changes
                .push(Change::upgrade(w[0], Some(w[1]), Some(w[3])));
        }
    }
    sim
}

/// `pacman -Syu --noconfirm`: the names of `upgrading NAME...` /
/// `(1/2) upgrading NAME` / `installing NAME...` / `removing NAME...` lines.
pub fn parse_pacman_apply(text: &str) -> Vec<(ChangeKind, String)> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut t = l.trim();
        if t.starts_with('(') {
            if let Some((_, r)) = t.split_once(") ") {
                t = r.trim();
            }
        }
        let (kind, rest) = if let Some(r) = t.strip_prefix("upgrading ") {
            (ChangeKind::Upgrade, r)
        } else if let Some(r) = t.strip_prefix("installing ") {
            (ChangeKind::Install, r)
        } else if let Some(r) = t.strip_prefix("removing ") {
            (ChangeKind::Remove, r)
        } else if let Some(r) = t.strip_prefix("downgrading ") {
            (ChangeKind::Downgrade, r)
        } else {
            continue;
        };
        let name = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches("...")
            .trim_end_matches('.');
        if !name.is_empty() && !out.iter().any(|(_, n)| n == name) {
            out.push((kind, name.to_string()));
        }
    }
    out
}

// ------------------------------------------------------------------ any

/// Simulation output of manager `m`.
pub fn parse_simulation(m: Manager, text: &str) -> Simulation {
    match m {
        Manager::Apt => parse_apt_simulation(text),
        Manager::Dnf | Manager::Yum => parse_dnf(text),
        Manager::Zypper => parse_zypper(text),
        Manager::Apk => parse_apk(text),
        Manager::Pacman => parse_checkupdates(text),
    }
}

/// Packages changed by an apply of manager `m`; `planned` fills in what the
/// tool's output leaves out (pacman prints no versions, dnf4 no old ones).
pub fn parse_apply(m: Manager, text: &str, planned: &[Change]) -> Vec<Change> {
    let mut changes = match m {
        Manager::Apt => parse_apt_apply(text),
        Manager::Dnf | Manager::Yum => parse_dnf(text).changes,
        Manager::Zypper => parse_zypper(text).changes,
        Manager::Apk => parse_apk(text).changes,
        Manager::Pacman => parse_pacman_apply(text)
            .into_iter()
            .map(|(kind, name)| Change {
                package: name,
                kind,
                from: None,
                to: None,
                origin: None,
                security: None,
            })
            .collect(),
    };
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

/// How an exit status reads, per manager and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Worked, and the tool says a reboot is needed (zypper 102).
    OkRebootNeeded,
    /// Worked, but run again (zypper 103: it updated itself first).
    OkRunAgain,
    Failed(String),
}

/// Interpret an exit status (None: killed by a signal).
pub fn outcome(m: Manager, simulate: bool, status: Option<i32>, output: &str) -> Outcome {
    let Some(code) = status else {
        return Outcome::Failed("killed by a signal".into());
    };
    match (m, code) {
        (_, 0) => Outcome::Ok,
        // dnf/yum --assumeno answer "no" and exit 1.
        (Manager::Dnf | Manager::Yum, 1)
            if simulate
                && (output.contains("Operation aborted")
                    || output.contains("Exiting on user command")
                    || output.contains("Exiting on user cancel")) =>
        {
            Outcome::Ok
        }
        (Manager::Zypper, 100 | 101 | 106) => Outcome::Ok,
        (Manager::Zypper, 102) => Outcome::OkRebootNeeded,
        (Manager::Zypper, 103) => Outcome::OkRunAgain,
        // checkupdates: 2 = no updates.
        (Manager::Pacman, 2) if simulate => Outcome::Ok,
        (_, c) => Outcome::Failed(format!("exit status {c}{}", last_error_line(output))),
    }
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
