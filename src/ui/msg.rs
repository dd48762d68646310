//! The vocabulary of the TUI: every message between the event loop, the
//! runner, the jobs and the panes, as types. Nothing is routed by text and
//! nothing travels as `dyn Any`:
//!
//! - [`Msg`]: what the runner and jobs send to the loop; [`ShellMsg`]: the
//!   shell's own jobs (sweep, host keys, runs, ssh, editor, reloads);
//!   [`JobMsg`]: what a pane's job sends back to that pane (one variant per
//!   pane that runs jobs).
//! - [`Request`]: what a question, a form or a host-key retry is about; the
//!   pane that asked gets it back with the answer
//!   (`PaneEvent::Confirmed(Request)`, `FormSubmitted { req, .. }`).
//! - [`Results`] / [`ResultsUpdate`]: the latest results every pane draws from.
//!
//! Below `pane.rs`, `app.rs` and the panes (they all import it); it imports
//! none of them.

use std::collections::{BTreeMap, BTreeSet};

use crate::backups::run::JobDone;
use crate::checks::HostCheck;
use crate::fleet::HostRun;
use crate::lifecycle::EolTable;
use crate::model::{BackupResult, CheckResult, Host, PaneId, PatchReport};
use crate::ops::patch::{PatchEvent, PlanFailed};
use crate::overview::{Overview, SecuritySince};
use crate::patches::run::HostPlan;
use crate::ssh::UnknownKey;
use crate::store::Store;
use crate::ui::editor::Request as EditRequest;

/// What a question (confirm dialog), a form or a retry after a host key
/// was recorded is about. Given with the effect that asks; handed back to
/// the pane (or the shell) that asked, with the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    // the shell's own
    /// Quit while jobs run.
    Quit,
    /// Run a command that matched a dangerous pattern.
    RunDangerous,
    /// Edit again after the editor's text did not pass.
    EditAgain,
    /// The host-key question.
    HostKeys,
    // Hosts
    AddHost,
    EditHost(String),
    DeleteHost(String),
    // Patches
    /// Apply the plans waiting for the answer.
    Apply,
    /// Plan again (after a host key was recorded).
    Plan {
        security_only: bool,
    },
    Refresh,
    Reboot,
    // Backups
    AddBackup,
    EditBackup(String),
    DeleteBackup(String),
    /// Record a restore test of the job today.
    RestoreTested(String),
    /// Check the job again (after a host key was recorded).
    CheckBackup(String),
    // Security
    /// Remove this key (its fingerprint) everywhere the audit found it.
    RevokeKey(String),
    // Vendors: a vendor by name, its contacts and tickets by index
    AddVendor,
    EditVendor(String),
    DeleteVendor(String),
    AddContact(String),
    EditContact(String, usize),
    DeleteContact(String, usize),
    AddTicket(String),
    EditTicket(String, usize),
    DeleteTicket(String, usize),
    CloseTicket(String, usize),
    ReopenTicket(String, usize),
}

/// What a pane's job sends to that pane (`PaneEvent::JobMsg`).
#[derive(Debug)]
pub enum JobMsg {
    Patches(PatchMsg),
    Backups(BackupMsg),
    Overview(Box<OverviewDone>),
}

impl From<PatchMsg> for JobMsg {
    fn from(m: PatchMsg) -> JobMsg {
        JobMsg::Patches(m)
    }
}

impl From<BackupMsg> for JobMsg {
    fn from(m: BackupMsg) -> JobMsg {
        JobMsg::Backups(m)
    }
}

/// The Overview computed off the UI thread.
#[derive(Debug)]
pub struct OverviewDone {
    pub ov: Overview,
    pub security_since: Vec<SecuritySince>,
    pub now: jiff::Timestamp,
}

/// Messages of the Patches pane's jobs.
#[derive(Debug)]
pub enum PatchMsg {
    /// The plans of a `u`/`U`, in target order.
    Planned {
        security_only: bool,
        plans: Vec<(Host, Result<HostPlan, PlanFailed>)>,
    },
    /// What an apply, refresh or reboot task reports as it goes.
    Event(Box<PatchEvent>),
}

/// Messages of the Backups pane's check job.
#[derive(Debug, Clone)]
pub enum BackupMsg {
    Started(Vec<String>),
    Done(Box<JobDone>),
}

/// Latest results: state/ at start-up, then merged with live results.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// By host name.
    pub checks: BTreeMap<String, CheckResult>,
    /// By host name.
    pub patches: BTreeMap<String, PatchReport>,
    /// By backup job name.
    pub backups: BTreeMap<String, BackupResult>,
    /// Hosts a check is running for right now.
    pub checking: BTreeSet<String>,
    /// Why a state file could not be read (shown, never fatal).
    pub load_errors: Vec<String>,
    /// state/ is still being read (at start-up, after the first frame).
    pub loading: bool,
    /// Where hosts without an `address` in hosts.toml really are, as `ssh
    /// -G NAME` resolves them (resolved in the background at start-up and
    /// when hosts are added): "10.0.0.5" or "10.0.0.5:2222".
    pub addresses: BTreeMap<String, String>,
    /// The OS end-of-life table (built in + the user's os-eol.toml), read
    /// with state/ (None: not read yet).
    pub eol: Option<EolTable>,
    /// Why the user's os-eol.toml could not be read (the built-in table is used).
    pub eol_error: Option<String>,
    /// Since when security updates are pending, per host (state/).
    pub security_since: Vec<SecuritySince>,
    /// The watch's forecasts and anomalies of the last sweep (state/).
    pub watch: Vec<crate::overview::Item>,
    /// Each host's filesystems over the last 30 days (the watch's history,
    /// squeezed to a sparkline's points).
    pub history: BTreeMap<String, crate::watch::history::DiskSeries>,
    /// The security audit, by host (state/audit.toml).
    pub audit: BTreeMap<String, crate::audit::HostAudit>,
    /// The last sweep, and how sweeps are scheduled.
    pub last_sweep: Option<crate::watch::LastSweep>,
    pub schedule: Option<crate::watch::schedule::Schedule>,
}

impl Results {
    /// The address to show and copy: hosts.toml's, else the resolved one
    /// (None: not resolved yet, or `ssh -G` failed).
    pub fn address_of<'a>(&'a self, host: &'a crate::model::Host) -> Option<&'a str> {
        host.address
            .as_deref()
            .or_else(|| self.addresses.get(&host.name).map(String::as_str))
    }
}

/// An update of [`Results`] a pane or job publishes (all panes refresh).
#[derive(Debug, Clone)]
pub enum ResultsUpdate {
    Checks(Vec<CheckResult>),
    Patches(Vec<PatchReport>),
    Backups(Vec<BackupResult>),
    Audit(Vec<crate::audit::HostAudit>),
}

impl Results {
    pub fn merge(&mut self, update: ResultsUpdate) {
        match update {
            ResultsUpdate::Checks(v) => {
                for mut c in v {
                    // unreachable now: the last known facts stay, marked stale
                    if let Some(prev) = self.checks.get(&c.host) {
                        c.keep_last_known(prev);
                    }
                    self.checks.insert(c.host.clone(), c);
                }
            }
            ResultsUpdate::Patches(v) => {
                for p in v {
                    self.patches.insert(p.host.clone(), p);
                }
            }
            ResultsUpdate::Backups(v) => {
                for b in v {
                    self.backups.insert(b.name.clone(), b);
                }
            }
            ResultsUpdate::Audit(v) => {
                for a in v {
                    self.audit.insert(a.host.clone(), a);
                }
            }
        }
    }
}

/// Id of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl JobId {
    /// A new id, unique in this process (jobs are numbered from 1 as they
    /// are made).
    pub fn fresh() -> JobId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        JobId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Messages the runner and jobs send to the app loop.
pub enum Msg {
    /// To the pane that started the job.
    Job {
        job: JobId,
        pane: Option<PaneId>,
        msg: JobMsg,
    },
    Progress {
        job: JobId,
        text: String,
    },
    JobDone {
        job: JobId,
        pane: Option<PaneId>,
    },
    /// A store write finished: the writer's copy of the store after it.
    Saved {
        pane: Option<PaneId>,
        result: Result<(String, Box<Store>), String>,
    },
    /// Results to merge (from jobs or the check sweep).
    Results(ResultsUpdate),
    /// Status line text (Ok) or error (Err).
    Status(Result<String, String>),
    /// Internal messages of the shell (check sweep, run view, ssh).
    Shell(ShellMsg),
}

impl Msg {
    /// What it is, for the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Job { .. } => "job",
            Msg::Progress { .. } => "progress",
            Msg::JobDone { .. } => "job done",
            Msg::Saved { .. } => "saved",
            Msg::Results(_) => "results",
            Msg::Status(_) => "status",
            Msg::Shell(_) => "shell",
        }
    }
}

/// Messages of the shell's own jobs.
pub enum ShellMsg {
    Checked(Box<HostCheck>),
    SweepSaved(Result<String, String>),
    /// The key a host presented that known_hosts does not know.
    UnknownKey {
        host: String,
        key: UnknownKey,
    },
    KeyAccepted {
        host: String,
        result: Result<(), String>,
    },
    RunResult {
        run: u64,
        result: Box<HostRun>,
    },
    /// A run (or a retry of it on some hosts) ended and was journaled:
    /// its summary line.
    RunDone {
        run: u64,
        line: String,
    },
    /// ssh returned (exit status, None: killed / could not start: message).
    SshDone {
        host: String,
        result: Result<Option<i32>, String>,
    },
    Reloaded(Result<(Box<Store>, Box<Results>), String>),
    /// Hosts resolved through the SSH config (name, address).
    Resolved(Vec<(String, String)>),
    /// The editor returned: the text of the temp file (Err: the editor
    /// could not run, failed, or the file could not be read).
    Edited {
        req: EditRequest,
        result: Result<String, String>,
    },
    /// state/ read at start-up (after the first frame).
    ResultsLoaded(Box<Results>),
    /// The watch's history, read after the results (it may be large).
    HistoryLoaded(Box<BTreeMap<String, crate::watch::history::DiskSeries>>),
}
