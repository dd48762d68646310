//! `opsdeck backups` through the real binary: JSON fields and order, Nagios
//! exit codes, state/, the journal, `backup restored`, and no password in
//! anything opsdeck writes.

#[path = "common/backup_exec.rs"]
mod backup_exec;

use std::path::Path;
use std::process::Command;

use backup_exec::{read_tree, Fixture, BORG_PW, RESTIC_PW, WRONG_PW};
use opsdeck::model::BackupJob;

fn opsdeck(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("OPSDECK_HOME")
        .output()
        .expect("opsdeck runs")
}

/// backups.toml from jobs (serde, as the user would write it).
fn write_jobs(home: &Path, jobs: &[BackupJob]) {
    #[derive(serde::Serialize)]
    struct File<'a> {
        backup: &'a [BackupJob],
    }
    let text = toml::to_string(&File { backup: jobs }).unwrap();
    std::fs::write(home.join("backups.toml"), text).unwrap();
    // 2 shared cores under load: a command timeout would be a false failure.
    std::fs::write(
        home.join("opsdeck.toml"),
        "[ssh]\ncommand_timeout_s = 300\n",
    )
    .unwrap();
}

#[test]
fn cli_json_state_journal_and_no_secrets() {
    let fx = Fixture::new();
    let home = fx.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let matrix = fx.matrix("local");
    let jobs: Vec<BackupJob> = matrix.iter().map(|m| m.0.clone()).collect();
    write_jobs(&home, &jobs);

    let out = opsdeck(&home, &["backups", "--json", "-vv"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "crit jobs → exit 2\n{stderr}");
    for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
        assert!(
            !stdout.contains(pw) && !stderr.contains(pw),
            "a password on screen"
        );
    }
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), jobs.len());
    // The brief's fields first, in order (serde_json's Value sorts keys: read the text).
    let first = &stdout[..stdout.find('}').unwrap()];
    let pos: Vec<usize> = [
        "name",
        "host",
        "kind",
        "status",
        "latest",
        "age_s",
        "max_age_s",
        "error",
        "reasons",
    ]
    .iter()
    .map(|k| {
        first
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("no {k} in {first}"))
    })
    .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "field order: {first}");
    for (obj, (job, want, _)) in arr.iter().zip(&matrix) {
        for k in [
            "name",
            "host",
            "kind",
            "status",
            "latest",
            "age_s",
            "max_age_s",
            "error",
        ] {
            assert!(obj.get(k).is_some(), "{k} missing in {obj}");
        }
        assert_eq!(obj["name"], job.name.as_str());
        assert_eq!(obj["status"], *want, "{obj}");
    }

    // Only the ok jobs: exit 0; one named job: only it.
    let out = opsdeck(
        &home,
        &["backups", "restic-fresh", "borg-fresh", "path-fresh"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().next().unwrap().starts_with("NAME"));
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.contains("OK"));
    let out = opsdeck(&home, &["backups", "nope"]);
    assert_eq!(out.status.code(), Some(66));

    // state/ holds the results, the journal one entry per run.
    let state = std::fs::read_to_string(home.join("state/backups.toml")).unwrap();
    assert!(state.contains("restic-wrongpw"));
    let journal = std::fs::read_to_string(home.join("state/journal.toml")).unwrap();
    assert_eq!(journal.matches("backups.check").count(), 2, "{journal}");

    // No password anywhere opsdeck wrote (state, journal, log, config edits).
    let files = read_tree(&home);
    assert!(files.iter().any(|(p, _)| p.ends_with("journal.toml")));
    // -vv logs every remote command line: they are in the log, the passwords not.
    let log = files
        .iter()
        .find(|(p, _)| p.ends_with("opsdeck.log"))
        .map(|(_, t)| t.as_str())
        .unwrap_or_default();
    assert!(
        log.contains("RESTIC_PASSWORD_FILE"),
        "the log shows the commands"
    );
    for (p, text) in &files {
        for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
            assert!(!text.contains(pw), "a password is in {}", p.display());
        }
    }
}

fn restore_home(home: &Path) {
    let d = home.join("dumps");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("db.sql"), "x").unwrap();
    let text = format!(
        "# nightly dump\n[[backup]]\nname = \"db\"\nhost = \"local\"\nkind = \"path\"\npath = \"{}\" # the dump dir\nmax_age = \"26h\"\nrestore_test_every = \"90d\"\n",
        d.display()
    );
    std::fs::write(home.join("backups.toml"), &text).unwrap();
    let out = opsdeck(home, &["backups", "--json"]);
    assert_eq!(out.status.code(), Some(1), "never tested → warn");
    assert!(String::from_utf8_lossy(&out.stdout).contains("never restore-tested"));
}

fn after_restore(home: &Path) {
    let after = std::fs::read_to_string(home.join("backups.toml")).unwrap();
    assert!(
        after.contains("# nightly dump") && after.contains("# the dump dir"),
        "{after}"
    );
    assert!(after.contains("last_restore_test"), "{after}");
    let out = opsdeck(home, &["backups", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let journal = std::fs::read_to_string(home.join("state/journal.toml")).unwrap();
    assert!(journal.contains("backup.restored"), "{journal}");
}

/// Store::record_restore_test (what the pane's `t` key calls) on a job of
/// ours clears "never restore-tested"; the edit keeps the file's comments.
#[test]
fn restore_test_recorded_through_the_store() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    restore_home(home);
    let mut store = opsdeck::store::Store::load(opsdeck::store::Home::under(home)).unwrap();
    store
        .record_restore_test("db", opsdeck::backups::today())
        .unwrap();
    after_restore(home);
}

/// The same through `opsdeck backup restored` (the store's CLI).
#[test]
fn restore_test_recorded_by_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    restore_home(home);
    let out = opsdeck(home, &["backup", "restored", "db"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    after_restore(home);
    let out = opsdeck(home, &["backup", "restored", "nope"]);
    assert_eq!(out.status.code(), Some(66));
}
