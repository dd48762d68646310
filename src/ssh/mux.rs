//! Connection persistence (`[ssh] persist_s` > 0), the way OpenSSH's
//! ControlMaster/ControlPersist works: a helper process of the same binary
//! (`opsdeck __mux`, not in `--help`) opens the connections and keeps each
//! authenticated session for `persist_s` seconds after its last use, so the
//! next command, in this process or a later one, skips TCP, key exchange and
//! authentication, and the host's sshd skips its fork, re-exec and key
//! exchange. Design and trade-offs: docs/decisions/ssh.md.
//!
//! - One helper per opsdeck home: its socket is `STATE/mux/sock` in a
//!   directory of mode 0700 owned by the user (both sides check), and each
//!   side checks the other's uid (`SO_PEERCRED`). The helper holds
//!   `STATE/mux/lock` while it runs: a second helper started at the same time
//!   exits, and a socket file left by a crashed helper is replaced. Requests
//!   name the home's directory, and a helper refuses another home's.
//! - Protocol: JSON lines on the unix socket. The client (the engine, after
//!   resolving the host as always) sends `open` with the full resolved
//!   connection (user, host name, port, jump chain, identity files,
//!   known_hosts files, agent socket); the helper answers `opened` (a kept
//!   session, or a new one) or `failed` with the same [`SshError`] a direct
//!   connection gives (unknown or changed host key, authentication...).
//!   Then any number of `exec` requests, each answered by `started`, output
//!   chunks (`stdout`/`stderr`, base64) as they arrive, and `done` or
//!   `failed`. `release` (sent when the `Conn` is dropped) gives the session
//!   back to the pool before it is answered; closing the socket does too,
//!   and closing it during a command cuts that command's connection, as a
//!   direct connection's end would. A client of another opsdeck version
//!   makes the helper retire (socket and lock given up at once, exit when
//!   its clients are done).
//! - Sessions are keyed by the whole resolved connection, so an edited SSH
//!   config or hosts.toml that changes any of it gives a new connection.
//!   Before reuse a session must not have been closed by the server, and
//!   every host key it was verified with must still be in the known_hosts
//!   files. A kept session that turns out dead when the command's channel is
//!   opened is replaced by a new connection (the command had not started).
//! - The client falls back to a connection of its own whenever the helper
//!   cannot be reached or refuses, or goes away before a command started.
//!   Timeouts hold through the helper (it runs the command with the same
//!   deadline; the client keeps a backstop deadline of its own).
//! - The helper logs to the home's log file only, holds no secret besides
//!   what its sessions hold (stdin of a command passes through), and exits
//!   `persist_s` after its last use, or at once when its socket file is
//!   removed or replaced.

use std::collections::HashMap;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::session::{self, Remote};
use super::{
    AgentChoice, CancelFlag, Engine, EngineOptions, ExecOptions, ExecOutput, Resolved, SshError,
    StreamKind,
};

/// The hidden subcommand that runs the helper.
pub const SUBCOMMAND: &str = "__mux";

const PROTOCOL: u32 = 1;
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Longest request or reply line (a command's stdin is in its request).
const MAX_LINE: usize = 64 << 20;
/// Idle sessions kept per connection key, and in all.
const MAX_IDLE_PER_KEY: usize = 4;
const MAX_POOLED: usize = 1024;
/// Clients served at once (more are refused: they connect directly).
const MAX_CLIENTS: usize = 1024;

/// Where the helper lives and how long it keeps connections.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistConfig {
    /// The opsdeck home's state directory; the helper uses `STATE/mux/`.
    pub state_dir: PathBuf,
    /// How long a connection is kept after its last use (`[ssh] persist_s`).
    pub idle: Duration,
    /// The opsdeck binary (it runs `PROGRAM __mux ...`).
    pub program: PathBuf,
}

impl PersistConfig {
    pub fn dir(&self) -> PathBuf {
        mux_dir(&self.state_dir)
    }
}

/// `STATE/mux`: the helper's directory (mode 0700).
pub fn mux_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("mux")
}

/// `STATE/mux/sock`: the helper's socket.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    mux_dir(state_dir).join("sock")
}

/// Per-engine client state: one helper start at a time, and off for good
/// after a start that failed.
#[derive(Default)]
pub(crate) struct ClientState {
    start: Mutex<()>,
    off: AtomicBool,
    warned: AtomicBool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Open {
        protocol: u32,
        version: String,
        mux_dir: PathBuf,
        resolved: Resolved,
        accept_new: bool,
    },
    Exec {
        command: String,
        /// base64
        stdin: Option<String>,
        timeout_ms: u64,
    },
    /// Done with the session: back to the pool (answered by `released`).
    Release,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Opened {
        reused: bool,
    },
    /// Not served (another home, another version, busy): connect directly.
    Refused(String),
    Failed(SshError),
    Started,
    /// base64
    Stdout(String),
    /// base64
    Stderr(String),
    Done {
        exit_status: Option<i32>,
        exit_signal: Option<String>,
    },
    Released,
}

fn b64(data: &[u8]) -> String {
    openssl::base64::encode_block(data)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    openssl::base64::decode_block(s).ok()
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// The uid of the process at the other end of a unix socket.
fn peer_uid(s: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, which we own.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// Create `dir` with mode 0700 if missing; refuse one that is not a plain
/// directory owned by us; tighten one of ours that others may enter.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent() {
        crate::store::write::ensure_dir(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !m.file_type().is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if m.uid() != euid() {
        return Err(format!(
            "{} belongs to uid {}, not to this user: not used",
            dir.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    Ok(())
}

/// JSON lines over a unix socket, with deadlines and a cancel flag.
struct Lines {
    stream: UnixStream,
    buf: Vec<u8>,
    scanned: usize,
}

impl Lines {
    fn new(stream: UnixStream) -> Lines {
        Lines {
            stream,
            buf: Vec::new(),
            scanned: 0,
        }
    }

    fn send<T: Serialize>(&self, v: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(v).map_err(io::Error::other)?;
        line.push(b'\n');
        (&self.stream).write_all(&line)
    }

    /// The next line (None at EOF). `TimedOut` after `deadline`,
    /// `Interrupted` when `cancel` is set.
    fn recv(
        &mut self,
        deadline: Option<Instant>,
        cancel: Option<&CancelFlag>,
    ) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let line = self.buf[..end].to_vec();
                self.buf.drain(..=end);
                self.scanned = 0;
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(ErrorKind::InvalidData, "line too long"));
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(io::Error::from(ErrorKind::Interrupted));
            }
            let wait_ms: i32 = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::from(ErrorKind::TimedOut));
                    }
                    left.min(Duration::from_millis(200)).as_millis().max(1) as i32
                }
                None if cancel.is_some() => 200,
                None => -1,
            };
            let mut fds = [libc::pollfd {
                fd: self.stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, wait_ms) };
            if n <= 0 {
                continue;
            }
            match (&self.stream).read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

// ---------------------------------------------------------------- client

pub(crate) enum Opened {
    Conn(MuxConn),
    /// The connection failed as a direct one would have (same error).
    Failed(SshError),
    /// The helper cannot serve: connect directly.
    Unavailable(String),
}

/// A session held through the helper: the client end of one socket.
pub(crate) struct MuxConn {
    lines: Lines,
    pub(crate) engine: Engine,
    /// With agents and paths made absolute: what the helper was given.
    pub(crate) resolved: Resolved,
    default_timeout: Duration,
    dead: bool,
}

pub(crate) enum MuxExec {
    Done(Result<ExecOutput, SshError>),
    /// The helper is gone and the command did not start: run it directly.
    Fallback(String),
}

/// Every agent choice made concrete (`SSH_AUTH_SOCK` read here, in the
/// client's environment) and every path absolute: the helper runs in `/`
/// with no agent variable of its own.
fn for_helper(r: &Resolved, engine_agent: &AgentChoice) -> Resolved {
    let mut r = r.clone();
    let eff = match (engine_agent, &r.agent) {
        (AgentChoice::Env, Some(from_config)) => from_config.clone(),
        (engine_choice, _) => engine_choice.clone(),
    };
    let concrete = match eff {
        AgentChoice::Env => match std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
            Some(p) => AgentChoice::Socket(absolute(Path::new(&p))),
            None => AgentChoice::Off,
        },
        AgentChoice::Socket(p) => AgentChoice::Socket(absolute(&p)),
        AgentChoice::Off => AgentChoice::Off,
    };
    r.agent = Some(concrete);
    r.identity_files = r.identity_files.iter().map(|p| absolute(p)).collect();
    r.known_hosts_files = r.known_hosts_files.iter().map(|p| absolute(p)).collect();
    r.jumps = r
        .jumps
        .iter()
        .map(|j| for_helper(j, engine_agent))
        .collect();
    r
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// How long the helper may take to open a connection before the client
/// gives up on it (it enforces the real timeouts itself; this is a backstop
/// for a helper that hangs): generous, as a jump host may queue handshakes.
fn open_budget(r: &Resolved) -> Duration {
    let hops = r.jumps.len() as u32 + 1;
    r.connect_timeout
        .saturating_mul(8)
        .saturating_mul(hops)
        .saturating_add(Duration::from_secs(10))
}

pub(crate) fn open(
    engine: &Engine,
    cfg: &PersistConfig,
    r: &Resolved,
    cancel: Option<&CancelFlag>,
) -> Opened {
    let state = &engine.inner.mux;
    if state.off.load(Ordering::Relaxed) {
        return Opened::Unavailable("the connection helper could not be started earlier".into());
    }
    let stream = match connect_or_start(cfg, state) {
        Ok(s) => s,
        Err(e) => {
            if !state.warned.swap(true, Ordering::Relaxed) {
                tracing::info!("connection persistence unavailable, connecting directly: {e}");
            }
            return Opened::Unavailable(e);
        }
    };
    let resolved = for_helper(r, &engine.inner.agent);
    let mut lines = Lines::new(stream);
    let req = Request::Open {
        protocol: PROTOCOL,
        version: VERSION.into(),
        mux_dir: absolute(&cfg.dir()),
        resolved: resolved.clone(),
        accept_new: engine.inner.opts.accept_new,
    };
    if let Err(e) = lines.send(&req) {
        return Opened::Unavailable(format!("sending to the helper: {e}"));
    }
    let deadline = crate::util::deadline(Instant::now(), open_budget(r));
    match lines.recv(Some(deadline), cancel) {
        Ok(Some(line)) => match serde_json::from_slice::<Reply>(&line) {
            Ok(Reply::Opened { reused }) => {
                tracing::debug!(
                    "{}: {} session from the connection helper",
                    r.alias,
                    if reused { "kept" } else { "new" }
                );
                Opened::Conn(MuxConn {
                    lines,
                    engine: engine.clone(),
                    resolved,
                    default_timeout: engine.command_timeout(),
                    dead: false,
                })
            }
            Ok(Reply::Failed(e)) => Opened::Failed(e),
            Ok(Reply::Refused(m)) => Opened::Unavailable(format!("the helper refused: {m}")),
            Ok(other) => Opened::Unavailable(format!("unexpected reply {other:?}")),
            Err(e) => Opened::Unavailable(format!("bad reply: {e}")),
        },
        Ok(None) => Opened::Unavailable("the helper closed the connection".into()),
        Err(e) if e.kind() == ErrorKind::Interrupted => Opened::Failed(SshError::Cancelled),
        Err(e) => Opened::Unavailable(format!("reading from the helper: {e}")),
    }
}

/// Connect to the helper's socket; the peer must be this user.
fn connect_checked(sock: &Path) -> Result<UnixStream, String> {
    let s = UnixStream::connect(sock).map_err(|e| format!("{}: {e}", sock.display()))?;
    match peer_uid(&s) {
        Some(uid) if uid == euid() => Ok(s),
        other => {
            tracing::warn!(
                "{} is served by uid {other:?}, not by this user: not used",
                sock.display()
            );
            Err(format!("{} belongs to another user", sock.display()))
        }
    }
}

fn connect_or_start(cfg: &PersistConfig, state: &ClientState) -> Result<UnixStream, String> {
    let dir = cfg.dir();
    ensure_private_dir(&dir)?;
    let sock = dir.join("sock");
    if sock.as_os_str().len() >= 104 {
        return Err(format!(
            "the socket path {} is too long for a unix socket",
            sock.display()
        ));
    }
    if let Ok(s) = connect_checked(&sock) {
        return Ok(s);
    }
    let _one_at_a_time = state.start.lock().unwrap_or_else(|p| p.into_inner());
    if state.off.load(Ordering::Relaxed) {
        return Err("the connection helper could not be started".into());
    }
    if let Ok(s) = connect_checked(&sock) {
        return Ok(s);
    }
    if let Err(e) = spawn_helper(cfg) {
        state.off.store(true, Ordering::Relaxed);
        return Err(e);
    }
    // (a loaded machine can take a while to start a process)
    let until = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_millis(2);
    loop {
        match connect_checked(&sock) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= until => {
                state.off.store(true, Ordering::Relaxed);
                return Err(format!("the connection helper did not start: {e}"));
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// Start `PROGRAM __mux`: that process forks the helper and exits at once.
fn spawn_helper(cfg: &PersistConfig) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(&cfg.program)
        .arg(SUBCOMMAND)
        .arg("--state-dir")
        .arg(absolute(&cfg.state_dir))
        .arg("--idle-s")
        .arg(cfg.idle.as_secs().max(1).to_string())
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cfg.program.display()))?;
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => {
                return Err(format!(
                    "{} {SUBCOMMAND} failed ({st})",
                    cfg.program.display()
                ))
            }
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} {SUBCOMMAND} did not detach",
                    cfg.program.display()
                ));
            }
            Err(e) => return Err(format!("waiting for the helper: {e}")),
        }
    }
}

impl Drop for MuxConn {
    /// Hand the session back and wait (briefly) until it is in the pool, so
    /// a next command right after this one reuses it.
    fn drop(&mut self) {
        if !self.dead && self.lines.send(&Request::Release).is_ok() {
            let _ = self
                .lines
                .recv(Some(Instant::now() + Duration::from_secs(2)), None);
        }
    }
}

impl MuxConn {
    pub(crate) fn exec(
        &mut self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut dyn FnMut(StreamKind, &[u8]),
    ) -> MuxExec {
        if self.dead {
            return MuxExec::Done(Err(SshError::Other(format!(
                "{}: the connection was closed after an earlier timeout",
                self.resolved.alias
            ))));
        }
        let timeout = opts.timeout.unwrap_or(self.default_timeout);
        let start = Instant::now();
        let req = Request::Exec {
            command: command.to_string(),
            stdin: opts.stdin.as_deref().map(b64),
            timeout_ms: timeout.as_millis().min(u64::MAX as u128) as u64,
        };
        if let Err(e) = self.lines.send(&req) {
            self.dead = true;
            return MuxExec::Fallback(format!("sending to the helper: {e}"));
        }
        // The helper enforces the timeout; this is the backstop (it may
        // have to replace a dead kept session first).
        let backstop =
            crate::util::deadline(start, timeout.saturating_add(open_budget(&self.resolved)));
        let mut started = false;
        let mut out = ExecOutput::default();
        loop {
            let reply = match self.lines.recv(Some(backstop), None) {
                Ok(Some(line)) => serde_json::from_slice::<Reply>(&line).ok(),
                Ok(None) => None,
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    self.dead = true;
                    return MuxExec::Done(Err(SshError::CommandTimeout(timeout)));
                }
                Err(_) => None,
            };
            match reply {
                Some(Reply::Started) => started = true,
                Some(Reply::Stdout(d)) | Some(Reply::Stderr(d)) if unb64(&d).is_none() => {
                    self.dead = true;
                    return MuxExec::Done(Err(SshError::Other(
                        "the connection helper sent bad output".into(),
                    )));
                }
                Some(Reply::Stdout(d)) => {
                    on_output(StreamKind::Stdout, &unb64(&d).unwrap_or_default());
                }
                Some(Reply::Stderr(d)) => {
                    on_output(StreamKind::Stderr, &unb64(&d).unwrap_or_default());
                }
                Some(Reply::Done {
                    exit_status,
                    exit_signal,
                }) => {
                    out.exit_status = exit_status;
                    out.exit_signal = exit_signal;
                    out.elapsed = start.elapsed();
                    return MuxExec::Done(Ok(out));
                }
                Some(Reply::Failed(e)) => {
                    // as a direct connection: an error leaves it unusable
                    self.dead = true;
                    return MuxExec::Done(Err(e));
                }
                Some(Reply::Opened { .. })
                | Some(Reply::Refused(_))
                | Some(Reply::Released)
                | None => {
                    self.dead = true;
                    if started {
                        return MuxExec::Done(Err(SshError::LostAfterStart(format!(
                            "{}: the connection helper ended during the command",
                            self.resolved.alias
                        ))));
                    }
                    return MuxExec::Fallback("the helper went away".into());
                }
            }
        }
    }
}

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
fn pool_key(r: &Resolved) -> String {
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
fn drop_in_background(items: Vec<Box<Remote>>) {
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

fn raise_fd_limit() {
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

fn inode(p: &Path) -> Option<u64> {
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

fn serve(state_dir: &Path, idle: Duration) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(user: &str) -> Resolved {
        Resolved {
            alias: "web1".into(),
            hostname: "10.0.0.5".into(),
            port: 22,
            user: user.into(),
            identity_files: vec!["keys/id".into()],
            identities_only: true,
            known_hosts_files: vec!["/kh".into()],
            strict: Default::default(),
            connect_timeout: Duration::from_secs(5),
            jumps: vec![],
            agent: None,
        }
    }

    #[test]
    fn keys_name_the_whole_connection() {
        let a = resolved("deploy");
        let mut b = a.clone();
        b.alias = "other-name".into();
        b.connect_timeout = Duration::from_secs(9);
        assert_eq!(pool_key(&a), pool_key(&b));
        let mut c = a.clone();
        c.user = "root".into();
        assert_ne!(pool_key(&a), pool_key(&c));
        let mut d = a.clone();
        d.known_hosts_files.push("/other".into());
        assert_ne!(pool_key(&a), pool_key(&d));
        let mut e = a.clone();
        e.jumps.push(resolved("jump"));
        assert_ne!(pool_key(&a), pool_key(&e));
        let mut f = a.clone();
        f.agent = Some(AgentChoice::Socket("/a".into()));
        assert_ne!(pool_key(&a), pool_key(&f));
    }

    #[test]
    fn helper_gets_concrete_agents_and_absolute_paths() {
        let mut r = resolved("u");
        r.jumps.push(resolved("j"));
        r.jumps[0].agent = Some(AgentChoice::Off);
        let h = for_helper(&r, &AgentChoice::Socket("agent.sock".into()));
        assert!(h.identity_files[0].is_absolute());
        assert!(matches!(&h.agent, Some(AgentChoice::Socket(p)) if p.is_absolute()));
        // an engine's explicit choice wins over the config's, as in establish()
        assert!(matches!(&h.jumps[0].agent, Some(AgentChoice::Socket(_))));
        let h2 = for_helper(&r, &AgentChoice::Env);
        assert_eq!(h2.jumps[0].agent, Some(AgentChoice::Off));
        assert!(!matches!(h2.agent, Some(AgentChoice::Env) | None));
    }

    #[test]
    fn protocol_round_trips() {
        let e = SshError::Jump {
            hop: "u@j:22".into(),
            error: Box::new(SshError::CommandTimeout(Duration::from_millis(1500))),
        };
        let line = serde_json::to_string(&Reply::Failed(e.clone())).unwrap();
        match serde_json::from_str::<Reply>(&line).unwrap() {
            Reply::Failed(back) => assert_eq!(back, e),
            other => panic!("{other:?}"),
        }
        assert_eq!(unb64(&b64(b"\x00\xffbytes\n")).unwrap(), b"\x00\xffbytes\n");
        assert_eq!(unb64("").unwrap(), b"");
        assert!(unb64("!!!").is_none());
    }

    #[test]
    fn private_dir() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("state/mux");
        ensure_private_dir(&d).unwrap();
        let m = std::fs::metadata(&d).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&d).unwrap();
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let link = t.path().join("state/link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(ensure_private_dir(&link).is_err());
    }
}
