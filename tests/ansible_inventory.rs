//! Ansible inventories: INI and YAML import from fixtures, export, the
//! export → import → export round trip, and `ansible-inventory --list`
//! accepting the export.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use opsdeck::inventory::{export_ansible, parse_ansible_ini, parse_ansible_yaml};
use opsdeck::model::Host;
use opsdeck::store::{Home, Store};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store")
        .join(name)
}

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_HOME", home)
        .output()
        .expect("run opsdeck")
}

fn by_name<'a>(hosts: &'a [Host], name: &str) -> &'a Host {
    hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn ini_fixture() {
    let got = parse_ansible_ini(&fs::read_to_string(fixture("inventory.ini")).unwrap()).unwrap();
    let names: Vec<&str> = got.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mail.example.org",
            "web01.example.org",
            "web02.example.org",
            "web03.example.org",
            "lb1",
            "db1",
            "db2"
        ]
    );
    let h = &got.hosts;
    assert!(
        by_name(h, "mail.example.org").tags.is_empty(),
        "ungrouped is not a tag"
    );
    assert_eq!(by_name(h, "web02.example.org").tags, ["web", "prod"]);
    assert_eq!(
        by_name(h, "web02.example.org").user.as_deref(),
        Some("deploy")
    );
    let lb = by_name(h, "lb1");
    assert_eq!(
        (lb.address.as_deref(), lb.port),
        (Some("10.0.0.2"), Some(2222))
    );
    let db1 = by_name(h, "db1");
    assert_eq!(db1.jump.as_deref(), Some("admin@bastion:22"));
    assert_eq!(db1.tags, ["db", "prod"]);
    assert_eq!(by_name(h, "db2").port, Some(2200));
    // group variables, with Ansible's precedence: the host's own over the
    // deeper group (db) over its parent (prod); nothing for `mail`
    assert_eq!(by_name(h, "lb1").user.as_deref(), Some("ops"));
    assert_eq!(db1.user.as_deref(), Some("dbadmin"));
    assert_eq!(by_name(h, "db2").user.as_deref(), Some("dbadmin"));
    assert_eq!(by_name(h, "mail.example.org").user, None);
    assert!(
        got.notes.iter().any(|n| n.contains("ntp_server")),
        "{:?}",
        got.notes
    );
    assert!(
        got.notes.iter().any(|n| n.contains("ansible_become")),
        "{:?}",
        got.notes
    );
}

#[test]
fn yaml_fixture() {
    let got = parse_ansible_yaml(&fs::read_to_string(fixture("inventory.yml")).unwrap()).unwrap();
    let names: Vec<&str> = got.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mail.example.org",
            "web01.example.org",
            "web02.example.org",
            "lb1",
            "db1"
        ]
    );
    let h = &got.hosts;
    assert!(
        by_name(h, "mail.example.org").tags.is_empty(),
        "`all` is not a tag"
    );
    assert_eq!(by_name(h, "web01.example.org").tags, ["web", "prod"]);
    assert_eq!(by_name(h, "lb1").port, Some(2222));
    let db1 = by_name(h, "db1");
    assert_eq!(db1.address.as_deref(), Some("10.0.1.5"));
    assert_eq!(db1.jump.as_deref(), Some("admin@bastion:22"));
    assert_eq!(db1.tags, ["prod", "db"]);
    assert_eq!(
        db1.user.as_deref(),
        Some("dbadmin"),
        "db's vars over prod's"
    );
    assert_eq!(by_name(h, "lb1").user.as_deref(), Some("ops"));
    assert_eq!(
        by_name(h, "web01.example.org").user.as_deref(),
        Some("deploy")
    );
    assert!(
        got.notes
            .iter()
            .any(|n| n.contains("ansible_python_interpreter")),
        "{:?}",
        got.notes
    );
    assert!(
        got.notes.iter().any(|n| n.contains("ansible_connection")),
        "{:?}",
        got.notes
    );
    // strings under hosts: and children: are read as Ansible reads them
    let got = parse_ansible_yaml(
        "all:\n  hosts: solo\n  children:\n    web:\n      hosts:\n        w1: \"\"\n        w2:\n    empty: \"\"\n    prod:\n      children: web\n      vars:\n        ansible_port: 2201\n",
    )
    .unwrap();
    let names: Vec<&str> = got.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["solo", "w1", "w2"]);
    assert_eq!(by_name(&got.hosts, "w1").tags, ["web", "prod"]);
    assert_eq!(by_name(&got.hosts, "w2").port, Some(2201));
    assert_eq!(by_name(&got.hosts, "solo").port, None);
    assert!(parse_ansible_yaml("all: [1, 2]").is_err());
    assert!(parse_ansible_yaml("all:\n  hosts: 3\n").is_err());
}

fn tricky_hosts() -> Vec<Host> {
    vec![
        Host {
            name: "zeta".into(),
            address: Some("10.0.0.9".into()),
            tags: vec!["web".into(), "prod".into()],
            ..Default::default()
        },
        Host {
            name: "alpha".into(),
            port: Some(2222),
            user: Some("null".into()),
            jump: Some("admin@bastion:22,b2".into()),
            tags: vec!["db".into(), "web-legacy".into()],
            ..Default::default()
        },
        Host {
            name: "yes".into(),
            address: Some("2001:db8::1".into()),
            ..Default::default()
        },
        Host {
            name: "plain".into(),
            ..Default::default()
        },
        Host {
            name: "web2".into(),
            tags: vec!["prod".into(), "web".into()],
            ..Default::default()
        },
    ]
}

#[test]
fn export_import_export_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let first_home = dir.path().join("a");
    let mut store = Store::load(Home::under(&first_home)).unwrap();
    store.add_hosts(tricky_hosts()).unwrap();
    let out1 = dir.path().join("inv1.yml");
    let o = run(
        &first_home,
        &["export", "ansible", "-o", out1.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text1 = fs::read_to_string(&out1).unwrap();
    // stdout gives the same bytes
    assert_eq!(
        run(&first_home, &["export", "ansible"]).stdout,
        text1.as_bytes()
    );

    let second = dir.path().join("b");
    let o = run(
        &second,
        &["host", "import", "--ansible", out1.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let imported = Store::load(Home::under(&second)).unwrap();
    assert_eq!(imported.hosts.len(), 5);
    // the CLI exports each host as OpenSSH resolves it: the import gives
    // those values back, and exporting them again gives the same bytes
    for h in tricky_hosts() {
        let got = by_name(&imported.hosts, &h.name);
        if let Some(a) = &h.address {
            assert_eq!(got.address.as_ref(), Some(a), "{}", h.name);
        }
        if let Some(p) = h.port {
            assert_eq!(got.port, Some(p), "{}", h.name);
        }
        if let Some(u) = &h.user {
            assert_eq!(got.user.as_ref(), Some(u), "{}", h.name);
        }
        let mut a = got.tags.clone();
        let mut b = h.tags.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{}", h.name);
    }
    let o = run(&second, &["export", "ansible"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), text1);

    // Library level, with hosts.toml's own settings: every field survives.
    let text0 = export_ansible(&tricky_hosts());
    let back = parse_ansible_yaml(&text0).unwrap();
    for h in tricky_hosts() {
        let got = by_name(&back.hosts, &h.name);
        assert_eq!(got.address, h.address, "{}", h.name);
        assert_eq!(got.port, h.port, "{}", h.name);
        assert_eq!(got.user, h.user, "{}", h.name);
        assert_eq!(got.jump, h.jump, "{}", h.name);
    }
    assert_eq!(export_ansible(&back.hosts), text0);
    assert_eq!(export_ansible(&[]), "# Ansible inventory written by `opsdeck export ansible` (0 hosts).\n# Check it with: ansible-inventory -i FILE --list\nall:\n  hosts: {}\n");
}

#[test]
fn ansible_inventory_accepts_the_export() {
    if Command::new("ansible-inventory")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("ansible-inventory is not installed (apt-get install ansible-core)");
    }
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.yml");
    fs::write(&inv, export_ansible(&tricky_hosts())).unwrap();
    let o = Command::new("ansible-inventory")
        .arg("-i")
        .arg(&inv)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ENABLED", "yaml")
        .env("ANSIBLE_LOCAL_TEMP", dir.path())
        .env("ANSIBLE_HOME", dir.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ansible-inventory failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let vars = &v["_meta"]["hostvars"];
    assert_eq!(vars["alpha"]["ansible_port"], 2222);
    assert_eq!(vars["alpha"]["ansible_user"], "null");
    assert_eq!(
        vars["alpha"]["ansible_ssh_common_args"],
        "-o ProxyJump=admin@bastion:22,b2"
    );
    assert_eq!(vars["yes"]["ansible_host"], "2001:db8::1");
    assert_eq!(vars["zeta"]["ansible_host"], "10.0.0.9");
    let mut web: Vec<String> = v["web"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    web.sort();
    assert_eq!(web, ["web2", "zeta"]);
    assert_eq!(v["db"]["hosts"], serde_json::json!(["alpha"]));
    let mut ungrouped: Vec<&str> = v["ungrouped"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    ungrouped.sort();
    assert_eq!(ungrouped, ["plain", "yes"]);
}

#[test]
fn import_into_existing_skips_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path();
    assert!(run(h, &["host", "add", "lb1", "--address", "keep.me"])
        .status
        .success());
    let o = run(
        h,
        &[
            "host",
            "import",
            "--ansible",
            fixture("inventory.ini").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("skipped 1 already in hosts.toml: lb1"),
        "{out}"
    );
    assert!(out.contains("imported 6 hosts"), "{out}");
    let store = Store::load(Home::under(h)).unwrap();
    assert_eq!(
        store.host("lb1").unwrap().address.as_deref(),
        Some("keep.me")
    );
    assert_eq!(store.hosts.len(), 7);
    // A broken inventory: exit 65, hosts.toml untouched.
    let bad = h.join("bad.ini");
    fs::write(&bad, "[web]\nweb[3:1]\n").unwrap();
    let before = fs::read_to_string(h.join("hosts.toml")).unwrap();
    let o = run(h, &["host", "import", "--ansible", bad.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(fs::read_to_string(h.join("hosts.toml")).unwrap(), before);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// Any text: an error or hosts, never a panic; what export writes reads back.
    #[test]
    fn no_panics_on_any_inventory(text in "[\\[\\]a-z0-9:=#;'\" \\n-]{0,120}") {
        let _ = parse_ansible_ini(&text);
        let _ = parse_ansible_yaml(&text);
        let _ = opsdeck::inventory::expand_range(&text);
    }

    #[test]
    fn export_reads_back(names in proptest::collection::btree_set("[a-z][a-z0-9.-]{0,8}", 1..6),
                         user in "[ -~]{1,12}", tag in "[a-z_-]{1,6}") {
        let hosts: Vec<Host> = names.iter().enumerate().map(|(i, n)| Host {
            name: n.clone(),
            user: (i % 2 == 0).then(|| user.clone()),
            tags: if i % 3 == 0 { vec![] } else { vec![tag.clone()] },
            ..Default::default()
        }).collect();
        let text = export_ansible(&hosts);
        let back = parse_ansible_yaml(&text).unwrap();
        proptest::prop_assert_eq!(export_ansible(&back.hosts), text);
        for h in &hosts {
            let b = back.hosts.iter().find(|x| x.name == h.name).unwrap();
            proptest::prop_assert_eq!(&b.user, &h.user);
        }
    }
}

/// The hand-off works as it is: with `[ssh] config_file` pointing at a
/// config of its own (HostName, Port, User, IdentityFile, known hosts, a
/// ProxyJump), `ansible all -i EXPORT -m ping` reaches every host opsdeck
/// reaches.
#[test]
fn ansible_reaches_every_host_of_the_export() {
    use common::sshd::{Fleet, FleetOptions, HostOptions};
    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_hosts("web", 2, HostOptions::default());
    fleet.add_host("bastion", HostOptions::default());
    fleet.add_host(
        "inner",
        HostOptions {
            proxy_jump: Some("bastion".into()),
            tags: vec!["db".into()],
            ..Default::default()
        },
    );
    fleet.write_files();
    let o = fleet
        .opsdeck(&["run", "all", "--", "true"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "opsdeck reaches them: {}",
        String::from_utf8_lossy(&o.stdout)
    );

    let inv = fleet.dir().join("export.yml");
    let o = fleet
        .opsdeck(&["export", "ansible", "-o", inv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(&inv).unwrap();
    assert!(text.contains("ansible_ssh_private_key_file"), "{text}");
    assert!(text.contains("-o ProxyJump=bastion"), "{text}");

    let tmp = fleet.dir().join("ansible-tmp");
    fs::create_dir_all(&tmp).unwrap();
    let o = Command::new("ansible")
        .args(["all", "-i"])
        .arg(&inv)
        .args(["-m", "ping", "-o", "--timeout", "20"])
        .env("HOME", fleet.user_home())
        .env_remove("SSH_AUTH_SOCK")
        .env("ANSIBLE_HOME", &tmp)
        .env("ANSIBLE_LOCAL_TEMP", &tmp)
        .env("ANSIBLE_REMOTE_TMP", "/tmp")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORKS", "4")
        .output()
        .expect("ansible (apt-get install ansible-core)");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "ansible failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for h in ["web1", "web2", "bastion", "inner"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{h} | SUCCESS"))),
            "{h} not reached:\n{out}"
        );
    }
}
