//! Hardening against hosts (issue #11, the remote side), with real sshd:
//! no host is ever dropped from a result (a panic of its work included),
//! absurd timeouts do not panic, a connection lost after the command
//! started is "outcome unknown", endless output is capped as it arrives,
//! and every kind of connect failure says what it is, first.

mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};
use opsdeck::fleet::{self, Outcome};
use opsdeck::model::Status;
use opsdeck::ssh::mux::PersistConfig;
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions, ExecOptions, SshError};

fn direct(fleet: &Fleet) -> Engine {
    Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Off,
    )
}

fn no_cancel() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

#[test]
fn a_panic_in_one_hosts_work_is_that_hosts_error() {
    let fleet = Fleet::start(3);
    let engine = direct(&fleet);
    let mut rx = engine.sweep(fleet.model_hosts(), no_cancel(), |conn, host| {
        if host.name == "h2" {
            panic!("boom on {}", host.name);
        }
        conn.exec("echo hi", &ExecOptions::default())
    });
    let mut done = Vec::new();
    while let Some(d) = rx.blocking_recv() {
        done.push(d);
    }
    done.sort_by(|a, b| a.host.cmp(&b.host));
    let names: Vec<&str> = done.iter().map(|d| d.host.as_str()).collect();
    assert_eq!(names, ["h1", "h2", "h3"], "no host vanishes");
    match &done[1].result {
        Err(SshError::Internal(m)) => assert!(m.contains("boom on h2"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(done[0].result.is_ok() && done[2].result.is_ok());
}

#[test]
fn absurd_timeouts_given_directly_do_not_panic() {
    let fleet = Fleet::start(1);
    let mut settings = fleet.ssh_settings();
    settings.connect_timeout_s = i64::MAX as u64;
    settings.command_timeout_s = u64::MAX;
    let engine = Engine::with_agent(&settings, EngineOptions::default(), AgentChoice::Off);
    let mut conn = engine.connect(&fleet.host("h1")).expect("connects");
    let out = conn
        .exec(
            "echo ok",
            &ExecOptions {
                timeout: Some(Duration::MAX),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(out.stdout, b"ok\n");
    // and through `run`, one host unreachable beside it: both reported
    let mut fleet = fleet;
    fleet.add_refused("gone");
    let mut rx = fleet::start(
        &engine,
        fleet.model_hosts(),
        "true".into(),
        Some(Duration::MAX),
        None,
        no_cancel(),
    );
    let mut n = 0;
    while let Some(r) = rx.blocking_recv() {
        n += 1;
        assert!(r.host == "h1" || r.outcome == Outcome::Unreachable, "{r:?}");
    }
    assert_eq!(n, 2);
}

#[test]
fn a_connection_lost_after_the_start_is_outcome_unknown() {
    let fleet = Fleet::start(1);
    // direct: the sshd's session processes killed while the command runs
    let engine = direct(&fleet);
    let mut rx = fleet::start(
        &engine,
        fleet.model_hosts(),
        "echo started; sleep 30".into(),
        Some(Duration::from_secs(20)),
        None,
        no_cancel(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    fleet.kill_sessions("h1");
    let r = rx.blocking_recv().expect("h1 reported");
    assert_eq!(r.outcome, Outcome::Unknown, "{r:?}");
    let e = r.error.unwrap_or_default();
    assert!(e.starts_with("outcome unknown"), "{e}");
    assert!(!e.contains("never ran"), "{e}");

    // persisted: the connection helper killed while the command runs
    let state = fleet.home().join("state");
    let engine = direct(&fleet).with_persist(Some(PersistConfig {
        state_dir: state.clone(),
        idle: Duration::from_secs(3),
        program: PathBuf::from(env!("CARGO_BIN_EXE_opsdeck")),
    }));
    let mut rx = fleet::start(
        &engine,
        fleet.model_hosts(),
        "echo started; sleep 30".into(),
        Some(Duration::from_secs(20)),
        None,
        no_cancel(),
    );
    // the helper writes its pid once it runs
    let lock = state.join("mux/lock");
    let mut pid = 0;
    for _ in 0..100 {
        pid = std::fs::read_to_string(&lock)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        if pid > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pid > 0, "the helper started");
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the helper this test's engine started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let r = rx.blocking_recv().expect("h1 reported");
    assert_eq!(r.outcome, Outcome::Unknown, "{r:?}");
    let s = fleet::Summary::of(std::slice::from_ref(&r));
    assert!(s.line().contains("1 outcome unknown"), "{}", s.line());
    let j = fleet::journal_entry("sleep", "all", std::slice::from_ref(&r));
    assert!(j.result.contains("outcome unknown"), "{j:?}");
}

#[test]
fn endless_output_is_capped_as_it_arrives() {
    let mut fleet = Fleet::new(FleetOptions::default());
    // a host whose `df` prints 20 MB in the middle of the probe
    let flood = fleet.dir().join("flood");
    write_stub(
        &flood,
        "df",
        "#!/bin/dash\nhead -c 20000000 /dev/zero | tr '\\0' 'y'\necho\n",
    );
    fleet.add_host(
        "flood",
        HostOptions {
            stub_path: Some(flood),
            ..Default::default()
        },
    );
    fleet.add_hosts("ok", 1, HostOptions::default());
    let engine = direct(&fleet);
    // run: [run] max_output kept, the rest counted, the result says so
    let mut rx = fleet::start(
        &engine,
        vec![fleet.host("ok1")],
        "head -c 30000000 /dev/zero | tr '\\0' x; echo; echo the-end".into(),
        Some(Duration::from_secs(60)),
        Some(64 * 1024),
        no_cancel(),
    );
    let r = rx.blocking_recv().unwrap();
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
    assert!(r.stdout.len() < 70 * 1024, "{}", r.stdout.len());
    assert!(r.output_dropped >= 29_000_000, "{}", r.output_dropped);
    assert!(r.stdout.ends_with("the-end\n"));
    let g = fleet::group(std::slice::from_ref(&r));
    assert!(
        g[0].status_text().contains("output truncated"),
        "{}",
        g[0].status_text()
    );

    // check: the probe's output over its cap makes that section unknown,
    // never the host, and never opsdeck's memory
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut got = rt.block_on(async {
        let mut rx = opsdeck::checks::sweep_with(
            &engine,
            vec![fleet.host("flood"), fleet.host("ok1")],
            Default::default(),
            Default::default(),
            no_cancel(),
        );
        let mut got = Vec::new();
        while let Some(hc) = rx.recv().await {
            got.push(hc);
        }
        got
    });
    got.sort_by(|a, b| a.check.host.cmp(&b.check.host));
    assert_eq!(got.len(), 2);
    let f = &got[0].check;
    assert_eq!(f.host, "flood");
    assert_ne!(f.status, Status::Ok);
    let all = format!("{:?} {:?}", f.error, f.reasons);
    assert!(
        all.contains("`disks` section: output over the cap"),
        "{all}"
    );
    let facts = f.facts.as_ref().expect("the other facts are kept");
    assert!(facts.kernel.is_some() && facts.load.is_some(), "{facts:?}");
    assert!(
        all.len() < 10_000,
        "excerpts stay bounded: {} bytes",
        all.len()
    );
}

#[test]
fn every_kind_of_connect_failure_says_what_it_is_first() {
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 2,
        ..Default::default()
    });
    fleet.add_refused("refused");
    fleet.add_silent("silent");
    fleet.add_blackhole("absent");
    let engine = direct(&fleet);
    let err = |n: &str| match engine.connect(&fleet.host(n)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{n} connected"),
    };
    let refused = err("refused");
    assert!(
        refused.starts_with("connection failed: refused by"),
        "{refused}"
    );
    let silent = err("silent");
    assert!(silent.starts_with("timed out: no SSH banner"), "{silent}");
    assert!(silent.contains("does not speak SSH"), "{silent}");
    let absent = err("absent");
    assert!(absent.starts_with("timed out: no answer from"), "{absent}");
    assert!(absent.contains("host down"), "{absent}");
}
