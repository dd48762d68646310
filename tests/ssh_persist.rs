//! Connection persistence (`[ssh] persist_s`, src/ssh/mux.rs) against real
//! sshd processes: reuse is asserted from the sshd's own log (one
//! "Accepted publickey" line per new connection), never from timing.
//! Helpers started here keep connections 3 s and exit at once when their
//! socket file goes (the fleet's directory is removed on drop).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::sshd::{Fleet, FleetOptions, HostOptions, KnownHostsMode};
use opsdeck::ssh::mux::{socket_path, PersistConfig};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions, ExecOptions, ExecOutput, SshError};

fn state_dir(fleet: &Fleet) -> PathBuf {
    fleet.home().join("state")
}

fn persisted_in(fleet: &Fleet, state: &Path, opts: EngineOptions) -> Engine {
    Engine::with_agent(&fleet.ssh_settings(), opts, AgentChoice::Off).with_persist(Some(
        PersistConfig {
            state_dir: state.to_path_buf(),
            idle: Duration::from_secs(3),
            program: PathBuf::from(env!("CARGO_BIN_EXE_opsdeck")),
        },
    ))
}

fn persisted(fleet: &Fleet) -> Engine {
    persisted_in(fleet, &state_dir(fleet), EngineOptions::default())
}

fn direct(fleet: &Fleet) -> Engine {
    Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Off,
    )
}

/// New connections the host's sshd has authenticated so far.
fn logins(fleet: &Fleet, name: &str) -> usize {
    fleet.sshd_log(name).matches("Accepted publickey").count()
}

/// sshd writes its log line right after authentication; give it a moment.
fn wait_logins(fleet: &Fleet, name: &str, n: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let got = logins(fleet, name);
        if got >= n || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(engine: &Engine, fleet: &Fleet, name: &str, cmd: &str) -> Result<ExecOutput, SshError> {
    let mut c = engine.connect(&fleet.host(name))?;
    c.exec(cmd, &ExecOptions::default())
}

/// What must be identical between a direct and a persisted run.
fn essence(o: &ExecOutput) -> (Vec<u8>, Vec<u8>, Option<i32>, Option<String>) {
    (
        o.stdout.clone(),
        o.stderr.clone(),
        o.exit_status,
        o.exit_signal.clone(),
    )
}

fn helper_pid(fleet: &Fleet) -> i32 {
    let text = std::fs::read_to_string(state_dir(fleet).join("mux/lock")).unwrap_or_default();
    text.trim().parse().expect("the helper's pid in mux/lock")
}

/// Is this process still running (not gone, not a zombie)?
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_kept_connection_is_reused_with_identical_results() {
    let mut fleet = Fleet::start(1);
    fleet.add_host(
        "behind",
        HostOptions {
            proxy_jump: Some("h1".into()),
            ..Default::default()
        },
    );
    let p = persisted(&fleet);
    let d = direct(&fleet);
    let cases: [(&str, Option<&[u8]>); 5] = [
        ("echo out; echo err >&2; echo $HOME; exit 7", None),
        ("tr a-z A-Z", Some(b"hello\x00\xff")),
        (
            "head -c 500000 /dev/zero >&2; head -c 300000 /dev/urandom | od | head -c 200000",
            None,
        ),
        ("kill -KILL $$", None),
        ("printf 'no newline'", None),
    ];
    for (cmd, stdin) in cases {
        let opts = ExecOptions {
            stdin: stdin.map(<[u8]>::to_vec),
            timeout: None,
            ..Default::default()
        };
        let via_helper = p
            .connect(&fleet.host("h1"))
            .unwrap()
            .exec(cmd, &opts)
            .unwrap();
        let own = d
            .connect(&fleet.host("h1"))
            .unwrap()
            .exec(cmd, &opts)
            .unwrap();
        if !cmd.contains("urandom") {
            assert_eq!(essence(&via_helper), essence(&own), "{cmd}");
        } else {
            assert_eq!(via_helper.stdout.len(), own.stdout.len());
            assert_eq!(via_helper.stderr, own.stderr);
        }
    }
    // five connects through the helper: one connection; five direct: five
    assert_eq!(wait_logins(&fleet, "h1", 6), 6, "{}", fleet.sshd_log("h1"));

    // several commands on one Conn, and output streamed as it comes
    let mut c = p.connect(&fleet.host("h1")).unwrap();
    let mut chunks = Vec::new();
    let o = c
        .exec_stream(
            "echo first; sleep 1; echo second",
            &ExecOptions::default(),
            &mut |_, b| chunks.push(b.to_vec()),
        )
        .unwrap();
    assert_eq!(o.stdout, b"first\nsecond\n");
    assert_eq!(chunks.concat(), o.stdout);
    assert!(chunks.len() >= 2, "streamed in one piece: {chunks:?}");
    assert_eq!(
        c.exec("echo again", &ExecOptions::default())
            .unwrap()
            .stdout,
        b"again\n"
    );
    drop(c);

    // another engine (another process, as the next `opsdeck check`) reuses it too
    let p2 = persisted(&fleet);
    assert_eq!(run(&p2, &fleet, "h1", "echo x").unwrap().stdout, b"x\n");
    // and so does the real binary with [ssh] persist_s in the same home
    let toml = fleet.home().join("opsdeck.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("persist_s = 3\n");
    std::fs::write(&toml, text).unwrap();
    let out = fleet
        .opsdeck(&["run", "h1", "--", "echo", "from-cli"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("from-cli"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(logins(&fleet, "h1"), 6, "{}", fleet.sshd_log("h1"));

    // through a jump host: the chain is kept as a whole
    let before_jump = logins(&fleet, "h1");
    for _ in 0..3 {
        assert_eq!(
            run(&p, &fleet, "behind", "echo behind").unwrap().stdout,
            b"behind\n"
        );
    }
    assert_eq!(wait_logins(&fleet, "behind", 1), 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(logins(&fleet, "behind"), 1);
    assert_eq!(logins(&fleet, "h1"), before_jump + 1);

    // a changed SSH config (another user for the same address) is another connection
    let mut host = fleet.host("h1");
    host.user = Some("nobody-such".into());
    assert!(matches!(
        p.connect(&host)
            .and_then(|mut c| c.exec("true", &ExecOptions::default())),
        Err(SshError::Auth(_))
    ));
}

#[test]
fn dead_sessions_and_a_dead_helper_fall_back_cleanly() {
    let mut fleet = Fleet::start(1);
    let p = persisted(&fleet);
    assert_eq!(run(&p, &fleet, "h1", "echo 1").unwrap().stdout, b"1\n");
    assert_eq!(wait_logins(&fleet, "h1", 1), 1);

    // the server ends the kept connection: the next command opens a new one
    fleet.kill_sessions("h1");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(run(&p, &fleet, "h1", "echo 2").unwrap().stdout, b"2\n");
    assert_eq!(wait_logins(&fleet, "h1", 2), 2);

    // the helper dies while a Conn is held: its next command runs on a
    // direct connection (it had not started)
    let mut c = p.connect(&fleet.host("h1")).unwrap();
    let pid = helper_pid(&fleet);
    // SAFETY: kill(2) on the helper this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        c.exec("echo 3", &ExecOptions::default()).unwrap().stdout,
        b"3\n"
    );
    assert_eq!(wait_logins(&fleet, "h1", 3), 3);
    drop(c);
    // the stale socket file does not stop a new helper
    assert!(socket_path(&state_dir(&fleet)).exists());
    let p2 = persisted(&fleet);
    assert_eq!(run(&p2, &fleet, "h1", "echo 4").unwrap().stdout, b"4\n");
    assert_ne!(helper_pid(&fleet), pid);
    assert_eq!(run(&p2, &fleet, "h1", "echo 5").unwrap().stdout, b"5\n");
    assert_eq!(wait_logins(&fleet, "h1", 4), 4);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(logins(&fleet, "h1"), 4);

    // the host goes away entirely: the same error as without the helper
    fleet.stop_host("h1");
    std::thread::sleep(Duration::from_millis(100));
    let via_helper = run(&p2, &fleet, "h1", "true").unwrap_err();
    let own = run(&direct(&fleet), &fleet, "h1", "true").unwrap_err();
    assert!(matches!(via_helper, SshError::Connect(_)), "{via_helper:?}");
    assert_eq!(via_helper, own);
}

#[test]
fn host_key_questions_come_back_as_without_the_helper() {
    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_host(
        "new",
        HostOptions {
            known_hosts: KnownHostsMode::Missing,
            ..Default::default()
        },
    );
    fleet.add_host(
        "changed",
        HostOptions {
            known_hosts: KnownHostsMode::Wrong,
            ..Default::default()
        },
    );
    let p = persisted(&fleet);
    let kh_before = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let via_helper = run(&p, &fleet, "new", "true").unwrap_err();
    assert_eq!(
        via_helper,
        run(&direct(&fleet), &fleet, "new", "true").unwrap_err()
    );
    let SshError::HostKeyUnknown(key) = via_helper else {
        panic!("{via_helper:?}")
    };
    assert!(key.fingerprint.starts_with("SHA256:"));
    let changed = run(&p, &fleet, "changed", "true").unwrap_err();
    assert!(
        matches!(changed, SshError::HostKeyChanged(_)),
        "{changed:?}"
    );
    assert_eq!(
        std::fs::read_to_string(fleet.known_hosts()).unwrap(),
        kh_before
    );
    // the TUI's "accept": recorded by the client, the helper connects next time
    p.accept_host_key(&key).unwrap();
    assert_eq!(run(&p, &fleet, "new", "echo ok").unwrap().stdout, b"ok\n");
    // --accept-new passes through the helper too
    let mut fleet2 = Fleet::new(FleetOptions::default());
    fleet2.add_host(
        "n2",
        HostOptions {
            known_hosts: KnownHostsMode::Missing,
            ..Default::default()
        },
    );
    let p2 = persisted_in(
        &fleet2,
        &state_dir(&fleet2),
        EngineOptions { accept_new: true },
    );
    assert_eq!(run(&p2, &fleet2, "n2", "echo ok").unwrap().stdout, b"ok\n");
    assert!(std::fs::read_to_string(fleet2.known_hosts())
        .unwrap()
        .contains(&fleet2.get("n2").ed25519_pub));

    // an encrypted key without an agent: the same clear error, no prompt
    let mut locked = Fleet::new(FleetOptions {
        encrypted_key: true,
        ..Default::default()
    });
    locked.add_hosts("k", 1, HostOptions::default());
    let via_helper = run(&persisted(&locked), &locked, "k1", "true").unwrap_err();
    assert!(matches!(via_helper, SshError::Auth(_)), "{via_helper:?}");
    assert_eq!(
        via_helper,
        run(&direct(&locked), &locked, "k1", "true").unwrap_err()
    );
    assert!(via_helper.to_string().contains("encrypted"), "{via_helper}");

    // a key removed from known_hosts is noticed before a kept session is reused
    assert_eq!(
        run(&p2, &fleet2, "n2", "true").unwrap().exit_status,
        Some(0)
    );
    assert_eq!(wait_logins(&fleet2, "n2", 1), 1);
    fleet2.set_known_hosts("n2", KnownHostsMode::Missing);
    let e = run(
        &persisted_in(&fleet2, &state_dir(&fleet2), EngineOptions::default()),
        &fleet2,
        "n2",
        "true",
    )
    .unwrap_err();
    assert!(matches!(e, SshError::HostKeyUnknown(_)), "{e:?}");
}

#[test]
fn the_helper_is_private_to_its_home() {
    let fleet = Fleet::start(1);
    let p = persisted(&fleet);
    assert_eq!(run(&p, &fleet, "h1", "true").unwrap().exit_status, Some(0));
    let dir = state_dir(&fleet).join("mux");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let sock = socket_path(&state_dir(&fleet));
    assert!(sock.exists());

    // a request naming another home is refused on this home's socket
    let other = tempfile::tempdir().unwrap();
    let other_mux = other.path().join("state/mux");
    std::fs::create_dir_all(&other_mux).unwrap();
    let resolved = p.resolve(&fleet.host("h1")).unwrap();
    let req = serde_json::json!({
        "op": "open",
        "protocol": 1,
        "version": env!("CARGO_PKG_VERSION"),
        "mux_dir": other_mux,
        "resolved": resolved,
        "accept_new": false,
    });
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(s, "{req}").unwrap();
    let mut reply = String::new();
    BufReader::new(&s).read_line(&mut reply).unwrap();
    assert!(reply.contains("refused"), "{reply}");
    assert!(!reply.contains("opened"), "{reply}");
    // the helper logs to the home's log file (its stdio is /dev/null)
    let log = std::fs::read_to_string(state_dir(&fleet).join("opsdeck.log")).unwrap_or_default();
    assert!(log.contains("connection helper"), "{log}");
    assert!(log.contains("refused a request for another home"), "{log}");

    // another home gets a helper and connections of its own
    let before = wait_logins(&fleet, "h1", 1);
    let p_other = persisted_in(
        &fleet,
        &other.path().join("state"),
        EngineOptions::default(),
    );
    assert_eq!(
        run(&p_other, &fleet, "h1", "true").unwrap().exit_status,
        Some(0)
    );
    assert!(socket_path(&other.path().join("state")).exists());
    assert_eq!(wait_logins(&fleet, "h1", before + 1), before + 1);
    let pid_other: i32 = std::fs::read_to_string(other_mux.join("lock"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(pid_other, helper_pid(&fleet));

    // a client of another opsdeck version (an upgrade): the helper gives up
    // its socket, and the next client starts a helper of its own version
    let first_pid = helper_pid(&fleet);
    let mut old_req = req.clone();
    old_req["version"] = "0.0.0-older".into();
    old_req["mux_dir"] = serde_json::json!(state_dir(&fleet).join("mux"));
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(s, "{old_req}").unwrap();
    let mut reply = String::new();
    BufReader::new(&s).read_line(&mut reply).unwrap();
    assert!(reply.contains("retires"), "{reply}");
    drop(s);
    let logins_before = wait_logins(&fleet, "h1", before + 1);
    assert_eq!(run(&p, &fleet, "h1", "echo new").unwrap().stdout, b"new\n");
    assert_ne!(helper_pid(&fleet), first_pid);
    let until = Instant::now() + Duration::from_secs(5);
    while alive(first_pid) {
        assert!(
            Instant::now() < until,
            "retired helper {first_pid} did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        wait_logins(&fleet, "h1", logins_before + 1),
        logins_before + 1
    );

    // removing a home's socket ends its helper promptly
    std::fs::remove_file(socket_path(&other.path().join("state"))).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while alive(pid_other) {
        assert!(Instant::now() < until, "helper {pid_other} did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pids of helpers serving this state directory (from /proc/*/cmdline).
fn helpers_of(state: &Path) -> Vec<i32> {
    let want = state.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == "__mux") && args.contains(&want) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn clients_starting_helpers_at_once_get_one() {
    let fleet = Fleet::start(2);
    let state = state_dir(&fleet);
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for i in 0..4 {
            let (fleet, barrier) = (&fleet, &barrier);
            let name = if i % 2 == 0 { "h1" } else { "h2" };
            s.spawn(move || {
                // separate engines: as separate opsdeck processes
                let e = persisted(fleet);
                barrier.wait();
                assert_eq!(run(&e, fleet, name, "echo hi").unwrap().stdout, b"hi\n");
            });
        }
    });
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = helpers_of(&state);
        if pids.len() == 1 {
            assert_eq!(pids[0], helper_pid(&fleet));
            break;
        }
        assert!(Instant::now() < until, "helpers: {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // every command went through that helper: its connections are kept
    // (at most one per client; none opened directly and dropped)
    let kept = logins(&fleet, "h1") + logins(&fleet, "h2");
    assert!((2..=4).contains(&kept), "{kept}");
    run(&persisted(&fleet), &fleet, "h1", "true").unwrap();
    run(&persisted(&fleet), &fleet, "h2", "true").unwrap();
    assert_eq!(logins(&fleet, "h1") + logins(&fleet, "h2"), kept);
}

#[test]
fn persistence_off_starts_no_helper() {
    let fleet = Fleet::start(1);
    let home = opsdeck::store::Home::under(fleet.home());
    let e = direct(&fleet).with_home(&home);
    assert!(e.persist().is_none());
    assert_eq!(run(&e, &fleet, "h1", "echo x").unwrap().stdout, b"x\n");
    let out = fleet
        .opsdeck(&["run", "h1", "--", "true"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!state_dir(&fleet).join("mux").exists());
    // with persist_s set, with_home turns it on for that home
    let mut settings = fleet.ssh_settings();
    settings.persist_s = 5;
    let on = Engine::new(&settings, EngineOptions::default()).with_home(&home);
    let cfg = on.persist().expect("on");
    assert_eq!(cfg.idle, Duration::from_secs(5));
    assert_eq!(cfg.state_dir, home.state_dir);
}

#[test]
fn timeouts_hold_through_the_helper() {
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 1,
        ..Default::default()
    });
    fleet.add_hosts("h", 1, HostOptions::default());
    fleet.add_silent("mute");
    let p = persisted(&fleet);
    let mut c = p.connect(&fleet.host("h1")).unwrap();
    let r = c.exec(
        "echo before; sleep 30",
        &ExecOptions {
            stdin: None,
            timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        },
    );
    assert!(matches!(r, Err(SshError::CommandTimeout(_))), "{r:?}");
    assert_eq!(c.take_partial_output().unwrap().stdout, b"before\n");
    // that connection is cut, as without the helper
    assert!(c.exec("true", &ExecOptions::default()).is_err());
    drop(c);
    // the next command gets a new one
    assert_eq!(
        run(&p, &fleet, "h1", "echo next").unwrap().stdout,
        b"next\n"
    );
    assert_eq!(wait_logins(&fleet, "h1", 2), 2);
    // a host that accepts and says nothing costs its connect timeout
    let e = run(&p, &fleet, "mute", "true").unwrap_err();
    assert!(matches!(e, SshError::Timeout(_)), "{e:?}");
}
