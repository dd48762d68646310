//! The shell's check sweep (`c`/`C` in any pane, the re-checks panes ask
//! for, a retry after a host key): one sweep at a time, hosts asked for
//! meanwhile queued right after it; results fill the rows as they come; the
//! whole sweep is saved and journaled once when it ends (through the
//! store's writer, `ops::check::save`). The task itself is
//! `ops::check::sweep`, the same as `opsdeck check`'s.

use crate::checks::HostCheck;
use crate::model::Host;
use crate::store::{Store, StoreOp};
use crate::ui::msg::{JobId, Msg, ShellMsg};
use crate::ui::pane::Job;

#[derive(Default)]
pub struct Sweep {
    /// The running sweep's job.
    job: Option<JobId>,
    /// Hosts to check as soon as it ends.
    queue: Vec<String>,
    /// Its results so far (saved when it ends).
    done: Vec<HostCheck>,
    /// The journal's target ("all" or the names).
    target: String,
    total: usize,
}

/// What became of a request to check hosts.
pub enum Start {
    /// A sweep runs: these many hosts now wait for it.
    Queued(usize),
    /// Nothing known to check.
    NoHost,
    /// Start this job (the shell spawns it and tells [`Sweep::started`]).
    Run { job: Job, hosts: Vec<String> },
}

impl Sweep {
    pub fn job(&self) -> Option<JobId> {
        self.job
    }

    /// Check `names` (unknown names are left out): a job, or queued after
    /// the running sweep.
    pub fn request(&mut self, names: Vec<String>, store: &Store, ctx: crate::ops::Ctx) -> Start {
        if self.job.is_some() {
            for n in names {
                if store.host(&n).is_some() && !self.queue.contains(&n) {
                    self.queue.push(n);
                }
            }
            return Start::Queued(self.queue.len());
        }
        let hosts: Vec<Host> = names
            .iter()
            .filter_map(|n| store.host(n).cloned())
            .collect();
        if hosts.is_empty() {
            return Start::NoHost;
        }
        self.target = if names.len() == store.hosts.len() && names.len() > 1 {
            "all".into()
        } else {
            names.join(" ")
        };
        self.done.clear();
        self.total = hosts.len();
        let listed = hosts.iter().map(|h| h.name.clone()).collect();
        let job = Job::blocking(
            None,
            format!(
                "check {}",
                crate::util::plural(hosts.len(), "host", "hosts")
            ),
            move |jh| {
                let ctx = ctx.with_cancel(jh.cancel_flag());
                // the progress is counted where the rows are filled
                // (`checked`); the results are saved once, by `finish`
                crate::ops::check::sweep(&ctx, hosts, |hc, _, _| {
                    let _ = jh
                        .tx
                        .send(Msg::Shell(ShellMsg::Checked(Box::new(hc.clone()))));
                });
            },
        );
        Start::Run { job, hosts: listed }
    }

    /// The job of [`Start::Run`] was spawned.
    pub fn started(&mut self, id: JobId) {
        self.job = Some(id);
    }

    /// The progress to show when it starts.
    pub fn progress(&self) -> String {
        format!("{}/{}", self.done.len(), self.total)
    }

    /// A result came: kept for the save; the progress to show ("12/40").
    pub fn checked(&mut self, hc: HostCheck) -> String {
        self.done.push(hc);
        self.progress()
    }

    /// The sweep's job ended: the write that saves and journals it (None:
    /// nothing was checked) with its summary, and the hosts queued meanwhile.
    pub fn finish(&mut self) -> (Option<(StoreOp, String)>, Vec<String>) {
        self.job = None;
        let done = std::mem::take(&mut self.done);
        let queued = std::mem::take(&mut self.queue);
        if done.is_empty() {
            return (None, queued);
        }
        let summary = crate::checks::summary(&done);
        let target = self.target.clone();
        let line = summary.clone();
        let op: StoreOp = Box::new(move |store: &mut Store| {
            crate::ops::check::save(store, &done, "check", &target)?;
            Ok(format!("{summary} (saved)"))
        });
        (Some((op, line)), queued)
    }
}
