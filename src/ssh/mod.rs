//! The SSH engine: resolve a host like `ssh NAME`, connect (ProxyJump
//! included), authenticate (agent, then key files), verify host keys against
//! known_hosts, run commands with timeouts, and sweep many hosts with a bound.
//! Knows nothing of the UI.
//!
//! Files: `config` (ssh -G and overrides), `known_hosts` (parser, verdicts,
//! appends), `auth` (agent, key files, encrypted-key detection), `session`
//! (connect, handshake, exec with deadlines), `jump` (ProxyJump tunnels),
//! `sweep` (bounded fan-out on std threads), `local` (`host = "local"`),
//! `mux` (connection persistence, `[ssh] persist_s`: a helper process that
//! keeps sessions open between commands, as OpenSSH's ControlPersist).
//! Decisions: docs/decisions/ssh.md.

pub mod auth;
pub mod capture;
pub mod config;
mod io;
mod jump;
pub mod known_hosts;
mod local;
pub mod mux;
pub mod session;
mod sweep;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::model::{Host, SshSettings};

/// StrictHostKeyChecking as resolved for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StrictHostKeyChecking {
    /// Refuse unknown keys.
    Yes,
    /// Record unknown keys, refuse changed ones.
    AcceptNew,
    /// OpenSSH's default: ask (headless: refuse unless --accept-new).
    #[default]
    Ask,
    /// Accept and record unknown keys (as OpenSSH does with `no`); changed
    /// keys are still refused by opsdeck.
    No,
}

/// Everything needed to reach one host, after SSH-config resolution and the
/// overrides from hosts.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    /// The name in hosts.toml (or the jump spec).
    pub alias: String,
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    /// UserKnownHostsFile entries; new keys are appended to the first.
    pub known_hosts_files: Vec<PathBuf>,
    pub strict: StrictHostKeyChecking,
    pub connect_timeout: Duration,
    /// ProxyJump chain, outermost first, each resolved the same way.
    pub jumps: Vec<Resolved>,
    /// IdentityAgent from the SSH config (None: not set). Used when the
    /// engine's own choice is the environment (`AgentChoice::Env`).
    pub agent: Option<AgentChoice>,
}

/// A host key the known_hosts files do not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownKey {
    /// `host` or `[host]:port`, as it would be written to known_hosts.
    pub host_pattern: String,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...
    pub key_type: String,
    /// `SHA256:...` as OpenSSH prints it.
    pub fingerprint: String,
    /// Base64 key blob, for recording.
    pub key_base64: String,
    /// Where it would be recorded.
    pub known_hosts_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SshError {
    /// SSH config resolution failed (ssh -G error, bad ProxyJump spec...).
    Resolve(String),
    /// Name lookup failed.
    Dns(String),
    /// TCP connect refused / unreachable.
    Connect(String),
    /// No answer within the timeout (connect, banner, handshake, auth).
    Timeout(String),
    /// Key exchange / protocol failure (incl. "server too old: SHA-1 only").
    Handshake(String),
    /// The server dropped the connection before or during the key exchange
    /// (no banner, closed): sshd's MaxStartups does that to excess
    /// connections, so it may be retried.
    Dropped(String),
    /// Unknown host key: refused (headless without --accept-new) or to be asked (TUI).
    HostKeyUnknown(UnknownKey),
    /// Changed host key: always refused. Message has both fingerprints and the known_hosts file:line.
    HostKeyChanged(String),
    /// Authentication failed; message says what was tried.
    Auth(String),
    /// A command outlived its timeout.
    CommandTimeout(Duration),
    /// A jump host failed: which hop and why.
    Jump {
        hop: String,
        error: Box<SshError>,
    },
    /// The sweep was cancelled.
    Cancelled,
    /// The command had started (the server confirmed it) and then the
    /// connection was lost (the server, the network or the connection
    /// helper went away): it may have run to its end, or not. Never
    /// reported as "never ran".
    LostAfterStart(String),
    /// opsdeck itself failed on this host (a panic caught at the host's
    /// boundary): the outcome is unknown, never "ok" and never dropped.
    Internal(String),
    Other(String),
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshError::Resolve(m) => write!(f, "cannot resolve: {m}"),
            SshError::Dns(m) => write!(f, "name lookup failed: {m}"),
            SshError::Connect(m) => write!(f, "connection failed: {m}"),
            SshError::Timeout(m) => write!(f, "timed out: {m}"),
            SshError::Handshake(m) | SshError::Dropped(m) => write!(f, "SSH handshake failed: {m}"),
            SshError::HostKeyUnknown(k) => write!(
                f,
                "unknown host key for {}: {} {} (not in {}); accept it in the TUI or run with --accept-new",
                k.host_pattern,
                k.key_type,
                k.fingerprint,
                k.known_hosts_file.display()
            ),
            SshError::HostKeyChanged(m) => write!(f, "HOST KEY CHANGED, refusing to connect: {m}"),
            SshError::Auth(m) => write!(f, "authentication failed: {m}"),
            SshError::CommandTimeout(d) => write!(f, "command timed out after {}s", d.as_secs()),
            SshError::Jump { hop, error } => write!(f, "via jump host {hop}: {error}"),
            SshError::Cancelled => write!(f, "cancelled"),
            SshError::LostAfterStart(m) => write!(
                f,
                "outcome unknown: connection lost after the command started ({m})"
            ),
            SshError::Internal(m) => f.write_str(m),
            SshError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SshError {}

/// What an SSH error says about a host key, as data: the TUI asks about an
/// unknown key and shows a changed one from this, never from the words of
/// a message.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyProblem {
    /// Not in known_hosts: may be accepted (the key, and the jump host it
    /// belongs to when it is a hop's).
    Unknown {
        key: UnknownKey,
        via: Option<String>,
    },
    /// Changed or revoked: refused, always (the engine's message, with both
    /// fingerprints and the known_hosts file and line).
    Changed {
        message: String,
        via: Option<String>,
    },
}

impl SshError {
    /// The host-key problem behind this error (through jump hosts), if any.
    pub fn key_problem(&self) -> Option<KeyProblem> {
        fn walk(e: &SshError, via: Option<String>) -> Option<KeyProblem> {
            match e {
                SshError::HostKeyUnknown(key) => Some(KeyProblem::Unknown {
                    key: key.clone(),
                    via,
                }),
                SshError::HostKeyChanged(m) => Some(KeyProblem::Changed {
                    message: m.clone(),
                    via,
                }),
                SshError::Jump { hop, error } => walk(error, Some(hop.clone())),
                _ => None,
            }
        }
        walk(self, None)
    }

    /// Was the host never reached (nothing ran, nothing changed there)?
    pub fn never_reached(&self) -> bool {
        match self {
            SshError::Resolve(_)
            | SshError::Dns(_)
            | SshError::Connect(_)
            | SshError::Timeout(_)
            | SshError::Handshake(_)
            | SshError::Dropped(_)
            | SshError::HostKeyUnknown(_)
            | SshError::HostKeyChanged(_)
            | SshError::Auth(_)
            | SshError::Jump { .. }
            | SshError::Cancelled => true,
            SshError::CommandTimeout(_)
            | SshError::LostAfterStart(_)
            | SshError::Internal(_)
            | SshError::Other(_) => false,
        }
    }

    /// Did the command possibly run (so the host may have changed)? True
    /// for a command that timed out or was lost after it started, and for
    /// an internal failure whose moment is unknown.
    pub fn may_have_run(&self) -> bool {
        matches!(
            self,
            SshError::CommandTimeout(_) | SshError::LostAfterStart(_) | SshError::Internal(_)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdout,
    Stderr,
}

/// How to run one remote command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Bytes written to the command's stdin, then EOF (secrets go here, never in argv).
    pub stdin: Option<Vec<u8>>,
    /// None: [ssh] command_timeout_s.
    pub timeout: Option<Duration>,
    /// Bytes kept of each output stream (head and tail, the middle counted
    /// and dropped as it arrives); None: [`capture::DEFAULT_CAP`].
    pub max_output: Option<usize>,
}

impl ExecOptions {
    /// The cap of each output stream.
    pub fn cap(&self) -> usize {
        self.max_output.unwrap_or(capture::DEFAULT_CAP)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// None when the command was killed by a signal.
    pub exit_status: Option<i32>,
    pub exit_signal: Option<String>,
    pub elapsed: Duration,
    /// Bytes of output dropped by the cap (0: the output is whole).
    pub dropped: u64,
}

/// Options of one engine (one per command / TUI session).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Headless `--accept-new`: record unknown keys as OpenSSH's accept-new.
    pub accept_new: bool,
}

pub use auth::AgentChoice;

/// Cancels a sweep: checked between hosts and between steps of one host.
pub type CancelFlag = Arc<AtomicBool>;

enum ConnKind {
    Remote(Box<session::Remote>),
    Local {
        default_timeout: Duration,
    },
    /// A session kept by the connection helper (`[ssh] persist_s`).
    Mux(Box<mux::MuxConn>),
}

/// A live connection to one host (or the local machine, for `host = "local"`).
pub struct Conn {
    kind: ConnKind,
    /// What the last command printed before it timed out.
    partial: Option<ExecOutput>,
}

impl Conn {
    /// The local machine: commands run under `sh -c` here, with the same
    /// ExecOptions semantics (stdin, timeout; the default timeout is the
    /// default `[ssh] command_timeout_s`, see [`Engine::local`]).
    pub fn local() -> Conn {
        Conn {
            kind: ConnKind::Local {
                default_timeout: Duration::from_secs(
                    crate::model::SshSettings::default().command_timeout_s,
                ),
            },
            partial: None,
        }
    }
    /// Run a command (a shell command line: quote every word with util::shell_quote).
    pub fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        self.exec_stream(command, opts, &mut |_, _| {})
    }
    /// As exec, calling `on_output` with each chunk as it arrives (patch apply's live log).
    /// A command that outlives its timeout gives `CommandTimeout`, and the
    /// connection is cut (later calls fail): callers reconnect if they need to.
    pub fn exec_stream(
        &mut self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut dyn FnMut(StreamKind, &[u8]),
    ) -> Result<ExecOutput, SshError> {
        tracing::debug!(
            command_len = command.len(),
            stdin = opts.stdin.is_some(),
            "exec"
        );
        self.partial = None;
        let start = std::time::Instant::now();
        let mut partial = capture::Streams::new(opts.cap());
        let mut collect = |kind: StreamKind, chunk: &[u8]| {
            partial.push(kind, chunk);
            on_output(kind, chunk);
        };
        let mut fallback = None;
        let mut result = match &mut self.kind {
            ConnKind::Remote(r) => {
                r.exec(command, opts, &mut collect, &mut session::Hooks::default())
            }
            ConnKind::Local { default_timeout } => {
                local::exec(command, opts, *default_timeout, &mut collect)
            }
            ConnKind::Mux(m) => match m.exec(command, opts, &mut collect) {
                mux::MuxExec::Done(r) => r,
                mux::MuxExec::Fallback(why) => {
                    fallback = Some((m.engine.clone(), m.resolved.clone(), why));
                    Err(SshError::Other(String::new()))
                }
            },
        };
        if let Some((engine, resolved, why)) = fallback {
            // The helper went away before the command started: run it on a
            // connection of our own, as without persistence.
            tracing::info!(
                "{}: connection helper unavailable ({why}); connecting directly",
                resolved.alias
            );
            result = match engine.connect_direct(&resolved, None) {
                Ok(mut remote) => {
                    let r =
                        remote.exec(command, opts, &mut collect, &mut session::Hooks::default());
                    self.kind = ConnKind::Remote(remote);
                    r
                }
                Err(e) => Err(e),
            };
        }
        // The output is kept here, once, capped, whatever kind of
        // connection ran the command (the runners only stream it).
        match &mut result {
            Ok(out) => partial.finish_into(out),
            Err(SshError::CommandTimeout(_)) => {
                let mut out = ExecOutput {
                    elapsed: start.elapsed(),
                    ..Default::default()
                };
                partial.finish_into(&mut out);
                self.partial = Some(out);
            }
            Err(_) => {}
        }
        result
    }
    /// What the last command printed before it outlived its timeout (None
    /// when it did not time out). Taken once.
    pub fn take_partial_output(&mut self) -> Option<ExecOutput> {
        self.partial.take()
    }
    /// Is this the local machine?
    pub fn is_local(&self) -> bool {
        matches!(self.kind, ConnKind::Local { .. })
    }
}

/// One host's outcome in a sweep.
#[derive(Debug)]
pub struct HostDone<T> {
    pub host: String,
    pub elapsed: Duration,
    pub result: Result<T, SshError>,
}

struct Inner {
    settings: SshSettings,
    opts: EngineOptions,
    agent: AgentChoice,
    /// ssh -G results by name.
    lookups: Mutex<HashMap<String, config::SshG>>,
    /// Full resolutions by host fields.
    resolved: Mutex<HashMap<String, Resolved>>,
    kh_lock: Mutex<()>,
    /// Handshake slots per jump host (`host:port`).
    hop_gates: Mutex<HashMap<String, Arc<jump::Gate>>>,
    /// Connection persistence (None: off).
    persist: Option<mux::PersistConfig>,
    mux: mux::ClientState,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// An engine using the agent at `SSH_AUTH_SOCK` (if any).
    pub fn new(settings: &SshSettings, opts: EngineOptions) -> Engine {
        Engine::with_agent(settings, opts, AgentChoice::Env)
    }

    /// An engine with an explicit agent choice (a socket of its own, or none):
    /// tests use this instead of changing the process environment.
    pub fn with_agent(settings: &SshSettings, opts: EngineOptions, agent: AgentChoice) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                opts,
                agent,
                lookups: Mutex::new(HashMap::new()),
                resolved: Mutex::new(HashMap::new()),
                kh_lock: Mutex::new(()),
                hop_gates: Mutex::new(HashMap::new()),
                persist: None,
                mux: mux::ClientState::default(),
            }),
        }
    }

    /// The public key blobs this engine may log in to `host` with: its
    /// identity files (the SSH config's and `[ssh] identity_files`) and the
    /// agent's keys. `keys revoke` never removes one of these.
    pub fn own_key_blobs(&self, host: &Host) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let agent = match self.resolve(host) {
            Ok(r) => {
                for f in &r.identity_files {
                    if let Some(b) = auth::public_blob(f) {
                        out.push(b);
                    }
                }
                match (&self.inner.agent, r.agent) {
                    (AgentChoice::Env, Some(a)) => a,
                    (a, _) => a.clone(),
                }
            }
            Err(_) => self.inner.agent.clone(),
        };
        out.extend(auth::agent_blobs(&agent));
        out
    }

    /// This engine with connection persistence set (None: off): connections
    /// are opened and kept by the helper process `cfg.program __mux` for the
    /// home `cfg.state_dir`, `cfg.idle` after their last use. See [`mux`].
    pub fn with_persist(self, cfg: Option<mux::PersistConfig>) -> Engine {
        let i = &self.inner;
        Engine {
            inner: Arc::new(Inner {
                settings: i.settings.clone(),
                opts: i.opts.clone(),
                agent: i.agent.clone(),
                lookups: Mutex::new(HashMap::new()),
                resolved: Mutex::new(HashMap::new()),
                kh_lock: Mutex::new(()),
                hop_gates: Mutex::new(HashMap::new()),
                persist: cfg,
                mux: mux::ClientState::default(),
            }),
        }
    }

    /// This engine with `[ssh] persist_s` applied for `home` (the helper is
    /// this program, `state/mux/` its directory). persist_s = 0: unchanged.
    pub fn with_home(self, home: &crate::store::Home) -> Engine {
        let secs = self.inner.settings.persist_s;
        if secs == 0 {
            return self;
        }
        match std::env::current_exe() {
            Ok(program) => self.with_persist(Some(mux::PersistConfig {
                state_dir: home.state_dir.clone(),
                idle: Duration::from_secs(secs),
                program,
            })),
            Err(e) => {
                tracing::info!("connection persistence off: cannot find this program ({e})");
                self
            }
        }
    }

    /// Is connection persistence on for this engine?
    pub fn persist(&self) -> Option<&mux::PersistConfig> {
        self.inner.persist.as_ref()
    }

    /// The local machine with this engine's default command timeout.
    pub fn local(&self) -> Conn {
        Conn {
            kind: ConnKind::Local {
                default_timeout: self.command_timeout(),
            },
            partial: None,
        }
    }

    /// `[ssh] command_timeout_s` (at least 1 s).
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.inner.settings.command_timeout_s.max(1))
    }

    /// `[ssh] concurrency` (at least 1).
    pub fn concurrency(&self) -> usize {
        self.inner.settings.concurrency.max(1)
    }

    fn lookup(&self, name: &str) -> Result<config::SshG, SshError> {
        if let Some(g) = self
            .inner
            .lookups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(g.clone());
        }
        let cfg = config::config_path(&self.inner.settings);
        let g = config::run_ssh_g(cfg.as_deref(), name)?;
        self.inner
            .lookups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), g.clone());
        Ok(g)
    }

    /// Resolve like `ssh NAME` (blocking: runs `ssh -G`), then apply hosts.toml overrides.
    pub fn resolve(&self, host: &Host) -> Result<Resolved, SshError> {
        let key = format!(
            "{}\0{:?}\0{:?}\0{:?}\0{:?}",
            host.name, host.address, host.port, host.user, host.jump
        );
        if let Some(r) = self
            .inner
            .resolved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(r.clone());
        }
        let r = config::resolve_host(host, &self.inner.settings, &|n| self.lookup(n))?;
        self.inner
            .resolved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, r.clone());
        Ok(r)
    }

    /// Connect, verify the host key, authenticate (blocking; call off the async workers).
    pub fn connect(&self, host: &Host) -> Result<Conn, SshError> {
        self.connect_cancellable(host, None)
    }

    /// As connect, checking `cancel` between steps (resolve, each hop, target).
    pub fn connect_cancellable(
        &self,
        host: &Host,
        cancel: Option<&CancelFlag>,
    ) -> Result<Conn, SshError> {
        let r = self.resolve(host)?;
        self.connect_resolved(&r, cancel)
    }

    /// Connect to an already resolved host (ProxyJump chain included):
    /// through the connection helper when persistence is on (reusing a
    /// kept session; directly when the helper is unavailable), else directly.
    pub fn connect_resolved(
        &self,
        r: &Resolved,
        cancel: Option<&CancelFlag>,
    ) -> Result<Conn, SshError> {
        if let Some(cfg) = &self.inner.persist {
            match mux::open(self, cfg, r, cancel) {
                mux::Opened::Conn(m) => {
                    return Ok(Conn {
                        kind: ConnKind::Mux(Box::new(m)),
                        partial: None,
                    })
                }
                mux::Opened::Failed(e) => return Err(e),
                mux::Opened::Unavailable(why) => {
                    tracing::debug!("{}: connecting directly: {why}", r.alias);
                }
            }
        }
        let remote = self.connect_direct(r, cancel)?;
        Ok(Conn {
            kind: ConnKind::Remote(remote),
            partial: None,
        })
    }

    /// A connection of this process's own (no helper).
    pub(crate) fn connect_direct(
        &self,
        r: &Resolved,
        cancel: Option<&CancelFlag>,
    ) -> Result<Box<session::Remote>, SshError> {
        self.connect_with(r, cancel, self.inner.opts.accept_new)
    }

    pub(crate) fn connect_with(
        &self,
        r: &Resolved,
        cancel: Option<&CancelFlag>,
        accept_new: bool,
    ) -> Result<Box<session::Remote>, SshError> {
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let ctx = session::ConnectCtx {
            accept_new,
            agent: &self.inner.agent,
            kh_lock: &self.inner.kh_lock,
        };
        let mut host_keys = Vec::new();
        let mut tunnels = Vec::new();
        let mut transport: Option<std::os::unix::net::UnixStream> = None;
        // hops, outermost first, then the target
        let chain: Vec<&Resolved> = r.jumps.iter().chain(std::iter::once(r)).collect();
        let last = chain.len() - 1;
        for (i, hop) in chain.iter().enumerate() {
            if cancelled() {
                return Err(SshError::Cancelled);
            }
            let is_target = i == last;
            let wrap = |e: SshError| -> SshError {
                if is_target {
                    e
                } else {
                    SshError::Jump {
                        hop: format!("{}@{}:{}", hop.user, hop.alias, hop.port),
                        error: Box::new(e),
                    }
                }
            };
            let (sess, keep) = if is_target {
                // one deadline for the whole hop: lookup, TCP, banner, keys, auth
                let deadline =
                    crate::util::deadline(std::time::Instant::now(), hop.connect_timeout);
                let sock = match transport.take() {
                    Some(u) => session::Sock::Unix(u),
                    None => session::Sock::Tcp(session::tcp_connect(hop, deadline).map_err(wrap)?),
                };
                session::establish(sock, hop, &ctx, deadline)?
            } else {
                self.connect_hop(hop, transport.take(), &ctx, &cancelled)
                    .map_err(wrap)?
            };
            tracing::debug!("connected to {}@{}:{}", hop.user, hop.hostname, hop.port);
            host_keys.extend(session::HostKeyRecord::of(&sess, hop));
            if is_target {
                return Ok(Box::new(session::Remote::new(
                    sess,
                    keep,
                    tunnels,
                    r.alias.clone(),
                    self.command_timeout(),
                    r.connect_timeout,
                    host_keys,
                )));
            }
            let next = chain[i + 1];
            let (stream, tunnel) =
                jump::open(sess, keep, &next.hostname, next.port, hop.connect_timeout)
                    .map_err(wrap)?;
            tunnels.push(tunnel);
            transport = Some(stream);
        }
        Err(SshError::Other("empty connection chain".into()))
    }

    /// One jump hop: at most `Gate::CAPACITY` handshakes in flight to it,
    /// and a first hop (direct TCP) dropped before its banner is retried
    /// twice (sshd's MaxStartups drops excess connections that way).
    fn connect_hop(
        &self,
        hop: &Resolved,
        transport: Option<std::os::unix::net::UnixStream>,
        ctx: &session::ConnectCtx,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<(ssh2::Session, session::Sock), SshError> {
        let key = format!("{}:{}", hop.hostname, hop.port);
        let gate = self
            .inner
            .hop_gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(jump::Gate::new()))
            .clone();
        let wait_until = crate::util::deadline(
            std::time::Instant::now(),
            hop.connect_timeout.saturating_mul(6),
        );
        let _permit = gate.acquire(wait_until, cancelled)?;
        let hop_deadline = || crate::util::deadline(std::time::Instant::now(), hop.connect_timeout);
        if let Some(u) = transport {
            return session::establish(session::Sock::Unix(u), hop, ctx, hop_deadline());
        }
        let mut attempt = 0;
        loop {
            let deadline = hop_deadline();
            let sock = session::Sock::Tcp(session::tcp_connect(hop, deadline)?);
            match session::establish(sock, hop, ctx, deadline) {
                Err(e) if attempt < 2 && matches!(e, SshError::Dropped(_)) && !cancelled() => {
                    attempt += 1;
                    let jitter = u64::from(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.subsec_nanos() % 150)
                            .unwrap_or(0),
                    ) + 50 * attempt;
                    tracing::debug!(
                        "jump host {} dropped us at the start ({e}); retrying",
                        hop.alias
                    );
                    std::thread::sleep(Duration::from_millis(100 + jitter));
                }
                other => return other,
            }
        }
    }

    /// Append an unknown key to its known_hosts file (the TUI's "accept").
    /// A key already recorded is not repeated; a host with another key of
    /// that type is refused (changed keys are never overwritten).
    pub fn accept_host_key(&self, key: &UnknownKey) -> Result<(), SshError> {
        session::record(key, &self.inner.kh_lock)?;
        tracing::info!(
            "accepted host key for {}: {} {}",
            key.host_pattern,
            key.key_type,
            key.fingerprint
        );
        Ok(())
    }

    /// Run `job` on every host, at most [ssh] concurrency at once, each on a
    /// thread of its own (never on the async workers); each result is
    /// sent as soon as that host is done. Connection errors are results too.
    /// Hosts not started when `cancel` is set (or the receiver is dropped)
    /// are reported as `Cancelled`; hosts in flight finish on their own
    /// thread without anyone waiting for them. Needs no tokio runtime.
    pub fn sweep<T, F>(
        &self,
        hosts: Vec<Host>,
        cancel: CancelFlag,
        job: F,
    ) -> mpsc::UnboundedReceiver<HostDone<T>>
    where
        T: Send + 'static,
        F: Fn(&mut Conn, &Host) -> Result<T, SshError> + Send + Sync + 'static,
    {
        sweep::sweep(self, hosts, cancel, job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_move_between_threads() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<Conn>();
        send::<Engine>();
        sync::<Engine>();
        send::<SshError>();
    }
}
