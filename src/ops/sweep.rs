//! The watch's sweep (`opsdeck sweep`, run from a timer): every check that
//! has inputs, once. Host health and pending patches (one probe per host,
//! `ops::check`), every backup job of those hosts (`ops::backups`), then
//! the Overview's items (lifecycle dates, vendor tickets, everything
//! `overview` computes from state) plus the watch's forecasts and
//! anomalies from history; history appended, alerts told on change, the
//! dead man's ping, ONE journal entry, a typed result.
//!
//! One sweep at a time per home (`watch::lock`): a second one returns
//! [`Busy`] at once, having touched nothing. Hosts and backup jobs are
//! checked at the same time, each bounded by `[ssh] concurrency` and its
//! timeouts, so a slow host costs its timeouts, never the whole run.

use jiff::Timestamp;
use serde::Serialize;

use crate::backups::run::check_all_blocking;
use crate::checks::HostCheck;
use crate::model::{nagios_exit, BackupResult, CheckResult, Level, Status};
use crate::overview::{self, Item, Snapshot};
use crate::store::JournalEntry;
use crate::watch::{self, history, lock::SweepLock, LastSweep, Told};

use super::Ctx;

/// What a sweep does besides checking.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Append samples to the history (and read it for forecasts).
    pub history: bool,
    /// Tell changes on the `[alerts]` channels and ping.
    pub alerts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            history: true,
            alerts: true,
        }
    }
}

/// Progress of a sweep.
#[derive(Debug, Clone)]
pub enum Progress {
    Host { done: usize, total: usize },
    Backup { done: usize, total: usize },
}

/// Another sweep holds the lock.
#[derive(Debug, Clone)]
pub struct Busy {
    pub pid: Option<u32>,
}

/// The result of one sweep (`sweep --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started: String,
    pub finished: String,
    pub elapsed_ms: u64,
    /// Nagios exit status of the worst of hosts, backups and items.
    pub exit: i32,
    /// One line, as journaled: counts of hosts, backups, items, alerts.
    pub summary: String,
    pub hosts: Vec<CheckResult>,
    pub backups: Vec<BackupResult>,
    /// The "what needs me today" list, forecasts and anomalies included.
    pub items: Vec<Item>,
    pub alerts: Told,
    /// Things that went wrong without stopping the sweep (saving state,
    /// history, a channel...).
    pub problems: Vec<String>,
}

fn level_code(l: Level) -> Status {
    match l {
        Level::Ok => Status::Ok,
        Level::Warn => Status::Warn,
        Level::Crit => Status::Crit,
    }
}

/// One sweep of the hosts `targets` select (their backup jobs; all jobs
/// when every host is selected). Blocking.
pub fn run(
    ctx: &Ctx,
    targets: &[String],
    hosts: Vec<crate::model::Host>,
    opts: Options,
    progress: super::Sink<Progress>,
) -> Result<Report, Busy> {
    let store = &ctx.store;
    let home = &store.home;
    let _lock = match SweepLock::try_acquire(home) {
        Ok(l) => l,
        Err(watch::lock::Busy::Held(pid)) => return Err(Busy { pid }),
        Err(watch::lock::Busy::Error(e)) => {
            // no lock file possible (read-only home): say so, sweep anyway
            tracing::warn!("no sweep lock: {e}");
            return Err(Busy { pid: None });
        }
    };
    let started_at = std::time::Instant::now();
    let now = overview::now().unwrap_or_else(|_| Timestamp::now());
    let started = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let cfg = &store.settings.alerts;
    let mut problems = Vec::new();
    let mut deliveries = Vec::new();
    if opts.alerts {
        deliveries.extend(watch::channels::ping(cfg, "start", ""));
    }

    let all = targets.is_empty() || targets.iter().any(|t| t == "all");
    let jobs: Vec<_> = store
        .backups
        .iter()
        .filter(|j| all || hosts.iter().any(|h| h.name == j.host))
        .cloned()
        .collect();
    let (host_results, backup_done) = std::thread::scope(|s| {
        let p = progress.clone();
        let jobs_thread = s.spawn(move || {
            check_all_blocking(
                &ctx.engine,
                &store.hosts,
                jobs,
                None,
                ctx.cancel.clone(),
                |_, done, total| p(Progress::Backup { done, total }),
            )
        });
        let hr: Vec<HostCheck> = super::check::sweep(ctx, hosts, |_, done, total| {
            progress(Progress::Host { done, total })
        });
        let bd = jobs_thread.join().unwrap_or_default();
        (hr, bd)
    });
    let backups: Vec<BackupResult> = backup_done.into_iter().map(|d| d.result).collect();

    let mut saved = true;
    match crate::checks::merge(store, &host_results) {
        Ok((checks, patches)) => {
            if let Err(e) = overview::record_security_seen(store, &checks, &patches) {
                tracing::warn!("cannot record when security updates were first seen: {e}");
            }
        }
        Err(e) => {
            saved = false;
            problems.push(format!("cannot save the check results: {e}"));
        }
    }
    if let Err(e) = super::backups::merge(store, &backups) {
        saved = false;
        problems.push(format!("cannot save the backup results: {e}"));
    }

    let t = now.as_second();
    if opts.history {
        let hs: Vec<(String, history::HostSample)> = host_results
            .iter()
            .filter_map(|r| Some((r.check.host.clone(), history::HostSample::of(&r.check, t)?)))
            .collect();
        let bs: Vec<(String, history::BackupSample)> = backups
            .iter()
            .filter_map(|r| Some((r.name.clone(), history::BackupSample::of(r, t)?)))
            .collect();
        problems.extend(history::record(home, &hs, &bs));
        problems.extend(history::compact_daily(home, t));
    }

    let items = match Snapshot::load(store) {
        Ok(mut snap) => {
            if opts.history {
                snap.extra = watch::forecast::items(home, &store.hosts, &store.backups, t);
            }
            snap.notes.iter().for_each(|n| problems.push(n.clone()));
            overview::items(&snap, now, overview::today_of(now))
        }
        Err(e) => {
            problems.push(format!("cannot compute the items: {e}"));
            Vec::new()
        }
    };

    let mut told = if opts.alerts {
        watch::tell_changes(
            home,
            &store.settings,
            &store.hosts,
            &store.backups,
            &items,
            now,
        )
    } else {
        Told::default()
    };
    problems.append(&mut told.problems);

    let exit = nagios_exit(
        host_results
            .iter()
            .map(|r| r.check.status)
            .chain(backups.iter().map(|b| b.status))
            .chain(items.iter().map(|i| level_code(i.level))),
    );
    let summary = summary_line(&host_results, &backups, &items, &told);
    if opts.alerts {
        let stage = if saved { "" } else { "fail" };
        let body = format!("{summary}\n{}", problems.join("\n"));
        deliveries.extend(watch::channels::ping(cfg, stage, body.trim_end()));
    }
    told.deliveries.splice(0..0, deliveries);

    let mut entry = JournalEntry::now(
        "sweep",
        &super::target_label(targets),
        match exit {
            0 => "ok",
            1 => "warning",
            2 => "critical",
            _ => "unknown",
        },
    );
    entry.at = started.clone();
    entry.details.push(summary.clone());
    entry.details.extend(
        crate::checks::journal_entry(&host_results, "sweep", "")
            .details
            .into_iter()
            .skip(1),
    );
    for b in backups.iter().filter(|b| b.status != Status::Ok) {
        entry.details.push(format!(
            "backup {}: {} {}",
            b.name,
            b.status.label().to_lowercase(),
            b.error.clone().unwrap_or_else(|| b.reasons.join("; "))
        ));
    }
    for e in &told.events {
        entry.details.push(format!(
            "alert {}: {} {}",
            e.event.as_str(),
            e.status,
            e.text
        ));
    }
    for d in told.deliveries.iter().filter(|d| !d.ok) {
        entry.details.push(format!(
            "channel failed: {}: {} (after {} attempts)",
            d.channel,
            d.error.as_deref().unwrap_or("?"),
            d.attempts
        ));
    }
    entry.details.extend(problems.iter().cloned());
    if let Err(e) = store.journal(&entry) {
        problems.push(format!("cannot journal the sweep: {e}"));
    }
    let finished = overview::now()
        .unwrap_or_else(|_| Timestamp::now())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let last = LastSweep {
        started: started.clone(),
        finished: finished.clone(),
        exit,
        summary: summary.clone(),
    };
    if let Err(e) = last.save(home) {
        problems.push(format!("cannot record the sweep: {e}"));
    }
    Ok(Report {
        started,
        finished,
        elapsed_ms: started_at.elapsed().as_millis() as u64,
        exit,
        summary,
        hosts: host_results.into_iter().map(|r| r.check).collect(),
        backups,
        items,
        alerts: told,
        problems,
    })
}

/// "12 hosts (1 crit, 2 warn), 3 backups ok, 4 items (1 crit), 2 alerts".
pub fn summary_line(
    hosts: &[HostCheck],
    backups: &[BackupResult],
    items: &[Item],
    told: &Told,
) -> String {
    let counts = |v: &mut dyn Iterator<Item = Status>| {
        let mut c = [0usize; 4];
        for s in v {
            c[match s {
                Status::Ok => 0,
                Status::Warn => 1,
                Status::Crit => 2,
                Status::Unknown => 3,
            }] += 1;
        }
        let mut parts = Vec::new();
        for (i, w) in [(2, "crit"), (1, "warn"), (3, "unknown")] {
            if c[i] > 0 {
                parts.push(format!("{} {w}", c[i]));
            }
        }
        if parts.is_empty() {
            "ok".to_string()
        } else {
            parts.join(", ")
        }
    };
    let h = counts(&mut hosts.iter().map(|r| r.check.status));
    let b = counts(&mut backups.iter().map(|r| r.status));
    let ic = items.iter().filter(|i| i.level == Level::Crit).count();
    let mut s = format!(
        "{} ({h}), {} ({b}), {} ({ic} crit)",
        crate::util::plural(hosts.len(), "host", "hosts"),
        crate::util::plural(backups.len(), "backup", "backups"),
        crate::util::plural(items.len(), "item", "items"),
    );
    if !told.events.is_empty() {
        s.push_str(&format!(", {} alert changes", told.events.len()));
    }
    let failed = told.deliveries.iter().filter(|d| !d.ok).count();
    if failed > 0 {
        s.push_str(&format!(", {failed} channel(s) failed"));
    }
    if !told.muted.is_empty() {
        s.push_str(&format!(", {} host(s) in maintenance", told.muted.len()));
    }
    s
}
