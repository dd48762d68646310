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

/// Check `jobs`; each result is sent as soon as its job is done. Jobs whose
/// host is not in `hosts` (and not "local") or whose fields are invalid are
/// answered at once. Must be called inside a tokio runtime.
pub fn check_jobs(
    engine: &Engine,
    hosts: &[Host],
    jobs: Vec<BackupJob>,
    timeout: Option<Duration>,
    cancel: CancelFlag,
) -> mpsc::UnboundedReceiver<BackupResult> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut local = Vec::new();
    let mut per_host: HashMap<String, Vec<BackupJob>> = HashMap::new();
    let mut order: Vec<Host> = Vec::new();
    for job in jobs {
        if validate(&job).is_err() {
            // evaluate() reports the invalid field.
            let _ = tx.send(failed(
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
                let _ = tx.send(failed(
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
        tokio::task::spawn_blocking(move || {
            for job in local {
                if cancel.load(Ordering::Relaxed) {
                    let _ = tx.send(cancelled(&job));
                    continue;
                }
                let result = crate::util::catch_panic(|| check_job(&mut conn, &job, timeout))
                    .unwrap_or_else(|e| {
                        failed(&job, CheckError::unknown(e), Timestamp::now(), today())
                    });
                let _ = tx.send(result);
            }
        });
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
                    let _ = job_tx.send(cancelled(job));
                    continue;
                }
                if let Some(e) = &broken {
                    let msg = format!("{}: {e}", host.name);
                    let _ = job_tx.send(failed(
                        job,
                        CheckError::crit(msg),
                        Timestamp::now(),
                        today(),
                    ));
                    continue;
                }
                let mut w = Watch { conn, cut: false };
                let _ = job_tx.send(check_job(&mut w, job, timeout));
                if w.cut {
                    match job_engine.connect(host) {
                        Ok(c) => *conn = c,
                        Err(e) => broken = Some(e),
                    }
                }
            }
            Ok(())
        });
        tokio::spawn(async move {
            while let Some(d) = done.recv().await {
                if let Err(e) = d.result {
                    for job in per_host.get(&d.host).map(Vec::as_slice).unwrap_or_default() {
                        let _ = tx.send(failed(
                            job,
                            CheckError::crit(format!("{}: {e}", d.host)),
                            Timestamp::now(),
                            today(),
                        ));
                    }
                }
            }
        });
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

/// Check and collect every result, in the order of `jobs` (blocking; builds
/// its own runtime: for the headless command).
pub fn check_all_blocking(
    engine: &Engine,
    hosts: &[Host],
    jobs: Vec<BackupJob>,
    timeout: Option<Duration>,
    mut progress: impl FnMut(&BackupResult, usize, usize),
) -> Result<Vec<BackupResult>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
    let total = jobs.len();
    let mut results: Vec<BackupResult> = rt.block_on(async {
        let mut rx = check_jobs(engine, hosts, jobs, timeout, CancelFlag::default());
        let mut out = Vec::with_capacity(total);
        while let Some(r) = rx.recv().await {
            progress(&r, out.len() + 1, total);
            out.push(r);
        }
        out
    });
    results.sort_by_key(|r| {
        names
            .iter()
            .position(|n| *n == r.name)
            .unwrap_or(usize::MAX)
    });
    Ok(results)
}
