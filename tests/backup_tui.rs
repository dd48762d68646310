//! The Backups pane in the real binary (pty, NO_COLOR): check all jobs in the
//! background and see the results fill in, read the details, record a
//! restore test through the confirm dialog; then the files say so.

#[path = "common/pty.rs"]
mod pty;

use std::time::{Duration, SystemTime};

use pty::Pty;

#[test]
fn check_all_details_and_record_a_restore_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("fresh")).unwrap();
    std::fs::create_dir_all(d.join("stale")).unwrap();
    std::fs::write(d.join("fresh/db.sql.gz"), vec![1u8; 2048]).unwrap();
    std::fs::write(d.join("stale/db.sql.gz"), vec![1u8; 2048]).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(d.join("stale/db.sql.gz"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(5 * 86400))
        .unwrap();
    let toml = format!(
        r#"# backups of the office
[[backup]]
name = "dumps"          # nightly pg_dump
host = "local"
kind = "path"
path = "{fresh}"
max_age = "26h"
restore_test_every = "90d"

[[backup]]
name = "old-dumps"
host = "local"
kind = "path"
path = "{stale}"
max_age = "26h"

[[backup]]
name = "tape"
host = "local"
kind = "command"
command = "echo 'tape library offline' >&2; exit 3"
max_age = "8d"
"#,
        fresh = d.join("fresh").display(),
        stale = d.join("stale").display()
    );
    std::fs::write(d.join("backups.toml"), toml).unwrap();

    let mut cmd = pty::opsdeck_tui(d, d);
    cmd.env("NO_COLOR", "1");
    let mut t = Pty::spawn(cmd, 80, 24);
    t.wait_text("Vendors");
    t.send("4");
    t.wait_text("old-dumps");
    let s = t.wait_text("not checked");
    assert!(s.contains("tape"), "{s}");

    // C: every job, results fill in
    t.send("C");
    let s = t.wait_for("all three results", Duration::from_secs(60), |s| {
        s.contains("backups checked: 0 ok, 1 warn, 2 crit") && s.contains("the command faile")
    });
    let row = |name: &str| {
        s.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name} in\n{s}"))
            .to_string()
    };
    let dumps = row(" dumps ");
    assert!(dumps.contains("WARN") && dumps.contains("█░"), "{dumps}");
    let old = row("old-dumps");
    assert!(old.contains("CRIT") && old.contains("!"), "{old}");
    assert!(row("tape").contains("CRIT"), "{s}");
    assert!(old.contains("5d / 26h") && dumps.contains("never"), "{s}");

    // Enter: details of the selected (first) job, with the newest file
    t.send("\r");
    let s = t.wait_text("latest snapshots");
    assert!(
        s.contains("db.sql.gz") && s.contains("never restore-tested"),
        "{s}"
    );
    t.send("\x1b");
    t.wait_for("details closed", Duration::from_secs(10), |s| {
        !s.contains("latest snapshots")
    });

    // t: record a restore test, after a confirmation
    t.send("t");
    t.wait_text("Record a restore test of dumps");
    t.send("y");
    t.wait_text("restore test of dumps recorded");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(20)).success());

    let after = std::fs::read_to_string(d.join("backups.toml")).unwrap();
    assert!(after.contains("last_restore_test = "), "{after}");
    assert!(after.contains("# nightly pg_dump") && after.contains("# backups of the office"));
    let state = std::fs::read_to_string(d.join("state/backups.toml")).unwrap();
    assert!(
        state.contains("old-dumps") && state.contains("tape library offline"),
        "{state}"
    );
    let journal = std::fs::read_to_string(d.join("state/journal.toml")).unwrap();
    assert!(
        journal.contains("backups.check") && journal.contains("backup.restored"),
        "{journal}"
    );
}
