//! The check's fact families: one file per family of facts, each holding
//! its part of the probe (POSIX sh), the parser of its sections, its rule
//! and the lines the Hosts pane shows. [`FAMILIES`] registers them; the
//! probe ([`super::PROBE`]), [`super::parse::parse_probe`],
//! [`super::rules::evaluate`] and the Hosts details walk that list, so
//! adding a check is one file here and one line in `FAMILIES`
//! (docs/architecture.md, "Add a check").
//!
//! What the package managers tell (os, package stamp, reboot flag, update
//! listing) is not a family: it is one piece of the probe shared by every
//! manager (`checks/probe.sh`, `checks/listing.rs`).

use crate::model::{Facts, Status, Thresholds};
use crate::sections::{ParseError, Sections};

mod disks;
mod load;
mod memory;
mod system;
mod timesync;
mod units;

pub use disks::{is_pseudo_fs, parse_disks, PSEUDO_FS};
pub use load::{parse_cpus, parse_load};
pub use memory::parse_mem;
pub use system::parse_uptime;
pub use timesync::parse_time_sync;
pub use units::parse_failed;

/// One family of facts.
pub struct Family {
    /// Its name (for documentation and tests).
    pub name: &'static str,
    /// Its part of the probe: POSIX sh (dash, bash, busybox ash), read-only,
    /// no root; each section opened by `echo "@@opsdeck NAME"`. May use the
    /// probe's `have CMD` and `$T` (a `timeout 300` prefix where present).
    pub probe: &'static str,
    /// Read its sections into `facts`; a section it cannot read costs only
    /// its own facts (they stay unknown) and goes to `problems`.
    pub parse: fn(&Sections, &mut Facts, &mut Vec<ParseError>),
    /// Its reasons, from `[thresholds]`.
    pub rule: fn(&Facts, &Thresholds, &mut Reasons),
    /// (label, value) lines for the Hosts pane's details.
    pub details: fn(&Facts) -> Vec<(&'static str, String)>,
}

/// Every family, in the order of the probe, the reasons and the details.
pub const FAMILIES: &[&Family] = &[
    &system::FAMILY,
    &disks::FAMILY,
    &load::FAMILY,
    &memory::FAMILY,
    &units::FAMILY,
    &timesync::FAMILY,
];

/// The reasons of one verdict as they are found: worst status wins.
#[derive(Debug, Default)]
pub struct Reasons {
    pub status: Status,
    pub list: Vec<(Status, String)>,
}

impl Reasons {
    /// A reason that raises the status to `s` (at least).
    pub fn raise(&mut self, s: Status, r: String) {
        self.status = self.status.worst(s);
        self.list.push((s, r));
    }
    /// A reason said without raising the status (a fact that cannot exist
    /// on that host).
    pub fn note(&mut self, r: String) {
        self.list.push((Status::Ok, r));
    }
}

/// Lines of a section that are not blank, trimmed.
pub(crate) fn non_empty<'a, 'b>(lines: &'b [&'a str]) -> impl Iterator<Item = &'a str> + 'b {
    lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty())
}

/// A section's value, or its default with the problem kept.
pub(crate) fn keep<T: Default>(r: Result<T, ParseError>, problems: &mut Vec<ParseError>) -> T {
    r.unwrap_or_else(|e| {
        problems.push(e);
        T::default()
    })
}

/// "unknown" for a fact not learnt.
pub(crate) fn or_unknown(v: Option<String>) -> String {
    v.unwrap_or_else(|| "unknown".to_string())
}

/// A percentage as the reasons say it: "93%", "93.5%".
pub(crate) fn pct(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{}%", x.round() as i64)
    } else {
        format!("{x:.1}%")
    }
}

/// One decimal, without a trailing ".0".
pub(crate) fn num(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_prints_the_sections_it_reads() {
        for f in FAMILIES {
            assert!(
                f.probe.contains("@@opsdeck "),
                "{}: its probe opens no section",
                f.name
            );
            let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), FAMILIES.len(), "family names are unique");
        }
    }
}
