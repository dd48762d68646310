//! The watch: what `opsdeck sweep` keeps and tells between the times the
//! user looks. `history` (compact samples per host and backup job, bounded
//! retention), `forecast` (disks filling up, backups and load far from
//! their usual: Overview items), `alerts` (changes of the open items, once
//! each; maintenance windows; the daily digest), `notify` (webhooks, mail,
//! the dead man's ping, with retries), `http` and `mail` (their small
//! clients), `schedule` (systemd user timer or crontab). The sweep itself,
//! which ties them to the checks, is `ops::sweep`. Decisions:
//! docs/decisions/watch.md.
//!
//! Below `ops/` and above the store and the Overview: nothing here imports
//! `cli/` or `ui/`.

pub mod alerts;
pub mod forecast;
pub mod history;
pub mod http;
pub mod mail;
pub mod notify;
pub mod schedule;

use serde::{Deserialize, Serialize};

use crate::store::Home;

/// What the last sweep did (`state/sweep-last.toml`): for `schedule
/// status`, the TUI's "last sweep N min ago" and the overdue warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastSweep {
    /// RFC 3339: when it started.
    pub at: String,
    pub took_ms: u64,
    /// "ok", "warn", "crit", "unknown".
    pub status: String,
    pub summary: String,
}

impl LastSweep {
    fn path(home: &Home) -> std::path::PathBuf {
        home.state_dir.join("sweep-last.toml")
    }
    pub fn load(home: &Home) -> Option<LastSweep> {
        toml::from_str(&std::fs::read_to_string(Self::path(home)).ok()?).ok()
    }
    pub fn save(&self, home: &Home) -> Result<(), crate::store::StoreError> {
        let text = toml::to_string(self).unwrap_or_default();
        crate::store::write_output_file(&Self::path(home), text.as_bytes())
    }
}
