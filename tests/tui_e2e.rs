//! The real binary in a pseudo-terminal: switch panes, filter, add a vendor
//! through the form, copy with OSC 52, resize, suspend for ssh, quit; then
//! the vendor is in vendors.toml with the user's comments kept.

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pty::Pty;

const HOSTS: &str = r#"# my fleet
[[host]]
name = "web1"
address = "10.0.0.11"   # front
tags = ["web"]

[[host]]
name = "db1"
tags = ["db"]
vendor = "Dell"
"#;

const VENDORS: &str = r#"# who to call
[[vendor]]
name = "Dell"      # hardware
category = "hardware"
phone = "+49 30 1234"
"#;

fn home() -> tempfile::TempDir {
    pty::home_with(&[("hosts.toml", HOSTS), ("vendors.toml", VENDORS)])
}

fn opsdeck(home: &Path) -> Command {
    pty::opsdeck_tui(home, home)
}

#[test]
fn switch_filter_add_vendor_copy_resize_quit() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    let s = t.wait_text("Vendors");
    for tab in [
        "1 Overview",
        "2 Hosts",
        "3 Patches",
        "4 Backups",
        "5 Vendors",
    ] {
        assert!(s.lines().nth(1).unwrap().contains(tab), "{s}");
    }
    // the alternate screen is in use
    t.wait_raw(b"\x1b[?1049h");

    t.send("2");
    let s = t.wait_text("web1");
    assert!(s.contains("db1"), "{s}");
    assert!(s.lines().next().unwrap().contains("Hosts"), "{s}");

    // filter across fields: the tag
    t.send("/db");
    t.wait_for("filter to apply", Duration::from_secs(10), |s| {
        s.contains("db1") && !s.contains("web1")
    });
    t.send("\r");
    t.send("\x1b");
    t.wait_text("web1");

    // add a vendor through the form
    t.send("5");
    t.wait_text("Details");
    t.send("a");
    t.wait_text("Add a vendor");
    t.send("\r"); // empty name: inline error
    t.wait_text("Name is required");
    t.send("Acme Copiers\t\t\t+1 555 0100\r");
    t.wait_text("vendor Acme Copiers added");
    let s = t.wait_text("Acme Copiers");
    assert!(s.contains("+1 555 0100"), "{s}");

    // y copies the selected vendor's phone with OSC 52
    t.send("/acme\r");
    t.wait_for("only Acme", Duration::from_secs(10), |s| {
        !s.contains("Dell")
    });
    t.send("y");
    let b64 = "KzEgNTU1IDAxMDA="; // "+1 555 0100"
    t.wait_raw(format!("\x1b]52;c;{b64}\x07").as_bytes());
    t.wait_text("copied");
    t.send("\x1b");

    // resize: larger, too small, back
    t.resize(120, 40);
    t.wait_for("wide layout", Duration::from_secs(10), |s| {
        s.lines().count() == 40 && s.lines().next().unwrap().len() > 80
    });
    t.resize(50, 10);
    t.wait_text("Terminal too small");
    t.resize(80, 24);
    t.wait_for("normal again", Duration::from_secs(10), |s| {
        s.contains("5 Vendors") && !s.contains("too small")
    });

    t.send("q");
    let st = t.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    // the terminal was given back: alternate screen left, cursor shown
    t.wait_raw(b"\x1b[?1049l");
    t.wait_raw(b"\x1b[?25h");

    let text = std::fs::read_to_string(dir.path().join("vendors.toml")).unwrap();
    assert!(text.contains("name = \"Acme Copiers\""), "{text}");
    assert!(text.contains("phone = \"+1 555 0100\""), "{text}");
    assert!(text.starts_with("# who to call\n"), "{text}");
    assert!(text.contains("name = \"Dell\"      # hardware"), "{text}");
}

#[test]
fn broken_file_is_reported_before_the_screen_is_touched() {
    let dir = home();
    std::fs::write(
        dir.path().join("hosts.toml"),
        "[[host]]\nname = \"a\"\nport = \"x\"\n",
    )
    .unwrap();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    let st = t.wait_exit(Duration::from_secs(10));
    assert_eq!(st.code(), Some(78));
    let s = t.wait_text("hosts.toml:3:");
    assert!(
        s.contains(&dir.path().join("hosts.toml").display().to_string()),
        "{s}"
    );
    let raw = t.raw();
    assert!(
        !raw.windows(8).any(|w| w == b"\x1b[?1049h"),
        "entered the alternate screen"
    );
}

#[test]
fn ssh_suspends_and_the_tui_comes_back() {
    let dir = home();
    let mut cmd = opsdeck(dir.path());
    pty::fake_ssh(
        &mut cmd,
        dir.path(),
        "#!/bin/sh\necho \"FAKE SSH $*\"\nstty -a | grep -q -- '-icanon' && echo RAW || echo COOKED\nread line\nexit 3\n",
    );
    let mut t = Pty::spawn(cmd, 80, 24);
    t.wait_text("Vendors");
    t.send("2");
    t.wait_text("web1");
    t.send("s");
    let s = t.wait_text("FAKE SSH");
    assert!(s.contains("FAKE SSH -o HostName=10.0.0.11 -- web1"), "{s}");
    // the child got a normal (cooked) terminal
    let s = t.wait_text("COOKED");
    assert!(!s.contains("1 Overview"), "{s}");
    t.send("bye\r");
    let s = t.wait_text("exited with status 3");
    assert!(s.contains("2 Hosts") && s.contains("web1"), "{s}");
    // keys work again after the suspend
    t.send("5");
    t.wait_text("Details");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn no_color_draws_without_colour_sequences() {
    let dir = home();
    let mut cmd = opsdeck(dir.path());
    cmd.env("NO_COLOR", "1");
    let mut t = Pty::spawn(cmd, 80, 24);
    t.wait_text("Vendors");
    t.send("2");
    t.wait_text("web1");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
    let raw = String::from_utf8_lossy(&t.raw()).to_string();
    // SGR 3x/4x/9x/10x would set a colour; 39/49 resets are fine
    for code in [
        "[31m", "[32m", "[33m", "[36m", "[38;", "[48;", "[41m", "[90m",
    ] {
        assert!(
            !raw.contains(code),
            "colour sequence {code:?} with NO_COLOR"
        );
    }
    assert!(raw.contains("\x1b[7m"), "no REVERSED selection");
}

#[test]
fn ctrl_r_rereads_files_changed_elsewhere() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("Vendors");
    t.send("2");
    t.wait_text("web1");
    let mut text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    text.push_str("\n[[host]]\nname = \"mail1\"\n");
    std::fs::write(dir.path().join("hosts.toml"), text).unwrap();
    t.send("\x12"); // Ctrl-R
    t.wait_text("mail1");
    t.wait_text("files re-read");
    t.send("\x03"); // Ctrl-C quits
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn vendor_contact_and_ticket_opened_and_closed() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("Vendors");
    t.send("5");
    t.wait_text("Details");
    t.send("n");
    t.wait_text("New contact at Dell");
    t.send("Ann Smith\taccount manager\t+49 30 999\r");
    t.wait_text("contact Ann Smith of Dell saved");
    t.send("o");
    t.wait_text("Open a ticket with Dell");
    t.send("SR-77\tdisk failed\r");
    t.wait_text("ticket SR-77 opened with Dell");
    // into the details, down to the ticket, close it
    t.send("\r");
    t.wait_text("j/k row");
    t.send("G");
    // G ends on the last row (the host db1); the ticket is above the Hosts heading
    t.wait_text("host           db1");
    t.send("k");
    t.send("x");
    // closing asks first (issue #15 item 10)
    t.wait_text("Close ticket SR-77 of Dell today");
    t.send("y");
    t.wait_text("ticket SR-77 of Dell closed");
    t.send("\x1b");
    t.wait_text("Enter to pick a row");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
    let text = std::fs::read_to_string(dir.path().join("vendors.toml")).unwrap();
    assert!(text.contains("name = \"Ann Smith\""), "{text}");
    assert!(
        text.contains("ref = \"SR-77\"") && text.contains("status = \"closed\""),
        "{text}"
    );
    let journal = std::fs::read_to_string(dir.path().join("state/journal.toml")).unwrap();
    assert!(journal.contains("ticket.close"), "{journal}");
}

#[test]
fn keys_typed_fast_are_handled_in_order() {
    let dir = home();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("Vendors");
    // one write: pane switch, into the details, to the last row
    t.send("5\rG");
    t.wait_text("host           db1");
    t.send("\x1b");
    t.wait_text("Enter to pick a row");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn works_inside_tmux() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is not installed (apt-get install tmux; scripts/test.sh does it)"
    );
    let dir = home();
    let sock = dir.path().join("tmux.sock");
    let mut c = Command::new("tmux");
    c.arg("-S")
        .arg(&sock)
        .args(["-f", "/dev/null", "new-session", "-x", "80", "-y", "24"])
        .arg(format!(
            "OPSDECK_HOME={} HOME={} {}",
            dir.path().display(),
            dir.path().display(),
            env!("CARGO_BIN_EXE_opsdeck")
        ))
        .env("TERM", "xterm-256color")
        .env_remove("TMUX")
        .env_remove("NO_COLOR");
    let mut t = Pty::spawn(c, 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("web1");
    t.send("/db\r");
    t.wait_for("filtered", Duration::from_secs(10), |s| !s.contains("web1"));
    t.send("\x1b5");
    t.wait_text("Details");
    t.send("?");
    t.wait_text("open a ticket");
    t.send("\x1b");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
    let _ = Command::new("tmux")
        .arg("-S")
        .arg(&sock)
        .arg("kill-server")
        .output();
}
