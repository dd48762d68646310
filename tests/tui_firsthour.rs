//! Issue #15 "The first hour", the TUI part: the real binary in a
//! pseudo-terminal at 80x24 (keys in, screen text out), one test per thing
//! a new user tripped over.

#[path = "common/pty.rs"]
mod pty;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pty::Pty;

fn opsdeck(home: &Path) -> Command {
    pty::opsdeck_tui(home, home)
}

fn quit(mut t: Pty) {
    t.send("\x1b");
    std::thread::sleep(Duration::from_millis(50));
    t.send("\x1b");
    std::thread::sleep(Duration::from_millis(50));
    t.send("q");
    // a job still running asks first
    std::thread::sleep(Duration::from_millis(300));
    if t.screen().contains("still running") {
        t.send("y");
    }
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

/// A listener that accepts connections and never says a word (an SSH
/// banner wait that ends only with the connect timeout).
fn silent_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = l.local_addr().unwrap().port();
    let held = l.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in held.incoming() {
            match c {
                Ok(c) => conns.push(c),
                Err(_) => break,
            }
        }
    });
    (l, port)
}

/// A port on 127.0.0.1 where nothing listens (connections are refused).
fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Bug: `C` on 1,000 hosts froze the screen: every result refreshed every
/// pane (O(n) and more per result) and the loop drained all messages before
/// it read a key, so `?`, `q` and Ctrl-C answered only after the burst.
/// Now a key typed while the results pour in is answered while the sweep
/// still runs (the latency itself is measured in bench/tui-sweep.sh).
#[test]
fn keys_are_answered_while_a_big_sweep_runs() {
    let (_silent, silent) = silent_listener();
    let refused = refused_port();
    // the silent host first: it keeps the sweep open for the connect
    // timeout while the 600 refused results arrive as fast as they can
    let mut hosts = String::new();
    writeln!(
        hosts,
        "[[host]]\nname = \"slow\"\naddress = \"127.0.0.1\"\nport = {silent}\n"
    )
    .unwrap();
    for i in 0..600 {
        writeln!(
            hosts,
            "[[host]]\nname = \"h{i:04}\"\naddress = \"127.0.0.1\"\nport = {refused}\n"
        )
        .unwrap();
    }
    let dir = pty::home_with(&[
        ("hosts.toml", &hosts),
        (
            "opsdeck.toml",
            "[ssh]\nconnect_timeout_s = 8\ncommand_timeout_s = 8\n",
        ),
    ]);
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("h0000");
    t.send("C");
    t.send("?");
    // the help is drawn while the sweep has not ended
    let s = t.wait_text("Keys");
    assert!(s.contains("checking"), "{s}");
    t.send("\x1b");
    // the results land in the rows during the sweep
    t.wait_for("refused rows", Duration::from_secs(30), |s| {
        s.contains("refused") && s.lines().next().unwrap_or("").contains("checking")
    });
    // `q` asks about the running sweep at once; y quits
    t.send("q");
    t.wait_text("still running");
    t.send("y");
    assert!(t.wait_exit(Duration::from_secs(10)).success());
}

/// Issue #15 item 9: at 80 columns hosts from the SSH config showed an
/// empty address and `y` copied the name; the help ran past 24 rows with
/// no "more" mark and `G` closed it.
#[test]
fn ssh_config_hosts_show_and_copy_their_address_and_the_help_scrolls() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ssh_config");
    std::fs::write(
        &cfg,
        "Host cfg1\n    HostName 192.0.2.7\n    Port 2222\n    User admin\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("opsdeck.toml"),
        format!("[ssh]\nconfig_file = \"{}\"\n", cfg.display()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hosts.toml"),
        "[[host]]\nname = \"cfg1\"\n\n[[host]]\nname = \"web1\"\naddress = \"10.0.0.11\"\n",
    )
    .unwrap();
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    // resolved in the background through the SSH config
    let s = t.wait_text("192.0.2.7:2222");
    let row = s.lines().find(|l| l.contains("cfg1")).unwrap();
    assert!(row.contains("192.0.2.7:2222"), "{s}");
    t.send("y");
    let b64 = "MTkyLjAuMi43OjIyMjI="; // "192.0.2.7:2222"
    t.wait_raw(format!("\x1b]52;c;{b64}\x07").as_bytes());
    t.wait_text("copied address of cfg1: 192.0.2.7:2222");

    // the help: taller than the screen, it says so and G goes to its end
    t.send("?");
    let s = t.wait_text("more (j/k, PgDn, G)");
    assert!(s.contains("Hosts pane"), "{s}");
    t.send("G");
    // ("Ctrl-C" is on the first page too: wait for the end itself)
    let s = t.wait_for("the end of the help", Duration::from_secs(10), |s| {
        s.contains("Keys:") && !s.contains("more (j/k")
    });
    assert!(s.contains("Ctrl-C"), "{s}");
    t.send("\x1b");
    t.wait_for("help closed", Duration::from_secs(10), |s| {
        !s.contains("Keys:")
    });
    quit(t);
}

/// An SGR mouse report (1-based column and row).
fn mouse(button: u8, col: u16, row: u16) -> String {
    format!("\x1b[<{button};{col};{row}M")
}

/// Issue #15 item 11: optional mouse support, off by default.
#[test]
fn the_mouse_is_off_by_default_and_on_it_scrolls_selects_and_switches() {
    let mut hosts = String::new();
    for i in 0..40 {
        writeln!(
            hosts,
            "[[host]]\nname = \"h{i:02}\"\naddress = \"10.0.0.{i}\"\n"
        )
        .unwrap();
    }
    // off by default: the terminal's text selection is left alone
    let dir = pty::home_with(&[("hosts.toml", &hosts)]);
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("h00");
    let raw = t.raw();
    assert!(
        !raw.windows(8).any(|w| w == b"\x1b[?1000h"),
        "mouse captured by default"
    );
    quit(t);

    let dir = pty::home_with(&[
        ("hosts.toml", &hosts),
        ("opsdeck.toml", "[ui]\nmouse = true\n"),
    ]);
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.wait_raw(b"\x1b[?1000h");
    // a click on the second tab
    let s = t.screen();
    let tabs = s.lines().nth(1).unwrap();
    let col = tabs.find("2 Hosts").unwrap() as u16 + 2;
    t.send(&mouse(0, col, 2));
    t.wait_text("› Hosts");
    // a click on a row selects it: screen row 6 (1-based) is the 2nd host
    t.send(&mouse(0, 10, 6));
    t.send("\r");
    t.wait_text("Host h01");
    t.send("\x1b");
    t.wait_for("details closed", Duration::from_secs(10), |s| {
        !s.contains("Host h01")
    });
    // the wheel: three rows a notch
    t.send(&mouse(65, 10, 10));
    t.send("\r");
    t.wait_text("Host h04");
    quit(t);
}

/// Issue #15 item 11: a run's output is saved to a file (0600) under state/.
#[test]
fn a_runs_output_is_saved_to_a_file() {
    use std::os::unix::fs::PermissionsExt;
    let port = refused_port();
    let dir = pty::home_with(&[(
        "hosts.toml",
        &format!("[[host]]\nname = \"h1\"\naddress = \"127.0.0.1\"\nport = {port}\n"),
    )]);
    let mut t = Pty::spawn(opsdeck(dir.path()), 80, 24);
    t.wait_text("5 Vendors");
    t.send("2");
    t.wait_text("h1");
    t.send("r");
    t.wait_text("Run a command");
    t.send("uptime\r");
    t.wait_text("unreachable");
    t.send("s");
    t.wait_text("saved the run's output to");
    let runs = dir.path().join("state/runs");
    let files: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        text.starts_with("$ uptime\n") && text.contains("h1"),
        "{text}"
    );
    let mode = files[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    quit(t);
}
