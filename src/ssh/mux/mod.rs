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

mod client;
mod helper;
mod protocol;

#[cfg(test)]
use client::for_helper;
pub(crate) use client::{open, MuxConn, MuxExec, Opened};
#[cfg(test)]
use helper::pool_key;
pub use helper::run_helper;
#[cfg(test)]
use protocol::{b64, unb64, Reply};

use std::fs::DirBuilder;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use super::session::{self};
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

pub(super) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// The uid of the process at the other end of a unix socket.
pub(super) fn peer_uid(s: &UnixStream) -> Option<u32> {
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
