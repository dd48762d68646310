//! Every task once, for the command line and the TUI alike: the check
//! sweep, the backup check, patch plan / apply / refresh / reboot, the fleet
//! run, host-key acceptance. Each task runs blocking (the CLI calls it on
//! its main thread, the TUI in a blocking job), reports typed progress
//! through a [`Sink`] as it goes, writes its state and its journal entries,
//! and returns typed results. The CLI is argument parsing and printing over
//! these; the TUI's panes start them as jobs and show what they send.
//!
//! Policy lives here, once: what is re-checked after a change (each host
//! right after its own reboot or apply), what runs in parallel (plans,
//! refreshes: bounded by `[ssh] concurrency`; applies: `[patches] parallel`;
//! reboots: one at a time, the first failure stops the rest), what goes in
//! the journal. Below `cli/` and `ui/`, above the engine, the checks and
//! the store: nothing here imports either face.

use std::sync::Arc;

use crate::ssh::{CancelFlag, Engine};
use crate::store::Store;

pub mod audit;
pub mod backups;
pub mod check;
pub mod keys;
pub mod patch;
pub mod run;
pub mod sweep;

/// Where a task's progress goes: the CLI prints it, the TUI forwards it to
/// the pane that started the task. Called from the task's threads.
pub type Sink<E> = Arc<dyn Fn(E) + Send + Sync>;

/// A sink that drops everything (tests, callers that only want the result).
pub fn ignore<E>() -> Sink<E> {
    Arc::new(|_| {})
}

/// What every task needs: the files (and where state and the journal go),
/// the engine, and the flag that stops it between hosts.
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub engine: Engine,
    pub cancel: CancelFlag,
}

impl Ctx {
    pub fn new(store: Store, engine: Engine) -> Ctx {
        Ctx {
            store,
            engine,
            cancel: CancelFlag::default(),
        }
    }

    pub fn with_cancel(mut self, cancel: CancelFlag) -> Ctx {
        self.cancel = cancel;
        self
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The journal's target of a set of TARGET words: as given, or "all".
pub fn target_label(targets: &[String]) -> String {
    if targets.is_empty() {
        "all".into()
    } else {
        targets.join(" ")
    }
}
