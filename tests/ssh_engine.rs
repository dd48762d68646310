//! The SSH engine against real sshd processes on loopback (tests/common/sshd.rs).

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::sshd::{Agent, Fleet, FleetOptions, HostOptions, KnownHostsMode};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions, ExecOptions, SshError};

fn engine(fleet: &Fleet) -> Engine {
    Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Off,
    )
}

fn run(
    engine: &Engine,
    fleet: &Fleet,
    name: &str,
    cmd: &str,
) -> Result<opsdeck::ssh::ExecOutput, SshError> {
    let mut c = engine.connect(&fleet.host(name))?;
    c.exec(cmd, &ExecOptions::default())
}

#[test]
fn healthy_host_runs_commands() {
    let fleet = Fleet::start(1);
    let e = engine(&fleet);
    let r = e.resolve(&fleet.host("h1")).unwrap();
    assert_eq!(r.hostname, fleet.get("h1").addr.to_string());
    assert_eq!(r.port, fleet.get("h1").port);
    assert_eq!(r.known_hosts_files[0], fleet.known_hosts());

    let mut c = e.connect(&fleet.host("h1")).unwrap();
    let o = c
        .exec(
            "echo out; echo err >&2; echo $HOME; exit 7",
            &ExecOptions::default(),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("out\n{}\n", fleet.get("h1").dir.join("home").display())
    );
    assert_eq!(o.stderr, b"err\n");
    assert_eq!(o.exit_status, Some(7));
    // a second command on the same connection; stdin is delivered then EOF
    let o = c
        .exec(
            "tr a-z A-Z",
            &ExecOptions {
                stdin: Some(b"hello".to_vec()),
                timeout: None,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(o.stdout, b"HELLO");
    assert_eq!(o.exit_status, Some(0));
    // lots on stderr and stdout at once: no deadlock
    let o = c
        .exec(
            "head -c 500000 /dev/zero >&2; head -c 300000 /dev/zero; echo",
            &ExecOptions::default(),
        )
        .unwrap();
    assert_eq!(o.stderr.len(), 500000);
    assert_eq!(o.stdout.len(), 300001);
    // killed by a signal
    let o = c.exec("kill -KILL $$", &ExecOptions::default()).unwrap();
    assert_eq!(o.exit_status, None);
    assert_eq!(o.exit_signal.as_deref(), Some("KILL"));
}

#[test]
fn refused_and_silent_hosts_fail_within_their_timeout() {
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 1,
        ..Default::default()
    });
    fleet.add_refused("dead");
    fleet.add_silent("mute");
    let e = engine(&fleet);
    match e.connect(&fleet.host("dead")) {
        Err(SshError::Connect(m)) => assert!(m.contains("refused"), "{m}"),
        Err(other) => panic!("expected Connect, got {other:?}"),
        Ok(_) => panic!("connected to a refused port"),
    }
    match e.connect(&fleet.host("mute")) {
        Err(SshError::Timeout(m)) => assert!(m.contains("does not speak SSH"), "{m}"),
        Err(other) => panic!("expected Timeout, got {other:?}"),
        Ok(_) => panic!("connected to a silent listener"),
    }
}

#[test]
fn command_outliving_its_timeout_is_cut() {
    let fleet = Fleet::start(1);
    let e = engine(&fleet);
    let mut c = e.connect(&fleet.host("h1")).unwrap();
    let r = c.exec(
        "echo started; sleep 30",
        &ExecOptions {
            stdin: None,
            timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        },
    );
    assert_eq!(r, Err(SshError::CommandTimeout(Duration::from_secs(1))));
    // what it printed before is kept
    assert_eq!(c.take_partial_output().unwrap().stdout, b"started\n");
    assert_eq!(c.take_partial_output(), None);
    // the connection is gone; a new one works
    assert!(c.exec("true", &ExecOptions::default()).is_err());
    drop(c);
    let o = run(&e, &fleet, "h1", "echo again").unwrap();
    assert_eq!(o.stdout, b"again\n");
}

#[test]
fn sweep_of_many_hosts_with_three_broken() {
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 3,
        concurrency: 8,
        ..Default::default()
    });
    fleet.add_hosts("ok", 20, HostOptions::default());
    fleet.add_refused("refused");
    fleet.add_silent("silent");
    fleet.add_host(
        "badkey",
        HostOptions {
            authorize_user_key: false,
            ..Default::default()
        },
    );
    let e = engine(&fleet);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut rx = e.sweep(fleet.model_hosts(), cancel, |conn, host| {
        let o = conn.exec(&format!("echo {}", host.name), &ExecOptions::default())?;
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    let mut done = Vec::new();
    rt.block_on(async {
        while let Some(d) = rx.recv().await {
            done.push(d);
        }
    });
    assert_eq!(done.len(), 23);
    for d in &done {
        match d.host.as_str() {
            "refused" => assert!(matches!(d.result, Err(SshError::Connect(_))), "{d:?}"),
            "silent" => assert!(matches!(d.result, Err(SshError::Timeout(_))), "{d:?}"),
            "badkey" => assert!(matches!(d.result, Err(SshError::Auth(_))), "{d:?}"),
            name => assert_eq!(d.result.as_ref().unwrap(), name),
        }
    }
}

fn one_host(mode: KnownHostsMode) -> Fleet {
    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_host(
        "h1",
        HostOptions {
            known_hosts: mode,
            ..Default::default()
        },
    );
    fleet
}

#[test]
fn unknown_host_key_is_refused_headless_and_recorded_with_accept_new() {
    let fleet = one_host(KnownHostsMode::Missing);
    let before = std::fs::read(fleet.known_hosts()).unwrap();
    let h = fleet.get("h1");
    match engine(&fleet).connect(&fleet.host("h1")) {
        Err(SshError::HostKeyUnknown(k)) => {
            assert_eq!(k.host_pattern, h.known_hosts_name());
            assert_eq!(k.key_type, "ssh-ed25519");
            assert_eq!(k.known_hosts_file, fleet.known_hosts());
            // the fingerprint OpenSSH prints for this host key
            let out = std::process::Command::new("ssh-keygen")
                .arg("-lf")
                .arg(h.dir.join("ssh_host_ed25519_key.pub"))
                .output()
                .unwrap();
            let line = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(line.contains(&k.fingerprint), "{line} vs {}", k.fingerprint);
            let msg = SshError::HostKeyUnknown(k.clone()).to_string();
            assert!(
                msg.contains("--accept-new") && msg.contains("SHA256:"),
                "{msg}"
            );
        }
        other => panic!("expected HostKeyUnknown, got {:?}", other.map(|_| ())),
    }
    assert_eq!(std::fs::read(fleet.known_hosts()).unwrap(), before);

    let e = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions { accept_new: true },
        AgentChoice::Off,
    );
    let o = run(&e, &fleet, "h1", "echo hi").unwrap();
    assert_eq!(o.stdout, b"hi\n");
    let after = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let expected = format!(
        "{}{} {}\n",
        String::from_utf8_lossy(&before),
        h.known_hosts_name(),
        h.ed25519_pub
    );
    assert_eq!(after, expected);
    // now known: a headless engine connects, and nothing more is appended
    run(&engine(&fleet), &fleet, "h1", "true").unwrap();
    run(&e, &fleet, "h1", "true").unwrap();
    assert_eq!(
        std::fs::read_to_string(fleet.known_hosts()).unwrap(),
        expected
    );
}

#[test]
fn accept_host_key_records_what_the_tui_accepted() {
    let fleet = one_host(KnownHostsMode::Missing);
    let e = engine(&fleet);
    let Err(SshError::HostKeyUnknown(k)) = e.connect(&fleet.host("h1")) else {
        panic!("expected an unknown key")
    };
    e.accept_host_key(&k).unwrap();
    e.accept_host_key(&k).unwrap(); // once only
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert_eq!(text.matches(&fleet.get("h1").ed25519_pub).count(), 1);
    run(&e, &fleet, "h1", "true").unwrap();
}

#[test]
fn changed_host_key_is_refused_and_known_hosts_untouched() {
    let fleet = one_host(KnownHostsMode::Wrong);
    let before = std::fs::read(fleet.known_hosts()).unwrap();
    for accept_new in [false, true] {
        let e = Engine::with_agent(
            &fleet.ssh_settings(),
            EngineOptions { accept_new },
            AgentChoice::Off,
        );
        match e.connect(&fleet.host("h1")) {
            Err(SshError::HostKeyChanged(m)) => {
                assert_eq!(m.matches("SHA256:").count(), 2, "{m}");
                assert!(
                    m.contains(&format!("{}:2", fleet.known_hosts().display())),
                    "{m}"
                );
            }
            other => panic!("expected HostKeyChanged, got {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(std::fs::read(fleet.known_hosts()).unwrap(), before);
}

#[test]
fn hashed_entries_and_other_key_types_match() {
    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_host(
        "hashed",
        HostOptions {
            known_hosts: KnownHostsMode::Hashed,
            ..Default::default()
        },
    );
    fleet.add_host(
        "rsa",
        HostOptions {
            known_hosts: KnownHostsMode::Rsa,
            ..Default::default()
        },
    );
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(text.contains("|1|"), "{text}");
    assert!(!text.contains(&fleet.get("hashed").known_hosts_name()));
    let e = engine(&fleet);
    // hashed entry matches
    assert_eq!(
        run(&e, &fleet, "hashed", "echo ok").unwrap().stdout,
        b"ok\n"
    );
    // only an RSA key recorded: the engine asks for RSA, not a false "changed"
    assert_eq!(run(&e, &fleet, "rsa", "echo ok").unwrap().stdout, b"ok\n");
    assert_eq!(std::fs::read_to_string(fleet.known_hosts()).unwrap(), text);
}

#[test]
fn wrong_key_and_encrypted_key_give_clear_auth_errors() {
    let mut fleet = Fleet::new(FleetOptions {
        encrypted_key: true,
        ..Default::default()
    });
    fleet.add_host("h1", HostOptions::default());
    fleet.add_host(
        "stranger",
        HostOptions {
            authorize_user_key: false,
            ..Default::default()
        },
    );
    let e = engine(&fleet);
    match e.connect(&fleet.host("h1")) {
        Err(SshError::Auth(m)) => {
            assert!(
                m.contains(&format!(
                    "key {} is encrypted and no agent holds it: ssh-add it",
                    fleet.user_key().display()
                )),
                "{m}"
            );
        }
        other => panic!("expected Auth, got {:?}", other.map(|_| ())),
    }

    // with the key in an agent of the test's own, it works
    let agent = Agent::start(fleet.dir());
    agent.add(&fleet.user_key(), Some(common::sshd::PASSPHRASE));
    let ea = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Socket(agent.socket.clone()),
    );
    assert_eq!(
        run(&ea, &fleet, "h1", "echo agent").unwrap().stdout,
        b"agent\n"
    );
    // a host that does not accept the key: refused, and said so
    match ea.connect(&fleet.host("stranger")) {
        Err(SshError::Auth(m)) => assert!(m.contains("refused"), "{m}"),
        other => panic!("expected Auth, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn agent_with_many_keys_and_identities_only() {
    let fleet = Fleet::start(1);
    let agent = Agent::start(fleet.dir());
    // five unrelated keys first, then the right one: IdentitiesOnly filters them out
    for i in 0..5 {
        let k = fleet.dir().join(format!("keys/extra{i}"));
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&k)
            .status()
            .unwrap();
        assert!(st.success());
        agent.add(&k, None);
    }
    agent.add(&fleet.user_key(), None);
    // the key file is gone: only the agent can log in
    std::fs::remove_file(fleet.user_key()).unwrap();
    let e = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Socket(agent.socket.clone()),
    );
    assert_eq!(run(&e, &fleet, "h1", "echo a").unwrap().stdout, b"a\n");
}

#[test]
fn proxy_jump_through_one_and_two_hops() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let debug = HostOptions {
        extra_sshd_config: vec!["LogLevel DEBUG1".into()],
        ..Default::default()
    };
    fleet.add_host("jump1", debug.clone());
    fleet.add_host("jump2", debug);
    fleet.add_host(
        "inner",
        HostOptions {
            proxy_jump: Some("jump1".into()),
            ..Default::default()
        },
    );
    fleet.add_host(
        "deep",
        HostOptions {
            proxy_jump: Some("jump1,jump2".into()),
            ..Default::default()
        },
    );
    let e = engine(&fleet);
    let r = e.resolve(&fleet.host("deep")).unwrap();
    assert_eq!(
        r.jumps.iter().map(|j| j.alias.as_str()).collect::<Vec<_>>(),
        ["jump1", "jump2"]
    );
    let o = run(&e, &fleet, "inner", "echo via; echo $SSH_CLIENT").unwrap();
    assert!(o.stdout.starts_with(b"via\n"));
    let inner = fleet.get("inner");
    let log1 = fleet.sshd_log("jump1");
    assert!(
        log1.contains(&format!("{}:{}", inner.addr, inner.port))
            || log1.contains(&format!("{} port {}", inner.addr, inner.port)),
        "jump1 did not forward to inner: {log1}"
    );
    let o = run(&e, &fleet, "deep", "echo deep").unwrap();
    assert_eq!(o.stdout, b"deep\n");
    let deep = fleet.get("deep");
    let log2 = fleet.sshd_log("jump2");
    assert!(
        log2.contains(&format!("{} port {}", deep.addr, deep.port))
            || log2.contains(&format!("{}:{}", deep.addr, deep.port)),
        "jump2 did not forward to deep: {log2}"
    );

    // a jump host whose key is unknown: the error names the hop
    let mut f2 = Fleet::new(FleetOptions::default());
    f2.add_host(
        "j",
        HostOptions {
            known_hosts: KnownHostsMode::Missing,
            ..Default::default()
        },
    );
    f2.add_host(
        "t",
        HostOptions {
            proxy_jump: Some("j".into()),
            ..Default::default()
        },
    );
    match engine(&f2).connect(&f2.host("t")) {
        Err(SshError::Jump { hop, error }) => {
            assert!(hop.contains('j'), "{hop}");
            assert!(matches!(*error, SshError::HostKeyUnknown(_)), "{error:?}");
        }
        other => panic!("expected Jump, got {:?}", other.map(|_| ())),
    }
}

/// Measurement, not a test: `cargo test --test ssh_engine -- --ignored --nocapture sweep_timing`
/// prints the wall time of sweeps of 20 and 50 loopback hosts (figures in docs/performance.md).
#[test]
#[ignore = "measurement; run by hand"]
fn sweep_timing() {
    for n in [20usize, 50] {
        let mut fleet = Fleet::new(FleetOptions {
            concurrency: 32,
            ..Default::default()
        });
        fleet.add_hosts("h", n, HostOptions::default());
        let e = engine(&fleet);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cpu = || {
            // SAFETY: getrusage fills the struct we own.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            let tv = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
            tv(u.ru_utime) + tv(u.ru_stime)
        };
        for round in ["first", "second"] {
            let start = std::time::Instant::now();
            let cpu0 = cpu();
            let mut rx = e.sweep(
                fleet.model_hosts(),
                Arc::new(AtomicBool::new(false)),
                |conn, _| conn.exec("uname -r", &ExecOptions::default()),
            );
            let mut ok = 0;
            rt.block_on(async {
                while let Some(d) = rx.recv().await {
                    ok += usize::from(d.result.is_ok());
                }
            });
            eprintln!(
                "sweep of {n} hosts ({round} engine run, concurrency 32): {ok} ok in {} ms, client CPU {:.0} ms",
                start.elapsed().as_millis(),
                cpu() - cpu0
            );
        }
    }
}

#[test]
fn many_hosts_behind_one_jump_host() {
    let mut fleet = Fleet::new(FleetOptions {
        concurrency: 24,
        ..Default::default()
    });
    // 24 tunnels at once through one bastion that drops unauthenticated
    // connections beyond 10 (the engine keeps at most 8 handshakes in flight
    // per jump host; on loopback the drop did not show even without that)
    fleet.add_host(
        "bastion",
        HostOptions {
            extra_sshd_config: vec!["MaxStartups 10:100:10".into()],
            ..Default::default()
        },
    );
    fleet.add_hosts(
        "in",
        24,
        HostOptions {
            proxy_jump: Some("bastion".into()),
            ..Default::default()
        },
    );
    let hosts: Vec<_> = fleet
        .model_hosts()
        .into_iter()
        .filter(|h| h.name != "bastion")
        .collect();
    let e = engine(&fleet);
    let mut rx = e.sweep(hosts, Arc::new(AtomicBool::new(false)), |conn, host| {
        let o = conn.exec(&format!("echo {}", host.name), &ExecOptions::default())?;
        Ok(o.stdout)
    });
    let mut n = 0;
    while let Some(d) = rx.blocking_recv() {
        n += 1;
        assert_eq!(
            d.result.as_ref().map_err(|e| e.to_string()),
            Ok(&format!("{}\n", d.host).into_bytes()),
            "{}",
            d.host
        );
    }
    assert_eq!(n, 24);
}

#[test]
fn a_cancelled_sweep_starts_nothing() {
    let fleet = Fleet::start(3);
    let e = engine(&fleet);
    let mut rx = e.sweep(
        fleet.model_hosts(),
        Arc::new(AtomicBool::new(true)),
        |_conn, _host| -> Result<(), SshError> { panic!("ran a job of a cancelled sweep") },
    );
    let mut n = 0;
    while let Some(d) = rx.blocking_recv() {
        assert_eq!(d.result.unwrap_err(), SshError::Cancelled);
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn sha1_only_server_gets_a_clear_error() {
    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_host(
        "old",
        HostOptions {
            extra_sshd_config: vec!["KexAlgorithms diffie-hellman-group14-sha1".into()],
            ..Default::default()
        },
    );
    match engine(&fleet).connect(&fleet.host("old")) {
        Err(SshError::Handshake(m)) => assert!(m.contains("only SHA-1 algorithms"), "{m}"),
        other => panic!("expected Handshake, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn resolution_follows_match_and_include_like_ssh() {
    let mut fleet = Fleet::start(1);
    let h = fleet.get("h1");
    let (addr, port) = (h.addr, h.port);
    let included = fleet.dir().join("included.conf");
    std::fs::write(
        &included,
        format!(
            "Host viainclude\n  HostName {addr}\n  Port {port}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            fleet.user_key().display(),
            fleet.known_hosts().display()
        ),
    )
    .unwrap();
    fleet.extra_ssh_config = vec![
        "Match all".into(),
        format!("Include {}", included.display()),
        "Match originalhost viamatch".into(),
        format!("  HostName {addr}"),
        format!("  Port {port}"),
        format!("  IdentityFile {}", fleet.user_key().display()),
        "  IdentitiesOnly yes".into(),
        format!("  UserKnownHostsFile {}", fleet.known_hosts().display()),
    ];
    fleet.write_files();
    let e = engine(&fleet);
    for name in ["viamatch", "viainclude"] {
        let host = opsdeck::model::Host {
            name: name.into(),
            ..Default::default()
        };
        let r = e.resolve(&host).unwrap();
        assert_eq!(
            (r.hostname.as_str(), r.port),
            (addr.to_string().as_str(), port)
        );
        let o = e
            .connect(&host)
            .unwrap()
            .exec("echo $USER", &ExecOptions::default())
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), fleet.user);
    }
    // hosts.toml overrides the config
    let over = opsdeck::model::Host {
        name: "viamatch".into(),
        port: Some(1),
        ..Default::default()
    };
    assert_eq!(e.resolve(&over).unwrap().port, 1);
    assert!(matches!(e.connect(&over), Err(SshError::Connect(_))));
}

#[test]
fn strict_host_key_checking_from_the_ssh_config() {
    // accept-new in the config: recorded without --accept-new
    let mut fleet = one_host(KnownHostsMode::Missing);
    fleet.extra_ssh_config = vec![
        "Match all".into(),
        "  StrictHostKeyChecking accept-new".into(),
    ];
    fleet.write_files();
    run(&engine(&fleet), &fleet, "h1", "true").unwrap();
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(text.contains(&fleet.get("h1").ed25519_pub), "{text}");

    // yes in the config: refused without --accept-new, nothing written...
    let mut fleet = one_host(KnownHostsMode::Missing);
    fleet.extra_ssh_config = vec!["Match all".into(), "  StrictHostKeyChecking yes".into()];
    fleet.write_files();
    let before = std::fs::read(fleet.known_hosts()).unwrap();
    assert!(matches!(
        run(&engine(&fleet), &fleet, "h1", "true"),
        Err(SshError::HostKeyUnknown(_))
    ));
    assert_eq!(std::fs::read(fleet.known_hosts()).unwrap(), before);
    // ...and --accept-new, the user's explicit word on the command line,
    // wins over the file, as `ssh -o StrictHostKeyChecking=accept-new` does
    let e = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions { accept_new: true },
        AgentChoice::Off,
    );
    run(&e, &fleet, "h1", "true").unwrap();
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(text.contains(&fleet.get("h1").ed25519_pub), "{text}");

    // a changed key stays refused, --accept-new and all
    let mut fleet = one_host(KnownHostsMode::Wrong);
    fleet.extra_ssh_config = vec!["Match all".into(), "  StrictHostKeyChecking no".into()];
    fleet.write_files();
    let before = std::fs::read(fleet.known_hosts()).unwrap();
    let e = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions { accept_new: true },
        AgentChoice::Off,
    );
    assert!(matches!(
        e.connect(&fleet.host("h1")),
        Err(SshError::HostKeyChanged(_))
    ));
    assert_eq!(std::fs::read(fleet.known_hosts()).unwrap(), before);
}

#[test]
fn identity_agent_from_the_ssh_config() {
    let mut fleet = Fleet::start(1);
    let agent = Agent::start(fleet.dir());
    agent.add(&fleet.user_key(), None);
    std::fs::remove_file(fleet.user_key()).unwrap();
    fleet.extra_ssh_config = vec![
        "Match all".into(),
        format!("  IdentityAgent {}", agent.socket.display()),
    ];
    fleet.write_files();
    // the engine defers to the config's IdentityAgent (not SSH_AUTH_SOCK)
    let e = Engine::new(&fleet.ssh_settings(), EngineOptions::default());
    assert_eq!(run(&e, &fleet, "h1", "echo ia").unwrap().stdout, b"ia\n");
    // an explicit engine choice wins over the config
    assert!(matches!(
        run(&engine(&fleet), &fleet, "h1", "true"),
        Err(SshError::Auth(_))
    ));
    // IdentityAgent none: no agent
    fleet.extra_ssh_config = vec!["Match all".into(), "  IdentityAgent none".into()];
    fleet.write_files();
    let e = Engine::new(&fleet.ssh_settings(), EngineOptions::default());
    assert!(matches!(
        run(&e, &fleet, "h1", "true"),
        Err(SshError::Auth(_))
    ));
}
