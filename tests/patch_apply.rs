//! End to end through real loopback sshds: the patches library (plan, apply,
//! refresh, reboot) against stand-in package manager scripts that record
//! every invocation. The tests assert the exact commands that reached the host.

mod common;
#[path = "common/stub_pm.rs"]
mod stub_pm;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::sshd::{Fleet, FleetOptions};
use opsdeck::model::Host;
use opsdeck::patches::run::{self, ApplyOptions, Event, HostPlan, RebootOptions};
use opsdeck::ssh::{AgentChoice, Engine, StreamKind};
use stub_pm::{pkg, Stub, DEBIAN, DEBIAN_SECURITY};

const SIM: &str =
    "apt-get -s -o Debug::NoLocking=true -o APT::Get::Show-User-Simulation-Note=false \
                   -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
const APPLY: &str =
    "apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

fn sim(tail: &str) -> String {
    format!("{SIM} {tail}")
}
fn apply(tail: &str) -> String {
    format!("{APPLY} {tail}")
}

fn fleet(names: &[&str]) -> Fleet {
    let mut f = Fleet::new(FleetOptions::default());
    for n in names {
        f.add_host(n, stub_pm::host_options());
    }
    f
}

fn engine(f: &Fleet) -> Engine {
    Engine::with_agent(&f.ssh_settings(), Default::default(), AgentChoice::Off)
}

fn four_packages(stub: &Stub) {
    stub.set_packages(&[
        pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN),
        pkg(
            "libc6",
            "2.36-9+deb12u7",
            "2.36-9+deb12u10",
            DEBIAN_SECURITY,
        ),
        pkg(
            "openssl",
            "3.0.15-1~deb12u1",
            "3.0.17-1~deb12u2",
            DEBIAN_SECURITY,
        ),
        pkg("zip", "3.0-13", "3.0-13", DEBIAN),
    ]);
}

fn plan(e: &Engine, host: &Host, security_only: bool) -> Result<HostPlan, String> {
    let mut conn = e.connect(host).map_err(|e| e.to_string())?;
    run::plan_host(
        &mut conn,
        host,
        security_only,
        Some(Duration::from_secs(20)),
    )
}

fn opts(keep_going: bool) -> ApplyOptions {
    ApplyOptions {
        parallel: 1,
        keep_going,
        stream: run::StreamOptions {
            timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        },
        store: None,
        recheck: None,
    }
}

fn apply_all(
    e: &Engine,
    work: Vec<(Host, HostPlan)>,
    o: &ApplyOptions,
) -> (Vec<run::HostOutcome>, Vec<Event>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = run::apply_all(e, work, o, Arc::new(AtomicBool::new(false)), tx);
    let mut events = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        events.push(ev);
    }
    (out, events)
}

fn reboot_marker() -> Option<bool> {
    Some(std::path::Path::new("/var/run/reboot-required").exists())
}

#[test]
fn security_only_apply_asks_exactly_the_security_packages() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    four_packages(&stub);
    let e = engine(&f);
    let host = f.host("web1");

    let p = plan(&e, &host, true).unwrap();
    let planned: Vec<String> = p.changes.iter().map(|c| c.describe()).collect();
    assert_eq!(
        planned,
        [
            "libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10",
            "openssl 3.0.15-1~deb12u1 -> 3.0.17-1~deb12u2"
        ]
    );
    assert!(p.changes.iter().all(|c| c.security == Some(true)));
    assert_eq!(p.not_security, 1);
    assert!(p.root);

    let (outcomes, events) = apply_all(&e, vec![(host, p)], &opts(false));
    assert_eq!(
        stub.calls("apt-get"),
        [
            sim("upgrade"),
            sim("install --only-upgrade libc6 openssl"),
            apply("install --only-upgrade libc6 openssl"),
        ]
    );
    assert!(stub.calls("sudo").is_empty(), "root needs no sudo");
    assert_eq!(
        stub.env_log().last().map(String::as_str),
        Some("apt-get LC_ALL=C DEBIAN_FRONTEND=noninteractive")
    );
    assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u10"));
    assert_eq!(
        stub.installed("openssl").as_deref(),
        Some("3.0.17-1~deb12u2")
    );
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));

    let o = &outcomes[0];
    assert!(o.ok, "{o:?}");
    assert_eq!(o.exit_status, Some(0));
    let changed: Vec<String> = o.changed.iter().map(|c| c.describe()).collect();
    assert_eq!(
        changed,
        [
            "libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10",
            "openssl 3.0.15-1~deb12u1 -> 3.0.17-1~deb12u2"
        ]
    );
    assert_eq!(o.reboot_required, reboot_marker());
    // The output streamed, line by line, for this host.
    assert!(events.iter().any(|ev| matches!(ev,
        Event::Line { host, kind: StreamKind::Stdout, line }
            if host == "web1" && line == "Unpacking libc6 (2.36-9+deb12u10) over (2.36-9+deb12u7) ...")));
    assert!(matches!(events.first(), Some(Event::Started { host }) if host == "web1"));
    assert!(matches!(events.last(), Some(Event::Finished(o)) if o.ok));
}

#[test]
fn dry_run_changes_nothing() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    four_packages(&stub);
    stub.set_kept_back(&["openssl"]);
    let e = engine(&f);
    let p = plan(&e, &f.host("web1"), false).unwrap();
    assert_eq!(
        p.describe(),
        [
            "web1: 2 packages change (apt updates)",
            "  bash 5.2.15-2+b8 -> 5.2.15-2+b13",
            "  libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10 [security]",
            "  kept back: openssl",
        ]
    );
    assert_eq!(
        p.apply_command.as_deref(),
        Some(
            format!(
                "LC_ALL=C DEBIAN_FRONTEND=noninteractive {}",
                apply("upgrade")
            )
            .as_str()
        )
    );
    // Only the simulation reached the host; nothing was installed.
    assert_eq!(stub.calls("apt-get"), [sim("upgrade")]);
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));
    assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u7"));
}

#[test]
fn holds_are_left_out_and_reported() {
    let f = fleet(&["db1"]);
    let stub = Stub::of(&f, "db1");
    stub.set_packages(&[
        pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN),
        pkg(
            "linux-image-amd64",
            "6.1.112-1",
            "6.1.119-1",
            DEBIAN_SECURITY,
        ),
        pkg(
            "postgresql-15",
            "15.8-0+deb12u1",
            "15.10-0+deb12u1",
            DEBIAN_SECURITY,
        ),
    ]);
    let e = engine(&f);
    let mut host = f.host("db1");
    host.hold = vec!["linux-image*".into(), "postgresql-1?".into()];
    let p = plan(&e, &host, false).unwrap();
    assert_eq!(
        p.held,
        [
            ("linux-image-amd64".to_string(), "linux-image*".to_string()),
            ("postgresql-15".to_string(), "postgresql-1?".to_string())
        ]
    );
    let (outcomes, _) = apply_all(&e, vec![(host, p)], &opts(false));
    assert!(outcomes[0].ok);
    assert_eq!(outcomes[0].held, ["linux-image-amd64", "postgresql-15"]);
    assert_eq!(
        stub.calls("apt-get"),
        [
            sim("upgrade"),
            sim("install --only-upgrade bash"),
            apply("install --only-upgrade bash"),
        ]
    );
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b13"));
    assert_eq!(
        stub.installed("linux-image-amd64").as_deref(),
        Some("6.1.112-1")
    );
    assert_eq!(
        stub.installed("postgresql-15").as_deref(),
        Some("15.8-0+deb12u1")
    );
}

#[test]
fn a_hold_pulled_in_as_a_dependency_refuses_the_host() {
    let f = fleet(&["db1"]);
    let stub = Stub::of(&f, "db1");
    four_packages(&stub);
    stub.add_dep("bash", "libc6");
    let e = engine(&f);
    let mut host = f.host("db1");
    host.hold = vec!["libc6".into()];
    let err = plan(&e, &host, false).unwrap_err();
    assert!(
        err.contains("would also upgrade held package(s) libc6"),
        "{err}"
    );
    assert_eq!(
        stub.calls("apt-get"),
        [sim("upgrade"), sim("install --only-upgrade bash openssl")]
    );
    assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u7"));
}

fn three_hosts_second_failing() -> (Fleet, Vec<Stub>) {
    let f = fleet(&["h1", "h2", "h3"]);
    let stubs: Vec<Stub> = ["h1", "h2", "h3"].iter().map(|h| Stub::of(&f, h)).collect();
    for s in &stubs {
        s.set_packages(&[pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN)]);
    }
    stubs[1].fail_apply();
    (f, stubs)
}

fn plans(e: &Engine, f: &Fleet) -> Vec<(Host, HostPlan)> {
    ["h1", "h2", "h3"]
        .iter()
        .map(|h| (f.host(h), plan(e, &f.host(h), false).unwrap()))
        .collect()
}

#[test]
fn a_failing_apply_stops_the_run() {
    let (f, stubs) = three_hosts_second_failing();
    let e = engine(&f);
    let work = plans(&e, &f);
    let (outcomes, events) = apply_all(&e, work, &opts(false));
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].ok);
    assert!(!outcomes[1].ok);
    assert_eq!(outcomes[1].exit_status, Some(100));
    assert_eq!(
        outcomes[1].error.as_deref(),
        Some("exit status 100: E: Sub-process /usr/bin/dpkg returned an error code (1)")
    );
    assert!(
        events.iter().any(|ev| matches!(ev,
        Event::Skipped { host, reason } if host == "h3" && reason.contains("earlier host failed")))
    );
    assert_eq!(
        stubs[0].calls("apt-get"),
        [sim("upgrade"), apply("upgrade")]
    );
    assert_eq!(
        stubs[1].calls("apt-get"),
        [sim("upgrade"), apply("upgrade")]
    );
    assert_eq!(
        stubs[2].calls("apt-get"),
        [sim("upgrade")],
        "h3 was never applied"
    );
    assert_eq!(stubs[2].installed("bash").as_deref(), Some("5.2.15-2+b8"));
}

#[test]
fn keep_going_goes_on_after_a_failure() {
    let (f, stubs) = three_hosts_second_failing();
    let e = engine(&f);
    let work = plans(&e, &f);
    let (outcomes, events) = apply_all(&e, work, &opts(true));
    let ok: Vec<(String, bool)> = outcomes.iter().map(|o| (o.host.clone(), o.ok)).collect();
    assert_eq!(
        ok,
        [
            ("h1".into(), true),
            ("h2".into(), false),
            ("h3".into(), true)
        ]
    );
    assert!(!events.iter().any(|ev| matches!(ev, Event::Skipped { .. })));
    assert_eq!(
        stubs[2].calls("apt-get"),
        [sim("upgrade"), apply("upgrade")]
    );
    assert_eq!(stubs[2].installed("bash").as_deref(), Some("5.2.15-2+b13"));
    assert_eq!(stubs[1].installed("bash").as_deref(), Some("5.2.15-2+b8"));
}

#[test]
fn parallel_hosts_all_get_done() {
    let f = fleet(&["h1", "h2", "h3"]);
    for h in ["h1", "h2", "h3"] {
        four_packages(&Stub::of(&f, h));
    }
    let e = engine(&f);
    let work = ["h1", "h2", "h3"]
        .iter()
        .map(|h| (f.host(h), plan(&e, &f.host(h), false).unwrap()))
        .collect();
    let mut o = opts(false);
    o.parallel = 3;
    let (outcomes, _) = apply_all(&e, work, &o);
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| o.ok && o.changed.len() == 3));
}

#[test]
fn sudo_asking_for_a_password_is_said_clearly() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    four_packages(&stub);
    stub.set_user(1000, "deploy");
    stub.sudo_wants_password();
    let e = engine(&f);
    let host = f.host("web1");
    // apt-get -s needs no root: the plan works without sudo.
    let p = plan(&e, &host, false).unwrap();
    assert!(!p.root);
    let (outcomes, _) = apply_all(&e, vec![(host, p)], &opts(false));
    let o = &outcomes[0];
    assert!(!o.ok);
    assert_eq!(
        o.error.as_deref(),
        Some("sudo needs a password on web1: allow NOPASSWD for the package manager or use root")
    );
    assert_eq!(
        stub.calls("sudo"),
        [format!(
            "sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive {}",
            apply("upgrade")
        )]
    );
    assert_eq!(
        stub.calls("apt-get"),
        [sim("upgrade")],
        "apt-get -y never ran"
    );
    assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));
}

#[test]
fn sudo_without_password_runs_the_manager_with_its_environment() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    four_packages(&stub);
    stub.set_user(1000, "deploy");
    let e = engine(&f);
    let host = f.host("web1");
    let p = plan(&e, &host, false).unwrap();
    let (outcomes, _) = apply_all(&e, vec![(host, p)], &opts(false));
    assert!(outcomes[0].ok, "{:?}", outcomes[0]);
    assert_eq!(
        stub.log()
            .iter()
            .filter(|l| !l.starts_with("apt-get -s"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            format!(
                "sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive {}",
                apply("upgrade")
            ),
            apply("upgrade"),
        ]
    );
    assert_eq!(
        stub.env_log().last().map(String::as_str),
        Some("apt-get LC_ALL=C DEBIAN_FRONTEND=noninteractive")
    );
    assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u10"));
}

#[test]
fn refresh_runs_apt_get_update() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_user(1000, "deploy");
    let e = engine(&f);
    let host = f.host("web1");
    let mut conn = e.connect(&host).unwrap();
    let mut lines = Vec::new();
    let r = run::refresh_host(
        &mut conn,
        &host,
        run::StreamOptions {
            timeout: Some(Duration::from_secs(20)),
            ..Default::default()
        },
        &mut |_, l| lines.push(l),
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        stub.log(),
        [
            "sudo -n LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -q update",
            "apt-get -q update"
        ]
    );
    assert!(stub.refreshed());
    assert!(lines.iter().any(|l| l == "Reading package lists..."));
}

/// `reboot_host` on web1 with these waits; the result and every step.
fn reboot_web1(
    f: &Fleet,
    wait: Duration,
    poll: Duration,
    timeout_s: u64,
) -> (Result<Duration, String>, Vec<run::RebootStep>) {
    let opts = RebootOptions {
        wait,
        poll,
        timeout: Some(Duration::from_secs(timeout_s)),
    };
    let mut steps = Vec::new();
    let r = run::reboot_host(
        &engine(f),
        &f.host("web1"),
        &opts,
        &Arc::new(AtomicBool::new(false)),
        &mut |s| steps.push(s),
    );
    (r, steps)
}

#[test]
fn reboot_waits_for_a_new_boot_id() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_user(1000, "deploy");
    stub.set_boot_id("boot-before");
    let (r, steps) = reboot_web1(&f, Duration::from_secs(30), Duration::from_millis(200), 10);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(stub.log(), ["sudo -n shutdown -r now", "shutdown -r now"]);
    assert_ne!(stub.boot_id(), "boot-before");
    assert_eq!(steps.first(), Some(&run::RebootStep::Issued));
    assert!(matches!(steps.last(), Some(run::RebootStep::Back { .. })));
}

/// The host keeps its old boot id for two polls after the reboot was
/// issued: opsdeck must keep waiting (and say so) until the new one shows.
#[test]
fn reboot_keeps_waiting_while_the_old_boot_id_answers() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_boot_id("boot-before");
    stub.set_reboot_polls(2);
    let (r, steps) = reboot_web1(&f, Duration::from_secs(120), Duration::from_millis(100), 20);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(stub.reads_while_down(), 2, "both old-id answers were read");
    assert!(stub.boot_id().starts_with("rebooted-"));
    let waiting = steps
        .iter()
        .filter(|s| **s == run::RebootStep::Waiting)
        .count();
    assert!(waiting >= 3, "polled until the new boot id: {steps:?}");
    assert_eq!(steps.first(), Some(&run::RebootStep::Issued));
    assert!(matches!(steps.last(), Some(run::RebootStep::Back { .. })));
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, run::RebootStep::Back { .. }))
            .count(),
        1
    );
}

/// A host that never shows a new boot id: the wait gives up with a clear
/// error instead of hanging or claiming success.
#[test]
fn reboot_that_never_comes_back_fails_after_the_wait() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_boot_id("boot-before");
    stub.set_reboot_polls(1_000_000);
    let (r, _) = reboot_web1(&f, Duration::from_secs(1), Duration::from_millis(300), 20);
    assert_eq!(
        r.unwrap_err(),
        "web1: did not come back within 1s after the reboot was issued"
    );
    assert_eq!(stub.boot_id(), "boot-before");
}

/// Cancelling between hosts: the host in progress finishes, no new host
/// starts, the rest are reported as skipped (cancelled) and never touched.
/// The cancel is raised from the re-check hook of the first host, i.e.
/// after it finished and before the next one could start.
#[test]
fn cancel_stops_between_hosts() {
    let f = fleet(&["h1", "h2", "h3"]);
    let stubs: Vec<Stub> = ["h1", "h2", "h3"].iter().map(|h| Stub::of(&f, h)).collect();
    for s in &stubs {
        s.set_packages(&[pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN)]);
    }
    let e = engine(&f);
    let work = plans(&e, &f);
    let cancel = Arc::new(AtomicBool::new(false));
    let c2 = cancel.clone();
    let mut o = opts(false);
    o.recheck = Some(Arc::new(move |_h: &Host| {
        c2.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = run::apply_all(&e, work, &o, cancel, tx);
    let mut events = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        events.push(ev);
    }
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].ok && outcomes[0].host == "h1", "{outcomes:?}");
    let skipped: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|ev| match ev {
            Event::Skipped { host, reason } => Some((host.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, [("h2", "cancelled"), ("h3", "cancelled")]);
    assert_eq!(stubs[0].installed("bash").as_deref(), Some("5.2.15-2+b13"));
    for s in &stubs[1..] {
        assert_eq!(s.calls("apt-get"), [sim("upgrade")], "never applied");
        assert_eq!(s.installed("bash").as_deref(), Some("5.2.15-2+b8"));
    }
}

/// `parallel = 3` really has three hosts in progress at once: each host's
/// re-check waits (bounded) until all three have reached it. One at a time
/// would never get there.
#[test]
fn parallel_three_are_in_progress_at_once() {
    use std::sync::{Condvar, Mutex};
    let f = fleet(&["h1", "h2", "h3"]);
    for h in ["h1", "h2", "h3"] {
        Stub::of(&f, h).set_packages(&[pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN)]);
    }
    let e = engine(&f);
    let work = plans(&e, &f);
    let meet = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    let m2 = meet.clone();
    let mut o = opts(false);
    o.parallel = 3;
    o.recheck = Some(Arc::new(move |_h: &Host| {
        let (lock, cv) = &*m2;
        let mut g = lock.lock().unwrap();
        g.0 += 1;
        g.1 = g.1.max(g.0);
        cv.notify_all();
        let (mut g, _) = cv
            .wait_timeout_while(g, Duration::from_secs(60), |g| g.1 < 3)
            .unwrap();
        g.0 -= 1;
        Ok(())
    }));
    let (outcomes, _) = apply_all(&e, work, &o);
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| o.ok));
    assert_eq!(meet.0.lock().unwrap().1, 3, "three hosts at once");
}

#[test]
fn reboot_with_sudo_wanting_a_password_is_refused_clearly() {
    let f = fleet(&["web1"]);
    let stub = Stub::of(&f, "web1");
    stub.set_user(1000, "deploy");
    stub.sudo_wants_password();
    stub.set_boot_id("boot-before");
    let e = engine(&f);
    let r = run::reboot_host(
        &e,
        &f.host("web1"),
        &RebootOptions::default(),
        &Arc::new(AtomicBool::new(false)),
        &mut |_| {},
    );
    assert_eq!(
        r.unwrap_err(),
        "sudo needs a password on web1: allow NOPASSWD for shutdown/systemctl or use root"
    );
    assert_eq!(stub.boot_id(), "boot-before");
}
