//! Lifecycle rules at their boundaries, on an injected `today`.

use std::path::Path;

use opsdeck::lifecycle::{
    self, contract_item, eol_item, hardware_item, refresh_due, warranty_item, EolTable, Kind,
};
use opsdeck::model::{CheckResult, Date, Facts, Host, Level, Status, Thresholds, Vendor};
use opsdeck::overview::PaneId;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn th() -> Thresholds {
    Thresholds {
        expiry_warn_days: 60,
        hardware_refresh_years: 3,
        ..Thresholds::default()
    }
}

fn host_warranty(end: &str) -> Host {
    Host {
        name: "web1".into(),
        warranty_until: Some(d(end)),
        ..Default::default()
    }
}

#[test]
fn warranty_day_before_of_and_after_the_end() {
    let h = host_warranty("2026-11-22");
    let before = warranty_item(&h, &th(), d("2026-11-21")).unwrap();
    assert_eq!((before.level, before.days), (Level::Warn, 1));
    assert_eq!(before.why, "warranty ends 2026-11-22 (in 1 day)");

    let of = warranty_item(&h, &th(), d("2026-11-22")).unwrap();
    assert_eq!((of.level, of.days), (Level::Warn, 0));
    assert_eq!(of.why, "warranty ends today (2026-11-22)");

    let after = warranty_item(&h, &th(), d("2026-11-23")).unwrap();
    assert_eq!((after.level, after.days), (Level::Warn, -1));
    assert_eq!(after.why, "warranty ended 2026-11-22 (1 day ago)");
    assert_eq!(after.what, "web1: warranty");
    assert_eq!(after.target.pane, PaneId::HOSTS);
    assert_eq!(after.target.key, "web1");
    assert_eq!(after.kind, Kind::Warranty);
}

#[test]
fn expiry_warn_days_boundary() {
    // today 2026-11-22; exactly 60 days left -> warn; 61 -> nothing
    let today = d("2026-11-22");
    let sixty = host_warranty("2027-01-21");
    let it = warranty_item(&sixty, &th(), today).unwrap();
    assert_eq!(it.days, 60);
    assert_eq!(it.why, "warranty ends 2027-01-21 (in 60 days)");
    assert!(warranty_item(&host_warranty("2027-01-22"), &th(), today).is_none());

    let v = |end: &str| Vendor {
        name: "Acme ISP".into(),
        contract_end: Some(d(end)),
        ..Default::default()
    };
    assert_eq!(
        contract_item(&v("2027-01-21"), &th(), today).unwrap().days,
        60
    );
    assert!(contract_item(&v("2027-01-22"), &th(), today).is_none());

    // a zero window warns only on the day itself
    let zero = Thresholds {
        expiry_warn_days: 0,
        ..th()
    };
    assert!(warranty_item(&host_warranty("2026-11-23"), &zero, today).is_none());
    assert_eq!(
        warranty_item(&host_warranty("2026-11-22"), &zero, today)
            .unwrap()
            .days,
        0
    );
}

#[test]
fn contract_day_before_of_and_after_the_end() {
    let v = Vendor {
        name: "Acme ISP".into(),
        contract_end: Some(d("2026-12-31")),
        ..Default::default()
    };
    let before = contract_item(&v, &th(), d("2026-12-30")).unwrap();
    assert_eq!((before.level, before.days), (Level::Warn, 1));
    let of = contract_item(&v, &th(), d("2026-12-31")).unwrap();
    assert_eq!((of.level, of.days), (Level::Warn, 0));
    assert_eq!(of.why, "contract ends today (2026-12-31)");
    let after = contract_item(&v, &th(), d("2027-01-01")).unwrap();
    assert_eq!((after.level, after.days), (Level::Crit, -1));
    assert_eq!(after.why, "contract ended 2026-12-31 (1 day ago)");
    assert_eq!(after.target.pane, PaneId::VENDORS);
    assert_eq!(after.target.key, "Acme ISP");
}

#[test]
fn hardware_refresh_day_before_of_and_after() {
    let h = Host {
        name: "db1".into(),
        purchased: Some(d("2023-11-22")),
        ..Default::default()
    };
    assert!(hardware_item(&h, &th(), d("2026-11-21")).is_none());
    let of = hardware_item(&h, &th(), d("2026-11-22")).unwrap();
    assert_eq!((of.level, of.days), (Level::Warn, 0));
    assert_eq!(
        of.why,
        "purchased 2023-11-22: 3 years old today (refresh after 3 years)"
    );
    let after = hardware_item(&h, &th(), d("2026-11-23")).unwrap();
    assert_eq!(after.days, -1);
    assert_eq!(
        after.why,
        "purchased 2023-11-22: 3 years old since 2026-11-22 (1 day ago; refresh after 3 years)"
    );
    assert_eq!(after.what, "db1: hardware due for refresh");
    // a threshold of 0 years disables the rule
    let off = Thresholds {
        hardware_refresh_years: 0,
        ..th()
    };
    assert!(hardware_item(&h, &off, d("2030-01-01")).is_none());
}

#[test]
fn leap_day_purchase() {
    // 2024-02-29 + 3 years: 2027 has no 29 February; the anniversary is the 28th.
    assert_eq!(refresh_due(d("2024-02-29"), 3), Some(d("2027-02-28")));
    // + 4 years lands on a leap day again
    assert_eq!(refresh_due(d("2024-02-29"), 4), Some(d("2028-02-29")));
    let h = Host {
        name: "nas".into(),
        purchased: Some(d("2024-02-29")),
        ..Default::default()
    };
    assert!(hardware_item(&h, &th(), d("2027-02-27")).is_none());
    assert_eq!(hardware_item(&h, &th(), d("2027-02-28")).unwrap().days, 0);
    assert_eq!(hardware_item(&h, &th(), d("2027-03-01")).unwrap().days, -1);
}

fn facts(id: &str, version: &str) -> Facts {
    Facts {
        os_id: Some(id.into()),
        os_version_id: Some(version.into()),
        ..Default::default()
    }
}

#[test]
fn os_eol_day_before_of_and_after() {
    let table = EolTable::parse(
        "[[os]]\nid = \"debian\"\nversion = \"11\"\nname = \"Debian 11 (bullseye)\"\neol = 2026-08-31\n",
        Path::new("t.toml"),
    )
    .unwrap();
    let f = facts("debian", "11");
    let before = eol_item("web1", &f, &table, &th(), d("2026-08-30")).unwrap();
    assert_eq!((before.level, before.days), (Level::Warn, 1));
    assert_eq!(
        before.why,
        "Debian 11 (bullseye): support ends 2026-08-31 (in 1 day)"
    );
    let of = eol_item("web1", &f, &table, &th(), d("2026-08-31")).unwrap();
    assert_eq!((of.level, of.days), (Level::Warn, 0));
    let after = eol_item("web1", &f, &table, &th(), d("2026-09-01")).unwrap();
    assert_eq!((after.level, after.days), (Level::Crit, -1));
    assert_eq!(
        after.why,
        "Debian 11 (bullseye): support ended 2026-08-31 (1 day ago)"
    );
    assert_eq!(after.what, "web1: OS end of life");
    // window boundary: 60 days before -> warn, 61 -> nothing
    assert_eq!(
        eol_item("web1", &f, &table, &th(), d("2026-07-02"))
            .unwrap()
            .days,
        60
    );
    assert!(eol_item("web1", &f, &table, &th(), d("2026-07-01")).is_none());
}

#[test]
fn os_eol_built_in_table_with_version_prefixes() {
    let table = EolTable::embedded();
    let today = d("2026-11-22");
    // Alpine 3.19.4 -> 3.19 (EOL 2025-11-01): past, crit
    let it = eol_item("edge", &facts("alpine", "3.19.4"), &table, &th(), today).unwrap();
    assert_eq!(it.level, Level::Crit);
    assert!(
        it.why.starts_with("Alpine 3.19: support ended 2025-11-01"),
        "{}",
        it.why
    );
    // Ubuntu 20.04: standard support ended, ESM named as a paid extension
    let it = eol_item("u", &facts("ubuntu", "20.04"), &table, &th(), today).unwrap();
    assert_eq!(it.level, Level::Crit);
    assert!(
        it.why.contains("paid extension until 2030-04-30"),
        "{}",
        it.why
    );
    // RHEL 9.4 -> 9: far away, nothing
    assert!(eol_item("r", &facts("rhel", "9.4"), &table, &th(), today).is_none());
    // unknown OS, missing facts: nothing
    assert!(eol_item("x", &facts("plan9", "4"), &table, &th(), today).is_none());
    assert!(eol_item("x", &Facts::default(), &table, &th(), today).is_none());
}

#[test]
fn user_table_overrides_and_extends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("os-eol.toml"),
        "# I have Ubuntu Pro\n[[os]]\nid = \"ubuntu\"\nversion = \"20.04\"\nname = \"Ubuntu 20.04 LTS (ESM)\"\neol = 2030-04-30\n\n[[os]]\nid = \"myos\"\nversion = \"1\"\neol = 2026-01-01\n",
    )
    .unwrap();
    let home = opsdeck::store::Home::under(dir.path());
    let table = EolTable::load(&home).unwrap();
    let today = d("2026-11-22");
    assert!(eol_item("u", &facts("ubuntu", "20.04"), &table, &th(), today).is_none());
    assert_eq!(
        table.lookup("ubuntu", "20.04").unwrap().name.as_deref(),
        Some("Ubuntu 20.04 LTS (ESM)")
    );
    let mine = eol_item("m", &facts("myos", "1.2"), &table, &th(), today).unwrap();
    assert_eq!(mine.level, Level::Crit);
    assert!(mine.why.starts_with("myos 1: support ended 2026-01-01"));
    // the rest of the built-in table is still there
    assert!(table.lookup("debian", "12").is_some());

    // a broken user table: path:line:column, not a panic
    std::fs::write(dir.path().join("os-eol.toml"), "[[os]]\nid = 3\n").unwrap();
    let e = EolTable::load(&home).unwrap_err().to_string();
    assert!(e.contains("os-eol.toml:2:"), "{e}");
}

#[test]
fn missing_dates_give_no_item_and_no_panic() {
    let today = d("2026-11-22");
    let bare = Host {
        name: "bare".into(),
        ..Default::default()
    };
    assert!(warranty_item(&bare, &th(), today).is_none());
    assert!(hardware_item(&bare, &th(), today).is_none());
    let v = Vendor {
        name: "v".into(),
        ..Default::default()
    };
    assert!(contract_item(&v, &th(), today).is_none());
    let no_version = Facts {
        os_id: Some("debian".into()),
        ..Default::default()
    };
    assert!(eol_item("bare", &no_version, &EolTable::embedded(), &th(), today).is_none());
    // extreme dates do not overflow
    let old = Host {
        name: "old".into(),
        purchased: Some(d("0001-01-01")),
        warranty_until: Some(d("9999-12-31")),
        ..Default::default()
    };
    let _ = hardware_item(&old, &th(), today);
    assert!(warranty_item(&old, &th(), today).is_none());
    let huge = Thresholds {
        hardware_refresh_years: u32::MAX,
        ..th()
    };
    assert!(hardware_item(&old, &huge, today).is_none());
}

#[test]
fn all_items_sorted_crit_first_then_most_overdue() {
    let hosts = vec![
        Host {
            name: "a".into(),
            warranty_until: Some(d("2026-12-01")),
            purchased: Some(d("2020-01-01")),
            ..Default::default()
        },
        Host {
            name: "b".into(),
            ..Default::default()
        },
    ];
    let vendors = vec![Vendor {
        name: "Acme".into(),
        contract_end: Some(d("2026-10-01")),
        ..Default::default()
    }];
    let checks = vec![CheckResult {
        host: "b".into(),
        status: Status::Ok,
        error: None,
        reasons: vec![],
        elapsed_ms: 1,
        checked_at: "2026-11-22T09:00:00Z".into(),
        facts: Some(facts("debian", "10")),
        last_known: None,
    }];
    let items = lifecycle::items(
        &hosts,
        &vendors,
        &checks,
        &EolTable::embedded(),
        &th(),
        d("2026-11-22"),
    );
    let got: Vec<(Level, &str)> = items.iter().map(|i| (i.level, i.what.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (Level::Crit, "b: OS end of life"),
            (Level::Crit, "Acme: contract"),
            (Level::Warn, "a: hardware due for refresh"),
            (Level::Warn, "a: warranty"),
        ]
    );
}
