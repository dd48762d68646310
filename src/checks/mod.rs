//! Host health: the probe script (embedded), pure parsers per section, the
//! rules that turn facts into a status, and the sweep shared by `check`,
//! `patches` and the TUI.
//!
//! One connection and one round trip per host: the probe ([`PROBE`]) is sent
//! on stdin of `sh -s -- STAMP` (the probe sets LC_ALL=C itself) (nothing of it in `ps`, no
//! length limit), STAMP being the package stamp kept in state/patches.toml
//! from the previous check. When the host's stamp is unchanged the probe
//! skips the expensive update listing and the previous list is reused.
//!
//! The task around it (sweep, save, journal, what is derived) is
//! `ops::check`, shared by the CLI, the TUI and the watch:
//! ```no_run
//! # fn demo(store: opsdeck::store::Store, engine: opsdeck::ssh::Engine) {
//! let ctx = opsdeck::ops::Ctx::new(store.clone(), engine);
//! let (done, _saved) = opsdeck::ops::check::sweep_and_save(
//!     &ctx, store.hosts.clone(), "check", "all", |_hc, _n, _total| {});
//! // done[i].check: the `check --json` object; .patches: the `patches --json` one
//! # }
//! ```

pub mod family;
pub mod listing;
pub mod parse;
pub mod rules;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::{CheckResult, Facts, Host, PatchReport, Status, Thresholds, UpdateCounts};
use crate::ssh::{CancelFlag, Engine, ExecOptions, ExecOutput, SshError};
use crate::store::{JournalEntry, StateKind, Store, StoreError};
use crate::util::{now_rfc3339, sanitize, shell_quote};

use parse::{ParseError, UpdatesState};

/// The probe: one POSIX sh script (dash, bash, busybox ash).
pub static PROBE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let families: String = family::FAMILIES.iter().map(|f| f.probe).collect();
    let (stamp, listing) = crate::pm::probe_arms();
    include_str!("probe.sh")
        .replacen("# @@families@@\n", &families, 1)
        .replacen("# @@pm-stamp@@\n", &stamp, 1)
        .replacen("# @@pm-listing@@\n", &listing, 1)
});

/// The remote command line that runs the probe read from stdin.
pub fn probe_command(stamp: Option<&str>) -> String {
    format!("sh -s -- {}", shell_quote(stamp.unwrap_or("")))
}

/// One host's outcome: the check result and the update list, as the
/// `check --json` and `patches --json` objects.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCheck {
    pub check: CheckResult,
    pub patches: PatchReport,
    /// CPU the probe used on the host (shell and its children), ms; None
    /// when it did not run or did not say.
    pub remote_cpu_ms: Option<u64>,
    /// The update listing ran on the host this time (false: cache reused or failed early).
    pub listing_ran: bool,
    /// The SSH error that kept the check from running, as data (an unknown
    /// or changed host key is recognised from it, never from its words).
    pub ssh_error: Option<SshError>,
}

/// What the previous check left for a host: the cache the probe's stamp keys.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    pub patches: Option<PatchReport>,
    pub counts: Option<UpdateCounts>,
}

impl Previous {
    /// The stamp to pass: only when the previous listing succeeded and its counts were kept.
    pub fn stamp(&self) -> Option<&str> {
        let p = self.patches.as_ref()?;
        if p.error.is_some() || self.counts.as_ref()?.pending.is_none() {
            return None;
        }
        p.pkg_stamp.as_deref()
    }
}

/// Load the previous results of every host (missing or unreadable state: empty).
pub fn load_previous(store: &Store) -> HashMap<String, Previous> {
    let mut map: HashMap<String, Previous> = HashMap::new();
    for p in store.load_state::<PatchReport>(StateKind::Patches).items {
        let h = p.host.clone();
        map.entry(h).or_default().patches = Some(p);
    }
    for c in store.load_state::<CheckResult>(StateKind::Checks).items {
        let h = c.host.clone();
        let counts = c.facts.and_then(|f| f.updates);
        map.entry(h).or_default().counts = counts;
    }
    map
}

fn error_result(
    host: &str,
    status: Status,
    error: String,
    elapsed: Duration,
    ssh_error: Option<SshError>,
) -> HostCheck {
    let at = now_rfc3339();
    HostCheck {
        check: CheckResult {
            host: host.to_string(),
            status,
            error: Some(error.clone()),
            reasons: vec![if status == Status::Crit {
                "unreachable".to_string()
            } else {
                "check failed".to_string()
            }],
            elapsed_ms: elapsed.as_millis() as u64,
            checked_at: at.clone(),
            facts: None,
            last_known: None,
        },
        patches: PatchReport {
            host: host.to_string(),
            error: Some(error),
            checked_at: Some(at),
            ..Default::default()
        },
        remote_cpu_ms: None,
        listing_ran: false,
        ssh_error,
    }
}

/// Turn one host's SSH outcome into its result (pure apart from the clock).
pub fn assemble(
    host: &str,
    outcome: Result<ExecOutput, SshError>,
    elapsed: Duration,
    prev: Option<&Previous>,
    thresholds: &Thresholds,
) -> HostCheck {
    let out = match outcome {
        Ok(o) => o,
        Err(SshError::Cancelled) => {
            return error_result(
                host,
                Status::Unknown,
                "cancelled".into(),
                elapsed,
                Some(SshError::Cancelled),
            )
        }
        // it reached the host, then opsdeck or the connection failed: the
        // host's state is unknown, not "unreachable"
        Err(e @ (SshError::Internal(_) | SshError::LostAfterStart(_))) => {
            return error_result(host, Status::Unknown, e.to_string(), elapsed, Some(e))
        }
        Err(e) => return error_result(host, Status::Crit, e.to_string(), elapsed, Some(e)),
    };
    let text = sanitize(&out.stdout);
    let report = match parse::parse_probe(&text) {
        Ok(r) => r,
        Err(pe) => {
            let mut msg = pe.to_string();
            let err = sanitize(&out.stderr);
            let err = err.trim();
            if !err.is_empty() {
                let tail: String = err.chars().take(300).collect();
                msg.push_str(&format!(" (stderr: {tail})"));
            }
            if let Some(s) = out.exit_signal.as_deref() {
                msg.push_str(&format!(" (killed by signal {s})"));
            }
            return error_result(host, Status::Unknown, msg, elapsed, None);
        }
    };
    let at = now_rfc3339();
    let mut facts: Facts = report.facts.clone();
    let mut patches = PatchReport {
        host: host.to_string(),
        package_manager: facts.package_manager.clone(),
        metadata_age_s: facts.metadata_age_s,
        checked_at: Some(at.clone()),
        ..Default::default()
    };
    let mut listing_error: Option<String> = None;
    let mut listing_ran = false;
    match report.updates {
        UpdatesState::NoManager => {}
        UpdatesState::Unchanged => {
            match prev.and_then(|p| p.patches.as_ref().zip(p.counts.as_ref())) {
                Some((p, counts)) => {
                    patches.updates = p.updates.clone();
                    patches.kept_back = p.kept_back.clone();
                    patches.security_count = p.security_count;
                    patches.pkg_stamp = report.stamp.clone();
                    facts.updates = Some(counts.clone());
                    if report.reboot_deferred {
                        facts.reboot_required = p.reboot_required;
                    }
                }
                None => {
                    let e = "the probe reused a listing opsdeck does not have".to_string();
                    listing_error = Some(e.clone());
                    patches.error = Some(e);
                    facts.updates = Some(UpdateCounts::default());
                }
            }
        }
        UpdatesState::Fresh(Ok(l)) => {
            listing_ran = true;
            facts.updates = Some(UpdateCounts {
                pending: Some(l.pending()),
                security: l.security(),
            });
            patches.security_count = l.security_count.filter(|_| l.security_known);
            patches.updates = l.updates;
            patches.kept_back = l.kept_back;
            patches.pkg_stamp = report.stamp.clone();
        }
        UpdatesState::Fresh(Err(e)) => {
            listing_ran = true;
            listing_error = Some(e.clone());
            patches.error = Some(e);
            facts.updates = Some(UpdateCounts::default());
        }
    }
    patches.reboot_required = facts.reboot_required;
    let mut verdict = rules::evaluate(&facts, thresholds, listing_error.as_deref());
    // a section that could not be read: its facts are unknown, the rest stand
    for p in &report.problems {
        verdict.status = verdict.status.worst(Status::Unknown);
        verdict.reasons.push(p.to_string());
    }
    HostCheck {
        check: CheckResult {
            host: host.to_string(),
            status: verdict.status,
            error: None,
            reasons: verdict.reasons,
            elapsed_ms: elapsed.as_millis() as u64,
            checked_at: at,
            facts: Some(facts),
            last_known: None,
        },
        patches,
        remote_cpu_ms: report.remote_cpu_ms,
        listing_ran,
        ssh_error: None,
    }
}

/// Check `hosts`: each result is sent as soon as its host is done (order of
/// completion). At most `[ssh] concurrency` hosts at once; the blocking SSH
/// work runs on the engine's blocking threads. Set `cancel` to stop: hosts not
/// yet done report "cancelled". Needs no runtime: read the receiver with
/// `recv().await` or `blocking_recv()`; it closes when every host has reported. Results are not saved: call
/// [`save`] with what you collected.
pub fn sweep(
    store: &Store,
    engine: &Engine,
    hosts: Vec<Host>,
    cancel: CancelFlag,
) -> mpsc::UnboundedReceiver<HostCheck> {
    sweep_with(
        engine,
        hosts,
        load_previous(store),
        store.settings.thresholds.clone(),
        cancel,
    )
}

/// [`sweep`] with the previous results and thresholds given (what `sweep`
/// reads from the store): for callers that hold them already, and tests.
pub fn sweep_with(
    engine: &Engine,
    hosts: Vec<Host>,
    previous: HashMap<String, Previous>,
    thresholds: Thresholds,
    cancel: CancelFlag,
) -> mpsc::UnboundedReceiver<HostCheck> {
    let previous = Arc::new(previous);
    let stamps: Arc<HashMap<String, String>> = Arc::new(
        previous
            .iter()
            .filter_map(|(h, p)| p.stamp().map(|s| (h.clone(), s.to_string())))
            .collect(),
    );
    let mut rx = engine.sweep(hosts, cancel, move |conn, host| {
        let stamp = stamps.get(&host.name).map(String::as_str);
        conn.exec(
            &probe_command(stamp),
            &ExecOptions {
                stdin: Some(PROBE.as_bytes().to_vec()),
                timeout: None,
                ..Default::default()
            },
        )
    });
    let (tx, out) = mpsc::unbounded_channel();
    // a thread of its own: no runtime needed (the CLI, the TUI's jobs and
    // the watch's sweep read the receiver blocking or awaiting)
    let spawned = std::thread::Builder::new()
        .name("check-assemble".into())
        .spawn(move || {
            while let Some(done) = rx.blocking_recv() {
                let hc = assemble(
                    &done.host,
                    done.result,
                    done.elapsed,
                    previous.get(&done.host),
                    &thresholds,
                );
                tracing::debug!(
                    host = %done.host,
                    status = ?hc.check.status,
                    remote_cpu_ms = ?hc.remote_cpu_ms,
                    listing_ran = hc.listing_ran,
                    "checked"
                );
                if tx.send(hc).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a thread: {e}");
    }
    out
}

/// The cache entries a sweep's results leave (what [`load_previous`] would
/// read back after [`save`]).
pub fn previous_of(results: &[HostCheck]) -> HashMap<String, Previous> {
    results
        .iter()
        .map(|r| {
            (
                r.check.host.clone(),
                Previous {
                    patches: Some(r.patches.clone()),
                    counts: r.check.facts.as_ref().and_then(|f| f.updates.clone()),
                },
            )
        })
        .collect()
}

/// Summary line of a sweep: "20 hosts: 17 ok, 2 warn, 1 crit".
pub fn summary(results: &[HostCheck]) -> String {
    let mut counts = [0usize; 4];
    for r in results {
        counts[match r.check.status {
            Status::Ok => 0,
            Status::Warn => 1,
            Status::Crit => 2,
            Status::Unknown => 3,
        }] += 1;
    }
    let mut parts = Vec::new();
    for (n, label) in counts.iter().zip(["ok", "warn", "crit", "unknown"]) {
        if *n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let noun = if results.len() == 1 { "host" } else { "hosts" };
    format!("{} {noun}: {}", results.len(), parts.join(", "))
}

/// Keep a sweep's results in state (checks and patches, merged by host; a
/// host that could not be checked keeps its last known facts) and journal
/// them once as `action` of `target`.
pub fn save_as(
    store: &Store,
    results: &[HostCheck],
    action: &str,
    target: &str,
) -> Result<(Vec<CheckResult>, Vec<PatchReport>), StoreError> {
    if results.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let kept = keep(store, results)?;
    store.journal(&journal_entry(results, action, target))?;
    Ok(kept)
}

/// Keep a sweep's results in state without a journal entry (a caller that
/// journals a larger task, such as the watch's sweep, says it once).
pub fn keep(
    store: &Store,
    results: &[HostCheck],
) -> Result<(Vec<CheckResult>, Vec<PatchReport>), StoreError> {
    if results.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // a host that could not be checked keeps its last known facts (stale)
    let before: HashMap<String, CheckResult> = store
        .load_state::<CheckResult>(StateKind::Checks)
        .items
        .into_iter()
        .map(|c| (c.host.clone(), c))
        .collect();
    let checks = store.merge_state(
        StateKind::Checks,
        results
            .iter()
            .map(|r| {
                let mut c = r.check.clone();
                if let Some(prev) = before.get(&c.host) {
                    c.keep_last_known(prev);
                }
                c
            })
            .collect(),
        |c: &CheckResult| c.host.as_str(),
    )?;
    let patches = store.merge_state(
        StateKind::Patches,
        results.iter().map(|r| r.patches.clone()).collect(),
        |p: &PatchReport| p.host.as_str(),
    )?;
    Ok((checks, patches))
}

/// The journal entry of a sweep: worst status, a summary, one line per host
/// that is not OK, the probe's CPU on the hosts.
pub fn journal_entry(results: &[HostCheck], action: &str, target: &str) -> JournalEntry {
    let worst = results
        .iter()
        .fold(Status::Ok, |w, r| w.worst(r.check.status));
    let mut entry = JournalEntry::now(
        action,
        target,
        if worst == Status::Ok {
            "ok"
        } else {
            worst_label(worst)
        },
    );
    entry.details.push(summary(results));
    for r in results.iter().filter(|r| r.check.status != Status::Ok) {
        let why = r
            .check
            .error
            .clone()
            .unwrap_or_else(|| r.check.reasons.join("; "));
        entry.details.push(format!(
            "{}: {}: {}",
            r.check.host,
            r.check.status.label().to_lowercase(),
            why
        ));
    }
    let cpu: Vec<u64> = results.iter().filter_map(|r| r.remote_cpu_ms).collect();
    let listed = results.iter().filter(|r| r.listing_ran).count();
    entry.details.push(format!(
        "remote probe CPU: {} ms in all over {} hosts; update listing ran on {}",
        cpu.iter().sum::<u64>(),
        cpu.len(),
        listed
    ));
    entry
}

fn worst_label(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Crit => "crit",
        Status::Unknown => "unknown",
    }
}

/// Re-exported for callers that show a parse error.
pub type ProbeParseError = ParseError;
