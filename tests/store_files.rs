//! The store through the real binary and the library: comments survive
//! edits, bad files are reported with path:line:column and left alone,
//! saves are atomic under SIGKILL, the lock, modes, .bak and the journal.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use opsdeck::model::Host;
use opsdeck::store::{Home, JournalEntry, Store, StoreError};

const COMMENTED: &str = include_str!("fixtures/store/hosts_commented.toml");

fn opsdeck(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_HOME", home)
        .env_remove("OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS")
        .output()
        .expect("run opsdeck")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn lines(s: &str) -> Vec<&str> {
    s.split('\n').collect()
}

#[test]
fn host_add_appends_and_keeps_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("hosts.toml"), COMMENTED).unwrap();
    let o = opsdeck(
        dir.path(),
        &[
            "host",
            "add",
            "app3",
            "--address",
            "10.1.0.30",
            "--tag",
            "app",
            "--purchased",
            "2024-02-29",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let after = fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    assert!(
        after.starts_with(COMMENTED),
        "the old text is a prefix:\n{after}"
    );
    assert_eq!(
        &after[COMMENTED.len()..],
        "\n[[host]]\nname = \"app3\"\naddress = \"10.1.0.30\"\ntags = [\"app\"]\npurchased = 2024-02-29\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("hosts.toml.bak")).unwrap(),
        COMMENTED
    );
}

#[test]
fn host_rm_removes_only_its_table_and_own_comment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.toml");
    fs::write(&path, COMMENTED).unwrap();
    let o = opsdeck(dir.path(), &["host", "rm", "web2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = fs::read_to_string(&path).unwrap();
    let before = lines(COMMENTED);
    // web2's table is the comment right above it and its three keys.
    let start = before
        .iter()
        .position(|l| *l == "# Second front end.")
        .unwrap();
    let end = before
        .iter()
        .position(|l| *l == "tags = [\"web\"]")
        .unwrap();
    let mut expected: Vec<&str> = before[..start].to_vec();
    expected.extend(&before[end + 2..]); // the blank line after it goes too
    assert_eq!(lines(&after), expected, "got:\n{after}");

    // Removing the first host keeps the section comment above it (separated
    // by a blank line) but takes its own comment.
    let o = opsdeck(dir.path(), &["host", "rm", "web1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after2 = fs::read_to_string(&path).unwrap();
    assert!(after2.contains("# ---- rack A ---"), "{after2}");
    assert!(!after2.contains("Ask Jo"), "{after2}");
    assert!(!after2.contains("web1"), "{after2}");
    assert!(after2.contains("name    =   \"db1\"   # odd spacing is kept"));
    assert!(after2.ends_with("# end of the list: add new hosts below\n"));
    let store = Store::load(Home::under(dir.path())).unwrap();
    let names: Vec<_> = store.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["db1"]);
}

#[test]
fn update_host_touches_only_changed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.toml");
    fs::write(&path, COMMENTED).unwrap();
    let mut store = Store::load(Home::under(dir.path())).unwrap();
    let mut web1 = store.host("web1").unwrap().clone();
    web1.address = Some("web1.new.example".into()); // changed, keeps its comment
    web1.port = None; // removed
    web1.role = Some("front end \"A\"\nsecond line".into()); // added at the end
    store.update_host("web1", web1.clone()).unwrap();
    let after = fs::read_to_string(&path).unwrap();
    // The exact string form of the new value is toml_edit's; compare the
    // lines outside the edited table byte for byte, and the value by parsing.
    let (a, b) = (lines(&after), lines(COMMENTED));
    let first_other = |v: &[&str]| v.iter().position(|l| *l == "# Second front end.").unwrap();
    assert_eq!(
        &a[..first_other(&a)][..9],
        &b[..9],
        "lines before web1's keys"
    );
    assert_eq!(
        &a[first_other(&a)..],
        &b[first_other(&b)..],
        "lines after web1"
    );
    assert!(
        after.contains("address = \"web1.new.example\"\n"),
        "{after}"
    );
    assert!(after.contains("name = \"web1\"          # primary\n"));
    assert!(after.contains("tags = [\"web\", \"prod\"] # @web selects both\n"));
    assert!(!after.contains("port = 22"));
    let again = Store::load(Home::under(dir.path())).unwrap();
    assert_eq!(again.host("web1").unwrap(), &web1);
    // nothing changed: nothing written, nothing journaled
    let journal_before = fs::read_to_string(dir.path().join("state/journal.toml")).unwrap();
    store.update_host("web1", web1).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
    assert_eq!(
        fs::read_to_string(dir.path().join("state/journal.toml")).unwrap(),
        journal_before
    );
}

/// (file name, contents, line, column, words in the message)
const BAD: &[(&str, &str, usize, usize, &str)] = &[
    (
        "hosts.toml",
        "# hosts\n[[host]]\nname = \"web1\"\naddress = \"10.0.0.1\n",
        4,
        20,
        "expected `\"`",
    ),
    (
        "hosts.toml",
        "[[host]]\nname = \"web1\"\n\n[[host]]\nname = \"db1\"\nport = \"ssh\"\n",
        6,
        8,
        "",
    ),
    (
        "hosts.toml",
        "[[host]]\nname = \"web1\"\n  adress = \"10.0.0.1\"\n",
        3,
        3,
        "unknown field `adress`",
    ),
    (
        "hosts.toml",
        "[[host]]\nname = \"web1\"\n\n# again\n[[host]]\n  name = \"web1\"\n",
        6,
        3,
        "duplicate host name `web1`",
    ),
    (
        "vendors.toml",
        "[[vendor]]\nname = \"Acme\"\n[[vendor]]\nname = \"Acme\"\n",
        4,
        1,
        "duplicate vendor name `Acme`",
    ),
    ("opsdeck.toml", "[ssh]\nconcurrency = \"many\"\n", 2, 15, ""),
    (
        "backups.toml",
        "[[backup]]\nname = \"b\"\nhost = \"h\"\nkind = \"tape\"\nmax_age = \"1d\"\n",
        4,
        8,
        "",
    ),
];

#[test]
fn bad_files_are_reported_and_left_alone() {
    for (file, text, line, column, words) in BAD {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        fs::write(&path, text).unwrap();
        for args in [
            &["host", "add", "new1"][..],
            &["host", "rm", "web1"][..],
            &["vendor", "add", "New"][..],
            &["host", "list"][..],
        ] {
            let o = opsdeck(dir.path(), args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(78), "{file} {args:?}: {err}");
            let want = format!("{}:{line}:{column}: ", path.display());
            assert!(err.contains(&want), "{file} {args:?}: want {want} in {err}");
            assert!(err.contains(words), "{file}: want {words} in {err}");
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                *text,
                "{file} unchanged"
            );
            let names: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(!names.iter().any(|n| n.ends_with(".bak")), "{names:?}");
            assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
        }
    }
}

#[test]
fn modes_bak_and_journal_appended() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert!(opsdeck(home, &["host", "add", "a"]).status.success());
    let hosts = home.join("hosts.toml");
    let journal = home.join("state/journal.toml");
    assert_eq!(mode(&hosts), 0o600);
    assert_eq!(mode(&journal), 0o600);
    assert!(
        !home.join("hosts.toml.bak").exists(),
        "no .bak for a new file"
    );
    let j1 = fs::read(&journal).unwrap();
    assert!(opsdeck(home, &["host", "add", "b", "--port", "2222"])
        .status
        .success());
    assert_eq!(mode(&home.join("hosts.toml.bak")), 0o600);
    assert_eq!(
        fs::read_to_string(home.join("hosts.toml.bak")).unwrap(),
        "[[host]]\nname = \"a\"\n"
    );
    assert!(opsdeck(home, &["host", "rm", "a"]).status.success());
    assert!(opsdeck(home, &["vendor", "add", "V"]).status.success());
    let j2 = fs::read(&journal).unwrap();
    assert!(j2.starts_with(&j1), "the journal is only appended to");
    let store = Store::load(Home::under(home)).unwrap();
    let got: Vec<(String, String)> = store
        .read_journal()
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.target))
        .collect();
    assert_eq!(
        got,
        [
            ("host.add".to_string(), "a".to_string()),
            ("host.add".into(), "b".into()),
            ("host.rm".into(), "a".into()),
            ("vendor.add".into(), "V".into()),
        ]
    );
    // A failed change journals nothing.
    assert_eq!(opsdeck(home, &["host", "add", "b"]).status.code(), Some(64));
    assert_eq!(store.read_journal().unwrap().len(), 4);
    // Others journal through Store::journal: appended too.
    let j3 = fs::read(&journal).unwrap();
    let mut e = JournalEntry::now("check", "all", "2 ok, 1 crit");
    e.details = vec!["web1: \"disk\" 93%\nnext".into()];
    store.journal(&e).unwrap();
    assert!(fs::read(&journal).unwrap().starts_with(&j3));
    assert_eq!(store.read_journal().unwrap().last(), Some(&e));
}

/// Start `opsdeck host add NAME` paused between the temp file and the rename.
fn paused_add(home: &Path, name: &str) -> std::process::Child {
    common::paused::paused(
        home,
        &["host", "add", name],
        "OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS",
    )
}

#[test]
fn killed_mid_save_leaves_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let hosts = home.join("hosts.toml");
    fs::write(&hosts, COMMENTED).unwrap();

    // Killed exactly between the fsync of the temp file and the rename.
    let mut child = paused_add(home, "killed1");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(fs::read_to_string(&hosts).unwrap(), COMMENTED);
    // The next save cleans up the leftover temp file and works.
    assert!(opsdeck(home, &["host", "add", "after"]).status.success());
    let names: Vec<String> = fs::read_dir(home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");

    // Killed at arbitrary moments: the file always parses and is the old
    // or the new version.
    let mut old = fs::read_to_string(&hosts).unwrap();
    let mut seed: u64 = 0x5eed_1234;
    for i in 0..25 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_micros((seed >> 33) % 6000);
        let name = format!("r{i}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["host", "add", &name])
            .env("OPSDECK_HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let now = fs::read_to_string(&hosts).unwrap();
        let parsed = Store::load(Home::under(home)).expect("the file parses after a kill");
        if now == old {
            assert!(parsed.host(&name).is_none());
        } else {
            assert!(now.starts_with(&old), "new = old + one table");
            assert!(parsed.host(&name).is_some());
            old = now;
        }
    }
}

#[test]
fn second_writer_gets_locked_message() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let hosts = home.join("hosts.toml");
    fs::write(&hosts, COMMENTED).unwrap();
    let mut first = paused_add(home, "first");
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["host", "add", "second"])
        .env("OPSDECK_HOME", home)
        .env("OPSDECK_LOCK_WAIT_MS", "300")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(
        err.contains(&format!(
            "another opsdeck (pid {}) is changing the files; try again",
            first.id()
        )),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(fs::read_to_string(&hosts).unwrap(), COMMENTED);
    // The journal is locked the same way.
    let store = Store::load(Home::under(home)).unwrap();
    std::env::set_var("OPSDECK_LOCK_WAIT_MS", "100");
    match store.journal(&JournalEntry::now("x", "y", "ok")) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // Lock released by the kernel when the holder died.
    let o = opsdeck(home, &["host", "add", "second"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(Store::load(Home::under(home))
        .unwrap()
        .host("second")
        .is_some());
}

#[test]
fn library_edits_validate() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let mut store = Store::load(home.clone()).unwrap();
    assert!(store.hosts.is_empty(), "missing files are empty");
    store
        .add_hosts(vec![
            Host {
                name: "a".into(),
                ..Default::default()
            },
            Host {
                name: "b".into(),
                ..Default::default()
            },
        ])
        .unwrap();
    // duplicates refused, nothing added
    let err = store
        .add_hosts(vec![
            Host {
                name: "c".into(),
                ..Default::default()
            },
            Host {
                name: "a".into(),
                ..Default::default()
            },
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
    assert_eq!(Store::load(home.clone()).unwrap().hosts.len(), 2);
    // rename onto an existing name refused
    let mut b = store.host("b").unwrap().clone();
    b.name = "a".into();
    assert!(matches!(
        store.update_host("b", b),
        Err(StoreError::Duplicate { .. })
    ));
    // bad names refused
    for bad in ["", "two words", "@web", "all"] {
        let h = Host {
            name: bad.into(),
            ..Default::default()
        };
        assert!(
            matches!(store.add_host(h), Err(StoreError::Invalid { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        store.remove_host("zz"),
        Err(StoreError::NotFound { .. })
    ));
    // a hand edit between load and change is seen (the file is re-read)
    let p: PathBuf = home.hosts_path();
    let mut text = fs::read_to_string(&p).unwrap();
    text.push_str("\n[[host]]\nname = \"by-hand\"\n");
    fs::write(&p, text).unwrap();
    store
        .add_host(Host {
            name: "z".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(store.host("by-hand").is_some());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// Whatever text the user types into a field is written so that it reads
    /// back the same (quotes, backslashes, newlines, unicode, control chars);
    /// the user name, which reaches `ssh`, is one a user name can be.
    #[test]
    fn any_text_round_trips(notes in "\\PC{0,40}|[\"'\\\\\\n\\t\\r\\u{7f}\\u{1}]{0,10}", user in "[A-Za-z0-9_][A-Za-z0-9._@-]{0,11}") {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        fs::write(home.hosts_path(), COMMENTED).unwrap();
        let mut store = Store::load(home.clone()).unwrap();
        let h = Host {
            name: "p1".into(),
            user: Some(user),
            notes: if notes.trim().is_empty() { None } else { Some(notes) },
            purchased: Some(opsdeck::model::Date::constant(2020, 2, 29)),
            ..Default::default()
        };
        store.add_host(h.clone()).unwrap();
        let mut again = Store::load(home.clone()).unwrap();
        proptest::prop_assert_eq!(again.host("p1"), Some(&h));
        let mut h2 = h.clone();
        h2.notes = Some("changed".into());
        again.update_host("p1", h2.clone()).unwrap();
        let third = Store::load(home.clone()).unwrap();
        proptest::prop_assert_eq!(third.host("p1"), Some(&h2));
        again.remove_host("p1").unwrap();
        proptest::prop_assert_eq!(fs::read_to_string(home.hosts_path()).unwrap(), COMMENTED, "add then rm gives the original bytes");
    }
}
