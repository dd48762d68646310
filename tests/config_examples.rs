//! The shipped examples in config/ (what `opsdeck init` writes): with their
//! example lines uncommented they load through the store, and together they
//! show every key the code reads. The model structs are built below with
//! full literals (no `..Default::default()`), so a new field fails to
//! compile here until it is given a value, and then fails the test until
//! the example file shows it.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use opsdeck::model::{
    BackupJob, BackupKind, Contact, Host, Settings, SshSettings, Ticket, TicketStatus, Vendor,
};
use opsdeck::store::{Home, Store};

fn shipped(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The example lines of a commented file, uncommented; prose dropped.
fn uncomment(text: &str) -> String {
    text.lines()
        .map(|l| {
            let body = l.strip_prefix("# ").unwrap_or(l);
            let looks_toml = body.starts_with('[')
                || body.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
            if looks_toml {
                body.to_string()
            } else {
                String::new()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Keys of a serialized value (a table).
fn keys_of<T: serde::Serialize>(v: &T) -> BTreeSet<String> {
    match toml::Value::try_from(v).unwrap() {
        toml::Value::Table(t) => t.keys().cloned().collect(),
        other => panic!("not a table: {other:?}"),
    }
}

/// Keys used by any table of `array` in `doc` (and, with `sub`, by any of
/// their `sub` tables).
fn keys_in(doc: &toml::Table, array: &str, sub: Option<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in doc
        .get(array)
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_table())
    {
        match sub {
            None => out.extend(t.keys().cloned()),
            Some(s) => {
                for st in t
                    .get(s)
                    .and_then(|a| a.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_table())
                {
                    out.extend(st.keys().cloned());
                }
            }
        }
    }
    out
}

fn loads(file: &str) -> (Store, toml::Table) {
    let text = uncomment(&shipped(file));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(file), &text).unwrap();
    let store = Store::load(Home::under(dir.path()))
        .unwrap_or_else(|e| panic!("{file} uncommented does not load: {e}\n{text}"));
    let doc: toml::Table = text.parse().unwrap();
    (store, doc)
}

fn missing(shown: &BTreeSet<String>, all: &BTreeSet<String>) -> Vec<String> {
    all.difference(shown).cloned().collect()
}

fn date(s: &str) -> Option<opsdeck::model::Date> {
    Some(s.parse().unwrap())
}

#[test]
fn opsdeck_toml_shows_every_setting_with_its_default() {
    let (store, doc) = loads("opsdeck.toml");
    // The values shown are the defaults (apart from the [ssh] examples).
    let d = Settings::default();
    assert_eq!(store.settings.thresholds, d.thresholds);
    assert_eq!(store.settings.ui, d.ui);
    assert_eq!(store.settings.run, d.run);
    assert_eq!(store.settings.patches, d.patches);
    let full = Settings {
        ssh: SshSettings {
            config_file: Some("x".into()),
            known_hosts: Some("x".into()),
            user: Some("x".into()),
            identity_files: vec!["x".into()],
            connect_timeout_s: 1,
            command_timeout_s: 1,
            concurrency: 1,
            persist_s: 1,
        },
        alerts: opsdeck::model::AlertSettings {
            webhook: vec!["x".into()],
            ping: Some("x".into()),
            mail_to: vec!["x".into()],
            mail_from: Some("x".into()),
            smtp: Some(opsdeck::model::SmtpSettings {
                user: Some("x".into()),
                password_command: Some("x".into()),
                ..Default::default()
            }),
            digest: Some("x".into()),
        },
        audit: opsdeck::model::AuditSettings {
            cert_paths: vec!["x".into()],
            allow_port: vec![opsdeck::model::AllowPort {
                targets: vec!["x".into()],
                port: 1,
                proto: Some("tcp".into()),
            }],
            accept: vec![opsdeck::model::AcceptFinding {
                targets: vec!["x".into()],
                id: "x".into(),
                reason: Some("x".into()),
                until: date("2024-01-01"),
            }],
            ..Default::default()
        },
        maintenance: vec![opsdeck::model::Maintenance {
            targets: vec!["x".into()],
            weekly: Some("x".into()),
            from: Some("x".into()),
            until: Some("x".into()),
            reason: Some("x".into()),
        }],
        ..Settings::default()
    };
    let tables = keys_of(&full);
    assert_eq!(
        doc.keys().cloned().collect::<BTreeSet<_>>(),
        tables,
        "every settings table has its section"
    );
    let value = toml::Value::try_from(&full).unwrap();
    for table in &tables {
        if table == "maintenance" {
            assert_eq!(
                missing(
                    &keys_in(&doc, "maintenance", None),
                    &keys_of(&full.maintenance[0])
                ),
                Vec::<String>::new(),
                "[[maintenance]] keys not shown in config/opsdeck.toml"
            );
            continue;
        }
        let all: BTreeSet<String> = value[table.as_str()]
            .as_table()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let shown: BTreeSet<String> = doc[table.as_str()]
            .as_table()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            missing(&shown, &all),
            Vec::<String>::new(),
            "[{table}] keys not shown in config/opsdeck.toml"
        );
    }
}

#[test]
fn hosts_toml_shows_every_field() {
    let (store, doc) = loads("hosts.toml");
    assert!(!store.hosts.is_empty());
    let full = Host {
        name: "x".into(),
        address: Some("x".into()),
        port: Some(1),
        user: Some("x".into()),
        jump: Some("x".into()),
        tags: vec!["x".into()],
        role: Some("x".into()),
        location: Some("x".into()),
        vendor: Some("x".into()),
        purchased: date("2024-01-01"),
        warranty_until: date("2024-01-01"),
        hold: vec!["x".into()],
        notes: Some("x".into()),
        tls_ports: vec![1],
        tls_names: vec!["x".into()],
    };
    assert_eq!(
        missing(&keys_in(&doc, "host", None), &keys_of(&full)),
        Vec::<String>::new()
    );
}

#[test]
fn backups_toml_shows_every_field_and_every_kind() {
    let (store, doc) = loads("backups.toml");
    for kind in [
        BackupKind::Restic,
        BackupKind::Borg,
        BackupKind::Path,
        BackupKind::Command,
    ] {
        assert!(
            store.backups.iter().any(|b| b.kind == kind),
            "no {kind:?} example"
        );
    }
    // Every example is a valid job of its kind.
    for b in &store.backups {
        opsdeck::backups::validate(b).unwrap_or_else(|e| panic!("{}: {e}", b.name));
    }
    let full = BackupJob {
        name: "x".into(),
        host: "x".into(),
        kind: BackupKind::Restic,
        repository: Some("x".into()),
        password_command: Some("x".into()),
        password_file: Some("x".into()),
        env_file: Some("x".into()),
        passcommand: Some("x".into()),
        tag: Some("x".into()),
        path: Some("x".into()),
        min_size: Some(1),
        command: Some("x".into()),
        max_age: "1h".into(),
        warn_age: Some("1h".into()),
        last_restore_test: date("2024-01-01"),
        restore_test_every: Some("1d".into()),
        notes: Some("x".into()),
    };
    assert_eq!(
        missing(&keys_in(&doc, "backup", None), &keys_of(&full)),
        Vec::<String>::new()
    );
}

#[test]
fn vendors_toml_shows_every_field() {
    let (store, doc) = loads("vendors.toml");
    assert!(store.vendors.iter().any(|v| !v.tickets.is_empty()));
    let contact = Contact {
        name: "x".into(),
        role: Some("x".into()),
        phone: Some("x".into()),
        email: Some("x".into()),
    };
    let ticket = Ticket {
        reference: "x".into(),
        subject: "x".into(),
        status: TicketStatus::Closed,
        opened: date("2024-01-01"),
        closed: date("2024-01-02"),
        notes: Some("x".into()),
    };
    let full = Vendor {
        name: "x".into(),
        category: Some("x".into()),
        account: Some("x".into()),
        phone: Some("x".into()),
        email: Some("x".into()),
        portal: Some("x".into()),
        support_hours: Some("x".into()),
        contract_end: date("2024-01-01"),
        notes: Some("x".into()),
        contacts: vec![contact.clone()],
        tickets: vec![ticket.clone()],
    };
    assert_eq!(
        missing(&keys_in(&doc, "vendor", None), &keys_of(&full)),
        Vec::<String>::new()
    );
    assert_eq!(
        missing(
            &keys_in(&doc, "vendor", Some("contact")),
            &keys_of(&contact)
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        missing(&keys_in(&doc, "vendor", Some("ticket")), &keys_of(&ticket)),
        Vec::<String>::new()
    );
}
