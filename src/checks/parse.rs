//! Pure parsers of the probe's output: text in, data out. Never panic; a
//! section that is present but malformed is a [`ParseError`] naming it.

use std::fmt;

use crate::model::Facts;

pub use super::family::{
    is_pseudo_fs, parse_cpus, parse_disks, parse_failed, parse_load, parse_mem, parse_time_sync,
    parse_uptime, PSEUDO_FS,
};
use super::family::{keep, FAMILIES};
use super::listing::{self, Listing};

/// A section of the probe output (or a listing) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The probe section (`disks`, `list.apt`, ...), or `probe` for the whole output.
    pub section: String,
    pub message: String,
}

impl ParseError {
    /// The message is cut at 300 characters: it quotes remote text, and a
    /// host's 10 MB line must not travel into the state and the journal.
    pub fn new(section: &str, message: impl Into<String>) -> ParseError {
        ParseError {
            section: crate::util::excerpt(section, 64),
            message: crate::util::excerpt(&message.into(), 300),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read the probe's `{}` section: {}",
            self.section, self.message
        )
    }
}

impl std::error::Error for ParseError {}

const MARK: &str = "@@opsdeck ";

/// The probe output split into named sections, in order.
#[derive(Debug, Clone, Default)]
pub struct Sections<'a> {
    pub list: Vec<(&'a str, Vec<&'a str>)>,
    /// Sections left out because the output was cut in them (by the output
    /// cap, or without the end marker: a timeout, a dying connection), with why.
    pub cut: Vec<(&'a str, String)>,
    /// The output cap dropped part of the output (how many bytes): a
    /// section not found may have been in it.
    pub capped: Option<String>,
}

impl<'a> Sections<'a> {
    /// Split on `@@opsdeck NAME` lines. Text before the first marker (a noisy
    /// shell start-up file) is ignored. Requires the `probe` header: without
    /// it the output is not the probe's. Without the `end` marker the output
    /// was cut: the sections before the last are whole and kept, the last
    /// one is left out and named in [`Sections::truncated`].
    pub fn split(text: &'a str) -> Result<Sections<'a>, ParseError> {
        let mut list: Vec<(&'a str, Vec<&'a str>)> = Vec::new();
        let mut ended = false;
        let mut cut: Vec<(&'a str, String)> = Vec::new();
        let mut capped = None;
        // after a truncation mark: the lines up to the next marker belong to
        // a section whose start was dropped
        let mut skipping = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(MARK) {
                skipping = false;
                let name = rest.split_whitespace().next().unwrap_or("");
                if name == "end" {
                    ended = true;
                    break;
                }
                if name == "probe" {
                    let version = rest.split_whitespace().nth(1).unwrap_or("");
                    if version != "1" {
                        return Err(ParseError::new(
                            "probe",
                            format!("unknown probe version `{version}`"),
                        ));
                    }
                }
                list.push((name, Vec::new()));
            } else if let Some(dropped) = line.strip_prefix(crate::ssh::capture::TRUNCATION_MARK) {
                // the output was capped in the middle of this section
                let n = dropped.split_whitespace().next().unwrap_or("?");
                let why = format!("output over the cap ({n} bytes dropped)");
                match list.pop() {
                    // the cut went through a marker line: its name may be
                    // half a name, and the section before it was whole
                    Some((_, lines)) if lines.is_empty() => cut.push(("probe", why)),
                    Some((name, _)) => cut.push((name, why)),
                    None => {}
                }
                capped = Some(n.to_string());
                skipping = true;
            } else if skipping {
                continue;
            } else if let Some((_, lines)) = list.last_mut() {
                lines.push(line);
            }
        }
        match list.first() {
            Some(("probe", _)) => {}
            _ => {
                return Err(ParseError::new(
                    "probe",
                    "no probe output (the remote shell printed something else or nothing)",
                ))
            }
        }
        if !ended {
            let last = list.last().map(|(n, _)| *n).unwrap_or("probe");
            if list.len() <= 2 && cut.is_empty() {
                // nothing whole came before the cut: not a report at all
                return Err(ParseError::new(last, "output truncated (no end marker)"));
            }
            list.pop();
            cut.push((
                last,
                "output truncated (no end marker); the sections after it are unknown".into(),
            ));
        }
        Ok(Sections { list, cut, capped })
    }

    /// Why a section is not there: cut by the output cap or the end of the
    /// output (the reason), else "section missing".
    pub fn missing(&self, name: &str) -> String {
        self.cut
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, why)| why.clone())
            .or_else(|| {
                self.capped
                    .as_ref()
                    .map(|n| format!("lost in the output dropped over the cap ({n} bytes)"))
            })
            .unwrap_or_else(|| "section missing".into())
    }

    /// Lines of a section; None when the probe did not print it.
    pub fn get(&self, name: &str) -> Option<&[&'a str]> {
        self.list
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.as_slice())
    }

    /// The exit code recorded in `NAME.rc`.
    pub fn rc(&self, name: &str) -> Result<Option<i32>, ParseError> {
        let key = format!("{name}.rc");
        match self.get(&key) {
            None => Ok(None),
            Some(lines) => {
                let v = lines
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.is_empty())
                    .ok_or_else(|| ParseError::new(&key, "no exit code"))?;
                v.parse::<i32>()
                    .map(Some)
                    .map_err(|_| ParseError::new(&key, format!("`{v}` is not an exit code")))
            }
        }
    }
}

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

fn first_word<'a>(lines: &[&'a str]) -> &'a str {
    lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("")
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
    let list_name = format!("list.{pm}");
    let Some(lines) = s.get(&list_name) else {
        return Err(ParseError::new(&list_name, s.missing(&list_name)));
    };
    let Some(rc) = s.rc(&list_name)? else {
        return Err(ParseError::new(&list_name, "exit code missing"));
    };
    let text = lines.join("\n");
    match pm {
        "apt" => {
            if rc != 0 {
                return Ok(Err(tool_error("apt-get", rc, &text)));
            }
            listing::parse_apt(&text)
                .map(Ok)
                .map_err(|m| ParseError::new(&list_name, m))
        }
        "dnf" | "yum" => {
            // check-update: 100 updates, 0 none, 1 error.
            if rc != 0 && rc != 100 {
                return Ok(Err(tool_error(pm, rc, &text)));
            }
            let mut updates = listing::parse_dnf_check_update(&text)
                .map_err(|m| ParseError::new(&list_name, m))?;
            if rc == 100 && updates.is_empty() {
                return Err(ParseError::new(
                    &list_name,
                    "exit 100 (updates) but no update lines",
                ));
            }
            let sec_name = format!("security.{pm}");
            let sec_rc = s.rc(&sec_name)?;
            let updateinfo = s.get("updateinfo").map(first_word) == Some("present");
            let sec_known = match (s.get(&sec_name), sec_rc) {
                (Some(sec_lines), Some(0)) if updateinfo => {
                    let names = listing::parse_dnf_updateinfo(&sec_lines.join("\n"))
                        .map_err(|m| ParseError::new(&sec_name, m))?;
                    listing::mark_rpm_security(&mut updates, &names);
                    true
                }
                _ => false,
            };
            Ok(Ok(Listing {
                updates,
                kept_back: Vec::new(),
                security_count: None,
                security_known: sec_known,
            }))
        }
        "zypper" => {
            if rc != 0 {
                return Ok(Err(tool_error("zypper", rc, &text)));
            }
            let updates = listing::parse_zypper_list_updates(&text)
                .map_err(|m| ParseError::new(&list_name, m))?;
            let sec = match (s.get("security.zypper"), s.rc("security.zypper")?) {
                (Some(l), Some(0)) => Some(
                    listing::parse_zypper_patches(&l.join("\n"))
                        .map_err(|m| ParseError::new("security.zypper", m))?,
                ),
                _ => None,
            };
            Ok(Ok(Listing {
                updates,
                kept_back: Vec::new(),
                security_count: sec,
                security_known: sec.is_some(),
            }))
        }
        "apk" => {
            if rc != 0 {
                return Ok(Err(tool_error("apk", rc, &text)));
            }
            listing::parse_apk(&text)
                .map(Ok)
                .map_err(|m| ParseError::new(&list_name, m))
        }
        "pacman" => {
            // pacman -Qu exits 1 when nothing is upgradable.
            let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
            if !errors.is_empty() || (rc != 0 && rc != 1) {
                return Ok(Err(tool_error("pacman", rc, &text)));
            }
            listing::parse_pacman(&text)
                .map(Ok)
                .map_err(|m| ParseError::new(&list_name, m))
        }
        other => Err(ParseError::new(
            "pkg",
            format!("unknown package manager `{other}`"),
        )),
    }
}

/// A short message from a failing tool: its error lines, else its last line.
fn tool_error(tool: &str, rc: i32, text: &str) -> String {
    let errs: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("E:")
                || l.starts_with("Error")
                || l.starts_with("error")
                || l.starts_with("ERROR")
        })
        .take(3)
        .collect();
    let detail = if errs.is_empty() {
        text.lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    } else {
        errs.join("; ")
    };
    let detail: String = detail.chars().take(300).collect();
    format!("{tool} exited {rc}: {detail}")
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
