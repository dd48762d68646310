//! "What needs me today": one ranked list across everything opsdeck knows,
//! counts per pane, and how fresh each source is.
//!
//! `overview()` is pure (data in, `now`/`today` injected); `Snapshot::load`
//! and the security first-seen file are the only I/O here.
//! Decisions: docs/decisions/lifecycle.md.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::lifecycle::{self, EolTable};
use crate::model::{
    BackupJob, BackupResult, CheckResult, Date, Facts, Host, Level, PatchReport, Status,
    Thresholds, TicketStatus, Vendor,
};
use crate::store::{Home, StateKind, Store, StoreError};
use crate::util;

/// Environment variable that fixes "now" for `opsdeck report` and the
/// Overview (RFC 3339, e.g. `2026-11-22T10:00:00Z`); for tests and for
/// back-dated reports. Nothing else honours it.
pub const NOW_ENV: &str = "OPSDECK_NOW";

pub use crate::model::{PaneId, Target};

/// What an Overview item is about. The order is the urgency order within a level.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    HostDown,
    Disk,
    /// A filesystem that fills up (the watch's forecast).
    DiskForecast,
    /// A finding of the security audit.
    Security,
    /// A certificate that expires soon (the audit).
    Certificate,
    Backup,
    /// Far from the host's or the job's own usual (the watch's history).
    Anomaly,
    SecurityUpdates,
    OsEol,
    Contract,
    Reboot,
    FailedUnits,
    RestoreTest,
    Ticket,
    Warranty,
    HardwareRefresh,
}

/// One line of the Overview.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    /// 1-based position in the ranked list.
    pub rank: usize,
    pub level: Level,
    pub category: Category,
    /// Subject: "web1 unreachable".
    pub what: String,
    /// Why, with numbers and dates.
    pub why: String,
    pub target: Target,
    /// What, within its category and target, the item is about when one
    /// target can have several (a disk's mount point); with them, the
    /// item's stable [`Item::id`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Larger is more urgent, within a level and category (days overdue, %...).
    #[serde(skip)]
    pub urgency: i64,
}

impl Item {
    /// "what: why", for one-line displays.
    pub fn text(&self) -> String {
        format!("{}: {}", self.what, self.why)
    }

    /// A stable identity across sweeps (the watch alerts on its changes):
    /// category, target and subject, never the numbers of `what`/`why`.
    pub fn id(&self) -> String {
        let cat = serde_json::to_value(self.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut id = format!("{cat}:{}:{}", self.target.pane.0, self.target.key);
        if let Some(t) = &self.target.ticket {
            id.push(':');
            id.push_str(t);
        }
        if !self.subject.is_empty() {
            id.push(':');
            id.push_str(&self.subject);
        }
        id
    }
}

/// Security updates seen pending on a host, and since when (first seen).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecuritySince {
    pub host: String,
    /// RFC 3339 UTC: the check time of the first result that showed security updates.
    pub since: String,
}

/// Everything the Overview and the report are computed from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub thresholds: Thresholds,
    pub hosts: Vec<Host>,
    pub vendors: Vec<Vendor>,
    pub jobs: Vec<BackupJob>,
    pub checks: Vec<CheckResult>,
    pub patches: Vec<PatchReport>,
    pub backups: Vec<BackupResult>,
    pub security_since: Vec<SecuritySince>,
    pub eol: EolTable,
    /// The watch's forecasts and anomalies of the last sweep.
    pub watch: Vec<Item>,
    /// State that could not be read in full (damaged entries skipped): shown
    /// by the report and the TUI, never a failure.
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------- clock

/// "Now": `OPSDECK_NOW` when set (must be RFC 3339), else the wall clock.
pub fn now() -> Result<Timestamp, String> {
    match std::env::var(NOW_ENV) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<Timestamp>().map_err(|e| {
            format!("{NOW_ENV}=`{v}` is not an RFC 3339 time such as 2026-11-22T10:00:00Z: {e}")
        }),
        _ => Ok(Timestamp::now()),
    }
}

/// The calendar day of `now` on this machine's time zone (TZ honoured).
pub fn today_of(now: Timestamp) -> Date {
    now.to_zoned(jiff::tz::TimeZone::system()).date()
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ---------------------------------------------------------------- I/O

impl Snapshot {
    /// Load the state files next to an already loaded store. State is a
    /// cache: a damaged file gives what parses and a note; a missing one is
    /// empty. Only `os-eol.toml`, the user's own file, can fail (78).
    pub fn load(store: &Store) -> Result<Snapshot, StoreError> {
        let checks = store.load_state(StateKind::Checks);
        let patches = store.load_state(StateKind::Patches);
        let backups = store.load_state(StateKind::Backups);
        let since = store.load_state(StateKind::SecuritySince);
        let mut watch = load_watch(store);
        let security = store.load_state::<Item>(StateKind::Security);
        watch.items.extend(security.items);
        watch.problems.extend(security.problems);
        let notes = [
            &checks.problems,
            &patches.problems,
            &backups.problems,
            &since.problems,
            &watch.problems,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        Ok(Snapshot {
            thresholds: store.settings.thresholds.clone(),
            hosts: store.hosts.clone(),
            vendors: store.vendors.clone(),
            jobs: store.backups.clone(),
            checks: checks.items,
            patches: patches.items,
            backups: backups.items,
            security_since: since.items,
            eol: EolTable::load(&store.home)?,
            watch: watch.items,
            notes,
        })
    }

    /// Update the security first-seen records from the current results.
    /// Returns whether they changed.
    pub fn track_security(&mut self) -> bool {
        let next = track_security(
            &self.security_since,
            &self.hosts,
            &self.checks,
            &self.patches,
        );
        let changed = next != self.security_since;
        self.security_since = next;
        changed
    }
}

/// The watch's forecasts and anomalies of the last sweep, while they are
/// news: none when no sweep wrote them for a day (the timer stopped; the
/// TUI says the sweep is overdue), so a month-old "full in 6 days" is not
/// shown as today's.
pub fn load_watch(store: &Store) -> crate::store::StateRead<Item> {
    let path = store.home.state_dir.join("watch.toml");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() <= 86_400);
    if fresh {
        store.load_state(StateKind::Watch)
    } else {
        crate::store::StateRead {
            items: Vec::new(),
            problems: Vec::new(),
        }
    }
}

pub fn load_security_since(home: &Home) -> Vec<SecuritySince> {
    crate::store::load_state_in(home, StateKind::SecuritySince).items
}

pub fn save_security_since(home: &Home, items: &[SecuritySince]) -> Result<(), StoreError> {
    crate::store::replace_state_in(home, StateKind::SecuritySince, items)
}

/// Load the snapshot, bring the security first-seen records up to date and
/// save them when they changed (best effort: failures are logged, the report
/// must work on a read-only home). Used by `opsdeck report` and the Overview pane.
pub fn load_and_track(store: &Store) -> Result<Snapshot, StoreError> {
    let mut snap = Snapshot::load(store)?;
    if snap.track_security() {
        if let Err(e) = save_security_since(&store.home, &snap.security_since) {
            tracing::warn!("cannot record when security updates were first seen: {e}");
        }
    }
    Ok(snap)
}

/// After new check or patch results were merged into state/: bring the
/// security first-seen records up to date. For `check`, `patches` and the
/// TUI, so "pending since" is as precise as the checks are frequent. The
/// file is derived data: concurrent writers lose nothing but precision.
/// `checks` and `patches` are the whole state, as the sweep that has just
/// merged them wrote it.
pub fn record_security_seen(
    store: &Store,
    checks: &[CheckResult],
    patches: &[PatchReport],
) -> Result<(), StoreError> {
    let prev = load_security_since(&store.home);
    let next = track_security(&prev, &store.hosts, checks, patches);
    if next != prev {
        save_security_since(&store.home, &next)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- pure parts

/// The newest per-host view of security updates: (count, checked_at) from the
/// newer of the check result and the patch report. None: unknown.
pub fn security_pending(
    host: &str,
    checks: &[CheckResult],
    patches: &[PatchReport],
) -> Option<(u32, String)> {
    // an unreachable host keeps its last known count (stale, with its time)
    let from_check = checks.iter().find(|c| c.host == host).and_then(|c| {
        let (f, stale_at) = c.known_facts()?;
        let n = f.updates.as_ref()?.security?;
        Some((n, stale_at.unwrap_or(&c.checked_at).to_string()))
    });
    let from_patch = patches
        .iter()
        .find(|p| p.host == host && p.error.is_none())
        .and_then(|p| {
            let n = p.security_pending()? as u32;
            Some((n, p.checked_at.clone()?))
        });
    match (from_check, from_patch) {
        (Some(a), Some(b)) => Some(if newer(&b.1, &a.1) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Is RFC 3339 time `a` later than `b`? Unparseable times lose.
fn newer(a: &str, b: &str) -> bool {
    match (a.parse::<Timestamp>(), b.parse::<Timestamp>()) {
        (Ok(x), Ok(y)) => x > y,
        (Ok(_), Err(_)) => true,
        _ => false,
    }
}

/// Reboot flag from the newer of check and patch report.
fn reboot_required(host: &str, checks: &[CheckResult], patches: &[PatchReport]) -> Option<bool> {
    let c = checks.iter().find(|c| c.host == host).and_then(|c| {
        let (f, stale_at) = c.known_facts()?;
        Some((
            f.reboot_required?,
            stale_at.unwrap_or(&c.checked_at).to_string(),
        ))
    });
    let p = patches
        .iter()
        .find(|p| p.host == host)
        .and_then(|p| Some((p.reboot_required?, p.checked_at.clone().unwrap_or_default())));
    match (c, p) {
        (Some(a), Some(b)) => Some(if newer(&b.1, &a.1) { b.0 } else { a.0 }),
        (a, b) => a.or(b).map(|x| x.0),
    }
}

/// First-seen records after the current results: kept while updates stay
/// pending, started at the check time of the first result showing them,
/// dropped when none are pending or the host left the inventory; unknown
/// keeps the old record.
pub fn track_security(
    prev: &[SecuritySince],
    hosts: &[Host],
    checks: &[CheckResult],
    patches: &[PatchReport],
) -> Vec<SecuritySince> {
    let mut out = Vec::new();
    for h in hosts {
        let old = prev.iter().find(|s| s.host == h.name);
        match security_pending(&h.name, checks, patches) {
            Some((n, at)) if n > 0 => out.push(match old {
                Some(o) => o.clone(),
                None => SecuritySince {
                    host: h.name.clone(),
                    since: at,
                },
            }),
            Some(_) => {}
            None => out.extend(old.cloned()),
        }
    }
    out
}

fn age_text(at: &str, now: Timestamp) -> String {
    match util::age_of(at, now) {
        Some(s) => format!("{} ago", util::format_age(s)),
        None => "at an unknown time".into(),
    }
}

fn clean(s: &str) -> String {
    util::sanitize(s.as_bytes())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn host_items(snap: &Snapshot, now: Timestamp, today: Date, out: &mut Vec<Item>) {
    let th = &snap.thresholds;
    for h in &snap.hosts {
        let target = |pane: PaneId| Target {
            pane,
            key: h.name.clone(),
            ticket: None,
        };
        let check = snap.checks.iter().find(|c| c.host == h.name);
        if let Some(c) = check {
            if let Some(err) = &c.error {
                out.push(Item {
                    rank: 0,
                    level: Level::Crit,
                    category: Category::HostDown,
                    what: format!("{} unreachable", h.name),
                    why: format!("{} (checked {})", clean(err), age_text(&c.checked_at, now)),
                    target: target(PaneId::HOSTS),
                    subject: String::new(),
                    urgency: util::age_of(&c.checked_at, now)
                        .map(|s| -(s as i64))
                        .unwrap_or(0),
                });
            }
            if let Some(f) = &c.facts {
                disk_items(&h.name, f, th, out);
                if let Some(units) = f.failed_units.as_ref().filter(|u| !u.is_empty()) {
                    if th.failed_units != Level::Ok {
                        let list: Vec<String> = units.iter().take(3).map(|u| clean(u)).collect();
                        let more = if units.len() > 3 {
                            format!(" and {} more", units.len() - 3)
                        } else {
                            String::new()
                        };
                        out.push(Item {
                            rank: 0,
                            level: th.failed_units,
                            category: Category::FailedUnits,
                            what: format!(
                                "{}: {} failed service{}",
                                h.name,
                                units.len(),
                                if units.len() == 1 { "" } else { "s" }
                            ),
                            why: format!("{}{more}", list.join(", ")),
                            target: target(PaneId::HOSTS),
                            subject: String::new(),
                            urgency: units.len() as i64,
                        });
                    }
                }
            }
        }
        if th.security_updates != Level::Ok {
            if let Some((n, at)) = security_pending(&h.name, &snap.checks, &snap.patches) {
                if n > 0 {
                    let since = snap
                        .security_since
                        .iter()
                        .find(|s| s.host == h.name)
                        .map(|s| s.since.clone())
                        .unwrap_or(at);
                    let (since_text, days) = match since.parse::<Timestamp>() {
                        Ok(t) => {
                            let d = today_of(t);
                            let days = lifecycle::days_between(d, today).max(0);
                            let ago = match days {
                                0 => "first seen today".to_string(),
                                1 => "1 day".to_string(),
                                n => format!("{n} days"),
                            };
                            (format!("pending since {d} ({ago})"), days)
                        }
                        Err(_) => ("pending since an unknown date".into(), 0),
                    };
                    let since_text = match check.filter(|c| c.facts.is_none()) {
                        Some(_) => format!("{since_text}; last known (unreachable now)"),
                        None => since_text,
                    };
                    out.push(Item {
                        rank: 0,
                        level: th.security_updates,
                        category: Category::SecurityUpdates,
                        what: format!(
                            "{}: {} security update{}",
                            h.name,
                            n,
                            if n == 1 { "" } else { "s" }
                        ),
                        why: since_text,
                        target: target(PaneId::PATCHES),
                        subject: String::new(),
                        urgency: days * 1000 + n as i64,
                    });
                }
            }
        }
        if th.reboot_required != Level::Ok
            && reboot_required(&h.name, &snap.checks, &snap.patches) == Some(true)
        {
            let uptime = check
                .and_then(|c| c.facts.as_ref()?.uptime_s)
                .map(|s| format!("up {}", util::format_age(s)))
                .unwrap_or_else(|| "uptime unknown".into());
            out.push(Item {
                rank: 0,
                level: th.reboot_required,
                category: Category::Reboot,
                what: format!("{}: reboot required", h.name),
                why: format!("updates need a reboot to take effect ({uptime})"),
                target: target(PaneId::PATCHES),
                subject: String::new(),
                urgency: check.and_then(|c| c.facts.as_ref()?.uptime_s).unwrap_or(0) as i64,
            });
        }
    }
}

fn disk_items(host: &str, f: &Facts, th: &Thresholds, out: &mut Vec<Item>) {
    for d in &f.disks {
        let (level, limit, name) = if d.used_pct >= th.disk_crit_pct {
            (Level::Crit, th.disk_crit_pct, "disk_crit_pct")
        } else if d.used_pct >= th.disk_warn_pct {
            (Level::Warn, th.disk_warn_pct, "disk_warn_pct")
        } else {
            continue;
        };
        out.push(Item {
            rank: 0,
            level,
            category: Category::Disk,
            what: format!("{host}: {} {:.0}% full", clean(&d.mount), d.used_pct),
            why: format!("at or above {name} {limit:.0}%"),
            target: Target {
                pane: PaneId::HOSTS,
                key: host.to_string(),
                ticket: None,
            },
            subject: d.mount.clone(),
            urgency: (d.used_pct * 10.0) as i64,
        });
    }
}

fn backup_items(snap: &Snapshot, now: Timestamp, today: Date, out: &mut Vec<Item>) {
    for job in &snap.jobs {
        let target = Target {
            pane: PaneId::BACKUPS,
            key: job.name.clone(),
            ticket: None,
        };
        if let Some(r) = snap.backups.iter().find(|r| r.name == job.name) {
            if let Some((level, why, urgency)) = backup_problem(r, now) {
                out.push(Item {
                    rank: 0,
                    level,
                    category: Category::Backup,
                    what: format!("backup {}", job.name),
                    why,
                    target: target.clone(),
                    subject: String::new(),
                    urgency,
                });
            }
        }
        // Restore tests are judged on today's date, not on the last check.
        if let Some(every) = job.restore_test_every.as_deref() {
            if util::parse_duration(every).is_err() {
                continue;
            }
            match job.last_restore_test {
                None => out.push(Item {
                    rank: 0,
                    level: Level::Warn,
                    category: Category::RestoreTest,
                    what: format!("backup {}: restore test", job.name),
                    why: format!("never restore-tested (restore_test_every {every})"),
                    target: target.clone(),
                    subject: String::new(),
                    urgency: i64::MAX / 2,
                }),
                Some(last) => {
                    if let Some(due) = restore_due(job) {
                        let days = lifecycle::days_between(today, due);
                        if days < 0 {
                            out.push(Item {
                                rank: 0,
                                level: Level::Warn,
                                category: Category::RestoreTest,
                                what: format!("backup {}: restore test", job.name),
                                why: format!(
                                    "overdue since {due} ({}; last {last}, every {every})",
                                    lifecycle::relative_days(days)
                                ),
                                target: target.clone(),
                                subject: String::new(),
                                urgency: -days,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The day a restore test is due (last + every, in whole days rounded up);
/// None when unknown or out of range (never panics on huge durations).
pub fn restore_due(job: &BackupJob) -> Option<Date> {
    let every = util::parse_duration(job.restore_test_every.as_deref()?).ok()?;
    let days = i64::try_from(every.as_secs().div_ceil(86_400)).ok()?;
    let span = jiff::Span::new().try_days(days).ok()?;
    job.last_restore_test?.checked_add(span).ok()
}

/// A backup result's problem other than its restore test (judged separately).
fn backup_problem(r: &BackupResult, now: Timestamp) -> Option<(Level, String, i64)> {
    let checked = r
        .checked_at
        .as_deref()
        .map(|c| format!(" (checked {})", age_text(c, now)))
        .unwrap_or_default();
    let level_of = |s: Status| match s {
        Status::Crit => Level::Crit,
        _ => Level::Warn,
    };
    if let Some(err) = &r.error {
        return Some((
            level_of(r.status),
            format!("check failed: {}{checked}", clean(err)),
            i64::MAX / 2,
        ));
    }
    if r.status == Status::Ok {
        return None;
    }
    match (r.latest.as_deref(), r.age_s) {
        (None, _) => Some((
            Level::Crit,
            format!("no backup found{checked}"),
            i64::MAX / 4,
        )),
        (Some(_), Some(age)) if r.max_age_s > 0 && age > r.max_age_s => Some((
            Level::Crit,
            format!(
                "latest backup {} old, max_age {}{checked}",
                util::format_age(age),
                util::format_age(r.max_age_s)
            ),
            age as i64,
        )),
        _ => {
            // Other findings (warn_age, clock skew, ...), minus the restore test.
            let reasons: Vec<String> = r
                .reasons
                .iter()
                .filter(|x| !x.contains("restore"))
                .filter(|x| !(x.starts_with("latest backup") && x.contains("(max_age")))
                .map(|x| clean(x))
                .collect();
            if reasons.is_empty() {
                None
            } else {
                Some((
                    level_of(r.status),
                    format!("{}{checked}", reasons.join("; ")),
                    r.age_s.unwrap_or(0) as i64,
                ))
            }
        }
    }
}

fn vendor_items(snap: &Snapshot, today: Date, out: &mut Vec<Item>) {
    let stale = snap.thresholds.ticket_stale_days as i64;
    for v in &snap.vendors {
        for t in &v.tickets {
            if t.status != TicketStatus::Open {
                continue;
            }
            let Some(opened) = t.opened else { continue };
            let days = lifecycle::days_between(opened, today);
            if days >= stale {
                out.push(Item {
                    rank: 0,
                    level: Level::Warn,
                    category: Category::Ticket,
                    what: format!("{}: ticket {}", v.name, clean(&t.reference)),
                    why: format!(
                        "\"{}\" open for {} days (since {opened})",
                        clean(&t.subject),
                        days
                    ),
                    target: Target {
                        pane: PaneId::VENDORS,
                        key: v.name.clone(),
                        ticket: Some(t.reference.clone()),
                    },
                    subject: String::new(),
                    urgency: days,
                });
            }
        }
    }
}

fn lifecycle_category(k: lifecycle::Kind) -> Category {
    match k {
        lifecycle::Kind::OsEol => Category::OsEol,
        lifecycle::Kind::Contract => Category::Contract,
        lifecycle::Kind::Warranty => Category::Warranty,
        lifecycle::Kind::HardwareRefresh => Category::HardwareRefresh,
    }
}

/// Counts of statuses.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StatusCounts {
    pub total: usize,
    pub ok: usize,
    pub warn: usize,
    pub crit: usize,
    /// Unknown status, or never checked.
    pub unknown: usize,
    /// Never checked (included in `unknown`).
    pub unchecked: usize,
}

impl StatusCounts {
    fn add(&mut self, s: Option<Status>) {
        self.total += 1;
        match s {
            Some(Status::Ok) => self.ok += 1,
            Some(Status::Warn) => self.warn += 1,
            Some(Status::Crit) => self.crit += 1,
            Some(Status::Unknown) => self.unknown += 1,
            None => {
                self.unknown += 1;
                self.unchecked += 1;
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PatchCounts {
    /// Hosts with at least one pending update.
    pub hosts_with_updates: usize,
    /// Pending updates over all hosts (where known).
    pub updates: u64,
    /// Hosts with pending security updates.
    pub hosts_with_security: usize,
    /// Pending security updates over all hosts (where known).
    pub security: u64,
    /// Hosts whose security count is unknown (no metadata, or never checked).
    pub security_unknown: usize,
    pub reboot_required: usize,
    /// Hosts counted from their last known facts (the last check did not
    /// reach them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct VendorCounts {
    pub total: usize,
    pub open_tickets: usize,
    /// Open tickets older than thresholds.ticket_stale_days.
    pub stale_tickets: usize,
    /// Contracts ending within thresholds.expiry_warn_days.
    pub contracts_ending: usize,
    pub contracts_ended: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LevelCounts {
    pub crit: usize,
    pub warn: usize,
}

/// Counts per pane.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    /// Items of the Overview list.
    pub overview: LevelCounts,
    pub hosts: StatusCounts,
    pub patches: PatchCounts,
    pub backups: StatusCounts,
    pub vendors: VendorCounts,
}

/// When a source was last refreshed: the newest `checked_at` of its state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Freshness {
    /// "checks", "patches" or "backups".
    pub source: String,
    pub pane: PaneId,
    /// RFC 3339, or null when never.
    pub last: Option<String>,
    /// Seconds before now, or null.
    pub age_s: Option<u64>,
}

/// The Overview: ranked items, counts, freshness.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overview {
    pub now: String,
    #[serde(serialize_with = "lifecycle::ser_date")]
    pub today: Date,
    pub counts: Counts,
    pub freshness: Vec<Freshness>,
    pub items: Vec<Item>,
}

fn newest<'a>(times: impl Iterator<Item = &'a str>) -> Option<String> {
    times
        .filter_map(|t| t.parse::<Timestamp>().ok().map(|ts| (ts, t)))
        .max_by_key(|(ts, _)| *ts)
        .map(|(_, t)| t.to_string())
}

/// Freshness of the three state sources.
pub fn freshness(snap: &Snapshot, now: Timestamp) -> Vec<Freshness> {
    let mk = |source: &str, pane: PaneId, last: Option<String>| Freshness {
        source: source.into(),
        pane,
        age_s: last.as_deref().and_then(|l| util::age_of(l, now)),
        last,
    };
    vec![
        mk(
            "checks",
            PaneId::HOSTS,
            newest(snap.checks.iter().map(|c| c.checked_at.as_str())),
        ),
        mk(
            "patches",
            PaneId::PATCHES,
            newest(snap.patches.iter().filter_map(|p| p.checked_at.as_deref())),
        ),
        mk(
            "backups",
            PaneId::BACKUPS,
            newest(snap.backups.iter().filter_map(|b| b.checked_at.as_deref())),
        ),
    ]
}

/// Counts per pane (inventory entries only; results of removed hosts/jobs are ignored).
pub fn counts(snap: &Snapshot, today: Date, items: &[Item]) -> Counts {
    let mut c = Counts::default();
    for i in items {
        match i.level {
            Level::Crit => c.overview.crit += 1,
            Level::Warn => c.overview.warn += 1,
            Level::Ok => {}
        }
    }
    for h in &snap.hosts {
        let check = snap.checks.iter().find(|x| x.host == h.name);
        c.hosts.add(check.map(|x| x.status));
        let facts_updates = check.and_then(|x| x.known_facts()?.0.updates.clone());
        if check.is_some_and(|x| x.facts.is_none() && x.last_known.is_some()) {
            c.patches.stale += 1;
        }
        let patch = snap
            .patches
            .iter()
            .find(|p| p.host == h.name && p.error.is_none());
        let pending = facts_updates
            .as_ref()
            .and_then(|u| u.pending)
            .map(u64::from)
            .or(patch.map(|p| p.updates.len() as u64));
        if let Some(n) = pending.filter(|n| *n > 0) {
            c.patches.hosts_with_updates += 1;
            c.patches.updates += n;
        }
        match security_pending(&h.name, &snap.checks, &snap.patches) {
            Some((n, _)) => {
                if n > 0 {
                    c.patches.hosts_with_security += 1;
                    c.patches.security += u64::from(n);
                }
            }
            None => c.patches.security_unknown += 1,
        }
        if reboot_required(&h.name, &snap.checks, &snap.patches) == Some(true) {
            c.patches.reboot_required += 1;
        }
    }
    for j in &snap.jobs {
        c.backups.add(
            snap.backups
                .iter()
                .find(|r| r.name == j.name)
                .map(|r| r.status),
        );
    }
    let th = &snap.thresholds;
    for v in &snap.vendors {
        c.vendors.total += 1;
        for t in v.tickets.iter().filter(|t| t.status == TicketStatus::Open) {
            c.vendors.open_tickets += 1;
            if t.opened
                .is_some_and(|o| lifecycle::days_between(o, today) >= th.ticket_stale_days as i64)
            {
                c.vendors.stale_tickets += 1;
            }
        }
        if let Some(end) = v.contract_end {
            let d = lifecycle::days_between(today, end);
            if d < 0 {
                c.vendors.contracts_ended += 1;
            } else if d <= th.expiry_warn_days as i64 {
                c.vendors.contracts_ending += 1;
            }
        }
    }
    c
}

/// Rank items: crit before warn; within a level by category (host down,
/// disks, backups, security, EOL, contracts, reboots, failed units, restore
/// tests, tickets, warranties, hardware), then urgency, then key and text.
pub fn rank(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(a.category.cmp(&b.category))
            .then(b.urgency.cmp(&a.urgency))
            .then(a.target.key.cmp(&b.target.key))
            .then(a.what.cmp(&b.what))
    });
    for (i, it) in items.iter_mut().enumerate() {
        it.rank = i + 1;
    }
}

/// The ranked "what needs me today" list.
pub fn items(snap: &Snapshot, now: Timestamp, today: Date) -> Vec<Item> {
    let mut out = Vec::new();
    host_items(snap, now, today, &mut out);
    backup_items(snap, now, today, &mut out);
    vendor_items(snap, today, &mut out);
    for l in lifecycle::items(
        &snap.hosts,
        &snap.vendors,
        &snap.checks,
        &snap.eol,
        &snap.thresholds,
        today,
    ) {
        out.push(Item {
            rank: 0,
            level: l.level,
            category: lifecycle_category(l.kind),
            what: l.what,
            why: l.why,
            target: l.target,
            subject: String::new(),
            urgency: -l.days,
        });
    }
    // the watch's forecasts and anomalies, as the last sweep found them
    out.extend(snap.watch.iter().cloned());
    rank(&mut out);
    out
}

/// Everything the Overview pane shows.
pub fn overview(snap: &Snapshot, now: Timestamp, today: Date) -> Overview {
    let items = items(snap, now, today);
    Overview {
        now: rfc3339(now),
        today,
        counts: counts(snap, today, &items),
        freshness: freshness(snap, now),
        items,
    }
}
