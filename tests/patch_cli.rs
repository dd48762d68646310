//! `opsdeck patches` and `opsdeck patch apply|refresh|reboot` through the
//! real binary against loopback sshds: stand-in package managers recording
//! every invocation, the journal entries, and (no stand-in) the real apt of
//! this Debian machine.

mod common;
#[path = "common/stub_pm.rs"]
mod stub_pm;

use std::process::{Command, Output};

use common::sshd::{Fleet, FleetOptions, HostOptions};
use stub_pm::{pkg, Stub, DEBIAN, DEBIAN_SECURITY};

const APPLY: &str =
    "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

fn fleet(names: &[&str]) -> Fleet {
    let mut f = Fleet::new(FleetOptions::default());
    for n in names {
        f.add_host(n, stub_pm::host_options());
    }
    for n in names {
        Stub::of(&f, n).set_packages(&[
            pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN),
            pkg(
                "libc6",
                "2.36-9+deb12u7",
                "2.36-9+deb12u10",
                DEBIAN_SECURITY,
            ),
            pkg(
                "linux-image-amd64",
                "6.1.112-1",
                "6.1.119-1",
                DEBIAN_SECURITY,
            ),
        ]);
    }
    f
}

/// Add `hold = [...]` to a host of the fleet's hosts.toml.
fn hold(f: &Fleet, host: &str, patterns: &[&str]) {
    let path = f.home().join("hosts.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let quoted: Vec<String> = patterns.iter().map(|p| format!("\"{p}\"")).collect();
    let text = text.replace(
        &format!("name = \"{host}\"\n"),
        &format!("name = \"{host}\"\nhold = [{}]\n", quoted.join(", ")),
    );
    std::fs::write(path, text).unwrap();
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().unwrap();
    let so = String::from_utf8_lossy(&out.stdout).to_string();
    let se = String::from_utf8_lossy(&out.stderr).to_string();
    (out, so, se)
}

fn journal(f: &Fleet) -> Vec<toml::Value> {
    let text = std::fs::read_to_string(f.home().join("state/journal.toml")).unwrap_or_default();
    let v: toml::Value = toml::from_str(&text).unwrap();
    v.get("entry")
        .and_then(|e| e.as_array())
        .cloned()
        .unwrap_or_default()
}

fn entries<'a>(j: &'a [toml::Value], action: &str) -> Vec<&'a toml::Value> {
    j.iter()
        .filter(|e| e.get("action").and_then(|a| a.as_str()) == Some(action))
        .collect()
}

fn details(e: &toml::Value) -> Vec<String> {
    e.get("details")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn apply_without_a_terminal_and_without_yes_is_refused() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    let (out, _, err) = run(&mut f.opsdeck(&["patch", "apply", "web1"]));
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("add --yes"), "{err}");
    assert!(
        stub.log().is_empty(),
        "nothing reached the host: {:?}",
        stub.log()
    );
}

#[test]
fn patches_json_lists_pending_updates_with_nagios_exit() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    let (out, so, se) = run(&mut f.opsdeck(&["patches", "--json"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "security pending is critical: {so}\n{se}"
    );
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    let h = &v[0];
    assert_eq!(h["host"], "web1");
    assert_eq!(h["package_manager"], "apt");
    assert!(h["error"].is_null());
    let ups = h["updates"].as_array().unwrap();
    let got: Vec<(String, bool)> = ups
        .iter()
        .map(|u| {
            (
                u["package"].as_str().unwrap().to_string(),
                u["security"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("libc6".into(), true),
            ("linux-image-amd64".into(), true),
            ("bash".into(), false)
        ]
    );
    assert_eq!(ups[2]["installed"], "5.2.15-2+b8");
    assert_eq!(ups[2]["candidate"], "5.2.15-2+b13");
    let mut keys: Vec<&String> = h.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "error",
            "host",
            "metadata_age_s",
            "package_manager",
            "reboot_required",
            "updates"
        ]
    );
    // The listing is a simulation: it ran as the SSH user, changed nothing.
    assert!(stub
        .calls("apt-get")
        .iter()
        .all(|c| c.starts_with("apt-get -s ")));
    assert!(stub.calls("sudo").is_empty());
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));
}

#[test]
fn dry_run_says_what_would_change_and_changes_nothing() {
    let f = fleet(&["web1"]);
    hold(&f, "web1", &["linux-image*"]);
    let stub = Stub::of(&f, "web1");
    let (out, so, se) = run(&mut f.opsdeck(&["patch", "apply", "web1", "--dry-run"]));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert_eq!(
        so,
        "web1: 2 packages change (apt updates)\n\
         \x20 bash 5.2.15-2+b8 -> 5.2.15-2+b13\n\
         \x20 libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10 [security]\n\
         \x20 held: linux-image-amd64 (hold \"linux-image*\")\n\
         dry run: nothing changed; 2 package changes on 1 host would be applied\n"
    );
    assert!(stub
        .calls("apt-get")
        .iter()
        .all(|c| c.starts_with("apt-get -s ")));
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));
    assert!(entries(&journal(&f), "patch.apply").is_empty());
}

#[test]
fn apply_security_only_journals_each_host_and_rechecks_it() {
    let f = fleet(&["web1", "web2"]);
    hold(&f, "web2", &["linux-image*"]);
    let (out, so, se) =
        run(&mut f.opsdeck(&["patch", "apply", "web1", "web2", "--security-only", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    // Output streamed to stderr, prefixed per host.
    assert!(
        se.contains("web1 | Unpacking libc6 (2.36-9+deb12u10) over (2.36-9+deb12u7) ..."),
        "{se}"
    );
    let s1 = Stub::of(&f, "web1");
    let s2 = Stub::of(&f, "web2");
    assert!(s1.calls("apt-get").contains(&format!(
        "{APPLY} install --only-upgrade libc6 linux-image-amd64"
    )));
    assert!(s2
        .calls("apt-get")
        .contains(&format!("{APPLY} install --only-upgrade libc6")));
    assert_eq!(
        s2.installed("linux-image-amd64").as_deref(),
        Some("6.1.112-1")
    );
    assert_eq!(s1.installed("bash").as_deref(), Some("5.2.15-2+b8"));

    let j = journal(&f);
    let applied = entries(&j, "patch.apply");
    assert_eq!(applied.len(), 2);
    let e2 = applied
        .iter()
        .find(|e| e.get("target").and_then(|t| t.as_str()) == Some("web2"))
        .unwrap();
    assert_eq!(e2.get("result").and_then(|r| r.as_str()), Some("ok"));
    assert!(e2
        .get("who")
        .and_then(|r| r.as_str())
        .is_some_and(|w| !w.is_empty()));
    assert!(e2
        .get("at")
        .and_then(|r| r.as_str())
        .is_some_and(|w| w.ends_with('Z')));
    let d = details(e2);
    assert_eq!(
        d[..4],
        [
            format!("asked: LC_ALL=C DEBIAN_FRONTEND=noninteractive {APPLY} install --only-upgrade libc6"),
            "scope: security updates only".to_string(),
            "changed: libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10".to_string(),
            "held: linux-image-amd64".to_string(),
        ]
    );
    assert!(d.contains(&"exit status: 0".to_string()), "{d:?}");
    assert!(d.iter().any(|l| l.starts_with("duration: ")), "{d:?}");
    assert!(
        d.iter().any(|l| l.starts_with("reboot required: ")),
        "{d:?}"
    );
    // Re-checked afterwards: one check per host after the applies.
    let checks: Vec<&str> = entries(&j, "check")
        .iter()
        .filter_map(|e| e.get("target").and_then(|t| t.as_str()))
        .collect();
    assert_eq!(checks, ["web1", "web2"]);
}

#[test]
fn a_failing_host_stops_the_cli_and_is_journaled() {
    let f = fleet(&["h1", "h2", "h3"]);
    Stub::of(&f, "h2").fail_apply();
    let (out, so, se) = run(&mut f.opsdeck(&["patch", "apply", "all", "--yes"]));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert!(
        so.contains(
            "h2: FAILED: exit status 100: E: Sub-process /usr/bin/dpkg returned an error code (1)"
        ),
        "{so}"
    );
    assert!(
        so.contains("h3: skipped: not started: an earlier host failed"),
        "{so}"
    );
    assert!(!Stub::of(&f, "h3")
        .calls("apt-get")
        .iter()
        .any(|c| c.starts_with("apt-get -y")));
    let j = journal(&f);
    let results: Vec<(String, String)> = entries(&j, "patch.apply")
        .iter()
        .map(|e| {
            (
                e.get("target")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_string(),
                e.get("result")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0], ("h1".into(), "ok".into()));
    assert!(
        results[1].1.starts_with("failed: exit status 100"),
        "{results:?}"
    );
}

#[test]
fn keep_going_with_parallel_goes_past_the_failing_host() {
    let f = fleet(&["h1", "h2", "h3"]);
    Stub::of(&f, "h2").fail_apply();
    let (out, so, se) = run(&mut f.opsdeck(&[
        "patch",
        "apply",
        "all",
        "--yes",
        "--keep-going",
        "--parallel",
        "2",
    ]));
    assert_eq!(out.status.code(), Some(1), "one host failed: {so}\n{se}");
    assert!(so.contains("h2: FAILED: exit status 100"), "{so}");
    assert!(!so.contains("skipped"), "{so}");
    for h in ["h1", "h3"] {
        assert_eq!(
            Stub::of(&f, h).installed("bash").as_deref(),
            Some("5.2.15-2+b13"),
            "{h} patched"
        );
    }
    assert_eq!(
        Stub::of(&f, "h2").installed("bash").as_deref(),
        Some("5.2.15-2+b8")
    );
    let j = journal(&f);
    let mut results: Vec<(String, bool)> = entries(&j, "patch.apply")
        .iter()
        .map(|e| {
            (
                e.get("target")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
                    .to_string(),
                e.get("result").and_then(|t| t.as_str()) == Some("ok"),
            )
        })
        .collect();
    results.sort();
    assert_eq!(
        results,
        [
            ("h1".to_string(), true),
            ("h2".to_string(), false),
            ("h3".to_string(), true)
        ]
    );
}

/// `apt-get -s upgrade` on this machine, counted like check_apt does.
fn local_pending() -> usize {
    let out = Command::new("apt-get")
        .args([
            "-s",
            "-o",
            "Debug::NoLocking=true",
            "-o",
            "APT::Get::Show-User-Simulation-Note=false",
            "upgrade",
        ])
        .env("LC_ALL", "C")
        .output()
        .expect("apt-get (this test needs Debian's real apt)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Inst "))
        .count()
}

/// The real apt of this Debian machine, over SSH (no stand-in): the pending
/// count opsdeck reports equals `apt-get -s upgrade` run directly. No
/// `apt-get update` here: both read the same package lists, whatever their
/// age, so the comparison holds offline and stays fast.
#[test]
fn real_apt_pending_count_matches_apt_get_s_upgrade() {
    let mut f = Fleet::new(FleetOptions {
        command_timeout_s: 60,
        ..Default::default()
    });
    f.add_host("thisbox", HostOptions::default());
    let before = local_pending();
    let (out, so, se) = run(&mut f.opsdeck(&["patches", "thisbox", "--json"]));
    let after = local_pending();
    assert_eq!(
        before, after,
        "the machine's package state moved during the test"
    );
    let v: serde_json::Value =
        serde_json::from_str(&so).unwrap_or_else(|e| panic!("{e}: {so}\n{se}"));
    assert!(v[0]["error"].is_null(), "{so}");
    assert_eq!(v[0]["package_manager"], "apt");
    let n = v[0]["updates"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(n, before, "{so}");
    let security = v[0]["updates"]
        .as_array()
        .map(|a| a.iter().filter(|u| u["security"] == true).count())
        .unwrap_or(0);
    let expected = if security > 0 {
        2
    } else if n > 0 {
        1
    } else {
        0
    };
    assert_eq!(out.status.code(), Some(expected));
}

#[test]
fn refresh_and_reboot_through_the_binary_are_journaled() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_user(1000, "deploy");
    stub.set_boot_id("boot-before");
    let (out, so, se) = run(&mut f.opsdeck(&["patch", "refresh", "web1", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert_eq!(so, "web1: metadata refreshed\n");
    assert!(stub.refreshed());
    assert_eq!(
        stub.calls("sudo"),
        ["sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -q update"]
    );

    let (out, so, se) = run(&mut f.opsdeck(&["patch", "reboot", "web1", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert!(so.starts_with("web1: rebooted, back after "), "{so}");
    assert!(stub
        .calls("shutdown")
        .contains(&"shutdown -r now".to_string()));
    assert_ne!(stub.boot_id(), "boot-before");

    let j = journal(&f);
    let actions: Vec<(&str, &str)> = j
        .iter()
        .filter_map(|e| Some((e.get("action")?.as_str()?, e.get("result")?.as_str()?)))
        .filter(|(a, _)| a.starts_with("patch."))
        .collect();
    assert_eq!(actions, [("patch.refresh", "ok"), ("patch.reboot", "ok")]);
    // Each was followed by a re-check of the host.
    assert_eq!(entries(&j, "check").len(), 2);
}

#[test]
fn reboot_without_yes_and_without_a_terminal_is_refused() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    let (out, _, err) = run(&mut f.opsdeck(&["patch", "reboot", "web1"]));
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(stub.log().is_empty());
}
