//! Pure parsers of the probe's output: text in, data out. Never panic; a
//! section that is present but malformed is a [`ParseError`] naming it.

use crate::model::Facts;

pub use super::family::{
    is_pseudo_fs, parse_cpus, parse_disks, parse_failed, parse_load, parse_mem, parse_time_sync,
    parse_uptime, PSEUDO_FS,
};
use super::family::{keep, FAMILIES};
use super::listing::Listing;

pub use crate::sections::{first_word, ParseError, Sections};

/// What the probe's `updates` section said.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdatesState {
    /// No package manager found.
    NoManager,
    /// Stamp equal to the one passed in: the listing was not run.
    Unchanged,
    /// The listing ran: its parse result, or what the manager said went wrong.
    Fresh(Result<Listing, String>),
}

/// Everything one probe run told.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    /// Facts; `updates` left None here (the sweep fills it from the listing or the cache).
    pub facts: Facts,
    pub stamp: Option<String>,
    /// The host's clock (epoch seconds) when the probe ran.
    pub now: Option<i64>,
    pub updates: UpdatesState,
    /// Packages named in /var/run/reboot-required.pkgs.
    pub reboot_pkgs: Vec<String>,
    /// The reboot flag waits for `needs-restarting` (RHEL family, run with the listing).
    pub reboot_deferred: bool,
    /// CPU the probe used on the host (shell plus children), milliseconds.
    pub remote_cpu_ms: Option<u64>,
    /// Sections that could not be read (their facts are unknown).
    pub problems: Vec<ParseError>,
}

/// Parse the whole probe output. Only output that is not the probe's at
/// all is an error; every section fails alone: its facts stay unknown
/// (`None`) and the reason goes to [`ProbeReport::problems`], so one line a
/// parser does not know never costs the host its other facts.
pub fn parse_probe(text: &str) -> Result<ProbeReport, ParseError> {
    let s = Sections::split(text)?;
    let mut facts = Facts::default();
    let mut problems: Vec<ParseError> = Vec::new();
    for (section, why) in &s.cut {
        problems.push(ParseError::new(section, why.clone()));
    }
    if let Some(lines) = s.get("os") {
        let (pretty, id, ver) = keep(parse_os(lines), &mut problems);
        facts.os = pretty;
        facts.os_id = id;
        facts.os_version_id = ver;
    }
    for family in FAMILIES {
        (family.parse)(&s, &mut facts, &mut problems);
    }

    let pkg = keep(parse_pkg(s.get("pkg").unwrap_or(&[])), &mut problems);
    facts.package_manager = pkg.manager.clone();
    if let (Some(now), Some(m)) = (pkg.now, pkg.newest_meta) {
        facts.metadata_age_s = Some(now.saturating_sub(m).max(0) as u64);
    }

    let reboot = keep(parse_reboot(s.get("reboot").unwrap_or(&[])), &mut problems);
    facts.reboot_required = reboot.required;

    // The listing's own failures are "updates unknown" with the reason,
    // whatever part of it could not be read.
    let updates = match s.get("updates").map(first_word) {
        None => UpdatesState::Fresh(Err(
            ParseError::new("updates", s.missing("updates")).to_string()
        )),
        Some("none") => UpdatesState::NoManager,
        Some("unchanged") => UpdatesState::Unchanged,
        Some("fresh") => UpdatesState::Fresh(
            parse_listing(&s, pkg.manager.as_deref()).unwrap_or_else(|e| Err(e.to_string())),
        ),
        Some(other) => UpdatesState::Fresh(Err(ParseError::new(
            "updates",
            format!("unexpected state `{other}`"),
        )
        .to_string())),
    };

    // RHEL family: needs-restarting ran with the listing.
    if reboot.deferred {
        if let UpdatesState::Fresh(_) = updates {
            let rc = keep(s.rc("needs-restarting"), &mut problems);
            facts.reboot_required = parse_needs_restarting(s.get("needs-restarting"), rc);
        }
    }

    Ok(ProbeReport {
        facts,
        stamp: pkg.stamp,
        now: pkg.now,
        updates,
        reboot_pkgs: reboot.pkgs,
        reboot_deferred: reboot.deferred,
        remote_cpu_ms: s.get("cpu").and_then(parse_times),
        problems,
    })
}

use super::family::non_empty;

fn unquote(v: &str) -> String {
    let v = v.trim();
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// (PRETTY_NAME or NAME VERSION_ID, ID, VERSION_ID).
pub type OsRelease = (Option<String>, Option<String>, Option<String>);

/// os-release lines.
pub fn parse_os(lines: &[&str]) -> Result<OsRelease, ParseError> {
    let (mut pretty, mut name, mut id, mut ver) = (None, None, None, None);
    for l in non_empty(lines) {
        let Some((k, v)) = l.split_once('=') else {
            return Err(ParseError::new("os", format!("not KEY=VALUE: `{l}`")));
        };
        let v = unquote(v);
        if v.is_empty() {
            continue;
        }
        match k {
            "PRETTY_NAME" => pretty = Some(v),
            "NAME" => name = Some(v),
            "ID" => id = Some(v),
            "VERSION_ID" => ver = Some(v),
            _ => {}
        }
    }
    let os = pretty.or_else(|| match (&name, &ver) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (Some(n), None) => Some(n.clone()),
        _ => None,
    });
    Ok((os, id, ver))
}

#[derive(Debug, Default)]
struct PkgSection {
    manager: Option<String>,
    stamp: Option<String>,
    now: Option<i64>,
    newest_meta: Option<i64>,
}

fn parse_pkg(lines: &[&str]) -> Result<PkgSection, ParseError> {
    let mut p = PkgSection::default();
    for l in non_empty(lines) {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        let v = v.trim();
        match k {
            "manager" => {
                if v != "none" && !v.is_empty() {
                    p.manager = Some(v.to_string())
                }
            }
            "stamp" => {
                if !v.is_empty() {
                    p.stamp = Some(v.to_string())
                }
            }
            "now" => {
                if !v.is_empty() {
                    p.now = Some(
                        v.parse()
                            .map_err(|_| ParseError::new("pkg", format!("`{v}` is not a time")))?,
                    )
                }
            }
            "meta" => {
                let t = v.split_whitespace().next().unwrap_or("");
                let t: i64 = t
                    .parse()
                    .map_err(|_| ParseError::new("pkg", format!("`{l}` has no time")))?;
                p.newest_meta = Some(p.newest_meta.map_or(t, |m: i64| m.max(t)));
            }
            _ => return Err(ParseError::new("pkg", format!("unexpected `{l}`"))),
        }
    }
    Ok(p)
}

#[derive(Debug, Default)]
struct RebootSection {
    required: Option<bool>,
    deferred: bool,
    pkgs: Vec<String>,
}

fn parse_reboot(lines: &[&str]) -> Result<RebootSection, ParseError> {
    let mut r = RebootSection::default();
    for l in non_empty(lines) {
        let mut w = l.split_whitespace();
        match (w.next(), w.next()) {
            (Some("required"), Some("yes")) => r.required = Some(true),
            (Some("required"), Some("no")) => r.required = Some(false),
            (Some("required"), Some("unknown")) => r.required = None,
            (Some("deferred"), _) => r.deferred = true,
            (Some("pkg"), Some(p)) => r.pkgs.push(p.to_string()),
            _ => return Err(ParseError::new("reboot", format!("unexpected `{l}`"))),
        }
    }
    Ok(r)
}

/// `needs-restarting -r`: decided on the text, since a missing dnf plugin
/// also exits 1 ("No such command"). Anything else is unknown.
pub fn parse_needs_restarting(lines: Option<&[&str]>, rc: Option<i32>) -> Option<bool> {
    let text = lines?.join("\n");
    if text.contains("Reboot is required") && rc == Some(1) {
        Some(true)
    } else if text.contains("Reboot should not be necessary")
        || text.contains("No core libraries or services have been updated")
    {
        Some(false)
    } else {
        None
    }
}

fn parse_listing(
    s: &Sections<'_>,
    manager: Option<&str>,
) -> Result<Result<Listing, String>, ParseError> {
    let Some(pm) = manager else {
        return Err(ParseError::new(
            "updates",
            "a listing without a package manager",
        ));
    };
    match crate::pm::Manager::from_name(pm) {
        Some(m) => m.driver().listing(m, s),
        None => Err(ParseError::new(
            "pkg",
            format!("unknown package manager `{pm}`"),
        )),
    }
}

/// `times` output: shell user/sys, children user/sys as `XmY.ZZZs`.
pub fn parse_times(lines: &[&str]) -> Option<u64> {
    let mut total = 0.0;
    let mut n = 0;
    for w in lines.iter().flat_map(|l| l.split_whitespace()) {
        let w = w.strip_suffix('s')?;
        let (m, s) = w.split_once('m')?;
        let m: f64 = m.parse().ok()?;
        let s: f64 = s.parse().ok()?;
        total += m * 60.0 + s;
        n += 1;
    }
    (n == 4 && total.is_finite()).then(|| (total * 1000.0).round() as u64)
}
