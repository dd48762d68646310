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
//! [`Pane::handle_event`] receives: the answer of a confirm dialog
//! (`Confirmed(tag)`), a submitted form (`FormSubmitted { tag, values }` —
//! return [`Effect::FormErrors`] to keep the form open with inline errors),
//! the result of a store write (`Saved { tag, result }`), messages of a
//! background job the pane started (`JobMsg { job, msg }`: downcast `msg`
//! to the type your job sent) and its end (`JobDone`), and `Select(key)` when
//! another pane (Overview) jumps to a row of yours.
//!
//! ## Background jobs
//! Return [`Effect::Job`] with a [`Job`]: a blocking closure (runs on a
//! `spawn_blocking` thread: SSH, files) or an async task (runs on the tokio
//! runtime). It gets a [`JobHandle`]: `send(any value)` delivers
//! `PaneEvent::JobMsg` to the pane that started it (one redraw per burst),
//! `progress(text)` updates the job list shown in the status bar,
//! `cancel_flag()` / `is_cancelled()` is set when the user cancels (`x` in
//! the jobs view, or quitting). Jobs are listed with id, host, what and
//! progress; quitting asks while any runs. Anything that writes the files
//! goes through [`Effect::Store`] (one writer, in order) or through the
//! store API inside a job (e.g. `checks::save`), then
//! [`Effect::ReloadStore`]/[`Effect::MergeResults`] to publish new data.
//!
//! ## Help
//! [`Pane::keys`] lists every key the pane uses with a one-line
//! description; the `?` overlay shows them after the global keys.
//!
//! ## Registering a pane
//! `src/ui/panes/mod.rs::all()` builds the five panes in tab order with
//! `overview::OverviewPane::new()`, `patches::PatchesPane::new()`,
//! `backups::BackupsPane::new()`: keep those names (or change that one line).
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
//!         match key.code { KeyCode::Char('d') => Some(vec![Effect::confirm("Delete?", vec![], "del")]), _ => None }
//!     }
//!     fn handle_event(&mut self, ev: PaneEvent, ctx: &Ctx) -> Vec<Effect> { vec![] }
//!     fn keys(&self) -> Vec<KeyHelp> { vec![KeyHelp::new("d", "delete")] }
//!     fn count(&self, ctx: &Ctx) -> String { ctx.store.backups.len().to_string() }
//!     fn set_filter(&mut self, f: &str, ctx: &Ctx) { self.list.set_filter(f) }
//!     fn filter(&self) -> &str { self.list.filter() }
//! }
//! ```

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossterm::event::KeyEvent;
use futures_util::future::BoxFuture;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{BackupResult, CheckResult, PatchReport};
use crate::ssh::{CancelFlag, Engine};
use crate::store::{Store, StoreError};
use crate::ui::theme::Theme;
use crate::ui::widgets::form::{Form, FormValues};

pub use crate::model::PaneId;

/// Latest results: state/ at start-up, then merged with live results.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// By host name.
    pub checks: BTreeMap<String, CheckResult>,
    /// By host name.
    pub patches: BTreeMap<String, PatchReport>,
    /// By backup job name.
    pub backups: BTreeMap<String, BackupResult>,
    /// Hosts a check is running for right now.
    pub checking: BTreeSet<String>,
    /// Why a state file could not be read (shown, never fatal).
    pub load_errors: Vec<String>,
    /// state/ is still being read (at start-up, after the first frame).
    pub loading: bool,
    /// Where hosts without an `address` in hosts.toml really are, as `ssh
    /// -G NAME` resolves them (resolved in the background at start-up and
    /// when hosts are added): "10.0.0.5" or "10.0.0.5:2222".
    pub addresses: BTreeMap<String, String>,
}

impl Results {
    /// The address to show and copy: hosts.toml's, else the resolved one
    /// (None: not resolved yet, or `ssh -G` failed).
    pub fn address_of<'a>(&'a self, host: &'a crate::model::Host) -> Option<&'a str> {
        host.address
            .as_deref()
            .or_else(|| self.addresses.get(&host.name).map(String::as_str))
    }
}

/// An update of [`Results`] a pane or job publishes (all panes refresh).
#[derive(Debug, Clone)]
pub enum ResultsUpdate {
    Checks(Vec<CheckResult>),
    Patches(Vec<PatchReport>),
    Backups(Vec<BackupResult>),
}

impl Results {
    pub fn merge(&mut self, update: ResultsUpdate) {
        match update {
            ResultsUpdate::Checks(v) => {
                for mut c in v {
                    // unreachable now: the last known facts stay, marked stale
                    if let Some(prev) = self.checks.get(&c.host) {
                        c.keep_last_known(prev);
                    }
                    self.checks.insert(c.host.clone(), c);
                }
            }
            ResultsUpdate::Patches(v) => {
                for p in v {
                    self.patches.insert(p.host.clone(), p);
                }
            }
            ResultsUpdate::Backups(v) => {
                for b in v {
                    self.backups.insert(b.name.clone(), b);
                }
            }
        }
    }
}

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

/// Id of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl JobId {
    /// A new id, unique in this process (jobs are numbered from 1 as they
    /// are made).
    pub fn fresh() -> JobId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        JobId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A store write, run on the single writer thread in order. Returns the
/// status line text on success.
pub type StoreOp = Box<dyn FnOnce(&mut Store) -> Result<String, StoreError> + Send>;

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

/// Messages the runner and jobs send to the app loop.
pub enum Msg {
    /// To the pane that started the job.
    Job {
        job: JobId,
        pane: Option<PaneId>,
        msg: Box<dyn Any + Send>,
    },
    Progress {
        job: JobId,
        text: String,
    },
    JobDone {
        job: JobId,
        pane: Option<PaneId>,
    },
    /// A store write finished: the writer's copy of the store after it.
    Saved {
        pane: Option<PaneId>,
        tag: String,
        result: Result<(String, Box<Store>), String>,
    },
    /// Results to merge (from jobs or the check sweep).
    Results(ResultsUpdate),
    /// Status line text (Ok) or error (Err).
    Status(Result<String, String>),
    /// Internal messages of the shell (check sweep, run view, ssh).
    Shell(crate::ui::app::ShellMsg),
}

impl Msg {
    /// What it is, for the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Job { .. } => "job",
            Msg::Progress { .. } => "progress",
            Msg::JobDone { .. } => "job done",
            Msg::Saved { .. } => "saved",
            Msg::Results(_) => "results",
            Msg::Status(_) => "status",
            Msg::Shell(_) => "shell",
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
    pub fn send<T: Any + Send>(&self, msg: T) -> bool {
        self.tx
            .send(Msg::Job {
                job: self.id,
                pane: self.pane,
                msg: Box::new(msg),
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
    /// Ask yes/no; on yes the pane gets `PaneEvent::Confirmed(tag)`.
    Confirm {
        title: String,
        lines: Vec<String>,
        tag: String,
    },
    /// Ask, and take yes only when `word` is typed (a host name, "yes"):
    /// for what cannot be undone (a reboot).
    ConfirmTyped {
        title: String,
        lines: Vec<String>,
        tag: String,
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
    /// gets `PaneEvent::Saved { tag, .. }`, every pane is refreshed.
    Store { tag: String, op: StoreOp },
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
        retry: String,
    },
}

impl Effect {
    pub fn confirm(title: impl Into<String>, lines: Vec<String>, tag: impl Into<String>) -> Effect {
        Effect::Confirm {
            title: title.into(),
            lines,
            tag: tag.into(),
        }
    }
    pub fn store(
        tag: impl Into<String>,
        op: impl FnOnce(&mut Store) -> Result<String, StoreError> + Send + 'static,
    ) -> Effect {
        Effect::Store {
            tag: tag.into(),
            op: Box::new(op),
        }
    }
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Status(s) => write!(f, "Status({s:?})"),
            Effect::Error(s) => write!(f, "Error({s:?})"),
            Effect::Confirm { title, tag, .. } => write!(f, "Confirm({title:?}, {tag:?})"),
            Effect::ConfirmTyped {
                title, tag, word, ..
            } => write!(f, "ConfirmTyped({title:?}, {tag:?}, {word:?})"),
            Effect::Form(form) => write!(f, "Form({:?})", form.tag),
            Effect::FormErrors(e) => write!(f, "FormErrors({e:?})"),
            Effect::Text { title, .. } => write!(f, "Text({title:?})"),
            Effect::AppendText { title, .. } => write!(f, "AppendText({title:?})"),
            Effect::Store { tag, .. } => write!(f, "Store({tag:?})"),
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
    /// The user said yes to `Effect::Confirm { tag }`.
    Confirmed(String),
    /// A form was submitted (every field passed its own validation).
    FormSubmitted { tag: String, values: FormValues },
    /// A store write the pane asked for finished (Err: the message shown).
    Saved {
        tag: String,
        result: Result<(), String>,
    },
    /// A message of a job this pane started.
    JobMsg {
        job: JobId,
        msg: Box<dyn Any + Send>,
    },
    /// A job this pane started ended.
    JobDone(JobId),
    /// Select the row with this key (Overview's jump).
    Select(String),
    /// Select a vendor and one of its tickets (by reference) in its details.
    SelectTicket(String, String),
    /// The key of `host` was recorded after an `Effect::HostKey`: do again
    /// what the `retries` tags name.
    HostKeyAccepted { host: String, retries: Vec<String> },
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
