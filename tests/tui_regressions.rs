//! Regression tests of the TUI, each named after the bug it pins, through
//! the real binary in a pseudo-terminal (keys in, screen text out).

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pty::Pty;

const HOSTS: &str = r#"# my fleet
[[host]]
name = "web1"
address = "10.0.0.11"
tags = ["web"]

[[host]]
name = "db1"
vendor = "Dell"
"#;

const VENDORS: &str = r#"# who to call
[[vendor]]
name = "Dell"
phone = "+49 30 1234"

[[vendor]]
name = "Acme"
category = "copiers"
notes = "call before 9"
"#;

fn home() -> tempfile::TempDir {
    pty::home_with(&[("hosts.toml", HOSTS), ("vendors.toml", VENDORS)])
}

fn opsdeck(home: &Path) -> Command {
    pty::opsdeck_tui(home, home)
}

fn quit(mut t: Pty) {
    t.send("\x1b\x1bq");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

const PGDN: &str = "\x1b[6~";
const PGUP: &str = "\x1b[5~";

/// Bug: the selection was set before the store reload, so the row saved
/// through a form was not selected afterwards (the next `e`/`d`/`x` hit
/// another row).
#[test]
fn what_a_form_saved_is_selected_afterwards() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");

    // a new host: `e` edits it, not web1
    t.send("2");
    t.wait_text("web1");
    t.send("a");
    t.wait_text("Add a host");
    t.send("mail1\r");
    t.wait_text("host mail1 added");
    t.send("e");
    t.wait_text("Edit host mail1");
    // renamed: still the selected one
    t.send("x\r");
    t.wait_text("host mail1x saved");
    t.send("e");
    t.wait_text("Edit host mail1x");
    t.send("\x1b");
    t.wait_text("cancelled");

    // a new vendor (the last row): `e` edits it, not the first one
    t.send("5");
    t.wait_text("Details");
    t.send("a");
    t.wait_text("Add a vendor");
    t.send("Zeta Telecom\r");
    t.wait_text("vendor Zeta Telecom added");
    t.send("e");
    t.wait_text("Edit vendor Zeta Telecom");
    t.send("\x1b");
    t.wait_text("cancelled");

    // a new contact: selected in the details, so `d` asks about it
    t.send("n");
    t.wait_text("New contact at Zeta Telecom");
    t.send("Bob Jones\r");
    t.wait_text("contact Bob Jones of Zeta Telecom saved");
    t.send("d");
    t.wait_text("Delete contact Bob Jones of Zeta Telecom?");
    t.send("n");
    t.wait_text("cancelled");

    // a new ticket (generated reference): selected, so `x` closes it
    t.send("o");
    t.wait_text("Open a ticket with Zeta Telecom");
    t.send("\tline down\r");
    t.wait_text("opened with Zeta Telecom");
    t.send("x");
    t.wait_text("Close ticket");
    t.send("y");
    t.wait_text("of Zeta Telecom closed");
    quit(t);
    let text = std::fs::read_to_string(dir.path().join("vendors.toml")).unwrap();
    assert!(text.contains("status = \"closed\""), "{text}");
}

/// Bug: `G` in the vendor details landed on the "Hosts (0)" heading; PgUp
/// and PgDn did nothing there.
#[test]
fn vendor_details_moves_never_land_on_a_heading() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("5");
    t.wait_text("Details");
    // Acme: fields only, then three empty headings
    t.send("j\r");
    t.wait_text("j/k row");
    t.send("G");
    t.send("y");
    t.wait_text("copied Acme notes: call before 9");
    t.send("g");
    t.send("y");
    t.wait_text("copied Acme name: Acme");
    t.send(PGDN);
    t.send("y");
    t.wait_text("copied Acme notes: call before 9");
    t.send(PGUP);
    t.send("k"); // at the top already
    t.send("y");
    t.wait_text("copied Acme name: Acme");
    // Dell: G is its host; k from there skips three headings
    t.send("\x1bk\r");
    t.wait_text("j/k row");
    t.send("G");
    t.send("\r"); // Enter on a host row jumps to it
    t.wait_text("db1");
    t.wait_for("the Hosts pane", Duration::from_secs(10), |s| {
        s.lines().next().is_some_and(|l| l.contains("Hosts"))
    });
    quit(t);
}

/// Every move key in every pane with nothing to show: no panic, the app
/// keeps answering.
#[test]
fn move_keys_on_empty_lists_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    for pane in ["1", "2", "3", "4", "5"] {
        t.send(pane);
        for k in [
            "j", "k", "g", "G", PGDN, PGUP, "\x04", "\x15", " ", "\r", "G", "y", "\x1b",
        ] {
            t.send(k);
        }
    }
    t.send("5?");
    t.wait_text("open a ticket");
    quit(t);
}

/// Bug: below the minimum size the screen says "q quits", but keys still
/// went to the (invisible) form: `q` was typed into it.
#[test]
fn too_small_keys_do_not_reach_a_hidden_form_and_q_quits() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("2a");
    t.wait_text("Add a host");
    t.send("abc");
    t.wait_text("Name*: abc");
    t.resize(50, 10);
    t.wait_text("50x10 now");
    t.send("xyz");
    // one more resize, drawn only after the keys typed before it were read
    t.resize(51, 10);
    t.wait_text("51x10 now");
    t.resize(80, 24);
    let s = t.wait_text("Add a host");
    assert!(s.contains("Name*: abc") && !s.contains("abcxyz"), "{s}");
    t.resize(50, 10);
    t.wait_text("q quits");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
    let text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    assert_eq!(text, HOSTS);
}

/// Bug: when ssh itself failed (status 255: refused, unknown host, auth),
/// its message flashed on the normal screen and the TUI came back over it
/// at once. Now opsdeck waits for Enter first.
#[test]
fn ssh_failing_keeps_its_message_until_enter() {
    let dir = home();
    let mut cmd = opsdeck(dir.path());
    pty::fake_ssh(
        &mut cmd,
        dir.path(),
        "#!/bin/sh\necho 'ssh: connect to host 10.0.0.11 port 22: Connection refused' >&2\nexit 255\n",
    );
    let mut t = Pty::spawn(cmd, 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("web1");
    t.send("s");
    let s = t.wait_text("Press Enter to return");
    assert!(s.contains("Connection refused"), "{s}");
    t.send("\r");
    let s = t.wait_text("ssh web1 exited with status 255");
    assert!(s.contains("5 Vendors"), "{s}");
    quit(t);
}
