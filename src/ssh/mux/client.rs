//! The client side: open a kept (or new) session through the helper,
//! starting it when needed, and run commands on it.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{
    AgentChoice, CancelFlag, Engine, ExecOptions, ExecOutput, Resolved, SshError, StreamKind,
};

use super::protocol::*;
use super::*;

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
pub(super) fn for_helper(r: &Resolved, engine_agent: &AgentChoice) -> Resolved {
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

pub(super) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// How long the helper may take to open a connection before the client
/// gives up on it (it enforces the real timeouts itself; this is a backstop
/// for a helper that hangs): generous, as a jump host may queue handshakes.
pub(super) fn open_budget(r: &Resolved) -> Duration {
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
pub(super) fn connect_checked(sock: &Path) -> Result<UnixStream, String> {
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

pub(super) fn connect_or_start(
    cfg: &PersistConfig,
    state: &ClientState,
) -> Result<UnixStream, String> {
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
pub(super) fn spawn_helper(cfg: &PersistConfig) -> Result<(), String> {
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
