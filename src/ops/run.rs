//! One command on many hosts (`opsdeck run`, the TUI's `r`): results as
//! each host ends, one journal entry for the run.

use std::time::Duration;

use crate::fleet::{self, HostRun};
use crate::model::Host;

use super::Ctx;

/// Run `command` (already quoted: `util::shell_join`) on `hosts`, calling
/// `on_each` with each result as it comes; journal the run as a run of
/// `target`. Results in the order of `hosts`. Blocking.
pub fn run(
    ctx: &Ctx,
    hosts: Vec<Host>,
    command: &str,
    timeout: Option<Duration>,
    target: &str,
    mut on_each: impl FnMut(&HostRun, usize, usize),
) -> Vec<HostRun> {
    let order: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let total = hosts.len();
    let max_output = usize::try_from(ctx.store.settings.run.max_output).ok();
    let mut rx = fleet::start(
        &ctx.engine,
        hosts,
        command.to_string(),
        timeout,
        max_output,
        ctx.cancel.clone(),
    );
    let mut results = Vec::with_capacity(total);
    while let Some(r) = rx.blocking_recv() {
        on_each(&r, results.len() + 1, total);
        results.push(r);
    }
    results.sort_by_key(|r| order.iter().position(|n| *n == r.host));
    if let Err(e) = ctx
        .store
        .journal(&fleet::journal_entry(command, target, &results))
    {
        tracing::error!("cannot write the journal: {e}");
    }
    results
}
