//! Checking backup jobs (`opsdeck backups`, the Backups pane's `c`/`C`, the
//! watch's sweep): run the checks, keep the results in state/backups.toml,
//! journal the run once.

use crate::backups::run::{check_all_blocking, JobDone};
use crate::model::{BackupJob, BackupResult, Status};
use crate::store::{JournalEntry, StateKind, Store, StoreError};

use super::Ctx;

/// Check `jobs` (grouped per host, hosts in parallel), calling `on_each`
/// with each result as it comes; save and journal them (a failure to save
/// is logged and returned with the results: they were checked all the
/// same). Results in the order of `jobs`, each with the SSH error that
/// kept it from running.
pub fn check(
    ctx: &Ctx,
    jobs: Vec<BackupJob>,
    target: &[String],
    on_each: impl FnMut(&JobDone, usize, usize),
) -> (Vec<JobDone>, Result<(), StoreError>) {
    let done = check_all_blocking(
        &ctx.engine,
        &ctx.store.hosts,
        jobs,
        None,
        ctx.cancel.clone(),
        on_each,
    );
    let results: Vec<BackupResult> = done.iter().map(|d| d.result.clone()).collect();
    let saved = save(&ctx.store, &results, target);
    if let Err(e) = &saved {
        tracing::error!("cannot save the backup results: {e}");
    }
    (done, saved)
}

/// Keep results (merged by job name) in state, without a journal entry.
pub fn keep(store: &Store, results: &[BackupResult]) -> Result<(), StoreError> {
    if results.is_empty() {
        return Ok(());
    }
    store
        .merge_state(StateKind::Backups, results.to_vec(), |r: &BackupResult| {
            r.name.as_str()
        })
        .map(|_| ())
}

/// Keep results (merged by job name) and journal them as a check of
/// `target` (job names; none: all).
pub fn save(store: &Store, results: &[BackupResult], target: &[String]) -> Result<(), StoreError> {
    if results.is_empty() {
        return Ok(());
    }
    store.merge_state(StateKind::Backups, results.to_vec(), |r: &BackupResult| {
        r.name.as_str()
    })?;
    store.journal(&journal_entry(target, results))
}

/// One journal entry per run: counts, then a line per job.
pub fn journal_entry(names: &[String], results: &[BackupResult]) -> JournalEntry {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let mut parts = Vec::new();
    for (s, label) in [
        (Status::Crit, "crit"),
        (Status::Warn, "warn"),
        (Status::Unknown, "unknown"),
    ] {
        let n = count(s);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let result = if parts.is_empty() {
        "ok".to_string()
    } else {
        parts.join(", ")
    };
    let target = if names.is_empty() {
        "all".to_string()
    } else {
        names.join(",")
    };
    let mut e = JournalEntry::now("backups.check", &target, &result);
    e.details = results
        .iter()
        .map(|r| format!("{}: {} {}", r.name, r.status.label(), r.reasons.join("; ")))
        .collect();
    e
}
