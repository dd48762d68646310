//! Executes the app's commands off the UI: store writes on one writer
//! thread (in order, with its own copy of the Store), jobs on blocking
//! threads or as tokio tasks. Everything reports back as [`Msg`].

use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc::UnboundedSender;

use crate::lifecycle::EolTable;
use crate::model::{BackupResult, CheckResult, PatchReport};
use crate::store::{StateKind, Store, StoreOp};
use crate::ui::app::Command;
use crate::ui::msg::{Msg, Results, ShellMsg};
use crate::ui::pane::{JobHandle, JobWork, PaneId};

enum WriterMsg {
    Op {
        pane: Option<PaneId>,
        what: String,
        op: StoreOp,
    },
    Reload,
}

pub struct Runner {
    tx: UnboundedSender<Msg>,
    writer: std_mpsc::Sender<WriterMsg>,
}

/// Latest results from state/ (an unreadable file is reported, not fatal).
pub fn load_results(store: &Store) -> Results {
    let mut r = Results::default();
    let checks = store.load_state::<CheckResult>(StateKind::Checks);
    let patches = store.load_state::<PatchReport>(StateKind::Patches);
    let backups = store.load_state::<BackupResult>(StateKind::Backups);
    match EolTable::load(&store.home) {
        Ok(t) => r.eol = Some(t),
        Err(e) => {
            r.eol = Some(EolTable::embedded());
            r.eol_error = Some(e.to_string());
        }
    }
    r.security_since = crate::overview::load_security_since(&store.home);
    let watch = crate::overview::load_watch(store);
    let security = store.load_state::<crate::overview::Item>(StateKind::Security);
    r.load_errors.extend(watch.problems);
    r.load_errors.extend(security.problems);
    r.watch = watch.items;
    r.watch.extend(security.items);
    let audit = store.load_state::<crate::audit::HostAudit>(StateKind::Audit);
    r.load_errors.extend(audit.problems);
    r.audit = audit
        .items
        .into_iter()
        .map(|a| (a.host.clone(), a))
        .collect();
    r.last_sweep = crate::watch::LastSweep::load(&store.home);
    r.schedule = crate::watch::schedule::load(&store.home);
    r.load_errors.extend(checks.problems);
    r.load_errors.extend(patches.problems);
    r.load_errors.extend(backups.problems);
    r.checks = checks
        .items
        .into_iter()
        .map(|c| (c.host.clone(), c))
        .collect();
    r.patches = patches
        .items
        .into_iter()
        .map(|c| (c.host.clone(), c))
        .collect();
    r.backups = backups
        .items
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    r
}

impl Runner {
    /// Start the writer thread with its own copy of the store.
    pub fn new(store: Store, tx: UnboundedSender<Msg>) -> Runner {
        let (wtx, wrx) = std_mpsc::channel::<WriterMsg>();
        let back = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                crate::ui::background_priority();
                let mut store = store;
                while let Ok(m) = wrx.recv() {
                    match m {
                        WriterMsg::Op { pane, what, op } => {
                            let result = match op(&mut store) {
                                Ok(text) => Ok((text, Box::new(store.clone()))),
                                Err(e) => {
                                    tracing::warn!("store write {what} failed: {e}");
                                    // the files are the truth: re-read after a failed write
                                    if let Ok(s) = Store::load(store.home.clone()) {
                                        store = s;
                                    }
                                    Err(e.to_string())
                                }
                            };
                            if back.send(Msg::Saved { pane, result }).is_err() {
                                break;
                            }
                        }
                        WriterMsg::Reload => {
                            let r = match Store::load(store.home.clone()) {
                                Ok(s) => {
                                    store = s;
                                    let results = load_results(&store);
                                    Ok((Box::new(store.clone()), Box::new(results)))
                                }
                                Err(e) => Err(e.to_string()),
                            };
                            let _ = back.send(Msg::Shell(ShellMsg::Reloaded(r)));
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the store writer: {e}");
        }
        Runner { tx, writer: wtx }
    }

    /// Run a command that needs no terminal. Suspend/Copy/Quit are the loop's.
    pub fn execute(&self, cmd: Command) {
        match cmd {
            Command::Store { pane, what, op } => {
                if self.writer.send(WriterMsg::Op { pane, what, op }).is_err() {
                    let _ = self.tx.send(Msg::Status(Err(
                        "the store writer stopped; restart opsdeck".into(),
                    )));
                }
            }
            Command::Reload => {
                let _ = self.writer.send(WriterMsg::Reload);
            }
            Command::Job {
                id,
                pane,
                job,
                cancel,
            } => {
                let handle = JobHandle {
                    id,
                    pane,
                    tx: self.tx.clone(),
                    cancel,
                };
                let tx = self.tx.clone();
                let what = job.what.clone();
                match job.work {
                    JobWork::Blocking(f) => {
                        let jh = tokio::task::spawn_blocking(move || f(handle));
                        tokio::spawn(async move {
                            if let Err(e) = jh.await {
                                tracing::error!("job {id} ({what}) failed: {e}");
                                let _ =
                                    tx.send(Msg::Status(Err(format!("job {what} failed: {e}"))));
                            }
                            let _ = tx.send(Msg::JobDone { job: id, pane });
                        });
                    }
                    JobWork::Async(f) => {
                        let jh = tokio::spawn(f(handle));
                        tokio::spawn(async move {
                            if let Err(e) = jh.await {
                                tracing::error!("job {id} ({what}) failed: {e}");
                                let _ =
                                    tx.send(Msg::Status(Err(format!("job {what} failed: {e}"))));
                            }
                            let _ = tx.send(Msg::JobDone { job: id, pane });
                        });
                    }
                }
            }
            Command::Suspend { .. } | Command::Edit { .. } | Command::Copy(_) | Command::Quit => {}
        }
    }
}
