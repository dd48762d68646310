//! The inventory commands through the real binary: init, host, vendor,
//! ticket, backup restored, ssh-config import; output and exit codes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use opsdeck::store::{Home, Store};

fn run_env(home: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.args(args).env("OPSDECK_HOME", home);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run opsdeck")
}

fn run(home: &Path, args: &[&str]) -> Output {
    run_env(home, args, &[])
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_writes_examples_once_and_they_parse() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("h");
    let o = run(&home, &["init", "--print-dir"]);
    assert_eq!(out(&o).trim(), home.display().to_string());
    assert!(!home.exists(), "--print-dir writes nothing");

    let o = run(&home, &["init"]);
    assert!(o.status.success(), "{}", err(&o));
    for f in ["opsdeck.toml", "hosts.toml", "backups.toml", "vendors.toml"] {
        assert!(out(&o).contains(&format!("wrote   {}", home.join(f).display())));
    }
    // The examples load (as an empty inventory: everything is commented).
    let store = Store::load(Home::under(&home)).unwrap();
    assert!(store.hosts.is_empty() && store.vendors.is_empty() && store.backups.is_empty());
    assert_eq!(store.settings, opsdeck::model::Settings::default());

    // Uncommented, every example is valid and documents real keys.
    for f in ["opsdeck.toml", "hosts.toml", "backups.toml", "vendors.toml"] {
        let text = fs::read_to_string(home.join(f)).unwrap();
        let uncommented: String = text
            .lines()
            .map(|l| {
                let body = l.strip_prefix("# ").unwrap_or(l);
                let looks_toml = body.starts_with('[')
                    || body.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    });
                if looks_toml {
                    body.to_string()
                } else {
                    String::new()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let dir2 = tempfile::tempdir().unwrap();
        fs::write(dir2.path().join(f), &uncommented).unwrap();
        let s = Store::load(Home::under(dir2.path()))
            .unwrap_or_else(|e| panic!("{f} uncommented: {e}\n{uncommented}"));
        match f {
            "hosts.toml" => assert_eq!(s.hosts.len(), 3),
            "backups.toml" => assert_eq!(s.backups.len(), 5),
            "vendors.toml" => {
                assert_eq!(s.vendors.len(), 2);
                assert_eq!(s.vendors[0].contacts.len(), 1);
                assert_eq!(s.vendors[0].tickets.len(), 2);
            }
            _ => {
                // The values shown are the defaults.
                let d = opsdeck::model::Settings::default();
                assert_eq!(s.settings.thresholds, d.thresholds);
                assert_eq!(s.settings.ui, d.ui);
                assert_eq!(s.settings.run, d.run);
                assert_eq!(s.settings.patches, d.patches);
                assert_eq!(s.settings.ssh.concurrency, d.ssh.concurrency);
                assert_eq!(s.settings.ssh.connect_timeout_s, d.ssh.connect_timeout_s);
                assert_eq!(s.settings.ssh.command_timeout_s, d.ssh.command_timeout_s);
            }
        }
    }

    // Never overwrites.
    fs::write(home.join("hosts.toml"), "# mine\n").unwrap();
    let o = run(&home, &["init"]);
    assert!(o.status.success());
    assert!(out(&o).contains(&format!(
        "skipped {} (exists",
        home.join("hosts.toml").display()
    )));
    assert_eq!(
        fs::read_to_string(home.join("hosts.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn hosts_add_list_rm() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path();
    let o = run(
        h,
        &[
            "host",
            "add",
            "web1",
            "--address",
            "10.0.0.5",
            "--tag",
            "web",
            "--tag",
            "prod",
            "--user",
            "admin",
            "--warranty-until",
            "2027-03-31",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(run(
        h,
        &["host", "add", "db1", "--port", "2222", "--jump", "bastion"]
    )
    .status
    .success());

    // duplicate: 64; bad date: 64; unknown: 66
    let o = run(h, &["host", "add", "web1"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(
        err(&o).contains("a host named `web1` exists already"),
        "{}",
        err(&o)
    );
    let o = run(h, &["host", "add", "x", "--purchased", "2023-02-30"]);
    assert_eq!(o.status.code(), Some(64), "{}", err(&o));
    assert!(err(&o).contains("--purchased"), "{}", err(&o));
    let o = run(h, &["host", "add", "x", "--purchased", "20230401"]);
    assert_eq!(o.status.code(), Some(64));
    let o = run(h, &["host", "rm", "nope"]);
    assert_eq!(o.status.code(), Some(66));
    assert!(err(&o).contains("no host named `nope`"));

    let o = run(h, &["host", "list"]);
    assert_eq!(
        out(&o),
        "NAME  ADDRESS   PORT  USER   JUMP     TAGS\n\
         web1  10.0.0.5  -     admin  -        web,prod\n\
         db1   -         2222  -      bastion  -\n"
    );
    let o = run(h, &["host", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "web1");
    assert_eq!(v[0]["tags"], serde_json::json!(["web", "prod"]));
    assert_eq!(v[0]["warranty_until"], "2027-03-31");
    assert_eq!(v[1]["port"], 2222);
    assert_eq!(v.as_array().unwrap().len(), 2);

    assert!(run(h, &["host", "rm", "web1"]).status.success());
    let o = run(h, &["host", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    // An empty inventory lists as [] in JSON.
    assert!(run(h, &["host", "rm", "db1"]).status.success());
    assert_eq!(out(&run(h, &["host", "list", "--json"])).trim(), "[]");
}

#[test]
fn vendors_tickets_and_restore_tests() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path();
    let o = run(
        h,
        &[
            "vendor",
            "add",
            "Acme ISP",
            "--category",
            "isp",
            "--phone",
            "+1 555 0100",
            "--contract-end",
            "2027-06-30",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        run(h, &["vendor", "add", "Acme ISP"]).status.code(),
        Some(64)
    );
    assert_eq!(
        run(h, &["vendor", "add", "B", "--contract-end", "soon"])
            .status
            .code(),
        Some(64)
    );
    let o = run(
        h,
        &[
            "vendor",
            "ticket",
            "add",
            "Acme ISP",
            "Line down",
            "--ref",
            "CASE-1",
        ],
    );
    assert!(
        out(&o).contains("opened ticket CASE-1 with Acme ISP"),
        "{}",
        err(&o)
    );
    let o = run(h, &["vendor", "ticket", "add", "Acme ISP", "Slow \"DNS\""]);
    assert!(o.status.success());
    let generated = out(&o).split_whitespace().nth(2).unwrap().to_string();
    assert!(generated.starts_with("OD-"), "{generated}");
    assert_eq!(
        run(
            h,
            &["vendor", "ticket", "add", "Acme ISP", "x", "--ref", "CASE-1"]
        )
        .status
        .code(),
        Some(64)
    );
    assert_eq!(
        run(h, &["vendor", "ticket", "add", "Nobody", "x"])
            .status
            .code(),
        Some(66)
    );
    assert!(run(h, &["vendor", "ticket", "close", "Acme ISP", "CASE-1"])
        .status
        .success());
    assert_eq!(
        run(h, &["vendor", "ticket", "close", "Acme ISP", "CASE-9"])
            .status
            .code(),
        Some(66)
    );
    let o = run(h, &["vendor", "list"]);
    assert_eq!(
        out(&o),
        "NAME      CATEGORY  PHONE        CONTRACT    OPEN  EMAIL\n\
         Acme ISP  isp       +1 555 0100  2027-06-30  1     -\n"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&run(h, &["vendor", "list", "--json"]).stdout).unwrap();
    assert_eq!(v[0]["ticket"][0]["status"], "closed");
    assert_eq!(v[0]["ticket"][1]["subject"], "Slow \"DNS\"");
    let text = fs::read_to_string(h.join("vendors.toml")).unwrap();
    assert!(text.contains("contract_end = 2027-06-30\n"), "{text}");

    // backup restored
    fs::write(
        h.join("backups.toml"),
        "# jobs\n[[backup]]\nname = \"nas\"  # the NAS\nhost = \"local\"\nkind = \"path\"\npath = \"/srv\"\nmax_age = \"26h\"\n",
    )
    .unwrap();
    let o = run(h, &["backup", "restored", "nas", "--date", "2026-11-01"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        fs::read_to_string(h.join("backups.toml")).unwrap(),
        "# jobs\n[[backup]]\nname = \"nas\"  # the NAS\nhost = \"local\"\nkind = \"path\"\npath = \"/srv\"\nmax_age = \"26h\"\nlast_restore_test = 2026-11-01\n"
    );
    assert_eq!(
        run(h, &["backup", "restored", "nope"]).status.code(),
        Some(66)
    );
    assert_eq!(
        run(h, &["backup", "restored", "nas", "--date", "2999-01-01"])
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        run(h, &["backup", "restored", "nas", "--date", "01/11/2026"])
            .status
            .code(),
        Some(64)
    );
    let store = Store::load(Home::under(h)).unwrap();
    let actions: Vec<String> = store
        .read_journal()
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "vendor.add",
            "ticket.open",
            "ticket.open",
            "ticket.close",
            "backup.restored"
        ]
    );
    assert!(run(h, &["vendor", "rm", "Acme ISP"]).status.success());
    assert!(Store::load(Home::under(h)).unwrap().vendors.is_empty());
}

#[test]
fn import_ssh_config_with_include_and_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let fake_home = dir.path().join("user");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/ssh/.ssh");
    let ssh = fake_home.join(".ssh");
    fs::create_dir_all(ssh.join("conf.d")).unwrap();
    for f in [
        "config",
        "conf.d/10-lab.conf",
        "conf.d/20-cust.conf",
        "conf.d/ignored.txt",
    ] {
        fs::copy(fixture.join(f), ssh.join(f)).unwrap();
    }
    let h = dir.path().join("home");
    fs::create_dir_all(&h).unwrap();
    fs::write(h.join("hosts.toml"), "# mine\n[[host]]\nname = \"web2\"\n").unwrap();
    let config = ssh.join("config");
    let o = run_env(
        &h,
        &["host", "import", "--ssh-config", config.to_str().unwrap()],
        &[("HOME", &fake_home)],
    );
    assert!(o.status.success(), "{}", err(&o));
    let store = Store::load(Home::under(&h)).unwrap();
    let names: Vec<&str> = store.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "web2",
            "lab1",
            "lab2",
            "bastion",
            "CUSTOMER-fw",
            "web1",
            "nas"
        ]
    );
    assert!(
        store.hosts.iter().all(|h| h.address.is_none()),
        "resolved at connect time"
    );
    assert!(
        out(&o).contains("skipped 1 already in hosts.toml: web2"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("imported 6 hosts"), "{}", out(&o));
    let e = err(&o);
    assert!(
        e.contains("web-*") && e.contains("db?.internal") && e.contains("!forbidden"),
        "{e}"
    );
    assert!(e.contains("`backup box` cannot be a host name"), "{e}");
    assert!(e.contains("missing.conf not found"), "{e}");
    // one write: one .bak of the original, one journal entry
    assert_eq!(
        fs::read_to_string(h.join("hosts.toml.bak")).unwrap(),
        "# mine\n[[host]]\nname = \"web2\"\n"
    );
    let j = store.read_journal().unwrap();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].action, "host.import");
    assert_eq!(j[0].details.len(), 6);
    // again: nothing new
    let o = run_env(
        &h,
        &["host", "import", "--ssh-config", config.to_str().unwrap()],
        &[("HOME", &fake_home)],
    );
    assert!(o.status.success());
    assert!(out(&o).contains("nothing new to import"), "{}", out(&o));
    assert_eq!(
        run(
            &h,
            &["host", "import", "--ssh-config", "/nonexistent/config"]
        )
        .status
        .code(),
        Some(66)
    );
}
