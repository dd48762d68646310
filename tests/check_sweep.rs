//! The check through real sshd processes on loopback (tests/common/sshd.rs):
//! facts against the truth of this machine, a sweep of 23 hosts with 3 broken
//! in different ways, and the package-stamp cache on a repeat sweep.
//!
//! The sessions' PATH starts with a stub directory whose `apt-get` prints a
//! real `apt-get -s upgrade` output (tests/fixtures/checks/apt-debian12-edge.txt)
//! and records each call, so the listing's cost and its re-runs are visible.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};
use opsdeck::checks::{self, HostCheck, Previous};
use opsdeck::model::{Status, Thresholds};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions};

fn engine(fleet: &Fleet) -> Engine {
    Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions::default(),
        AgentChoice::Off,
    )
}

/// A stub dir with `apt-get` that logs its arguments to `calls.log`.
fn apt_stub(dir: &Path) -> PathBuf {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checks/apt-debian12-edge.txt");
    let stub = dir.join("stub");
    write_stub(
        &stub,
        "apt-get",
        &format!(
            "#!/bin/sh\necho \"apt-get $*\" >> '{}'\ncat '{}'\n",
            stub.join("calls.log").display(),
            fixture.display()
        ),
    );
    stub
}

fn calls(stub: &Path) -> Vec<String> {
    std::fs::read_to_string(stub.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn sweep(fleet: &Fleet, previous: std::collections::HashMap<String, Previous>) -> Vec<HostCheck> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let e = engine(fleet);
    rt.block_on(async {
        let mut rx = checks::sweep_with(
            &e,
            fleet.model_hosts(),
            previous,
            Thresholds::default(),
            Arc::new(AtomicBool::new(false)),
        );
        let mut v = Vec::new();
        while let Some(r) = rx.recv().await {
            v.push(r);
        }
        v.sort_by(|a, b| a.check.host.cmp(&b.check.host));
        v
    })
}

fn sh(cmd: &str) -> String {
    let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `/` usage as `df -P /` computes it (used / (used + available)).
fn df_root_pct() -> f64 {
    let line = sh("df -P -k / | tail -n 1");
    let w: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(3)
        .map(|x| x.parse().unwrap())
        .collect();
    w[1] * 100.0 / (w[1] + w[2])
}

fn assert_truthful(r: &HostCheck) {
    assert_eq!(r.check.error, None, "{}: {:?}", r.check.host, r.check.error);
    let f = r.check.facts.as_ref().expect("facts");
    assert_eq!(f.kernel.as_deref(), Some(sh("uname -r").as_str()));
    assert_eq!(f.cpus, Some(sh("nproc").parse::<u32>().unwrap()));
    let root = f.disks.iter().find(|d| d.mount == "/").expect("/ in disks");
    assert!(
        (root.used_pct - df_root_pct()).abs() <= 1.0,
        "/ {} vs df {}",
        root.used_pct,
        df_root_pct()
    );
    assert!(
        f.disks.iter().all(|d| d.fstype.as_deref() != Some("tmpfs")),
        "tmpfs listed: {:?}",
        f.disks
    );
    let pretty = sh(". /etc/os-release && echo \"$PRETTY_NAME\"");
    assert_eq!(f.os.as_deref(), Some(pretty.as_str()));
    assert!(f.uptime_s.unwrap() > 0);
    assert!(f.load.is_some());
    let mem = f.mem_used_pct.unwrap();
    assert!((0.0..=100.0).contains(&mem));
    assert_eq!(f.package_manager.as_deref(), Some("apt"));
    let reboot = Path::new("/var/run/reboot-required").exists();
    assert_eq!(f.reboot_required, Some(reboot));
    // The stub's listing: 4 upgrades, 3 from Debian-Security, 2 kept back.
    let u = f.updates.as_ref().unwrap();
    assert_eq!((u.pending, u.security), (Some(4), Some(3)));
    assert_eq!(r.patches.updates.len(), 4);
    assert_eq!(r.patches.kept_back, ["linux-image-amd64", "nginx"]);
    assert!(r.patches.pkg_stamp.is_some());
    // 3 security updates pending: crit by default, with the reason shown.
    assert_eq!(r.check.status, Status::Crit);
    assert!(r
        .check
        .reasons
        .contains(&"3 security updates pending".to_string()));
    assert!(r.remote_cpu_ms.is_some());
}

#[test]
fn healthy_host_facts_are_true_and_the_repeat_uses_the_cache() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let stub = apt_stub(fleet.dir());
    fleet.add_host(
        "web1",
        HostOptions {
            stub_path: Some(stub.clone()),
            ..Default::default()
        },
    );
    let first = sweep(&fleet, Default::default());
    assert_eq!(first.len(), 1);
    assert_truthful(&first[0]);
    assert!(first[0].listing_ran);
    let c = calls(&stub);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].starts_with("apt-get -s -o Debug::NoLocking=true"),
        "{c:?}"
    );
    assert!(c[0].ends_with(" upgrade"), "{c:?}");

    let second = sweep(&fleet, checks::previous_of(&first));
    assert_truthful(&second[0]);
    if second[0].patches.pkg_stamp == first[0].patches.pkg_stamp {
        // Unchanged package lists and database: the probe said "unchanged",
        // apt-get did not run, the previous list was reused.
        assert!(!second[0].listing_ran);
        assert_eq!(calls(&stub).len(), 1);
        assert_eq!(second[0].patches.updates, first[0].patches.updates);
    } else {
        // Someone changed the package database meanwhile: it must re-list.
        assert!(second[0].listing_ran);
        assert_eq!(calls(&stub).len(), 2);
    }
}

#[test]
fn sweep_of_23_hosts_with_3_broken() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let stub = apt_stub(fleet.dir());
    let opts = HostOptions {
        stub_path: Some(stub.clone()),
        ..Default::default()
    };
    fleet.add_hosts("ok", 20, opts.clone());
    // 1: nothing listens.
    fleet.add_refused("refused");
    // 2: the server refuses our key.
    fleet.add_host(
        "badauth",
        HostOptions {
            authorize_user_key: false,
            ..opts.clone()
        },
    );
    // 3: the remote `sh` prints something that is not the probe's output.
    let garbage = fleet.dir().join("garbage");
    write_stub(
        &garbage,
        "sh",
        "#!/bin/dash\ncat > /dev/null\necho 'Welcome!'\necho '@@opsdeck probe 1'\necho '@@opsdeck load'\necho 'not a load'\n",
    );
    fleet.add_host(
        "garbled",
        HostOptions {
            stub_path: Some(garbage),
            ..Default::default()
        },
    );

    let results = sweep(&fleet, Default::default());
    assert_eq!(results.len(), 23);
    let by = |n: &str| results.iter().find(|r| r.check.host == n).unwrap();

    let refused = by("refused");
    assert_eq!(refused.check.status, Status::Crit);
    assert!(refused
        .check
        .error
        .as_deref()
        .unwrap()
        .contains("connection failed"));
    let badauth = by("badauth");
    assert_eq!(badauth.check.status, Status::Crit);
    assert!(
        badauth
            .check
            .error
            .as_deref()
            .unwrap()
            .contains("authentication failed"),
        "{:?}",
        badauth.check.error
    );
    let garbled = by("garbled");
    assert_eq!(garbled.check.status, Status::Unknown);
    assert!(
        garbled.check.error.as_deref().unwrap().contains("`load`"),
        "{:?}",
        garbled.check.error
    );
    assert!(garbled.check.facts.is_none());

    for i in 1..=20 {
        assert_truthful(by(&format!("ok{i}")));
    }
    assert_eq!(calls(&stub).len(), 20);
    assert_eq!(
        opsdeck::model::nagios_exit(results.iter().map(|r| r.check.status)),
        2
    );
}
