//! The Patches pane, driven through the app shell without a terminal
//! (Actions in, TestBackend out): rendering at 80x24, details, and a whole
//! `u` → plan job → confirm dialog → apply job → live log → re-check cycle
//! against a real loopback sshd with the stand-in apt-get. The jobs the pane
//! asks for are run here the way the runner would (blocking closure on a
//! thread, async task on a runtime), their messages fed back as Actions.

mod common;
#[path = "common/stub_pm.rs"]
mod stub_pm;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::model::{Host, PatchReport, Update};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions};
use opsdeck::store::{Home, Store};
use opsdeck::ui::app::{Action, App, Command};
use opsdeck::ui::msg::{Msg, Results};
use opsdeck::ui::overlay::Overlay;
use opsdeck::ui::pane::{JobHandle, JobWork, PaneId};
use opsdeck::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stub_pm::{pkg, Stub, DEBIAN, DEBIAN_SECURITY};

const NOW: &str = "2026-11-22T12:00:00Z";

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    app.update(Action::Resize(w, h));
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| app.draw(f)).unwrap();
    let buf = term.backend().buffer().clone();
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

fn upd(p: &str, from: &str, to: &str, sec: Option<bool>) -> Update {
    Update {
        package: p.into(),
        installed: Some(from.into()),
        candidate: to.into(),
        origin: Some("Debian:12/stable".into()),
        security: sec,
    }
}

fn fixture() -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::load(Home::under(dir.path())).unwrap();
    store.hosts = ["web1", "db1", "alp1"]
        .iter()
        .map(|n| Host {
            name: n.to_string(),
            ..Default::default()
        })
        .collect();
    let mut results = Results::default();
    results.patches.insert(
        "web1".into(),
        PatchReport {
            host: "web1".into(),
            package_manager: Some("apt".into()),
            reboot_required: Some(true),
            metadata_age_s: Some(7200),
            updates: vec![
                upd("bash", "5.2.15-2+b8", "5.2.15-2+b13", Some(false)),
                upd("libc6", "2.36-9+deb12u7", "2.36-9+deb12u10", Some(true)),
            ],
            checked_at: Some("2026-11-22T11:55:00Z".into()),
            ..Default::default()
        },
    );
    results.patches.insert(
        "alp1".into(),
        PatchReport {
            host: "alp1".into(),
            package_manager: Some("apk".into()),
            reboot_required: None,
            metadata_age_s: None,
            updates: vec![upd("musl", "1.2.4-r2", "1.2.4-r3", None)],
            checked_at: Some("2026-11-22T11:00:00Z".into()),
            ..Default::default()
        },
    );
    let engine = Engine::with_agent(
        &store.settings.ssh,
        EngineOptions::default(),
        AgentChoice::Off,
    );
    let mut app = App::new(store, results, Theme::mono(), engine);
    app.update(Action::Tick(NOW.parse().unwrap()));
    app
}

#[test]
fn the_pane_shows_counts_reboot_and_metadata_age_at_80x24() {
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    // the tab's counts where the tab bar has room for them
    let wide = screen(&mut app, 120, 24);
    assert!(wide.contains("3 Patches 2 (1!)"), "{wide}");
    // at 80 columns, what is critical keeps its number
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("3 Patches 1!"), "{s}");
    let row = |name: &str| {
        s.lines()
            .find(|l| l.contains(name) && !l.contains("Patches"))
            .unwrap_or_else(|| panic!("no row {name}: {s}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("web1"), "web1 apt 1 2 yes 2h 5m ago");
    assert_eq!(row("alp1"), "alp1 apk ? 1 ? ? 60m ago");
    assert_eq!(row("db1"), "db1 never");
    // Enter: the host's updates, security first.
    key(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 80, 24);
    let a = s
        .find("[security] libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10")
        .unwrap_or(usize::MAX);
    let b = s.find("bash 5.2.15-2+b8 -> 5.2.15-2+b13").unwrap_or(0);
    assert!(a < b, "{s}");
    assert!(s.contains("reboot required: yes"), "{s}");
}

#[test]
fn every_key_is_in_the_help() {
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    let keys: Vec<String> = app
        .pane(PaneId::PATCHES)
        .keys()
        .iter()
        .map(|k| k.keys.clone())
        .collect();
    for k in ["Enter", "Space", "u", "U", "f", "R", "l"] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
}

/// Run the jobs among `cmds` as the runner would; feed their messages back.
fn run_jobs(app: &mut App, rt: &tokio::runtime::Runtime, cmds: Vec<Command>) -> Vec<Command> {
    let mut later = Vec::new();
    for c in cmds {
        let Command::Job { id, pane, job, .. } = c else {
            later.push(c);
            continue;
        };
        if pane != Some(PaneId::PATCHES) {
            later.push(Command::Job {
                id,
                pane,
                job,
                cancel: Default::default(),
            });
            continue;
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let jh = JobHandle::for_test(id.0, pane, tx);
        match job.work {
            JobWork::Blocking(f) => std::thread::spawn(move || f(jh)).join().unwrap(),
            JobWork::Async(f) => rt.block_on(f(jh)),
        }
        let mut msgs = Vec::new();
        while let Ok(m) = rx.try_recv() {
            msgs.push(m);
        }
        msgs.push(Msg::JobDone { job: id, pane });
        for m in msgs {
            let more = app.update(Action::Msg(m));
            later.extend(run_jobs(app, rt, more));
        }
    }
    later
}

#[test]
fn u_plans_asks_applies_streams_journals_and_rechecks() {
    let mut fleet = common::sshd::Fleet::new(Default::default());
    fleet.add_host("web1", stub_pm::host_options());
    fleet.add_host("web2", stub_pm::host_options());
    for h in ["web1", "web2"] {
        Stub::of(&fleet, h).set_packages(&[
            pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", DEBIAN),
            pkg(
                "libc6",
                "2.36-9+deb12u7",
                "2.36-9+deb12u10",
                DEBIAN_SECURITY,
            ),
        ]);
    }
    let store = Store::load(Home::under(fleet.home())).unwrap();
    let engine = Engine::with_agent(
        &store.settings.ssh,
        EngineOptions::default(),
        AgentChoice::Off,
    );
    let mut app = App::new(store.clone(), Results::default(), Theme::mono(), engine);
    app.update(Action::Tick(NOW.parse().unwrap()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char(' ')); // mark web1
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char(' ')); // mark web2
    let cmds = key(&mut app, KeyCode::Char('U'));
    assert!(
        cmds.iter().any(|c| matches!(c, Command::Job { .. })),
        "{cmds:?}"
    );
    // Nothing reached the hosts but the simulation, and only after the job ran.
    let rest = run_jobs(&mut app, &rt, cmds);
    assert!(rest.is_empty(), "{rest:?}");
    let s = screen(&mut app, 100, 30);
    assert!(
        s.contains("Apply 2 security package changes on 2 hosts?"),
        "{s}"
    );
    assert!(
        s.contains("web1: 1 package changes (apt security updates)"),
        "{s}"
    );
    assert!(
        s.contains("libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10 [security]"),
        "{s}"
    );
    for h in ["web1", "web2"] {
        let stub = Stub::of(&fleet, h);
        assert!(stub
            .calls("apt-get")
            .iter()
            .all(|c| c.starts_with("apt-get -s ")));
        assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u7"));
    }

    // Yes: the apply job; its output goes to the log view.
    let cmds = key(&mut app, KeyCode::Char('y'));
    let rest = run_jobs(&mut app, &rt, cmds);
    // Each host was re-checked by the task right after its own apply (as
    // `opsdeck patch apply` does): no sweep is left to start.
    assert!(
        !rest
            .iter()
            .any(|c| matches!(c, Command::Job { job, .. } if job.what.contains("check"))),
        "{rest:?}"
    );
    let log = app
        .overlays
        .iter()
        .find_map(|o| match o {
            Overlay::Text(v) if v.title == "Patch log" => Some(
                v.text
                    .lines()
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .expect("the log view is open");
    assert!(
        log.iter()
            .any(|l| l == "web2 | Unpacking libc6 (2.36-9+deb12u10) over (2.36-9+deb12u7) ..."),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l == "== web1: ok: 1 changed"),
        "{log:#?}"
    );
    for h in ["web1", "web2"] {
        let stub = Stub::of(&fleet, h);
        assert_eq!(stub.installed("libc6").as_deref(), Some("2.36-9+deb12u10"));
        assert_eq!(stub.installed("bash").as_deref(), Some("5.2.15-2+b8"));
    }
    let journal = store.read_journal().unwrap();
    let applied: Vec<&str> = journal
        .iter()
        .filter(|e| e.action == "patch.apply")
        .map(|e| e.target.as_str())
        .collect();
    assert_eq!(applied, ["web1", "web2"]);
    assert!(journal
        .iter()
        .filter(|e| e.action == "patch.apply")
        .all(|e| e
            .details
            .contains(&"changed: libc6 2.36-9+deb12u7 -> 2.36-9+deb12u10".to_string())));
    for h in ["web1", "web2"] {
        let applied = journal
            .iter()
            .position(|e| e.action == "patch.apply" && e.target == h);
        let checked = journal
            .iter()
            .rposition(|e| e.action == "check" && e.target == h);
        assert!(
            matches!((applied, checked), (Some(a), Some(c)) if a < c),
            "{h}: re-checked after its apply: {journal:#?}"
        );
        // the fresh result is on screen without a sweep: libc6 is done,
        // bash (not a security update) still pending
        let r = &app.results.patches[h];
        let pending: Vec<&str> = r.updates.iter().map(|u| u.package.as_str()).collect();
        assert!(r.error.is_none() && pending == ["bash"], "{h}: {r:?}");
    }
}

#[test]
fn refresh_and_reboot_ask_first() {
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    let cmds = key(&mut app, KeyCode::Char('R'));
    assert!(cmds.is_empty(), "nothing runs before the answer: {cmds:?}");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("REBOOT 1 host?"), "{s}");
    assert!(s.contains("web1 (reboot required)"), "{s}");
    // issue #15 item 10: a reboot is not `R` and `y` away: the host's name
    // is typed
    assert!(s.contains("type web1 and Enter to confirm"), "{s}");
    let cmds = key(&mut app, KeyCode::Char('y'));
    assert!(cmds.is_empty());
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("type web1 exactly, or Esc"), "{s}");
    key(&mut app, KeyCode::Backspace);
    for c in "web1".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&cmds[..], [Command::Job { job, .. }] if job.what == "reboot 1 host"),
        "{cmds:?}"
    );
}

#[test]
fn refresh_asks_first() {
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    let cmds = key(&mut app, KeyCode::Char('f'));
    assert!(cmds.is_empty());
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("Refresh the package metadata (as root) on 1 host?"),
        "{s}"
    );
    assert!(s.contains("web1 (metadata 2h old)"), "{s}");
}

/// A plan that failed on an unknown host key goes to the shell's one
/// host-key question; once the key is recorded the host is planned again.
#[test]
fn a_plan_failing_on_an_unknown_key_asks_and_plans_again() {
    use opsdeck::ops::patch::PlanFailed;
    use opsdeck::ssh::{SshError, UnknownKey};
    use opsdeck::ui::msg::PatchMsg;
    use opsdeck::ui::msg::ShellMsg;
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    let unknown = UnknownKey {
        host_pattern: "[10.0.0.1]:22".into(),
        key_type: "ssh-ed25519".into(),
        fingerprint: "SHA256:q".into(),
        key_base64: "AAAA".into(),
        known_hosts_file: "/k".into(),
    };
    let error = SshError::HostKeyUnknown(unknown);
    let cmds = app.update(Action::Msg(Msg::Job {
        job: opsdeck::ui::msg::JobId(9),
        pane: Some(PaneId::PATCHES),
        msg: PatchMsg::Planned {
            security_only: true,
            plans: vec![(
                Host {
                    name: "web1".into(),
                    ..Default::default()
                },
                Err(PlanFailed {
                    message: format!("web1: {error}"),
                    ssh_error: Some(error),
                }),
            )],
        }
        .into(),
    }));
    // the typed error carries the key: asked at once, no second connection
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Job { .. })),
        "{cmds:?}"
    );
    // the "What would change" text is up; the question comes on top of it
    let s = screen(&mut app, 100, 30);
    assert!(
        s.contains("Unknown host key for web1") && s.contains("SHA256:q"),
        "{s}"
    );
    key(&mut app, KeyCode::Char('y'));
    let cmds = app.update(Action::Msg(Msg::Shell(ShellMsg::KeyAccepted {
        host: "web1".into(),
        result: Ok(()),
    })));
    assert!(
        cmds.iter().any(
            |c| matches!(c, Command::Job { job, .. } if job.what == "plan security updates on 1 host")
        ),
        "{cmds:?}"
    );
}

/// Issue #15 item 2: "Apply 135 package change(s) on 1 host(s)?" ran off
/// the bottom at 80x24 with its y/n line; the list could not scroll. The
/// question and the answers stay, the list scrolls and is searched.
#[test]
fn a_long_apply_question_keeps_its_answer_line_and_scrolls() {
    use opsdeck::patches::commands::Manager;
    use opsdeck::patches::parse::{Change, ChangeKind};
    use opsdeck::patches::run::HostPlan;
    use opsdeck::ui::msg::PatchMsg;
    let mut app = fixture();
    key(&mut app, KeyCode::Char('3'));
    let host = app.store.hosts[0].clone();
    let changes: Vec<Change> = (0..135)
        .map(|i| Change {
            package: format!("pkg{i:03}"),
            kind: ChangeKind::Upgrade,
            from: Some("1.0".into()),
            to: Some("1.1".into()),
            origin: None,
            security: None,
        })
        .collect();
    let plan = HostPlan {
        host: host.name.clone(),
        manager: Manager::Apt,
        root: true,
        user: "root".into(),
        security_only: false,
        apply_command: Some("apt-get -y upgrade".into()),
        simulate_command: "apt-get -s upgrade".into(),
        changes,
        held: vec![],
        kept_back: vec![],
        deferred: vec![],
        not_security: 0,
    };
    app.update(Action::Msg(Msg::Job {
        job: opsdeck::ui::msg::JobId(7),
        pane: Some(PaneId::PATCHES),
        msg: PatchMsg::Planned {
            security_only: false,
            plans: vec![(host, Ok(plan))],
        }
        .into(),
    }));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Apply 135 package changes on 1 host?"), "{s}");
    assert!(s.contains("pkg000"), "{s}");
    assert!(s.contains("y yes") && s.contains("n/Esc no"), "{s}");
    assert!(s.contains("more (j/k, PgDn, G)"), "{s}");
    // to the end: the last package and the answers are both on screen
    key(&mut app, KeyCode::Char('G'));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("pkg134") && !s.contains("pkg000"), "{s}");
    assert!(s.contains("y yes"), "{s}");
    // search: `/`, text, Enter; a `y` typed there is text, not yes
    key(&mut app, KeyCode::Char('/'));
    for c in "pkg0y".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('7'));
    key(&mut app, KeyCode::Enter);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("/pkg07 1/10 (n/N)"), "{s}");
    assert!(s.contains("pkg070") && !s.contains("pkg134"), "{s}");
    key(&mut app, KeyCode::Char('n'));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("/pkg07 2/10"), "{s}");
    // not an answer: ignored, and it says which are
    key(&mut app, KeyCode::Char('x'));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("answer with y (yes), Esc (no)"), "{s}");
    let cmds = key(&mut app, KeyCode::Char('y'));
    assert!(
        cmds.iter().any(
            |c| matches!(c, Command::Job { job, .. } if job.what == "apply updates on 1 host")
        ),
        "{cmds:?}"
    );
}
