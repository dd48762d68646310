//! `[alerts]` and `[[maintenance]]` are checked when the files load: a
//! mistake is refused with its path, line and column (exit 78 from the
//! CLI), and the file is left as it was.

use opsdeck::store::{Home, Store};

fn load(text: &str) -> Result<Store, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("opsdeck.toml"), text).unwrap();
    let r = Store::load(Home::under(dir.path())).map_err(|e| e.to_string());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("opsdeck.toml")).unwrap(),
        text,
        "a file that does not load is left untouched"
    );
    r
}

#[test]
fn alert_and_maintenance_mistakes_are_refused_where_they_are() {
    let e =
        load("[alerts]\nwebhook = [\"https://ok.example/x\", \"hooks.example/x\"]\n").unwrap_err();
    assert!(e.contains("opsdeck.toml:2:"), "{e}");
    assert!(
        e.contains("`hooks.example/x` is not an http:// or https:// URL"),
        "{e}"
    );

    let e = load("# windows\n[[maintenance]]\ntargets = [\"web1\"]\nweekly = \"Sunday 2-4\"\n")
        .unwrap_err();
    assert!(e.contains("opsdeck.toml:2:"), "{e}");
    assert!(e.contains("\"Sun 02:00-04:00\""), "{e}");

    let e = load("[[maintenance]]\nweekly = \"Sun 02:00-04:00\"\n").unwrap_err();
    assert!(e.contains("needs targets"), "{e}");

    // a login without a way to get its password: refused, never AUTH with ""
    let e = load("[alerts]\nmail_to = [\"it@example.org\"]\n\n[alerts.smtp]\nhost = \"smtp.example.org\"\nuser = \"me\"\n")
        .unwrap_err();
    assert!(e.contains("opsdeck.toml:6:"), "{e}");
    assert!(e.contains("password_command"), "{e}");

    let e = load("[alerts.smtp]\nhost = \"smtp.example.org\"\nuser = \"me\"\npassword_command = \"pass x\"\nstarttls = false\n").unwrap_err();
    assert!(e.contains("in clear"), "{e}");

    let e = load("[alerts]\ndigest = \"8am\"\n").unwrap_err();
    assert!(e.contains("opsdeck.toml:2:"), "{e}");

    // a password in the file is not a setting
    let e = load("[alerts.smtp]\nhost = \"h\"\npassword = \"x\"\n").unwrap_err();
    assert!(e.contains("unknown field `password`"), "{e}");

    let s = load("[alerts]\nmail_to = [\"it@example.org\"]\ndigest = \"08:00\"\n\n[[maintenance]]\ntargets = [\"@db\"]\nweekly = \"Sat 23:00-01:00\"\n").unwrap();
    assert_eq!(s.settings.maintenance.len(), 1);
}
