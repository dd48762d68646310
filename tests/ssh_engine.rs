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
        Err(SshError::Timeout(m)) => assert!(m.contains("handshake"), "{m}"),
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
        },
    );
    assert_eq!(r, Err(SshError::CommandTimeout(Duration::from_secs(1))));
    // the connection is gone; a new one works
    assert!(c.exec("true", &ExecOptions::default()).is_err());
    drop(c);
    let o = run(&e, &fleet, "h1", "echo again").unwrap();
    assert_eq!(o.stdout, b"again\n");
}

#[test]
fn sweep_of_many_hosts_with_three_broken() {
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 2,
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
