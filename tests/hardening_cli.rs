//! Hardening of the command line (issue #11): what a host (or a file) says
//! reaches the terminal only without escape sequences, `--json` stays
//! exact; output that cannot be delivered is never an exit 0.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn opsdeck(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.env("OPSDECK_HOME", home)
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS")
        .env("NO_COLOR", "1");
    c
}

fn run(home: &Path, args: &[&str]) -> Output {
    opsdeck(home).args(args).output().expect("run opsdeck")
}

const OSC52: &str = "\u{1b}]52;c;cm0gLXJmIH4K\u{7}";
const TITLE: &str = "\u{1b}]0;pwned\u{7}";
const CSI: &str = "\u{1b}[2J";

fn hostile_home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // a backup job on the jump box whose command prints escape sequences
    // everywhere (stdout, stderr) and fails: its error text reaches the table
    let script = dir.path().join("evil.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' '{TITLE}late{CSI}' >&2\nprintf '{OSC52}'\nexit 1\n"),
    )
    .unwrap();
    fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fs::write(
        dir.path().join("backups.toml"),
        format!(
            "[[backup]]\nname = \"evil\"\nhost = \"local\"\nkind = \"command\"\ncommand = \"{}\"\nmax_age = \"1d\"\nnotes = \"{}\"\n",
            script.display(),
            "\\u001b]0;notes\\u0007"
        ),
    )
    .unwrap();
    // names from the files themselves
    fs::write(
        dir.path().join("vendors.toml"),
        "[[vendor]]\nname = \"Acme\\u001b]52;c;ZXZpbA==\\u0007 ISP\"\nphone = \"\\u001b[31m+1 555\"\n",
    )
    .unwrap();
    dir
}

fn assert_clean(what: &str, bytes: &[u8]) {
    assert!(
        !bytes.contains(&0x1b) && !bytes.contains(&0x07),
        "{what} carries escape sequences:\n{:?}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn human_output_never_carries_escape_sequences() {
    let dir = hostile_home();
    for args in [
        &["backups"][..],
        &["vendor", "list"],
        &["report"],
        &["run", "all", "--", "true"],
    ] {
        let o = run(dir.path(), args);
        assert_clean(&format!("{args:?} stdout"), &o.stdout);
        assert_clean(&format!("{args:?} stderr"), &o.stderr);
    }
    let o = run(dir.path(), &["backups"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("evil"), "{text}");
    assert_eq!(o.status.code(), Some(2), "a failing job is critical");
}

#[test]
fn json_stays_exact() {
    let dir = hostile_home();
    let o = run(dir.path(), &["vendor", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "Acme\u{1b}]52;c;ZXZpbA==\u{7} ISP");
    assert!(!o.stdout.contains(&0x1b), "escaped by JSON, never raw");
    let o = run(dir.path(), &["backups", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v[0]["error"].is_string(), "{v}");
}

// ------------------------------------------------------------ 9

/// A pipe whose reading end is already closed: every write gets EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fds that we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both fds are ours; the read end is closed at once.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[0]));
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

fn busy_home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut hosts = String::new();
    for i in 0..50 {
        // nothing listens on port 9 of these loopback addresses: refused at once
        hosts.push_str(&format!(
            "[[host]]\nname = \"h{i}\"\naddress = \"127.0.0.1\"\nport = 9\n\n"
        ));
    }
    fs::write(dir.path().join("hosts.toml"), hosts).unwrap();
    fs::write(
        dir.path().join("opsdeck.toml"),
        "[ssh]\nconfig_file = \"/dev/null\"\nconnect_timeout_s = 2\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("vendors.toml"),
        "[[vendor]]\nname = \"A\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("backups.toml"),
        "[[backup]]\nname = \"b\"\nhost = \"local\"\nkind = \"path\"\npath = \"/etc/hostname\"\nmax_age = \"100y\"\n",
    )
    .unwrap();
    dir
}

const PRINTING: &[&[&str]] = &[
    &["host", "list"],
    &["host", "list", "--json"],
    &["vendor", "list"],
    &["vendor", "list", "--json"],
    &["backups"],
    &["backups", "--json"],
    &["report"],
    &["report", "--format", "json"],
    &["export", "ansible"],
    &["check"],
    &["check", "--json"],
    &["patches", "--json"],
    &["run", "all", "--", "true"],
    &["run", "all", "--json", "--", "true"],
];

#[test]
fn a_full_disk_on_stdout_is_an_error() {
    let dir = busy_home();
    for args in PRINTING {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = opsdeck(dir.path())
            .args(*args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(74), "{args:?}: {err}");
        assert!(err.contains("cannot write the output"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly_but_not_with_zero() {
    let dir = busy_home();
    for args in PRINTING {
        let o = opsdeck(dir.path())
            .args(*args)
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            !err.contains("cannot write"),
            "{args:?}: quiet, as Unix tools: {err}"
        );
    }
}
