//! `opsdeck run` through the real binary, against real sshd hosts on loopback.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};
use opsdeck::fleet::{self, Outcome};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions};

/// h1, h2: `greet` says hello; h3: `greet` fails with 3; h4: `greet` hangs;
/// dead: refused.
fn fleet() -> Fleet {
    let mut f = Fleet::new(FleetOptions::default());
    let stubs = f.dir().join("stubs");
    let mk = |dir: &Path, script: &str| {
        write_stub(dir, "greet", script);
        Some(dir.to_path_buf())
    };
    let good = mk(
        &stubs.join("good"),
        "#!/bin/sh\necho hello\necho warn >&2\n",
    );
    let bad = mk(&stubs.join("bad"), "#!/bin/sh\necho nope >&2\nexit 3\n");
    let slow = mk(
        &stubs.join("slow"),
        "#!/bin/sh\necho starting\nexec sleep 30\n",
    );
    for (name, stub) in [("h1", &good), ("h2", &good), ("h3", &bad), ("h4", &slow)] {
        f.add_host(
            name,
            HostOptions {
                stub_path: stub.clone(),
                tags: vec!["t".into()],
                ..Default::default()
            },
        );
    }
    f.add_refused("dead");
    f
}

fn json(out: &std::process::Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn library_run_groups_and_classifies() {
    let f = fleet();
    let engine = Engine::with_agent(
        &f.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Off,
    );
    let mut rx = fleet::start(
        &engine,
        f.model_hosts(),
        "greet".into(),
        Some(std::time::Duration::from_secs(2)),
        None,
        Arc::new(AtomicBool::new(false)),
    );
    let mut results = Vec::new();
    while let Some(r) = rx.blocking_recv() {
        results.push(r);
    }
    results.sort_by(|a, b| a.host.cmp(&b.host));
    let outcomes: Vec<(&str, Outcome)> = results
        .iter()
        .map(|r| (r.host.as_str(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("dead", Outcome::Unreachable),
            ("h1", Outcome::Ok),
            ("h2", Outcome::Ok),
            ("h3", Outcome::Failed),
            ("h4", Outcome::Timeout)
        ]
    );
    let groups = fleet::group(&results);
    assert_eq!(groups.len(), 4);
    assert!(groups.iter().any(|g| g.hosts == ["h1", "h2"]));
}

#[test]
fn succeeds_everywhere() {
    let f = fleet();
    let out = f
        .opsdeck(&["run", "h1", "h2", "h3", "h4", "--", "echo", "a b;c"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("=== 4 hosts: h1, h2, h3, h4 (exit 0)\na b;c\n"),
        "{text}"
    );
    assert!(
        text.contains("4 hosts: 4 ok, 0 failed, 0 timed out, 0 unreachable"),
        "{text}"
    );
    let journal = std::fs::read_to_string(f.home().join("state/journal.toml")).unwrap();
    assert!(journal.contains("action = \"run\""), "{journal}");
    assert!(journal.contains("echo 'a b;c'"), "{journal}");
}

#[test]
fn failures_timeouts_and_unreachable_hosts() {
    let f = fleet();
    let out = f
        .opsdeck(&["run", "all", "--timeout", "2", "--", "greet"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("=== 2 hosts: h1, h2 (exit 0)\nhello\n--- stderr\nwarn\n"),
        "{text}"
    );
    assert!(
        text.contains("=== h3 (exit 3)\n--- stderr\nnope\n"),
        "{text}"
    );
    assert!(
        text.contains("=== h4 (timed out: command timed out after 2s)\nstarting\n"),
        "{text}"
    );
    assert!(
        text.contains("=== dead (unreachable: connection failed:"),
        "{text}"
    );
    assert!(
        text.contains("5 hosts: 2 ok, 1 failed, 1 timed out, 1 unreachable"),
        "{text}"
    );

    let out = f
        .opsdeck(&["run", "all", "--json", "--timeout", "2", "--", "greet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let hosts: Vec<&str> = v.iter().map(|o| o["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["h1", "h2", "h3", "h4", "dead"]);
    assert_eq!(v[0]["stdout"], "hello\n");
    assert_eq!(v[0]["stderr"], "warn\n");
    assert_eq!(v[0]["exit_status"], 0);
    assert_eq!(v[0]["outcome"], "ok");
    assert_eq!(v[0]["error"], serde_json::Value::Null);
    assert!(v[0]["elapsed_ms"].is_u64());
    assert_eq!(v[2]["exit_status"], 3);
    assert_eq!(v[2]["outcome"], "failed");
    assert_eq!(v[3]["outcome"], "timeout");
    assert_eq!(v[3]["stdout"], "starting\n");
    assert_eq!(v[3]["exit_status"], serde_json::Value::Null);
    assert_eq!(v[4]["outcome"], "unreachable");
    assert!(v[4]["error"].as_str().unwrap().contains("refused"));
}

#[test]
fn usage_errors() {
    let f = fleet();
    let out = f
        .opsdeck(&["run", "nosuch", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = f.opsdeck(&["run", "all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    // a hosts.toml that does not parse: 78, the file named
    std::fs::write(f.home().join("hosts.toml"), "[[host]]\nname = \n").unwrap();
    let out = f.opsdeck(&["run", "all", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hosts.toml:"));
}
