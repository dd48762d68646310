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
}

#[test]
#[ignore = "waits for the store (Store::load is a stub on main)"]
fn cli_json_state_journal_and_no_secrets() {
    let fx = Fixture::new();
    let home = fx.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let matrix = fx.matrix("local");
    let jobs: Vec<BackupJob> = matrix.iter().map(|m| m.0.clone()).collect();
    write_jobs(&home, &jobs);

    let out = opsdeck(&home, &["backups", "--json", "-v"]);
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
    for (obj, (job, want, _)) in arr.iter().zip(&matrix) {
        let keys: Vec<&str> = obj
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            &keys[..8],
            [
                "name",
                "host",
                "kind",
                "status",
                "latest",
                "age_s",
                "max_age_s",
                "error"
            ],
            "the brief's fields first, in order"
        );
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

    // A restore test recorded by the store's CLI clears "never restore-tested".
    let mut tested = jobs
        .iter()
        .find(|j| j.name == "restic-fresh")
        .unwrap()
        .clone();
    tested.restore_test_every = Some("90d".into());
    write_jobs(&home, std::slice::from_ref(&tested));
    let out = opsdeck(&home, &["backups", "--json"]);
    assert_eq!(out.status.code(), Some(1), "never tested → warn");
    assert!(String::from_utf8_lossy(&out.stdout).contains("never restore-tested"));
    let out = opsdeck(&home, &["backup", "restored", "restic-fresh"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = opsdeck(&home, &["backups", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // No password anywhere opsdeck wrote (state, journal, log, config edits).
    let files = read_tree(&home);
    assert!(files.iter().any(|(p, _)| p.ends_with("journal.toml")));
    for (p, text) in &files {
        for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
            assert!(!text.contains(pw), "a password is in {}", p.display());
        }
    }
}
