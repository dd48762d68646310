//! The TUI. Data flows one way:
//! terminal event (crossterm EventStream on tokio) → [`app::Action`] →
//! `App::update` → state + [`app::Command`]s → the [`runner::Runner`]
//! executes them off the UI thread → [`pane::Msg`] back → update → draw.
//! Drawing is a pure function of the state and only happens when something
//! changed (input, a message, a resize, the slow `[ui] tick_s` tick);
//! bursts are coalesced (wait for one event, drain the rest, draw once, at
//! most ~60 frames a second), each frame inside a synchronized update.
//!
//! The pane contract is in [`pane`].

pub mod app;
pub mod editor;
pub mod errors;
pub mod footer;
pub mod hostkey;
pub mod msg;
pub mod osc52;
pub mod overlay;
pub mod pane;
pub mod panes;
pub mod runner;
pub mod runs;
pub mod sort;
pub mod status;
pub mod sweep;
pub mod theme;
pub mod validate;
pub mod view;
pub mod widgets;

use std::io::{self, IsTerminal, Write};
use std::task::Poll;
use std::time::{Duration, Instant};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate,
    EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute, queue};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::error::{exit, Failure};
use crate::ssh::{Engine, EngineOptions};
use crate::store::{Home, Store};
use app::{Action, App, Command};
use msg::{Msg, ShellMsg};

/// At most one frame per this interval.
const FRAME: Duration = Duration::from_millis(16);
/// While results pour in, the panes re-derive their rows at most this often.
const REFRESH_GAP: Duration = Duration::from_millis(100);
/// At most this long on messages before the loop reads keys and draws again.
const BATCH: Duration = Duration::from_millis(8);

/// Leave raw mode and the alternate screen, show the cursor. Safe to call twice.
pub fn restore_terminal() {
    let mut out = io::stdout();
    if MOUSE.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
}

/// `[ui] mouse = true`: the mouse is captured while the TUI has the screen.
static MOUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn enter_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        cursor::Hide,
        EnableBracketedPaste
    )?;
    if MOUSE.load(std::sync::atomic::Ordering::Relaxed) {
        execute!(io::stdout(), EnableMouseCapture)?;
    }
    Ok(())
}

/// Restores the terminal when dropped (every return path, errors included).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic on the UI thread restores the terminal, then prints as usual. A
/// panic in a job (another thread) must not tear the screen down or print
/// onto it: it is logged, and the job ends with an error in the status line.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore_terminal();
            tracing::error!("panic: {info}");
            previous(info);
        } else {
            tracing::error!(
                thread = std::thread::current().name().unwrap_or("?"),
                "panic in a background job: {info}"
            );
        }
    }));
}

/// Run the TUI until the user quits.
///
/// The files are loaded and validated before the terminal is touched: a
/// broken file prints `path:line:col: ...` on the normal screen (exit 78).
/// `OPSDECK_EXIT_AFTER_FIRST_FRAME=1` quits right after the first frame is
/// on the screen (the start-up benchmark).
pub fn run(home: Home) -> Result<(), Failure> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(Failure::usage(
            "the TUI needs a terminal; for scripts use the subcommands (opsdeck --help)",
        ));
    }
    let t0 = Instant::now();
    let store = Store::load(home.clone()).map_err(Failure::from)?;
    let _log = crate::logging::init_tui(&home);
    tracing::info!(
        hosts = store.hosts.len(),
        vendors = store.vendors.len(),
        backups = store.backups.len(),
        "files loaded in {:?}",
        t0.elapsed()
    );
    // the loop runs on this thread (block_on); every runtime thread, the
    // blocking pool included (SSH, `ssh -G`), is background work
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(background_priority)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot start the runtime: {e}")))?;
    install_panic_hook();
    let result = rt.block_on(event_loop(store, t0));
    // Blocking SSH work still in flight is cancelled; do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(300));
    result
}

/// Lower the calling thread's scheduling priority (nice +10; the
/// processes it starts, such as `ssh -G`, inherit it). Every thread but the
/// UI's calls this: a sweep of 1,000 hosts keeps both cores busy, and the
/// keyboard must still be answered at once (docs/performance.md).
pub fn background_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority on the calling thread only; no memory
    // is passed. A failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

fn io_fail(e: io::Error) -> Failure {
    Failure::new(exit::IOERR, format!("terminal: {e}"))
}

type Term = Terminal<CrosstermBackend<io::Stdout>>;

fn draw(term: &mut Term, app: &App) -> io::Result<()> {
    queue!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(|f| app.draw(f))?;
    execute!(term.backend_mut(), EndSynchronizedUpdate)
}

async fn event_loop(store: Store, t0: Instant) -> Result<(), Failure> {
    let theme = theme::Theme::detect(store.settings.ui.theme.as_str());
    let engine = Engine::new(&store.settings.ssh, EngineOptions::default()).with_home(&store.home);
    let tick = Duration::from_secs(store.settings.ui.tick_s.max(1));
    let exit_after_first =
        std::env::var_os("OPSDECK_EXIT_AFTER_FIRST_FRAME").is_some_and(|v| v == "1");
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let runner = runner::Runner::new(store.clone(), tx.clone());
    // state/ (latest results) is read while the first frame is drawn
    let loader = store.clone();
    let ltx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let t = std::time::Instant::now();
        let r = runner::load_results(&loader);
        let _ = ltx.send(Msg::Shell(ShellMsg::ResultsLoaded(Box::new(r))));
        tracing::info!("state/ read in {} ms", t.elapsed().as_millis());
        // then the watch's history (sparklines), which may be large
        let t = std::time::Instant::now();
        let names: Vec<String> = loader.hosts.iter().map(|h| h.name.clone()).collect();
        let now = crate::overview::now()
            .unwrap_or_else(|_| jiff::Timestamp::now())
            .as_second();
        let history = crate::watch::history::disk_sparks(&loader.home, &names, now, 30, 40);
        tracing::info!(
            "history of {} hosts read in {} ms",
            history.len(),
            t.elapsed().as_millis()
        );
        let _ = ltx.send(Msg::Shell(ShellMsg::HistoryLoaded(Box::new(history))));
    });
    let results = msg::Results {
        loading: true,
        ..Default::default()
    };
    let mut app = App::new(store, results, theme, engine);
    app.defer_refresh = true;
    app.tx = Some(tx.clone());
    app.editor = editor::editor_from_env();
    let mut startup = Vec::new();
    app.start_background(&mut startup);
    for c in startup {
        runner.execute(c);
    }

    // SIGINT while ssh runs in the foreground must not kill us: a handler
    // (not SIG_IGN, which a child would inherit) swallows it.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(io_fail)?;

    MOUSE.store(
        app.store.settings.ui.mouse,
        std::sync::atomic::Ordering::Relaxed,
    );
    enter_terminal().map_err(io_fail)?;
    let _guard = TerminalGuard;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout())).map_err(io_fail)?;
    let (w, h) = crossterm::terminal::size().map_err(io_fail)?;
    app.update(Action::Resize(w, h));
    let mut events = Some(EventStream::new());
    let mut first = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut last_refresh = Instant::now() - REFRESH_GAP;
    let mut need_draw = true;
    // messages left in the channel by the last batch (its time ran out)
    let mut backlog = false;
    let mut next_tick = tokio::time::Instant::now() + tick;
    let mut input_at: Option<Instant> = None;

    loop {
        let now = Instant::now();
        // the panes re-derive their rows at most every REFRESH_GAP while
        // results pour in, never once per result
        if app.needs_refresh() && now >= last_refresh + REFRESH_GAP {
            let t = Instant::now();
            app.flush();
            last_refresh = Instant::now();
            need_draw = true;
            tracing::trace!(us = t.elapsed().as_micros() as u64, "panes refreshed");
        }
        if need_draw && now >= last_draw + FRAME {
            let t = Instant::now();
            draw(&mut term, &app).map_err(io_fail)?;
            last_draw = Instant::now();
            tracing::trace!(us = t.elapsed().as_micros() as u64, "drawn");
            need_draw = false;
            if let Some(t) = input_at.take() {
                tracing::debug!(
                    latency_us = t.elapsed().as_micros() as u64,
                    "input to frame"
                );
            }
            if first {
                first = false;
                tracing::info!("first frame after {:?}", t0.elapsed());
                if exit_after_first {
                    break;
                }
            }
        }
        // when to come back without input: the frame cap, the refresh
        // gap, the app's own timers (a message fading, a spinner), the tick
        let mut wake = next_tick;
        let at = |i: Instant| tokio::time::Instant::from_std(i);
        if need_draw {
            wake = wake.min(at(last_draw + FRAME));
        }
        if app.needs_refresh() {
            wake = wake.min(at(last_refresh + REFRESH_GAP));
        }
        if let Some(d) = app.next_wake() {
            wake = wake.min(tokio::time::Instant::now() + d);
        }
        if backlog {
            wake = tokio::time::Instant::now();
        }
        let mut cmds = Vec::new();
        tokio::select! {
            biased;
            ev = next_event(&mut events) => match ev {
                Some(Ok(ev)) => {
                    app.set_now(jiff::Timestamp::now());
                    handle_event(&mut app, ev, &mut cmds, &mut input_at);
                }
                Some(Err(e)) => return Err(io_fail(e)),
                None => break,
            },
            _ = sigint.recv() => {}
            Some(msg) = rx.recv(), if !backlog => {
                app.set_now(jiff::Timestamp::now());
                cmds.extend(app.update(Action::Msg(msg)));
            }
            _ = tokio::time::sleep_until(wake) => {
                if tokio::time::Instant::now() >= next_tick {
                    next_tick = tokio::time::Instant::now() + tick;
                }
                cmds.extend(app.update(Action::Tick(jiff::Timestamp::now())));
            }
        }
        need_draw = true;
        let t = Instant::now();
        backlog = drain(&mut app, &mut events, &mut rx, &mut cmds, &mut input_at).await;
        tracing::trace!(us = t.elapsed().as_micros() as u64, backlog, "drained");
        if run_commands(cmds, &mut app, &runner, &mut term, &mut events, &tx)? {
            break;
        }
    }
    drop(events);
    Ok(())
}

async fn next_event(events: &mut Option<EventStream>) -> Option<io::Result<Event>> {
    match events {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

fn handle_event(app: &mut App, ev: Event, cmds: &mut Vec<Command>, input_at: &mut Option<Instant>) {
    let action = match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            input_at.get_or_insert_with(Instant::now);
            Action::Key(k)
        }
        Event::Paste(s) => Action::Paste(s),
        Event::Resize(w, h) => Action::Resize(w, h),
        Event::Mouse(m) => Action::Mouse(m),
        _ => return,
    };
    cmds.extend(app.update(action));
}

/// Poll the event stream once with this task's waker (never a no-op
/// waker: crossterm's EventStream remembers the waker of the first pending
/// poll, and `now_or_never` would leave the loop deaf until the next tick).
async fn try_next_event(s: &mut EventStream) -> Poll<Option<io::Result<Event>>> {
    std::future::poll_fn(|cx| Poll::Ready(s.poll_next_unpin(cx))).await
}

/// Take what is already waiting, without waiting: every input event, and
/// messages for at most [`BATCH`] (a burst of a 1,000-host sweep must not
/// hold the loop: keys are read between batches and a frame is drawn).
/// True: messages are still waiting.
async fn drain(
    app: &mut App,
    events: &mut Option<EventStream>,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    cmds: &mut Vec<Command>,
    input_at: &mut Option<Instant>,
) -> bool {
    let start = Instant::now();
    loop {
        let mut any = false;
        if let Some(s) = events.as_mut() {
            if let Poll::Ready(Some(Ok(ev))) = try_next_event(s).await {
                handle_event(app, ev, cmds, input_at);
                any = true;
            }
        }
        if start.elapsed() >= BATCH {
            return !rx.is_empty();
        }
        if let Ok(msg) = rx.try_recv() {
            let kind = msg.kind();
            let t = Instant::now();
            cmds.extend(app.update(Action::Msg(msg)));
            if t.elapsed() > Duration::from_millis(5) {
                tracing::trace!(us = t.elapsed().as_micros() as u64, kind, "slow message");
            }
            any = true;
        }
        if !any {
            return false;
        }
    }
}

/// Execute commands; true: quit.
fn run_commands(
    cmds: Vec<Command>,
    app: &mut App,
    runner: &runner::Runner,
    term: &mut Term,
    events: &mut Option<EventStream>,
    tx: &mpsc::UnboundedSender<Msg>,
) -> Result<bool, Failure> {
    let mut quit = false;
    for c in cmds {
        match c {
            Command::Quit => quit = true,
            Command::Copy(value) => {
                let seq = osc52::sequence(&value, osc52::in_tmux());
                let mut out = io::stdout();
                out.write_all(seq.as_bytes()).map_err(io_fail)?;
                out.flush().map_err(io_fail)?;
            }
            Command::Suspend { argv, host } => {
                let result = suspend_and_run(&argv, term, events, true).map_err(io_fail)?;
                let (w, h) = crossterm::terminal::size().map_err(io_fail)?;
                app.update(Action::Resize(w, h));
                let _ = tx.send(Msg::Shell(ShellMsg::SshDone { host, result }));
            }
            Command::Edit { req, argv } => {
                let result = edit_in_editor(&req, &argv, term, events)?;
                let (w, h) = crossterm::terminal::size().map_err(io_fail)?;
                app.update(Action::Resize(w, h));
                let _ = tx.send(Msg::Shell(ShellMsg::Edited { req, result }));
            }
            other => runner.execute(other),
        }
    }
    Ok(quit || app.quit)
}

/// Write the record to its temp file (0600 in a 0700 directory), run the
/// editor on it, read it back and remove it. Err: what went wrong (the
/// editor could not start or failed: nothing is saved).
fn edit_in_editor(
    req: &editor::Request,
    argv: &[String],
    term: &mut Term,
    events: &mut Option<EventStream>,
) -> Result<Result<String, String>, Failure> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = req.path.parent().unwrap_or(std::path::Path::new("."));
    let prepared = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|_| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&req.path)?;
            f.write_all(req.text.as_bytes())
        });
    if let Err(e) = prepared {
        return Ok(Err(format!("cannot write {}: {e}", req.path.display())));
    }
    let status = suspend_and_run(argv, term, events, false).map_err(io_fail)?;
    let text = std::fs::read_to_string(&req.path);
    let _ = std::fs::remove_file(&req.path);
    Ok(match status {
        Err(e) => Err(format!("could not run {} ({e}); set $EDITOR", argv[0])),
        Ok(Some(0)) => text.map_err(|e| format!("cannot read {}: {e}", req.path.display())),
        Ok(Some(code)) => Err(format!("{} exited with status {code}", argv[0])),
        Ok(None) => Err(format!("{} was killed by a signal", argv[0])),
    })
}

/// Stop the input reader, give the terminal to `argv`, take it back and
/// repaint everything at the current size. `ssh`: wait for Enter after
/// ssh's own failure (status 255), whose message is on the normal screen.
fn suspend_and_run(
    argv: &[String],
    term: &mut Term,
    events: &mut Option<EventStream>,
    ssh: bool,
) -> io::Result<Result<Option<i32>, String>> {
    *events = None;
    restore_terminal();
    tracing::info!(?argv, "suspending for a program");
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status();
    if ssh && matches!(&status, Ok(s) if s.code() == Some(255)) {
        // 255 is ssh's own failure (refused, unknown host, auth...): its
        // message is on this screen; let the user read it before the
        // alternate screen hides it
        let mut out = io::stdout();
        let _ = write!(
            out,
            "\r\n[opsdeck] ssh exited with status 255. Press Enter to return to opsdeck. "
        );
        let _ = out.flush();
        let mut line = String::new();
        let _ = io::stdin().read_line(&mut line);
    }
    enter_terminal()?;
    let (w, h) = crossterm::terminal::size()?;
    term.resize(Rect::new(0, 0, w, h))?;
    *events = Some(EventStream::new());
    Ok(match status {
        Ok(s) => Ok(s.code()),
        Err(e) => Err(e.to_string()),
    })
}
