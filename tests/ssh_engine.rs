//! The SSH engine against real sshd processes on loopback (tests/common/sshd.rs).

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::sshd::{Fleet, FleetOptions, HostOptions};
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
