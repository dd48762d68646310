//! Checking many jobs: grouped per host (one connection per host, its jobs
//! one after another), hosts in parallel up to [ssh] concurrency through
//! the engine's sweep; `host = "local"` jobs on the jump box itself. Results
//! arrive on a channel as each job finishes, so a UI can fill in live.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{check_job, failed, today, validate, CheckError, Exec};
use crate::model::{BackupJob, BackupResult, Host, Status};
use crate::ssh::{CancelFlag, Conn, Engine, ExecOptions, ExecOutput, SshError};

/// Notes a command timeout: the engine cuts the connection then, so the
/// next job on that host needs a new one.
struct Watch<'a> {
    conn: &'a mut Conn,
    cut: bool,
}

impl Exec for Watch<'_> {
    fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        let r = self.conn.exec(command, opts);
        if matches!(r, Err(SshError::CommandTimeout(_))) {
            self.cut = true;
        }
        r
    }
}

/// The host name that means the jump box itself.
pub const LOCAL: &str = "local";

/// One job's result, and the SSH error that kept it from running, as data
/// (an unknown or changed host key is recognised from it).
#[derive(Debug, Clone)]
pub struct JobDone {
    pub result: BackupResult,
    pub ssh_error: Option<SshError>,
}

impl From<BackupResult> for JobDone {
    fn from(result: BackupResult) -> JobDone {
        JobDone {
            result,
            ssh_error: None,
        }
    }
}

/// Sends results as `JobDone`s.
#[derive(Clone)]
struct Out(mpsc::UnboundedSender<JobDone>);

impl Out {
    fn send(&self, r: BackupResult) {
        let _ = self.0.send(r.into());
    }
    fn failed(&self, job: &BackupJob, host: &str, e: &SshError) {
        let _ = self.0.send(JobDone {
            result: failed(
                job,
                CheckError::crit(format!("{host}: {e}")),
                Timestamp::now(),
                today(),
            ),
            ssh_error: Some(e.clone()),
        });
    }
}

/// Check `jobs`; each result is sent as soon as its job is done. Jobs whose
/// host is not in `hosts` (and not "local") or whose fields are invalid are
/// answered at once. Needs no runtime: read the receiver with
/// `recv().await` or `blocking_recv()`.
pub fn check_jobs(
    engine: &Engine,
    hosts: &[Host],
    jobs: Vec<BackupJob>,
    timeout: Option<Duration>,
    cancel: CancelFlag,
) -> mpsc::UnboundedReceiver<JobDone> {
    let (raw_tx, rx) = mpsc::unbounded_channel();
    let tx = Out(raw_tx);
    let mut local = Vec::new();
    let mut per_host: HashMap<String, Vec<BackupJob>> = HashMap::new();
    let mut order: Vec<Host> = Vec::new();
    for job in jobs {
        if validate(&job).is_err() {
            // evaluate() reports the invalid field.
            tx.send(failed(
                &job,
                CheckError::crit("invalid job"),
                Timestamp::now(),
                today(),
            ));
            continue;
        }
        if job.host == LOCAL {
            local.push(job);
            continue;
        }
        match hosts.iter().find(|h| h.name == job.host) {
            Some(h) => {
                if !per_host.contains_key(&h.name) {
                    order.push(h.clone());
                }
                per_host.entry(h.name.clone()).or_default().push(job);
            }
            None => {
                let msg = format!(
                    "host `{}` is not in hosts.toml (use a host name from `opsdeck host list`, or \"local\")",
                    job.host
                );
                tx.send(failed(
                    &job,
                    CheckError::crit(msg),
                    Timestamp::now(),
                    today(),
                ));
            }
        }
    }

    if !local.is_empty() {
        let tx = tx.clone();
        let cancel = cancel.clone();
        let mut conn = engine.local();
        let spawned = std::thread::Builder::new()
            .name("backups-local".into())
            .spawn(move || {
                for job in local {
                    if cancel.load(Ordering::Relaxed) {
                        tx.send(cancelled(&job));
                        continue;
                    }
                    let result = crate::util::catch_panic(|| check_job(&mut conn, &job, timeout))
                        .unwrap_or_else(|e| {
                            failed(&job, CheckError::unknown(e), Timestamp::now(), today())
                        });
                    tx.send(result);
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread: {e}");
        }
    }

    if !order.is_empty() {
        let per_host = Arc::new(per_host);
        let jobs_of = per_host.clone();
        let job_tx = tx.clone();
        let job_cancel = cancel.clone();
        let job_engine = engine.clone();
        let mut done = engine.sweep(order, cancel, move |conn, host| {
            let jobs = jobs_of
                .get(&host.name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut broken: Option<SshError> = None;
            for job in jobs {
                if job_cancel.load(Ordering::Relaxed) {
                    job_tx.send(cancelled(job));
                    continue;
                }
                if let Some(e) = &broken {
                    job_tx.failed(job, &host.name, e);
                    continue;
                }
                let mut w = Watch { conn, cut: false };
                job_tx.send(check_job(&mut w, job, timeout));
                if w.cut {
                    match job_engine.connect(host) {
                        Ok(c) => *conn = c,
                        Err(e) => broken = Some(e),
                    }
                }
            }
            Ok(())
        });
        let spawned = std::thread::Builder::new()
            .name("backups-hosts".into())
            .spawn(move || {
                while let Some(d) = done.blocking_recv() {
                    if let Err(e) = d.result {
                        for job in per_host.get(&d.host).map(Vec::as_slice).unwrap_or_default() {
                            tx.failed(job, &d.host, &e);
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread: {e}");
        }
    }
    rx
}

fn cancelled(job: &BackupJob) -> BackupResult {
    failed(
        job,
        CheckError {
            status: Status::Unknown,
            message: "check cancelled".into(),
        },
        Timestamp::now(),
        today(),
    )
}

/// Check and collect every result, in the order of `jobs` (blocking: call
/// it from a thread that may block, never from an async task).
pub fn check_all_blocking(
    engine: &Engine,
    hosts: &[Host],
    jobs: Vec<BackupJob>,
    timeout: Option<Duration>,
    cancel: CancelFlag,
    mut progress: impl FnMut(&JobDone, usize, usize),
) -> Vec<JobDone> {
    let names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
    let total = jobs.len();
    let mut rx = check_jobs(engine, hosts, jobs, timeout, cancel);
    let mut results = Vec::with_capacity(total);
    while let Some(r) = rx.blocking_recv() {
        progress(&r, results.len() + 1, total);
        results.push(r);
    }
    results.sort_by_key(|r| {
        names
            .iter()
            .position(|n| *n == r.result.name)
            .unwrap_or(usize::MAX)
    });
    results
}
