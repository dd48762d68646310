//! Parsers of the pending-update listings, one per package manager, in the
//! tools' own output formats (run with LC_ALL=C). Pure; never panic; an
//! error is a message for a per-host parse error.

use std::collections::HashSet;

use crate::model::Update;
use crate::patches::parse::split_nevra;

/// One manager's listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Updates the manager would install (pending).
    pub updates: Vec<Update>,
    /// Upgradable but not upgraded as asked: apt kept back / deferred by
    /// phasing / held, pacman IgnorePkg. Not counted as pending.
    pub kept_back: Vec<String>,
    /// Security count where it does not come from per-update flags (zypper:
    /// needed security patches).
    pub security_count: Option<u32>,
    /// The manager gave security metadata (per update or as a count).
    pub security_known: bool,
}

impl Listing {
    pub fn pending(&self) -> u32 {
        self.updates.len() as u32
    }
    /// Security updates: None where the manager has no security metadata.
    pub fn security(&self) -> Option<u32> {
        if !self.security_known {
            return None;
        }
        if let Some(n) = self.security_count {
            return Some(n);
        }
        Some(
            self.updates
                .iter()
                .filter(|u| u.security == Some(true))
                .count() as u32,
        )
    }
}

/// Is an apt origin a security one? check_apt's regex, widened for ESM
/// and multi-dash suites: one definition, shared with the apply side.
pub use crate::patches::parse::apt_origin_is_security;

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
    let c = crate::patches::parse::parse_apt_line(line)?;
    Some(Update {
        package: c.package,
        installed: c.from,
        candidate: c.to.filter(|v| !v.is_empty())?,
        origin: c.origin,
        security: c.security,
    })
}

/// RPM architectures: a token `NAME.ARCH` with one of these is a package.
const RPM_ARCHES: &[&str] = &[
    "x86_64",
    "noarch",
    "i386",
    "i486",
    "i586",
    "i686",
    "athlon",
    "aarch64",
    "armv7hl",
    "armv6hl",
    "armhfp",
    "ppc64",
    "ppc64le",
    "ppc",
    "s390x",
    "s390",
    "riscv64",
    "loongarch64",
    "mips",
    "mipsel",
    "mips64el",
    "ia64",
    "sparc64",
    "alpha",
    "src",
    "nosrc",
];

/// `name.arch` with a known architecture.
fn is_name_arch(w: &str) -> bool {
    matches!(w.rsplit_once('.'), Some((n, a)) if !n.is_empty() && RPM_ARCHES.contains(&a))
}

/// `dnf|yum check-update`: `name.arch  [epoch:]version-release  repo`.
/// Long names wrap onto the next line(s). The `Obsoleting Packages` block
/// lists new packages that replace installed ones (pending, as yum itself
/// and Ansible's yum module count them) with the replaced package indented
/// under each (skipped). Every other line is a notice of yum/dnf or a
/// plugin (`Loaded plugins:` and its `: ...` continuation, `Plugin "x"
/// can't be imported`, subscription-manager and RHN messages, mirror lists,
/// `Security:` notes, in any language): skipped, whatever its words, since
/// only a line that starts with `name.arch` can be a package.
pub fn parse_dnf_check_update(text: &str) -> Result<Vec<Update>, String> {
    let mut out: Vec<Update> = Vec::new();
    let mut carry: Vec<String> = Vec::new();
    let mut obsoletes = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("Obsoleting Packages") {
            obsoletes = true;
            carry.clear();
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if carry.is_empty() {
            // the replaced package of an obsoletes pair: indented, installed (`@repo`)
            let indented = line.starts_with(char::is_whitespace);
            if !is_name_arch(words[0]) || (obsoletes && indented) {
                continue;
            }
        }
        carry.extend(words.iter().map(|w| w.to_string()));
        if carry.len() < 3 {
            continue; // wrapped: the version and repo come on the next line(s)
        }
        if carry.len() > 3 {
            return Err(format!(
                "cannot read `{}`",
                carry.join(" ").chars().take(200).collect::<String>()
            ));
        }
        let (na, evr, repo) = (&carry[0], &carry[1], &carry[2]);
        if !evr.contains('-') {
            return Err(format!("cannot read `{}`", carry.join(" ")));
        }
        out.push(Update {
            package: na.clone(),
            installed: None,
            candidate: evr.clone(),
            origin: Some(repo.clone()),
            // Known only once `updateinfo` answered (mark_rpm_security).
            security: None,
        });
        carry.clear();
    }
    if !carry.is_empty() {
        return Err(format!("truncated line `{}`", carry.join(" ")));
    }
    Ok(out)
}

/// `dnf -q updateinfo list --security` / `yum -q updateinfo list security`:
/// `RHSA-2019:0710 Important/Sec. python-2.7.5-77.el7_6.x86_64` → `name.arch` set.
pub fn parse_dnf_updateinfo(text: &str) -> Result<HashSet<String>, String> {
    let mut names = HashSet::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.is_empty()
            || line.starts_with("Last metadata")
            || line.starts_with("Loaded plugins")
            || line.starts_with("updateinfo list done")
        {
            continue;
        }
        if w.len() == 3 {
            let (name, _, arch) =
                split_nevra(w[2]).ok_or_else(|| format!("cannot read `{}`", w[2]))?;
            names.insert(format!("{name}.{arch}"));
        } else if w.len() < 3 {
            return Err(format!("cannot read `{}`", line.trim()));
        } else if let Some((name, _, arch)) = w[2..].iter().find_map(|t| split_nevra(t)) {
            // dnf5 `advisory list` table: the package column is further right.
            names.insert(format!("{name}.{arch}"));
        }
    }
    Ok(names)
}

/// Flag the updates whose `name.arch` has a security advisory.
pub fn mark_rpm_security(updates: &mut [Update], security: &HashSet<String>) {
    for u in updates {
        u.security = Some(security.contains(&u.package));
    }
}

/// The header cells and the data rows (the line and its cells) of a zypper
/// table (`a | b | c`); separator lines and the text around the table are
/// skipped. Cells are trimmed.
fn zypper_table(text: &str) -> (Vec<&str>, Vec<(&str, Vec<&str>)>) {
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.contains('|')) {
        let c: Vec<&str> = line.split('|').map(str::trim).collect();
        if c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == '+')) {
            continue;
        }
        if header.is_empty() {
            header = c;
        } else {
            rows.push((line.trim(), c));
        }
    }
    (header, rows)
}

/// `zypper list-updates`: `S | Repository | Name | Current Version | Available Version | Arch`.
pub fn parse_zypper_list_updates(text: &str) -> Result<Vec<Update>, String> {
    let (h, rows) = zypper_table(text);
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let idx = |name: &str| h.iter().position(|x| *x == name);
    let (Some(ni), Some(ci), Some(ai)) = (
        idx("Name"),
        idx("Current Version"),
        idx("Available Version"),
    ) else {
        return Err("list-updates table without Name/Current/Available columns".into());
    };
    let ri = idx("Repository");
    rows.into_iter()
        .map(|(line, c)| {
            if c.len() != h.len() {
                return Err(format!("cannot read `{line}`"));
            }
            Ok(Update {
                package: c[ni].to_string(),
                installed: Some(c[ci].to_string()).filter(|s| !s.is_empty()),
                candidate: c[ai].to_string(),
                origin: ri.map(|i| c[i].to_string()),
                security: None,
            })
        })
        .collect()
}

/// `zypper list-patches --category security`: rows whose Status is `needed`.
pub fn parse_zypper_patches(text: &str) -> Result<u32, String> {
    let (h, rows) = zypper_table(text);
    if rows.is_empty() {
        return Ok(0);
    }
    let Some(si) = h.iter().position(|x| *x == "Status") else {
        return Err("list-patches table without a Status column".into());
    };
    let mut n = 0;
    for (line, c) in rows {
        // The Summary column may itself hold a `|`: more cells is fine.
        if c.len() < h.len() {
            return Err(format!("cannot read `{line}`"));
        }
        if c[si] == "needed" {
            n += 1;
        }
    }
    Ok(n)
}

/// Split apk's `name-version-rN` into (name, version-rN).
pub fn split_apk(s: &str) -> Option<(&str, &str)> {
    let (rest, rel) = s.rsplit_once('-')?;
    if !rel.starts_with('r') {
        return None;
    }
    let (name, ver) = rest.rsplit_once('-')?;
    if name.is_empty() || ver.is_empty() {
        return None;
    }
    let ver_start = s.len() - ver.len() - rel.len() - 1;
    Some((name, &s[ver_start..]))
}

/// `apk version -l '<'`: `busybox-1.36.1-r5    <  1.36.1-r7` after a header.
pub fn parse_apk(text: &str) -> Result<Listing, String> {
    let mut l = Listing::default();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        // notices: the header, warnings, and what `apk update` prints
        // when it ran in the same shell (fetch lines, the repository
        // versions, the `OK:` summary)
        if w.is_empty()
            || line.starts_with("Installed:")
            || line.starts_with("WARNING")
            || line.starts_with("fetch ")
            || line.starts_with("OK:")
            || (w.len() >= 2 && w[0].starts_with('v') && w[1].starts_with('['))
        {
            continue;
        }
        if w.len() != 3 || w[1] != "<" {
            return Err(format!("cannot read `{}`", line.trim()));
        }
        let (name, installed) = split_apk(w[0]).ok_or_else(|| format!("cannot read `{}`", w[0]))?;
        l.updates.push(Update {
            package: name.to_string(),
            installed: Some(installed.to_string()),
            candidate: w[2].to_string(),
            origin: None,
            security: None,
        });
    }
    Ok(l)
}

/// `pacman -Qu` (same format as `checkupdates`): `linux 6.9.1.arch1-1 -> 6.9.2.arch1-1`,
/// `[ignored]` for IgnorePkg (kept back).
pub fn parse_pacman(text: &str) -> Result<Listing, String> {
    let mut l = Listing::default();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.is_empty() || line.starts_with("warning:") || line.starts_with(":: ") {
            continue;
        }
        let ignored = w.len() == 5 && w[4] == "[ignored]";
        if !(w.len() == 4 || ignored) || w[2] != "->" {
            return Err(format!("cannot read `{}`", line.trim()));
        }
        if ignored {
            l.kept_back.push(w[0].to_string());
            continue;
        }
        l.updates.push(Update {
            package: w[0].to_string(),
            installed: Some(w[1].to_string()),
            candidate: w[3].to_string(),
            origin: None,
            security: None,
        });
    }
    Ok(l)
}
