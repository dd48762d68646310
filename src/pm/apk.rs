//! apk (Alpine): `apk version -l '<'` is the listing, `upgrade --simulate`
//! the simulation; no security metadata; the reboot flag is the running
//! kernel's modules gone.

use super::{
    listing_section, strs, tool_error, Ask, Change, ChangeKind, Driver, Listing, Manager,
    Simulation,
};
use crate::model::Update;
use crate::sections::{ParseError, Sections};

/// The apk driver.
pub struct Apk;

impl Driver for Apk {
    fn probe_stamp(&self) -> &'static str {
        r#"    apk) meta="/var/cache/apk/APKINDEX.*.tar.gz /etc/apk/cache/APKINDEX.*.tar.gz"
         inputs="/lib/apk/db/installed /etc/apk/world /etc/apk/repositories /var/cache/apk /etc/apk/cache" ;;
"#
    }
    fn probe_listing(&self) -> &'static str {
        r#"        apk)
            echo "@@opsdeck list.apk"
            $T apk version -l '<' 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.apk.rc"
            echo "$rc" ;;
"#
    }
    fn listing(&self, _m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError> {
        let (text, rc, list_name) = listing_section(s, "apk")?;
        if rc != 0 {
            return Ok(Err(tool_error("apk", rc, &text)));
        }
        parse_apk_listing(&text)
            .map(Ok)
            .map_err(|m| ParseError::new(&list_name, m))
    }
    fn has_security_metadata(&self) -> bool {
        false
    }
    fn refresh(&self, _m: Manager) -> (bool, Vec<String>) {
        (true, strs(&["apk", "update"]))
    }
    fn upgrade(&self, _m: Manager, sim: bool, ask: &Ask) -> Vec<String> {
        let mut argv = strs(&["apk", "upgrade"]);
        if sim {
            argv.push("--simulate".into());
        }
        if let Some(pkgs) = &ask.packages {
            argv.extend(pkgs.iter().cloned());
        }
        argv
    }
    fn reboot_probe(&self, _m: Manager) -> &'static str {
        super::REBOOT_BY_MODULES
    }
    fn simulation(&self, _m: Manager, text: &str) -> Simulation {
        parse_apk(text)
    }
    fn applied(&self, _m: Manager, text: &str) -> Vec<Change> {
        parse_apk(text).changes
    }
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
pub fn parse_apk_listing(text: &str) -> Result<Listing, String> {
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
