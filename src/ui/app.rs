//! The app shell: shared data, the five panes, overlays, the jobs list.
//! `update(Action)` changes state and returns [`Command`]s for the runner;
//! it does no I/O, so tests drive it without a terminal. `draw` is pure.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::text::Span;

use crate::model::Host;
use crate::ssh::{CancelFlag, Engine, UnknownKey};
use crate::ssh::{KeyProblem, SshError};
use crate::store::{Store, StoreOp};
use crate::ui::hostkey::{self, Retry};
use crate::ui::msg::{JobId, Msg, Request, Results, ResultsUpdate, ShellMsg};
use crate::ui::overlay::confirm::{Answer, ConfirmView};
use crate::ui::overlay::jobs::{JobsKey, JobsView};
use crate::ui::overlay::prompt::{PromptKey, RunPrompt};
use crate::ui::overlay::run::{RunKey, RunView};
use crate::ui::overlay::text::TextView;
use crate::ui::overlay::Overlay;
use crate::ui::pane::{Ctx, Effect, Job, JobInfo, Pane, PaneEvent, PaneId};
use crate::ui::panes;
use crate::ui::sweep::{Start, Sweep};
use crate::ui::theme::Theme;
use crate::ui::widgets::form::FormOutcome;

/// Below this the app only says how large the terminal must be.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Inputs of `update`.
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// The slow tick: new "now" for age labels.
    Tick(jiff::Timestamp),
    /// `[ui] mouse = true`: wheel and clicks.
    Mouse(crossterm::event::MouseEvent),
    Msg(Msg),
}

/// Work for the runner (I/O), results come back as [`Msg`]s.
pub enum Command {
    Store {
        pane: Option<PaneId>,
        /// Names the change in the log ("host.rm").
        what: String,
        op: StoreOp,
    },
    Job {
        id: JobId,
        pane: Option<PaneId>,
        job: Job,
        cancel: CancelFlag,
    },
    /// Suspend the TUI and run this program with the terminal (ssh).
    Suspend {
        argv: Vec<String>,
        host: String,
    },
    /// Write the record to its temp file, suspend the TUI for the editor,
    /// read it back: `ShellMsg::Edited`.
    Edit {
        req: crate::ui::editor::Request,
        argv: Vec<String>,
    },
    /// Write an OSC 52 sequence to the terminal.
    Copy(String),
    /// Re-read the files and state/.
    Reload,
    Quit,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Store { what, .. } => write!(f, "Store({what:?})"),
            Command::Job { id, job, .. } => write!(f, "Job({id}, {:?})", job.what),
            Command::Suspend { argv, .. } => write!(f, "Suspend({argv:?})"),
            Command::Edit { argv, .. } => write!(f, "Edit({argv:?})"),
            Command::Copy(v) => write!(f, "Copy({v:?})"),
            Command::Reload => write!(f, "Reload"),
            Command::Quit => write!(f, "Quit"),
        }
    }
}

pub struct App {
    pub store: Store,
    pub results: Results,
    pub theme: Theme,
    pub engine: Engine,
    pub panes: Vec<Box<dyn Pane>>,
    pub active: PaneId,
    pub overlays: Vec<Overlay>,
    /// While typing after `/`.
    pub filter_input: Option<String>,
    /// The footer's message (fades; errors stay until a key).
    pub status: crate::ui::status::StatusLine,
    pub jobs: Vec<JobInfo>,
    cancels: HashMap<JobId, CancelFlag>,
    pub now: jiff::Timestamp,
    pub size: (u16, u16),
    /// The fleet run prompt's history and run ids.
    runs: crate::ui::runs::Runs,
    /// Unknown host keys met by any work: the question, what to retry.
    keys: hostkey::HostKeys,
    /// A `resolve_addresses` job runs.
    resolving: bool,
    /// The editor to run for `E` ($VISUAL / $EDITOR; the loop sets it).
    pub editor: Option<String>,
    /// An edit that did not pass, waiting for "edit again".
    edit_retry: Option<crate::ui::editor::Request>,
    /// [`App::start_background`] was called (the event loop; not in tests
    /// that drive `update` alone).
    background: bool,
    /// The check sweep (one at a time, more hosts queued after it).
    sweep: Sweep,
    pub quit: bool,
    /// The newest check result (for the header), kept by refresh_all.
    pub latest_check: Option<jiff::Timestamp>,
    /// Where each tab was drawn (x from, x to, pane), for a mouse click.
    pub tab_spans: std::cell::RefCell<Vec<(u16, u16, PaneId)>>,
    /// The data changed since the panes last re-derived their rows.
    dirty: bool,
    /// The event loop's channel (None in tests): panes that compute in
    /// the background (the Overview) answer through it.
    pub tx: Option<tokio::sync::mpsc::UnboundedSender<Msg>>,
    /// Leave the panes' refresh to the event loop ([`App::flush`], at most
    /// a few times a second during a burst of results) instead of doing it
    /// at the end of every `update`. Off by default (tests see every
    /// update at once); the loop turns it on.
    pub defer_refresh: bool,
}

fn ctrl(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
}

impl App {
    pub fn new(store: Store, results: Results, theme: Theme, engine: Engine) -> App {
        let mut app = App {
            store,
            results,
            theme,
            engine,
            panes: panes::all(),
            active: PaneId::OVERVIEW,
            overlays: Vec::new(),
            filter_input: None,
            status: Default::default(),
            jobs: Vec::new(),
            cancels: HashMap::new(),
            now: jiff::Timestamp::now(),
            size: (80, 24),
            runs: Default::default(),
            keys: hostkey::HostKeys::default(),
            sweep: Sweep::default(),
            resolving: false,
            editor: None,
            edit_retry: None,
            background: false,
            quit: false,
            latest_check: None,
            tab_spans: Default::default(),
            dirty: false,
            tx: None,
            defer_refresh: false,
        };
        for e in app.results.load_errors.clone() {
            app.set_error(e);
        }
        app.refresh_all();
        app
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            store: &self.store,
            results: &self.results,
            theme: &self.theme,
            now: self.now,
            jobs: &self.jobs,
            engine: &self.engine,
            tx: self.tx.as_ref(),
        }
    }

    /// Run `f` on a pane with a context (split borrow).
    fn with_pane<R>(&mut self, id: PaneId, f: impl FnOnce(&mut dyn Pane, &Ctx) -> R) -> R {
        let mut panes = std::mem::take(&mut self.panes);
        let r = {
            let ctx = self.ctx();
            f(panes[panes::index_of(id).unwrap_or(0)].as_mut(), &ctx)
        };
        self.panes = panes;
        r
    }

    /// How long until something on the screen changes by itself (a
    /// message fades, a spinner turns); None: nothing until input.
    pub fn next_wake(&self) -> Option<std::time::Duration> {
        let spin = (!self.jobs.is_empty())
            .then(|| std::time::Duration::from_millis(crate::ui::overlay::jobs::SPIN_MS));
        match (self.status.next_change(self.now), spin) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The clock moved on (the loop sets it before every batch). Ages and
    /// "days left" are re-derived once a minute.
    pub fn set_now(&mut self, now: jiff::Timestamp) {
        if now.as_second() / 60 != self.now.as_second() / 60 {
            self.data_changed();
        }
        self.now = now;
    }

    /// The panes have not seen the newest data yet (see [`App::flush`]).
    pub fn needs_refresh(&self) -> bool {
        self.dirty
    }

    /// Re-derive every pane's rows if the data changed since the last time.
    pub fn flush(&mut self) {
        if self.dirty {
            self.refresh_all();
        }
    }

    /// New data: the panes re-derive their rows at the end of this update,
    /// or (event loop) when [`App::flush`] is next called. One result of a
    /// 1,000-host sweep costs O(log n) this way, not a refresh of every
    /// pane (which is O(n) and more).
    fn data_changed(&mut self) {
        self.dirty = true;
    }

    pub fn refresh_all(&mut self) {
        self.dirty = false;
        self.latest_check = self
            .results
            .checks
            .values()
            .filter_map(|c| c.checked_at.parse::<jiff::Timestamp>().ok())
            .max();
        let mut panes = std::mem::take(&mut self.panes);
        {
            let ctx = self.ctx();
            for p in panes.iter_mut() {
                let t = std::time::Instant::now();
                p.refresh(&ctx);
                tracing::trace!(pane = ?p.id(), us = t.elapsed().as_micros() as u64, "refresh");
            }
        }
        self.panes = panes;
    }

    /// Below the minimum size only "too small" is drawn.
    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }

    /// The "jobs still running, quit?" question is on top.
    pub fn asking_quit(&self) -> bool {
        matches!(self.overlays.last(), Some(Overlay::Confirm(c)) if c.req == Request::Quit)
    }

    pub fn pane(&self, id: PaneId) -> &dyn Pane {
        self.panes[panes::index_of(id).unwrap_or(0)].as_ref()
    }

    pub fn jobs_running(&self) -> usize {
        self.jobs.len()
    }

    fn set_status(&mut self, text: impl Into<String>) {
        let t = text.into();
        tracing::info!("{t}");
        self.status.info(t, self.now);
    }
    fn set_error(&mut self, text: impl Into<String>) {
        let t = text.into();
        tracing::warn!("{t}");
        self.status.error(t, self.now);
    }

    // ------------------------------------------------------------ update

    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let mut out = Vec::new();
        match action {
            Action::Key(k) => {
                if k.kind == KeyEventKind::Release {
                } else if let (KeyCode::Char(_), true) =
                    (k.code, k.modifiers.contains(KeyModifiers::ALT))
                {
                    // No Alt chords: an ESC that arrived right before a key
                    // (fast typing, tmux's escape-time) is Esc, then the key.
                    self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &mut out);
                    let mut plain = k;
                    plain.modifiers.remove(KeyModifiers::ALT);
                    self.on_key(plain, &mut out);
                } else {
                    self.on_key(k, &mut out);
                }
            }
            Action::Paste(text) => {
                for c in text.chars().filter(|c| !c.is_control()) {
                    self.on_key(
                        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
                        &mut out,
                    );
                }
            }
            Action::Resize(w, h) => self.size = (w, h),
            Action::Mouse(m) => self.on_mouse(m, &mut out),
            Action::Tick(now) => self.set_now(now),
            Action::Msg(m) => self.on_msg(m, &mut out),
        }
        // an unknown host key waits until nothing else takes keys
        self.next_key_dialog();
        if self.dirty && !self.defer_refresh {
            self.refresh_all();
        }
        out
    }

    fn on_key(&mut self, key: KeyEvent, out: &mut Vec<Command>) {
        if ctrl(&key) && key.code == KeyCode::Char('c') {
            // Ctrl-C quits from anywhere; a second one answers the question
            if self.asking_quit() {
                self.overlays.pop();
                return self.confirmed(None, Request::Quit, out);
            }
            self.overlays.clear();
            self.filter_input = None;
            return self.ask_quit(out);
        }
        // an error that was up long enough to be read goes with this key,
        // which also does what it does; on the bare pane Esc only
        // dismisses it (it would clear the filter or the marks)
        if self.status.key_pressed(self.now)
            && key.code == KeyCode::Esc
            && self.overlays.is_empty()
            && self.filter_input.is_none()
        {
            return;
        }
        if self.too_small() {
            // nothing but "too small" is on the screen: keys must not go to
            // a form or a list the user cannot see; `q` quits as it says
            // (a "jobs still running" question is answered with y/n there)
            if self.asking_quit() {
                return self.overlay_key(key, out);
            }
            if key.code == KeyCode::Char('q') {
                self.ask_quit(out);
            }
            return;
        }
        if !self.overlays.is_empty() {
            return self.overlay_key(key, out);
        }
        if let Some(input) = self.filter_input.as_mut() {
            match key.code {
                KeyCode::Esc => {
                    self.filter_input = None;
                    self.apply_filter(String::new());
                }
                KeyCode::Enter => self.filter_input = None,
                KeyCode::Backspace => {
                    input.pop();
                    let f = input.clone();
                    self.apply_filter(f);
                }
                KeyCode::Char('u') if ctrl(&key) => {
                    input.clear();
                    self.apply_filter(String::new());
                }
                KeyCode::Char(c) if !ctrl(&key) => {
                    input.push(c);
                    let f = input.clone();
                    self.apply_filter(f);
                }
                KeyCode::Down | KeyCode::Up => {
                    self.filter_input = None;
                    self.pane_key(key, out);
                }
                _ => {}
            }
            return;
        }
        let pane_esc = self.pane(self.active).wants_esc();
        match key.code {
            KeyCode::Char(c @ '1'..='9')
                if !ctrl(&key) && (c as usize - '1' as usize) < panes::PANES.len() =>
            {
                self.switch(panes::PANES[c as usize - '1' as usize].id);
            }
            KeyCode::Tab => self.switch(panes::step(self.active, 1)),
            KeyCode::BackTab => self.switch(panes::step(self.active, -1)),
            KeyCode::Char('?') => self.open_help(),
            KeyCode::Char('q') if !ctrl(&key) => self.ask_quit(out),
            KeyCode::Char('/') => {
                self.filter_input = Some(self.pane(self.active).filter().to_string());
            }
            KeyCode::Char('J') => self.overlays.push(Overlay::Jobs(JobsView::default())),
            KeyCode::Char('r') if ctrl(&key) => {
                self.set_status("re-reading the files…");
                out.push(Command::Reload);
            }
            KeyCode::Esc if !pane_esc => {
                // one thing at a time: the filter, then the marks
                if !self.pane(self.active).filter().is_empty() {
                    self.apply_filter(String::new());
                    self.set_status("filter cleared");
                } else if self.pane(self.active).marks() > 0 {
                    let n = self.pane(self.active).marks();
                    let active = self.active;
                    self.with_pane(active, |p, _| p.clear_marks());
                    self.set_status(format!(
                        "{} unmarked: actions use the selected row again",
                        crate::util::plural(n, "row", "rows")
                    ));
                } else {
                    self.status.clear();
                }
            }
            KeyCode::Char('*') => {
                let active = self.active;
                let n = self.with_pane(active, |p, _| p.mark_shown());
                let filtered = !self.pane(active).filter().is_empty();
                self.set_status(match (n, filtered) {
                    (0, _) => "no row marked".to_string(),
                    (n, true) => format!(
                        "{} marked (what the filter shows); * again unmarks them",
                        crate::util::plural(n, "row", "rows")
                    ),
                    (n, false) => format!(
                        "{} marked (all); * again unmarks them, Esc clears",
                        crate::util::plural(n, "row", "rows")
                    ),
                });
            }
            _ => self.pane_key(key, out),
        }
    }

    fn pane_key(&mut self, key: KeyEvent, out: &mut Vec<Command>) {
        let active = self.active;
        let r = self.with_pane(active, |p, ctx| p.handle_key(key, ctx));
        match r {
            Some(effects) => self.apply_effects(Some(active), effects, out),
            None => {
                if let KeyCode::Char(c) = key.code {
                    self.set_status(format!("`{c}` does nothing here; ? lists the keys"));
                }
            }
        }
    }

    fn apply_filter(&mut self, f: String) {
        let active = self.active;
        self.with_pane(active, |p, ctx| p.set_filter(&f, ctx));
    }

    pub fn switch(&mut self, id: PaneId) {
        if self.active != id {
            self.active = id;
            self.filter_input = None;
        }
    }

    fn ask_quit(&mut self, out: &mut Vec<Command>) {
        if self.jobs.is_empty() {
            self.quit = true;
            out.push(Command::Quit);
        } else {
            let lines: Vec<String> = self
                .jobs
                .iter()
                .map(|j| format!("{} {} {}", j.id, j.what, j.progress))
                .collect();
            self.overlays
                .push(Overlay::Confirm(Box::new(ConfirmView::plain(
                    format!(
                        "{} still running. Cancel them and quit?",
                        crate::util::plural(self.jobs.len(), "job", "jobs")
                    ),
                    &lines,
                    Request::Quit,
                    None,
                ))));
        }
    }

    fn overlay_key(&mut self, key: KeyEvent, out: &mut Vec<Command>) {
        let Some(top) = self.overlays.pop() else {
            return;
        };
        match top {
            Overlay::Help(mut view) => {
                if !view.handle_key(key) {
                    self.overlays.push(Overlay::Help(view));
                }
            }
            Overlay::Confirm(mut c) => match c.handle_key(key) {
                Answer::Yes => self.confirmed(c.pane, c.req, out),
                Answer::No => {
                    if c.req == Request::HostKeys {
                        let first: Vec<String> =
                            self.keys.listed().iter().take(1).cloned().collect();
                        self.refuse_keys(&first);
                    } else {
                        if c.req == Request::RunDangerous {
                            self.overlays.pop(); // the run view waiting for this answer
                        }
                        if c.req == Request::EditAgain {
                            self.edit_retry = None;
                            self.set_status("edit discarded, nothing written");
                        } else {
                            self.set_status("cancelled, nothing done");
                        }
                    }
                }
                Answer::Other(k) => self.confirmed_other(c.pane, c.req, k, out),
                Answer::Open => self.overlays.push(Overlay::Confirm(c)),
            },
            Overlay::Form { mut form, pane } => match form.handle_key(key) {
                FormOutcome::Editing => self.overlays.push(Overlay::Form { form, pane }),
                FormOutcome::Cancelled => self.set_status("cancelled, nothing saved"),
                FormOutcome::Submitted(values) => {
                    let req = form.req.clone();
                    let effects = match pane {
                        Some(p) => self.with_pane(p, |pn, ctx| {
                            pn.handle_event(PaneEvent::FormSubmitted { req, values }, ctx)
                        }),
                        None => Vec::new(),
                    };
                    let errors: Vec<(String, String)> = effects
                        .iter()
                        .filter_map(|e| match e {
                            Effect::FormErrors(v) => Some(v.clone()),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    if !errors.is_empty() {
                        form.set_errors(errors);
                        self.overlays.push(Overlay::Form { form, pane });
                    }
                    self.apply_effects(pane, effects, out);
                }
            },
            Overlay::Text(mut view) => {
                if !view.handle_key(key) {
                    self.overlays.push(Overlay::Text(view));
                }
            }
            Overlay::Jobs(mut v) => match v.handle_key(key, &self.jobs) {
                JobsKey::Close => {}
                JobsKey::Stay => self.overlays.push(Overlay::Jobs(v)),
                JobsKey::Cancel(id) => {
                    if let Some(j) = self.jobs.iter().find(|j| j.id == id).cloned() {
                        self.cancel_job(j.id);
                        self.set_status(format!("cancelling {} {}", j.id, j.what));
                    }
                    self.overlays.push(Overlay::Jobs(v));
                }
            },
            Overlay::RunPrompt(mut p) => match p.handle_key(key, self.runs.history()) {
                PromptKey::Cancel => self.set_status("run cancelled"),
                PromptKey::Stay => self.overlays.push(Overlay::RunPrompt(p)),
                PromptKey::Run(cmd) => self.submit_run(cmd, p.hosts, out),
            },
            Overlay::Run(mut view) => match view.handle_key(key) {
                RunKey::Close => {
                    if !view.done && view.id != 0 {
                        if let Some(job) = view.job {
                            self.cancel_job(job);
                        }
                        self.set_status("run cancelled");
                    }
                }
                RunKey::Stay => self.overlays.push(Overlay::Run(view)),
                RunKey::Save(text) => {
                    self.save_run_output(view.id, text, out);
                    self.overlays.push(Overlay::Run(view));
                }
                RunKey::Copy(text) => {
                    if text.len() > crate::ui::overlay::run::COPY_MAX {
                        self.set_error(format!(
                            "the output is too long to copy ({} KB; terminals take about {} KB): s saves it to a file",
                            text.len() / 1000,
                            crate::ui::overlay::run::COPY_MAX / 1000
                        ));
                    } else {
                        self.set_status(format!(
                            "copied the run's output ({})",
                            crate::util::plural(text.lines().count(), "line", "lines")
                        ));
                        out.push(Command::Copy(text));
                    }
                    self.overlays.push(Overlay::Run(view));
                }
            },
        }
    }

    /// A command typed at the run prompt: into the history; asked about
    /// first when it matches a dangerous pattern.
    fn submit_run(&mut self, cmd: String, hosts: Vec<String>, out: &mut Vec<Command>) {
        self.runs.remember(&cmd);
        let dangerous =
            crate::fleet::dangerous_match(&cmd, &self.store.settings.run.dangerous_patterns)
                .map(str::to_string);
        let Some(pat) = dangerous else {
            return self.start_run(cmd, hosts, out);
        };
        self.overlays.push(Overlay::Run(Box::new(RunView::new(
            0,
            cmd.clone(),
            hosts.clone(),
        ))));
        self.overlays
            .push(Overlay::Confirm(Box::new(ConfirmView::plain(
                format!(
                    "`{cmd}` matches the dangerous pattern `{pat}`. Run it on {}?",
                    crate::util::plural(hosts.len(), "host", "hosts")
                ),
                &hosts,
                Request::RunDangerous,
                None,
            ))));
    }

    fn confirmed(&mut self, pane: Option<PaneId>, req: Request, out: &mut Vec<Command>) {
        match (pane, req) {
            (Some(p), req) => {
                let effects =
                    self.with_pane(p, |pn, ctx| pn.handle_event(PaneEvent::Confirmed(req), ctx));
                self.apply_effects(Some(p), effects, out);
            }
            (None, Request::Quit) => {
                for j in self.jobs.clone() {
                    self.cancel_job(j.id);
                }
                self.quit = true;
                out.push(Command::Quit);
            }
            (None, Request::EditAgain) => {
                if let Some(req) = self.edit_retry.take() {
                    let argv = crate::ui::editor::argv(self.editor.as_deref(), &req.path, req.line);
                    out.push(Command::Edit { req, argv });
                }
            }
            (None, Request::RunDangerous) => {
                if let Some(Overlay::Run(view)) = self.overlays.pop() {
                    self.start_run(view.command.clone(), view.hosts.clone(), out);
                }
            }
            (None, Request::HostKeys) => {
                // y: the first host of the list
                let first: Vec<String> = self.keys.listed().iter().take(1).cloned().collect();
                self.accept_keys(first, out);
            }
            _ => {}
        }
    }

    /// Record the keys of `hosts` (waiting, listed): one job, one key after
    /// the other, each answer back as `KeyAccepted`.
    fn accept_keys(&mut self, hosts: Vec<String>, out: &mut Vec<Command>) {
        let keys = self.keys.take_for_accept(&hosts);
        if keys.is_empty() {
            return;
        }
        let engine = self.engine.clone();
        let what = match &keys[..] {
            [(h, _)] => format!("accept key {h}"),
            many => format!("accept {} keys", many.len()),
        };
        let host = (keys.len() == 1).then(|| keys[0].0.clone());
        self.spawn_job(
            None,
            Job::blocking(host, what, move |jh| {
                for (h, key) in keys {
                    let result = engine.accept_host_key(&key).map_err(|e| e.to_string());
                    let _ = jh
                        .tx
                        .send(Msg::Shell(ShellMsg::KeyAccepted { host: h, result }));
                }
            }),
            out,
        );
    }

    /// Refuse the keys of `hosts`: nothing is recorded or retried.
    fn refuse_keys(&mut self, hosts: &[String]) {
        self.keys.refuse(hosts);
        self.set_status(match hosts {
            [h] => format!("host key of {h} not accepted; nothing retried"),
            many => format!(
                "{} not accepted; nothing retried",
                crate::util::plural(many.len(), "host key", "host keys")
            ),
        });
    }

    /// An extra answer of a question (the host-key list's "accept all",
    /// "refuse all").
    fn confirmed_other(
        &mut self,
        _pane: Option<PaneId>,
        req: Request,
        key: char,
        out: &mut Vec<Command>,
    ) {
        if req != Request::HostKeys {
            return;
        }
        let listed = self.keys.listed().to_vec();
        match key {
            'a' => {
                self.set_status(format!(
                    "recording {}…",
                    crate::util::plural(listed.len(), "host key", "host keys")
                ));
                self.accept_keys(listed, out);
            }
            'r' => self.refuse_keys(&listed),
            _ => {}
        }
    }

    /// `?`: the keys of the pane, then the global ones.
    fn open_help(&mut self) {
        let keys = self.pane(self.active).keys();
        let v = crate::ui::overlay::help::view(self.active, &keys, self.size.0, &self.theme);
        self.overlays.push(Overlay::Help(Box::new(v)));
    }

    /// `s` in the run view: the output to state/runs/RUN-TIME.txt (0600),
    /// written by a job (no I/O here).
    fn save_run_output(&mut self, run: u64, text: String, out: &mut Vec<Command>) {
        let stamp = self.now.strftime("%Y%m%d-%H%M%S").to_string();
        let dir = self.store.home.state_dir.join("runs");
        let path = dir.join(format!("{stamp}-run{run}.txt"));
        let shown = path.display().to_string();
        self.set_status(format!("saving the output to {shown}…"));
        self.spawn_job(
            None,
            Job::blocking(None, "save run output", move |jh| {
                use std::os::unix::fs::DirBuilderExt;
                let r = std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        crate::store::write_output_file(&path, text.as_bytes())
                            .map_err(|e| e.to_string())
                    });
                match r {
                    Ok(()) => jh.status(format!("saved the run's output to {shown}")),
                    Err(e) => jh.error(format!("could not save the output: {e}")),
                }
            }),
            out,
        );
    }

    pub fn cancel_job(&mut self, id: JobId) {
        if let Some(c) = self.cancels.get(&id) {
            c.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
            j.cancelled = true;
            j.progress = "cancelling".into();
        }
    }

    fn spawn_job(&mut self, pane: Option<PaneId>, job: Job, out: &mut Vec<Command>) -> JobId {
        let id = job.id;
        let cancel: CancelFlag = Default::default();
        self.cancels.insert(id, cancel.clone());
        self.jobs.push(JobInfo {
            id,
            pane,
            host: job.host.clone(),
            what: job.what.clone(),
            progress: String::new(),
            cancelled: false,
            started: self.now,
        });
        out.push(Command::Job {
            id,
            pane,
            job,
            cancel,
        });
        id
    }

    /// Execute what a pane asked for.
    pub fn apply_effects(
        &mut self,
        pane: Option<PaneId>,
        effects: Vec<Effect>,
        out: &mut Vec<Command>,
    ) {
        for e in effects {
            match e {
                Effect::Status(s) => self.set_status(s),
                Effect::Error(s) => self.set_error(s),
                Effect::Confirm { title, lines, req } => {
                    self.overlays
                        .push(Overlay::Confirm(Box::new(ConfirmView::plain(
                            title, &lines, req, pane,
                        ))))
                }
                Effect::ConfirmTyped {
                    title,
                    lines,
                    req,
                    word,
                } => self.overlays.push(Overlay::Confirm(Box::new(
                    ConfirmView::plain(title, &lines, req, pane).typed(word),
                ))),
                Effect::Form(form) => self.overlays.push(Overlay::Form { form, pane }),
                Effect::FormErrors(_) => {}
                Effect::Text { title, lines } => {
                    self.overlays.retain(|o| !matches!(o, Overlay::Text(_)));
                    self.overlays
                        .push(Overlay::Text(Box::new(TextView::new(title, lines))));
                }
                Effect::AppendText { title, lines: more } => {
                    for o in self.overlays.iter_mut() {
                        if let Overlay::Text(v) = o {
                            if v.title == title {
                                v.text.append(more.clone());
                            }
                        }
                    }
                }
                Effect::Store { what, op } => out.push(Command::Store { pane, what, op }),
                Effect::ReloadStore => out.push(Command::Reload),
                Effect::MergeResults(u) => {
                    self.results.merge(u);
                    self.data_changed();
                }
                Effect::Job(job) => {
                    self.spawn_job(pane, job, out);
                }
                Effect::Check(hosts) => self.start_check(hosts, out),
                Effect::HostKey { host, error, retry } => {
                    if let Some(p) = pane {
                        self.key_problem(
                            &host,
                            &error,
                            Retry::Pane {
                                pane: p,
                                req: retry,
                            },
                            out,
                        );
                    }
                }
                Effect::Editor { kind, name } => self.edit_in_editor(kind, &name, out),
                Effect::Ssh(host) => match self.ssh_argv(&host) {
                    Ok(argv) => out.push(Command::Suspend { argv, host }),
                    Err(e) => self.set_error(e),
                },
                Effect::Run(hosts) => {
                    if hosts.is_empty() {
                        self.set_error("no host selected");
                    } else {
                        self.overlays
                            .push(Overlay::RunPrompt(RunPrompt::new(hosts)))
                    }
                }
                Effect::Copy { what, value } => {
                    if value.is_empty() {
                        self.set_error(format!("{what} is empty, nothing copied"));
                    } else {
                        self.set_status(format!("copied {what}: {value}"));
                        out.push(Command::Copy(value));
                    }
                }
                Effect::Goto {
                    pane: to,
                    key,
                    ticket,
                } => {
                    self.switch(to);
                    if let Some(k) = key {
                        let event = match ticket {
                            Some(t) => PaneEvent::SelectTicket(k, t),
                            None => PaneEvent::Select(k),
                        };
                        let effects = self.with_pane(to, |p, ctx| p.handle_event(event, ctx));
                        self.apply_effects(Some(to), effects, out);
                    }
                }
            }
        }
    }

    /// `ssh [-F cfg] [-o HostName=addr] [-p port] [-l user] [-J jump] -- NAME`:
    /// the user's own ssh, resolving NAME through their config like opsdeck
    /// does, with the hosts.toml fields overriding.
    pub fn ssh_argv(&self, name: &str) -> Result<Vec<String>, String> {
        let host = self
            .store
            .host(name)
            .ok_or_else(|| format!("no host named {name}"))?;
        // validated again at use: every value below reaches the user's ssh,
        // `-o HostName=` past OpenSSH's own check of a destination
        crate::validate::host(host).map_err(|(key, e)| format!("{key}: {e}"))?;
        let mut argv = vec!["ssh".to_string()];
        if let Some(cfg) = &self.store.settings.ssh.config_file {
            argv.push("-F".into());
            argv.push(expand_tilde(cfg));
        }
        if let Some(a) = &host.address {
            argv.push("-o".into());
            argv.push(format!("HostName={a}"));
        }
        if let Some(p) = host.port {
            argv.push("-p".into());
            argv.push(p.to_string());
        }
        // `[ssh] user` applies only when the SSH config names no User, which
        // `-l` cannot express: ssh then uses its own default (the local user).
        if let Some(u) = host.user.as_ref() {
            argv.push("-l".into());
            argv.push(u.clone());
        }
        if let Some(j) = &host.jump {
            argv.push("-J".into());
            argv.push(j.clone());
        }
        argv.push("--".into());
        argv.push(host.name.clone());
        Ok(argv)
    }

    fn start_check(&mut self, names: Vec<String>, out: &mut Vec<Command>) {
        let ctx = self.ctx().ops();
        match self.sweep.request(names, &self.store, ctx) {
            Start::NoHost => self.set_error("no host to check"),
            Start::Queued(n) => self.set_status(format!(
                "a check is running; {} will be checked after it",
                crate::util::plural(n, "host", "hosts")
            )),
            Start::Run { job, hosts } => {
                self.set_status(format!(
                    "checking {}…",
                    crate::util::plural(hosts.len(), "host", "hosts")
                ));
                self.results.checking.extend(hosts);
                self.data_changed();
                let id = self.spawn_job(None, job, out);
                self.sweep.started(id);
                let progress = self.sweep.progress();
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
                    j.progress = progress;
                }
            }
        }
    }

    fn start_run(&mut self, command: String, hosts: Vec<String>, out: &mut Vec<Command>) {
        let run = self.runs.next_id();
        let id = self.spawn_run(run, command.clone(), hosts.clone(), out);
        let mut view = RunView::new(run, command, hosts);
        view.job = Some(id);
        self.overlays.push(Overlay::Run(Box::new(view)));
    }

    /// Run `command` again on `host` after its key was recorded: into the
    /// run's view when it is still open (the host's result is replaced),
    /// else in a new view.
    fn rerun(&mut self, run: u64, command: String, host: String, out: &mut Vec<Command>) {
        if self.run_view(run).is_none() {
            return self.start_run(command, vec![host], out);
        }
        let id = self.spawn_run(run, command, vec![host], out);
        if let Some(v) = self.run_view(run) {
            v.job = Some(id);
            v.done = false;
            v.changed();
        }
    }

    /// The job of a run: results as `RunResult { run }`, then `RunDone`.
    fn spawn_run(
        &mut self,
        run: u64,
        command: String,
        hosts: Vec<String>,
        out: &mut Vec<Command>,
    ) -> JobId {
        let list: Vec<Host> = hosts
            .iter()
            .filter_map(|n| self.store.host(n).cloned())
            .collect();
        let job = crate::ui::runs::job(self.ctx().ops(), run, command, list);
        self.spawn_job(None, job, out)
    }

    fn run_view(&mut self, run: u64) -> Option<&mut RunView> {
        self.overlays.iter_mut().find_map(|o| match o {
            Overlay::Run(v) if v.id == run => Some(v.as_mut()),
            _ => None,
        })
    }

    /// Ask about the next unknown key, unless the user is in the middle of
    /// something that takes keys (a form, a prompt, another question, the
    /// filter line): a `y` meant for that must never accept a host key.
    fn next_key_dialog(&mut self) {
        let open =
            matches!(self.overlays.last(), Some(Overlay::Confirm(c)) if c.req == Request::HostKeys);
        let busy = self.filter_input.is_some()
            || self.overlays.iter().any(|o| {
                matches!(
                    o,
                    Overlay::Confirm(_) | Overlay::Form { .. } | Overlay::RunPrompt(_)
                )
            });
        if !open && busy {
            return;
        }
        // the list as it stands: keys fetched meanwhile join an open question
        let Some(q) = self.keys.question(open) else {
            return;
        };
        let lines: Vec<ratatui::text::Line<'static>> =
            q.lines.into_iter().map(ratatui::text::Line::raw).collect();
        if let Some(Overlay::Confirm(c)) = self.overlays.last_mut().filter(|_| open) {
            c.set_text(q.title, lines);
            c.set_answers(q.extra);
            c.set_labels(q.yes, q.no);
        } else {
            let mut c =
                ConfirmView::new(q.title, lines, Request::HostKeys, None).with_labels(q.yes, q.no);
            c.set_answers(q.extra);
            self.overlays.push(Overlay::Confirm(Box::new(c)));
        }
    }

    /// SSH work on `host` failed with `error`: when that is about its host
    /// key, handle it the one way every pane shares (ask + record + retry,
    /// or show a changed key). True: it was about the key.
    fn key_problem(
        &mut self,
        host: &str,
        error: &SshError,
        retry: Retry,
        _out: &mut Vec<Command>,
    ) -> bool {
        match error.key_problem() {
            None => false,
            Some(KeyProblem::Changed { message, via }) => {
                let who = match via {
                    Some(j) => format!("{j} (the jump host to {host})"),
                    None => host.to_string(),
                };
                self.show_changed_key(&who, &message);
                true
            }
            Some(KeyProblem::Unknown { key, via }) => {
                self.key_unknown(host, key, via, retry);
                true
            }
        }
    }

    /// An unknown key met by some work: asked about with every other one
    /// met so far (the key came with the error: no second connection).
    fn key_unknown(&mut self, host: &str, key: UnknownKey, via: Option<String>, retry: Retry) {
        self.keys.unknown(host, key, via, retry);
        self.next_key_dialog();
    }

    /// A changed key: refused, shown with both fingerprints (once per host
    /// while the overlay is open).
    fn show_changed_key(&mut self, host: &str, message: &str) {
        let title = hostkey::changed_title(host);
        self.set_error(format!(
            "{host}: HOST KEY CHANGED, refused (see the notice)"
        ));
        if self
            .overlays
            .iter()
            .any(|o| matches!(o, Overlay::Text(v) if v.title == title))
        {
            return;
        }
        let lines = hostkey::changed_lines(host, message, &self.theme);
        self.overlays
            .push(Overlay::Text(Box::new(TextView::new(title, lines))));
    }

    /// The key of `host` is recorded: do again what failed on it.
    fn retry_after_key(&mut self, host: String, retries: Vec<Retry>, out: &mut Vec<Command>) {
        let mut by_pane: Vec<(PaneId, Vec<Request>)> = Vec::new();
        for r in retries {
            match r {
                Retry::Check => self.start_check(vec![host.clone()], out),
                Retry::Run { run, command } => self.rerun(run, command, host.clone(), out),
                Retry::Pane { pane, req } => match by_pane.iter_mut().find(|(p, _)| *p == pane) {
                    Some((_, reqs)) => reqs.push(req),
                    None => by_pane.push((pane, vec![req])),
                },
            }
        }
        for (pane, retries) in by_pane {
            let h = host.clone();
            let effects = self.with_pane(pane, |p, ctx| {
                p.handle_event(PaneEvent::HostKeyAccepted { host: h, retries }, ctx)
            });
            self.apply_effects(Some(pane), effects, out);
        }
    }

    fn on_msg(&mut self, msg: Msg, out: &mut Vec<Command>) {
        match msg {
            Msg::Job { job, pane, msg } => {
                if let Some(p) = pane {
                    let effects = self.with_pane(p, |pn, ctx| {
                        pn.handle_event(PaneEvent::JobMsg { job, msg }, ctx)
                    });
                    self.apply_effects(Some(p), effects, out);
                }
            }
            Msg::Progress { job, text } => {
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == job) {
                    if !j.cancelled {
                        j.progress = text;
                    }
                }
            }
            Msg::JobDone { job, pane } => {
                self.jobs.retain(|j| j.id != job);
                self.cancels.remove(&job);
                if self.sweep.job() == Some(job) {
                    self.finish_sweep(out);
                }
                if let Some(p) = pane {
                    let effects =
                        self.with_pane(p, |pn, ctx| pn.handle_event(PaneEvent::JobDone(job), ctx));
                    self.apply_effects(Some(p), effects, out);
                }
            }
            Msg::Saved { pane, result } => {
                let pane_result = match result {
                    Ok((text, store)) => {
                        self.store = *store;
                        self.set_status(text);
                        self.refresh_all();
                        self.resolve_addresses(out);
                        Ok(())
                    }
                    Err(e) => {
                        self.set_error(e.clone());
                        Err(e)
                    }
                };
                if let Some(p) = pane {
                    let effects = self.with_pane(p, |pn, ctx| {
                        pn.handle_event(
                            PaneEvent::Saved {
                                result: pane_result,
                            },
                            ctx,
                        )
                    });
                    self.apply_effects(Some(p), effects, out);
                }
            }
            Msg::Results(u) => {
                self.results.merge(u);
                self.data_changed();
            }
            Msg::Status(Ok(s)) => self.set_status(s),
            Msg::Status(Err(s)) => self.set_error(s),
            Msg::Shell(s) => self.on_shell(s, out),
        }
    }

    fn finish_sweep(&mut self, out: &mut Vec<Command>) {
        self.results.checking.clear();
        let (save, queued) = self.sweep.finish();
        if let Some((op, summary)) = save {
            self.set_status(summary);
            out.push(Command::Store {
                pane: None,
                what: "check.save".into(),
                op,
            });
        }
        self.data_changed();
        if !queued.is_empty() {
            self.start_check(queued, out);
        }
    }

    fn on_shell(&mut self, s: ShellMsg, out: &mut Vec<Command>) {
        match s {
            ShellMsg::Checked(hc) => {
                let host = hc.check.host.clone();
                self.results.checking.remove(&host);
                let error = hc.ssh_error.clone();
                self.results
                    .merge(ResultsUpdate::Checks(vec![hc.check.clone()]));
                self.results
                    .merge(ResultsUpdate::Patches(vec![hc.patches.clone()]));
                // the counter moves with the rows, never behind them
                let progress = self.sweep.checked(*hc);
                let sweep = self.sweep.job();
                if let Some(j) = self.jobs.iter_mut().find(|j| Some(j.id) == sweep) {
                    if !j.cancelled {
                        j.progress = progress;
                    }
                }
                self.data_changed();
                if let Some(e) = error {
                    self.key_problem(&host, &e, Retry::Check, out);
                }
            }
            ShellMsg::SweepSaved(r) => match r {
                Ok(s) => self.set_status(s),
                Err(e) => self.set_error(e),
            },
            ShellMsg::UnknownKey { host, key } => {
                self.key_unknown(&host, key, None, Retry::Check);
            }
            ShellMsg::KeyAccepted { host, result } => {
                let retries = self.keys.done(&host);
                match result {
                    Ok(()) => {
                        self.set_status(format!("host key of {host} recorded; trying again"));
                        self.retry_after_key(host, retries, out);
                    }
                    Err(e) => self.set_error(format!("could not record the key of {host}: {e}")),
                }
                self.next_key_dialog();
            }
            ShellMsg::RunResult { run, result } => {
                let key_error = result.ssh_error.clone().map(|e| (result.host.clone(), e));
                let command = self.run_view(run).map(|v| {
                    v.add(*result);
                    v.command.clone()
                });
                if let (Some((host, e)), Some(command)) = (key_error, command) {
                    self.key_problem(&host, &e, Retry::Run { run, command }, out);
                }
            }
            ShellMsg::RunDone { run, line } => match self.run_view(run) {
                // the open view shows its own summary; the status line is
                // left to what the user does there (s, y)
                Some(v) => {
                    v.done = true;
                    v.changed();
                }
                None => self.set_status(line),
            },
            ShellMsg::SshDone { host, result } => match result {
                Ok(Some(0)) | Ok(Some(130)) => self.set_status(format!("back from ssh {host}")),
                Ok(Some(code)) => self.set_error(format!("ssh {host} exited with status {code}")),
                Ok(None) => self.set_error(format!("ssh {host} was killed by a signal")),
                Err(e) => self.set_error(format!("could not run ssh {host}: {e}")),
            },
            ShellMsg::HistoryLoaded(h) => {
                self.results.history = *h;
                self.data_changed();
            }
            ShellMsg::ResultsLoaded(loaded) => {
                let live = std::mem::take(&mut self.results);
                let mut r = *loaded;
                r.history = live.history;
                r.checking = live.checking;
                r.addresses = live.addresses;
                r.checks.extend(live.checks);
                r.patches.extend(live.patches);
                r.backups.extend(live.backups);
                r.loading = false;
                if let Some(e) = r.load_errors.first() {
                    self.set_error(e.clone());
                }
                self.results = r;
                self.data_changed();
            }
            ShellMsg::Reloaded(r) => match r {
                Ok((store, results)) => {
                    self.store = *store;
                    let checking = std::mem::take(&mut self.results.checking);
                    let addresses = std::mem::take(&mut self.results.addresses);
                    let history = std::mem::take(&mut self.results.history);
                    self.results = *results;
                    self.results.history = history;
                    self.results.checking = checking;
                    self.results.addresses = addresses;
                    self.refresh_all();
                    self.set_status("files re-read");
                    self.resolve_addresses(out);
                }
                Err(e) => self.set_error(e),
            },
            ShellMsg::Edited { req, result } => self.edited(req, result, out),
            ShellMsg::Resolved(found) => {
                self.resolving = false;
                self.results.addresses.extend(found);
                self.data_changed();
            }
        }
    }

    // ------------------------------------------------------------ draw

    pub fn ctx_for_draw(&self) -> Ctx<'_> {
        self.ctx()
    }

    /// The wheel scrolls what is on top (three rows a notch); a left click
    /// on a tab switches to it, on a row of a list selects it.
    fn on_mouse(&mut self, m: crossterm::event::MouseEvent, out: &mut Vec<Command>) {
        use crossterm::event::{MouseButton, MouseEventKind};
        let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let code = if m.kind == MouseEventKind::ScrollDown {
                    KeyCode::Down
                } else {
                    KeyCode::Up
                };
                let takes_arrows = match self.overlays.last() {
                    None => self.filter_input.is_none(),
                    Some(o) => o.scrolls(),
                };
                if takes_arrows && !self.too_small() {
                    for _ in 0..3 {
                        self.on_key(key(code), out);
                    }
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if !self.overlays.is_empty() || self.too_small() {
                    return;
                }
                if m.row == 1 {
                    let hit = self
                        .tab_spans
                        .borrow()
                        .iter()
                        .find(|(x0, x1, _)| (*x0..*x1).contains(&m.column))
                        .map(|t| t.2);
                    if let Some(id) = hit {
                        self.switch(id);
                    }
                    return;
                }
                // the body starts under the header and the tabs
                if m.row >= 2 && m.row + 1 < self.size.1 {
                    let active = self.active;
                    let row = m.row - 2;
                    self.with_pane(active, |p, _| p.click(row));
                }
            }
            _ => {}
        }
    }

    /// `E`: the record in the user's editor (crate::ui::editor).
    fn edit_in_editor(
        &mut self,
        kind: crate::ui::editor::Kind,
        name: &str,
        out: &mut Vec<Command>,
    ) {
        use crate::ui::editor;
        let Some(req) = editor::request(&self.store, kind, name) else {
            return self.set_error(format!("no {} named {name}", kind.table()));
        };
        let argv = editor::argv(self.editor.as_deref(), &req.path, req.line);
        self.set_status(format!("editing {} {name} in {}…", kind.table(), argv[0]));
        out.push(Command::Edit { req, argv });
    }

    /// The editor returned: check the text; write it back, or say what is
    /// wrong and offer to edit again.
    fn edited(
        &mut self,
        req: crate::ui::editor::Request,
        result: Result<String, String>,
        out: &mut Vec<Command>,
    ) {
        use crate::ui::editor;
        let text = match result {
            Ok(t) => t,
            Err(e) => return self.set_error(format!("nothing saved: {e}")),
        };
        if text == req.text {
            return self.set_status(format!("{} {}: no change", req.kind.table(), req.name));
        }
        match editor::check(&req, &text, &self.store) {
            Ok(None) => self.set_status(format!("{} {}: no change", req.kind.table(), req.name)),
            Ok(Some(op)) => out.push(Command::Store {
                pane: Some(req.kind.pane()),
                what: format!("{}.edit", req.kind.table()),
                op,
            }),
            Err(p) => {
                let mut retry = req.clone();
                retry.text = text;
                if let Some(l) = p.line {
                    retry.line = l;
                }
                let lines = vec![
                    p.message.clone(),
                    String::new(),
                    format!(
                        "Nothing was written. y opens your text again{}; n discards it.",
                        p.line.map(|l| format!(" at line {l}")).unwrap_or_default()
                    ),
                ];
                self.edit_retry = Some(retry);
                self.overlays.push(Overlay::Confirm(Box::new(
                    ConfirmView::plain(
                        format!(
                            "The edited {} {} cannot be written",
                            req.kind.table(),
                            req.name
                        ),
                        &lines,
                        Request::EditAgain,
                        None,
                    )
                    .with_labels("edit again", "discard"),
                )));
            }
        }
    }

    /// Work the event loop starts once the screen is up: where the hosts
    /// from the SSH config really are.
    pub fn start_background(&mut self, out: &mut Vec<Command>) {
        self.background = true;
        self.resolve_addresses(out);
    }

    /// Resolve, in the background (`ssh -G`, never on this thread), every
    /// host without an `address` that is not resolved yet. Not a job of the
    /// jobs list: quitting does not wait for it.
    fn resolve_addresses(&mut self, out: &mut Vec<Command>) {
        if self.resolving || !self.background {
            return;
        }
        let todo: Vec<Host> = self
            .store
            .hosts
            .iter()
            .filter(|h| h.address.is_none() && !self.results.addresses.contains_key(&h.name))
            .cloned()
            .collect();
        if todo.is_empty() {
            return;
        }
        self.resolving = true;
        let engine = self.engine.clone();
        let job = Job::blocking(None, "resolve addresses", move |jh| {
            let mut found = Vec::new();
            for h in todo {
                if jh.is_cancelled() {
                    break;
                }
                // the engine keeps the answer: the first check needs no `ssh -G`
                if let Ok(r) = engine.resolve(&h) {
                    let addr = if r.port == 22 {
                        r.hostname
                    } else if r.hostname.contains(':') {
                        format!("[{}]:{}", r.hostname, r.port)
                    } else {
                        format!("{}:{}", r.hostname, r.port)
                    };
                    found.push((h.name.clone(), addr));
                }
            }
            let _ = jh.tx.send(Msg::Shell(ShellMsg::Resolved(found)));
        });
        out.push(Command::Job {
            id: job.id,
            pane: None,
            job,
            cancel: Default::default(),
        });
    }
}

fn expand_tilde(p: &str) -> String {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(h) = std::env::var_os("HOME") {
            return format!("{}/{rest}", h.to_string_lossy());
        }
    }
    p.to_string()
}

/// A span helper for key hints.
pub fn hint<'a>(theme: &Theme, key: &'a str, what: &'a str) -> Vec<Span<'a>> {
    vec![
        Span::styled(key, theme.key()),
        Span::raw(format!(" {what}  ")),
    ]
}
