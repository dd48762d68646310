//! The health check of hosts (one probe per host; `check`, `patches`, the
//! TUI's `c`/`C`, the re-check after a change, the watch's sweep): run it,
//! keep the results in state/, journal it once, and track since when
//! security updates are pending.

use crate::checks::{self, HostCheck};
use crate::model::Host;
use crate::store::{Store, StoreError};

use super::Ctx;

/// Check `hosts` (at most `[ssh] concurrency` at once; `ctx.cancel` stops
/// the hosts not started), calling `on_each` with each result as it comes
/// and its count. Returns the results in the order of `hosts`. Blocking.
pub fn sweep(
    ctx: &Ctx,
    hosts: Vec<Host>,
    mut on_each: impl FnMut(&HostCheck, usize, usize),
) -> Vec<HostCheck> {
    let order: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let total = hosts.len();
    let mut rx = checks::sweep(&ctx.store, &ctx.engine, hosts, ctx.cancel.clone());
    let mut done = Vec::with_capacity(total);
    while let Some(hc) = rx.blocking_recv() {
        on_each(&hc, done.len() + 1, total);
        done.push(hc);
    }
    done.sort_by_key(|r| order.iter().position(|n| *n == r.check.host));
    done
}

/// Keep a sweep's results: state (merged by host), one journal entry as
/// `action` (`check`, `patches`) of `target`, and when security updates
/// were first seen pending (derived data: a failure there costs precision,
/// not the check).
pub fn save(
    store: &Store,
    results: &[HostCheck],
    action: &str,
    target: &str,
) -> Result<(), StoreError> {
    let (checks, patches) = checks::save_as(store, results, action, target)?;
    if let Err(e) = crate::overview::record_security_seen(store, &checks, &patches) {
        tracing::warn!("cannot record when security updates were first seen: {e}");
    }
    Ok(())
}

/// Keep a sweep's results in state (and the security first-seen records)
/// without a journal entry: for a larger task that journals once itself.
pub fn keep(store: &Store, results: &[HostCheck]) -> Result<(), StoreError> {
    let (checks, patches) = checks::keep(store, results)?;
    if let Err(e) = crate::overview::record_security_seen(store, &checks, &patches) {
        tracing::warn!("cannot record when security updates were first seen: {e}");
    }
    Ok(())
}

/// [`sweep`] then [`save`]; a failure to save is logged and returned with
/// the results (they were checked all the same).
pub fn sweep_and_save(
    ctx: &Ctx,
    hosts: Vec<Host>,
    action: &str,
    target: &str,
    on_each: impl FnMut(&HostCheck, usize, usize),
) -> (Vec<HostCheck>, Result<(), StoreError>) {
    let results = sweep(ctx, hosts, on_each);
    let saved = save(&ctx.store, &results, action, target);
    if let Err(e) = &saved {
        tracing::error!("cannot save the results: {e}");
    }
    (results, saved)
}

/// Check one host right after a change to it (apply, refresh, reboot),
/// saved and journaled as a check of that host.
pub fn recheck(ctx: &Ctx, host: &Host) -> HostCheck {
    let fresh = Ctx {
        cancel: Default::default(),
        ..ctx.clone()
    };
    let (mut results, _) = sweep_and_save(
        &fresh,
        vec![host.clone()],
        "check",
        &host.name,
        |_, _, _| {},
    );
    results.pop().unwrap_or_else(|| {
        checks::assemble(
            &host.name,
            Err(crate::ssh::SshError::Cancelled),
            Default::default(),
            None,
            &ctx.store.settings.thresholds,
        )
    })
}
