//! Many hosts at once: a dispatcher thread starts one std::thread per host,
//! at most `concurrency` at a time, and each host's result is sent as soon as
//! it is done. Nothing here runs on the async runtime, and nothing waits for
//! a stuck host: dropping the receiver or setting the cancel flag lets
//! everything wind down on its own.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use super::{CancelFlag, Conn, Engine, HostDone, SshError};
use crate::model::Host;

struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Slots {
    fn release(&self) {
        let mut f = self.free.lock().unwrap_or_else(|p| p.into_inner());
        *f += 1;
        self.cv.notify_one();
    }
}

struct SlotGuard(Arc<Slots>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.release();
    }
}

pub(crate) fn sweep<T, F>(
    engine: &Engine,
    hosts: Vec<Host>,
    cancel: CancelFlag,
    job: F,
) -> mpsc::UnboundedReceiver<HostDone<T>>
where
    T: Send + 'static,
    F: Fn(&mut Conn, &Host) -> Result<T, SshError> + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let engine = engine.clone();
    let job = Arc::new(job);
    let limit = engine.concurrency();
    let slots = Arc::new(Slots {
        free: Mutex::new(limit),
        cv: Condvar::new(),
    });
    let spawned = std::thread::Builder::new()
        .name("ssh-sweep".into())
        .spawn(move || {
            let mut pending = hosts.into_iter();
            for host in pending.by_ref() {
                // wait for a slot (checking cancel and the receiver now and then)
                {
                    let mut free = slots.free.lock().unwrap_or_else(|p| p.into_inner());
                    while *free == 0 {
                        if cancel.load(Ordering::Relaxed) || tx.is_closed() {
                            break;
                        }
                        free = slots
                            .cv
                            .wait_timeout(free, std::time::Duration::from_millis(100))
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    if cancel.load(Ordering::Relaxed) || tx.is_closed() {
                        drop(free);
                        let _ = tx.send(HostDone {
                            host: host.name.clone(),
                            elapsed: Default::default(),
                            result: Err(SshError::Cancelled),
                        });
                        break;
                    }
                    *free -= 1;
                }
                let guard = SlotGuard(slots.clone());
                let (engine2, job2, cancel2, tx2) =
                    (engine.clone(), job.clone(), cancel.clone(), tx.clone());
                let name = host.name.clone();
                let started = std::thread::Builder::new()
                    .name(format!("ssh-{name}"))
                    .spawn(move || {
                        let _guard = guard;
                        let start = Instant::now();
                        let result = crate::util::catch_panic(|| {
                            one_host(&engine2, &host, &cancel2, &*job2)
                        })
                        .unwrap_or_else(|e| Err(SshError::Internal(e)));
                        let _ = tx2.send(HostDone {
                            host: host.name.clone(),
                            elapsed: start.elapsed(),
                            result,
                        });
                    });
                if let Err(e) = started {
                    let _ = tx.send(HostDone {
                        host: name,
                        elapsed: Default::default(),
                        result: Err(SshError::Other(format!("cannot start a thread: {e}"))),
                    });
                }
            }
            for host in pending {
                let _ = tx.send(HostDone {
                    host: host.name,
                    elapsed: Default::default(),
                    result: Err(SshError::Cancelled),
                });
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the sweep thread: {e}");
    }
    rx
}

fn one_host<T>(
    engine: &Engine,
    host: &Host,
    cancel: &CancelFlag,
    job: &dyn Fn(&mut Conn, &Host) -> Result<T, SshError>,
) -> Result<T, SshError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(SshError::Cancelled);
    }
    let mut conn = engine.connect_cancellable(host, Some(cancel))?;
    if cancel.load(Ordering::Relaxed) {
        return Err(SshError::Cancelled);
    }
    job(&mut conn, host)
}
