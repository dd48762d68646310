//! Unknown and changed host keys met by SSH work started from any pane,
//! through the real binary in a pseudo-terminal against real sshd hosts:
//! the same question (host, key type, SHA256 fingerprint) everywhere, the
//! key recorded in known_hosts on yes and the work retried; a changed key
//! refused with both fingerprints.

mod common;
#[path = "common/pty.rs"]
mod pty;

use std::process::Command;
use std::time::Duration;

use common::sshd::{Fleet, HostOptions, KnownHostsMode};
use pty::Pty;

fn tui(fleet: &Fleet) -> Pty {
    let mut cmd = pty::opsdeck_tui(&fleet.home(), &fleet.user_home());
    cmd.env_remove("SSH_AUTH_SOCK").env("NO_COLOR", "1");
    Pty::spawn(cmd, 100, 30)
}

fn fingerprint(pub_line: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.pub");
    std::fs::write(&f, format!("{pub_line}\n")).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&f)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// Bug: checking a backup job on a host whose key is unknown only showed
/// the error; the Hosts pane asked. Now the Backups pane asks the same way,
/// records the key and checks the job again; a changed key is refused.
#[test]
fn backups_check_asks_about_an_unknown_key_and_refuses_a_changed_one() {
    let mut fleet = Fleet::new(Default::default());
    fleet.add_host(
        "nas",
        HostOptions {
            known_hosts: KnownHostsMode::Missing,
            ..Default::default()
        },
    );
    fleet.add_host(
        "old",
        HostOptions {
            known_hosts: KnownHostsMode::Wrong,
            ..Default::default()
        },
    );
    let data = fleet.dir().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("dump.sql"), b"x").unwrap();
    std::fs::write(
        fleet.home().join("backups.toml"),
        format!(
            "[[backup]]\nname = \"nas-files\"\nhost = \"nas\"\nkind = \"path\"\npath = \"{d}\"\nmax_age = \"26h\"\n\n\
             [[backup]]\nname = \"old-files\"\nhost = \"old\"\nkind = \"path\"\npath = \"{d}\"\nmax_age = \"26h\"\n",
            d = data.display()
        ),
    )
    .unwrap();
    let known_before = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let nas_fp = fingerprint(&fleet.get("nas").ed25519_pub);

    let mut t = tui(&fleet);
    t.wait_text("5 Vendors");
    t.send("4");
    t.wait_text("nas-files");
    t.send("c");
    let s = t.wait_text("Unknown host key for nas");
    assert!(s.contains("ssh-ed25519") && s.contains(&nas_fp), "{s}");
    t.send("y");
    t.wait_text("backups checked: 1 ok");
    let s = t.screen();
    let row = s.lines().find(|l| l.contains("nas-files")).unwrap();
    assert!(row.contains("OK"), "{s}");
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(
        known.contains(&format!(
            "{} {}",
            fleet.get("nas").known_hosts_name(),
            fleet.get("nas").ed25519_pub
        )),
        "{known}"
    );

    // a changed key: refused, both fingerprints shown, nothing asked (the
    // row is picked by filtering: the list may re-sort after a check)
    t.send("/old-files\r");
    t.wait_text("Backups 1/2");
    t.send("c");
    let s = t.wait_text("HOST KEY CHANGED for old");
    let old_fp = fingerprint(&fleet.get("old").ed25519_pub);
    assert!(s.contains(&old_fp), "the offered key's fingerprint:\n{s}");
    assert_eq!(s.matches("SHA256:").count(), 2, "{s}");
    assert!(!s.contains("Accept it"), "{s}");
    t.send("\x1b");
    quit(&mut t);
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert_eq!(
        known.lines().count(),
        known_before.lines().count() + 1,
        "only nas's key was added:\n{known}"
    );
}

/// The `r` run shares the question: a run on a host with an unknown key
/// asks, and on yes runs the command there again, in the same view.
#[test]
fn run_asks_about_an_unknown_key_and_runs_again() {
    let mut fleet = Fleet::new(Default::default());
    fleet.add_host(
        "fresh",
        HostOptions {
            known_hosts: KnownHostsMode::Missing,
            ..Default::default()
        },
    );
    let mut t = tui(&fleet);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("fresh");
    t.send("r");
    t.wait_text("fresh");
    t.send("echo hello-from-$((6*7))\r");
    let s = t.wait_text("Unknown host key for fresh");
    assert!(s.contains("SHA256:"), "{s}");
    t.send("y");
    t.wait_text("hello-from-42");
    t.send("\x1b");
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(known.contains(&fleet.get("fresh").ed25519_pub), "{known}");
    quit(&mut t);
}

/// Quit once no job runs any more: a job still ending (a run being
/// journaled, a check being saved; slow on a loaded machine) makes `q`
/// ask first; then the answer is no, and `q` again a little later.
fn quit(t: &mut pty::Pty) {
    let start = std::time::Instant::now();
    loop {
        t.send("q");
        // the question, or the TUI gone (its header leaves with the alternate screen)
        let s = t.wait_for("quit or its question", Duration::from_secs(10), |s| {
            s.contains("still running") || !s.contains("opsdeck ›")
        });
        if s.contains("still running") {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "a job never ended:\n{}",
                t.screen()
            );
            t.send("n");
            std::thread::sleep(Duration::from_millis(300));
            continue;
        }
        assert!(t.wait_exit(Duration::from_secs(20)).success());
        return;
    }
}
