//! `[alerts]` and `[[maintenance]]` are checked when the files load: a
//! mistake is refused with its path, line and column, and the file is left
//! untouched.

use opsdeck::store::{Home, Store};

fn load(text: &str) -> Result<Store, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("opsdeck.toml"), text).unwrap();
    let r = Store::load(Home::under(dir.path())).map_err(|e| e.to_string());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("opsdeck.toml")).unwrap(),
        text
    );
    r
}

#[test]
fn mistakes_are_refused_where_they_are() {
    let e =
        load("[alerts]\nwebhook = [\"https://ok.example/x\", \"hooks.example/x\"]\n").unwrap_err();
    assert!(e.contains("opsdeck.toml:2:"), "{e}");
    assert!(
        e.contains("`hooks.example/x` is not an http:// or https:// URL"),
        "{e}"
    );

    let e = load("[[maintenance]]\ntargets = [\"web1\"]\nweekly = \"Sunday 2-4\"\n").unwrap_err();
    assert!(e.contains("opsdeck.toml:3:"), "{e}");
    assert!(e.contains("\"Sun 02:00-04:00\""), "{e}");

    let e = load("[[maintenance]]\ntargets = [\"a\"]\n\n[[maintenance]]\ntargets = [\"b\"]\nfrom = \"2026-12-05 10:00\"\nuntil = \"2026-12-05 09:00\"\n").unwrap_err();
    assert!(
        e.contains("opsdeck.toml:2:") || e.contains("opsdeck.toml:1:"),
        "{e}"
    );

    let e = load("[alerts.smtp]\nhost = \"smtp.example.org\"\nuser = \"me\"\n").unwrap_err();
    assert!(e.contains("password_command"), "{e}");

    let e = load("[alerts]\ndigest = \"8am\"\n").unwrap_err();
    assert!(e.contains("opsdeck.toml:2:"), "{e}");

    let e = load("[alerts]\npassword = \"x\"\n").unwrap_err();
    assert!(e.contains("unknown field `password`"), "{e}");

    let s = load("[alerts]\nmail_to = [\"it@example.org\"]\ndigest = \"08:00\"\n\n[[maintenance]]\ntargets = [\"@db\"]\nweekly = \"Sat 23:00-01:00\"\n").unwrap();
    assert_eq!(s.settings.alerts.attempts, 3);
    assert_eq!(s.settings.maintenance.len(), 1);
}
