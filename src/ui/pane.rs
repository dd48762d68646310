//! # The pane contract
//!
//! Every tab of the TUI (Overview, Hosts, Patches, Backups, Vendors) is a
//! [`Pane`]. The app shell (src/ui/app.rs) owns the terminal, the shared data
//! and every overlay (help, confirm, form, text/log view, run view, host-key
//! dialog); a pane owns only its own *view state* (selection, marks, filter,
//! scroll, the rows it derived from the data) and never does I/O.
//!
//! ## Data a pane draws from: [`Ctx`]
//! Every call gets a `&Ctx`: the loaded [`Store`] (`ctx.store.hosts`,
//! `.vendors`, `.backups`, `.settings`), the latest results from `state/`
//! merged with everything that arrived live since ([`Results`]: checks,
//! patches, backups by key, plus which hosts are being checked right now),
//! the [`Theme`] (always style through it: it has a mono variant for
//! `NO_COLOR`), the time to compute ages against (`ctx.now`, injected so tests
//! are deterministic), the running [`JobInfo`]s and an [`Engine`] clone for
//! background jobs. The data is replaced, never mutated in place: when the
//! store was written or results arrived the app calls [`Pane::refresh`] on
//! every pane, which re-derives its rows and keeps the selection by key.
//!
//! ## Drawing
//! [`Pane::draw`] is a pure function of `&self` + `&Ctx` into the given
//! area. Style only via `ctx.theme`; every colour-coded status must also be
//! readable as text (write "CRIT", not only a red dot). Use
//! [`crate::ui::widgets::list::ListView`] for the common list behaviour
//! (j/k/g/G/PgUp/PgDn, Space marks, filter, a selection that survives a
//! refresh) and `crate::ui::widgets::table` helpers for a table with a
//! highlighted row.
//!
//! ## Keys in, effects out
//! The shell handles the global keys first (`1`-`5`, Tab/Shift-Tab, `?`, `/`
//! and the filter line, `q`, Ctrl-C) and every overlay; any other key goes to
//! [`Pane::handle_key`], which changes the pane's view state and returns
//! `Some(effects)` when it used the key (None: the shell shows "no such key").
//! Effects ([`Effect`]) are *requests* the shell/runner executes:
//! status/error lines, confirm dialogs, forms, text views, store writes,
//! background jobs, checks, ssh, run, clipboard, switching panes.
//!
//! ## Answers come back as [`PaneEvent`]s
//! Questions and forms carry a typed [`Request`] (`crate::ui::msg`: what
//! they are about, e.g. `Request::DeleteHost(name)`), and
//! [`Pane::handle_event`] gets it back: the answer of a confirm dialog
//! (`Confirmed(req)`), a submitted form (`FormSubmitted { req, values }` —
//! return [`Effect::FormErrors`] to keep the form open with inline errors),
//! the result of a store write (`Saved { result }`), messages of a
//! background job the pane started (`JobMsg { job, msg }`: a
//! [`crate::ui::msg::JobMsg`], one variant per pane that runs jobs) and its
//! end (`JobDone`), and `Select(key)` when another pane (Overview) jumps to
//! a row of yours. Nothing is routed by text.
//!
//! ## Background jobs
//! Return [`Effect::Job`] with a [`Job`]: a blocking closure (runs on a
//! `spawn_blocking` thread: SSH, files; usually a task of `crate::ops`,
//! with `ctx.ops()`) or an async task (runs on the tokio runtime). Its id
//! is [`Job::id`], known before it runs. It gets a [`JobHandle`]:
//! `send(msg)` delivers `PaneEvent::JobMsg` to the pane that started it
//! (one redraw per burst),
//! `progress(text)` updates the job list shown in the status bar,
//! `cancel_flag()` / `is_cancelled()` is set when the user cancels (`x` in
//! the jobs view, or quitting). Jobs are listed with id, host, what and
//! progress; quitting asks while any runs. Anything that writes the files
//! goes through [`Effect::Store`] (one writer, in order) or through the
//! store API inside a job (the `ops` tasks save and journal themselves), then
//! [`Effect::ReloadStore`]/[`Effect::MergeResults`] to publish new data.
//!
//! ## Help
//! [`Pane::keys`] lists every key the pane uses with a one-line
//! description; the `?` overlay shows them after the global keys.
//!
//! ## Registering a pane
//! One entry in `src/ui/panes/mod.rs::PANES` (id, title, constructor):
//! the number keys, Tab order, tab titles, help and the Overview's links
//! come from it (see docs/architecture.md, "add a pane").
//!
//! ## A minimal pane
//! ```ignore
//! pub struct MyPane { list: ListView }
//! impl Pane for MyPane {
//!     fn id(&self) -> PaneId { PaneId::BACKUPS }
//!     fn refresh(&mut self, ctx: &Ctx) { self.list.set_rows(keys_and_texts(ctx)) }
//!     fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) { /* table from self.list */ }
//!     fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
//!         if self.list.handle_key(key) { return Some(vec![]) }
//!         match key.code { KeyCode::Char('d') => Some(vec![Effect::confirm("Delete?", vec![], Request::DeleteBackup(name))]), _ => None }
//!     }
//!     fn handle_event(&mut self, ev: PaneEvent, ctx: &Ctx) -> Vec<Effect> { vec![] }
//!     fn keys(&self) -> Vec<KeyHelp> { vec![KeyHelp::new("d", "delete")] }
//!     fn count(&self, ctx: &Ctx) -> String { ctx.store.backups.len().to_string() }
//!     fn set_filter(&mut self, f: &str, ctx: &Ctx) { self.list.set_filter(f) }
//!     fn filter(&self) -> &str { self.list.filter() }
//! }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossterm::event::KeyEvent;
use futures_util::future::BoxFuture;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;
use tokio::sync::mpsc::UnboundedSender;

use crate::ssh::{CancelFlag, Engine};
use crate::store::{Store, StoreError, StoreOp};
use crate::ui::msg::{JobId, JobMsg, Msg, Request, Results, ResultsUpdate};
use crate::ui::theme::Theme;
use crate::ui::widgets::form::{Form, FormValues};

pub use crate::model::PaneId;

/// A job in flight, as shown in the jobs list.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub id: JobId,
    pub pane: Option<PaneId>,
    pub host: Option<String>,
    pub what: String,
    pub progress: String,
    pub cancelled: bool,
    /// When it started (the footer and the jobs list show how long it runs).
    pub started: jiff::Timestamp,
}

/// Everything a pane may read.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub results: &'a Results,
    pub theme: &'a Theme,
    pub now: jiff::Timestamp,
    pub jobs: &'a [JobInfo],
    pub engine: &'a Engine,
    /// The event loop's channel, for a pane's own background computation
    /// (the Overview). None in tests: compute in place.
    pub tx: Option<&'a UnboundedSender<Msg>>,
}

impl Ctx<'_> {
    /// What a task of `crate::ops` needs (copies of the store and the
    /// engine): a job runs the task, the pane shows what it reports.
    pub fn ops(&self) -> crate::ops::Ctx {
        crate::ops::Ctx::new(self.store.clone(), self.engine.clone())
    }

    /// Seconds since an RFC 3339 time, against `ctx.now`.
    pub fn age_of(&self, rfc3339: &str) -> Option<u64> {
        crate::util::age_of(rfc3339, self.now)
    }
    /// "5m ago" / "never".
    pub fn age_label(&self, rfc3339: Option<&str>) -> String {
        match rfc3339.and_then(|t| self.age_of(t)) {
            Some(s) => format!("{} ago", crate::util::format_age(s)),
            None => "never".into(),
        }
    }
}

/// One line of the `?` overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyHelp {
    pub keys: String,
    pub what: String,
}

impl KeyHelp {
    pub fn new(keys: &str, what: &str) -> KeyHelp {
        KeyHelp {
            keys: keys.into(),
            what: what.into(),
        }
    }
}

/// What a job runs.
pub enum JobWork {
    /// A blocking closure on a `spawn_blocking` thread (SSH, files).
    Blocking(Box<dyn FnOnce(JobHandle) + Send>),
    /// An async task on the tokio runtime.
    Async(Box<dyn FnOnce(JobHandle) -> BoxFuture<'static, ()> + Send>),
}

/// A background job a pane asks for.
pub struct Job {
    /// Its id, known to the pane that made it before it runs (the pane
    /// matches its messages and its end by it).
    pub id: JobId,
    /// The host it works on (None: several / none).
    pub host: Option<String>,
    /// Short description for the jobs list ("backup check web1").
    pub what: String,
    pub work: JobWork,
}

impl Job {
    pub fn blocking(
        host: Option<String>,
        what: impl Into<String>,
        f: impl FnOnce(JobHandle) + Send + 'static,
    ) -> Job {
        Job {
            id: JobId::fresh(),
            host,
            what: what.into(),
            work: JobWork::Blocking(Box::new(f)),
        }
    }
    pub fn task(
        host: Option<String>,
        what: impl Into<String>,
        f: impl FnOnce(JobHandle) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> Job {
        Job {
            id: JobId::fresh(),
            host,
            what: what.into(),
            work: JobWork::Async(Box::new(f)),
        }
    }
}

/// Given to a job: talk back to the UI, see cancellation.
#[derive(Clone)]
pub struct JobHandle {
    pub id: JobId,
    pub pane: Option<PaneId>,
    pub(crate) tx: UnboundedSender<Msg>,
    pub(crate) cancel: CancelFlag,
}

impl JobHandle {
    /// A handle for tests: messages go to `tx`.
    pub fn for_test(id: u64, pane: Option<PaneId>, tx: UnboundedSender<Msg>) -> JobHandle {
        JobHandle {
            id: JobId(id),
            pane,
            tx,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
    /// Deliver `msg` to the pane as `PaneEvent::JobMsg` (false: the UI is gone).
    pub fn send(&self, msg: impl Into<JobMsg>) -> bool {
        self.tx
            .send(Msg::Job {
                job: self.id,
                pane: self.pane,
                msg: msg.into(),
            })
            .is_ok()
    }
    /// Update the progress text shown in the jobs list.
    pub fn progress(&self, text: impl Into<String>) {
        let _ = self.tx.send(Msg::Progress {
            job: self.id,
            text: text.into(),
        });
    }
    /// Publish results (checks/patches/backups) to every pane.
    pub fn results(&self, update: ResultsUpdate) {
        let _ = self.tx.send(Msg::Results(update));
    }
    /// A status line message.
    pub fn status(&self, text: impl Into<String>) {
        let _ = self.tx.send(Msg::Status(Ok(text.into())));
    }
    pub fn error(&self, text: impl Into<String>) {
        let _ = self.tx.send(Msg::Status(Err(text.into())));
    }
    pub fn cancel_flag(&self) -> CancelFlag {
        self.cancel.clone()
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Requests a pane returns; the shell and its runner execute them.
pub enum Effect {
    /// Status line message.
    Status(String),
    /// Status line error (shown until the next message).
    Error(String),
    /// Ask yes/no; on yes the pane gets `PaneEvent::Confirmed(req)`.
    Confirm {
        title: String,
        lines: Vec<String>,
        req: Request,
    },
    /// Ask, and take yes only when `word` is typed (a host name, "yes"):
    /// for what cannot be undone (a reboot).
    ConfirmTyped {
        title: String,
        lines: Vec<String>,
        req: Request,
        word: String,
    },
    /// Open a form; on submit the pane gets `PaneEvent::FormSubmitted`.
    Form(Form),
    /// Keep the open form open with these errors (field key, message);
    /// only meaningful as an answer to `FormSubmitted`.
    FormErrors(Vec<(String, String)>),
    /// A scrollable text overlay (details, a log). Replaces an open one.
    Text {
        title: String,
        lines: Vec<Line<'static>>,
    },
    /// Append to the text overlay titled `title` if it is open (live logs).
    AppendText {
        title: String,
        lines: Vec<Line<'static>>,
    },
    /// Write through the store (single writer thread, in order); the pane
    /// gets `PaneEvent::Saved`, every pane is refreshed. `what` names the
    /// change in the log ("host.rm"); nothing is routed by it.
    Store { what: String, op: StoreOp },
    /// Re-read the files and state/ (after a job wrote through its own Store).
    ReloadStore,
    /// Merge results into the shared [`Results`] (every pane refreshes).
    MergeResults(ResultsUpdate),
    /// Run a background job.
    Job(Job),
    /// Check these hosts (the shell's sweep: live results in `ctx.results`,
    /// unknown host keys asked about, saved to state/ and the journal).
    Check(Vec<String>),
    /// Suspend the TUI and run the user's own `ssh` to this host.
    Ssh(String),
    /// Open this record in `$VISUAL`/`$EDITOR` (see `crate::ui::editor`).
    Editor {
        kind: crate::ui::editor::Kind,
        name: String,
    },
    /// Open the run prompt for these hosts.
    Run(Vec<String>),
    /// Copy to the clipboard with OSC 52; `what` names it in the status line.
    Copy { what: String, value: String },
    /// Switch to a pane and select the row with this key there.
    /// Switch to `pane`, select `key` there (and, in the Vendors pane, the
    /// ticket `ticket` in its details).
    Goto {
        pane: PaneId,
        key: Option<String>,
        ticket: Option<String>,
    },
    /// SSH work of this pane on `host` failed with `error`. When the error
    /// is about the host key the shell handles it as everywhere (unknown:
    /// ask, record, then `PaneEvent::HostKeyAccepted` with `retry`;
    /// changed: shown with both fingerprints); otherwise nothing happens.
    HostKey {
        host: String,
        error: crate::ssh::SshError,
        retry: Request,
    },
}

impl Effect {
    pub fn confirm(title: impl Into<String>, lines: Vec<String>, req: Request) -> Effect {
        Effect::Confirm {
            title: title.into(),
            lines,
            req,
        }
    }
    pub fn store(
        what: impl Into<String>,
        op: impl FnOnce(&mut Store) -> Result<String, StoreError> + Send + 'static,
    ) -> Effect {
        Effect::Store {
            what: what.into(),
            op: Box::new(op),
        }
    }
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Status(s) => write!(f, "Status({s:?})"),
            Effect::Error(s) => write!(f, "Error({s:?})"),
            Effect::Confirm { title, req, .. } => write!(f, "Confirm({title:?}, {req:?})"),
            Effect::ConfirmTyped {
                title, req, word, ..
            } => write!(f, "ConfirmTyped({title:?}, {req:?}, {word:?})"),
            Effect::Form(form) => write!(f, "Form({:?})", form.req),
            Effect::FormErrors(e) => write!(f, "FormErrors({e:?})"),
            Effect::Text { title, .. } => write!(f, "Text({title:?})"),
            Effect::AppendText { title, .. } => write!(f, "AppendText({title:?})"),
            Effect::Store { what, .. } => write!(f, "Store({what:?})"),
            Effect::ReloadStore => write!(f, "ReloadStore"),
            Effect::MergeResults(_) => write!(f, "MergeResults"),
            Effect::Job(j) => write!(f, "Job({:?})", j.what),
            Effect::Check(h) => write!(f, "Check({h:?})"),
            Effect::Ssh(h) => write!(f, "Ssh({h:?})"),
            Effect::Editor { kind, name } => write!(f, "Editor({kind:?}, {name:?})"),
            Effect::Run(h) => write!(f, "Run({h:?})"),
            Effect::Copy { what, value } => write!(f, "Copy({what:?}, {value:?})"),
            Effect::Goto { pane, key, ticket } => {
                write!(f, "Goto({pane:?}, {key:?}, {ticket:?})")
            }
            Effect::HostKey { host, retry, .. } => write!(f, "HostKey({host:?}, {retry:?})"),
        }
    }
}

/// What comes back to a pane.
pub enum PaneEvent {
    /// The user said yes to `Effect::Confirm { req }`.
    Confirmed(Request),
    /// A form was submitted (every field passed its own validation).
    FormSubmitted { req: Request, values: FormValues },
    /// A store write the pane asked for finished (Err: the message shown).
    Saved { result: Result<(), String> },
    /// A message of a job this pane started.
    JobMsg { job: JobId, msg: JobMsg },
    /// A job this pane started ended.
    JobDone(JobId),
    /// Select the row with this key (Overview's jump).
    Select(String),
    /// Select a vendor and one of its tickets (by reference) in its details.
    SelectTicket(String, String),
    /// The key of `host` was recorded after an `Effect::HostKey`: do again
    /// what `retries` name.
    HostKeyAccepted { host: String, retries: Vec<Request> },
}

/// A tab.
pub trait Pane {
    fn id(&self) -> PaneId;
    /// The count shown in the tab title: a number, then optionally more
    /// ("12 (2!)", "3 (1 open)"); on a narrow terminal only the first word
    /// is shown, or nothing.
    fn count(&self, ctx: &Ctx) -> String;
    /// The data changed: re-derive rows, keep the selection by key.
    fn refresh(&mut self, ctx: &Ctx);
    /// Draw into `area` (pure).
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx);
    /// A key the shell did not use. `Some(effects)`: used.
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>>;
    /// Answers and messages (see [`PaneEvent`]).
    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect>;
    /// Every key of this pane for `?`.
    fn keys(&self) -> Vec<KeyHelp>;
    /// The `/` filter changed (empty: cleared). Match across every field.
    fn set_filter(&mut self, filter: &str, ctx: &Ctx);
    fn filter(&self) -> &str;
    /// True while the pane is in a mode where Esc means "back" (details).
    fn wants_esc(&self) -> bool {
        false
    }
    /// The pane's list when it is one table over the whole area (marks,
    /// `*`, Esc and mouse clicks then work through it).
    fn list_mut(&mut self) -> Option<&mut crate::ui::widgets::list::ListView> {
        None
    }
    /// How many rows are marked (the footer says "acts on N marked").
    fn marks(&self) -> usize {
        0
    }
    /// Esc with nothing else open: forget the marks.
    fn clear_marks(&mut self) {
        if let Some(l) = self.list_mut() {
            l.clear_marks();
        }
    }
    /// Mark every row the filter shows (all rows without a filter); how
    /// many are marked now.
    fn mark_shown(&mut self) -> usize {
        self.list_mut().map_or(0, |l| l.mark_visible())
    }
    /// A left click on row `row` of the pane's area (`[ui] mouse`): select
    /// what is there. True: it selected something.
    fn click(&mut self, row: u16) -> bool {
        self.list_mut().is_some_and(|l| l.click_table_row(row))
    }
    /// The few keys for the footer's key bar (key, one word), most used first.
    fn hints(&self) -> Vec<(&'static str, &'static str)> {
        vec![]
    }
}
