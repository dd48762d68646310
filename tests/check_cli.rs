//! `opsdeck check` through the real binary against real sshd hosts: the JSON
//! document, the table, Nagios exit codes, state files and the journal.

mod common;

use std::path::PathBuf;

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};
use opsdeck::model::{CheckResult, PatchReport};
use opsdeck::store::{Home, StateKind, Store};

fn fleet_with_stub(extra_security: bool) -> (Fleet, PathBuf) {
    let mut fleet = Fleet::new(FleetOptions::default());
    let fixture = if extra_security {
        "apt-debian12-edge.txt"
    } else {
        "apt-none.txt"
    };
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checks")
        .join(fixture);
    let stub = fleet.dir().join("stub");
    write_stub(
        &stub,
        "apt-get",
        &format!(
            "#!/bin/sh\necho \"apt-get $*\" >> '{}'\ncat '{}'\n",
            stub.join("calls.log").display(),
            fixture.display()
        ),
    );
    let opts = HostOptions {
        stub_path: Some(stub.clone()),
        ..Default::default()
    };
    fleet.add_host("web1", opts.clone());
    fleet.add_host(
        "db1",
        HostOptions {
            tags: vec!["db".into()],
            ..opts
        },
    );
    (fleet, stub)
}

#[test]
fn json_document_exit_codes_state_and_journal() {
    let (mut fleet, stub) = fleet_with_stub(true);
    fleet.add_refused("gone");
    let out = fleet.opsdeck(&["check", "--json"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // An unreachable host is critical.
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let arr = v.as_array().expect("an array");
    let hosts: Vec<&str> = arr.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["web1", "db1", "gone"], "hosts.toml order");
    for h in &arr[..2] {
        for k in ["status", "error", "elapsed_ms", "checked_at", "facts"] {
            assert!(h.get(k).is_some(), "{k} missing in {h}");
        }
        let f = &h["facts"];
        for k in [
            "os",
            "kernel",
            "uptime_s",
            "cpus",
            "load",
            "mem_used_pct",
            "disks",
            "failed_units",
            "reboot_required",
            "package_manager",
            "updates",
        ] {
            assert!(f.get(k).is_some(), "facts.{k} missing in {f}");
        }
        assert_eq!(h["status"], "crit", "3 security updates pending");
        assert_eq!(h["error"], serde_json::Value::Null);
        assert_eq!(f["updates"]["pending"], 4);
        assert_eq!(f["updates"]["security"], 3);
        assert_eq!(f["package_manager"], "apt");
        assert_eq!(f["load"].as_array().unwrap().len(), 3);
        assert!(f["disks"][0]["mount"].is_string());
        assert!(f["disks"][0]["used_pct"].is_number());
    }
    assert_eq!(arr[2]["status"], "crit");
    assert!(arr[2]["error"]
        .as_str()
        .unwrap()
        .contains("connection failed"));
    assert_eq!(arr[2]["facts"], serde_json::Value::Null);
    // No progress bar when stderr is not a terminal.
    assert!(!stderr.contains("hosts checked"), "{stderr}");

    // State: both kinds, with the stamp; one journal entry for the sweep.
    let store = Store::load(Home::under(fleet.home())).unwrap();
    let checks: Vec<CheckResult> = store.load_state(StateKind::Checks).items;
    assert_eq!(checks.len(), 3);
    let patches: Vec<PatchReport> = store.load_state(StateKind::Patches).items;
    let web1 = patches.iter().find(|p| p.host == "web1").unwrap();
    assert_eq!(web1.updates.len(), 4);
    assert!(web1.pkg_stamp.is_some());
    let journal = store.read_journal().unwrap();
    let sweeps: Vec<_> = journal.iter().filter(|e| e.action == "check").collect();
    assert_eq!(sweeps.len(), 1);
    assert_eq!(sweeps[0].target, "all");
    assert_eq!(sweeps[0].result, "crit");
    assert!(sweeps[0]
        .details
        .iter()
        .any(|d| d.starts_with("gone: crit")));
    assert_eq!(
        std::fs::read_to_string(stub.join("calls.log"))
            .unwrap()
            .lines()
            .count(),
        2
    );

    // Repeat: the stamp is passed, apt-get is not run again (unless the
    // machine's package database changed in between), the counts are the same.
    let out = fleet
        .opsdeck(&["check", "web1", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["facts"]["updates"]["pending"], 4);
    let patches: Vec<PatchReport> = store.load_state(StateKind::Patches).items;
    let again = patches.iter().find(|p| p.host == "web1").unwrap();
    let calls = std::fs::read_to_string(stub.join("calls.log"))
        .unwrap()
        .lines()
        .count();
    if again.pkg_stamp == web1.pkg_stamp {
        assert_eq!(calls, 2, "the repeat check must not list again");
    }
    let journal = store.read_journal().unwrap();
    let sweeps: Vec<_> = journal.iter().filter(|e| e.action == "check").collect();
    assert_eq!(sweeps.len(), 2);
    assert_eq!(sweeps[1].target, "web1");
}

#[test]
fn table_targets_and_usage_errors() {
    let (fleet, _stub) = fleet_with_stub(false);
    let out = fleet.opsdeck(&["check", "@db"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // a header, one host, and (the OS name is cut to fit) the note on --wide
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[2].contains("--wide"), "{stdout}");
    let wide = fleet.opsdeck(&["check", "@db", "--wide"]).output().unwrap();
    let wide = String::from_utf8_lossy(&wide.stdout);
    assert_eq!(wide.lines().count(), 2, "nothing cut: {wide}");
    assert!(wide.contains("Debian GNU/Linux 12 (bookworm)"), "{wide}");
    for col in [
        "HOST", "STATUS", "REASON", "OS", "UPTIME", "LOAD", "DISK", "UPDATES",
    ] {
        assert!(lines[0].contains(col), "{col} missing: {}", lines[0]);
    }
    assert!(lines[1].starts_with("db1 "), "{stdout}");
    assert!(lines[1].contains("0 (0 sec)"), "{stdout}");
    // Columns are aligned: STATUS starts at the same offset in both lines.
    let col = lines[0].find("STATUS").unwrap();
    assert!(
        ["OK", "WARN", "CRIT", "UNKNOWN"]
            .iter()
            .any(|s| lines[1][col..].starts_with(s)),
        "{stdout}"
    );
    let code = out.status.code().unwrap();
    // The status depends on this machine (load, disks): it must match the row.
    let status = lines[1][col..].split_whitespace().next().unwrap();
    assert_eq!(
        code,
        [("OK", 0), ("WARN", 1), ("CRIT", 2), ("UNKNOWN", 3)]
            .iter()
            .find(|(s, _)| *s == status)
            .unwrap()
            .1,
        "{stdout}"
    );

    let out = fleet.opsdeck(&["check", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(out.stdout.is_empty());
}
