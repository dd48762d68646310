//! Patching, once for the CLI and the TUI: plan (the native simulation of
//! the exact command, hosts in parallel), apply (`[patches] parallel` hosts
//! at once, each host journaled and re-checked right after its apply),
//! refresh (hosts in parallel, each journaled, the refreshed ones re-checked),
//! reboot (one host at a time, each waited for, journaled and re-checked
//! right after it is back; the first failure stops the rest). Also the
//! Nagios status of a host's updates and the order updates are shown in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::checks::HostCheck;
use crate::model::{Host, PatchReport, Status, Thresholds, Update};
use crate::patches::run::{self as prun, ApplyOptions, HostOutcome, HostPlan};
use crate::patches::{Event, RebootOptions, RebootStep};
use crate::ssh::{SshError, StreamKind};

use super::{Ctx, Sink};

/// What a patch task reports as it goes.
#[derive(Debug, Clone)]
pub enum PatchEvent {
    /// A host's plan is ready (planning: n of total).
    Planned {
        host: String,
        n: usize,
        total: usize,
    },
    /// An apply run's event (started, output line, note, finished, skipped).
    Apply(Event),
    /// A line of a refresh or a reboot.
    Log { host: String, line: String },
    /// A host's refresh or reboot ended.
    HostDone(HostDone),
    /// A host checked again right after its change (saved already).
    Rechecked(Box<HostCheck>),
}

/// A host's refresh or reboot.
#[derive(Debug, Clone)]
pub struct HostDone {
    pub host: String,
    /// What happened ("metadata refreshed", "rebooted, back after 42s"), or why not.
    pub result: Done,
    /// The SSH error behind a failure, as data (host keys are asked about from it).
    pub ssh_error: Option<SshError>,
}

/// How a host's refresh or reboot ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// Done: what happened.
    Ok(String),
    /// Tried and failed: why.
    Failed(String),
    /// Not tried (cancelled, or an earlier reboot failed): why.
    Skipped(String),
}

impl Done {
    pub fn is_ok(&self) -> bool {
        matches!(self, Done::Ok(_))
    }
    /// "metadata refreshed", "FAILED: …", "skipped: …": as both the CLI and
    /// the TUI say it.
    pub fn text(&self) -> String {
        match self {
            Done::Ok(t) => t.clone(),
            Done::Failed(e) => format!("FAILED: {e}"),
            Done::Skipped(why) => format!("skipped: {why}"),
        }
    }
}

impl From<Result<String, String>> for Done {
    fn from(r: Result<String, String>) -> Self {
        match r {
            Ok(t) => Done::Ok(t),
            Err(e) => Done::Failed(e),
        }
    }
}

/// A plan that could not be made.
#[derive(Debug, Clone)]
pub struct PlanFailed {
    pub message: String,
    pub ssh_error: Option<SshError>,
}

/// Plan every host (in parallel, `[ssh] concurrency` at once), in the order
/// of `hosts`.
pub fn plan(
    ctx: &Ctx,
    hosts: &[Host],
    security_only: bool,
    sink: &Sink<PatchEvent>,
) -> Vec<(Host, Result<HostPlan, PlanFailed>)> {
    let timeout = Duration::from_secs(ctx.store.settings.ssh.command_timeout_s.max(60));
    let total = hosts.len();
    let mut rx = ctx
        .engine
        .sweep(hosts.to_vec(), ctx.cancel.clone(), move |conn, host| {
            Ok(prun::plan_host(conn, host, security_only, Some(timeout)))
        });
    let mut got: Vec<(String, Result<HostPlan, PlanFailed>)> = Vec::new();
    while let Some(done) = rx.blocking_recv() {
        let r = match done.result {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(message)) => Err(PlanFailed {
                message,
                ssh_error: None,
            }),
            Err(e) => Err(PlanFailed {
                message: format!("{}: {e}", done.host),
                ssh_error: Some(e),
            }),
        };
        sink(PatchEvent::Planned {
            host: done.host.clone(),
            n: got.len() + 1,
            total,
        });
        got.push((done.host, r));
    }
    hosts
        .iter()
        .map(|h| {
            let r = match got.iter().position(|(n, _)| *n == h.name) {
                Some(i) => got.swap_remove(i).1,
                None => Err(PlanFailed {
                    message: format!("{}: no result (cancelled)", h.name),
                    ssh_error: Some(SshError::Cancelled),
                }),
            };
            (h.clone(), r)
        })
        .collect()
}

/// Bytes of a host's live patch log (each stream) before it is cut:
/// `[run] max_output`, the cap of every command's output the user watches.
fn live_cap(ctx: &Ctx) -> usize {
    usize::try_from(ctx.store.settings.run.max_output).unwrap_or(usize::MAX)
}

/// A host re-checked right after a change, reported through `sink`.
fn recheck_hook(ctx: &Ctx, sink: &Sink<PatchEvent>) -> prun::Recheck {
    let ctx = ctx.clone();
    let sink = sink.clone();
    Arc::new(move |host: &Host| -> Result<(), String> {
        let hc = super::check::recheck(&ctx, host);
        let error = hc.check.error.clone();
        sink(PatchEvent::Rechecked(Box::new(hc)));
        match error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

/// Apply the plans: `parallel` hosts at once (at least 1); the first failure
/// stops the hosts not started unless `keep_going`; `ctx.cancel` stops
/// between hosts (a host in progress finishes). Each host is journaled and
/// re-checked right after its apply.
pub fn apply(
    ctx: &Ctx,
    work: Vec<(Host, HostPlan)>,
    parallel: usize,
    keep_going: bool,
    sink: &Sink<PatchEvent>,
) -> Vec<HostOutcome> {
    let opts = ApplyOptions {
        parallel: parallel.max(1),
        keep_going,
        stream: prun::StreamOptions {
            timeout: Some(Duration::from_secs(
                ctx.store.settings.patches.apply_timeout_s,
            )),
            max_output: live_cap(ctx),
        },
        store: Some(ctx.store.clone()),
        recheck: Some(recheck_hook(ctx, sink)),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::scope(|s| {
        let engine = &ctx.engine;
        let cancel = ctx.cancel.clone();
        let opts = &opts;
        let handle = s.spawn(move || prun::apply_all(engine, work, opts, cancel, tx));
        while let Some(ev) = rx.blocking_recv() {
            sink(PatchEvent::Apply(ev));
        }
        handle.join().unwrap_or_default()
    })
}

/// Refresh the package metadata of `hosts` in parallel (`[ssh]
/// concurrency`), each journaled; then the refreshed ones are re-checked
/// (their pending list may have changed). Results in the order of `hosts`.
pub fn refresh(ctx: &Ctx, hosts: &[Host], sink: &Sink<PatchEvent>) -> Vec<HostDone> {
    let stream = prun::StreamOptions {
        timeout: Some(Duration::from_secs(
            ctx.store.settings.patches.apply_timeout_s.min(1800),
        )),
        max_output: live_cap(ctx),
    };
    let line_sink = sink.clone();
    let mut rx = ctx
        .engine
        .sweep(hosts.to_vec(), ctx.cancel.clone(), move |conn, host| {
            let started = Instant::now();
            let name = host.name.clone();
            let r = prun::refresh_host(conn, host, stream, &mut |kind, line| {
                let mark = if kind == StreamKind::Stderr { "! " } else { "" };
                line_sink(PatchEvent::Log {
                    host: name.clone(),
                    line: format!("{mark}{line}"),
                });
            });
            Ok((r, started.elapsed()))
        });
    let mut done: Vec<HostDone> = Vec::new();
    while let Some(d) = rx.blocking_recv() {
        let (result, took, ssh_error) = match d.result {
            Ok((r, took)) => (r, took, None),
            Err(e) => (Err(format!("{}: {e}", d.host)), d.elapsed, Some(e)),
        };
        if let Err(e) = ctx
            .store
            .journal(&prun::refresh_entry(&d.host, &result, took))
        {
            tracing::warn!("could not write the journal: {e}");
        }
        let hd = HostDone {
            host: d.host,
            result: result.map(|_| "metadata refreshed".to_string()).into(),
            ssh_error,
        };
        sink(PatchEvent::HostDone(hd.clone()));
        done.push(hd);
    }
    done.sort_by_key(|d| hosts.iter().position(|h| h.name == d.host));
    let refreshed: Vec<Host> = hosts
        .iter()
        .filter(|h| done.iter().any(|d| d.host == h.name && d.result.is_ok()))
        .cloned()
        .collect();
    if !refreshed.is_empty() {
        let target = refreshed
            .iter()
            .map(|h| h.name.clone())
            .collect::<Vec<_>>()
            .join(" ");
        let fresh = Ctx {
            cancel: Default::default(),
            ..ctx.clone()
        };
        let (checked, _) =
            super::check::sweep_and_save(&fresh, refreshed, "check", &target, |_, _, _| {});
        for hc in checked {
            sink(PatchEvent::Rechecked(Box::new(hc)));
        }
    }
    done
}

/// Reboot `hosts` one at a time: each is rebooted, waited for (a new boot
/// id within `[patches] reboot_wait_s`), journaled and re-checked right
/// after it is back. A host that does not come back stops the rest; so does
/// `ctx.cancel`. Results for every host, in order.
pub fn reboot(ctx: &Ctx, hosts: &[Host], sink: &Sink<PatchEvent>) -> Vec<HostDone> {
    let opts = RebootOptions {
        wait: Duration::from_secs(ctx.store.settings.patches.reboot_wait_s),
        ..RebootOptions::default()
    };
    let mut out: Vec<HostDone> = Vec::new();
    let mut stop: Option<String> = None;
    for host in hosts {
        if ctx.cancelled() && stop.is_none() {
            stop = Some("cancelled".into());
        }
        if let Some(why) = &stop {
            let hd = HostDone {
                host: host.name.clone(),
                result: Done::Skipped(why.clone()),
                ssh_error: None,
            };
            sink(PatchEvent::HostDone(hd.clone()));
            out.push(hd);
            continue;
        }
        let name = host.name.clone();
        let step_sink = sink.clone();
        let r = crate::util::catch_panic(|| {
            prun::reboot_host(&ctx.engine, host, &opts, &ctx.cancel, &mut |step| {
                let line = match step {
                    RebootStep::Issued => "reboot issued, waiting for it to come back".to_string(),
                    RebootStep::Waiting => "still waiting".to_string(),
                    RebootStep::Back { after } => format!("back after {}s", after.as_secs()),
                };
                step_sink(PatchEvent::Log {
                    host: name.clone(),
                    line,
                });
            })
        })
        .unwrap_or_else(Err);
        if let Err(e) = ctx.store.journal(&prun::reboot_entry(&host.name, &r)) {
            tracing::warn!("could not write the journal: {e}");
        }
        let result = match r {
            Ok(after) => {
                // re-checked right after it is back, before the next host
                let hc = super::check::recheck(ctx, host);
                let text = match &hc.check.error {
                    None => format!("rebooted, back after {}s, re-checked", after.as_secs()),
                    Some(e) => format!(
                        "rebooted, back after {}s; re-check failed: {e}",
                        after.as_secs()
                    ),
                };
                sink(PatchEvent::Rechecked(Box::new(hc)));
                Ok(text)
            }
            Err(e) => {
                stop = Some("an earlier reboot failed".into());
                Err(e)
            }
        };
        let hd = HostDone {
            host: host.name.clone(),
            result: result.into(),
            ssh_error: None,
        };
        sink(PatchEvent::HostDone(hd.clone()));
        out.push(hd);
    }
    out
}

/// Nagios status of one host's updates: security pending → `[thresholds]
/// security_updates` (crit), others → `updates` (warn); an unreachable host
/// is crit, a listing that failed on a reachable host unknown.
pub fn status(r: &PatchReport, reachable: bool, t: &Thresholds) -> Status {
    if r.error.is_some() {
        return if reachable {
            Status::Unknown
        } else {
            Status::Crit
        };
    }
    // Where the count is unknown, an update flagged security still counts.
    let security = r.security_pending().unwrap_or_else(|| {
        r.updates
            .iter()
            .filter(|u| u.security == Some(true))
            .count()
    });
    if security > 0 {
        Status::from(t.security_updates)
    } else if !r.updates.is_empty() {
        Status::from(t.updates)
    } else {
        Status::Ok
    }
}

/// Updates as they are shown: security first, then by package name.
pub fn ordered(updates: &[Update]) -> Vec<&Update> {
    let mut v: Vec<&Update> = updates.iter().collect();
    v.sort_by(|a, b| {
        (a.security != Some(true), &a.package).cmp(&(b.security != Some(true), &b.package))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::Done;

    #[test]
    fn a_skipped_host_is_said_as_skipped_in_both_front_ends() {
        let skipped = Done::Skipped("an earlier reboot failed".into());
        assert!(!skipped.is_ok());
        assert_eq!(skipped.text(), "skipped: an earlier reboot failed");
        let failed: Done = Err::<String, String>("no route to host".into()).into();
        assert_eq!(failed.text(), "FAILED: no route to host");
        let ok: Done = Ok::<String, String>("metadata refreshed".into()).into();
        assert!(ok.is_ok());
        assert_eq!(ok.text(), "metadata refreshed");
    }
}
