//! Real OpenSSH `sshd` processes on loopback for the integration tests.
//!
//! Everything lives in one temporary directory per [`Fleet`]: host keys, the
//! user's key pair, each sshd's config and log, an `ssh_config`, a
//! `known_hosts`, and an `OPSDECK_HOME` (`opsdeck.toml` + `hosts.toml`) that
//! point only into that directory. Tests never read or write the user's
//! `~/.ssh`; the [`Fleet::opsdeck`] command also sets `HOME` to a directory of
//! the fleet and removes `SSH_AUTH_SOCK`.
//!
//! ```ignore
//! mod common;
//! use common::sshd::{Fleet, HostOptions, KnownHostsMode};
//!
//! let mut fleet = Fleet::new(Default::default());
//! fleet.add_hosts("web", 3, HostOptions::default()); // web1, web2, web3
//! fleet.add_silent("mute"); // accepts TCP, never speaks
//! fleet.add_refused("dead"); // nothing listens
//! fleet.add_host("stale", HostOptions { known_hosts: KnownHostsMode::Wrong, ..Default::default() });
//!
//! // In-process: the engine with the fleet's settings and its hosts.
//! let engine = opsdeck::ssh::Engine::new(&fleet.ssh_settings(), Default::default());
//! let mut conn = engine.connect(&fleet.host("web1")).unwrap();
//!
//! // Through the real binary (OPSDECK_HOME = fleet.home()).
//! let out = fleet.opsdeck(&["run", "all", "--", "uname"]).output().unwrap();
//! ```
//!
//! Every sshd runs as the current user (the tests run as root), listens on a
//! distinct `127.0.0.N` address and a free port (found by binding port 0),
//! accepts only the fleet's user key (`authorized_keys`), and gives sessions
//! `PATH=<stub dir>:/usr/local/bin:/usr/bin:/bin` (stub dir optional) and a
//! stock, empty `HOME` so the test machine's shell start-up files do not
//! count. The sshd is killed when the fleet is dropped.
//!
//! Host names in `ssh_config` are the fleet's names (`Host web1` →
//! `HostName 127.0.0.N`, `Port`, `User`, `IdentityFile`, `IdentitiesOnly yes`,
//! `UserKnownHostsFile`), and `hosts.toml` lists every host by that name.
//!
//! If `/usr/sbin/sshd` is missing the harness panics ("install
//! openssh-server (bash .ci/run does)"): it never skips silently.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// The passphrase of the fleet's user key when [`FleetOptions::encrypted_key`] is set.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// Options of a whole fleet (written to `opsdeck.toml` and used for the user key).
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Protect the user's key with [`PASSPHRASE`] (tests of "encrypted key, no agent").
    pub encrypted_key: bool,
    /// `[ssh] connect_timeout_s`.
    pub connect_timeout_s: u64,
    /// `[ssh] command_timeout_s`.
    pub command_timeout_s: u64,
    /// `[ssh] concurrency`.
    pub concurrency: usize,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            encrypted_key: false,
            connect_timeout_s: 5,
            command_timeout_s: 20,
            concurrency: 32,
        }
    }
}

/// What the fleet's `known_hosts` says about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KnownHostsMode {
    /// `[127.0.0.N]:PORT ssh-ed25519 ...` (the host's real ed25519 key).
    #[default]
    Ed25519,
    /// Only the host's real RSA key (the server would rather offer ed25519).
    Rsa,
    /// The real ed25519 key, hashed (`|1|salt|hmac`, by `ssh-keygen -H`).
    Hashed,
    /// No entry: the key is unknown.
    Missing,
    /// Another ed25519 key: the host key "changed".
    Wrong,
}

/// Options of one sshd host.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// A directory put first in the sessions' PATH (stub `apt-get`, `restic`...).
    pub stub_path: Option<PathBuf>,
    /// Extra lines for this host's `sshd_config` (`LogLevel DEBUG1`,
    /// `MaxStartups 10:100:10`, ...). They are written before the harness's
    /// own settings, so they win (sshd keeps a keyword's first value); from a
    /// `Match` line on they are written last.
    pub extra_sshd_config: Vec<String>,
    pub known_hosts: KnownHostsMode,
    /// false: `authorized_keys` holds another key, so the user's key is refused.
    pub authorize_user_key: bool,
    /// `ProxyJump` written to this host's `ssh_config` block (names of fleet hosts).
    pub proxy_jump: Option<String>,
    /// Tags written to `hosts.toml`.
    pub tags: Vec<String>,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            stub_path: None,
            extra_sshd_config: Vec::new(),
            known_hosts: KnownHostsMode::Ed25519,
            authorize_user_key: true,
            proxy_jump: None,
            tags: Vec::new(),
        }
    }
}

/// What answers at a host's address.
pub enum HostKind {
    Sshd(SshdProc),
    /// Accepts TCP connections and never says a word.
    Silent(SilentListener),
    /// Nothing listens: connections are refused.
    Refused,
    /// Never answers a connection (SYNs dropped): a host that is down or
    /// behind a firewall that drops.
    Blackhole(Blackhole),
}

/// One host of the fleet.
pub struct FleetHost {
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub opts: HostOptions,
    pub kind: HostKind,
    /// `ssh-ed25519 AAAA...` (empty for silent/refused hosts).
    pub ed25519_pub: String,
    /// `ssh-rsa AAAA...` (empty for silent/refused hosts).
    pub rsa_pub: String,
    /// This host's directory (sshd_config, keys, sshd.log).
    pub dir: PathBuf,
}

impl FleetHost {
    /// `[127.0.0.N]:PORT`, as known_hosts names it.
    pub fn known_hosts_name(&self) -> String {
        format!("[{}]:{}", self.addr, self.port)
    }
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from((self.addr, self.port))
    }
}

/// A running `sshd -D -e -f CFG`; killed on drop.
pub struct SshdProc {
    child: Child,
    pub log: PathBuf,
}

impl SshdProc {
    /// The pid of the listening sshd.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Every descendant of `pid` (children first found, then theirs), from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so split after ')'
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|v| v.parse().ok()) {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out: Vec<u32> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parent_of {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

impl Drop for SshdProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP listener that accepts and stays silent; stopped on drop.
pub struct SilentListener {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl SilentListener {
    pub fn start(addr: Ipv4Addr) -> SilentListener {
        let listener = TcpListener::bind((addr, 0)).expect("bind silent listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    held.push(c);
                }
            }
        });
        SilentListener {
            stop,
            addr,
            thread: Some(thread),
        }
    }
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An address whose SYNs go unanswered, on loopback: a listener with a
/// backlog of 0 whose one queue place is taken and never accepted, so the
/// kernel drops every further SYN, as for a host that is down or behind a
/// firewall that drops. Closed on drop.
pub struct Blackhole {
    _listener: TcpListener,
    _filler: TcpStream,
    pub addr: SocketAddr,
}

impl Blackhole {
    pub fn start(ip: Ipv4Addr) -> Blackhole {
        use std::os::fd::FromRawFd;
        // SAFETY: a plain socket(2)/bind(2)/listen(2) sequence on an fd we
        // own from here on (wrapped in a TcpListener right away).
        let listener = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket");
            let l = TcpListener::from_raw_fd(fd);
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from(ip).to_be(),
                },
                sin_zero: [0; 8],
            };
            let rc = libc::bind(
                fd,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "bind");
            assert_eq!(libc::listen(fd, 0), 0, "listen");
            l
        };
        let addr = listener.local_addr().expect("local addr");
        let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("filler");
        Blackhole {
            _listener: listener,
            _filler: filler,
            addr,
        }
    }
}

/// An `ssh-agent -D -a SOCK` of the test's own; killed on drop. Pass
/// [`Agent::socket`] to the engine (`EngineOptions::agent_socket`) or as
/// `SSH_AUTH_SOCK` to a child process; never set it in this process's env.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
}

impl Agent {
    pub fn start(dir: &Path) -> Agent {
        let socket = dir.join(format!("agent.{}", next_id()));
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent (package openssh-client)");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ssh-agent did not create {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Agent { child, socket }
    }

    /// `ssh-add KEY`, answering the passphrase prompt through SSH_ASKPASS.
    pub fn add(&self, key: &Path, passphrase: Option<&str>) {
        let mut cmd = Command::new("ssh-add");
        cmd.arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null());
        if let Some(p) = passphrase {
            let script = key.with_extension(format!("askpass{}", next_id()));
            fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' '{p}'\n")).unwrap();
            fs::set_permissions(&script, fs::Permissions::from_mode(0o700)).unwrap();
            cmd.env("SSH_ASKPASS", &script)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("DISPLAY", ":0");
        }
        // A script just written can be "busy" for exec while another test
        // thread's fork still holds it open (ETXTBSY): try again.
        let mut out = cmd.output().expect("ssh-add");
        for _ in 0..5 {
            if out.status.success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            out = cmd.output().expect("ssh-add");
        }
        assert!(
            out.status.success(),
            "ssh-add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory with sshd hosts, an ssh_config, a known_hosts and an
/// OPSDECK_HOME. Add hosts with [`Fleet::add_host`] / [`Fleet::add_hosts`] /
/// [`Fleet::add_silent`] / [`Fleet::add_refused`]; every add rewrites the
/// files. Dropping the fleet kills its sshds and removes the directory.
pub struct Fleet {
    pub opts: FleetOptions,
    pub hosts: Vec<FleetHost>,
    /// The user (the current one; the tests run as root).
    pub user: String,
    dir: tempfile::TempDir,
    /// `ssh-ed25519 ...` line of a key sshd does not accept (for "bad key" hosts).
    stranger_pub: String,
    /// Lines appended to `ssh_config` after the hosts' blocks (Match, Include...);
    /// call [`Fleet::write_files`] after changing them.
    pub extra_ssh_config: Vec<String>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn next_id() -> u32 {
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// A distinct 127.0.0.N per host within this process (N in 2..=254), spread
/// over processes by pid so parallel test binaries rarely share one; ports
/// are distinct anyway.
fn next_addr() -> Ipv4Addr {
    let n = (next_id() + std::process::id() * 7) % 253 + 2;
    Ipv4Addr::new(127, 0, 0, n as u8)
}

/// The current user's login name (`id -un`; USER may be unset under CI).
pub fn login_name() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port(addr: Ipv4Addr) -> u16 {
    let l = TcpListener::bind((addr, 0)).expect("bind port 0 on loopback");
    l.local_addr().expect("local addr").port()
}

fn keygen(path: &Path, kind: &str, passphrase: &str, comment: &str) -> String {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null());
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd.output().expect("ssh-keygen (package openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pub_line(&path.with_extension("pub"))
}

fn pub_line(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("read .pub");
    let mut w = text.split_whitespace();
    format!("{} {}", w.next().unwrap_or(""), w.next().unwrap_or(""))
}

/// One RSA host key per test process (RSA key generation is slow): copied
/// into each host's directory.
fn shared_rsa_key() -> &'static (Vec<u8>, String) {
    static KEY: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rsa");
        let public = keygen(&path, "rsa", "", "opsdeck-test-host");
        (fs::read(&path).expect("read rsa key"), public)
    })
}

fn sshd_binary() -> &'static str {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: install openssh-server (bash .ci/run does)"
    );
    SSHD
}

impl Fleet {
    /// An empty fleet: the directory, the user's key pair and the files.
    pub fn new(opts: FleetOptions) -> Fleet {
        sshd_binary();
        let dir = tempfile::Builder::new()
            .prefix("opsdeck-sshd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        for sub in ["home", "opsdeck", "keys"] {
            fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        let pass = if opts.encrypted_key { PASSPHRASE } else { "" };
        keygen(
            &d.join("keys/id_ed25519"),
            "ed25519",
            pass,
            "opsdeck-test-user",
        );
        let stranger_pub = keygen(&d.join("keys/stranger"), "ed25519", "", "stranger");
        let user = login_name();
        let fleet = Fleet {
            opts,
            hosts: Vec::new(),
            user,
            dir,
            stranger_pub,
            extra_ssh_config: Vec::new(),
        };
        fleet.write_files();
        fleet
    }

    /// A fleet of `n` healthy hosts named `h1`..`hN`.
    pub fn start(n: usize) -> Fleet {
        let mut f = Fleet::new(FleetOptions::default());
        f.add_hosts("h", n, HostOptions::default());
        f
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// The SSH client config naming every host.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir().join("ssh_config")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir().join("known_hosts")
    }
    /// OPSDECK_HOME: opsdeck.toml and hosts.toml.
    pub fn home(&self) -> PathBuf {
        self.dir().join("opsdeck")
    }
    /// A stock, empty HOME for sessions and for the opsdeck binary.
    pub fn user_home(&self) -> PathBuf {
        self.dir().join("home")
    }
    /// The user's private key (its `.pub` is next to it).
    pub fn user_key(&self) -> PathBuf {
        self.dir().join("keys/id_ed25519")
    }

    pub fn get(&self, name: &str) -> &FleetHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no fleet host {name}"))
    }

    /// The `hosts.toml` entry of a host (name and tags only: the rest comes
    /// from the ssh_config, as for a user).
    pub fn host(&self, name: &str) -> opsdeck::model::Host {
        let h = self.get(name);
        opsdeck::model::Host {
            name: h.name.clone(),
            tags: h.opts.tags.clone(),
            ..Default::default()
        }
    }
    /// Every host, in the order they were added.
    pub fn model_hosts(&self) -> Vec<opsdeck::model::Host> {
        self.hosts.iter().map(|h| self.host(&h.name)).collect()
    }

    /// `[ssh]` settings pointing into the fleet directory.
    pub fn ssh_settings(&self) -> opsdeck::model::SshSettings {
        opsdeck::model::SshSettings {
            config_file: Some(self.ssh_config().display().to_string()),
            known_hosts: Some(self.known_hosts().display().to_string()),
            user: None,
            identity_files: Vec::new(),
            connect_timeout_s: self.opts.connect_timeout_s,
            command_timeout_s: self.opts.command_timeout_s,
            concurrency: self.opts.concurrency,
            persist_s: 0,
        }
    }

    /// The real `opsdeck` binary with `OPSDECK_HOME` = [`Fleet::home`],
    /// `HOME` = [`Fleet::user_home`], no `SSH_AUTH_SOCK`, and `args`.
    pub fn opsdeck(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args)
            .env("OPSDECK_HOME", self.home())
            .env("HOME", self.user_home())
            .env_remove("SSH_AUTH_SOCK")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// The log of a host's sshd (`-e` output, LogLevel VERBOSE unless changed).
    pub fn sshd_log(&self, name: &str) -> String {
        fs::read_to_string(self.get(name).dir.join("sshd.log")).unwrap_or_default()
    }

    /// Start one sshd host and wait until it answers.
    pub fn add_host(&mut self, name: &str, opts: HostOptions) -> &FleetHost {
        let mut h = self.spawn_sshd(name, opts);
        wait_ready(&mut h);
        self.hosts.push(h);
        self.write_files();
        self.hosts.last().expect("just pushed")
    }

    /// Start `n` sshd hosts `PREFIX1`..`PREFIXn` (all spawned, then waited for).
    pub fn add_hosts(&mut self, prefix: &str, n: usize, opts: HostOptions) {
        let mut new: Vec<FleetHost> = (1..=n)
            .map(|i| self.spawn_sshd(&format!("{prefix}{i}"), opts.clone()))
            .collect();
        for h in &mut new {
            wait_ready(h);
        }
        self.hosts.extend(new);
        self.write_files();
    }

    /// A host whose address accepts TCP and then never speaks.
    pub fn add_silent(&mut self, name: &str) -> &FleetHost {
        let addr = next_addr();
        let l = SilentListener::start(addr);
        let port = l.port();
        self.push_plain(name, addr, port, HostKind::Silent(l))
    }

    /// A host that never answers (down, or a firewall that drops).
    pub fn add_blackhole(&mut self, name: &str) -> &FleetHost {
        let addr = next_addr();
        let b = Blackhole::start(addr);
        let port = b.addr.port();
        self.push_plain(name, addr, port, HostKind::Blackhole(b))
    }

    /// A host whose port refuses connections.
    pub fn add_refused(&mut self, name: &str) -> &FleetHost {
        let addr = next_addr();
        let port = free_port(addr);
        self.push_plain(name, addr, port, HostKind::Refused)
    }

    fn push_plain(&mut self, name: &str, addr: Ipv4Addr, port: u16, kind: HostKind) -> &FleetHost {
        self.hosts.push(FleetHost {
            name: name.into(),
            addr,
            port,
            opts: HostOptions {
                known_hosts: KnownHostsMode::Missing,
                ..Default::default()
            },
            kind,
            ed25519_pub: String::new(),
            rsa_pub: String::new(),
            dir: self.dir().join(name),
        });
        self.write_files();
        self.hosts.last().expect("just pushed")
    }

    /// Kill the per-connection processes of a host's sshd (its open
    /// connections end; the sshd keeps listening).
    pub fn kill_sessions(&self, name: &str) {
        if let HostKind::Sshd(p) = &self.get(name).kind {
            for pid in descendants(p.pid()) {
                // SAFETY: kill(2) on a process of this test's own sshd.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
    }

    /// Stop a host's sshd and its connections: its port refuses from now on.
    pub fn stop_host(&mut self, name: &str) {
        self.kill_sessions(name);
        let h = self
            .hosts
            .iter_mut()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no fleet host {name}"));
        h.kind = HostKind::Refused;
    }

    /// Change what known_hosts says about a host (rewrites the file).
    pub fn set_known_hosts(&mut self, name: &str, mode: KnownHostsMode) {
        let h = self
            .hosts
            .iter_mut()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no fleet host {name}"));
        h.opts.known_hosts = mode;
        self.write_files();
    }

    fn spawn_sshd(&self, name: &str, opts: HostOptions) -> FleetHost {
        let dir = self.dir().join(name);
        fs::create_dir_all(&dir).expect("mkdir host dir");
        let ed25519_pub = keygen(&dir.join("ssh_host_ed25519_key"), "ed25519", "", name);
        let (rsa, rsa_pub) = shared_rsa_key();
        let rsa_path = dir.join("ssh_host_rsa_key");
        fs::write(&rsa_path, rsa).expect("write rsa host key");
        fs::set_permissions(&rsa_path, fs::Permissions::from_mode(0o600)).expect("chmod");
        let auth = if opts.authorize_user_key {
            pub_line(&self.user_key().with_extension("pub"))
        } else {
            self.stranger_pub.clone()
        };
        fs::write(dir.join("authorized_keys"), format!("{auth}\n")).expect("authorized_keys");
        let session_home = dir.join("home");
        fs::create_dir_all(&session_home).expect("mkdir session home");
        fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd (sshd's privilege separation dir)");

        let addr = next_addr();
        let port = free_port(addr);
        let mut path = String::new();
        if let Some(stub) = &opts.stub_path {
            path.push_str(&stub.display().to_string());
            path.push(':');
        }
        path.push_str("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        // sshd keeps the first value of a keyword: extra lines go first so
        // they win over the defaults below; a `Match` block (and what follows
        // it) goes last.
        let split = opts
            .extra_sshd_config
            .iter()
            .position(|l| l.trim_start().to_ascii_lowercase().starts_with("match "))
            .unwrap_or(opts.extra_sshd_config.len());
        let (first, last) = opts.extra_sshd_config.split_at(split);
        let mut cfg = String::new();
        for line in first {
            cfg.push_str(line);
            cfg.push('\n');
        }
        cfg.push_str(&format!(
            "ListenAddress {addr}:{port}\n\
             HostKey {d}/ssh_host_ed25519_key\n\
             HostKey {d}/ssh_host_rsa_key\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\n\
             MaxStartups 100:30:200\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             UseDNS no\n\
             LogLevel VERBOSE\n\
             SetEnv PATH={path} HOME={home}\n",
            d = dir.display(),
            home = session_home.display(),
        ));
        for line in last {
            cfg.push_str(line);
            cfg.push('\n');
        }
        let cfg_path = dir.join("sshd_config");
        fs::write(&cfg_path, cfg).expect("write sshd_config");
        let log = dir.join("sshd.log");
        let log_file = fs::File::create(&log).expect("create sshd.log");
        let child = Command::new(sshd_binary())
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start /usr/sbin/sshd");
        FleetHost {
            name: name.into(),
            addr,
            port,
            opts,
            kind: HostKind::Sshd(SshdProc { child, log }),
            ed25519_pub,
            rsa_pub: rsa_pub.clone(),
            dir,
        }
    }

    /// Rewrite ssh_config, known_hosts, opsdeck.toml and hosts.toml from the hosts.
    pub fn write_files(&self) {
        let d = self.dir();
        // ssh_config
        let mut cfg = String::from("# written by the opsdeck test harness\n");
        for h in &self.hosts {
            cfg.push_str(&format!(
                "Host {}\n  HostName {}\n  Port {}\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
                h.name,
                h.addr,
                h.port,
                self.user,
                self.user_key().display(),
                self.known_hosts().display()
            ));
            if let Some(j) = &h.opts.proxy_jump {
                cfg.push_str(&format!("  ProxyJump {j}\n"));
            }
        }
        for line in &self.extra_ssh_config {
            cfg.push_str(line);
            cfg.push('\n');
        }
        fs::write(d.join("ssh_config"), cfg).expect("write ssh_config");

        // known_hosts: plain lines, then the hashed ones (hashed by ssh-keygen -H).
        let mut plain = String::from("# known_hosts of the opsdeck test harness\n");
        let mut to_hash = String::new();
        for h in &self.hosts {
            let name = h.known_hosts_name();
            match h.opts.known_hosts {
                KnownHostsMode::Ed25519 => plain.push_str(&format!("{name} {}\n", h.ed25519_pub)),
                KnownHostsMode::Rsa => plain.push_str(&format!("{name} {}\n", h.rsa_pub)),
                KnownHostsMode::Wrong => plain.push_str(&format!("{name} {}\n", self.stranger_pub)),
                KnownHostsMode::Hashed => to_hash.push_str(&format!("{name} {}\n", h.ed25519_pub)),
                KnownHostsMode::Missing => {}
            }
        }
        if !to_hash.is_empty() {
            let tmp = d.join("known_hosts.tohash");
            fs::write(&tmp, &to_hash).expect("write");
            let out = Command::new("ssh-keygen")
                .arg("-H")
                .arg("-f")
                .arg(&tmp)
                .output()
                .expect("ssh-keygen -H");
            assert!(out.status.success(), "ssh-keygen -H failed");
            plain.push_str(&fs::read_to_string(&tmp).expect("read hashed"));
            let _ = fs::remove_file(&tmp);
            let _ = fs::remove_file(tmp.with_extension("tohash.old"));
        }
        fs::write(self.known_hosts(), plain).expect("write known_hosts");

        // OPSDECK_HOME
        let home = self.home();
        fs::write(
            home.join("opsdeck.toml"),
            format!(
                "[ssh]\nconfig_file = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout_s = {}\ncommand_timeout_s = {}\nconcurrency = {}\n",
                self.ssh_config().display(),
                self.known_hosts().display(),
                self.opts.connect_timeout_s,
                self.opts.command_timeout_s,
                self.opts.concurrency
            ),
        )
        .expect("write opsdeck.toml");
        let mut hosts = String::new();
        for h in &self.hosts {
            hosts.push_str(&format!("[[host]]\nname = \"{}\"\n", h.name));
            if !h.opts.tags.is_empty() {
                let tags: Vec<String> = h.opts.tags.iter().map(|t| format!("\"{t}\"")).collect();
                hosts.push_str(&format!("tags = [{}]\n", tags.join(", ")));
            }
            hosts.push('\n');
        }
        fs::write(home.join("hosts.toml"), hosts).expect("write hosts.toml");
    }
}

/// Wait until an sshd prints its banner (panics with its log after 15 s or
/// when it exits).
fn wait_ready(h: &mut FleetHost) {
    let addr = h.socket_addr();
    let name = h.name.clone();
    let HostKind::Sshd(p) = &mut h.kind else {
        return;
    };
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = p.child.try_wait() {
            panic!(
                "sshd for {name} exited ({status}): {}",
                fs::read_to_string(&p.log).unwrap_or_default()
            );
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8];
            if s.read(&mut buf)
                .map(|n| buf[..n].starts_with(b"SSH-"))
                .unwrap_or(false)
            {
                let _ = s.write_all(b"SSH-2.0-probe\r\n");
                return;
            }
        }
        if start.elapsed() > Duration::from_secs(15) {
            panic!(
                "sshd for {name} did not answer on {addr}: {}",
                fs::read_to_string(&p.log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Write an executable stub script `name` into `dir` (for [`HostOptions::stub_path`]).
pub fn write_stub(dir: &Path, name: &str, script: &str) {
    fs::create_dir_all(dir).expect("mkdir stub dir");
    let path = dir.join(name);
    fs::write(&path, script).expect("write stub");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod stub");
}
