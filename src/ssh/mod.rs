//! The SSH engine: resolve a host like `ssh NAME`, connect (ProxyJump
//! included), authenticate (agent, then key files), verify host keys against
//! known_hosts, run commands with timeouts, and sweep many hosts with a bound.
//! Knows nothing of the UI.
//!
//! (Interface stub: the engine work fills in the bodies; the signatures are
//! the contract that checks, patches, backups, run and the UI build on.)

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::{Host, SshSettings};

/// StrictHostKeyChecking as resolved for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrictHostKeyChecking {
    /// Refuse unknown keys.
    Yes,
    /// Record unknown keys, refuse changed ones.
    AcceptNew,
    /// OpenSSH's default: ask (headless: refuse unless --accept-new).
    #[default]
    Ask,
    /// Accept unknown keys without recording; changed keys are still refused by opsdeck.
    No,
}

/// Everything needed to reach one host, after SSH-config resolution and the
/// overrides from hosts.toml.
#[derive(Debug, Clone, PartialEq)]
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
}

/// A host key the known_hosts files do not know.
#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, PartialEq)]
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
    Other(String),
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshError::Resolve(m) => write!(f, "cannot resolve: {m}"),
            SshError::Dns(m) => write!(f, "name lookup failed: {m}"),
            SshError::Connect(m) => write!(f, "connection failed: {m}"),
            SshError::Timeout(m) => write!(f, "timed out: {m}"),
            SshError::Handshake(m) => write!(f, "SSH handshake failed: {m}"),
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
            SshError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SshError {}

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
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// None when the command was killed by a signal.
    pub exit_status: Option<i32>,
    pub exit_signal: Option<String>,
    pub elapsed: Duration,
}

/// Options of one engine (one per command / TUI session).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Headless `--accept-new`: record unknown keys as OpenSSH's accept-new.
    pub accept_new: bool,
}

/// Cancels a sweep: checked between hosts and between steps of one host.
pub type CancelFlag = Arc<AtomicBool>;

/// A live connection to one host (or the local machine, for `host = "local"`).
pub struct Conn {
    _private: (),
}

#[allow(unused_variables)]
impl Conn {
    /// The local machine: commands run under `sh -c` here, with the same
    /// ExecOptions semantics (stdin, timeout).
    pub fn local() -> Conn {
        todo!()
    }
    /// Run a command (a shell command line: quote every word with util::shell_quote).
    pub fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        todo!()
    }
    /// As exec, calling `on_output` with each chunk as it arrives (patch apply's live log).
    pub fn exec_stream(
        &mut self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut dyn FnMut(StreamKind, &[u8]),
    ) -> Result<ExecOutput, SshError> {
        todo!()
    }
}

/// One host's outcome in a sweep.
#[derive(Debug)]
pub struct HostDone<T> {
    pub host: String,
    pub elapsed: Duration,
    pub result: Result<T, SshError>,
}

#[derive(Clone)]
pub struct Engine {
    _private: Arc<()>,
}

#[allow(unused_variables)]
impl Engine {
    pub fn new(settings: &SshSettings, opts: EngineOptions) -> Engine {
        todo!()
    }
    /// Resolve like `ssh NAME` (blocking: runs `ssh -G`), then apply hosts.toml overrides.
    pub fn resolve(&self, host: &Host) -> Result<Resolved, SshError> {
        todo!()
    }
    /// Connect, verify the host key, authenticate (blocking; call off the async workers).
    pub fn connect(&self, host: &Host) -> Result<Conn, SshError> {
        todo!()
    }
    /// Append an unknown key to its known_hosts file (the TUI's "accept").
    pub fn accept_host_key(&self, key: &UnknownKey) -> Result<(), SshError> {
        todo!()
    }
    /// Run `job` on every host, at most [ssh] concurrency at once, each on a
    /// blocking thread of its own (never on the async workers); each result is
    /// sent as soon as that host is done. Connection errors are results too.
    /// Must be called inside a tokio runtime.
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
        todo!()
    }
}
