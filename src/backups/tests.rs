//! Parser and policy unit tests on fixtures of the real tools' output
//! (tests/fixtures/backups/).

use super::*;
use crate::model::{BackupJob, BackupKind, Status};

const RESTIC_014: &str = include_str!("../../tests/fixtures/backups/restic-0.14-snapshots.json");
const RESTIC_017: &str = include_str!("../../tests/fixtures/backups/restic-0.17-snapshots.json");
const RESTIC_EMPTY: &str = include_str!("../../tests/fixtures/backups/restic-empty.json");
const BORG_12: &str = include_str!("../../tests/fixtures/backups/borg-1.2-list.json");
const BORG_BERLIN: &str = include_str!("../../tests/fixtures/backups/borg-1.2-list-berlin.json");
const GARBAGE: &str = include_str!("../../tests/fixtures/backups/garbage.txt");

fn job(kind: BackupKind) -> BackupJob {
    BackupJob::new("j", "local", kind, "26h")
}

fn restic_job() -> BackupJob {
    BackupJob {
        repository: Some("/srv/restic".into()),
        password_file: Some("/root/.restic-pw".into()),
        ..job(BackupKind::Restic)
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn out(code: i32, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
        exit_status: Some(code),
        exit_signal: None,
        elapsed: Duration::from_millis(5),
        dropped: 0,
    }
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

#[test]
fn restic_014_latest_count_groups() {
    let f = parse_restic_snapshots(RESTIC_014).unwrap();
    assert_eq!(f.snapshots, Some(3));
    assert_eq!(f.latest, Some(ts("2026-11-23T09:19:57.187112977Z")));
    // newest per host+paths group, newest first
    assert_eq!(f.recent.len(), 2);
    assert_eq!(f.recent[0].id, "290ee2ab");
    assert_eq!(f.recent[0].hostname.as_deref(), Some("vm"));
    assert_eq!(f.recent[1].id, "50712d4d");
    assert_eq!(f.recent[1].tags, ["daily", "db"]);
    assert_eq!(f.recent[1].time, "2026-11-20T01:00:00Z");
}

#[test]
fn restic_017_offsets_and_summary() {
    let f = parse_restic_snapshots(RESTIC_017).unwrap();
    assert_eq!(f.snapshots, Some(3));
    // 02:00:01.5+01:00 is 01:00:01Z; the -05:00 one is older.
    assert_eq!(f.latest, Some(ts("2026-11-22T01:00:01.5Z")));
    // paths order does not split a group
    assert_eq!(f.recent.len(), 2);
    assert_eq!(f.recent[0].id, "a0b1c2d3");
    assert_eq!(f.recent[0].size, Some(987_660_000));
    assert_eq!(f.recent[0].paths, ["/etc", "/srv/data"]);
    assert_eq!(f.recent[1].time, "2026-11-11T04:30:00Z");
}

#[test]
fn restic_empty_and_garbage() {
    let f = parse_restic_snapshots(RESTIC_EMPTY).unwrap();
    assert_eq!(f.snapshots, Some(0));
    assert_eq!(f.latest, None);
    for bad in [
        GARBAGE,
        "",
        "null",
        "[{\"time\": 5}]",
        "[{\"time\": \"yesterday\"}]",
        "[{}]",
        "[[[[",
        "{\"archives\": []}",
    ] {
        assert!(
            parse_restic_snapshots(bad).is_err(),
            "{bad:?} must be an error"
        );
    }
}

#[test]
fn borg_12_local_times() {
    let utc = HostZone::parse("+0000 UTC");
    let f = parse_borg_list(BORG_12, &utc).unwrap();
    assert_eq!(f.snapshots, Some(2));
    assert_eq!(f.latest, Some(ts("2026-11-23T09:22:28Z")));
    assert_eq!(f.recent[0].id, "new");
    assert_eq!(f.recent[1].id, "old");
}

#[test]
fn borg_times_use_the_host_zone_with_dst() {
    // The zone name wins: July is CEST (+02:00) even though `date +%z` says +0100 now.
    let berlin = HostZone::parse("+0100 /usr/share/zoneinfo/Europe/Berlin");
    let f = parse_borg_list(BORG_BERLIN, &berlin).unwrap();
    assert_eq!(f.latest, Some(ts("2026-11-22T01:00:00Z")));
    assert_eq!(f.recent[1].time, "2026-07-01T00:00:00Z");
    // Without a known name: the current offset.
    let fixed = HostZone::parse("+0100 Nowhere/Land");
    let f = parse_borg_list(BORG_BERLIN, &fixed).unwrap();
    assert_eq!(f.recent[1].time, "2026-07-01T01:00:00Z");
    let neg = HostZone::parse("-0530");
    let f = parse_borg_list(BORG_BERLIN, &neg).unwrap();
    assert_eq!(f.latest, Some(ts("2026-11-22T07:30:00Z")));
    // Nothing known: UTC.
    let f = parse_borg_list(BORG_BERLIN, &HostZone::parse("")).unwrap();
    assert_eq!(f.latest, Some(ts("2026-11-22T02:00:00Z")));
}

#[test]
fn borg_output_with_zone_line() {
    let j = BackupJob {
        repository: Some("/srv/borg".into()),
        ..job(BackupKind::Borg)
    };
    let stdout = format!("opsdeck-tz +0100 Europe/Berlin\n{BORG_BERLIN}");
    let f = parse_output(&j, &out(0, &stdout, "")).unwrap();
    assert_eq!(f.latest, Some(ts("2026-11-22T01:00:00Z")));
    let empty = "opsdeck-tz +0000 \n{\"archives\": [], \"encryption\": {\"mode\": \"none\"}}";
    let f = parse_output(&j, &out(0, empty, "")).unwrap();
    assert_eq!(f.latest, None);
    assert_eq!(f.snapshots, Some(0));
}

#[test]
fn borg_garbage() {
    let z = HostZone::default();
    for bad in [
        GARBAGE,
        "",
        "[]",
        "{\"archives\": [{\"name\": \"x\"}]}",
        "{\"archives\": [{\"name\": \"x\", \"time\": \"soon\"}]}",
        "{\"archives\": 3}",
    ] {
        assert!(
            parse_borg_list(bad, &z).is_err(),
            "{bad:?} must be an error"
        );
    }
}

#[test]
fn restic_errors_are_clear() {
    let j = restic_job();
    let e = parse_output(&j, &out(1, "", "Fatal: wrong password or no key found\n")).unwrap_err();
    assert_eq!(e.status, Status::Crit);
    assert!(e.message.contains("wrong password"), "{}", e.message);
    let e = parse_output(&j, &out(12, "", "")).unwrap_err();
    assert!(e.message.contains("wrong password"), "{}", e.message);
    let e = parse_output(
        &j,
        &out(
            1,
            "",
            "Fatal: unable to open config file: stat /srv/restic/config: no such file or directory\nIs there a repository at the following location?\n/srv/restic\n",
        ),
    )
    .unwrap_err();
    assert_eq!(e.message, "no restic repository at /srv/restic");
    let e = parse_output(&j, &out(10, "", "")).unwrap_err();
    assert_eq!(e.message, "no restic repository at /srv/restic");
    let e = parse_output(&j, &out(11, "", "")).unwrap_err();
    assert_eq!(e.status, Status::Warn);
    assert!(e.message.contains("locked"));
    let e = parse_output(
        &j,
        &out(
            127,
            "",
            "opsdeck: restic is not installed on this host (not found in PATH)\n",
        ),
    )
    .unwrap_err();
    assert!(e.message.contains("not installed"));
    let e = parse_output(&j, &out(1, "", "\x1b[31mFatal: disk on fire\x1b[0m\n")).unwrap_err();
    assert_eq!(e.message, "restic failed (exit 1): Fatal: disk on fire");
    let e = parse_output(&j, &out(0, "not json", "")).unwrap_err();
    assert!(e.message.contains("no JSON"), "{}", e.message);
}

#[test]
fn borg_errors_are_clear() {
    let mut j = BackupJob {
        repository: Some("/srv/borg".into()),
        passcommand: Some("cat /root/.borg".into()),
        ..job(BackupKind::Borg)
    };
    let wrong = "passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD is incorrect.\n";
    let e = parse_output(&j, &out(2, "opsdeck-tz +0000 UTC\n", wrong)).unwrap_err();
    assert!(e.message.contains("wrong passphrase"), "{}", e.message);
    j.passcommand = None;
    let e = parse_output(&j, &out(2, "", wrong)).unwrap_err();
    assert!(
        e.message.contains("encrypted: set `passcommand`"),
        "{}",
        e.message
    );
    let e = parse_output(&j, &out(2, "", "Repository /srv/borg does not exist.\n")).unwrap_err();
    assert_eq!(e.message, "no borg repository at /srv/borg");
    let e = parse_output(
        &j,
        &out(
            2,
            "",
            "/srv/borg is not a valid repository. Check repo config.\n",
        ),
    )
    .unwrap_err();
    assert_eq!(e.message, "/srv/borg is not a borg repository");
    let e = parse_output(
        &j,
        &out(
            2,
            "",
            "Failed to create/acquire the lock /srv/borg/lock.exclusive (timeout).\n",
        ),
    )
    .unwrap_err();
    assert_eq!(e.status, Status::Warn);
}

#[test]
fn path_listing() {
    let (n, newest) = parse_path_listing(
        "opsdeck-files 3\nopsdeck-newest 1700000000 0 /var/backups/db dump.sql\n",
    )
    .unwrap();
    assert_eq!(n, 3);
    let newest = newest.unwrap();
    assert_eq!(newest.size, 0);
    assert_eq!(newest.name, "/var/backups/db dump.sql");
    assert_eq!(newest.mtime, Timestamp::from_second(1_700_000_000).unwrap());
    assert_eq!(parse_path_listing("opsdeck-nomatch\n").unwrap(), (0, None));
    assert_eq!(parse_path_listing("opsdeck-files 0\n").unwrap(), (0, None));
    for bad in [
        "",
        "garbage",
        "opsdeck-files x",
        "opsdeck-files 1\nopsdeck-newest a b c",
    ] {
        assert!(parse_path_listing(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn path_min_size_and_errors() {
    let j = BackupJob {
        path: Some("/var/backups/*.sql.gz".into()),
        min_size: Some(1000),
        ..job(BackupKind::Path)
    };
    let f = parse_output(
        &j,
        &out(
            0,
            "opsdeck-files 2\nopsdeck-newest 1700000000 0 /var/backups/b.sql.gz\n",
            "",
        ),
    )
    .unwrap();
    assert_eq!(f.findings.len(), 1);
    assert_eq!(f.findings[0].0, Status::Crit);
    assert!(f.findings[0].1.contains("0 bytes, below min_size 1000"));
    let e = parse_output(
        &j,
        &out(
            0,
            "opsdeck-files 0\n",
            "find: '/var/backups/x': Permission denied\n",
        ),
    )
    .unwrap_err();
    assert!(e.message.contains("Permission denied"));
}

#[test]
fn command_times() {
    assert_eq!(
        parse_command_time("1700000000\n").unwrap(),
        Timestamp::from_second(1_700_000_000).unwrap()
    );
    assert_eq!(
        parse_command_time("1700000000.75").unwrap(),
        Timestamp::from_second(1_700_000_000).unwrap()
    );
    assert_eq!(
        parse_command_time("2026-11-22T03:00:00+01:00").unwrap(),
        ts("2026-11-22T02:00:00Z")
    );
    for bad in [
        "",
        "yesterday",
        "12.3.4",
        "99999999999999999999",
        "2026-13-01T00:00:00Z",
    ] {
        assert!(parse_command_time(bad).is_err(), "{bad:?}");
    }
    let j = BackupJob {
        command: Some("x".into()),
        ..job(BackupKind::Command)
    };
    let e = parse_output(&j, &out(3, "", "no dump today\n")).unwrap_err();
    assert_eq!(e.message, "the command failed (exit 3): no dump today");
    let noisy = "Welcome to nas!\ndebug1: motd\nopsdeck-begin\nno dump today\n";
    let e = parse_output(&j, &out(3, "", noisy)).unwrap_err();
    assert_eq!(e.message, "the command failed (exit 3): no dump today");
    let e = parse_output(&j, &out(0, "\n\n", "")).unwrap_err();
    assert!(e.message.contains("printed nothing"));
    let f = parse_output(&j, &out(0, "checking...\n1700000000\n\n", "")).unwrap();
    assert_eq!(
        f.latest,
        Some(Timestamp::from_second(1_700_000_000).unwrap())
    );
}

fn found_at(t: &str) -> Found {
    Found {
        latest: Some(ts(t)),
        snapshots: Some(1),
        ..Found::default()
    }
}

#[test]
fn status_policy() {
    let now = ts("2026-11-23T10:00:00Z");
    let today = date("2026-11-23");
    let mut j = restic_job();
    let r = evaluate(&j, Ok(found_at("2026-11-23T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.age_s, Some(7200));
    assert_eq!(r.max_age_s, 26 * 3600);
    assert_eq!(r.latest.as_deref(), Some("2026-11-23T08:00:00Z"));
    assert!(!r.reasons.is_empty(), "a reason even when ok");

    let r = evaluate(&j, Ok(found_at("2026-11-20T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Crit);
    assert!(
        r.reasons[0].contains("older than max_age 26h"),
        "{:?}",
        r.reasons
    );
    assert_eq!(r.error, None);

    j.warn_age = Some("1h".into());
    let r = evaluate(&j, Ok(found_at("2026-11-23T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Warn);
    assert!(r.reasons[0].contains("warn_age 1h"));

    let r = evaluate(&j, Ok(Found::default()), now, today);
    assert_eq!(r.status, Status::Crit);
    assert_eq!(r.reasons, ["no snapshot"]);

    let r = evaluate(&j, Err(CheckError::crit("boom")), now, today);
    assert_eq!(r.status, Status::Crit);
    assert_eq!(r.error.as_deref(), Some("boom"));

    let r = evaluate(&j, Ok(found_at("2026-11-23T11:00:00Z")), now, today);
    assert_eq!(r.status, Status::Warn);
    assert!(r.reasons[0].contains("in the future"));
    assert_eq!(r.age_s, Some(0));
}

#[test]
fn restore_tests() {
    let now = ts("2026-11-23T10:00:00Z");
    let today = date("2026-11-23");
    let mut j = restic_job();
    j.restore_test_every = Some("90d".into());
    let r = evaluate(&j, Ok(found_at("2026-11-23T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Warn);
    assert!(r.reasons.iter().any(|x| x.contains("never restore-tested")));
    j.last_restore_test = Some(date("2026-10-01"));
    let r = evaluate(&j, Ok(found_at("2026-11-23T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    j.last_restore_test = Some(date("2026-08-24"));
    assert_eq!(restore_due(&j), Some(date("2026-11-22")));
    let r = evaluate(&j, Ok(found_at("2026-11-23T08:00:00Z")), now, today);
    assert_eq!(r.status, Status::Warn);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("overdue since 2026-11-22")),
        "{:?}",
        r.reasons
    );
    // crit stays crit
    let r = evaluate(&j, Ok(Found::default()), now, today);
    assert_eq!(r.status, Status::Crit);
    assert_eq!(r.reasons.len(), 2);
}

#[test]
fn validation_is_per_job_and_clear() {
    let now = ts("2026-11-23T10:00:00Z");
    let today = date("2026-11-23");
    let cases: Vec<(BackupJob, &str)> = vec![
        (job(BackupKind::Restic), "needs `repository`"),
        (
            BackupJob {
                repository: Some("/r".into()),
                ..job(BackupKind::Restic)
            },
            "password_command",
        ),
        (
            BackupJob {
                passcommand: Some("x".into()),
                ..restic_job()
            },
            "use `password_command`",
        ),
        (
            BackupJob {
                password_command: Some("x".into()),
                ..restic_job()
            },
            "not both",
        ),
        (job(BackupKind::Borg), "needs `repository`"),
        (job(BackupKind::Path), "needs `path`"),
        (job(BackupKind::Command), "needs `command`"),
        (
            BackupJob {
                max_age: "soon".into(),
                ..restic_job()
            },
            "max_age",
        ),
        (
            BackupJob {
                warn_age: Some("30h".into()),
                ..restic_job()
            },
            "shorter than max_age",
        ),
        (
            BackupJob {
                path: Some("-rf".into()),
                ..job(BackupKind::Path)
            },
            "must not start",
        ),
    ];
    for (j, want) in cases {
        let e = validate(&j).unwrap_err();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
        let r = evaluate(&j, Ok(Found::default()), now, today);
        assert_eq!(r.status, Status::Unknown);
        assert!(r.error.as_deref().unwrap_or_default().contains(want));
    }
}

#[test]
fn commands_quote_every_value() {
    let evil = "/srv/it's $(touch /tmp/pwned) `x`;rm";
    let j = BackupJob {
        repository: Some(evil.into()),
        password_command: Some(format!("cat {evil}")),
        env_file: Some(evil.into()),
        tag: Some(evil.into()),
        path: Some(evil.into()),
        ..job(BackupKind::Restic)
    };
    let cmd = remote_command(&j);
    assert!(cmd.starts_with("sh -c '"));
    // Run it through a parser-only shell: `sh -n` must accept it, and the
    // decoded script must carry the values as single-quoted words.
    let st = std::process::Command::new("sh")
        .arg("-n")
        .arg("-c")
        .arg(&cmd)
        .status()
        .unwrap();
    assert!(st.success());
    let inner = remote_inner(&cmd);
    assert!(inner.contains(&crate::util::shell_quote(evil)));
    assert!(!inner.contains(&format!("={evil}")));
    for kind in [BackupKind::Borg, BackupKind::Path, BackupKind::Command] {
        let j = BackupJob {
            repository: (kind == BackupKind::Borg).then(|| evil.to_string()),
            passcommand: (kind == BackupKind::Borg).then(|| evil.to_string()),
            path: (kind == BackupKind::Path).then(|| evil.to_string()),
            command: (kind == BackupKind::Command).then(|| evil.to_string()),
            ..job(kind)
        };
        validate(&j).unwrap();
        let cmd = remote_command(&j);
        let inner = remote_inner(&cmd);
        assert!(
            inner.contains(&crate::util::shell_quote(evil)),
            "{kind:?}: {inner}"
        );
    }
}

/// The script inside `sh -c '...'`.
fn remote_inner(cmd: &str) -> String {
    let quoted = cmd.strip_prefix("sh -c ").unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s {quoted}"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Regression: a huge `restore_test_every` ("100000y") panicked in jiff's
/// `Span::days`; it must mean "not due", never a crash.
#[test]
fn huge_restore_interval_does_not_panic() {
    let mut j = job(BackupKind::Path);
    j.restore_test_every = Some("100000y".into());
    j.last_restore_test = Some(date("2026-01-01"));
    assert_eq!(restore_due(&j), None);
    j.restore_test_every = Some("90d".into());
    assert_eq!(restore_due(&j), Some(date("2026-04-01")));
}
