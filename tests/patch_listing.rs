//! The listing `opsdeck patches` shows, through real loopback sshds, without
//! the store: the checks probe (one exec) turned into the `patches --json`
//! object by the checks module, then into status and JSON by `cli::patch`.
//! On a stand-in apt-get (exact command asserted); the real apt of this
//! machine is compared through the binary in tests/patch_cli.rs.

mod common;
#[path = "common/stub_pm.rs"]
mod stub_pm;

use std::time::{Duration, Instant};

use common::sshd::{Fleet, FleetOptions};
use opsdeck::checks;
use opsdeck::cli::patch::to_json;
use opsdeck::model::{Status, Thresholds};
use opsdeck::ops::patch::status as patch_status;
use opsdeck::ssh::{AgentChoice, Engine, ExecOptions};
use stub_pm::{pkg, Stub, DEBIAN, DEBIAN_SECURITY};

fn list(f: &Fleet, host: &str) -> checks::HostCheck {
    let e = Engine::with_agent(&f.ssh_settings(), Default::default(), AgentChoice::Off);
    let started = Instant::now();
    let outcome = e.connect(&f.host(host)).and_then(|mut c| {
        c.exec(
            &checks::probe_command(None),
            &ExecOptions {
                stdin: Some(checks::PROBE.as_bytes().to_vec()),
                timeout: Some(Duration::from_secs(60)),
                ..Default::default()
            },
        )
    });
    checks::assemble(
        host,
        outcome,
        started.elapsed(),
        None,
        &Thresholds::default(),
    )
}

#[test]
fn listing_on_a_stand_in_apt_is_a_simulation_as_the_ssh_user() {
    let mut f = Fleet::new(FleetOptions::default());
    f.add_host("web1", stub_pm::host_options());
    let stub = Stub::of(&f, "web1");
    stub.set_packages(&[
        pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN),
        pkg(
            "libc6",
            "2.36-9+deb12u7",
            "2.36-9+deb12u10",
            DEBIAN_SECURITY,
        ),
        pkg("zip", "3.0-13", "3.0-13", DEBIAN),
    ]);
    stub.set_kept_back(&["linux-image-amd64"]);
    let hc = list(&f, "web1");
    assert!(hc.patches.error.is_none(), "{:?}", hc.patches);
    // The exact command that reached the host: one read-only simulation.
    assert_eq!(
        stub.calls("apt-get"),
        [
            "apt-get -s -o Debug::NoLocking=true -o APT::Get::Show-User-Simulation-Note=false \
          -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= upgrade"
        ]
    );
    assert!(stub.calls("sudo").is_empty());
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));

    let v = serde_json::to_value(to_json(&hc.patches)).unwrap();
    assert_eq!(v["host"], "web1");
    assert_eq!(v["package_manager"], "apt");
    let ups: Vec<(String, String, String, bool)> = v["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["package"].as_str().unwrap_or("").into(),
                u["installed"].as_str().unwrap_or("").into(),
                u["candidate"].as_str().unwrap_or("").into(),
                u["security"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        ups,
        [
            (
                "libc6".into(),
                "2.36-9+deb12u7".into(),
                "2.36-9+deb12u10".into(),
                true
            ),
            (
                "bash".into(),
                "5.2.15-2+b8".into(),
                "5.2.15-2+b13".into(),
                false
            ),
        ]
    );
    let t = Thresholds::default();
    assert_eq!(patch_status(&hc.patches, true, &t), Status::Crit);
    let mut no_sec = hc.patches.clone();
    no_sec.updates.retain(|u| u.security != Some(true));
    assert_eq!(patch_status(&no_sec, true, &t), Status::Warn);
}
