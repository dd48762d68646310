//! The helper process (`opsdeck __mux`): the pool of kept sessions, one
//! thread per client, idle expiry, retirement.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::session::{self, Remote};
use super::{AgentChoice, Engine, EngineOptions, ExecOptions, Resolved, SshError, StreamKind};

use super::client::connect_checked;
use super::protocol::*;
use super::*;

// ---------------------------------------------------------------- helper

struct Pooled {
    remote: Box<Remote>,
    since: Instant,
}

struct Daemon {
    /// Canonical `STATE/mux`.
    dir: PathBuf,
    idle: Duration,
    engine: Engine,
    pool: Mutex<HashMap<String, Vec<Pooled>>>,
    active: AtomicUsize,
    last_use: Mutex<Instant>,
    /// The socket and its inode (to remove it only while it is ours).
    sock: PathBuf,
    sock_inode: Option<u64>,
    /// `mux/lock`, held while this helper owns the socket.
    lock: Mutex<Option<std::fs::File>>,
}

/// What identifies a connection: everything resolved, except the name it
/// was asked for and the connect timeout (which only matter when opening).
pub(super) fn pool_key(r: &Resolved) -> String {
    fn strip(r: &Resolved) -> Resolved {
        let mut c = r.clone();
        c.alias.clear();
        c.connect_timeout = Duration::ZERO;
        c.jumps = r.jumps.iter().map(strip).collect();
        c
    }
    serde_json::to_string(&strip(r)).unwrap_or_default()
}

/// Drop sessions on threads of their own (a polite disconnect can wait up to 1 s).
#[allow(clippy::vec_box)] // the sessions are boxed already
pub(super) fn drop_in_background(items: Vec<Box<Remote>>) {
    if items.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("mux-close".into())
        .spawn(move || drop(items));
}

impl Daemon {
    /// Give up the socket and the lock (a newer opsdeck asked: it starts a
    /// helper of its own), keep serving the clients already here, exit when
    /// they are done.
    fn retire(&self, why: &str) {
        if inode(&self.sock) == self.sock_inode {
            let _ = std::fs::remove_file(&self.sock);
        }
        if let Some(f) = self.lock.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = f.unlock();
        }
        tracing::info!("connection helper {} retires: {why}", std::process::id());
    }

    fn touch(&self) {
        *self.last_use.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn pooled(&self) -> usize {
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }

    fn checkout(
        &self,
        key: &str,
        r: &Resolved,
        accept_new: bool,
    ) -> Result<(Box<Remote>, bool), SshError> {
        loop {
            let cand = {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                let c = pool.get_mut(key).and_then(Vec::pop);
                if pool.get(key).is_some_and(Vec::is_empty) {
                    pool.remove(key);
                }
                c
            };
            let Some(mut c) = cand else { break };
            if c.remote.still_usable() {
                c.remote.label = r.alias.clone();
                c.remote.reused = true;
                return Ok((c.remote, true));
            }
            tracing::info!(
                "{}: kept connection closed or its host key no longer known; opening a new one",
                r.alias
            );
            drop_in_background(vec![c.remote]);
        }
        let remote = self.engine.connect_with(r, None, accept_new)?;
        tracing::debug!("{}: new connection", r.alias);
        Ok((remote, false))
    }

    fn checkin(&self, key: String, remote: Box<Remote>) {
        if remote.dead {
            drop_in_background(vec![remote]);
            return;
        }
        let total = self.pooled();
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let v = pool.entry(key).or_default();
        if total >= MAX_POOLED || v.len() >= MAX_IDLE_PER_KEY {
            drop(pool);
            drop_in_background(vec![remote]);
            return;
        }
        v.push(Pooled {
            remote,
            since: Instant::now(),
        });
    }

    /// Close sessions idle for `idle`, and those the server has closed.
    fn prune(&self) {
        let mut old = Vec::new();
        {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            for v in pool.values_mut() {
                let (keep, gone): (Vec<Pooled>, Vec<Pooled>) = v.drain(..).partition(|p| {
                    p.since.elapsed() < self.idle && !session::peer_closed(p.remote.sock.fd())
                });
                *v = keep;
                old.extend(gone.into_iter().map(|p| p.remote));
            }
            pool.retain(|_, v| !v.is_empty());
        }
        if !old.is_empty() {
            tracing::debug!("closing {} idle connection(s)", old.len());
        }
        drop_in_background(old);
    }

    fn handle(&self, stream: UnixStream) {
        if peer_uid(&stream) != Some(euid()) {
            tracing::warn!("connection helper: a client of another user was refused");
            return;
        }
        let mut lines = Lines::new(stream);
        let first = match lines.recv(Some(Instant::now() + Duration::from_secs(10)), None) {
            Ok(Some(l)) => l,
            _ => return,
        };
        let (resolved, accept_new) = match serde_json::from_slice::<Request>(&first) {
            Ok(Request::Open {
                protocol,
                version,
                mux_dir,
                resolved,
                accept_new,
            }) => {
                if protocol != PROTOCOL || version != VERSION {
                    self.retire(&format!(
                        "a client of opsdeck {version} (protocol {protocol})"
                    ));
                    let _ = lines.send(&Reply::Refused(format!(
                        "this helper is opsdeck {VERSION} (protocol {PROTOCOL}); it retires"
                    )));
                    return;
                }
                if mux_dir.canonicalize().ok().as_deref() != Some(self.dir.as_path()) {
                    tracing::warn!(
                        "connection helper: refused a request for another home ({})",
                        mux_dir.display()
                    );
                    let _ = lines.send(&Reply::Refused(format!(
                        "this helper serves {}, not {}",
                        self.dir.display(),
                        mux_dir.display()
                    )));
                    return;
                }
                (resolved, accept_new)
            }
            _ => {
                let _ = lines.send(&Reply::Refused("expected open".into()));
                return;
            }
        };
        let key = pool_key(&resolved);
        let (mut remote, reused) = match self.checkout(&key, &resolved, accept_new) {
            Ok(x) => x,
            Err(e) => {
                let _ = lines.send(&Reply::Failed(e));
                return;
            }
        };
        if lines.send(&Reply::Opened { reused }).is_err() {
            self.checkin(key, remote);
            return;
        }
        while let Ok(Some(line)) = lines.recv(None, None) {
            match serde_json::from_slice::<Request>(&line) {
                Ok(Request::Exec {
                    command,
                    stdin,
                    timeout_ms,
                }) => {
                    let Some(stdin) = stdin.map(|s| unb64(&s)).map_or(Some(None), |d| d.map(Some))
                    else {
                        let _ = lines.send(&Reply::Failed(SshError::Other("bad stdin".into())));
                        break;
                    };
                    let opts = ExecOptions {
                        stdin,
                        timeout: Some(Duration::from_millis(timeout_ms.max(1))),
                        ..Default::default()
                    };
                    if !self.exec(&mut remote, &resolved, accept_new, &lines, &command, &opts) {
                        break;
                    }
                }
                Ok(Request::Release) => {
                    // back in the pool before the client goes on, so its
                    // next command finds it
                    self.checkin(key, remote);
                    let _ = lines.send(&Reply::Released);
                    return;
                }
                _ => {
                    let _ = lines.send(&Reply::Refused("expected exec".into()));
                    break;
                }
            }
        }
        self.checkin(key, remote);
    }

    /// Run one command for a client; false when the client is gone.
    fn exec(
        &self,
        remote: &mut Box<Remote>,
        r: &Resolved,
        accept_new: bool,
        lines: &Lines,
        command: &str,
        opts: &ExecOptions,
    ) -> bool {
        let gone = AtomicBool::new(false);
        let fd = lines.stream.as_raw_fd();
        let abort = || gone.load(Ordering::Relaxed) || session::peer_closed(fd);
        let send = |reply: &Reply| {
            if lines.send(reply).is_err() {
                gone.store(true, Ordering::Relaxed);
            }
        };
        let mut on_output = |kind: StreamKind, chunk: &[u8]| {
            let d = b64(chunk);
            send(&match kind {
                StreamKind::Stdout => Reply::Stdout(d),
                StreamKind::Stderr => Reply::Stderr(d),
            });
        };
        let mut retried = false;
        loop {
            let mut on_started = || send(&Reply::Started);
            let mut hooks = session::Hooks {
                abort: Some(&abort),
                started: Some(&mut on_started),
            };
            let result = remote.exec(command, opts, &mut on_output, &mut hooks);
            match result {
                Err(e)
                    if !remote.started
                        && !retried
                        && !gone.load(Ordering::Relaxed)
                        && !matches!(e, SshError::CommandTimeout(_) | SshError::Cancelled) =>
                {
                    // A kept session died quietly: the command did not
                    // start, so run it on a new connection.
                    tracing::info!("{}: kept connection unusable ({e}); reconnecting", r.alias);
                    retried = true;
                    match self.engine.connect_with(r, None, accept_new) {
                        Ok(new) => {
                            let old = std::mem::replace(remote, new);
                            drop_in_background(vec![old]);
                            continue;
                        }
                        Err(ce) => {
                            send(&Reply::Failed(ce));
                            break;
                        }
                    }
                }
                Ok(o) => send(&Reply::Done {
                    exit_status: o.exit_status,
                    exit_signal: o.exit_signal,
                }),
                Err(e) => send(&Reply::Failed(e)),
            }
            break;
        }
        !gone.load(Ordering::Relaxed)
    }
}

pub(super) fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

pub(super) fn inode(p: &Path) -> Option<u64> {
    std::fs::symlink_metadata(p).ok().map(|m| m.ino())
}

/// `opsdeck __mux --state-dir DIR --idle-s N`: detach (the starting process
/// exits at once), log to the home's log file, serve until idle.
pub fn run_helper(state_dir: &Path, idle_s: u64) -> i32 {
    // SAFETY: called from main before any other thread exists; the child
    // continues single-threaded.
    match unsafe { libc::fork() } {
        -1 => return 1,
        0 => {}
        _ => return 0,
    }
    // SAFETY: setsid in the fresh child (not a group leader).
    unsafe {
        libc::setsid();
    }
    let _ = std::env::set_current_dir("/");
    let home = crate::store::Home {
        config_dir: state_dir.to_path_buf(),
        state_dir: state_dir.to_path_buf(),
    };
    let _log = crate::logging::init_tui(&home);
    match serve(state_dir, Duration::from_secs(idle_s.max(1))) {
        Ok(()) => 0,
        Err(e) => {
            tracing::warn!("connection helper: {e}");
            1
        }
    }
}

pub(super) fn serve(state_dir: &Path, idle: Duration) -> Result<(), String> {
    let dir = mux_dir(state_dir);
    ensure_private_dir(&dir)?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let sock = dir.join("sock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("lock"))
        .map_err(|e| format!("{}/lock: {e}", dir.display()))?;
    // Another helper serves this home (or is on its way out): wait a moment
    // for its lock, unless it answers.
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if connect_checked(&sock).is_ok() || Instant::now() >= until {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("lock: {e}")),
        }
    }
    // The lock file names the helper's pid (for `kill`, and the tests).
    let _ = lock.set_len(0);
    let _ = writeln!(&lock, "{}", std::process::id());
    // We hold the lock: a socket file here is a crashed helper's.
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).map_err(|e| format!("{}: {e}", sock.display()))?;
    let _ = std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600));
    let my_inode = inode(&sock);
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", sock.display()))?;
    raise_fd_limit();
    let d = Arc::new(Daemon {
        dir: dir.clone(),
        idle,
        engine: Engine::with_agent(
            &crate::model::SshSettings::default(),
            EngineOptions::default(),
            AgentChoice::Env,
        ),
        pool: Mutex::new(HashMap::new()),
        active: AtomicUsize::new(0),
        last_use: Mutex::new(Instant::now()),
        sock: sock.clone(),
        sock_inode: my_inode,
        lock: Mutex::new(Some(lock)),
    });
    tracing::info!(
        "connection helper {} started for {} (keeps connections {}s)",
        std::process::id(),
        dir.display(),
        idle.as_secs()
    );
    let why = loop {
        let mut fds = [libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 500) };
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    if d.active.load(Ordering::SeqCst) >= MAX_CLIENTS {
                        let _ = Lines::new(s).send(&Reply::Refused("busy".into()));
                        continue;
                    }
                    d.active.fetch_add(1, Ordering::SeqCst);
                    d.touch();
                    let d2 = d.clone();
                    let spawned =
                        std::thread::Builder::new()
                            .name("mux-client".into())
                            .spawn(move || {
                                d2.handle(s);
                                d2.touch();
                                d2.active.fetch_sub(1, Ordering::SeqCst);
                            });
                    if let Err(e) = spawned {
                        tracing::warn!("connection helper: cannot start a thread: {e}");
                        d.active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("connection helper: accept: {e}");
                    break;
                }
            }
        }
        d.prune();
        // Socket removed or replaced (home deleted, or retired): no new
        // clients can come; finish with those here.
        if inode(&sock) != my_inode && d.active.load(Ordering::SeqCst) == 0 {
            break "its socket was removed or replaced";
        }
        let last = *d.last_use.lock().unwrap_or_else(|p| p.into_inner());
        if d.active.load(Ordering::SeqCst) == 0 && d.pooled() == 0 && last.elapsed() >= idle {
            break "idle";
        }
    };
    if inode(&sock) == my_inode {
        let _ = std::fs::remove_file(&sock);
    }
    drop(listener);
    if let Some(f) = d.lock.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = f.unlock();
    }
    tracing::info!("connection helper {} exits: {why}", std::process::id());
    Ok(())
}
