//! The time-synchronisation check (src/checks/family/timesync.rs), added by
//! the "add a check" recipe, through the real binary against real sshd
//! hosts whose `timedatectl` / `chronyc` print what those tools print.

mod common;

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};

fn host_with(fleet: &mut Fleet, name: &str, stubs: &[(&str, &str)]) {
    let dir = fleet.dir().join(format!("stub-{name}"));
    for (tool, script) in stubs {
        write_stub(&dir, tool, script);
    }
    fleet.add_host(
        name,
        HostOptions {
            stub_path: Some(dir),
            ..Default::default()
        },
    );
}

#[test]
fn an_unsynchronised_clock_warns_and_a_synchronised_one_is_quiet() {
    let mut fleet = Fleet::new(FleetOptions::default());
    // `chronyc -n tracking` as chrony 4.3 prints it (Debian 12), in sync
    // and not; what the machine's own timedatectl says (where systemd
    // runs) comes first in the section and chrony's word wins
    let tracking = |leap: &str| {
        format!(
            "#!/bin/sh\ncat <<'X'\nReference ID    : C0A80101 (ntp1)\nStratum         : 3\n\
             System time     : 0.000012 seconds fast of NTP time\nLeap status     : {leap}\nX\n"
        )
    };
    host_with(&mut fleet, "synced", &[("chronyc", &tracking("Normal"))]);
    host_with(
        &mut fleet,
        "drifting",
        &[("chronyc", &tracking("Not synchronised"))],
    );
    let out = fleet
        .opsdeck(&["check", "--json"])
        .output()
        .expect("opsdeck runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let host = |name: &str| -> &serde_json::Value {
        v.as_array()
            .and_then(|a| a.iter().find(|h| h["host"] == name))
            .unwrap_or_else(|| panic!("{name} missing in {v}"))
    };
    let reasons = |name: &str| -> Vec<String> {
        host(name)["reasons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };

    let synced = host("synced");
    assert_eq!(
        synced["facts"]["time_sync"]["synchronized"], true,
        "{synced}"
    );
    assert_eq!(synced["facts"]["time_sync"]["daemon"], "chronyd");
    assert!(
        reasons("synced").iter().all(|r| !r.contains("clock")),
        "{:?}",
        reasons("synced")
    );

    let drifting = host("drifting");
    assert_eq!(drifting["facts"]["time_sync"]["synchronized"], false);
    assert!(
        reasons("drifting")
            .contains(&"clock not synchronised (chronyd runs, not in sync)".to_string()),
        "{:?}",
        reasons("drifting")
    );
    assert_ne!(drifting["status"], "ok");
    // the exit status is the worst host's: at least WARNING
    assert!(matches!(out.status.code(), Some(1) | Some(2) | Some(3)));
}
