//! Dates: hardware refresh, warranty, contract end, OS end of life.
//!
//! Pure rules on an injected `today` (never the wall clock here), plus the
//! OS end-of-life table: built in from `config/os-eol.toml`, extended or
//! overridden by the user's own `os-eol.toml` in the config dir.
//! Decisions: docs/decisions/lifecycle.md.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{toml_date, CheckResult, Date, Facts, Host, Level, Thresholds, Vendor};
use crate::model::{PaneId, Target};
use crate::store::{Home, StoreError};

/// The table shipped with opsdeck.
pub const EMBEDDED_EOL: &str = include_str!("../config/os-eol.toml");

/// File name of the user's table in the config dir.
pub const USER_EOL_FILE: &str = "os-eol.toml";

// ---------------------------------------------------------------- the OS table

/// One `[[os]]` of os-eol.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EolEntry {
    /// os-release `ID`, lower case.
    pub id: String,
    /// os-release `VERSION_ID` or a dot-separated prefix of it.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Last day of (free) security support.
    #[serde(default, with = "toml_date")]
    pub eol: Option<Date>,
    /// End of a paid or opt-in extension (ESM, ELS, LTSS): a hint only.
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub extended_until: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl EolEntry {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.id, self.version))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EolFile {
    #[serde(default)]
    os: Vec<EolEntry>,
}

/// The OS end-of-life table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EolTable {
    pub entries: Vec<EolEntry>,
}

/// `path:line:column` of a byte offset in `text` (1-based).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

impl EolTable {
    /// Parse a table; errors carry path, line and column.
    pub fn parse(text: &str, path: &Path) -> Result<EolTable, StoreError> {
        let parse_err = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            StoreError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let file: EolFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            parse_err(offset, e.message().trim().to_string())
        })?;
        let mut entries: Vec<EolEntry> = Vec::new();
        for (i, mut e) in file.os.into_iter().enumerate() {
            let at = nth_table_offset(text, i);
            e.id = e.id.trim().to_ascii_lowercase();
            e.version = e.version.trim().to_string();
            if e.id.is_empty() || e.version.is_empty() {
                return Err(parse_err(at, "`id` and `version` must not be empty".into()));
            }
            if e.eol.is_none() {
                return Err(parse_err(at, "missing `eol` date (YYYY-MM-DD)".into()));
            }
            if entries
                .iter()
                .any(|x| x.id == e.id && x.version == e.version)
            {
                return Err(parse_err(
                    at,
                    format!("duplicate entry for {} {}", e.id, e.version),
                ));
            }
            entries.push(e);
        }
        Ok(EolTable { entries })
    }

    /// The table built into the binary (a unit test guarantees it parses).
    pub fn embedded() -> EolTable {
        match EolTable::parse(EMBEDDED_EOL, Path::new("<built-in os-eol.toml>")) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("built-in OS table does not parse: {e}");
                EolTable::default()
            }
        }
    }

    /// `self` with `user`'s entries on top: same id+version replaces, others are added.
    pub fn overlay(mut self, user: EolTable) -> EolTable {
        for u in user.entries {
            match self
                .entries
                .iter_mut()
                .find(|e| e.id == u.id && e.version == u.version)
            {
                Some(e) => *e = u,
                None => self.entries.push(u),
            }
        }
        self
    }

    /// The built-in table plus the user's `os-eol.toml` in the config dir, if any.
    pub fn load(home: &Home) -> Result<EolTable, StoreError> {
        let path = home.config_dir.join(USER_EOL_FILE);
        let base = EolTable::embedded();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(base.overlay(EolTable::parse(&text, &path)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(base),
            Err(e) => Err(StoreError::Io {
                path,
                message: e.to_string(),
            }),
        }
    }

    /// The entry for an os-release ID and VERSION_ID: exact version first,
    /// then shorter dot-separated prefixes ("3.19.4" → "3.19" → "3").
    pub fn lookup(&self, os_id: &str, version_id: &str) -> Option<&EolEntry> {
        let id = clean_os_value(os_id).to_ascii_lowercase();
        let mut version = clean_os_value(version_id);
        if id.is_empty() || version.is_empty() {
            return None;
        }
        loop {
            if let Some(e) = self
                .entries
                .iter()
                .find(|e| e.id == id && e.version == version)
            {
                return Some(e);
            }
            match version.rfind('.') {
                Some(i) => version.truncate(i),
                None => return None,
            }
        }
    }
}

/// os-release values may arrive quoted.
fn clean_os_value(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim()
        .to_string()
}

/// Byte offset of the i-th `[[os]]` header (for error positions).
fn nth_table_offset(text: &str, i: usize) -> usize {
    let mut offset = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("[[os]]") {
            if seen == i {
                return offset + (line.len() - line.trim_start().len());
            }
            seen += 1;
        }
        offset += line.len();
    }
    0
}

// ---------------------------------------------------------------- items

/// What a lifecycle item is about.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OsEol,
    Contract,
    Warranty,
    HardwareRefresh,
}

/// Serialise a civil date as "YYYY-MM-DD" (jiff's serde feature is off).
pub fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// One lifecycle reminder.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    /// `warn` or `crit`.
    pub level: Level,
    pub kind: Kind,
    /// Short subject: "web1: warranty".
    pub what: String,
    /// Why, with the date and the days left or overdue.
    pub why: String,
    /// The date the item is about (end of warranty, refresh due, EOL...).
    #[serde(serialize_with = "ser_date")]
    pub date: Date,
    /// `date - today` in days: > 0 left, 0 today, < 0 overdue.
    pub days: i64,
    /// Where its row is: Hosts + host name, or Vendors + vendor name.
    pub target: Target,
}

/// Whole days from `today` to `date` (negative when `date` is past).
pub fn days_between(today: Date, date: Date) -> i64 {
    match today.until(date) {
        Ok(span) => span.get_days() as i64,
        Err(_) => 0,
    }
}

fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// "in 9 days" / "today" / "12 days ago".
pub fn relative_days(days: i64) -> String {
    match days {
        0 => "today".into(),
        d if d > 0 => format!("in {}", plural(d, "day")),
        d => format!("{} ago", plural(-d, "day")),
    }
}

/// An end date (warranty, contract, EOL): `ended` when today is past it
/// (the date itself is still covered), `ending` within `warn_days`.
fn end_rule(end: Date, today: Date, warn_days: u32, ended_level: Level) -> Option<(Level, i64)> {
    let days = days_between(today, end);
    if days < 0 {
        Some((ended_level, days))
    } else if days <= warn_days as i64 {
        Some((Level::Warn, days))
    } else {
        None
    }
}

fn host_target(host: &str) -> Target {
    Target {
        pane: PaneId::HOSTS,
        key: host.to_string(),
        ticket: None,
    }
}

/// Warranty of a host ending within `expiry_warn_days` (warn) or ended (warn:
/// a fact to plan around, not an outage).
pub fn warranty_item(host: &Host, th: &Thresholds, today: Date) -> Option<Item> {
    let end = host.warranty_until?;
    let (level, days) = end_rule(end, today, th.expiry_warn_days, Level::Warn)?;
    let why = if days < 0 {
        format!("warranty ended {end} ({})", relative_days(days))
    } else if days == 0 {
        format!("warranty ends today ({end})")
    } else {
        format!("warranty ends {end} ({})", relative_days(days))
    };
    Some(Item {
        level,
        kind: Kind::Warranty,
        what: format!("{}: warranty", host.name),
        why,
        date: end,
        days,
        target: host_target(&host.name),
    })
}

/// A vendor's contract ending within `expiry_warn_days` (warn) or ended (crit).
pub fn contract_item(vendor: &Vendor, th: &Thresholds, today: Date) -> Option<Item> {
    let end = vendor.contract_end?;
    let (level, days) = end_rule(end, today, th.expiry_warn_days, Level::Crit)?;
    let why = if days < 0 {
        format!("contract ended {end} ({})", relative_days(days))
    } else if days == 0 {
        format!("contract ends today ({end})")
    } else {
        format!("contract ends {end} ({})", relative_days(days))
    };
    Some(Item {
        level,
        kind: Kind::Contract,
        what: format!("{}: contract", vendor.name),
        why,
        date: end,
        days,
        target: Target {
            pane: PaneId::VENDORS,
            key: vendor.name.clone(),
            ticket: None,
        },
    })
}

/// The day a host purchased on `purchased` is `years` old. A leap-day
/// purchase reaches its anniversary on 28 February in common years.
pub fn refresh_due(purchased: Date, years: u32) -> Option<Date> {
    let span = jiff::Span::new().try_years(i64::from(years)).ok()?;
    purchased.checked_add(span).ok()
}

/// Hardware that reached `hardware_refresh_years` (warn, from that day on).
pub fn hardware_item(host: &Host, th: &Thresholds, today: Date) -> Option<Item> {
    let purchased = host.purchased?;
    if th.hardware_refresh_years == 0 {
        return None;
    }
    let due = refresh_due(purchased, th.hardware_refresh_years)?;
    let days = days_between(today, due);
    if days > 0 {
        return None;
    }
    let years = plural(th.hardware_refresh_years as i64, "year");
    let why = if days == 0 {
        format!("purchased {purchased}: {years} old today (refresh after {years})")
    } else {
        format!(
            "purchased {purchased}: {years} old since {due} ({}; refresh after {years})",
            relative_days(days)
        )
    };
    Some(Item {
        level: Level::Warn,
        kind: Kind::HardwareRefresh,
        what: format!("{}: hardware due for refresh", host.name),
        why,
        date: due,
        days,
        target: host_target(&host.name),
    })
}

/// An OS release past its end of life (crit) or ending within `expiry_warn_days` (warn).
pub fn eol_item(
    host: &str,
    facts: &Facts,
    table: &EolTable,
    th: &Thresholds,
    today: Date,
) -> Option<Item> {
    let entry = table.lookup(facts.os_id.as_deref()?, facts.os_version_id.as_deref()?)?;
    let eol = entry.eol?;
    let (level, days) = end_rule(eol, today, th.expiry_warn_days, Level::Crit)?;
    let name = entry.display_name();
    let mut why = if days < 0 {
        format!("{name}: support ended {eol} ({})", relative_days(days))
    } else if days == 0 {
        format!("{name}: support ends today ({eol})")
    } else {
        format!("{name}: support ends {eol} ({})", relative_days(days))
    };
    if let Some(ext) = entry.extended_until.filter(|x| *x > today) {
        why.push_str(&format!("; paid extension until {ext}"));
    }
    if let Some(note) = entry.note.as_deref().filter(|n| !n.is_empty()) {
        why.push_str(&format!(" ({note})"));
    }
    Some(Item {
        level,
        kind: Kind::OsEol,
        what: format!("{host}: OS end of life"),
        why,
        date: eol,
        days,
        target: host_target(host),
    })
}

/// Every lifecycle item of the inventory, crit first, then the most overdue /
/// soonest first, then by kind and name (a stable order).
pub fn items(
    hosts: &[Host],
    vendors: &[Vendor],
    checks: &[CheckResult],
    table: &EolTable,
    th: &Thresholds,
    today: Date,
) -> Vec<Item> {
    let mut out = Vec::new();
    for h in hosts {
        let facts = checks
            .iter()
            .find(|c| c.host == h.name)
            .and_then(|c| c.facts.as_ref());
        if let Some(f) = facts {
            out.extend(eol_item(&h.name, f, table, th, today));
        }
        out.extend(warranty_item(h, th, today));
        out.extend(hardware_item(h, th, today));
    }
    for v in vendors {
        out.extend(contract_item(v, th, today));
    }
    sort_items(&mut out);
    out
}

/// Crit before warn, then by days (most overdue first), kind, key.
pub fn sort_items(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(a.days.cmp(&b.days))
            .then(a.kind.cmp(&b.kind))
            .then(a.target.key.cmp(&b.target.key))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_and_covers_the_distributions() {
        let t = EolTable::parse(EMBEDDED_EOL, Path::new("os-eol.toml")).unwrap();
        for id in [
            "debian",
            "ubuntu",
            "rhel",
            "almalinux",
            "rocky",
            "sles",
            "opensuse-leap",
            "alpine",
        ] {
            assert!(t.entries.iter().any(|e| e.id == id), "{id} missing");
        }
        assert_eq!(EolTable::embedded(), t);
    }

    #[test]
    fn lookup_by_prefix() {
        let t = EolTable::embedded();
        assert_eq!(t.lookup("alpine", "3.19.4").unwrap().version, "3.19");
        assert_eq!(t.lookup("rhel", "9.4").unwrap().version, "9");
        assert_eq!(
            t.lookup("\"ubuntu\"", "\"22.04\"").unwrap().version,
            "22.04"
        );
        assert_eq!(t.lookup("Debian", "12").unwrap().version, "12");
        assert!(t.lookup("debian", "1").is_none());
        assert!(t.lookup("plan9", "4").is_none());
        assert!(t.lookup("", "").is_none());
        // "3.1" must not match "3.19"
        assert!(t.lookup("alpine", "3.1").is_none());
    }

    #[test]
    fn bad_table_reports_line_and_column() {
        let text = "[[os]]\nid = \"debian\"\nversion = \"12\"\neol = 2028-13-40\n";
        let e = EolTable::parse(text, Path::new("/x/os-eol.toml")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/x/os-eol.toml:4:"), "{s}");
        let text = "[[os]]\nid = \"debian\"\nversion = \"12\"\neol = 2028-06-30\n[[os]]\nid = \"x\"\nversion = \"1\"\n";
        let e = EolTable::parse(text, Path::new("f"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:5:1: missing `eol`"), "{e}");
    }

    #[test]
    fn relative() {
        assert_eq!(relative_days(0), "today");
        assert_eq!(relative_days(1), "in 1 day");
        assert_eq!(relative_days(-3), "3 days ago");
    }
}
