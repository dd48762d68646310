//! The Security pane (the real binary in a pty): findings worst first from
//! the last audit, a finding's evidence and fix, and who can log in where
//! (`K`): one row per key with every host and user it reaches.

#[path = "common/pty.rs"]
mod pty;

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
