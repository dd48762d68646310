//! Hardening of the files (issue #11, the data side): absurd settings and
//! flags are refused where they are written; state is a cache that degrades
//! instead of failing; the journal skips what it cannot read; a home that
//! another user could write is refused and planted links are not followed;
//! no change lands without its journal entry, whenever opsdeck is killed.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::paused::paused;
use opsdeck::model::{CheckResult, Disk, Facts, Status};
use opsdeck::store::{Home, JournalEntry, StateKind, Store};
use proptest::prelude::*;

fn opsdeck(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_HOME", home)
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS")
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_JOURNAL_MS")
        .output()
        .expect("run opsdeck")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `opsdeck host list` on a home with `file` = `text`: exit code and stderr.
fn load_with(file: &str, text: &str) -> (i32, String) {
    let dir = home();
    fs::write(dir.path().join(file), text).unwrap();
    let o = opsdeck(dir.path(), &["host", "list"]);
    (o.status.code().unwrap_or(-1), err(&o))
}

// ------------------------------------------------------------ 1: ranges

#[test]
fn absurd_settings_are_refused_with_path_line_column() {
    let cases = [
        (
            "opsdeck.toml",
            "[ssh]\nuser = \"a\"\nconnect_timeout_s = 9223372036854775807\n",
            "opsdeck.toml:3:1:",
            "allowed 1..=600 seconds",
        ),
        (
            "opsdeck.toml",
            "[ssh]\ncommand_timeout_s = 9223372036854775807\n",
            "opsdeck.toml:2:1:",
            "allowed 1..=86400",
        ),
        (
            "opsdeck.toml",
            "[ssh]\nconcurrency = 0\n",
            "opsdeck.toml:2:1:",
            "concurrency = 0",
        ),
        (
            "opsdeck.toml",
            "[thresholds]\ndisk_warn_pct = 95.0\ndisk_crit_pct = 90.0\n",
            "opsdeck.toml:2:1:",
            "above disk_crit_pct",
        ),
        (
            "opsdeck.toml",
            "[thresholds]\nload_crit_per_cpu = nan\n",
            "opsdeck.toml:2:1:",
            "load_crit_per_cpu",
        ),
        (
            "opsdeck.toml",
            "[patches]\nreboot_wait_s = 18446744073709551615\n",
            "opsdeck.toml:2:1:",
            "allowed 10..=86400",
        ),
        (
            "opsdeck.toml",
            "[thresholds]\nmetadata_max_age = \"99999999999999999d\"\n",
            "opsdeck.toml:2:1:",
            "longer than 100 years",
        ),
        (
            "hosts.toml",
            "[[host]]\nname = \"a\"\n\n[[host]]\nname = \"b\"\nport = 0\n",
            "hosts.toml:6:1:",
            "allowed 1..=65535",
        ),
        (
            "backups.toml",
            "[[backup]]\nname = \"b\"\nhost = \"local\"\nkind = \"path\"\npath = \"/x\"\nmax_age = \"99999999999999999d\"\n",
            "backups.toml:6:1:",
            "longer than 100 years",
        ),
        (
            "backups.toml",
            "[[backup]]\nname = \"b\"\nhost = \"local\"\nkind = \"path\"\npath = \"/x\"\nmax_age = \"26h\"\nwarn_age = \"3d\"\n",
            "backups.toml:7:1:",
            "warning must come first",
        ),
    ];
    for (file, text, at, why) in cases {
        let (code, e) = load_with(file, text);
        assert_eq!(code, 78, "{text}\n{e}");
        assert!(e.contains(at), "{text}: wanted {at} in\n{e}");
        assert!(e.contains(why), "{text}: wanted {why} in\n{e}");
    }
}

#[test]
fn absurd_flags_are_usage_errors() {
    let dir = home();
    for args in [
        &[
            "run",
            "all",
            "--timeout",
            "9223372036854775807",
            "--",
            "true",
        ][..],
        &["run", "all", "--timeout", "0", "--", "true"],
        &["patch", "apply", "all", "--parallel", "0", "--dry-run"],
        &["patch", "apply", "all", "--parallel", "100000", "--dry-run"],
        &["host", "add", "h", "--port", "0"],
    ] {
        let o = opsdeck(dir.path(), args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", err(&o));
        assert!(err(&o).contains("allowed"), "{args:?}: {}", err(&o));
    }
}

// ------------------------------------------------------------ 10: enums

#[test]
fn enumerated_settings_name_the_allowed_values() {
    let (code, e) = load_with("opsdeck.toml", "[ui]\ntheme = \"blue\"\n");
    assert_eq!(code, 78, "{e}");
    assert!(e.contains("opsdeck.toml:2:9:"), "{e}");
    assert!(e.contains("auto") && e.contains("mono"), "{e}");
    let (code, e) = load_with("opsdeck.toml", "[thresholds]\nupdates = \"loud\"\n");
    assert_eq!(code, 78, "{e}");
    assert!(
        e.contains("ok") && e.contains("warn") && e.contains("crit"),
        "{e}"
    );
    let (code, e) = load_with(
        "backups.toml",
        "[[backup]]\nname = \"b\"\nhost = \"local\"\nkind = \"tape\"\nmax_age = \"1d\"\n",
    );
    assert_eq!(code, 78, "{e}");
    assert!(e.contains("restic") && e.contains("borg"), "{e}");
}

// ------------------------------------------------------------ 3: state

fn check(host: &str, size_kb: u64) -> CheckResult {
    CheckResult {
        host: host.into(),
        status: Status::Ok,
        error: None,
        reasons: vec![],
        elapsed_ms: 1,
        checked_at: "2026-11-22T09:00:00Z".into(),
        facts: Some(Facts {
            disks: vec![Disk {
                mount: "/".into(),
                used_pct: 100.0,
                fstype: Some("ext4".into()),
                size_kb: Some(size_kb),
            }],
            ..Default::default()
        }),
        last_known: None,
    }
}

#[test]
fn numbers_toml_cannot_hold_are_stored_so_they_load_again() {
    let dir = home();
    fs::write(
        dir.path().join("hosts.toml"),
        "[[host]]\nname = \"huge\"\n[[host]]\nname = \"web1\"\n",
    )
    .unwrap();
    let store = Store::load(Home::under(dir.path())).unwrap();
    store
        .merge_state(
            StateKind::Checks,
            vec![check("web1", 10), check("huge", u64::MAX)],
            |c: &CheckResult| c.host.as_str(),
        )
        .expect("a u64 beyond TOML is written clamped, not refused");
    let back = store.load_state::<CheckResult>(StateKind::Checks);
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(back.items.len(), 2);
    let o = opsdeck(dir.path(), &["report"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("huge"));
}

#[test]
fn a_damaged_state_file_costs_only_its_damaged_entry() {
    let dir = home();
    fs::write(
        dir.path().join("hosts.toml"),
        "[[host]]\nname = \"a\"\n[[host]]\nname = \"b\"\n[[host]]\nname = \"c\"\n",
    )
    .unwrap();
    let store = Store::load(Home::under(dir.path())).unwrap();
    store
        .merge_state(
            StateKind::Checks,
            vec![check("a", 1), check("b", 2)],
            |c: &CheckResult| c.host.as_str(),
        )
        .unwrap();
    // junk bytes in the middle of b's entry
    let path = dir.path().join("state/checks.toml");
    let text = fs::read_to_string(&path).unwrap();
    let at = text.find("host = \"b\"").unwrap();
    let mut bytes = text.into_bytes();
    bytes.splice(at..at, *b"\xff\xfe junk = = \n");
    fs::write(&path, &bytes).unwrap();

    // the report runs, with what could be read, and says so
    let o = opsdeck(dir.path(), &["report"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("## Data problems"), "{}", out(&o));
    assert!(out(&o).contains("checks.toml"), "{}", out(&o));
    let o = opsdeck(dir.path(), &["report", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["notes"].as_array().map(Vec::len), Some(1), "{v}");

    // the next write keeps a's result, adds c's, and keeps the damaged copy
    store
        .merge_state(StateKind::Checks, vec![check("c", 3)], |c: &CheckResult| {
            c.host.as_str()
        })
        .unwrap();
    let hosts: Vec<String> = store
        .load_state::<CheckResult>(StateKind::Checks)
        .items
        .into_iter()
        .map(|c| c.host)
        .collect();
    assert_eq!(hosts, ["a", "c"]);
    assert_eq!(
        fs::read(opsdeck::store::damaged_path(&path)).unwrap(),
        bytes,
        "the damaged file is kept as it was"
    );
}

#[test]
fn state_that_cannot_be_read_at_all_is_unknown_not_a_failure() {
    let dir = home();
    fs::write(dir.path().join("hosts.toml"), "[[host]]\nname = \"a\"\n").unwrap();
    fs::create_dir_all(dir.path().join("state")).unwrap();
    // a directory where a file should be: reading it is an I/O error
    fs::create_dir(dir.path().join("state/patches.toml")).unwrap();
    fs::write(dir.path().join("state/backups.toml"), "\u{0}\u{1}garbage").unwrap();
    let o = opsdeck(dir.path(), &["report"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("patches.toml"), "{}", out(&o));
    let o = opsdeck(dir.path(), &["backups"]);
    assert_ne!(o.status.code(), Some(78), "{}", err(&o));
}

// ------------------------------------------------------------ 4: journal

#[test]
fn a_damaged_journal_skips_and_counts_never_stops_the_report() {
    let dir = home();
    assert!(opsdeck(dir.path(), &["host", "add", "one"])
        .status
        .success());
    let journal = dir.path().join("state/journal.toml");
    // junk bytes and a half-written entry after the good one
    let mut f = fs::OpenOptions::new().append(true).open(&journal).unwrap();
    use std::io::Write;
    f.write_all(b"\n[[entry]]\nat = \"2026-11-22T09:00:00Z\"\nwho = \"\xff\xfe\"\n")
        .unwrap();
    f.write_all(b"\n[[entry]]\nat = \"2026-11-22T09:10:00Z\"\nwho = \"x\"\naction = ")
        .unwrap();
    drop(f);
    assert!(opsdeck(dir.path(), &["host", "add", "two"])
        .status
        .success());
    for _ in 0..2 {
        let o = opsdeck(dir.path(), &["report"]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let md = out(&o);
        assert!(md.contains("2 damaged journal entries skipped"), "{md}");
        assert!(md.contains("host.add"), "{md}");
    }
    let store = Store::load(Home::under(dir.path())).unwrap();
    let (entries, damaged) = store.read_journal_checked().unwrap();
    let added: Vec<&str> = entries
        .iter()
        .filter(|e| e.action == "host.add")
        .map(|e| e.target.as_str())
        .collect();
    assert_eq!(added, ["one", "two"]);
    assert_eq!(damaged.len(), 2);
}

// ------------------------------------------------------------ 8: homes

#[test]
fn a_home_another_user_can_write_is_refused() {
    // SAFETY: geteuid never fails.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: chown to another user needs root (CI runs as root)");
        return;
    }
    let dir = home();
    let theirs = dir.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("hosts.toml"), "[[host]]\nname = \"a\"\n").unwrap();
    // nobody's home, with a planted lock link
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let o = opsdeck(&theirs, &["host", "add", "b"]);
    assert_eq!(o.status.code(), Some(77), "{}", err(&o));
    assert!(err(&o).contains("belongs to"), "{}", err(&o));
    assert!(err(&o).contains("--home"), "{}", err(&o));
    assert_eq!(
        fs::read_to_string(theirs.join("hosts.toml")).unwrap(),
        "[[host]]\nname = \"a\"\n"
    );

    // mine, but writable by the group
    let open = dir.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o775)).unwrap();
    let o = opsdeck(&open, &["host", "list"]);
    assert_eq!(o.status.code(), Some(77), "{}", err(&o));
    assert!(err(&o).contains("chmod go-w"), "{}", err(&o));

    // a state directory (inside my home) that belongs to someone else
    let mine = dir.path().join("mine");
    fs::create_dir_all(mine.join("state")).unwrap();
    std::os::unix::fs::chown(mine.join("state"), Some(65534), None).unwrap();
    let o = opsdeck(&mine, &["host", "list"]);
    assert_eq!(o.status.code(), Some(77), "{}", err(&o));
}

#[test]
fn planted_links_in_the_state_dir_are_never_followed() {
    let dir = home();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("precious");
    fs::write(&victim, "precious\n").unwrap();
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    for name in ["opsdeck.lock", "journal.toml", "opsdeck.log", "checks.toml"] {
        std::os::unix::fs::symlink(&victim, state.join(name)).unwrap();
    }
    // the lock cannot be opened through the link: the change is refused
    let o = opsdeck(dir.path(), &["host", "add", "a"]);
    assert!(!o.status.success(), "{}", err(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    // without the lock link, the journal link is not followed either
    fs::remove_file(state.join("opsdeck.lock")).unwrap();
    let _ = opsdeck(dir.path(), &["-v", "host", "add", "b"]);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    // a state file written over a link replaces the link, not its target
    let store = Store::load(Home::under(dir.path())).unwrap();
    let _ = store.merge_state(StateKind::Checks, vec![check("b", 1)], |c: &CheckResult| {
        c.host.as_str()
    });
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
}

// ------------------------------------------------------------ 13: intent

fn journaled_adds(home: &Path) -> Vec<String> {
    let store = Store::load(Home::under(home)).unwrap();
    let entries: Vec<JournalEntry> = store.read_journal_checked().unwrap().0;
    entries
        .into_iter()
        .filter(|e| e.action == "host.add")
        .map(|e| e.target)
        .collect()
}

#[test]
fn no_change_lands_without_its_journal_entry() {
    let dir = home();
    let h = dir.path();
    // killed after the rename, before the journal: the next start journals it
    let mut c = paused(
        h,
        &["host", "add", "landed"],
        "OPSDECK_TEST_PAUSE_BEFORE_JOURNAL_MS",
    );
    c.kill().unwrap();
    c.wait().unwrap();
    let store = Store::load(Home::under(h)).unwrap();
    assert!(store.host("landed").is_some());
    assert_eq!(journaled_adds(h), ["landed"]);
    assert!(!h.join("state/journal.pending").exists());

    // killed before the rename: nothing landed, nothing journaled
    let mut c = paused(
        h,
        &["host", "add", "never"],
        "OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS",
    );
    c.kill().unwrap();
    c.wait().unwrap();
    assert!(opsdeck(h, &["host", "add", "next"]).status.success());
    assert_eq!(journaled_adds(h), ["landed", "next"]);

    // a storm of kills at random moments: every host in the file has its
    // entry, and no entry was written twice
    let mut seed: u64 = 0x00c0_ffee;
    for i in 0..40 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = std::time::Duration::from_micros((seed >> 33) % 8000);
        let mut child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["host", "add", &format!("k{i}")])
            .env("OPSDECK_HOME", h)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
    }
    let store = Store::load(Home::under(h)).unwrap();
    let mut in_file: Vec<String> = store.hosts.iter().map(|x| x.name.clone()).collect();
    let mut journaled = journaled_adds(h);
    in_file.sort();
    journaled.sort();
    assert_eq!(in_file, journaled);
}

// ------------------------------------------------------------ fuzz

fn toml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[host]]\n".to_string()),
        Just("[[vendor]]\n".to_string()),
        Just("[[vendor.ticket]]\n".to_string()),
        Just("[[backup]]\n".to_string()),
        Just("[[check]]\n".to_string()),
        Just("[[entry]]\n".to_string()),
        Just("[ssh]\n".to_string()),
        Just("[thresholds]\n".to_string()),
        Just("[ui]\n".to_string()),
        "[a-z_]{1,18} = [0-9]{1,22}\n",
        "[a-z_]{1,18} = -[0-9]{1,22}\n",
        "[a-z_]{1,18} = \"[ -~]{0,20}\"\n",
        "[a-z_]{1,18} = [0-9]{4}-[0-9]{2}-[0-9]{2}\n",
        Just("name = \"a\"\n".to_string()),
        Just("port = 65536\n".to_string()),
        Just("max_age = \"1y\"\n".to_string()),
        Just("theme = \"x\"\n".to_string()),
        Just("concurrency = 0\n".to_string()),
        Just("connect_timeout_s = nan\n".to_string()),
        "[ -~\n]{0,30}",
    ];
    proptest::collection::vec(piece, 0..14).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_toml_never_panics_and_errors_name_their_file(text in toml_like(), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        fs::create_dir_all(&home.state_dir).unwrap();
        for file in ["opsdeck.toml", "hosts.toml", "backups.toml", "vendors.toml", "os-eol.toml"] {
            // one file damaged at a time, the others absent
            let path = dir.path().join(file);
            let mut content = text.clone().into_bytes();
            content.extend_from_slice(&bytes);
            fs::write(&path, &content).unwrap();
            match Store::load(home.clone()) {
                Ok(store) => {
                    if file == "os-eol.toml" {
                        if let Err(e) = opsdeck::lifecycle::EolTable::load(&store.home) {
                            prop_assert!(e.to_string().contains("os-eol.toml"), "{e}");
                        }
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains(file), "{msg}");
                    if let opsdeck::store::StoreError::Parse { line, column, .. } = e {
                        prop_assert!(line >= 1 && column >= 1);
                    }
                }
            }
            fs::remove_file(&path).unwrap();
        }
        // state and journal: never an error, whatever they hold
        let store = Store::load(home.clone()).unwrap();
        let mut content = text.clone().into_bytes();
        content.extend_from_slice(&bytes);
        for name in ["checks.toml", "patches.toml", "backups.toml", "security_since.toml"] {
            fs::write(home.state_dir.join(name), &content).unwrap();
        }
        fs::write(home.journal_path(), &content).unwrap();
        let _ = store.load_state::<CheckResult>(StateKind::Checks);
        let _ = store.load_state::<opsdeck::model::PatchReport>(StateKind::Patches);
        let _ = store.load_state::<opsdeck::model::BackupResult>(StateKind::Backups);
        let (_, damaged) = store.read_journal_checked().unwrap();
        for d in damaged {
            prop_assert!(d.to_string().contains("journal.toml:"), "{d}");
        }
        prop_assert!(opsdeck::overview::Snapshot::load(&store).is_ok());
    }
}
