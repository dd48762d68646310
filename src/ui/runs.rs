//! The fleet run controller of the TUI (`r`): the prompt's history, run
//! ids, the dangerous-command rule, and the background job that runs
//! `ops::run` (the same task as `opsdeck run`, journaled there) and sends
//! each host's result to the run's view as it ends.

use crate::model::Host;
use crate::ops::Ctx as OpsCtx;
use crate::ui::msg::{Msg, ShellMsg};
use crate::ui::pane::Job;

/// Commands run this session (newest last, no repeats) and the next run id.
#[derive(Debug)]
pub struct Runs {
    history: Vec<String>,
    next: u64,
}

impl Default for Runs {
    fn default() -> Self {
        Runs {
            history: Vec::new(),
            next: 1,
        }
    }
}

impl Runs {
    /// The prompt's history (↑ walks it back).
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// `cmd` was submitted: it becomes the newest entry of the history.
    pub fn remember(&mut self, cmd: &str) {
        self.history.retain(|c| c != cmd);
        self.history.push(cmd.to_string());
    }

    /// A new run's id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += 1;
        id
    }
}

/// The job of run `run`: `command` on `hosts` through `ops::run`, each
/// result as `ShellMsg::RunResult`, then `ShellMsg::RunDone`.
pub fn job(ctx: OpsCtx, run: u64, command: String, hosts: Vec<Host>) -> Job {
    let n = hosts.len();
    Job::blocking(
        None,
        format!(
            "run `{command}` on {}",
            crate::util::plural(n, "host", "hosts")
        ),
        move |jh| {
            let ctx = ctx.with_cancel(jh.cancel_flag());
            let target = hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let results = crate::ops::run::run(&ctx, hosts, &command, None, &target, |r, i, n| {
                jh.progress(format!("{i}/{n}"));
                let _ = jh.tx.send(Msg::Shell(ShellMsg::RunResult {
                    run,
                    result: Box::new(r.clone()),
                }));
            });
            let line = crate::fleet::Summary::of(&results).line();
            let _ = jh.tx.send(Msg::Shell(ShellMsg::RunDone { run, line }));
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_one_of_each_newest_last_and_ids_grow() {
        let mut r = Runs::default();
        r.remember("uptime");
        r.remember("df -h");
        r.remember("uptime");
        assert_eq!(r.history(), ["df -h", "uptime"]);
        assert_eq!(r.next_id(), 1);
        assert_eq!(r.next_id(), 2);
    }
}
