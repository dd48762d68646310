//! The watch: what `opsdeck sweep` keeps and tells between the checks.
//! History of samples ([`history`]), forecasts and anomalies from it
//! ([`forecast`]), alert decisions on change ([`alerts`]), the channels
//! that tell ([`channels`]), maintenance windows ([`maintenance`]), the
//! one-sweep-at-a-time lock ([`lock`]), the timer that runs it
//! ([`schedule`]) and the record of the last sweep ([`LastSweep`]).
//! The sweep itself (checks, backups, items, journal) is `ops::sweep`;
//! nothing here imports `cli` or `ui`. Decisions: docs/decisions/watch.md.

use serde::{Deserialize, Serialize};

use crate::model::{Host, Settings};
use crate::overview::Item;
use crate::store::{Home, StoreError};

pub mod alerts;
pub mod channels;
pub mod forecast;
pub mod history;
pub mod lock;
pub mod maintenance;
pub mod schedule;

/// `state/sweep.json`: the last sweep, for `schedule status` and the TUI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastSweep {
    /// RFC 3339 UTC.
    pub started: String,
    pub finished: String,
    /// Nagios exit status of the sweep (0 ok, 1 warn, 2 crit, 3 unknown).
    pub exit: i32,
    /// One line: "12 hosts (1 crit), 3 backups ok, 4 items, 2 alerts sent".
    pub summary: String,
}

pub fn last_sweep_path(home: &Home) -> std::path::PathBuf {
    home.state_dir.join("sweep.json")
}

impl LastSweep {
    pub fn load(home: &Home) -> Option<LastSweep> {
        let b = std::fs::read(last_sweep_path(home)).ok()?;
        serde_json::from_slice(&b).ok()
    }

    pub fn save(&self, home: &Home) -> Result<(), StoreError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Io {
            path: last_sweep_path(home),
            message: e.to_string(),
        })?;
        crate::store::write::write_atomic(&last_sweep_path(home), &text)
    }
}

/// What the alert pass of a sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Told {
    pub events: Vec<alerts::Event>,
    pub deliveries: Vec<channels::Delivery>,
    /// Hosts in a maintenance window now (name, reason).
    pub muted: Vec<(String, String)>,
    pub digest: bool,
    /// Channels that failed at the sweep before (carried once).
    pub earlier_failures: Vec<String>,
    pub problems: Vec<String>,
}

/// The host an item is about: its key on host panes, the job's host on
/// the Backups pane, none for vendors.
pub fn host_of(item: &Item, settings_hosts: &[Host], jobs: &[crate::model::BackupJob]) -> String {
    use crate::model::PaneId;
    match item.target.pane {
        PaneId::HOSTS | PaneId::PATCHES => item.target.key.clone(),
        PaneId::BACKUPS => jobs
            .iter()
            .find(|j| j.name == item.target.key)
            .map(|j| j.host.clone())
            .unwrap_or_default(),
        _ => {
            if settings_hosts.iter().any(|h| h.name == item.target.key) {
                item.target.key.clone()
            } else {
                String::new()
            }
        }
    }
}

/// Compare `items` with what was told, tell what changed (and the digest
/// when due), keep the new state. Never fails: problems are returned.
pub fn tell_changes(
    home: &Home,
    settings: &Settings,
    hosts: &[Host],
    jobs: &[crate::model::BackupJob],
    items: &[Item],
    now: jiff::Timestamp,
) -> Told {
    let mut told = Told::default();
    let muted = maintenance::Muted::compute(&settings.maintenance, hosts, now);
    let (prev, problem) = alerts::AlertState::load(home);
    told.problems.extend(problem);
    told.earlier_failures = prev.failures.clone();
    let now_s = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (events, mut next) = alerts::decide(
        &prev,
        items,
        |i| host_of(i, hosts, jobs),
        |h| muted.contains(h),
        &now_s,
    );
    let cfg = &settings.alerts;
    // digest mode: only changes to critical go at once
    let immediate: Vec<alerts::Event> = match &cfg.digest {
        Some(_) => events
            .iter()
            .filter(|e| e.status == "crit" && e.event != alerts::Kind::Cleared)
            .cloned()
            .collect(),
        None => events.clone(),
    };
    told.deliveries = channels::tell(cfg, &immediate, alerts::Kind::New);
    if let Some(at) = cfg
        .digest
        .as_deref()
        .and_then(|d| maintenance::hhmm(d).ok())
    {
        let local = now.to_zoned(jiff::tz::TimeZone::system());
        let today = local.date().to_string();
        if local.time() >= at && next.last_digest.as_deref() != Some(today.as_str()) {
            let list = alerts::digest(&next, |h| muted.contains(h));
            told.deliveries
                .extend(channels::tell(cfg, &list, alerts::Kind::Digest));
            next.last_digest = Some(today);
            told.digest = true;
        }
    }
    next.failures = told
        .deliveries
        .iter()
        .filter(|d| !d.ok)
        .map(|d| format!("{}: {}", d.channel, d.error.as_deref().unwrap_or("failed")))
        .collect();
    if let Err(e) = next.save(home) {
        told.problems
            .push(format!("cannot keep the alert state: {e}"));
    }
    told.events = events;
    told.muted = muted.hosts;
    told
}
