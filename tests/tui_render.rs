//! Rendering and update tests of the TUI without a terminal: the app is
//! driven with Actions and drawn on ratatui's TestBackend.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::model::*;
use opsdeck::ssh::{Engine, EngineOptions};
use opsdeck::store::{Home, Store};
use opsdeck::ui::app::{Action, App, Command};
use opsdeck::ui::msg::Results;
use opsdeck::ui::overlay::Overlay;
use opsdeck::ui::pane::PaneId;
use opsdeck::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

const NOW: &str = "2026-11-22T12:00:00Z";

fn date(s: &str) -> Option<Date> {
    Some(s.parse().unwrap())
}

fn fixture_store() -> Store {
    let mut hosts = Vec::new();
    for (name, addr, tags) in [
        ("web1", Some("10.0.0.11"), vec!["web", "prod"]),
        ("web2", Some("10.0.0.12"), vec!["web", "prod"]),
        ("db1", None, vec!["db"]),
        ("backup1", Some("backup1.lan"), vec![]),
    ] {
        hosts.push(Host {
            name: name.into(),
            address: addr.map(String::from),
            tags: tags.into_iter().map(String::from).collect(),
            vendor: (name == "db1").then(|| "Dell".to_string()),
            purchased: date("2021-03-01"),
            ..Default::default()
        });
    }
    let vendors = vec![
        Vendor {
            name: "Dell".into(),
            category: Some("hardware".into()),
            account: Some("ACC-4711".into()),
            phone: Some("+49 30 1234".into()),
            email: Some("support@dell.example".into()),
            portal: Some("https://dell.example".into()),
            support_hours: Some("Mo-Fr 8-18".into()),
            contract_end: date("2027-01-15"),
            notes: None,
            contacts: vec![Contact {
                name: "Ann Smith".into(),
                role: Some("account manager".into()),
                phone: Some("+49 30 999".into()),
                email: Some("ann@dell.example".into()),
            }],
            tickets: vec![Ticket {
                reference: "SR-1".into(),
                subject: "disk failed in db1".into(),
                status: TicketStatus::Open,
                opened: date("2026-11-01"),
                closed: None,
                notes: None,
            }],
        },
        Vendor {
            name: "FiberNet".into(),
            category: Some("isp".into()),
            phone: Some("0800 555".into()),
            ..Default::default()
        },
    ];
    let backups = vec![BackupJob {
        repository: Some("/srv/restic".into()),
        last_restore_test: date("2026-06-01"),
        restore_test_every: Some("90d".into()),
        ..BackupJob::new("db1-restic", "db1", BackupKind::Restic, "26h")
    }];
    Store {
        home: Home::under("/nonexistent/opsdeck-test"),
        settings: Settings::default(),
        hosts,
        vendors,
        backups,
    }
}

fn fixture_results() -> Results {
    let mut r = Results::default();
    let facts = Facts {
        os: Some("Debian GNU/Linux 12 (bookworm)".into()),
        kernel: Some("6.1.0-26-amd64".into()),
        uptime_s: Some(86400),
        cpus: Some(4),
        load: Some([0.1, 0.2, 0.3]),
        mem_used_pct: Some(41.5),
        disks: vec![Disk {
            mount: "/".into(),
            used_pct: 93.0,
            fstype: Some("ext4".into()),
            size_kb: None,
        }],
        failed_units: Some(vec![]),
        reboot_required: Some(false),
        package_manager: Some("apt".into()),
        updates: Some(UpdateCounts {
            pending: Some(12),
            security: Some(3),
        }),
        ..Default::default()
    };
    r.checks.insert(
        "web1".into(),
        CheckResult {
            host: "web1".into(),
            status: Status::Crit,
            error: None,
            reasons: vec!["/ 93% >= 90%".into(), "3 security updates".into()],
            elapsed_ms: 312,
            checked_at: "2026-11-22T11:55:00Z".into(),
            facts: Some(facts),
            last_known: None,
        },
    );
    r.checks.insert(
        "web2".into(),
        CheckResult {
            host: "web2".into(),
            status: Status::Crit,
            error: Some("connection failed: Connection refused (os error 111)".into()),
            reasons: vec!["unreachable".into()],
            elapsed_ms: 3,
            checked_at: "2026-11-22T11:00:00Z".into(),
            facts: None,
            last_known: None,
        },
    );
    r.backups.insert(
        "db1-restic".into(),
        BackupResult {
            name: "db1-restic".into(),
            host: "db1".into(),
            kind: BackupKind::Restic,
            status: Status::Ok,
            latest: Some("2026-11-22T02:00:00Z".into()),
            age_s: Some(36000),
            max_age_s: 93600,
            error: None,
            reasons: vec![],
            snapshots: Some(30),
            checked_at: Some("2026-11-22T11:00:00Z".into()),
            recent: vec![],
        },
    );
    r
}

fn app_with(theme: Theme) -> App {
    let store = fixture_store();
    let engine = Engine::new(&store.settings.ssh, EngineOptions::default());
    let mut app = App::new(store, fixture_results(), theme, engine);
    app.update(Action::Tick(NOW.parse().unwrap()));
    app
}

fn app() -> App {
    app_with(Theme::colour())
}

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    app.update(Action::Resize(w, h));
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| app.draw(f)).unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    text(&render(app, w, h))
}

#[test]
fn every_pane_at_80x24_and_200x60() {
    for (i, id) in opsdeck::ui::panes::ids()
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
    {
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let mut a = app();
            key(&mut a, KeyCode::Char(char::from(b'1' + i as u8)));
            assert_eq!(a.active, id);
            let s = screen(&mut a, w, h);
            for tab in ["Overview", "Hosts", "Patches", "Backups", "Vendors"] {
                assert!(
                    s.lines().nth(1).unwrap().contains(tab),
                    "tab {tab} missing:\n{s}"
                );
            }
            insta::assert_snapshot!(format!("{}_{w}x{h}", id.title().to_lowercase()), s);
        }
    }
}

#[test]
fn hosts_show_status_reason_age_and_facts() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    let s = screen(&mut a, 200, 30);
    let web1 = s.lines().find(|l| l.contains("web1")).unwrap();
    assert!(web1.contains("CRIT"), "{web1}");
    assert!(web1.contains("5m"), "{web1}");
    assert!(web1.contains("/ 93% >= 90%"), "{web1}");
    assert!(web1.contains("Debian 12"), "{web1}");
    assert!(web1.contains("12 upd (3 sec)"), "{web1}");
    let db1 = s.lines().find(|l| l.contains("db1")).unwrap();
    assert!(db1.contains("never"), "{db1}");
    // the header says how fresh the data is
    assert!(
        s.lines().next().unwrap().contains("last check 5m ago"),
        "{s}"
    );
}

#[test]
fn host_details_have_every_fact_and_the_full_error() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('j')); // web2
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 100, 30);
    assert!(s.contains("Connection refused (os error 111)"), "{s}");
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 100, 40);
    for want in [
        "6.1.0-26-amd64",
        "0.10 0.20 0.30",
        "41.5%",
        "/ 93.0% (ext4)",
        "12 pending, 3 security",
        "apt",
    ] {
        assert!(s.contains(want), "{want} missing:\n{s}");
    }
}

#[test]
fn no_color_theme_sets_no_colour_and_keeps_the_selection() {
    for (i, _) in opsdeck::ui::panes::ids()
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
    {
        let mut a = app_with(Theme::mono());
        key(&mut a, KeyCode::Char(char::from(b'1' + i as u8)));
        let buf = render(&mut a, 120, 30);
        for cell in buf.content() {
            assert_eq!(
                cell.fg,
                Color::Reset,
                "pane {i}: colour at {:?}",
                cell.symbol()
            );
            assert_eq!(cell.bg, Color::Reset);
        }
        // the active tab and (where there are rows) the selected row are REVERSED
        let reversed_rows: Vec<u16> = (0..buf.area.height)
            .filter(|&y| {
                (0..buf.area.width).any(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED))
            })
            .collect();
        assert!(
            reversed_rows.contains(&1),
            "pane {i}: active tab not reversed"
        );
        // (the Security pane has no rows before an audit)
        assert!(
            reversed_rows.iter().any(|&y| y > 2) || a.active == PaneId::SECURITY,
            "pane {i}: no selected row reversed"
        );
    }
    assert_eq!(Theme::from_settings("auto", true), Theme::mono());
    assert_eq!(Theme::from_settings("auto", false), Theme::colour());
}

#[test]
fn colour_theme_uses_only_the_16_ansi_colours() {
    for (i, _) in opsdeck::ui::panes::ids()
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
    {
        let mut a = app();
        key(&mut a, KeyCode::Char(char::from(b'1' + i as u8)));
        let buf = render(&mut a, 120, 30);
        for cell in buf.content() {
            for c in [cell.fg, cell.bg] {
                assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
            }
        }
    }
}

#[test]
fn too_small_says_how_large() {
    let mut a = app();
    let s = screen(&mut a, 50, 10);
    assert!(s.contains("Terminal too small"), "{s}");
    assert!(s.contains("needs 60x15"), "{s}");
    let s = screen(&mut a, 60, 15);
    assert!(s.contains("Overview"), "{s}");
}

#[test]
fn tabs_switch_with_numbers_and_tab_keys() {
    let mut a = app();
    assert_eq!(a.active, PaneId::OVERVIEW);
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.active, PaneId::HOSTS);
    key(&mut a, KeyCode::BackTab);
    key(&mut a, KeyCode::BackTab);
    assert_eq!(a.active, PaneId::SECURITY, "the last tab");
    key(&mut a, KeyCode::BackTab);
    assert_eq!(a.active, PaneId::VENDORS);
    key(&mut a, KeyCode::Char('3'));
    assert_eq!(a.active, PaneId::PATCHES);
}

#[test]
fn filter_matches_every_field_and_esc_clears() {
    let mut a = app();
    key(&mut a, KeyCode::Char('5'));
    typ(&mut a, "/ann@dell");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Dell"), "{s}");
    assert!(!s.contains("FiberNet"), "{s}");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.pane(PaneId::VENDORS).filter(), "ann@dell");
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.pane(PaneId::VENDORS).filter(), "");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("FiberNet"), "{s}");
    // hosts: by tag and by check reason
    key(&mut a, KeyCode::Char('2'));
    typ(&mut a, "/refused");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 80, 24);
    assert!(
        s.contains("web2") && !s.contains("web1") && !s.contains("db1"),
        "{s}"
    );
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Esc);
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("db1"), "{s}");
}

#[test]
fn help_lists_the_keys_of_the_current_pane() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 100, 40);
    for want in [
        "ssh to the host",
        "check all hosts",
        "copy the address",
        "quit",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('5'));
    key(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 100, 40);
    assert!(s.contains("open a ticket"), "{s}");
}

#[test]
fn help_scrolls_to_its_last_line_and_no_further() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('?'));
    let _ = screen(&mut a, 80, 24);
    for _ in 0..200 {
        key(&mut a, KeyCode::Char('j'));
        let _ = screen(&mut a, 80, 24);
    }
    let bottom = screen(&mut a, 80, 24);
    // the last global key is on screen, not blank space past it
    assert!(bottom.contains("quit"), "{bottom}");
    let Some(Overlay::Help(v)) = a.overlays.last() else {
        panic!("help closed");
    };
    let at_end = v.text.scroll();
    assert!(at_end > 0 && at_end < 200, "{at_end}");
    // one `k` moves up at once (no hidden overscroll to climb back)
    key(&mut a, KeyCode::Char('k'));
    let Some(Overlay::Help(v)) = a.overlays.last() else {
        panic!("help closed");
    };
    assert_eq!(v.text.scroll(), at_end - 1);
}

#[test]
fn add_vendor_form_validates_and_writes_through_the_store() {
    let mut a = app();
    key(&mut a, KeyCode::Char('5'));
    key(&mut a, KeyCode::Char('a'));
    assert!(matches!(a.overlays.last(), Some(Overlay::Form { .. })));
    // empty name: inline error, nothing written
    let cmds = key(&mut a, KeyCode::Enter);
    assert!(cmds.is_empty());
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Name is required"), "{s}");
    // a duplicate name is refused by the pane
    typ(&mut a, "Dell");
    let cmds = key(&mut a, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("exists already"), "{s}");
    for _ in 0..4 {
        key(&mut a, KeyCode::Backspace);
    }
    typ(&mut a, "Acme Copiers");
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Tab);
    typ(&mut a, "not-an-email");
    let cmds = key(&mut a, KeyCode::Enter);
    assert!(cmds.is_empty());
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("not an e-mail address"), "{s}");
    key(&mut a, KeyCode::Char('u'));
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    typ(&mut a, "service@acme.example");
    let cmds = key(&mut a, KeyCode::Enter);
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(matches!(&cmds[0], Command::Store { what, .. } if what == "vendor.add"));
    assert!(a.overlays.is_empty());
}

#[test]
fn delete_asks_first() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    let cmds = key(&mut a, KeyCode::Char('d'));
    assert!(cmds.is_empty());
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Delete host web1"), "{s}");
    let cmds = key(&mut a, KeyCode::Char('n'));
    assert!(cmds.is_empty());
    key(&mut a, KeyCode::Char('d'));
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Store { what, .. }] if what == "host.rm"),
        "{cmds:?}"
    );
}

/// Deleting what others refer to says so in the question.
#[test]
fn delete_names_what_refers_to_it() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('/'));
    typ(&mut a, "db1");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('d'));
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("Delete host db1")
            && s.contains("1 backup job runs on it")
            && s.contains("db1-restic"),
        "{s}"
    );
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('5'));
    key(&mut a, KeyCode::Char('d'));
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("Delete vendor Dell")
            && s.contains("1 host names it as their vendor and keep that name: db1"),
        "{s}"
    );
}

#[test]
fn y_copies_the_selected_value() {
    let mut a = app();
    key(&mut a, KeyCode::Char('5'));
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Copy(v)] if v == "+49 30 1234"),
        "{cmds:?}"
    );
    // details: pick the e-mail row
    key(&mut a, KeyCode::Enter);
    for _ in 0..4 {
        key(&mut a, KeyCode::Char('j'));
    }
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Copy(v)] if v == "support@dell.example"),
        "{cmds:?}"
    );
    // hosts: the address
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('2'));
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Copy(v)] if v == "10.0.0.11"),
        "{cmds:?}"
    );
}

#[test]
fn marks_check_ssh_and_run() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char(' '));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char(' '));
    let cmds = key(&mut a, KeyCode::Char('c'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "check 2 hosts"),
        "{cmds:?}"
    );
    assert_eq!(a.jobs.len(), 1);
    assert!(a.results.checking.contains("web1") && a.results.checking.contains("db1"));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("checking"), "{s}");
    // ssh: the user's own ssh with the hosts.toml fields
    key(&mut a, KeyCode::Char('g'));
    let cmds = key(&mut a, KeyCode::Char('s'));
    match &cmds[..] {
        [Command::Suspend { argv, .. }] => {
            assert_eq!(argv, &["ssh", "-o", "HostName=10.0.0.11", "--", "web1"]);
        }
        other => panic!("{other:?}"),
    }
    // run on the marked hosts: prompt, then a dangerous command asks
    key(&mut a, KeyCode::Char('r'));
    typ(&mut a, "sudo reboot");
    let cmds = key(&mut a, KeyCode::Enter);
    assert!(cmds.is_empty());
    let s = screen(&mut a, 100, 30);
    assert!(s.contains("dangerous pattern `reboot`"), "{s}");
    key(&mut a, KeyCode::Char('n'));
    key(&mut a, KeyCode::Char('r'));
    typ(&mut a, "uptime");
    let cmds = key(&mut a, KeyCode::Enter);
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what.starts_with("run `uptime` on 2")),
        "{cmds:?}"
    );
    // quitting with jobs running asks
    key(&mut a, KeyCode::Esc);
    let cmds = key(&mut a, KeyCode::Char('q'));
    assert!(cmds.is_empty());
    let s = screen(&mut a, 100, 30);
    assert!(s.contains("still running"), "{s}");
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(&cmds[..], [Command::Quit]));
}

#[test]
fn overview_jumps_to_the_row() {
    // (test adapted by the lifecycle work to the real Overview pane)
    let mut a = app();
    let s = screen(&mut a, 100, 24);
    assert!(
        s.contains("web2 unreachable") && s.contains("Dell: ticket SR-1"),
        "{s}"
    );
    // the first item is the unreachable host: Enter selects it on Hosts
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.active, PaneId::HOSTS);
    assert!(selected_line(&mut a).contains("web2"));
    // the sixth item is the ticket: Enter opens its vendor's details with
    // that ticket selected
    key(&mut a, KeyCode::Char('1'));
    key(&mut a, KeyCode::Char('g'));
    for _ in 0..5 {
        key(&mut a, KeyCode::Char('j'));
    }
    assert!(selected_line(&mut a).contains("Dell: ticket SR-1"));
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.active, PaneId::VENDORS);
    let sel = selected_line(&mut a);
    assert!(
        sel.contains("SR-1") && sel.contains("disk failed in db1"),
        "{sel}"
    );
    // Esc goes back to the vendor list, the vendor selected
    key(&mut a, KeyCode::Esc);
    assert!(selected_line(&mut a).contains("Dell"));
}

/// The text of the rows drawn REVERSED below the tab bar (the selected row).
fn selected_line(a: &mut App) -> String {
    let buf = render(a, 100, 24);
    (2..buf.area.height)
        .filter(|&y| (0..buf.area.width).any(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)))
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ------------------------------------------------------------ with real files

use opsdeck::fleet::{HostRun as FleetRun, Outcome as RunOutcome};
use opsdeck::ssh::UnknownKey;
use opsdeck::ui::msg::Msg;
use opsdeck::ui::msg::ShellMsg;

/// An app on real files in a temp dir.
fn disk_app(dir: &std::path::Path) -> App {
    disk_app_with(
        dir,
        "# hosts\n[[host]]\nname = \"web1\"  # front\naddress = \"10.0.0.11\"\n\n[[host]]\nname = \"db1\"\nvendor = \"Dell\"\n",
    )
}

fn disk_app_with(dir: &std::path::Path, hosts: &str) -> App {
    std::fs::write(dir.join("hosts.toml"), hosts).unwrap();
    std::fs::write(
        dir.join("vendors.toml"),
        "# vendors\n[[vendor]]\nname = \"Dell\"  # hw\nphone = \"+49 30 1234\"\n",
    )
    .unwrap();
    let store = Store::load(Home::under(dir)).unwrap();
    let engine = Engine::new(&store.settings.ssh, EngineOptions::default());
    let mut app = App::new(store, Results::default(), Theme::colour(), engine);
    app.update(Action::Tick(NOW.parse().unwrap()));
    app
}

/// Execute the store writes as the runner would and feed the answers back.
fn run_writes(app: &mut App, cmds: Vec<Command>) -> Vec<Command> {
    let mut rest = Vec::new();
    for c in cmds {
        match c {
            Command::Store { pane, op, .. } => {
                let mut store = app.store.clone();
                let result = op(&mut store)
                    .map(|text| (text, Box::new(store)))
                    .map_err(|e| e.to_string());
                let more = app.update(Action::Msg(Msg::Saved { pane, result }));
                rest.extend(run_writes(app, more));
            }
            other => rest.push(other),
        }
    }
    rest
}

fn press(app: &mut App, code: KeyCode) {
    let cmds = key(app, code);
    let rest = run_writes(app, cmds);
    assert!(rest.is_empty(), "{rest:?}");
}

fn write(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn vendor_contacts_and_tickets_are_written_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = disk_app(dir.path());
    press(&mut a, KeyCode::Char('5'));
    // a contact
    press(&mut a, KeyCode::Char('n'));
    write(&mut a, "Ann Smith");
    press(&mut a, KeyCode::Tab);
    write(&mut a, "account manager");
    press(&mut a, KeyCode::Tab);
    write(&mut a, "+49 30 999");
    press(&mut a, KeyCode::Enter);
    // a ticket
    press(&mut a, KeyCode::Char('o'));
    write(&mut a, "SR-77");
    press(&mut a, KeyCode::Tab);
    write(&mut a, "disk failed in db1");
    press(&mut a, KeyCode::Enter);
    let text = std::fs::read_to_string(dir.path().join("vendors.toml")).unwrap();
    assert!(text.contains("name = \"Dell\"  # hw"), "{text}");
    assert!(text.contains("name = \"Ann Smith\""), "{text}");
    assert!(text.contains("ref = \"SR-77\""), "{text}");
    let s = screen(&mut a, 100, 40);
    assert!(s.contains("SR-77") && s.contains("OPEN"), "{s}");
    assert!(
        s.contains("host") && s.contains("db1"),
        "hosts of the vendor:\n{s}"
    );
    // close it from the details: go to the ticket row
    press(&mut a, KeyCode::Enter);
    for _ in 0..30 {
        let s = screen(&mut a, 100, 40);
        let sel = s.lines().find(|l| l.contains("SR-77")).unwrap().to_string();
        let buf = render(&mut a, 100, 40);
        let y = s.lines().position(|l| l.contains("SR-77")).unwrap() as u16;
        if (0..100).any(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)) {
            assert!(sel.contains("SR-77"));
            break;
        }
        press(&mut a, KeyCode::Char('j'));
    }
    // x asks first (issue #15 item 10); n keeps it open
    press(&mut a, KeyCode::Char('x'));
    let s = screen(&mut a, 100, 40);
    assert!(
        s.contains("Close ticket SR-77 of Dell today (2026-11-22)?"),
        "{s}"
    );
    press(&mut a, KeyCode::Char('n'));
    assert_eq!(
        a.store.vendor("Dell").unwrap().tickets[0].status,
        TicketStatus::Open
    );
    press(&mut a, KeyCode::Char('x'));
    press(&mut a, KeyCode::Char('y'));
    let v = a.store.vendor("Dell").unwrap().clone();
    assert_eq!(v.tickets[0].status, TicketStatus::Closed);
    assert!(v.tickets[0].closed.is_some());
    // and a closed ticket can be reopened (asks too)
    press(&mut a, KeyCode::Char('x'));
    let s = screen(&mut a, 100, 40);
    assert!(s.contains("Reopen ticket SR-77 of Dell"), "{s}");
    press(&mut a, KeyCode::Char('y'));
    let v = a.store.vendor("Dell").unwrap().clone();
    assert_eq!(v.tickets[0].status, TicketStatus::Open);
    assert_eq!(v.tickets[0].closed, None);
    press(&mut a, KeyCode::Char('x'));
    press(&mut a, KeyCode::Char('y'));
    let journal = std::fs::read_to_string(dir.path().join("state/journal.toml")).unwrap();
    assert!(
        journal.contains("ticket.open")
            && journal.contains("ticket.close")
            && journal.contains("ticket.reopen"),
        "{journal}"
    );
    // a closed ticket's dates stay in order: closed before opened is refused
    press(&mut a, KeyCode::Char('e'));
    let s = screen(&mut a, 100, 40);
    assert!(s.contains("Closed"), "{s}");
    for _ in 0..2 {
        press(&mut a, KeyCode::Tab);
    }
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    write(&mut a, "2026-11-20");
    press(&mut a, KeyCode::Tab);
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    write(&mut a, "2026-11-10");
    press(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 100, 40);
    assert!(
        s.contains("closed 2026-11-10 before it was opened (2026-11-20)"),
        "{s}"
    );
    // Esc on a changed form asks before it drops the changes
    press(&mut a, KeyCode::Esc);
    let s = screen(&mut a, 100, 40);
    assert!(s.contains("Discard the changes?"), "{s}");
    press(&mut a, KeyCode::Char('y'));
    assert!(a.overlays.is_empty());
    // y on the ticket row copies its reference
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Copy(v)] if v == "SR-77"),
        "{cmds:?}"
    );
}

/// The TUI's edit form changes exactly the edited value: every comment,
/// blank line and untouched line of a hand-written file stays byte for byte.
#[test]
fn host_edit_form_changes_only_the_edited_line() {
    let original = r#"# Our servers. Keep this list short and honest.
# (Owner: the IT generalist; see the wiki for the rack plan.)

[[host]]
# the public web front
name = "web1"          # front
address = "10.0.0.11"  # DMZ
tags = ["web"]         # what it serves

    # an indented comment between tables

[[host]]
name = "db1"
vendor = "Dell"   # under warranty
# trailing comment of db1
"#;
    let dir = tempfile::tempdir().unwrap();
    let mut a = disk_app_with(dir.path(), original);
    press(&mut a, KeyCode::Char('2'));
    press(&mut a, KeyCode::Char('e'));
    // tags field is the sixth
    for _ in 0..5 {
        press(&mut a, KeyCode::Tab);
    }
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    write(&mut a, "web, prod");
    press(&mut a, KeyCode::Enter);
    let text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    let expected = original.replace(
        r#"tags = ["web"]         # what it serves"#,
        r#"tags = ["web", "prod"]         # what it serves"#,
    );
    assert_eq!(text, expected);
}

#[test]
fn host_edit_form_keeps_comments_and_add_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = disk_app(dir.path());
    press(&mut a, KeyCode::Char('2'));
    press(&mut a, KeyCode::Char('e'));
    // tags field is the sixth
    for _ in 0..5 {
        press(&mut a, KeyCode::Tab);
    }
    write(&mut a, "web, prod");
    press(&mut a, KeyCode::Enter);
    let text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    assert!(
        text.starts_with("# hosts\n[[host]]\nname = \"web1\"  # front\n"),
        "{text}"
    );
    assert!(text.contains("tags = [\"web\", \"prod\"]"), "{text}");
    // add: a duplicate name is an inline error, a new one is written
    press(&mut a, KeyCode::Char('a'));
    write(&mut a, "db1");
    press(&mut a, KeyCode::Enter);
    assert!(screen(&mut a, 80, 24).contains("exists already"));
    press(&mut a, KeyCode::Backspace);
    write(&mut a, "2");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab);
    write(&mut a, "99999");
    press(&mut a, KeyCode::Enter);
    assert!(screen(&mut a, 80, 24).contains("port 99999 is out of range"));
    a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    write(&mut a, "2222");
    press(&mut a, KeyCode::Enter);
    assert!(a.store.host("db2").is_some_and(|h| h.port == Some(2222)));
    // delete, confirmed
    press(&mut a, KeyCode::Char('G'));
    press(&mut a, KeyCode::Char('d'));
    press(&mut a, KeyCode::Char('y'));
    assert!(a.store.host("db2").is_none());
    let text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    assert!(!text.contains("db2") && text.contains("# front"), "{text}");
}

#[test]
fn unknown_host_key_asks_with_the_fingerprint() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    let k = UnknownKey {
        host_pattern: "[10.0.0.11]:22".into(),
        key_type: "ssh-ed25519".into(),
        fingerprint: "SHA256:Zm9vYmFyYmF6".into(),
        key_base64: "AAAAC3Nza".into(),
        known_hosts_file: "/home/u/.ssh/known_hosts".into(),
    };
    a.update(Action::Msg(Msg::Shell(ShellMsg::UnknownKey {
        host: "web1".into(),
        key: k,
    })));
    let s = screen(&mut a, 100, 30);
    for want in [
        "Unknown host key for web1",
        "ssh-ed25519",
        "SHA256:Zm9vYmFyYmF6",
        "known_hosts",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "accept key web1"),
        "{cmds:?}"
    );
    let cmds = a.update(Action::Msg(Msg::Shell(ShellMsg::KeyAccepted {
        host: "web1".into(),
        result: Ok(()),
    })));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "check 1 host"),
        "{cmds:?}"
    );
}

#[test]
fn live_check_results_fill_in_the_rows() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('G')); // backup1, never checked
    let cmds = key(&mut a, KeyCode::Char('c'));
    assert_eq!(cmds.len(), 1);
    let s = screen(&mut a, 100, 24);
    assert!(
        s.lines()
            .find(|l| l.contains("backup1"))
            .unwrap()
            .contains("checking"),
        "{s}"
    );
    let mut c = fixture_results().checks["web1"].clone();
    c.host = "backup1".into();
    c.status = Status::Warn;
    c.reasons = vec!["reboot required".into()];
    let hc = opsdeck::checks::HostCheck {
        check: c,
        patches: PatchReport {
            host: "backup1".into(),
            ..Default::default()
        },
        remote_cpu_ms: None,
        listing_ran: false,
        ssh_error: None,
    };
    a.update(Action::Msg(Msg::Shell(ShellMsg::Checked(Box::new(hc)))));
    let s = screen(&mut a, 100, 24);
    let row = s.lines().find(|l| l.contains("backup1")).unwrap();
    assert!(
        row.contains("WARN") && row.contains("reboot required"),
        "{row}"
    );
}

#[test]
fn run_view_fills_in_live_and_groups_identical_outputs() {
    use opsdeck::fleet::{HostRun, Outcome};
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    for _ in 0..3 {
        key(&mut a, KeyCode::Char(' '));
    }
    key(&mut a, KeyCode::Char('r'));
    typ(&mut a, "uptime");
    let cmds = key(&mut a, KeyCode::Enter);
    assert_eq!(cmds.len(), 1);
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("0/3 done") && s.contains("waiting: web1, web2, db1"),
        "{s}"
    );
    let run = |host: &str, out: &str, outcome: Outcome| HostRun {
        host: host.into(),
        exit_status: (outcome != Outcome::Unreachable).then_some(0),
        exit_signal: None,
        stdout: out.into(),
        stderr: String::new(),
        elapsed_ms: 5,
        outcome,
        error: (outcome == Outcome::Unreachable).then(|| "connection failed: refused".to_string()),
        output_dropped: 0,
        ssh_error: None,
    };
    for (h, o, oc) in [
        ("db1", "up 3 days\n", Outcome::Ok),
        ("web1", "up 3 days\n", Outcome::Ok),
    ] {
        a.update(Action::Msg(Msg::Shell(ShellMsg::RunResult {
            run: 1,
            result: Box::new(run(h, o, oc)),
        })));
    }
    let s = screen(&mut a, 100, 30);
    assert!(s.contains("2/3 done") && s.contains("waiting: web2"), "{s}");
    assert!(
        s.contains("2 hosts: web1, db1") && s.contains("up 3 days"),
        "{s}"
    );
    a.update(Action::Msg(Msg::Shell(ShellMsg::RunResult {
        run: 1,
        result: Box::new(run("web2", "", Outcome::Unreachable)),
    })));
    // the task (ops::run) journaled the run; the view only shows its end
    let cmds = a.update(Action::Msg(Msg::Shell(ShellMsg::RunDone {
        run: 1,
        line: "3 hosts: 2 ok, 0 failed, 0 timed out, 1 unreachable".into(),
    })));
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("3 hosts: 2 ok, 0 failed, 0 timed out, 1 unreachable"),
        "{s}"
    );
    assert!(s.contains("unreachable: connection failed: refused"), "{s}");

    // issue #15 item 11: search the output, copy it, save it
    key(&mut a, KeyCode::Char('/'));
    typ(&mut a, "days");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("/days 1/1 (n/N)"), "{s}");
    let cmds = key(&mut a, KeyCode::Char('y'));
    match &cmds[..] {
        [Command::Copy(text)] => {
            assert!(text.starts_with("$ uptime\n"), "{text}");
            assert!(
                text.contains("up 3 days") && text.contains("web2"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    let cmds = key(&mut a, KeyCode::Char('s'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "save run output"),
        "{cmds:?}"
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("saving the output to"), "{s}");
}

/// An unknown host key in a run: the same question as for a check, and on
/// yes the command runs again on that host, into the same view.
#[test]
fn run_asks_about_an_unknown_key_and_reruns_that_host() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('r'));
    typ(&mut a, "uptime");
    key(&mut a, KeyCode::Enter);
    // the run's typed error carries the key: asked at once, no second connection
    let unknown = UnknownKey {
        host_pattern: "[10.0.0.11]:22".into(),
        key_type: "ssh-ed25519".into(),
        fingerprint: "SHA256:abc".into(),
        key_base64: "AAAA".into(),
        known_hosts_file: "/k".into(),
    };
    let cmds = a.update(Action::Msg(Msg::Shell(ShellMsg::RunResult {
        run: 1,
        result: Box::new(FleetRun {
            host: "web1".into(),
            exit_status: None,
            exit_signal: None,
            stdout: String::new(),
            stderr: String::new(),
            elapsed_ms: 5,
            outcome: RunOutcome::Unreachable,
            error: Some("unknown host key for [10.0.0.11]:22: ssh-ed25519 SHA256:abc (not in k); accept it in the TUI or run with --accept-new".into()),
            output_dropped: 0,
            ssh_error: Some(opsdeck::ssh::SshError::HostKeyUnknown(unknown)),
        }),
    })));
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("Unknown host key for web1") && s.contains("SHA256:abc"),
        "{s}"
    );
    let cmds = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "accept key web1"),
        "{cmds:?}"
    );
    let cmds = a.update(Action::Msg(Msg::Shell(ShellMsg::KeyAccepted {
        host: "web1".into(),
        result: Ok(()),
    })));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "run `uptime` on 1 host"),
        "{cmds:?}"
    );
    // still the one run view
    assert_eq!(
        a.overlays
            .iter()
            .filter(|o| matches!(o, Overlay::Run(_)))
            .count(),
        1
    );
}

/// A changed key is never asked about: shown with both fingerprints.
#[test]
fn a_changed_key_is_shown_and_not_asked_about() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    let cmds = key(&mut a, KeyCode::Char('c'));
    assert_eq!(cmds.len(), 1);
    let mut c = fixture_results().checks["web1"].clone();
    c.status = Status::Crit;
    let error = opsdeck::ssh::SshError::HostKeyChanged("web1 now offers ssh-ed25519 key SHA256:NEW, but /k:3 records SHA256:OLD. Someone may be intercepting the connection".into());
    c.error = Some(error.to_string());
    let cmds = a.update(Action::Msg(Msg::Shell(ShellMsg::Checked(Box::new(
        opsdeck::checks::HostCheck {
            check: c,
            patches: PatchReport {
                host: "web1".into(),
                ..Default::default()
            },
            remote_cpu_ms: None,
            listing_ran: false,
            ssh_error: Some(error),
        },
    )))));
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("HOST KEY CHANGED for web1")
            && s.contains("SHA256:NEW")
            && s.contains("SHA256:OLD"),
        "{s}"
    );
    assert!(!s.contains("Accept it"), "{s}");
}

#[test]
fn esc_glued_to_the_next_key_is_esc_then_the_key() {
    // terminals and tmux deliver a quick Esc-then-q as Alt-q
    let mut a = app();
    key(&mut a, KeyCode::Char('?'));
    assert!(!a.overlays.is_empty());
    let cmds = a.update(Action::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::ALT,
    )));
    assert!(a.overlays.is_empty());
    assert!(matches!(&cmds[..], [Command::Quit]), "{cmds:?}");
}

/// Issue #15 item 3 / #11 class 15: an unreachable host showed `sec 0` in
/// Patches, "Patches: 0 security" in the Overview and the tab count
/// dropped. Its last known figures stay, marked stale ("(3)", "(5m old)"),
/// in every pane, the Overview and the report.
#[test]
fn an_unreachable_host_keeps_its_last_known_figures_marked_stale() {
    let mut a = app();
    let before = screen(&mut a, 80, 24);
    assert!(before.contains("3 Patches 1!"), "{before}");
    let error = "connection failed: Connection refused (os error 111)";
    let hc = opsdeck::checks::HostCheck {
        check: CheckResult {
            host: "web1".into(),
            status: Status::Crit,
            error: Some(error.into()),
            reasons: vec!["unreachable".into()],
            elapsed_ms: 3,
            checked_at: "2026-11-22T11:59:00Z".into(),
            facts: None,
            last_known: None,
        },
        patches: PatchReport {
            host: "web1".into(),
            error: Some(error.into()),
            checked_at: Some("2026-11-22T11:59:00Z".into()),
            ..Default::default()
        },
        remote_cpu_ms: None,
        listing_ran: false,
        ssh_error: None,
    };
    a.update(Action::Msg(Msg::Shell(ShellMsg::Checked(Box::new(hc)))));

    key(&mut a, KeyCode::Char('3'));
    let s = screen(&mut a, 80, 24);
    // the tab count keeps the host with its pending security updates
    assert!(s.contains("3 Patches 1!"), "{s}");
    let row = s.lines().find(|l| l.contains("web1")).unwrap();
    assert!(row.contains("(3)") && row.contains("(12)"), "{row}");
    assert!(row.contains("refused"), "{row}");
    assert!(!row.contains(" 0 "), "{row}");
    // web2 never had facts: unknown, not 0
    let row = s.lines().find(|l| l.contains("web2")).unwrap();
    assert!(row.contains('?') && !row.contains(" 0 "), "{row}");

    key(&mut a, KeyCode::Char('1'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Patches: 3 security on 1 host"), "{s}");
    assert!(s.contains("1 host last known"), "{s}");

    key(&mut a, KeyCode::Char('2'));
    let s = screen(&mut a, 120, 24);
    let row = s.lines().find(|l| l.contains("web1")).unwrap();
    assert!(
        row.contains("refused") && row.contains("(5m old) Debian 12"),
        "{row}"
    );
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 100, 40);
    assert!(
        s.contains("last known facts, gathered 2026-11-22T11:55:00Z"),
        "{s}"
    );

    // the report (from the same data as state/ would hold it)
    let snap = opsdeck::overview::Snapshot {
        thresholds: Thresholds::default(),
        hosts: a.store.hosts.clone(),
        vendors: vec![],
        jobs: vec![],
        checks: a.results.checks.values().cloned().collect(),
        patches: a.results.patches.values().cloned().collect(),
        backups: vec![],
        security_since: vec![],
        eol: opsdeck::lifecycle::EolTable::embedded(),
        watch: vec![],
        notes: vec![],
    };
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let r = opsdeck::report::build(&snap, &[], now, opsdeck::overview::today_of(now));
    let web1 = r.hosts.iter().find(|h| h.name == "web1").unwrap();
    assert_eq!(web1.security_pending, Some(3));
    assert_eq!(web1.facts_as_of.as_deref(), Some("2026-11-22T11:55:00Z"));
    let md = opsdeck::report::to_markdown(&r);
    assert!(md.contains("figures: last known, 2026-11-22"), "{md}");
}

/// The carry-forward is kept in state/ by `checks::save` (the TUI's sweep
/// and `opsdeck check` share it): after a failed check the host's last
/// known facts are still there, with the time they were gathered, and a
/// second failure keeps them.
#[test]
fn a_failed_check_keeps_the_last_known_facts_in_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::load(Home::under(dir.path())).unwrap();
    let good = fixture_results().checks["web1"].clone();
    let hc = |check: CheckResult| opsdeck::checks::HostCheck {
        patches: PatchReport {
            host: check.host.clone(),
            ..Default::default()
        },
        check,
        remote_cpu_ms: None,
        listing_ran: false,
        ssh_error: None,
    };
    opsdeck::ops::check::save(&store, &[hc(good.clone())], "check", "web1").unwrap();
    for at in ["2026-11-22T12:10:00Z", "2026-11-22T12:20:00Z"] {
        let failed = CheckResult {
            status: Status::Crit,
            error: Some("timed out: connect".into()),
            checked_at: at.into(),
            facts: None,
            ..good.clone()
        };
        opsdeck::ops::check::save(&store, &[hc(failed)], "check", "web1").unwrap();
        let saved: Vec<CheckResult> = store.load_state(opsdeck::store::StateKind::Checks).items;
        let web1 = saved.iter().find(|c| c.host == "web1").unwrap();
        assert_eq!(web1.checked_at, at);
        assert!(web1.facts.is_none());
        let last = web1.last_known.as_ref().expect("last known facts kept");
        assert_eq!(last.checked_at, good.checked_at);
        assert_eq!(Some(&last.facts), good.facts.as_ref());
    }
}

fn at(app: &mut App, secs: i64) {
    let t: jiff::Timestamp = NOW.parse().unwrap();
    app.update(Action::Tick(
        jiff::Timestamp::from_second(t.as_second() + secs).unwrap(),
    ));
}

fn footer(app: &mut App) -> String {
    screen(app, 80, 24)
        .lines()
        .nth(23)
        .unwrap_or("")
        .to_string()
}

/// Issue #15 item 5: the key hints vanished for good after the first
/// message, messages never expired and errors looked like any message.
#[test]
fn messages_fade_the_key_bar_comes_back_errors_stay_until_a_key() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    let f = footer(&mut a);
    assert!(f.contains("c check") && f.contains("? help"), "{f}");
    key(&mut a, KeyCode::Char('Z'));
    let f = footer(&mut a);
    assert!(f.contains("does nothing here"), "{f}");
    // the event loop is told when to wake up for the fade (no busy loop)
    let wake = a.next_wake().expect("a wake-up for the fade");
    assert!(wake <= std::time::Duration::from_millis(5100), "{wake:?}");
    at(&mut a, 6);
    let f = footer(&mut a);
    assert!(f.contains("? help") && !f.contains("does nothing"), "{f}");
    assert_eq!(a.next_wake(), None);

    // an error: styled, prefixed, it stays
    a.update(Action::Msg(Msg::Status(Err(
        "the store writer stopped".into()
    ))));
    at(&mut a, 60);
    let buf = render(&mut a, 80, 24);
    let f = text(&buf).lines().nth(23).unwrap().to_string();
    assert!(f.starts_with("error: the store writer stopped"), "{f}");
    assert_eq!(buf[(0, 23)].fg, Color::Red);
    assert!(buf[(0, 23)].modifier.contains(Modifier::BOLD));
    assert_eq!(a.next_wake(), None);
    // a later message does not hide it; Esc dismisses it and does nothing else
    a.update(Action::Msg(Msg::Status(Ok("backups checked".into()))));
    assert!(footer(&mut a).starts_with("error:"));
    key(&mut a, KeyCode::Esc);
    let f = footer(&mut a);
    assert!(!f.contains("error:") && f.contains("? help"), "{f}");
    // a key typed at once (before the error could be read) leaves it up;
    // later any key dismisses it and does what it does
    a.update(Action::Msg(Msg::Status(Err("no route".into()))));
    key(&mut a, KeyCode::Char('j'));
    assert!(footer(&mut a).starts_with("error: no route"));
    at(&mut a, 125);
    key(&mut a, KeyCode::Char('3'));
    let s = screen(&mut a, 80, 24);
    let f = s.lines().nth(23).unwrap();
    assert!(!f.contains("error:") && s.contains("› Patches"), "{s}");
}

/// Issue #15 item 6: marks could not be cleared and silently redirected
/// a later `c`. Esc clears them, `*` marks what the filter shows, and the
/// footer says how many are marked.
#[test]
fn marks_are_shown_cleared_and_marked_by_filter() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char(' ')); // marks web1, moves to web2
    let f = footer(&mut a);
    assert!(f.contains("1 marked"), "{f}");
    // Esc: the marks go, `c` acts on the selected row again
    key(&mut a, KeyCode::Esc);
    let f = footer(&mut a);
    assert!(f.contains("1 row unmarked"), "{f}");
    let cmds = key(&mut a, KeyCode::Char('c'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "check 1 host"),
        "{cmds:?}"
    );
    assert!(a.results.checking.contains("web2") && !a.results.checking.contains("web1"));
    // `*` marks what the filter shows
    key(&mut a, KeyCode::Char('/'));
    typ(&mut a, "web");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('*'));
    let f = footer(&mut a);
    assert!(f.contains("2 rows marked (what the filter shows)"), "{f}");
    at(&mut a, 6);
    let f = footer(&mut a);
    assert!(f.contains("2 marked"), "{f}");
    let f = screen(&mut a, 140, 24).lines().nth(23).unwrap().to_string();
    assert!(f.contains("acts on 2 marked (Esc clears)"), "{f}");
    key(&mut a, KeyCode::Esc); // the filter first
    key(&mut a, KeyCode::Esc); // then the marks
    let f = footer(&mut a);
    assert!(
        f.contains("2 rows unmarked") && !f.contains("use them"),
        "{f}"
    );
    // the help says Space moves down
    key(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 100, 60);
    assert!(s.contains("mark the row and move down"), "{s}");
}

/// Issue #15 item 7: no spinner or elapsed time, and the counter lagged
/// behind the rows.
#[test]
fn running_work_shows_a_spinner_the_time_and_a_true_counter() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    key(&mut a, KeyCode::Char('C'));
    at(&mut a, 3);
    let f = footer(&mut a);
    assert!(f.contains("check 4 hosts 0/4 3s (J)"), "{f}");
    assert!(
        ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
            .iter()
            .any(|s| f.contains(s)),
        "{f}"
    );
    // the loop wakes up for the spinner while something runs
    assert!(a.next_wake().is_some());
    let mut c = fixture_results().checks["web2"].clone();
    c.host = "db1".into();
    a.update(Action::Msg(Msg::Shell(ShellMsg::Checked(Box::new(
        opsdeck::checks::HostCheck {
            check: c,
            patches: PatchReport {
                host: "db1".into(),
                ..Default::default()
            },
            remote_cpu_ms: None,
            listing_ran: false,
            ssh_error: None,
        },
    )))));
    let f = footer(&mut a);
    assert!(f.contains("1/4"), "{f}");
    key(&mut a, KeyCode::Char('J'));
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains("running") && s.contains("1/4") && s.contains("3s"),
        "{s}"
    );
}

fn unknown(host: &str, n: usize) -> UnknownKey {
    UnknownKey {
        host_pattern: format!("[{host}]:22"),
        key_type: "ssh-ed25519".into(),
        fingerprint: format!("SHA256:fp{n}Zm9vYmFy"),
        key_base64: "AAAAC3Nza".into(),
        known_hosts_file: "/home/u/.ssh/known_hosts".into(),
    }
}

/// Issue #15 item 8: 22 new hosts meant 22 questions, and the question
/// took unrelated keys. All unknown keys met so far are listed with their
/// fingerprints; `a` accepts exactly those, `y`/`n` the first; other keys
/// are ignored.
#[test]
fn unknown_keys_are_listed_together_and_accepted_at_once() {
    let mut a = app();
    key(&mut a, KeyCode::Char('2'));
    for (i, h) in ["web1", "web2"].iter().enumerate() {
        a.update(Action::Msg(Msg::Shell(ShellMsg::UnknownKey {
            host: h.to_string(),
            key: unknown(h, i),
        })));
    }
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("2 hosts present a host key"), "{s}");
    assert!(s.contains("SHA256:fp0") && s.contains("SHA256:fp1"), "{s}");
    assert!(s.contains("a accept all 2 listed"), "{s}");
    // a key met while the question is open joins the list
    a.update(Action::Msg(Msg::Shell(ShellMsg::UnknownKey {
        host: "db1".into(),
        key: unknown("db1", 2),
    })));
    let s = screen(&mut a, 80, 24);
    assert!(
        s.contains("3 hosts present") && s.contains("SHA256:fp2"),
        "{s}"
    );
    // not an answer: ignored (the Hosts pane keeps its selection)
    let cmds = key(&mut a, KeyCode::Char('c'));
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("answer with y (accept web1 only)"), "{s}");
    // n refuses the first; the others stay listed
    key(&mut a, KeyCode::Char('n'));
    let s = screen(&mut a, 80, 24);
    assert!(
        s.contains("2 hosts present") && !s.contains("SHA256:fp0"),
        "{s}"
    );
    // a: one job records both, then each host is checked again
    let cmds = key(&mut a, KeyCode::Char('a'));
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "accept 2 keys"),
        "{cmds:?}"
    );
    assert!(!screen(&mut a, 80, 24).contains("present a host key"));
    let mut jobs = Vec::new();
    for h in ["web2", "db1"] {
        jobs.extend(a.update(Action::Msg(Msg::Shell(ShellMsg::KeyAccepted {
            host: h.into(),
            result: Ok(()),
        }))));
    }
    assert!(
        jobs.iter()
            .any(|c| matches!(c, Command::Job { job, .. } if job.what == "check 1 host")),
        "{jobs:?}"
    );
    assert!(a.results.checking.contains("web2"));
}

/// Issue #15 item 9: some columns were cut without an ellipsis.
#[test]
fn cut_columns_end_in_an_ellipsis_at_80_columns() {
    let mut a = app();
    a.store.hosts.push(Host {
        name: "a-very-long-hostname-01".into(),
        ..Default::default()
    });
    a.store.vendors[1].name = "Fiber Networks International".into();
    a.refresh_all();
    key(&mut a, KeyCode::Char('3'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("a-very-long-h…"), "{s}");
    key(&mut a, KeyCode::Char('5'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Fiber Networks In…"), "{s}");
}

fn form_error_after(a: &mut App, field_tabs: usize, value: &str) -> String {
    press(a, KeyCode::Char('a'));
    for _ in 0..field_tabs {
        press(a, KeyCode::Tab);
    }
    write(a, value);
    press(a, KeyCode::Enter);
    let s = screen(a, 100, 40);
    // drop the form (it asks: something was typed)
    press(a, KeyCode::Esc);
    press(a, KeyCode::Char('y'));
    s
}

/// Issue #15 item 10: host names with quotes, '#' or accents, a jump host
/// on port 99999 and "contoso isp" beside "Contoso ISP" were accepted; a
/// bad address was told "a name cannot contain spaces".
#[test]
fn forms_refuse_bad_names_addresses_ports_and_case_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = disk_app(dir.path());
    press(&mut a, KeyCode::Char('2'));
    for (tabs, value, want) in [
        (0, "we\"b", "`\"` is not allowed"),
        (0, "web#2", "`#` is not allowed"),
        (0, "mañana", "`ñ` (not ASCII)"),
        (0, "WEB1", "a host named web1 exists already"),
        (1, "10.0.0.300", "cannot be an address: it is not an IPv4"),
        (2, "99999", "port 99999 is out of range (1 to 65535)"),
        (
            4,
            "bastion:99999",
            "jump host `bastion:99999`: `99999` is not a port",
        ),
    ] {
        let s = if tabs == 0 {
            form_error_after(&mut a, 0, value)
        } else {
            // a valid name first, then the field
            press(&mut a, KeyCode::Char('a'));
            write(&mut a, "new1");
            for _ in 0..tabs {
                press(&mut a, KeyCode::Tab);
            }
            write(&mut a, value);
            press(&mut a, KeyCode::Enter);
            let s = screen(&mut a, 100, 40);
            press(&mut a, KeyCode::Esc);
            press(&mut a, KeyCode::Char('y'));
            s
        };
        assert!(s.contains(want), "{value}: want {want}\n{s}");
    }
    let text = std::fs::read_to_string(dir.path().join("hosts.toml")).unwrap();
    assert!(!text.contains("new1") && !text.contains("WEB1"), "{text}");

    press(&mut a, KeyCode::Char('5'));
    let s = form_error_after(&mut a, 0, "dell");
    assert!(s.contains("a vendor named Dell exists already"), "{s}");
    // the store refuses it too (the command line goes through it)
    let mut store = a.store.clone();
    let e = store
        .add_vendor(Vendor {
            name: "DELL".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "a vendor named `Dell` exists already");
}

fn rows_of(s: &str, names: &[&str]) -> Vec<String> {
    s.lines()
        .filter_map(|l| {
            names
                .iter()
                .find(|n| l.split_whitespace().next() == Some(**n))
                .map(|n| n.to_string())
        })
        .collect()
}

/// Issue #15 item 11: sort by a column with problems first by default,
/// `@tag` in the filter as on the command line, the load per CPU as the
/// rules count it.
#[test]
fn sort_by_column_tag_filter_and_load_per_cpu() {
    let mut a = app();
    a.store.hosts[2].tags = vec!["webshop".into()]; // db1: a tag that starts with "web"
    a.refresh_all();
    key(&mut a, KeyCode::Char('2'));
    let names = ["web1", "web2", "db1", "backup1"];
    let s = screen(&mut a, 120, 24);
    assert!(s.contains("Hosts 4 · by status (o)"), "{s}");
    // problems first: the two CRIT, then the never checked
    assert_eq!(rows_of(&s, &names), ["web1", "web2", "db1", "backup1"]);
    key(&mut a, KeyCode::Char('o'));
    let s = screen(&mut a, 120, 24);
    assert_eq!(
        rows_of(&s, &names),
        ["backup1", "db1", "web1", "web2"],
        "{s}"
    );
    key(&mut a, KeyCode::Char('o'));
    let s = screen(&mut a, 120, 24);
    assert!(s.contains("by last check"), "{s}");
    // never checked first, then the oldest check
    assert_eq!(
        rows_of(&s, &names),
        ["db1", "backup1", "web2", "web1"],
        "{s}"
    );
    // the selection stays on its row when the order changes
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::Char('o'));
    let s = screen(&mut a, 120, 24);
    assert!(s.contains("by disk"), "{s}");
    assert_eq!(rows_of(&s, &names)[0], "web1", "{s}");

    // @tag matches the tag only; a word matches anywhere
    key(&mut a, KeyCode::Char('/'));
    typ(&mut a, "@web");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 120, 24);
    assert_eq!(rows_of(&s, &names).len(), 2, "{s}");
    assert!(!rows_of(&s, &names).contains(&"db1".to_string()), "{s}");
    key(&mut a, KeyCode::Esc);

    // the load as the rules count it: per CPU (0.1 on 4 CPUs)
    let s = screen(&mut a, 200, 24);
    assert!(s.contains("load 0.03/cpu"), "{s}");
}
