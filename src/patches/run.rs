//! The library part shared by the CLI and the TUI: plan what will change per
//! host (the native simulation of the exact command), apply one host with
//! streamed output, apply many (one at a time by default, `parallel` wider,
//! stop at the first failure unless `keep_going`, cancellable between hosts),
//! refresh, reboot and wait, and the journal entries of all of it.
//!
//! Everything here is blocking (libssh2): call it from a blocking thread
//! (`tokio::task::spawn_blocking`, `std::thread`), never an async worker.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::commands::{self, Ask, Detected, Manager, Mode, Privilege};
use super::parse::{self, Change, Outcome, SudoProblem};
use crate::model::Host;
use crate::ssh::{CancelFlag, Conn, Engine, ExecOptions, ExecOutput, SshError, StreamKind};
use crate::store::{JournalEntry, Store};
use crate::util::sanitize;

/// What will change on one host, and the exact command that will do it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub host: String,
    pub manager: Manager,
    /// The SSH user is root (no sudo).
    pub root: bool,
    /// The remote user name, for messages.
    pub user: String,
    pub security_only: bool,
    /// The remote command line apply runs; None when there is nothing to do.
    pub apply_command: Option<String>,
    /// The simulation whose output `changes` come from.
    pub simulate_command: String,
    /// Exactly what the apply would change (the native simulation's word).
    pub changes: Vec<Change>,
    /// Pending updates left alone because of `hold` (package, pattern).
    pub held: Vec<(String, String)>,
    /// Kept back by the package manager itself (apt, zypper).
    pub kept_back: Vec<String>,
    /// Deferred by Ubuntu's phased updates.
    pub deferred: Vec<String>,
    /// Pending non-security updates left out by --security-only.
    pub not_security: usize,
}

impl HostPlan {
    /// Lines for a confirm prompt or a dry run: what changes, what is held.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let what = if self.security_only {
            "security updates"
        } else {
            "updates"
        };
        if self.changes.is_empty() {
            out.push(format!(
                "{}: nothing to do ({})",
                self.host,
                self.manager.name()
            ));
        } else {
            out.push(format!(
                "{}: {} ({} {}{})",
                self.host,
                crate::util::plural(self.changes.len(), "package changes", "packages change"),
                self.manager.name(),
                what,
                if self.root { "" } else { ", via sudo -n" }
            ));
            for c in &self.changes {
                let sec = match c.security {
                    Some(true) => " [security]",
                    _ => "",
                };
                out.push(format!("  {}{}", c.describe(), sec));
            }
        }
        for (p, pat) in &self.held {
            out.push(format!("  held: {p} (hold \"{pat}\")"));
        }
        if !self.kept_back.is_empty() {
            out.push(format!("  kept back: {}", self.kept_back.join(" ")));
        }
        if !self.deferred.is_empty() {
            out.push(format!(
                "  deferred (phased update): {}",
                self.deferred.join(" ")
            ));
        }
        if self.not_security > 0 {
            out.push(format!(
                "  left out (not security): {}",
                crate::util::plural(self.not_security, "package", "packages")
            ));
        }
        out
    }
}

/// The result of applying (or failing to apply) one host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOutcome {
    pub host: String,
    /// The command that was asked ("" when nothing was run).
    pub asked: String,
    pub security_only: bool,
    pub changed: Vec<Change>,
    pub held: Vec<String>,
    pub exit_status: Option<i32>,
    pub ok: bool,
    pub error: Option<String>,
    pub duration: Duration,
    /// After the apply; None where the host cannot tell.
    pub reboot_required: Option<bool>,
    /// zypper updated itself: apply again for the rest.
    pub run_again: bool,
    /// The SSH error that kept the apply from running (or cut it), as data.
    pub ssh_error: Option<SshError>,
}

impl HostOutcome {
    fn failed(
        host: &str,
        asked: &str,
        error: String,
        started: Instant,
        ssh_error: Option<SshError>,
    ) -> HostOutcome {
        HostOutcome {
            host: host.to_string(),
            asked: asked.to_string(),
            security_only: false,
            changed: Vec::new(),
            held: Vec::new(),
            exit_status: None,
            ok: false,
            error: Some(error),
            duration: started.elapsed(),
            reboot_required: None,
            run_again: false,
            ssh_error,
        }
    }

    /// Why it did not work, as the CLI and the TUI say it: "FAILED: why",
    /// or "OUTCOME UNKNOWN: why" when the command may have run (it timed out
    /// or the connection was lost after it started): the host may have
    /// changed, so it is not said to have failed.
    pub fn failure(&self) -> String {
        let why = self.error.as_deref().unwrap_or("unknown error");
        if self.ssh_error.as_ref().is_some_and(SshError::may_have_run) {
            format!("OUTCOME UNKNOWN: {why}; the host may have changed (it is re-checked)")
        } else {
            format!("FAILED: {why}")
        }
    }

    /// The `patch.apply` journal entry of this host.
    pub fn journal_entry(&self) -> JournalEntry {
        let result = match (&self.error, self.ok) {
            (_, true) => "ok".to_string(),
            (Some(e), false) => format!("failed: {e}"),
            (None, false) => "failed".to_string(),
        };
        let mut e = JournalEntry::now("patch.apply", &self.host, &result);
        e.details.push(format!(
            "asked: {}",
            if self.asked.is_empty() {
                "(nothing to do)"
            } else {
                &self.asked
            }
        ));
        e.details.push(format!(
            "scope: {}",
            if self.security_only {
                "security updates only"
            } else {
                "all updates"
            }
        ));
        for c in &self.changed {
            e.details.push(format!("changed: {}", c.describe()));
        }
        for h in &self.held {
            e.details.push(format!("held: {h}"));
        }
        e.details.push(format!(
            "exit status: {}",
            self.exit_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "none".into())
        ));
        e.details
            .push(format!("duration: {:.1}s", self.duration.as_secs_f64()));
        e.details.push(format!(
            "reboot required: {}",
            match self.reboot_required {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            }
        ));
        if self.run_again {
            e.details
                .push("zypper updated itself: apply again for the rest".into());
        }
        e
    }
}

fn exec(conn: &mut Conn, cmd: &str, timeout: Option<Duration>) -> Result<ExecOutput, String> {
    tracing::debug!(command = cmd, "exec");
    conn.exec(
        cmd,
        &ExecOptions {
            stdin: None,
            timeout,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())
}

fn text(b: &[u8]) -> String {
    sanitize(b)
}

/// Who and what the host is.
pub fn detect(conn: &mut Conn, timeout: Option<Duration>) -> Result<Detected, String> {
    let out = exec(conn, commands::DETECT, timeout)?;
    Ok(commands::parse_detect(&text(&out.stdout)))
}

fn manager_of(host: &Host, d: &Detected) -> Result<(Manager, Privilege, String), String> {
    let m = d.manager.ok_or_else(|| {
        format!(
            "{}: no supported package manager found (apt-get, dnf, yum, zypper, apk, pacman)",
            host.name
        )
    })?;
    let root = d.uid == Some(0);
    let user = d
        .user
        .clone()
        .or_else(|| host.user.clone())
        .unwrap_or_else(|| "the SSH user".into());
    Ok((m, Privilege { root }, user))
}

/// Run a simulation; Err with a clear message on sudo trouble or failure.
fn simulate(
    conn: &mut Conn,
    host: &Host,
    m: Manager,
    user: &str,
    cmd: &str,
    timeout: Option<Duration>,
) -> Result<parse::Simulation, String> {
    let out = exec(conn, cmd, timeout)?;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    if let Some(p) = parse::sudo_problem(&stderr) {
        return Err(p.message(&host.name, user));
    }
    let both = format!("{stdout}\n{stderr}");
    match parse::outcome(m, true, out.exit_status, &both) {
        Outcome::Failed(why) => Err(format!(
            "{}: simulation failed ({}): {why}",
            host.name,
            m.name()
        )),
        _ => Ok(parse::parse_simulation(m, &stdout)),
    }
}

/// Plan one host: detect the manager and the user, simulate the exact
/// command that apply will run, and say what it changes. Holds are applied
/// here: held packages are left out of what is asked and reported as held; a
/// plan whose simulation would still touch a held package (as a dependency)
/// is refused.
pub fn plan_host(
    conn: &mut Conn,
    host: &Host,
    security_only: bool,
    timeout: Option<Duration>,
) -> Result<HostPlan, String> {
    let d = detect(conn, timeout)?;
    let (m, p, user) = manager_of(host, &d)?;
    if security_only && !m.has_security_metadata() {
        return Err(format!(
            "{}: {} has no security metadata, so --security-only cannot be honoured; \
             apply all updates on this host or leave it out",
            host.name,
            m.name()
        ));
    }
    let holds = host.hold.clone();
    let mut plan = HostPlan {
        host: host.name.clone(),
        manager: m,
        root: p.root,
        user: user.clone(),
        security_only,
        apply_command: None,
        simulate_command: String::new(),
        changes: Vec::new(),
        held: Vec::new(),
        kept_back: Vec::new(),
        deferred: Vec::new(),
        not_security: 0,
    };
    let held_in = |changes: &[Change]| -> Vec<(String, String)> {
        changes
            .iter()
            .filter_map(|c| {
                commands::held_by(&holds, &c.package).map(|h| (c.package.clone(), h.to_string()))
            })
            .collect()
    };
    // First ask: everything (apt, zypper update, apk), or natively narrowed
    // (dnf/yum --security --exclude, zypper patch, pacman --ignore).
    let native_holds = matches!(m, Manager::Dnf | Manager::Yum | Manager::Pacman);
    let mut ask = Ask {
        security_only: security_only && m != Manager::Apt,
        holds: if native_holds {
            holds.clone()
        } else {
            Vec::new()
        },
        packages: None,
    };
    let sim_cmd = commands::upgrade_command(m, p, Mode::Simulate, &ask)?;
    let mut sim = simulate(conn, host, m, &user, &sim_cmd, timeout)?;
    plan.simulate_command = sim_cmd;
    plan.kept_back = sim.kept_back.clone();
    plan.deferred = sim.deferred.clone();
    if m == Manager::Pacman {
        // checkupdates lists everything: drop what --ignore will leave alone.
        let held = held_in(&sim.changes);
        sim.changes
            .retain(|c| commands::held_by(&holds, &c.package).is_none());
        plan.held = held;
    }
    let held = held_in(&sim.changes);
    let narrow_security = security_only && m == Manager::Apt;
    if !held.is_empty() || narrow_security {
        if m == Manager::Zypper && security_only {
            return Err(format!(
                "{}: the security patches would upgrade held package(s) {}; zypper cannot leave \
                 a package out of a patch: lift the hold or lock it with `zypper addlock`",
                host.name,
                held.iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let wanted: Vec<&Change> = sim
            .changes
            .iter()
            .filter(|c| commands::held_by(&holds, &c.package).is_none())
            .filter(|c| c.kind != parse::ChangeKind::Remove)
            .collect();
        let (sec, other): (Vec<&Change>, Vec<&Change>) = if narrow_security {
            wanted.into_iter().partition(|c| c.security == Some(true))
        } else {
            (wanted, Vec::new())
        };
        plan.not_security = other.len();
        plan.held = held;
        if sec.is_empty() {
            plan.changes = Vec::new();
            return Ok(plan);
        }
        ask.packages = Some(sec.iter().map(|c| c.package.clone()).collect());
        let origins: Vec<(String, Option<String>, Option<bool>)> = sim
            .changes
            .iter()
            .map(|c| (c.package.clone(), c.origin.clone(), c.security))
            .collect();
        let sim_cmd = commands::upgrade_command(m, p, Mode::Simulate, &ask)?;
        sim = simulate(conn, host, m, &user, &sim_cmd, timeout)?;
        plan.simulate_command = sim_cmd;
        let still = held_in(&sim.changes);
        if !still.is_empty() {
            return Err(format!(
                "{}: upgrading the other packages would also upgrade held package(s) {} \
                 (a dependency); nothing done: lift the hold or hold more",
                host.name,
                still
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in &mut sim.changes {
            if c.origin.is_none() || c.security.is_none() {
                if let Some((_, o, s)) = origins.iter().find(|(n, _, _)| *n == c.package) {
                    c.origin = c.origin.clone().or_else(|| o.clone());
                    c.security = c.security.or(*s);
                }
            }
        }
    } else if plan.held.is_empty() {
        plan.held = held;
    }
    if ask.security_only && m != Manager::Apt {
        // dnf --security / zypper patch --category security: all asked are security.
        for c in &mut sim.changes {
            if c.kind != parse::ChangeKind::Remove {
                c.security.get_or_insert(true);
            }
        }
    }
    plan.changes = sim.changes;
    if !plan.changes.is_empty() {
        plan.apply_command = Some(commands::upgrade_command(m, p, Mode::Apply, &ask)?);
    }
    Ok(plan)
}

/// Splits streamed chunks into sanitized lines.
#[derive(Default)]
struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8], out: &mut dyn FnMut(String)) {
        self.buf.extend_from_slice(chunk);
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let s = sanitize(&line[..line.len() - 1]);
            if !s.trim().is_empty() {
                out(s);
            }
        }
        // A runaway line without newline: flush it in pieces.
        if self.buf.len() > 64 * 1024 {
            let s = sanitize(&std::mem::take(&mut self.buf));
            out(s);
        }
    }
    fn finish(&mut self, out: &mut dyn FnMut(String)) {
        if !self.buf.is_empty() {
            let s = sanitize(&std::mem::take(&mut self.buf));
            if !s.trim().is_empty() {
                out(s);
            }
        }
    }
}

/// How a streamed command runs: its timeout and the cap of its live log.
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    pub timeout: Option<Duration>,
    /// Bytes of each stream sent live (and kept, head and tail) before the
    /// rest is only counted (`[run] max_output`).
    pub max_output: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            timeout: None,
            max_output: crate::model::DEFAULT_MAX_OUTPUT as usize,
        }
    }
}

/// Lines of the kept tail sent once the command ends, after a cut live log.
const TAIL_LINES: usize = 20;

/// One stream's live log: lines until `max_output` bytes were sent, then
/// one mark; the end of the output follows from the kept tail.
struct LiveLog {
    split: LineSplitter,
    sent: usize,
    cut: bool,
}

impl LiveLog {
    fn new() -> Self {
        LiveLog {
            split: LineSplitter::default(),
            sent: 0,
            cut: false,
        }
    }
    fn line(&mut self, cap: usize, line: String, out: &mut dyn FnMut(String)) {
        if self.cut {
            return;
        }
        if self.sent.saturating_add(line.len()) > cap {
            self.cut = true;
            out(format!(
                "[opsdeck: live log cut after {} bytes ([run] max_output); the last lines follow when the command ends]",
                self.sent
            ));
            return;
        }
        self.sent += line.len() + 1;
        out(line);
    }
    /// Flush the partial line; after a cut, send the last lines of `kept`
    /// (the captured output: its tail is the end of what the host printed).
    fn finish(&mut self, cap: usize, kept: Option<&[u8]>, out: &mut dyn FnMut(String)) {
        let mut rest = Vec::new();
        self.split.finish(&mut |l| rest.push(l));
        for l in rest {
            self.line(cap, l, out);
        }
        if let (true, Some(kept)) = (self.cut, kept) {
            let text = sanitize(kept);
            let tail = match text.rfind(crate::ssh::capture::TRUNCATION_MARK) {
                Some(i) => text[i..].split_once('\n').map(|(_, t)| t).unwrap_or(""),
                None => text.as_str(),
            };
            let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
            out(format!(
                "[opsdeck: … the last {} lines:]",
                lines.len().min(TAIL_LINES)
            ));
            for l in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
                out((*l).to_string());
            }
        }
    }
}

/// Run `cmd` with its output sent to `on_line` line by line as it arrives
/// (sanitized, blank lines skipped), each stream's live log capped by
/// `opts.max_output` (a mark, then the last lines when the command ends).
fn exec_lines(
    conn: &mut Conn,
    cmd: &str,
    opts: StreamOptions,
    on_line: &mut dyn FnMut(StreamKind, String),
) -> Result<ExecOutput, SshError> {
    let cap = opts.max_output.max(1);
    let mut out = LiveLog::new();
    let mut err = LiveLog::new();
    let result = conn.exec_stream(
        cmd,
        &ExecOptions {
            stdin: None,
            timeout: opts.timeout,
            max_output: Some(cap),
        },
        &mut |kind, chunk| {
            let log = match kind {
                StreamKind::Stdout => &mut out,
                StreamKind::Stderr => &mut err,
            };
            let mut lines = Vec::new();
            log.split.push(chunk, &mut |l| lines.push(l));
            for l in lines {
                log.line(cap, l, &mut |l| on_line(kind, l));
            }
        },
    );
    let kept = result.as_ref().ok();
    out.finish(cap, kept.map(|o| o.stdout.as_slice()), &mut |l| {
        on_line(StreamKind::Stdout, l)
    });
    err.finish(cap, kept.map(|o| o.stderr.as_slice()), &mut |l| {
        on_line(StreamKind::Stderr, l)
    });
    result
}

/// Apply one host's plan on an open connection; `on_line` gets every output
/// line (sanitized) as it arrives.
pub fn apply_host(
    conn: &mut Conn,
    plan: &HostPlan,
    opts: StreamOptions,
    on_line: &mut dyn FnMut(StreamKind, String),
) -> HostOutcome {
    let started = Instant::now();
    let held: Vec<String> = plan.held.iter().map(|(p, _)| p.clone()).collect();
    let Some(cmd) = plan.apply_command.clone() else {
        return HostOutcome {
            host: plan.host.clone(),
            asked: String::new(),
            security_only: plan.security_only,
            changed: Vec::new(),
            held,
            exit_status: None,
            ok: true,
            error: None,
            duration: started.elapsed(),
            reboot_required: probe_reboot(conn, plan.manager),
            run_again: false,
            ssh_error: None,
        };
    };
    tracing::info!(host = plan.host, command = cmd, "patch apply");
    let result = exec_lines(conn, &cmd, opts, on_line);
    let out = match result {
        Ok(o) => o,
        Err(e) => {
            let mut o = HostOutcome::failed(&plan.host, &cmd, e.to_string(), started, Some(e));
            o.security_only = plan.security_only;
            o.held = held;
            return o;
        }
    };
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let mut outcome = HostOutcome {
        host: plan.host.clone(),
        asked: cmd.clone(),
        security_only: plan.security_only,
        changed: Vec::new(),
        held,
        exit_status: out.exit_status,
        ok: false,
        error: None,
        duration: Duration::ZERO,
        reboot_required: None,
        run_again: false,
        ssh_error: None,
    };
    if let Some(p) = parse::sudo_problem(&stderr) {
        outcome.error = Some(p.message(&plan.host, &plan.user));
        outcome.duration = started.elapsed();
        return outcome;
    }
    let both = format!("{stdout}\n{stderr}");
    let mut reboot_hint = None;
    match parse::outcome(plan.manager, false, out.exit_status, &both) {
        Outcome::Ok => outcome.ok = true,
        Outcome::OkRebootNeeded => {
            outcome.ok = true;
            reboot_hint = Some(true);
        }
        Outcome::OkRunAgain => {
            outcome.ok = true;
            outcome.run_again = true;
        }
        Outcome::Failed(why) => {
            let sig = out
                .exit_signal
                .as_deref()
                .map(|s| format!(" (signal {s})"))
                .unwrap_or_default();
            outcome.error = Some(format!("{why}{sig}"));
        }
    }
    outcome.changed = parse::parse_apply(plan.manager, &stdout, &plan.changes);
    outcome.reboot_required = match (probe_reboot(conn, plan.manager), reboot_hint) {
        (_, Some(true)) => Some(true),
        (r, _) => r,
    };
    outcome.duration = started.elapsed();
    outcome
}

/// Does the host need a reboot now? None when it cannot tell.
pub fn probe_reboot(conn: &mut Conn, m: Manager) -> Option<bool> {
    exec(
        conn,
        commands::reboot_required_probe(m),
        Some(Duration::from_secs(60)),
    )
    .ok()
    .and_then(|o| commands::parse_reboot_probe(&text(&o.stdout)))
}

/// What happens on the hosts of an apply run, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        host: String,
    },
    Line {
        host: String,
        kind: StreamKind,
        line: String,
    },
    /// The re-check after the apply failed (the apply result stands).
    Note {
        host: String,
        message: String,
    },
    Finished(Box<HostOutcome>),
    /// Not started: cancelled, or an earlier host failed (no --keep-going).
    Skipped {
        host: String,
        reason: String,
    },
}

/// Re-check a host after a change (the checks sweep of that one host).
pub type Recheck = Arc<dyn Fn(&Host) -> Result<(), String> + Send + Sync>;

/// How to run an apply over many hosts.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Hosts at once (at least 1).
    pub parallel: usize,
    pub keep_going: bool,
    /// The apply command's timeout and live-log cap.
    pub stream: StreamOptions,
    /// Journal each host's outcome here.
    pub store: Option<Store>,
    pub recheck: Option<Recheck>,
}

/// Apply the plans, blocking until done; events go to `tx` as they happen.
/// One host at a time unless `parallel`; the first failure stops the hosts
/// not yet started unless `keep_going`; `cancel` stops between hosts (a host
/// in progress finishes: stopping a package manager midway is worse).
pub fn apply_all(
    engine: &Engine,
    work: Vec<(Host, HostPlan)>,
    opts: &ApplyOptions,
    cancel: CancelFlag,
    tx: UnboundedSender<Event>,
) -> Vec<HostOutcome> {
    let queue: Mutex<VecDeque<(Host, HostPlan)>> = Mutex::new(work.into());
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<HostOutcome>> = Mutex::new(Vec::new());
    let workers = opts.parallel.max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if cancel.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) {
                    break;
                }
                let next = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some((host, plan)) = next else {
                    break;
                };
                let _ = tx.send(Event::Started {
                    host: host.name.clone(),
                });
                let started = Instant::now();
                let command = plan.apply_command.as_deref().unwrap_or("");
                let outcome = crate::util::catch_panic(|| match engine.connect(&host) {
                    Err(e) => {
                        HostOutcome::failed(&host.name, command, e.to_string(), started, Some(e))
                    }
                    Ok(mut conn) => {
                        let name = host.name.clone();
                        apply_host(&mut conn, &plan, opts.stream, &mut |kind, line| {
                            let _ = tx.send(Event::Line {
                                host: name.clone(),
                                kind,
                                line,
                            });
                        })
                    }
                })
                .unwrap_or_else(|e| HostOutcome::failed(&host.name, command, e, started, None));
                if let Some(store) = &opts.store {
                    if let Err(e) = store.journal(&outcome.journal_entry()) {
                        let _ = tx.send(Event::Note {
                            host: host.name.clone(),
                            message: format!("could not write the journal: {e}"),
                        });
                    }
                }
                if let Some(recheck) = &opts.recheck {
                    // a host never reached was not changed: nothing to re-check
                    if !outcome
                        .ssh_error
                        .as_ref()
                        .is_some_and(SshError::never_reached)
                    {
                        if let Err(e) = recheck(&host) {
                            let _ = tx.send(Event::Note {
                                host: host.name.clone(),
                                message: format!("re-check failed: {e}"),
                            });
                        }
                    }
                }
                if !outcome.ok && !opts.keep_going {
                    stop.store(true, Ordering::SeqCst);
                }
                let _ = tx.send(Event::Finished(Box::new(outcome.clone())));
                if let Ok(mut r) = results.lock() {
                    r.push(outcome);
                }
            });
        }
    });
    let reason = if cancel.load(Ordering::SeqCst) {
        "cancelled".to_string()
    } else {
        "not started: an earlier host failed (use --keep-going to go on)".to_string()
    };
    if let Ok(mut q) = queue.lock() {
        for (host, _) in q.drain(..) {
            let _ = tx.send(Event::Skipped {
                host: host.name.clone(),
                reason: reason.clone(),
            });
        }
    }
    results.into_inner().unwrap_or_default()
}

/// Refresh the package metadata of one host (needs root or sudo, except
/// pacman, whose refresh is checkupdates' temporary database).
pub fn refresh_host(
    conn: &mut Conn,
    host: &Host,
    opts: StreamOptions,
    on_line: &mut dyn FnMut(StreamKind, String),
) -> Result<String, String> {
    let d = detect(conn, opts.timeout)?;
    let (m, p, user) = manager_of(host, &d)?;
    let cmd = commands::refresh_command(m, p);
    let out = exec_lines(conn, &cmd, opts, on_line).map_err(|e| e.to_string())?;
    let stderr = text(&out.stderr);
    if let Some(pr) = parse::sudo_problem(&stderr) {
        return Err(pr.message(&host.name, &user));
    }
    let both = format!("{}\n{stderr}", text(&out.stdout));
    // checkupdates exits 2 when there is nothing to update: still refreshed.
    match parse::outcome(m, m == Manager::Pacman, out.exit_status, &both) {
        Outcome::Failed(why) => Err(format!("{}: refresh failed: {why}", host.name)),
        _ => Ok(cmd),
    }
}

/// The `patch.refresh` journal entry.
pub fn refresh_entry(host: &str, result: &Result<String, String>, took: Duration) -> JournalEntry {
    let mut e = JournalEntry::now(
        "patch.refresh",
        host,
        &match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed: {e}"),
        },
    );
    if let Ok(cmd) = result {
        e.details.push(format!("asked: {cmd}"));
    }
    e.details
        .push(format!("duration: {:.1}s", took.as_secs_f64()));
    e
}

/// How a reboot goes.
#[derive(Debug, Clone)]
pub struct RebootOptions {
    /// Give up waiting after this long ([patches] reboot_wait_s).
    pub wait: Duration,
    /// Pause before the first and between polls.
    pub poll: Duration,
    pub timeout: Option<Duration>,
}

impl Default for RebootOptions {
    fn default() -> Self {
        RebootOptions {
            wait: Duration::from_secs(600),
            poll: Duration::from_secs(5),
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Progress of one reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebootStep {
    Issued,
    Waiting,
    Back { after: Duration },
}

fn sleep_cancellable(d: Duration, cancel: &CancelFlag) -> bool {
    let end = crate::util::deadline(Instant::now(), d);
    while Instant::now() < end {
        if cancel.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100).min(end - Instant::now()));
    }
    !cancel.load(Ordering::SeqCst)
}

/// Reboot one host and wait for it to come back (its boot id changes, or
/// where there is none, its uptime restarts). Ok(seconds it took).
pub fn reboot_host(
    engine: &Engine,
    host: &Host,
    opts: &RebootOptions,
    cancel: &CancelFlag,
    on_step: &mut dyn FnMut(RebootStep),
) -> Result<Duration, String> {
    // The first connection lives in this block only: it dies with the reboot.
    let (old_boot, issued) = {
        let mut conn = engine.connect(host).map_err(|e| e.to_string())?;
        let d = detect(&mut conn, opts.timeout)?;
        let root = d.uid == Some(0);
        let user = d.user.clone().unwrap_or_else(|| "the SSH user".into());
        let before = exec(&mut conn, commands::BOOT_ID, opts.timeout)?;
        let (old_boot, _) = commands::parse_boot(&text(&before.stdout));
        let cmd = commands::reboot_command(Privilege { root });
        tracing::info!(host = host.name, command = cmd, "reboot");
        let issued = Instant::now();
        match conn.exec(
            &cmd,
            &ExecOptions {
                stdin: None,
                timeout: opts.timeout,
                ..Default::default()
            },
        ) {
            Ok(out) => {
                let stderr = text(&out.stderr);
                if let Some(p) = parse::sudo_problem(&stderr) {
                    return Err(match p {
                        SudoProblem::PasswordRequired => format!(
                            "sudo needs a password on {}: allow NOPASSWD for shutdown/systemctl or use root",
                            host.name
                        ),
                        other => other.message(&host.name, &user),
                    });
                }
                if out.exit_status.is_some_and(|s| s != 0) {
                    return Err(format!(
                        "{}: the reboot command failed (exit status {}): {}",
                        host.name,
                        out.exit_status.unwrap_or(-1),
                        stderr.lines().last().unwrap_or("")
                    ));
                }
            }
            // The connection dropping under the command is the reboot happening.
            Err(SshError::Connect(_))
            | Err(SshError::Other(_))
            | Err(SshError::CommandTimeout(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        (old_boot, issued)
    };
    on_step(RebootStep::Issued);
    loop {
        if !sleep_cancellable(opts.poll, cancel) {
            return Err(format!(
                "{}: stopped waiting (cancelled); the reboot was issued",
                host.name
            ));
        }
        let waited = issued.elapsed();
        if waited > opts.wait {
            return Err(format!(
                "{}: did not come back within {}s after the reboot was issued",
                host.name,
                opts.wait.as_secs()
            ));
        }
        on_step(RebootStep::Waiting);
        let Ok(mut c) = engine.connect(host) else {
            continue;
        };
        let Ok(out) = exec(&mut c, commands::BOOT_ID, opts.timeout) else {
            continue;
        };
        let (boot, up) = commands::parse_boot(&text(&out.stdout));
        let back = match (&old_boot, &boot) {
            (Some(a), Some(b)) => a != b,
            _ => up.is_some_and(|u| Duration::from_secs(u) < waited),
        };
        if back {
            on_step(RebootStep::Back { after: waited });
            return Ok(waited);
        }
    }
}

/// The `patch.reboot` journal entry.
pub fn reboot_entry(host: &str, result: &Result<Duration, String>) -> JournalEntry {
    match result {
        Ok(d) => {
            let mut e = JournalEntry::now("patch.reboot", host, "ok");
            e.details
                .push(format!("back after {:.0}s", d.as_secs_f64()));
            e
        }
        Err(m) => JournalEntry::now("patch.reboot", host, &format!("failed: {m}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_lines() {
        let mut s = LineSplitter::default();
        let mut got = Vec::new();
        s.push(b"Unpacking ba", &mut |l| got.push(l));
        s.push(
            b"sh (5.2)\r\nSetting up\x1b[31m bash\n\npartial",
            &mut |l| got.push(l),
        );
        s.finish(&mut |l| got.push(l));
        assert_eq!(got, ["Unpacking bash (5.2)", "Setting up bash", "partial"]);
    }

    #[test]
    fn a_flooding_command_has_a_bounded_live_log_and_its_end() {
        let mut conn = Conn::local();
        let mut lines: Vec<(StreamKind, String)> = Vec::new();
        let opts = StreamOptions {
            timeout: Some(Duration::from_secs(30)),
            max_output: 64 * 1024,
        };
        // 20 MB of short lines on stdout, a few on stderr, then a summary
        let out = exec_lines(
            &mut conn,
            "echo first; yes 'Unpacking flood (1.0)' | head -n 1000000; \
             echo warn >&2; echo '3 upgraded, 0 newly installed'",
            opts,
            &mut |k, l| lines.push((k, l)),
        )
        .unwrap();
        let bytes: usize = lines.iter().map(|(_, l)| l.len() + 1).sum();
        assert!(bytes < 70 * 1024, "live log of {bytes} bytes");
        let stdout: Vec<&str> = lines
            .iter()
            .filter(|(k, _)| *k == StreamKind::Stdout)
            .map(|(_, l)| l.as_str())
            .collect();
        assert_eq!(stdout[0], "first");
        let cut = stdout
            .iter()
            .position(|l| l.starts_with("[opsdeck: live log cut after"))
            .expect("a cut mark");
        assert!(stdout[cut + 1].starts_with("[opsdeck: … the last 20 lines"));
        assert_eq!(stdout.last(), Some(&"3 upgraded, 0 newly installed"));
        assert!(lines.contains(&(StreamKind::Stderr, "warn".to_string())));
        // what is kept for the outcome is capped as well
        assert!(out.stdout.len() < 65 * 1024, "{}", out.stdout.len());
        assert!(out.dropped > 10_000_000);
    }

    #[test]
    fn a_command_lost_after_it_started_is_unknown_not_failed() {
        let started = Instant::now();
        let lost = HostOutcome::failed(
            "web1",
            "apt-get -y upgrade",
            "outcome unknown: connection lost".into(),
            started,
            Some(SshError::LostAfterStart("web1: EOF".into())),
        );
        assert!(
            lost.failure().starts_with("OUTCOME UNKNOWN: "),
            "{}",
            lost.failure()
        );
        let refused = HostOutcome::failed(
            "web1",
            "apt-get -y upgrade",
            "refused".into(),
            started,
            Some(SshError::Connect("refused".into())),
        );
        assert_eq!(refused.failure(), "FAILED: refused");
    }

    #[test]
    fn journal_entry_has_everything() {
        let o = HostOutcome {
            host: "web1".into(),
            asked: "apt-get -y upgrade".into(),
            security_only: true,
            changed: parse::parse_apt_apply(
                "Unpacking bash (5.2.15-2+b13) over (5.2.15-2+b8) ...\n",
            ),
            held: vec!["linux-image-amd64".into()],
            exit_status: Some(0),
            ok: true,
            error: None,
            duration: Duration::from_millis(12_300),
            reboot_required: Some(true),
            run_again: false,
            ssh_error: None,
        };
        let e = o.journal_entry();
        assert_eq!(e.action, "patch.apply");
        assert_eq!(e.target, "web1");
        assert_eq!(e.result, "ok");
        assert_eq!(
            e.details,
            [
                "asked: apt-get -y upgrade",
                "scope: security updates only",
                "changed: bash 5.2.15-2+b8 -> 5.2.15-2+b13",
                "held: linux-image-amd64",
                "exit status: 0",
                "duration: 12.3s",
                "reboot required: yes",
            ]
        );
    }
}
