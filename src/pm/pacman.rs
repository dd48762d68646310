//! pacman (Arch): `pacman -Qu` is the listing, `checkupdates` (a
//! temporary copy of the sync databases: never a partial upgrade) the
//! simulation and the refresh; no security metadata; the reboot flag is the
//! running kernel's modules gone.

use super::{
    listing_section, strs, tool_error, Ask, Change, ChangeKind, Driver, Listing, Manager, Outcome,
    Simulation,
};
use crate::model::Update;
use crate::sections::{ParseError, Sections};

/// The pacman driver.
pub struct Pacman;

impl Driver for Pacman {
    fn probe_stamp(&self) -> &'static str {
        r#"    pacman) meta="/var/lib/pacman/sync/*.db"
         inputs="/var/lib/pacman/local /etc/pacman.conf /var/lib/pacman/sync" ;;
"#
    }
    fn probe_listing(&self) -> &'static str {
        r#"        pacman)
            echo "@@opsdeck list.pacman"
            $T pacman -Qu 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.pacman.rc"
            echo "$rc" ;;
"#
    }
    fn listing(&self, _m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError> {
        let (text, rc, list_name) = listing_section(s, "pacman")?;
        // pacman -Qu exits 1 when nothing is upgradable.
        let errors = text.lines().any(|l| l.starts_with("error:"));
        if errors || (rc != 0 && rc != 1) {
            return Ok(Err(tool_error("pacman", rc, &text)));
        }
        parse_pacman(&text)
            .map(Ok)
            .map_err(|m| ParseError::new(&list_name, m))
    }
    fn has_security_metadata(&self) -> bool {
        false
    }
    fn simulation_needs_root(&self) -> bool {
        false
    }
    fn refresh(&self, _m: Manager) -> (bool, Vec<String>) {
        (false, strs(&["checkupdates"]))
    }
    fn upgrade(&self, _m: Manager, sim: bool, ask: &Ask) -> Vec<String> {
        if sim {
            // checkupdates syncs a temporary copy of the databases: the
            // system's sync database is left alone (no partial upgrade).
            return strs(&["checkupdates"]);
        }
        let mut argv = strs(&["pacman", "-Syu", "--noconfirm"]);
        if !ask.holds.is_empty() {
            argv.push("--ignore".into());
            argv.push(ask.holds.join(","));
        }
        argv
    }
    fn reboot_probe(&self, _m: Manager) -> &'static str {
        super::REBOOT_BY_MODULES
    }
    fn simulation(&self, _m: Manager, text: &str) -> Simulation {
        parse_checkupdates(text)
    }
    fn applied(&self, _m: Manager, text: &str) -> Vec<Change> {
        parse_pacman_apply(text)
            .into_iter()
            .map(|(kind, name)| Change {
                package: name,
                kind,
                from: None,
                to: None,
                origin: None,
                security: None,
            })
            .collect()
    }
    fn exit_meaning(
        &self,
        _m: Manager,
        simulate: bool,
        code: i32,
        _output: &str,
    ) -> Option<Outcome> {
        // checkupdates: 2 = no updates.
        (simulate && code == 2).then_some(Outcome::Ok)
    }
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
