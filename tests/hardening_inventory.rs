//! Hardening of the inventory (issue #11, class 7): a value that reaches a
//! local command line (`ssh`, `ssh -G`) is checked as what it claims to be
//! at import, at load and at use; random inventories never panic the
//! importers and their errors say where.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use opsdeck::inventory::{parse_ansible_ini, parse_ansible_yaml, ssh_config_aliases};
use opsdeck::model::Host;
use opsdeck::store::{Home, Store};
use proptest::prelude::*;

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_HOME", home)
        .output()
        .expect("run opsdeck")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn crafted_addresses_are_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ssh_config");
    // an alias becomes a host name, which reaches `ssh -G NAME`
    let mut text = String::from("Host good\n  HostName 10.0.0.5\n\n");
    for a in ["x;touch", "-oProxyCommand=x", "$(id)", "wéb"] {
        text.push_str(&format!("Host {a}\n  HostName 10.0.0.9\n\n"));
    }
    fs::write(&cfg, &text).unwrap();
    let o = run(
        dir.path(),
        &["host", "import", "--ssh-config", cfg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", err(&o));
    let store = Store::load(Home::under(dir.path())).unwrap();
    let names: Vec<&str> = store.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["good"], "{}", err(&o));
    assert!(err(&o).contains("cannot be a host name"), "{}", err(&o));

    // the same through an Ansible inventory
    let inv = dir.path().join("inv.ini");
    fs::write(
        &inv,
        "ok1 ansible_host=10.0.0.6\nbad1 ansible_host='$(touch /tmp/opsdeck-pwned)'\nbad2 ansible_user='a;b'\n[g:vars]\nansible_port=0\n",
    )
    .unwrap();
    let o = run(
        dir.path(),
        &["host", "import", "--ansible", inv.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", err(&o));
    let store = Store::load(Home::under(dir.path())).unwrap();
    assert!(store.host("ok1").is_some());
    assert!(store.host("bad1").is_none() && store.host("bad2").is_none());
    assert!(!Path::new("/tmp/opsdeck-pwned").exists());
}

#[test]
fn crafted_values_in_hosts_toml_are_refused_at_load() {
    for (key, value) in [
        ("address", "x;touch /tmp/opsdeck-pwned"),
        ("address", "-oProxyCommand=sh"),
        ("user", "-oProxyCommand=sh"),
        ("jump", "bastion:99999"),
        ("name", "web\\\"1"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let text = if key == "name" {
            format!("[[host]]\nname = \"{value}\"\n")
        } else {
            format!("[[host]]\nname = \"h\"\n{key} = \"{value}\"\n")
        };
        fs::write(dir.path().join("hosts.toml"), &text).unwrap();
        let o = run(dir.path(), &["host", "list"]);
        assert_eq!(o.status.code(), Some(78), "{key}={value}: {}", err(&o));
        let line = if key == "name" { 2 } else { 3 };
        assert!(
            err(&o).contains(&format!("hosts.toml:{line}:1: {key}:")),
            "{key}={value}: {}",
            err(&o)
        );
    }
}

#[test]
fn crafted_values_are_refused_at_use() {
    // a store made in memory (not through the loader), as a future caller
    // might: the launcher of the user's `ssh` checks again
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::load(Home::under(dir.path())).unwrap();
    store.hosts.push(Host {
        name: "web1".into(),
        address: Some("x;touch /tmp/opsdeck-pwned".into()),
        ..Default::default()
    });
    let app = opsdeck::ui::app::App::new(
        store,
        Default::default(),
        opsdeck::ui::theme::Theme::mono(),
        opsdeck::ssh::Engine::new(&Default::default(), Default::default()),
    );
    let e = app.ssh_argv("web1").unwrap_err();
    assert!(e.contains("cannot be an address"), "{e}");
    // a good host gets its destination after `--` and options from a fixed list
    let mut store = Store::load(Home::under(dir.path())).unwrap();
    store.hosts.push(Host {
        name: "web2".into(),
        address: Some("10.0.0.7".into()),
        port: Some(2222),
        user: Some("deploy".into()),
        jump: Some("bastion".into()),
        ..Default::default()
    });
    let app = opsdeck::ui::app::App::new(
        store,
        Default::default(),
        opsdeck::ui::theme::Theme::mono(),
        opsdeck::ssh::Engine::new(&Default::default(), Default::default()),
    );
    let argv = app.ssh_argv("web2").unwrap();
    assert_eq!(argv.last().map(String::as_str), Some("web2"));
    assert_eq!(argv[argv.len() - 2], "--");
    for w in &argv[1..argv.len() - 2] {
        assert!(
            w.starts_with('-') || argv.iter().any(|a| a == w),
            "{argv:?}"
        );
    }
    assert!(argv.contains(&"HostName=10.0.0.7".to_string()), "{argv:?}");
}

fn ini_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "\\[[a-z:]{0,12}\\]\n",
        Just("[g:vars]\n".to_string()),
        Just("[g:children]\n".to_string()),
        "[a-z0-9\\[\\]:.-]{1,16}( [a-z_]{1,12}=[ -~]{0,12}){0,3}\n",
        "[ -~]{0,30}\n",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn yaml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("all:\n".to_string()),
        Just("  hosts:\n".to_string()),
        Just("  children:\n".to_string()),
        Just("  vars:\n".to_string()),
        "    [a-z0-9\\[\\]:.-]{1,12}:( [ -~]{0,10})?\n",
        "      [a-z_]{1,12}: [ -~]{0,12}\n",
        "[ -~\n]{0,20}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn ssh_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "Host [ -~]{0,20}\n",
        "  (HostName|Port|User|ProxyJump|Include|Match) [ -~]{0,20}\n",
        "[ -~\t]{0,30}\n",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn ssh_g_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "(hostname|port|user|identityfile|userknownhostsfile|proxyjump|connecttimeout|stricthostkeychecking|identitiesonly|identityagent) [ -~]{0,24}\n",
        "[a-z]{1,12} [ -~]{0,20}\n",
        "[ -~\t]{0,30}\n",
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_ssh_g_output_never_panics(text in ssh_g_like()) {
        match opsdeck::ssh::config::parse_ssh_g(&text) {
            Ok(g) => {
                let r = opsdeck::ssh::config::from_ssh_g("h", &g, &Default::default(), "u");
                prop_assert!(r.port > 0);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
        let _ = opsdeck::ssh::config::parse_jump_chain(&text);
    }

    #[test]
    fn random_inventories_never_panic_and_every_host_is_valid(ini in ini_like(), yaml in yaml_like(), ssh in ssh_like()) {
        for hosts in [parse_ansible_ini(&ini).map(|i| i.hosts), parse_ansible_yaml(&yaml).map(|i| i.hosts)] {
            if let Err(e) = hosts {
                prop_assert!(!e.is_empty());
            }
        }
        if let Err(e) = parse_ansible_ini(&ini) {
            // INI errors say the line
            prop_assert!(e.starts_with("line ") || e.contains('`'), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("cfg");
        fs::write(&cfg, &ssh).unwrap();
        match ssh_config_aliases(&cfg) {
            Ok(found) => {
                // whatever was found, the store accepts only valid hosts
                let mut store = Store::load(Home::under(dir.path())).unwrap();
                for h in found.hosts {
                    let valid = opsdeck::validate::host(&h).is_ok();
                    prop_assert_eq!(store.add_host(h).is_ok(), valid);
                }
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}
