//! Issue #15 item 4: backup jobs added, edited and deleted from the command
//! line and in the TUI (the same checks, comments kept), and any record
//! opened in `$EDITOR` with `E` (checked before it is written; a text that
//! does not parse is never written: path:line:col, edit again or discard).

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use pty::Pty;

const HOSTS: &str = "# fleet\n[[host]]\nname = \"nas\"\naddress = \"10.0.0.5\"\n";

const BACKUPS: &str = r#"# my backups

# the nas shares, every night
[[backup]]
name = "nas-files"   # keep this comment
host = "nas"
kind = "path"
path = "/srv/backup/*.tar"
max_age = "26h"
"#;

fn home() -> tempfile::TempDir {
    pty::home_with(&[("hosts.toml", HOSTS), ("backups.toml", BACKUPS)])
}

fn cli(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .env("OPSDECK_HOME", home)
        .env("HOME", home)
        .args(args)
        .output()
        .expect("run opsdeck")
}

fn backups_toml(home: &Path) -> String {
    std::fs::read_to_string(home.join("backups.toml")).unwrap()
}

#[test]
fn cli_adds_edits_and_removes_jobs_with_the_same_checks() {
    let dir = home();
    let d = dir.path();
    // the kind's fields are required and checked
    let o = cli(
        d,
        &[
            "backup",
            "add",
            "nas-restic",
            "--host",
            "nas",
            "--kind",
            "restic",
            "--repository",
            "/srv/restic",
            "--max-age",
            "26h",
        ],
    );
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("needs `password_command` or `password_file`"),
        "{err}"
    );
    let o = cli(d, &["backup", "add", "x", "--host", "nas"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --kind, --max-age"));
    let o = cli(
        d,
        &[
            "backup",
            "add",
            "x",
            "--host",
            "nope",
            "--kind",
            "command",
            "--command",
            "date",
            "--max-age",
            "1d",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no host named `nope`"));
    // names are unique whatever their case
    let o = cli(
        d,
        &[
            "backup",
            "add",
            "NAS-FILES",
            "--host",
            "nas",
            "--kind",
            "path",
            "--path",
            "/x",
            "--max-age",
            "1d",
        ],
    );
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("named `nas-files` exists already"));
    assert_eq!(backups_toml(d), BACKUPS, "nothing written by a refused add");

    let o = cli(
        d,
        &[
            "backup",
            "add",
            "nas-restic",
            "--host",
            "nas",
            "--kind",
            "restic",
            "--repository",
            "/srv/restic",
            "--password-file",
            "/etc/restic/pw",
            "--max-age",
            "26h",
            "--restore-test-every",
            "90d",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = backups_toml(d);
    assert!(
        text.starts_with(BACKUPS),
        "the old text stays as it was:\n{text}"
    );
    assert!(
        text.contains("name = \"nas-restic\"")
            && text.contains("password_file = \"/etc/restic/pw\"")
    );

    // edit: only the given keys change; a kind change drops the old kind's keys
    let o = cli(
        d,
        &[
            "backup",
            "edit",
            "nas-files",
            "--kind",
            "command",
            "--command",
            "cat /srv/last",
            "--max-age",
            "30h",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = backups_toml(d);
    assert!(
        text.contains("name = \"nas-files\"   # keep this comment"),
        "{text}"
    );
    assert!(text.contains("# the nas shares, every night"), "{text}");
    assert!(
        text.contains("command = \"cat /srv/last\"") && !text.contains("/srv/backup/*.tar"),
        "{text}"
    );
    assert!(text.contains("max_age = \"30h\""), "{text}");

    let o = cli(d, &["backup", "rm", "nas-restic"]);
    assert!(o.status.success());
    assert!(!backups_toml(d).contains("nas-restic"));
    let journal = std::fs::read_to_string(d.join("state/journal.toml")).unwrap();
    for a in ["backup.add", "backup.edit", "backup.rm"] {
        assert!(journal.contains(a), "{a}: {journal}");
    }
}

#[test]
fn tui_adds_edits_and_deletes_a_job() {
    let dir = home();
    let mut t = Pty::spawn(pty::opsdeck_tui(dir.path(), dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("4");
    t.wait_text("nas-files");
    t.send("a");
    t.wait_text("Add a backup job");
    // restic is the default: its fields are shown, path's min size is not
    let s = t.wait_text("Repository");
    assert!(!s.contains("Min size") && !s.contains("Passcommand"), "{s}");
    t.send("db-dumps\tnas\t\x15path");
    let s = t.wait_text("Min size");
    assert!(
        !s.contains("Repository"),
        "the form shows the fields of the kind typed:\n{s}"
    );
    t.send("\t/var/backups/db\r");
    t.wait_text("backup job db-dumps added to backups.toml");
    let text = backups_toml(dir.path());
    assert!(text.starts_with(BACKUPS), "{text}");
    assert!(
        text.contains("name = \"db-dumps\"") && text.contains("path = \"/var/backups/db\""),
        "{text}"
    );
    assert!(!text.contains("repository"), "{text}");

    // e: edit the job just added (selected after the save)
    t.send("e");
    t.wait_text("Edit backup job db-dumps");
    // to Max age: name, host, kind, path, min size, then max age
    t.send("\t\t\t\t\t\x15bogus\r");
    t.wait_text("bogus");
    t.send("\x15 30h\r");
    t.wait_text("backup job db-dumps saved");
    assert!(backups_toml(dir.path()).contains("max_age = \"30h\""));

    // d asks, then deletes
    t.send("d");
    t.wait_text("Delete backup job db-dumps from backups.toml?");
    t.send("y");
    t.wait_text("backup job db-dumps deleted");
    let text = backups_toml(dir.path());
    assert_eq!(text, BACKUPS);
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

/// A fake editor: the first run breaks the TOML (a bare word), the next
/// run writes a valid change; every run is counted.
const FAKE_EDITOR: &str = r#"#!/bin/sh
for f; do :; done
n=$(cat "$COUNT" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNT"
if [ "$n" = 1 ]; then
  sed -i 's/^max_age = .*/max_age = 30 hours/' "$f"
else
  sed -i 's/^max_age = .*/max_age = "30h"/' "$f"
fi
"#;

#[test]
fn e_opens_the_record_in_the_editor_and_never_writes_what_does_not_parse() {
    use std::os::unix::fs::PermissionsExt;
    let dir = home();
    let ed = dir.path().join("fake-editor");
    std::fs::write(&ed, FAKE_EDITOR).unwrap();
    std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = pty::opsdeck_tui(dir.path(), dir.path());
    cmd.env("EDITOR", &ed)
        .env_remove("VISUAL")
        .env("COUNT", dir.path().join("count"));
    let mut t = Pty::spawn(cmd, 80, 24);
    t.wait_text("5 Vendors");
    t.send("4");
    t.wait_text("nas-files");
    t.send("E");
    // the broken text: not written, where it is wrong, what to do
    let s = t.wait_text("cannot be written");
    assert!(s.contains("backup-nas-files.toml:"), "{s}");
    assert!(
        s.contains("y edit again") && s.contains("n/Esc discard"),
        "{s}"
    );
    assert_eq!(backups_toml(dir.path()), BACKUPS);
    t.send("y");
    t.wait_text("backup job nas-files saved (edited in the editor)");
    let text = backups_toml(dir.path());
    assert_eq!(
        text,
        BACKUPS.replace("max_age = \"26h\"", "max_age = \"30h\""),
        "only the changed key changed"
    );
    // the temp file is gone
    let left: Vec<_> = std::fs::read_dir(dir.path().join("state/edit"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}
