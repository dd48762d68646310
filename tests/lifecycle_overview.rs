//! The Overview's ranked list, counts and freshness on a fixed data set.

use jiff::Timestamp;
use opsdeck::lifecycle::EolTable;
use opsdeck::model::*;
use opsdeck::overview::{self, Category, PaneId, SecuritySince, Snapshot};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn check(host: &str, at: &str, error: Option<&str>, facts: Option<Facts>) -> CheckResult {
    CheckResult {
        host: host.into(),
        status: if error.is_some() {
            Status::Crit
        } else {
            Status::Ok
        },
        error: error.map(String::from),
        reasons: vec![],
        elapsed_ms: 10,
        checked_at: at.into(),
        facts,
        last_known: None,
    }
}

fn facts(disks: &[(&str, f64)], security: Option<u32>, reboot: Option<bool>) -> Facts {
    Facts {
        os_id: Some("debian".into()),
        os_version_id: Some("12".into()),
        uptime_s: Some(40 * 86400),
        disks: disks
            .iter()
            .map(|(m, p)| Disk {
                mount: m.to_string(),
                used_pct: *p,
                fstype: None,
                size_kb: None,
            })
            .collect(),
        failed_units: Some(vec![]),
        reboot_required: reboot,
        updates: Some(UpdateCounts {
            pending: Some(security.unwrap_or(0) + 2),
            security,
        }),
        ..Default::default()
    }
}

fn job(name: &str, last: Option<&str>, every: Option<&str>) -> BackupJob {
    BackupJob {
        path: Some("/srv/backup/*.tar".into()),
        last_restore_test: last.map(d),
        restore_test_every: every.map(String::from),
        ..BackupJob::new(name, "nas", BackupKind::Path, "26h")
    }
}

fn result(name: &str, status: Status, age_s: Option<u64>, error: Option<&str>) -> BackupResult {
    BackupResult {
        name: name.into(),
        host: "nas".into(),
        kind: BackupKind::Path,
        status,
        latest: age_s.map(|_| "2026-11-20T01:00:00Z".into()),
        age_s,
        max_age_s: 26 * 3600,
        error: error.map(String::from),
        reasons: vec![],
        snapshots: None,
        checked_at: Some("2026-11-22T08:00:00Z".into()),
        recent: vec![],
    }
}

fn snapshot() -> Snapshot {
    let host = |name: &str| Host {
        name: name.into(),
        ..Default::default()
    };
    Snapshot {
        thresholds: Thresholds::default(),
        hosts: vec![
            host("web1"),
            host("web2"),
            Host {
                purchased: Some(d("2022-05-01")),
                warranty_until: Some(d("2026-12-15")),
                ..host("db1")
            },
            host("old"),
            host("never"),
        ],
        vendors: vec![
            Vendor {
                name: "Acme ISP".into(),
                contract_end: Some(d("2026-11-01")),
                tickets: vec![
                    Ticket {
                        reference: "CASE-1".into(),
                        subject: "Line down | branch".into(),
                        opened: Some(d("2026-11-10")),
                        ..Default::default()
                    },
                    Ticket {
                        reference: "CASE-2".into(),
                        subject: "new".into(),
                        opened: Some(d("2026-11-20")),
                        ..Default::default()
                    },
                    Ticket {
                        reference: "CASE-0".into(),
                        subject: "closed".into(),
                        status: TicketStatus::Closed,
                        opened: Some(d("2026-01-01")),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            Vendor {
                name: "Copiers".into(),
                contract_end: Some(d("2027-01-10")),
                tickets: vec![Ticket {
                    reference: "T7".into(),
                    subject: "exactly a week".into(),
                    opened: Some(d("2026-11-15")),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        jobs: vec![
            job("nas-daily", Some("2026-10-01"), Some("90d")),
            job("db-dump", None, Some("30d")),
            job("mail", Some("2026-01-01"), Some("90d")),
        ],
        checks: vec![
            check(
                "web1",
                "2026-11-22T09:00:00Z",
                Some("connection refused\x1b[31m"),
                None,
            ),
            check(
                "web2",
                "2026-11-22T09:30:00Z",
                None,
                Some(facts(&[("/", 50.0), ("/var", 93.0)], Some(3), Some(true))),
            ),
            check(
                "db1",
                "2026-11-22T09:40:00Z",
                None,
                Some(facts(&[("/", 85.0)], Some(1), Some(false))),
            ),
            check(
                "old",
                "2026-11-22T09:45:00Z",
                None,
                Some(Facts {
                    os_id: Some("debian".into()),
                    os_version_id: Some("10".into()),
                    ..facts(&[("/", 96.5)], None, None)
                }),
            ),
        ],
        patches: vec![],
        backups: vec![
            result("nas-daily", Status::Crit, Some(50 * 3600), None),
            result("db-dump", Status::Crit, None, Some("ssh: host unreachable")),
        ],
        security_since: vec![SecuritySince {
            host: "web2".into(),
            since: "2026-11-12T09:00:00Z".into(),
        }],
        eol: EolTable::embedded(),
        watch: vec![],
        notes: Vec::new(),
    }
}

fn now() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().unwrap()
}

#[test]
fn ranked_crit_first_in_a_stable_order() {
    let snap = snapshot();
    let items = overview::items(&snap, now(), d("2026-11-22"));
    let got: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{} {:?} {} | {} -> {}:{}",
                i.rank,
                i.level,
                i.what,
                i.why,
                i.target.pane.title(),
                i.target.key
            )
        })
        .collect();
    let want = vec![
        "1 Crit web1 unreachable | connection refused (checked 60m ago) -> Hosts:web1",
        "2 Crit old: / 96% full | at or above disk_crit_pct 90% -> Hosts:old",
        "3 Crit web2: /var 93% full | at or above disk_crit_pct 90% -> Hosts:web2",
        "4 Crit backup db-dump | check failed: ssh: host unreachable (checked 2h ago) -> Backups:db-dump",
        "5 Crit backup nas-daily | latest backup 2d old, max_age 26h (checked 2h ago) -> Backups:nas-daily",
        "6 Crit web2: 3 security updates | pending since 2026-11-12 (10 days) -> Patches:web2",
        "7 Crit db1: 1 security update | pending since 2026-11-22 (first seen today) -> Patches:db1",
        "8 Crit old: OS end of life | Debian 10 (buster): support ended 2024-06-30 (875 days ago) (LTS ended; only paid ELTS beyond) -> Hosts:old",
        "9 Crit Acme ISP: contract | contract ended 2026-11-01 (21 days ago) -> Vendors:Acme ISP",
        "10 Warn db1: / 85% full | at or above disk_warn_pct 80% -> Hosts:db1",
        "11 Warn Copiers: contract | contract ends 2027-01-10 (in 49 days) -> Vendors:Copiers",
        "12 Warn web2: reboot required | updates need a reboot to take effect (up 5w) -> Patches:web2",
        "13 Warn backup db-dump: restore test | never restore-tested (restore_test_every 30d) -> Backups:db-dump",
        "14 Warn backup mail: restore test | overdue since 2026-04-01 (235 days ago; last 2026-01-01, every 90d) -> Backups:mail",
        "15 Warn Acme ISP: ticket CASE-1 | \"Line down | branch\" open for 12 days (since 2026-11-10) -> Vendors:Acme ISP",
        "16 Warn Copiers: ticket T7 | \"exactly a week\" open for 7 days (since 2026-11-15) -> Vendors:Copiers",
        "17 Warn db1: warranty | warranty ends 2026-12-15 (in 23 days) -> Hosts:db1",
        "18 Warn db1: hardware due for refresh | purchased 2022-05-01: 3 years old since 2025-05-01 (570 days ago; refresh after 3 years) -> Hosts:db1",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));

    // The same data in another order ranks the same.
    let mut shuffled = snapshot();
    shuffled.hosts.reverse();
    shuffled.vendors.reverse();
    shuffled.jobs.reverse();
    shuffled.checks.reverse();
    shuffled.backups.reverse();
    assert_eq!(overview::items(&shuffled, now(), d("2026-11-22")), items);
    // every item has a category that matches its pane
    for i in &items {
        match i.category {
            Category::SecurityUpdates | Category::Reboot => {
                assert_eq!(i.target.pane, PaneId::PATCHES)
            }
            Category::Backup | Category::RestoreTest => assert_eq!(i.target.pane, PaneId::BACKUPS),
            Category::Ticket | Category::Contract => assert_eq!(i.target.pane, PaneId::VENDORS),
            _ => assert_eq!(i.target.pane, PaneId::HOSTS),
        }
    }
}

#[test]
fn levels_follow_the_thresholds() {
    let mut snap = snapshot();
    snap.thresholds.security_updates = Level::Warn;
    snap.thresholds.reboot_required = Level::Ok;
    snap.thresholds.ticket_stale_days = 8;
    let items = overview::items(&snap, now(), d("2026-11-22"));
    assert!(items
        .iter()
        .filter(|i| i.category == Category::SecurityUpdates)
        .all(|i| i.level == Level::Warn));
    assert!(!items.iter().any(|i| i.category == Category::Reboot));
    // 7 days open is not stale with ticket_stale_days = 8
    assert!(!items.iter().any(|i| i.what.contains("T7")));
    assert!(items.iter().any(|i| i.what.contains("CASE-1")));
}

#[test]
fn counts_and_freshness() {
    let snap = snapshot();
    let ov = overview::overview(&snap, now(), d("2026-11-22"));
    let c = &ov.counts;
    assert_eq!((c.overview.crit, c.overview.warn), (9, 9));
    assert_eq!(
        (
            c.hosts.total,
            c.hosts.ok,
            c.hosts.crit,
            c.hosts.unknown,
            c.hosts.unchecked
        ),
        (5, 3, 1, 1, 1)
    );
    assert_eq!(c.patches.hosts_with_security, 2);
    assert_eq!(c.patches.security, 4);
    // web1 (error, no facts) and never: unknown; old: no security metadata
    assert_eq!(c.patches.security_unknown, 3);
    assert_eq!(c.patches.reboot_required, 1);
    assert_eq!(
        (c.backups.total, c.backups.crit, c.backups.unchecked),
        (3, 2, 1)
    );
    assert_eq!(
        (
            c.vendors.total,
            c.vendors.open_tickets,
            c.vendors.stale_tickets,
            c.vendors.contracts_ending,
            c.vendors.contracts_ended
        ),
        (2, 3, 2, 1, 1)
    );
    let f: Vec<(String, Option<String>, Option<u64>)> = ov
        .freshness
        .iter()
        .map(|f| (f.source.clone(), f.last.clone(), f.age_s))
        .collect();
    assert_eq!(
        f,
        vec![
            (
                "checks".to_string(),
                Some("2026-11-22T09:45:00Z".to_string()),
                Some(900)
            ),
            ("patches".to_string(), None, None),
            (
                "backups".to_string(),
                Some("2026-11-22T08:00:00Z".to_string()),
                Some(7200)
            ),
        ]
    );
}

#[test]
fn security_first_seen_is_tracked() {
    let snap = snapshot();
    let next = overview::track_security(
        &snap.security_since,
        &snap.hosts,
        &snap.checks,
        &snap.patches,
    );
    // web2 keeps its old date, db1 starts at its check time; old (unknown) and
    // hosts without security updates have none
    assert_eq!(
        next,
        vec![
            SecuritySince {
                host: "web2".into(),
                since: "2026-11-12T09:00:00Z".into()
            },
            SecuritySince {
                host: "db1".into(),
                since: "2026-11-22T09:40:00Z".into()
            },
        ]
    );
    // updates applied: the record goes
    let mut later = snap.clone();
    later.checks[1] = check(
        "web2",
        "2026-11-23T09:30:00Z",
        None,
        Some(facts(&[], Some(0), Some(false))),
    );
    let next2 = overview::track_security(&next, &later.hosts, &later.checks, &later.patches);
    assert_eq!(next2.len(), 1);
    assert_eq!(next2[0].host, "db1");
    // unreachable host (unknown): its record is kept
    let prev = vec![SecuritySince {
        host: "web1".into(),
        since: "2026-11-01T00:00:00Z".into(),
    }];
    assert_eq!(
        overview::track_security(&prev, &snap.hosts, &snap.checks, &snap.patches)[0].host,
        "web1"
    );
}

#[test]
fn newer_patch_report_wins_over_check() {
    let mut snap = snapshot();
    snap.patches = vec![PatchReport {
        host: "db1".into(),
        package_manager: Some("apt".into()),
        reboot_required: Some(true),
        updates: vec![Update {
            package: "openssl".into(),
            candidate: "3.0.15".into(),
            security: Some(false),
            ..Default::default()
        }],
        checked_at: Some("2026-11-22T09:50:00Z".into()),
        ..Default::default()
    }];
    let items = overview::items(&snap, now(), d("2026-11-22"));
    assert!(!items.iter().any(|i| i.what.starts_with("db1: 1 security")));
    assert!(items.iter().any(|i| i.what == "db1: reboot required"));
}

#[test]
fn empty_snapshot_has_no_items() {
    let snap = Snapshot::default();
    let ov = overview::overview(&snap, now(), d("2026-11-22"));
    assert!(ov.items.is_empty());
    assert_eq!(ov.counts.hosts.total, 0);
}
