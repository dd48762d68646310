//! The Security pane (the real binary in a pty): findings worst first from
//! the last audit, a finding's evidence and fix, and who can log in where
//! (`K`): one row per key with every host and user it reaches; `d` revokes
//! a key on real sshd hosts after its plan and typing "revoke".

mod common;
#[path = "common/pty.rs"]
mod pty;

use std::process::Command;
use std::time::Duration;

use common::sshd::{Fleet, HostOptions};

use opsdeck::audit::{AuthKey, Finding, HostAudit, Severity};
use opsdeck::model::Status;
use opsdeck::store::{Home, StateKind, Store};
use pty::Pty;

fn key(user: &str, file: &str) -> AuthKey {
    AuthKey {
        user: user.into(),
        file: file.into(),
        line: 2,
        key_type: "ssh-ed25519".into(),
        bits: Some(256),
        fingerprint: "SHA256:Ej+/t2aHS4NOxRhTbiGTbsHNh2MlgM5A3QPkaQo0B5E".into(),
        comment: "alice@laptop".into(),
        options: String::new(),
        key: "AAAA".into(),
    }
}

#[test]
fn findings_worst_first_and_who_can_log_in_where() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts.toml"), "[[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\n\n[[host]]\nname = \"db1\"\naddress = \"127.0.0.1\"\n").unwrap();
    let store = Store::load(Home::under(dir.path())).unwrap();
    let finding = |id: &str, s: Severity, title: &str| Finding {
        id: id.into(),
        severity: s,
        title: title.into(),
        evidence: format!("evidence of {id}"),
        fix: format!("fix for {id}"),
        accepted: false,
        unverified: false,
    };
    let audits = vec![
        HostAudit {
            host: "web1".into(),
            status: Status::Warn,
            findings: vec![
                finding("sshd.x11", Severity::Info, "X11 forwarding is on"),
                finding(
                    "listen.tcp.8080",
                    Severity::Warn,
                    "port 8080/tcp open on all addresses",
                ),
            ],
            certificates: vec![],
            keys: vec![key("root", "/root/.ssh/authorized_keys")],
            listeners: vec![],
            error: None,
            audited_at: "2026-12-05T10:00:00Z".into(),
            as_root: true,
        },
        HostAudit {
            host: "db1".into(),
            status: Status::Crit,
            findings: vec![finding(
                "sshd.root_login",
                Severity::Crit,
                "root can log in with a password",
            )],
            certificates: vec![],
            keys: vec![key("postgres", "/var/lib/postgresql/.ssh/authorized_keys")],
            listeners: vec![],
            error: None,
            audited_at: "2026-12-05T10:00:00Z".into(),
            as_root: true,
        },
    ];
    store
        .merge_state(StateKind::Audit, audits, |a: &HostAudit| a.host.as_str())
        .unwrap();

    let mut t = Pty::spawn(pty::opsdeck_tui(dir.path(), dir.path()), 120, 30);
    t.wait_text("6 Security");
    t.send("6");
    let s = t.wait_text("root can log in with a password");
    let crit = s.find("root can log in").unwrap();
    let warn = s.find("port 8080/tcp").unwrap();
    let info = s.find("X11 forwarding").unwrap();
    assert!(crit < warn && warn < info, "worst first:\n{s}");
    t.send("\r");
    let s = t.wait_text("fix for sshd.root_login");
    assert!(s.contains("evidence of sshd.root_login"), "{s}");
    t.send("\x1b");
    t.send("K");
    let s = t.wait_text("alice@laptop");
    assert!(s.contains("root@web1") && s.contains("postgres@db1"), "{s}");
    t.send("\r");
    let s = t.wait_text("opsdeck keys revoke SHA256:");
    assert!(
        s.contains("/var/lib/postgresql/.ssh/authorized_keys:2"),
        "{s}"
    );
    t.send("\x1bq");
}

#[test]
fn a_key_is_revoked_from_the_pane_after_its_plan_and_a_typed_word() {
    let mut fleet = Fleet::new(Default::default());
    fleet.add_host("a", HostOptions::default());
    fleet.add_host("b", HostOptions::default());
    let dir = fleet.dir().to_path_buf();
    let path = dir.join("leaver");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", "leaver@laptop", "-f"])
        .arg(&path)
        .status()
        .unwrap()
        .success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let ak = |h: &str| fleet.get(h).dir.join("authorized_keys");
    let before: Vec<String> = ["a", "b"]
        .iter()
        .map(|h| std::fs::read_to_string(ak(h)).unwrap())
        .collect();
    for (h, b) in ["a", "b"].iter().zip(&before) {
        std::fs::write(ak(h), format!("{b}{public}")).unwrap();
    }
    // the audit the pane shows (the same task as the pane's C)
    let out = fleet.opsdeck(&["audit"]).output().unwrap();
    assert!(out.status.code().is_some());

    let mut cmd = pty::opsdeck_tui(&fleet.home(), &fleet.user_home());
    cmd.env_remove("SSH_AUTH_SOCK").env("NO_COLOR", "1");
    let mut t = Pty::spawn(cmd, 120, 30);
    t.wait_text("6 Security");
    t.send("6");
    t.send("K");
    t.wait_text("leaver@laptop");
    t.send("/leaver\r");
    t.send("d");
    let s = t.wait_text("everywhere below?");
    assert!(s.contains("authorized_keys line"), "the plan: {s}");
    t.send("y");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::fs::read_to_string(ak("a"))
            .unwrap()
            .contains("leaver@laptop"),
        "y alone is not enough"
    );
    t.send("\x7f"); // the y was typed, not answered: take it back
    t.send("revoke\r");
    t.wait_for("the key removed", Duration::from_secs(30), |s| {
        s.contains("key removed on 2 hosts")
    });
    for (h, b) in ["a", "b"].iter().zip(&before) {
        assert_eq!(
            &std::fs::read_to_string(ak(h)).unwrap(),
            b,
            "{h}: only that line went"
        );
    }
    let journal = std::fs::read_to_string(fleet.home().join("state/journal.toml")).unwrap();
    assert_eq!(journal.matches("action = \"keys.revoke\"").count(), 2);
}
