//! The watch's sweep (`opsdeck sweep`, run by a timer): every check that
//! has inputs, once — host health and pending patches (the one probe),
//! every backup job, lifecycle dates and vendor tickets (the Overview's
//! items) — then the history, forecasts and anomalies, the alerts on
//! change, one journal entry, and the dead man's ping. Built from the
//! other tasks of `ops/`, never a copy of them.
//!
//! One sweep at a time per home: `state/sweep.lock` (flock; released by the
//! kernel when a sweep is killed). A second sweep returns
//! [`SweepError::Busy`] at once and touches nothing.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Instant;

use serde::Serialize;

use super::Ctx;
use crate::model::{BackupJob, BackupResult, CheckResult, Host, Level, Status};
use crate::overview::{self, Item, Snapshot};
use crate::store::{JournalEntry, StateKind};
use crate::watch::alerts::{self, AlertState, Event};
use crate::watch::history::{self, BackupSample, HostSample};
use crate::watch::{forecast, notify, LastSweep};

/// What a sweep found and did (`sweep --json`).
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    /// RFC 3339.
    pub started_at: String,
    pub took_ms: u64,
    /// The worst of hosts, backups and items.
    pub status: Status,
    pub hosts: Vec<CheckResult>,
    pub backups: Vec<BackupResult>,
    /// Everything open, ranked (the Overview's list, forecasts included).
    pub items: Vec<Item>,
    /// The forecasts and anomalies of this sweep (also in `items`).
    pub watch: Vec<Item>,
    /// What was told this sweep: the changes, or in digest mode the
    /// digest when one was due.
    pub events: Vec<Event>,
    /// In digest mode, the changes of this sweep, recorded for the next
    /// digest and not sent one by one (empty otherwise).
    pub recorded: Vec<Event>,
    /// Hosts in a maintenance window now, with its reason.
    pub maintenance: BTreeMap<String, String>,
    /// Channels that failed this sweep.
    pub channel_failures: Vec<String>,
    /// Channels that failed at the sweep before.
    pub previous_failures: Vec<String>,
    /// One line for the summary and the journal.
    pub summary: String,
}

/// Why a sweep did not run.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepError {
    /// Another sweep holds the lock (its pid when known).
    Busy(String),
    Failed(String),
}

/// How to sweep.
#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// Append samples to the history (and forecast from it).
    pub history: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions { history: true }
    }
}

/// Progress of a sweep.
#[derive(Debug, Clone)]
pub enum SweepEvent {
    HostChecked { n: usize, total: usize },
    BackupChecked { n: usize, total: usize },
}

/// The sweep lock, held while the returned file lives.
fn lock(ctx: &Ctx) -> Result<File, SweepError> {
    let dir = &ctx.store.home.state_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| SweepError::Failed(format!("{}: {e}", dir.display())))?;
    let path = dir.join("sweep.lock");
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| SweepError::Failed(format!("{}: {e}", path.display())))?;
    match f.try_lock() {
        Ok(()) => {
            use std::io::{Seek, Write};
            let _ = f.set_len(0);
            let _ = f.seek(std::io::SeekFrom::Start(0));
            let _ = write!(f, "{}", std::process::id());
            Ok(f)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            Err(SweepError::Busy(match pid.trim() {
                "" => "another sweep is running".into(),
                p => format!("another sweep is running (pid {p})"),
            }))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(SweepError::Failed(format!("{}: {e}", path.display())))
        }
    }
}

fn level_status(l: Level) -> Status {
    match l {
        Level::Ok => Status::Ok,
        Level::Warn => Status::Warn,
        Level::Crit => Status::Crit,
    }
}

/// Sweep `hosts` and `jobs` (a target narrower than the whole fleet sweeps
/// its hosts and their jobs; the alerts then compare only what was swept).
pub fn sweep(
    ctx: &Ctx,
    hosts: Vec<Host>,
    jobs: Vec<BackupJob>,
    target: &str,
    opts: SweepOptions,
    progress: impl Fn(SweepEvent) + Send + Sync,
) -> Result<SweepResult, SweepError> {
    let _lock = lock(ctx)?;
    let started = Instant::now();
    let now = overview::now().map_err(SweepError::Failed)?;
    let started_at = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let cfg = &ctx.store.settings.alerts;
    let mut failures: Vec<String> = notify::ping(cfg, "/start", "").into_iter().collect();

    // health + patches: the one probe per host
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let checked = super::check::sweep(ctx, hosts, |_, n, total| {
        progress(SweepEvent::HostChecked { n, total })
    });
    let kept = super::check::keep(&ctx.store, &checked);
    // every backup job
    let backups = crate::backups::run::check_all_blocking(
        &ctx.engine,
        &ctx.store.hosts,
        jobs,
        None,
        ctx.cancel.clone(),
        |_, n, total| progress(SweepEvent::BackupChecked { n, total }),
    );
    let backups: Vec<BackupResult> = backups.into_iter().map(|d| d.result).collect();
    let kept = kept.and_then(|_| super::backups::keep(&ctx.store, &backups));
    if let Err(e) = &kept {
        let why = format!("cannot save the results: {e}");
        let _ = notify::ping(cfg, "/fail", &why);
        return Err(SweepError::Failed(why));
    }

    // history, forecasts and anomalies
    let at = now.as_second();
    let mut watch: Vec<Item> = Vec::new();
    if opts.history {
        let mut samples = Vec::new();
        let mut sampled = Vec::new();
        for c in checked.iter().map(|h| &h.check) {
            if let Some(s) = HostSample::of(c, at) {
                samples.push(s);
                sampled.push(c.host.clone());
            }
        }
        let bsamples: Vec<(String, BackupSample)> = backups
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| (r.name.clone(), BackupSample::of(r, at)))
            .collect();
        if let Err(e) = history::append_sweep(&ctx.store.home, &samples, &sampled, &bsamples) {
            tracing::warn!("cannot append to the history: {e}");
            failures.push(format!("history: {e}"));
        }
        for name in &names {
            watch.extend(forecast::host_items(
                name,
                &history::host(&ctx.store.home, name),
                at,
            ));
        }
        for (name, _) in &bsamples {
            watch.extend(forecast::backup_items(
                name,
                &history::backup(&ctx.store.home, name),
            ));
        }
    }
    // a narrower sweep keeps the other hosts' forecasts of the last sweep
    let mut all_watch: Vec<Item> = ctx
        .store
        .load_state::<Item>(StateKind::Watch)
        .items
        .into_iter()
        .filter(|i| {
            !names.contains(&i.target.key) && !backups.iter().any(|b| b.name == i.target.key)
        })
        .collect();
    all_watch.extend(watch.iter().cloned());
    if let Err(e) = ctx.store.replace_state(StateKind::Watch, &all_watch) {
        tracing::warn!("cannot save the forecasts: {e}");
    }

    // everything open, as the Overview ranks it
    let snap = Snapshot::load(&ctx.store).map_err(|e| SweepError::Failed(e.to_string()))?;
    let today = overview::today_of(now);
    let items = overview::overview(&snap, now, today).items;

    // alerts on change
    let local = now.to_zoned(jiff::tz::TimeZone::system()).datetime();
    let muted = alerts::in_maintenance(&ctx.store.settings.maintenance, &ctx.store.hosts, local);
    let state_path = ctx.store.home.state_dir.join("alerts.toml");
    let prev: AlertState = std::fs::read_to_string(&state_path)
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default();
    let swept = |host: &str| host.is_empty() || names.iter().any(|n| n == host) || target == "all";
    let with_host: Vec<(String, &Item)> = items
        .iter()
        .map(|i| {
            (
                alerts::item_host(i, &ctx.store.hosts, &ctx.store.backups),
                i,
            )
        })
        .filter(|(h, _)| swept(h))
        .collect();
    // a narrower sweep compares only what it swept
    let (kept_prev, cmp_prev): (Vec<_>, Vec<_>) =
        prev.open.iter().cloned().partition(|o| !swept(&o.host));
    let (mut open, mut events) = alerts::diff(&cmp_prev, &with_host, &muted, &started_at);
    if cfg.webhook.is_empty() && cfg.mail_to.is_empty() {
        // nobody to tell: nothing counts as told, so that a channel added
        // later tells what is still open (once), not only what changes
        for o in &mut open {
            o.told = cmp_prev.iter().find(|p| p.id == o.id).and_then(|p| p.told);
        }
        events.clear();
    }
    open.extend(kept_prev);
    let mut state = AlertState {
        open,
        last_digest: prev.last_digest.clone(),
        failures: Vec::new(),
    };
    let digest_due = cfg.digest.is_some() && alerts::digest_due(cfg, &state, local);
    let to_send: Vec<Event> = if cfg.digest.is_some() {
        if digest_due {
            vec![alerts::digest(&state.open, &muted)]
        } else {
            Vec::new()
        }
    } else {
        events.clone()
    };
    let failed = notify::send(cfg, &to_send);
    // the day's digest is done once one channel took it; when every
    // channel failed, the next sweep tries again
    let channels = cfg.webhook.len() + usize::from(!cfg.mail_to.is_empty());
    if digest_due && failed.len() < channels {
        state.last_digest = Some(local.date().to_string());
    }
    failures.extend(failed);

    // the verdict
    let status = checked
        .iter()
        .map(|h| h.check.status)
        .chain(backups.iter().map(|b| b.status))
        .chain(items.iter().map(|i| level_status(i.level)))
        .fold(Status::Ok, Status::worst);
    let count = |s: Status| checked.iter().filter(|h| h.check.status == s).count();
    let summary = format!(
        "{} ({} ok, {} warn, {} crit, {} unknown); {}; {} open; {} told{}{}",
        crate::util::plural(checked.len(), "host", "hosts"),
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Crit),
        count(Status::Unknown),
        crate::util::plural(backups.len(), "backup job", "backup jobs"),
        crate::util::plural(items.len(), "item", "items"),
        crate::util::plural(to_send.len(), "change", "changes"),
        if muted.is_empty() {
            String::new()
        } else {
            format!(
                "; {} in maintenance",
                crate::util::plural(muted.len(), "host", "hosts")
            )
        },
        if failures.is_empty() {
            String::new()
        } else {
            format!(
                "; {} failed",
                crate::util::plural(failures.len(), "channel", "channels")
            )
        },
    );

    // one journal entry
    let mut entry = JournalEntry::now("sweep", target, status.label());
    entry.details.push(summary.clone());
    for h in checked.iter().filter(|h| h.check.status != Status::Ok) {
        let why = h
            .check
            .error
            .clone()
            .unwrap_or_else(|| h.check.reasons.join("; "));
        entry.details.push(format!(
            "{}: {}: {why}",
            h.check.host,
            h.check.status.label().to_lowercase()
        ));
    }
    for b in backups.iter().filter(|b| b.status != Status::Ok) {
        entry.details.push(format!(
            "backup {}: {}: {}",
            b.name,
            b.status.label().to_lowercase(),
            b.error.clone().unwrap_or_else(|| b.reasons.join("; "))
        ));
    }
    let recorded: Vec<Event> = if cfg.digest.is_some() {
        events
    } else {
        Vec::new()
    };
    for e in &recorded {
        entry
            .details
            .push(format!("recorded for the digest: {}", e.text));
    }
    for e in &to_send {
        entry.details.push(format!("told: {}", e.text));
    }
    for f in &failures {
        entry.details.push(format!("channel failed: {f}"));
    }
    if let Err(e) = ctx.store.journal(&entry) {
        tracing::warn!("could not write the journal: {e}");
    }
    state.failures = failures.clone();
    if let Ok(text) = toml::to_string(&state) {
        if let Err(e) = crate::store::write_output_file(&state_path, text.as_bytes()) {
            tracing::warn!("cannot save the alert state: {e}");
        }
    }
    let took_ms = started.elapsed().as_millis() as u64;
    let _ = LastSweep {
        at: started_at.clone(),
        took_ms,
        status: status.label().to_lowercase(),
        summary: summary.clone(),
    }
    .save(&ctx.store.home);
    if let Some(f) = notify::ping(cfg, "", &summary) {
        failures.push(f);
    }
    Ok(SweepResult {
        started_at,
        took_ms,
        status,
        hosts: checked.into_iter().map(|h| h.check).collect(),
        backups,
        items,
        watch,
        events: to_send,
        recorded,
        maintenance: muted,
        channel_failures: failures,
        previous_failures: prev.failures,
        summary,
    })
}
