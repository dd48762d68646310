//! One SSH connection: TCP (or a jump tunnel), handshake with the host-key
//! preference, host-key verification, authentication, and commands run with
//! their own deadline on a non-blocking session.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use std::time::{Duration, Instant};

use ssh2::{MethodType, Session};

use super::auth::{self, AgentChoice};
pub(crate) use super::io::{
    err_code, ms, peer_closed, poll_fds, translate, translate_handshake, would_block, Sock,
};
use super::jump::Tunnel;
use super::known_hosts::{self, Verdict};
use super::{
    ExecOptions, ExecOutput, Resolved, SshError, StreamKind, StrictHostKeyChecking, UnknownKey,
};

/// An authenticated session and what keeps it alive.
pub(crate) struct Remote {
    pub(crate) session: Session,
    pub(crate) sock: Sock,
    /// Tunnels of the ProxyJump hops (outermost first); dropping stops them.
    #[allow(dead_code)] // held for its Drop: stops the pumps
    pub(crate) tunnels: Vec<Tunnel>,
    pub(crate) label: String,
    pub(crate) default_timeout: Duration,
    /// Set after a command timed out: the session was cut.
    pub(crate) dead: bool,
    /// The last exec got as far as starting the command on the host.
    pub(crate) started: bool,
    /// Kept open between uses (connection persistence): opening a channel
    /// is bounded by `open_timeout` too, so a connection that died quietly
    /// is noticed before the command's own timeout has gone.
    pub(crate) reused: bool,
    pub(crate) open_timeout: Duration,
    /// The host keys this connection was verified with, per hop and the target.
    pub(crate) host_keys: Vec<HostKeyRecord>,
}

/// A host key a connection was opened with, to check again before reuse.
pub(crate) struct HostKeyRecord {
    /// `host` or `[host]:port`.
    pub(crate) name: String,
    pub(crate) files: Vec<std::path::PathBuf>,
    pub(crate) blob: Vec<u8>,
}

impl HostKeyRecord {
    pub(crate) fn of(sess: &Session, r: &Resolved) -> Option<HostKeyRecord> {
        let (blob, _) = sess.host_key()?;
        Some(HostKeyRecord {
            name: known_hosts::host_name(&r.hostname, r.port),
            files: r.known_hosts_files.clone(),
            blob: blob.to_vec(),
        })
    }
    /// Do the known_hosts files still say this key is the host's?
    pub(crate) fn still_known(&self) -> bool {
        let entries = known_hosts::load(&self.files);
        matches!(
            known_hosts::verify(&entries, &self.name, &self.blob),
            Verdict::Match { .. }
        )
    }
}

/// What a caller of [`Remote::exec`] can add: an abort check (polled while
/// the command runs) and a call when the command has been started.
#[derive(Default)]
pub(crate) struct Hooks<'a> {
    pub(crate) abort: Option<&'a dyn Fn() -> bool>,
    pub(crate) started: Option<&'a mut dyn FnMut()>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        if self.dead {
            self.sock.shutdown();
        } else {
            self.session.set_blocking(true);
            self.session.set_timeout(1000);
            let _ = self.session.disconnect(None, "bye", None);
        }
    }
}

/// Seconds between keepalives while a command runs.
const KEEPALIVE_S: u32 = 30;

/// Name lookup bounded by `timeout` (getaddrinfo itself is not: it runs on
/// a helper thread that is left to finish on its own).
fn lookup(host: &str, port: u16, timeout: Duration) -> Result<Vec<std::net::SocketAddr>, SshError> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![std::net::SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(|e| SshError::Other(format!("cannot start a thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(SshError::Dns(format!("{host}: {e}"))),
        Err(_) => Err(SshError::Dns(format!(
            "{host}: no answer from the resolver within {}s",
            timeout.as_secs()
        ))),
    }
}

/// TCP to the first address that answers, name lookup included, all of
/// them before `deadline` (the hop's one connect deadline, which the
/// handshake and authentication share, as OpenSSH's ConnectTimeout covers
/// the banner exchange). The error says what happened first: refused (nothing listens),
/// no route, or no answer at all (the host is down, or a firewall drops
/// the connection), so a narrow column keeps the useful part.
pub(crate) fn tcp_connect(r: &Resolved, deadline: Instant) -> Result<TcpStream, SshError> {
    let addrs = lookup(
        &r.hostname,
        r.port,
        deadline.saturating_duration_since(Instant::now()),
    )?;
    if addrs.is_empty() {
        return Err(SshError::Dns(format!("{}: no address", r.hostname)));
    }
    let mut last = None;
    for a in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(a, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => {
                tracing::debug!("connect {a}: {e}");
                last = Some(match e.kind() {
                    ErrorKind::TimedOut | ErrorKind::WouldBlock => SshError::Timeout(format!(
                        "no answer from {a} within {}s (host down, or a firewall drops the connection)",
                        r.connect_timeout.as_secs()
                    )),
                    ErrorKind::ConnectionRefused => {
                        SshError::Connect(format!("refused by {a} (nothing listens on that port)"))
                    }
                    ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                        SshError::Connect(format!("no route to {a} ({e})"))
                    }
                    _ => SshError::Connect(format!("{a}: {e}")),
                });
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        SshError::Timeout(format!(
            "no answer from {}:{} within {}s (host down, or a firewall drops the connection)",
            r.hostname,
            r.port,
            r.connect_timeout.as_secs()
        ))
    }))
}

/// What the engine needs to know while connecting.
pub(crate) struct ConnectCtx<'a> {
    pub accept_new: bool,
    pub agent: &'a AgentChoice,
    /// Serialises appends to known_hosts in this process.
    pub kh_lock: &'a std::sync::Mutex<()>,
}

/// Handshake, verify the host key, authenticate, over an established
/// transport, all before `deadline` (the rest of the hop's connect deadline).
pub(crate) fn establish(
    transport: Sock,
    r: &Resolved,
    ctx: &ConnectCtx,
    deadline: Instant,
) -> Result<(Session, Sock), SshError> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut sess = Session::new().map_err(|e| SshError::Other(format!("libssh2: {e}")))?;
    let keep = match &transport {
        Sock::Tcp(s) => Sock::Tcp(s.try_clone().map_err(|e| SshError::Other(e.to_string()))?),
        Sock::Unix(s) => Sock::Unix(s.try_clone().map_err(|e| SshError::Other(e.to_string()))?),
    };
    match transport {
        Sock::Tcp(s) => sess.set_tcp_stream(s),
        Sock::Unix(s) => sess.set_tcp_stream(s),
    }
    sess.set_timeout(ms(left()));

    // Prefer the host-key types known_hosts holds for this host (as OpenSSH).
    let name = known_hosts::host_name(&r.hostname, r.port);
    let entries = known_hosts::load(&r.known_hosts_files);
    let known = known_hosts::known_types(&entries, &name);
    // Nothing known: OpenSSH's own order, so the key recorded is the one
    // `ssh` would record.
    let default_order = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
    ];
    let wanted: Vec<String> = if known.is_empty() {
        default_order.iter().map(|s| s.to_string()).collect()
    } else {
        known.clone()
    };
    {
        if let Ok(supported) = sess.supported_algs(MethodType::HostKey) {
            let mut prefs: Vec<&str> = Vec::new();
            for t in &wanted {
                for m in known_hosts::methods_for_type(t) {
                    if supported.contains(m) && !prefs.contains(m) {
                        prefs.push(m);
                    }
                }
            }
            if !prefs.is_empty() {
                for m in &supported {
                    if !prefs.contains(m) {
                        prefs.push(m);
                    }
                }
                if let Err(e) = sess.method_pref(MethodType::HostKey, &prefs.join(",")) {
                    tracing::debug!("host key preference: {e}");
                }
            }
        }
    }

    sess.handshake().map_err(|e| {
        if err_code(&e) == -9 || left().is_zero() {
            SshError::Timeout(format!(
                "no SSH banner from {}:{} within {}s (it accepts connections but does not speak SSH)",
                r.hostname,
                r.port,
                r.connect_timeout.as_secs()
            ))
        } else {
            translate_handshake(&e)
        }
    })?;

    verify_host_key(&sess, r, &name, &entries, ctx)?;

    sess.set_timeout(ms(left()));
    let agent = match (ctx.agent, &r.agent) {
        (AgentChoice::Env, Some(from_config)) => from_config,
        (engine_choice, _) => engine_choice,
    };
    auth::authenticate(&sess, &r.user, &r.identity_files, r.identities_only, agent).map_err(
        |e| match e {
            SshError::Timeout(_) => SshError::Timeout(format!(
                "authentication took longer than {}s",
                r.connect_timeout.as_secs()
            )),
            other => other,
        },
    )?;
    // Keepalives are sent from the exec loop (`keepalive_send`), never by
    // libssh2 on its own in blocking calls: long silent commands (patch runs)
    // keep NAT and firewall state alive without spurious timeouts.
    sess.set_keepalive(false, KEEPALIVE_S);
    Ok((sess, keep))
}

fn verify_host_key(
    sess: &Session,
    r: &Resolved,
    name: &str,
    entries: &[known_hosts::Entry],
    ctx: &ConnectCtx,
) -> Result<(), SshError> {
    let (blob, _) = sess
        .host_key()
        .ok_or_else(|| SshError::Handshake("the server sent no host key".into()))?;
    let blob = blob.to_vec();
    let key_type = known_hosts::key_type_of_blob(&blob).unwrap_or_else(|| "unknown".into());
    let fp = known_hosts::fingerprint(&blob);
    match known_hosts::verify(entries, name, &blob) {
        Verdict::Match { .. } => Ok(()),
        Verdict::Revoked { file, line } => Err(SshError::HostKeyChanged(format!(
            "{name} offers {key_type} key {fp}, which {}:{line} marks @revoked",
            file.display()
        ))),
        Verdict::Changed {
            file,
            line,
            known_fingerprint,
        } => Err(SshError::HostKeyChanged(format!(
            "{name} now offers {key_type} key {fp}, but {}:{line} records {known_fingerprint}. \
             Someone may be intercepting the connection, or the host was reinstalled: check with its \
             owner, then remove that line (ssh-keygen -R '{name}' -f {}) and connect again",
            file.display(),
            file.display()
        ))),
        Verdict::Unknown { other_types } => {
            let file = r
                .known_hosts_files
                .first()
                .cloned()
                .unwrap_or_else(|| super::config::expand_tilde("~/.ssh/known_hosts"));
            let key = UnknownKey {
                host_pattern: name.to_string(),
                key_type: key_type.clone(),
                fingerprint: fp.clone(),
                key_base64: openssl::base64::encode_block(&blob),
                known_hosts_file: file,
            };
            // `--accept-new` on the command line is the user's explicit
            // intent and wins over the config file, as
            // `ssh -o StrictHostKeyChecking=accept-new` does (the first
            // value wins in OpenSSH, and -o comes first); a changed key is
            // refused above, always.
            let auto = ctx.accept_new
                || matches!(
                    r.strict,
                    StrictHostKeyChecking::No | StrictHostKeyChecking::AcceptNew
                );
            if !other_types.is_empty() {
                tracing::warn!(
                    "{name} offers a {key_type} key, but known_hosts holds only keys of type {} for it: \
                     not accepted automatically",
                    other_types.join("/")
                );
            }
            if auto && other_types.is_empty() {
                record(&key, ctx.kh_lock)?;
                tracing::info!(
                    "recorded new host key for {name}: {key_type} {fp} in {}",
                    key.known_hosts_file.display()
                );
                Ok(())
            } else {
                Err(SshError::HostKeyUnknown(key))
            }
        }
    }
}

/// Append an unknown key to its file (once: a line already there is not repeated).
pub(crate) fn record(key: &UnknownKey, lock: &std::sync::Mutex<()>) -> Result<(), SshError> {
    let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
    let entries = known_hosts::load(std::slice::from_ref(&key.known_hosts_file));
    let blob = openssl::base64::decode_block(&key.key_base64)
        .map_err(|_| SshError::Other("bad key".into()))?;
    match known_hosts::verify(&entries, &key.host_pattern, &blob) {
        Verdict::Match { .. } => return Ok(()),
        Verdict::Changed { file, line, .. } | Verdict::Revoked { file, line } => {
            return Err(SshError::HostKeyChanged(format!(
                "{} has another or a revoked key at {}:{line}; not recording",
                key.host_pattern,
                file.display()
            )))
        }
        Verdict::Unknown { .. } => {}
    }
    known_hosts::append(
        &key.known_hosts_file,
        &key.host_pattern,
        &key.key_type,
        &key.key_base64,
    )
    .map_err(|e| {
        SshError::Other(format!(
            "cannot record the host key in {}: {e}",
            key.known_hosts_file.display()
        ))
    })
}

impl Remote {
    /// A connection built from its parts (not reused yet).
    pub(crate) fn new(
        session: Session,
        sock: Sock,
        tunnels: Vec<Tunnel>,
        label: String,
        default_timeout: Duration,
        open_timeout: Duration,
        host_keys: Vec<HostKeyRecord>,
    ) -> Remote {
        Remote {
            session,
            sock,
            tunnels,
            label,
            default_timeout,
            dead: false,
            started: false,
            reused: false,
            open_timeout,
            host_keys,
        }
    }

    /// Can this kept connection serve another command: not cut, not closed
    /// by the server, and every host key it was verified with still in the
    /// known_hosts files (a key removed or changed there since is noticed
    /// here, before reuse).
    pub(crate) fn still_usable(&self) -> bool {
        !self.dead && !peer_closed(self.sock.fd()) && self.host_keys.iter().all(|k| k.still_known())
    }

    /// Run one command with its own deadline.
    pub(crate) fn exec(
        &mut self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut dyn FnMut(StreamKind, &[u8]),
        hooks: &mut Hooks,
    ) -> Result<ExecOutput, SshError> {
        self.started = false;
        if self.dead {
            return Err(SshError::Other(format!(
                "{}: the connection was closed after an earlier timeout",
                self.label
            )));
        }
        let timeout = opts.timeout.unwrap_or(self.default_timeout);
        let start = Instant::now();
        let deadline = crate::util::deadline(start, timeout);
        let left = || deadline.saturating_duration_since(Instant::now());
        let result = self.exec_inner(command, opts, on_output, hooks, deadline, start);
        match result {
            Err(SshError::CommandTimeout(_)) | Err(SshError::Timeout(_)) if left().is_zero() => {
                self.dead = true;
                self.sock.shutdown();
                self.session.set_blocking(false);
                tracing::info!(
                    "{}: command timed out after {}s; connection cut",
                    self.label,
                    timeout.as_secs()
                );
                Err(SshError::CommandTimeout(timeout))
            }
            Err(e) => {
                // A half-done exchange leaves the session unusable.
                self.dead = true;
                self.sock.shutdown();
                self.session.set_blocking(false);
                match e {
                    // the server confirmed the start: whether the command
                    // ran to its end is not known
                    e if self.started && !matches!(e, SshError::Cancelled) && !e.may_have_run() => {
                        Err(SshError::LostAfterStart(format!("{}: {e}", self.label)))
                    }
                    e => Err(e),
                }
            }
            ok => {
                self.reused = true;
                ok
            }
        }
    }

    fn exec_inner(
        &mut self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut dyn FnMut(StreamKind, &[u8]),
        hooks: &mut Hooks,
        deadline: Instant,
        start: Instant,
    ) -> Result<ExecOutput, SshError> {
        let left = || deadline.saturating_duration_since(Instant::now());
        let timeout = deadline - start;
        self.session.set_blocking(true);
        if self.reused {
            self.session.set_timeout(ms(left().min(self.open_timeout)));
        } else {
            self.session.set_timeout(ms(left()));
        }
        let mut ch = self
            .session
            .channel_session()
            .map_err(|e| translate(&e, "opening a channel"))?;
        self.session.set_timeout(ms(left()));
        ch.exec(command)
            .map_err(|e| translate(&e, "starting the command"))?;
        self.started = true;
        if let Some(f) = hooks.started.as_mut() {
            f();
        }
        self.session.set_blocking(false);

        let mut out = ExecOutput::default();
        let stdin = opts.stdin.as_deref().unwrap_or(&[]);
        let mut written = 0usize;
        let mut eof_sent = false;
        let mut stdin_broken = false;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let mut progress = false;
            // stdout
            loop {
                match ch.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        on_output(StreamKind::Stdout, &buf[..n]);
                        progress = true;
                    }
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(SshError::Other(format!("reading output: {e}"))),
                }
            }
            // stderr
            loop {
                match ch.stderr().read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        on_output(StreamKind::Stderr, &buf[..n]);
                        progress = true;
                    }
                    Err(e) if would_block(&e) => break,
                    Err(e) => return Err(SshError::Other(format!("reading errors: {e}"))),
                }
            }
            // stdin, then EOF
            if !stdin_broken && written < stdin.len() {
                match ch.write(&stdin[written..]) {
                    Ok(n) => {
                        written += n;
                        progress |= n > 0;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(_) => stdin_broken = true,
                }
            }
            if !eof_sent && (written >= stdin.len() || stdin_broken) {
                match ch.send_eof() {
                    Ok(()) => eof_sent = true,
                    Err(e) if err_code(&e) == -37 => {}
                    Err(_) => eof_sent = true,
                }
            }
            if ch.eof() {
                // drain what arrived with the EOF
                for kind in [StreamKind::Stdout, StreamKind::Stderr] {
                    loop {
                        let r = match kind {
                            StreamKind::Stdout => ch.read(&mut buf),
                            StreamKind::Stderr => ch.stderr().read(&mut buf),
                        };
                        match r {
                            Ok(n) if n > 0 => on_output(kind, &buf[..n]),
                            _ => break,
                        }
                    }
                }
                break;
            }
            if left().is_zero() {
                return Err(SshError::CommandTimeout(timeout));
            }
            if hooks.abort.is_some_and(|f| f()) {
                return Err(SshError::Cancelled);
            }
            if !progress {
                // sends only when KEEPALIVE_S have passed, and only with no
                // outbound data pending; errors show up on reads
                if matches!(
                    self.session.block_directions(),
                    ssh2::BlockDirections::None | ssh2::BlockDirections::Inbound
                ) {
                    let _ = self.session.keepalive_send();
                }
                self.wait_socket(left().min(Duration::from_millis(200)));
            }
        }
        // wait for the close (exit status arrives with it)
        loop {
            match ch.wait_close() {
                Ok(()) => break,
                Err(e) if err_code(&e) == -37 => {
                    if left().is_zero() {
                        return Err(SshError::CommandTimeout(timeout));
                    }
                    self.wait_socket(left().min(Duration::from_millis(200)));
                }
                Err(e) => return Err(translate(&e, "closing the channel")),
            }
        }
        let signal = ch.exit_signal().ok().and_then(|s| s.exit_signal);
        out.exit_status = if signal.is_some() {
            None
        } else {
            ch.exit_status().ok()
        };
        out.exit_signal = signal;
        out.elapsed = start.elapsed();
        Ok(out)
    }

    fn wait_socket(&self, timeout: Duration) {
        let dirs = self.session.block_directions();
        let mut events = libc::POLLIN;
        if matches!(
            dirs,
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        ) {
            events |= libc::POLLOUT;
        }
        let mut fds = [libc::pollfd {
            fd: self.sock.fd(),
            events,
            revents: 0,
        }];
        poll_fds(&mut fds, timeout);
    }
}
