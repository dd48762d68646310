//! The Patches pane: per host the pending updates (security first), the
//! reboot flag and the age of the package metadata; Enter lists a host's
//! updates; Space marks; `u` / `U` apply all / security updates to the
//! marked (else selected) hosts after a confirm dialog that lists exactly
//! what the package manager's own simulation says will change; the output
//! streams into a log view; `f` refreshes the metadata, `R` reboots and
//! waits (both confirmed). Every SSH step runs in a background job (the pane
//! never blocks); the job's cancel stops between hosts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::model::{Host, PatchReport, Update};
use crate::ops::patch::{PatchEvent, PlanFailed};
use crate::ops::{self, Sink};
use crate::patches::run::{Event, HostPlan};
use crate::ssh::StreamKind;
use crate::ui::msg::{JobId, JobMsg, PatchMsg, Request, ResultsUpdate};
use crate::ui::pane::{Ctx, Effect, Job, JobHandle, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::sort::{desc_f64, order_by, Sort};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};
use crate::util::format_age;

/// Title of the live log overlay.
pub const LOG_TITLE: &str = "Patch log";

/// What a host is doing, or did last, in this pane ("applying", "ok: 3
/// changed", "FAILED: ..."); a failure is a flag, not a word in the text.
#[derive(Debug, Clone, PartialEq)]
struct Activity {
    text: String,
    failed: bool,
}

impl Activity {
    fn doing(text: impl Into<String>) -> Activity {
        Activity {
            text: text.into(),
            failed: false,
        }
    }
    fn failed(text: impl Into<String>) -> Activity {
        Activity {
            text: text.into(),
            failed: true,
        }
    }
}

/// What a running job of this pane is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Planning,
    Applying,
    Refreshing,
    Rebooting,
}

pub struct PatchesPane {
    list: ListView,
    hosts: Vec<String>,
    /// What is happening / happened last per host ("applying", "ok: 3 changed").
    activity: BTreeMap<String, Activity>,
    /// Plans waiting for the confirm dialog's answer.
    pending: Option<(bool, Vec<(Host, HostPlan)>)>,
    /// Hosts waiting for the refresh / reboot confirmation.
    pending_targets: Vec<String>,
    busy: Option<(JobId, Busy)>,
    /// Hosts the running job touches (each is re-checked by the task right
    /// after its change).
    touched: Vec<String>,
    /// The whole log of the last runs (the overlay may have been closed).
    log: Vec<String>,
    /// Whether the running / last apply was security-only (for a retry).
    last_security_only: bool,
    /// The column the rows are sorted by (`o`).
    sort: Sort,
}

/// The orders of `o`: security updates first (the default), then the others.
const SORTS: &[&str] = &["security", "name", "pending", "last check"];

impl PatchesPane {
    pub fn new() -> PatchesPane {
        PatchesPane {
            list: ListView::new(),
            hosts: Vec::new(),
            activity: BTreeMap::new(),
            pending: None,
            pending_targets: Vec::new(),
            busy: None,
            touched: Vec::new(),
            log: Vec::new(),
            last_security_only: false,
            sort: Sort::new(SORTS),
        }
    }

    /// Order the rows by the sort column (store order for ties).
    fn order(&mut self, ctx: &Ctx) {
        let sums: Vec<RowSummary> = ctx
            .store
            .hosts
            .iter()
            .map(|h| summary(&h.name, ctx))
            .collect();
        let num = |i: usize| sums[i].pending.parse::<f64>().ok();
        let sec = |i: usize| match sums[i].security {
            Some(Some(n)) => Some(n as f64),
            _ => None,
        };
        let hosts = &ctx.store.hosts;
        let order = match self.sort.name() {
            "name" => order_by(sums.len(), |a, b| hosts[a].name.cmp(&hosts[b].name)),
            "pending" => order_by(sums.len(), |a, b| desc_f64(num(a), num(b))),
            "last check" => order_by(sums.len(), |a, b| {
                let t = |i: usize| {
                    sums[i]
                        .checked_at
                        .as_deref()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                };
                t(a).cmp(&t(b))
            }),
            _ => order_by(sums.len(), |a, b| {
                desc_f64(sec(a), sec(b)).then(desc_f64(num(a), num(b)))
            }),
        };
        self.list.set_order(order);
    }

    fn log_line(&mut self, line: String) -> Effect {
        self.log.push(line.clone());
        if self.log.len() > 20_000 {
            self.log.drain(..5_000);
        }
        Effect::AppendText {
            title: LOG_TITLE.into(),
            lines: vec![Line::raw(line)],
        }
    }

    fn targets(&self, ctx: &Ctx) -> Vec<Host> {
        let names = self.list.targets();
        ctx.store
            .hosts
            .iter()
            .filter(|h| names.contains(&h.name))
            .cloned()
            .collect()
    }

    fn refuse_if_busy(&self) -> Option<Vec<Effect>> {
        self.busy.map(|(id, b)| {
            vec![Effect::Error(format!(
                "a patch job ({}) is still running ({id}); wait for it or cancel it in the jobs list",
                match b {
                    Busy::Planning => "planning",
                    Busy::Applying => "apply",
                    Busy::Refreshing => "refresh",
                    Busy::Rebooting => "reboot",
                }
            ))]
        })
    }

    /// `u` / `U`: plan in the background, then ask.
    fn start_plan(&mut self, ctx: &Ctx, security_only: bool) -> Vec<Effect> {
        let hosts = self.targets(ctx);
        self.plan_hosts(ctx, security_only, hosts)
    }

    fn plan_hosts(&mut self, ctx: &Ctx, security_only: bool, hosts: Vec<Host>) -> Vec<Effect> {
        if let Some(e) = self.refuse_if_busy() {
            return e;
        }
        if hosts.is_empty() {
            return vec![Effect::Error("no host selected".into())];
        }
        for h in &hosts {
            self.activity
                .insert(h.name.clone(), Activity::doing("planning"));
        }
        let task = ctx.ops();
        let n = hosts.len();
        let what = format!(
            "plan {} updates on {}",
            if security_only { "security" } else { "all" },
            crate::util::plural(n, "host", "hosts")
        );
        let job = Job::blocking(None, what, move |jh: JobHandle| {
            let task = task.with_cancel(jh.cancel_flag());
            let progress = jh.clone();
            let sink: Sink<PatchEvent> = Arc::new(move |ev| {
                if let PatchEvent::Planned { n, total, .. } = ev {
                    progress.progress(format!("{n}/{total} planned"));
                }
            });
            let plans = ops::patch::plan(&task, &hosts, security_only, &sink);
            jh.send(PatchMsg::Planned {
                security_only,
                plans,
            });
        });
        self.busy = Some((job.id, Busy::Planning));
        vec![
            Effect::Status(format!(
                "working out what would change on {} (native simulation)…",
                crate::util::plural(n, "host", "hosts")
            )),
            Effect::Job(job),
        ]
    }

    fn on_planned(
        &mut self,
        security_only: bool,
        plans: Vec<(Host, Result<HostPlan, PlanFailed>)>,
    ) -> Vec<Effect> {
        let mut lines = Vec::new();
        let mut work = Vec::new();
        let mut failed = 0;
        // unknown / changed host keys: asked about (or shown) by the shell
        let mut key_effects = Vec::new();
        for (host, p) in plans {
            self.activity.remove(&host.name);
            match p {
                Ok(plan) => {
                    lines.extend(plan.describe());
                    if plan.apply_command.is_some() {
                        work.push((host, plan));
                    } else {
                        self.activity
                            .insert(host.name.clone(), Activity::doing("nothing to do"));
                    }
                }
                Err(e) => {
                    failed += 1;
                    self.activity
                        .insert(host.name.clone(), Activity::failed("plan failed"));
                    lines.push(format!("NOT POSSIBLE: {}", e.message));
                    if let Some(error) = e.ssh_error {
                        key_effects.push(Effect::HostKey {
                            host: host.name.clone(),
                            error,
                            retry: Request::Plan { security_only },
                        });
                    }
                }
            }
        }
        if work.is_empty() {
            let mut effects = vec![if failed > 0 {
                Effect::Error(format!(
                    "nothing applied: {} could not be planned (see the log)",
                    crate::util::plural(failed, "host", "hosts")
                ))
            } else {
                Effect::Status("nothing to do: no update would change anything".into())
            }];
            if failed > 0 {
                effects.push(Effect::Text {
                    title: "What would change".into(),
                    lines: lines.into_iter().map(Line::raw).collect(),
                });
            }
            effects.extend(key_effects);
            return effects;
        }
        let packages: usize = work.iter().map(|(_, p)| p.changes.len()).sum();
        let n = work.len();
        if failed > 0 {
            lines.push(format!(
                "{} above left out (not planned).",
                crate::util::plural(failed, "host", "hosts")
            ));
        }
        lines.push(String::new());
        lines.push("One host at a time; the first failure stops the rest.".into());
        self.pending = Some((security_only, work));
        let mut effects = vec![
            Effect::Status(format!(
                "planned: {} on {}; answer the question",
                crate::util::plural(packages, "package change", "package changes"),
                crate::util::plural(n, "host", "hosts")
            )),
            Effect::confirm(
                format!(
                    "Apply {} on {}?",
                    crate::util::plural(
                        packages,
                        if security_only {
                            "security package change"
                        } else {
                            "package change"
                        },
                        if security_only {
                            "security package changes"
                        } else {
                            "package changes"
                        }
                    ),
                    crate::util::plural(n, "host", "hosts")
                ),
                lines,
                Request::Apply,
            ),
        ];
        effects.extend(key_effects);
        effects
    }

    fn start_apply(&mut self, ctx: &Ctx) -> Vec<Effect> {
        let Some((security_only, work)) = self.pending.take() else {
            return vec![];
        };
        let task = ctx.ops();
        let parallel = ctx.store.settings.patches.parallel;
        self.last_security_only = security_only;
        self.touched = work.iter().map(|(h, _)| h.name.clone()).collect();
        for h in &self.touched {
            self.activity.insert(h.clone(), Activity::doing("waiting"));
        }
        self.log.clear();
        let head = format!(
            "apply {} updates on {}",
            if security_only { "security" } else { "all" },
            self.touched.join(", ")
        );
        self.log.push(head.clone());
        let n = work.len();
        let job = Job::blocking(
            None,
            format!(
                "apply updates on {}",
                crate::util::plural(n, "host", "hosts")
            ),
            move |jh: JobHandle| {
                let task = task.with_cancel(jh.cancel_flag());
                let done = AtomicUsize::new(0);
                let sink = forward(&jh, move |ev, jh| {
                    if matches!(
                        ev,
                        PatchEvent::Apply(Event::Finished(_) | Event::Skipped { .. })
                    ) {
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        jh.progress(format!("{d}/{n} hosts"));
                    }
                });
                ops::patch::apply(&task, work, parallel, false, &sink);
            },
        );
        self.busy = Some((job.id, Busy::Applying));
        vec![
            Effect::Text {
                title: LOG_TITLE.into(),
                lines: vec![Line::raw(head)],
            },
            Effect::Job(job),
        ]
    }

    fn on_event(&mut self, ev: PatchEvent) -> Vec<Effect> {
        match ev {
            PatchEvent::Planned { .. } => vec![],
            PatchEvent::Apply(ev) => self.on_apply_event(ev),
            PatchEvent::Log { host, line } => vec![self.log_line(format!("{host} | {line}"))],
            PatchEvent::HostDone(d) => {
                let activity = match &d.result {
                    ops::patch::Done::Ok(t) => Activity::doing(t.clone()),
                    other => Activity::failed(other.text()),
                };
                let text = activity.text.clone();
                self.activity.insert(d.host.clone(), activity);
                let mut effects = vec![self.log_line(format!("== {}: {text}", d.host))];
                if let (Some(error), Some((_, busy))) = (d.ssh_error, self.busy) {
                    let retry = if busy == Busy::Rebooting {
                        Request::Reboot
                    } else {
                        Request::Refresh
                    };
                    effects.push(Effect::HostKey {
                        host: d.host,
                        error,
                        retry,
                    });
                }
                effects
            }
            // saved by the task already: shown at once
            PatchEvent::Rechecked(hc) => vec![
                Effect::MergeResults(ResultsUpdate::Checks(vec![hc.check])),
                Effect::MergeResults(ResultsUpdate::Patches(vec![hc.patches])),
            ],
        }
    }

    fn on_apply_event(&mut self, ev: Event) -> Vec<Effect> {
        match ev {
            Event::Started { host } => {
                self.activity
                    .insert(host.clone(), Activity::doing("applying"));
                vec![self.log_line(format!("== {host}: applying"))]
            }
            Event::Line { host, kind, line } => {
                let mark = if kind == StreamKind::Stderr { "!" } else { "|" };
                vec![self.log_line(format!("{host} {mark} {line}"))]
            }
            Event::Note { host, message } => vec![self.log_line(format!("{host}: {message}"))],
            Event::Skipped { host, reason } => {
                self.activity
                    .insert(host.clone(), Activity::failed("skipped"));
                vec![self.log_line(format!("== {host}: skipped: {reason}"))]
            }
            Event::Finished(o) => {
                let activity = if o.ok {
                    Activity::doing(format!(
                        "ok: {} changed{}",
                        o.changed.len(),
                        match o.reboot_required {
                            Some(true) => ", reboot required",
                            _ => "",
                        }
                    ))
                } else {
                    Activity::failed(o.failure())
                };
                let summary = activity.text.clone();
                self.activity.insert(o.host.clone(), activity);
                let mut effects = vec![self.log_line(format!("== {}: {summary}", o.host))];
                for c in &o.changed {
                    effects.push(self.log_line(format!("   {}", c.describe())));
                }
                if let Some(e) = &o.ssh_error {
                    // the key changed (or is unknown) since the plan: plan again
                    effects.push(Effect::HostKey {
                        host: o.host.clone(),
                        error: e.clone(),
                        retry: Request::Plan {
                            security_only: self.last_security_only,
                        },
                    });
                }
                effects
            }
        }
    }

    /// `f` and `R` after the confirm: one job, hosts one at a time.
    fn start_host_job(&mut self, ctx: &Ctx, reboot: bool) -> Vec<Effect> {
        let names = std::mem::take(&mut self.pending_targets);
        let hosts: Vec<Host> = ctx
            .store
            .hosts
            .iter()
            .filter(|h| names.contains(&h.name))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return vec![];
        }
        let task = ctx.ops();
        self.touched = names.clone();
        self.log.clear();
        let head = format!(
            "{} {}",
            if reboot {
                "reboot"
            } else {
                "refresh package metadata on"
            },
            names.join(", ")
        );
        self.log.push(head.clone());
        for n in &names {
            self.activity.insert(
                n.clone(),
                Activity::doing(if reboot {
                    "reboot queued"
                } else {
                    "refresh queued"
                }),
            );
        }
        let n = hosts.len();
        let job = Job::blocking(
            None,
            format!(
                "{} {}",
                if reboot {
                    "reboot"
                } else {
                    "refresh metadata on"
                },
                crate::util::plural(n, "host", "hosts")
            ),
            move |jh: JobHandle| {
                let task = task.with_cancel(jh.cancel_flag());
                let done = AtomicUsize::new(0);
                let sink = forward(&jh, move |ev, jh| {
                    if let PatchEvent::HostDone(d) = ev {
                        let i = done.fetch_add(1, Ordering::Relaxed) + 1;
                        jh.progress(format!("{i}/{n}: {}", d.host));
                    }
                });
                if reboot {
                    ops::patch::reboot(&task, &hosts, &sink);
                } else {
                    ops::patch::refresh(&task, &hosts, &sink);
                }
            },
        );
        self.busy = Some((
            job.id,
            if reboot {
                Busy::Rebooting
            } else {
                Busy::Refreshing
            },
        ));
        vec![
            Effect::Text {
                title: LOG_TITLE.into(),
                lines: vec![Line::raw(head)],
            },
            Effect::Job(job),
        ]
    }

    fn confirm_host_job(&mut self, ctx: &Ctx, reboot: bool) -> Vec<Effect> {
        let hosts = self.targets(ctx);
        self.confirm_hosts(ctx, reboot, hosts)
    }

    fn confirm_hosts(&mut self, ctx: &Ctx, reboot: bool, hosts: Vec<Host>) -> Vec<Effect> {
        if let Some(e) = self.refuse_if_busy() {
            return e;
        }
        if hosts.is_empty() {
            return vec![Effect::Error("no host selected".into())];
        }
        self.pending_targets = hosts.iter().map(|h| h.name.clone()).collect();
        let lines: Vec<String> = hosts
            .iter()
            .map(|h| {
                let r = summary(&h.name, ctx);
                let flag = match r.reboot.flatten() {
                    Some(true) => "reboot required",
                    Some(false) => "no reboot required",
                    None => "reboot flag unknown",
                };
                if reboot {
                    format!("{} ({flag})", h.name)
                } else if r.metadata.is_empty() || r.metadata == "?" {
                    format!("{} (metadata age unknown)", h.name)
                } else {
                    format!("{} (metadata {} old)", h.name, r.metadata)
                }
            })
            .collect();
        let n = hosts.len();
        if reboot {
            // not one key away: the host's name (several: "yes") is typed
            let word = match &hosts[..] {
                [one] => one.name.clone(),
                _ => "yes".to_string(),
            };
            let mut lines = lines;
            lines.push(String::new());
            lines.push("One at a time; each is waited for and re-checked.".into());
            vec![Effect::ConfirmTyped {
                title: format!("REBOOT {}?", crate::util::plural(n, "host", "hosts")),
                lines,
                req: Request::Reboot,
                word,
            }]
        } else {
            vec![Effect::confirm(
                format!(
                    "Refresh the package metadata (as root) on {}?",
                    crate::util::plural(n, "host", "hosts")
                ),
                lines,
                Request::Refresh,
            )]
        }
    }
}

impl Default for PatchesPane {
    fn default() -> Self {
        Self::new()
    }
}

/// One row's numbers: from the host's update list, else (not listed yet,
/// or the last check did not reach the host) from the counts of its last
/// check, or the last known counts marked with their time (`stale`).
/// None: nothing known.
struct RowSummary {
    manager: String,
    security: Option<Option<usize>>,
    pending: String,
    reboot: Option<Option<bool>>,
    metadata: String,
    checked_at: Option<String>,
    /// The figures are the last known ones, gathered then (RFC 3339).
    stale: Option<String>,
}

fn summary(name: &str, ctx: &Ctx) -> RowSummary {
    if let Some(p) = ctx.results.patches.get(name).filter(|p| p.error.is_none()) {
        return RowSummary {
            manager: p.package_manager.clone().unwrap_or_default(),
            security: Some(p.security_pending()),
            pending: p.updates.len().to_string(),
            reboot: Some(p.reboot_required),
            metadata: p
                .metadata_age_s
                .map(format_age)
                .unwrap_or_else(|| "?".into()),
            checked_at: p.checked_at.clone(),
            stale: None,
        };
    }
    // no list, or its listing failed: never "0", the check's counts or unknown
    let check = ctx.results.checks.get(name);
    let failed = ctx.results.patches.contains_key(name) || check.is_some();
    match check.and_then(|c| c.known_facts()) {
        Some((f, stale)) => {
            let u = f.updates.clone().unwrap_or_default();
            RowSummary {
                manager: f.package_manager.clone().unwrap_or_default(),
                security: Some(u.security.map(|n| n as usize)),
                pending: u
                    .pending
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                reboot: Some(f.reboot_required),
                metadata: f
                    .metadata_age_s
                    .map(format_age)
                    .unwrap_or_else(|| "?".into()),
                checked_at: check.map(|c| c.checked_at.clone()),
                stale: stale.map(str::to_string),
            }
        }
        None => RowSummary {
            manager: String::new(),
            security: failed.then_some(None),
            pending: if failed { "?".into() } else { String::new() },
            reboot: failed.then_some(None),
            metadata: String::new(),
            checked_at: check.map(|c| c.checked_at.clone()),
            stale: None,
        },
    }
}

/// A last known figure reads "(3)": not what the host has now.
fn stale_mark(text: String, stale: bool) -> String {
    if stale && !text.is_empty() && text != "?" {
        format!("({text})")
    } else {
        text
    }
}

/// Security updates first, then by name.
fn ordered(updates: &[Update]) -> Vec<&Update> {
    let mut v: Vec<&Update> = updates.iter().collect();
    v.sort_by(|a, b| {
        (a.security != Some(true), &a.package).cmp(&(b.security != Some(true), &b.package))
    });
    v
}

/// The lines of a host's details (Enter).
pub fn detail_lines(name: &str, p: Option<&PatchReport>, ctx: &Ctx) -> Vec<String> {
    let Some(p) = p else {
        return vec![format!("{name}: not checked yet (c checks it)")];
    };
    let mut lines = Vec::new();
    let failed = p.error.is_some();
    lines.push(format!(
        "{name}: {} — {} pending, {} security; reboot required: {}; metadata age: {}; checked {}",
        p.package_manager.as_deref().unwrap_or("?"),
        if failed {
            "unknown".to_string()
        } else {
            p.updates.len().to_string()
        },
        p.security_pending()
            .filter(|_| !failed)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unknown".into()),
        match p.reboot_required {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        },
        p.metadata_age_s
            .map(format_age)
            .unwrap_or_else(|| "unknown".into()),
        ctx.age_label(p.checked_at.as_deref())
    ));
    if let Some(e) = &p.error {
        lines.push(format!("error: {e}"));
        let r = summary(name, ctx);
        if let Some(at) = &r.stale {
            lines.push(format!(
                "last known ({}): {} pending, {} security, reboot required: {}; \
                 the list comes back with the next check that reaches the host",
                ctx.age_label(Some(at)),
                r.pending,
                match r.security {
                    Some(Some(n)) => n.to_string(),
                    _ => "unknown".into(),
                },
                match r.reboot {
                    Some(Some(true)) => "yes",
                    Some(Some(false)) => "no",
                    _ => "unknown",
                }
            ));
        }
    }
    for u in ordered(&p.updates) {
        lines.push(format!(
            "{}{} {} -> {}{}",
            if u.security == Some(true) {
                "[security] "
            } else {
                ""
            },
            u.package,
            u.installed.as_deref().unwrap_or("?"),
            u.candidate,
            u.origin
                .as_deref()
                .map(|o| format!("  ({o})"))
                .unwrap_or_default()
        ));
    }
    if !p.kept_back.is_empty() {
        lines.push(format!("kept back: {}", p.kept_back.join(" ")));
    }
    if p.updates.is_empty() && p.error.is_none() {
        lines.push("no pending updates".into());
    }
    lines
}

impl Pane for PatchesPane {
    fn id(&self) -> PaneId {
        PaneId::PATCHES
    }
    fn count(&self, ctx: &Ctx) -> String {
        // last known figures of unreachable hosts count too: a host that
        // stopped answering still has its updates pending
        let (mut pending, mut sec) = (0, 0);
        for h in &ctx.store.hosts {
            let r = summary(&h.name, ctx);
            if r.pending.parse::<usize>().is_ok_and(|n| n > 0) {
                pending += 1;
            }
            if matches!(r.security, Some(Some(n)) if n > 0) {
                sec += 1;
            }
        }
        if sec > 0 {
            format!("{pending} ({sec}!)")
        } else {
            pending.to_string()
        }
    }
    fn refresh(&mut self, ctx: &Ctx) {
        self.hosts = ctx.store.hosts.iter().map(|h| h.name.clone()).collect();
        self.list.set_rows(ctx.store.hosts.iter().map(|h| {
            let p = ctx.results.patches.get(&h.name);
            let hay = format!(
                "{} {} {} {}",
                h.name,
                p.and_then(|p| p.package_manager.clone())
                    .unwrap_or_default(),
                p.map(|p| p
                    .updates
                    .iter()
                    .map(|u| u.package.as_str())
                    .collect::<Vec<_>>()
                    .join(" "))
                    .unwrap_or_default(),
                self.activity
                    .get(&h.name)
                    .map(|a| a.text.clone())
                    .unwrap_or_default()
            );
            let tags: String = h.tags.iter().map(|t| format!(" @{t}")).collect();
            (h.name.clone(), hay + &tags)
        }));
        self.order(ctx);
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        let widths = vec![
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Min(10),
        ];
        // texts end in "…" where their column cuts them
        let cols = table::column_widths(area, &widths);
        table::draw(
            frame,
            area,
            theme,
            TableSpec {
                title: "Patches",
                header: vec![
                    "host", "mgr", "sec", "pending", "reboot", "metadata", "checked", "state",
                ],
                widths,
                sort: Some(self.sort.name()),
                empty: "no hosts yet (Hosts pane: a adds one)",
            },
            &self.list,
            |i| {
                let Some(name) = self.hosts.get(i) else {
                    return vec![];
                };
                let p = ctx.results.patches.get(name);
                let r = summary(name, ctx);
                let stale = r.stale.is_some();
                let sec_cell = match r.security {
                    Some(Some(0)) => Cell::from(stale_mark("0".into(), stale)),
                    Some(Some(n)) => Cell::from(ratatui::text::Span::styled(
                        stale_mark(n.to_string(), stale),
                        theme.crit(),
                    )),
                    Some(None) => Cell::from("?"),
                    None => Cell::from(""),
                };
                let pending = stale_mark(r.pending, stale);
                let reboot = match r.reboot {
                    Some(Some(true)) => Cell::from(ratatui::text::Span::styled(
                        stale_mark("yes".into(), stale),
                        theme.warn(),
                    )),
                    Some(Some(false)) => Cell::from(stale_mark("no".into(), stale)),
                    Some(None) => Cell::from("?"),
                    None => Cell::from(""),
                };
                let meta = r.metadata;
                let checked = if ctx.results.checking.contains(name) {
                    "checking".to_string()
                } else {
                    ctx.age_label(r.checked_at.as_deref())
                };
                let (state, failed) = match self.activity.get(name) {
                    Some(a) => (a.text.clone(), a.failed),
                    None => {
                        let error = p
                            .and_then(|p| p.error.clone())
                            .or_else(|| ctx.results.checks.get(name).and_then(|c| c.error.clone()))
                            .map(|e| format!("error: {}", crate::ui::errors::short(&e)))
                            .unwrap_or_default();
                        let failed = !error.is_empty();
                        match &r.stale {
                            Some(at) => (
                                format!("{error}; (n) from {}", ctx.age_label(Some(at))),
                                failed,
                            ),
                            None => (error, failed),
                        }
                    }
                };
                let state_style = if failed { theme.error() } else { theme.text() };
                vec![
                    Cell::from(table::fit(name, &cols, 0)),
                    Cell::from(table::fit(&r.manager, &cols, 1)),
                    sec_cell,
                    Cell::from(pending),
                    reboot,
                    Cell::from(meta),
                    Cell::from(table::fit(&checked, &cols, 6)),
                    Cell::from(ratatui::text::Span::styled(
                        table::fit(&state, &cols, 7),
                        state_style,
                    )),
                ]
            },
        );
    }
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
        if self.list.handle_key(key) {
            return Some(vec![]);
        }
        match key.code {
            KeyCode::Char('c') => Some(vec![Effect::Check(self.list.targets())]),
            KeyCode::Char('C') => Some(vec![Effect::Check(
                ctx.store.hosts.iter().map(|h| h.name.clone()).collect(),
            )]),
            KeyCode::Char('o') => {
                let msg = self.sort.advance();
                self.order(ctx);
                Some(vec![Effect::Status(msg)])
            }
            KeyCode::Char('u') => Some(self.start_plan(ctx, false)),
            KeyCode::Char('U') => Some(self.start_plan(ctx, true)),
            KeyCode::Char('f') => Some(self.confirm_host_job(ctx, false)),
            KeyCode::Char('R') => Some(self.confirm_host_job(ctx, true)),
            KeyCode::Char('l') => Some(vec![Effect::Text {
                title: LOG_TITLE.into(),
                lines: if self.log.is_empty() {
                    vec![Line::raw("nothing applied yet in this session")]
                } else {
                    self.log.iter().cloned().map(Line::raw).collect()
                },
            }]),
            KeyCode::Enter => {
                let name = self.list.selected_key()?.to_string();
                let lines = detail_lines(&name, ctx.results.patches.get(&name), ctx);
                Some(vec![Effect::Text {
                    title: format!("Updates of {name}"),
                    lines: lines.into_iter().map(Line::raw).collect(),
                }])
            }
            _ => None,
        }
    }
    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        match event {
            PaneEvent::Select(k) => {
                self.list.select_key(&k);
                vec![]
            }
            PaneEvent::Confirmed(req) => match req {
                Request::Apply => self.start_apply(ctx),
                Request::Refresh => self.start_host_job(ctx, false),
                Request::Reboot => self.start_host_job(ctx, true),
                _ => vec![],
            },
            PaneEvent::JobMsg { msg, .. } => {
                let JobMsg::Patches(msg) = msg else {
                    return vec![];
                };
                match msg {
                    PatchMsg::Planned {
                        security_only,
                        plans,
                    } => self.on_planned(security_only, plans),
                    PatchMsg::Event(ev) => self.on_event(*ev),
                }
            }
            PaneEvent::HostKeyAccepted { host, retries } => {
                let Some(h) = ctx.store.host(&host).cloned() else {
                    return vec![];
                };
                let Some(retry) = retries.first() else {
                    return vec![];
                };
                // never start over what the user is being asked about
                if self.busy.is_some() || self.pending.is_some() {
                    return vec![Effect::Status(format!(
                        "host key of {host} recorded; {} again when the running job is done",
                        if matches!(retry, Request::Plan { .. }) {
                            "u"
                        } else {
                            "f / R"
                        }
                    ))];
                }
                match retry {
                    Request::Plan { security_only } => {
                        self.plan_hosts(ctx, *security_only, vec![h])
                    }
                    // destructive: asked again, never just done
                    Request::Reboot => self.confirm_hosts(ctx, true, vec![h]),
                    Request::Refresh => self.confirm_hosts(ctx, false, vec![h]),
                    _ => vec![],
                }
            }
            PaneEvent::JobDone(job) => {
                // Only the end of the job that is running now counts (the
                // plan's end may arrive after its apply already started).
                let Some((_, busy)) = self.busy.filter(|(id, _)| *id == job) else {
                    return vec![];
                };
                self.busy = None;
                if busy == Busy::Planning {
                    // The confirm dialog (or the reason there is none) is up.
                    for a in self.activity.values_mut() {
                        if a.text == "planning" {
                            *a = Activity::failed("plan cancelled");
                        }
                    }
                    return vec![];
                }
                let touched = std::mem::take(&mut self.touched);
                let failed = touched
                    .iter()
                    .filter(|h| self.activity.get(*h).is_some_and(|a| a.failed))
                    .count();
                let what = match busy {
                    Busy::Applying => "apply",
                    Busy::Refreshing => "refresh",
                    Busy::Rebooting => "reboot",
                    Busy::Planning => "plan",
                };
                let summary = format!(
                    "{what} done on {}{}; each re-checked after its change (l shows the log)",
                    crate::util::plural(touched.len(), "host", "hosts"),
                    if failed > 0 {
                        format!(", {failed} failed or skipped")
                    } else {
                        String::new()
                    }
                );
                let mut effects = vec![self.log_line(format!("== {summary}"))];
                effects.push(if failed > 0 {
                    Effect::Error(summary)
                } else {
                    Effect::Status(summary)
                });
                effects
            }
            _ => vec![],
        }
    }
    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }
    fn marks(&self) -> usize {
        self.list.marks().len()
    }
    fn hints(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("Enter", "updates"),
            ("Space", "mark"),
            ("u", "apply"),
            ("c", "check"),
            ("l", "log"),
        ]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![
            KeyHelp::new("Enter", "pending updates of the host (security first)"),
            KeyHelp::new("Space", "mark a host; actions apply to the marked hosts"),
            KeyHelp::new("u", "apply all updates (shows what will change, asks)"),
            KeyHelp::new("U", "apply security updates only (asks)"),
            KeyHelp::new("f", "refresh the package metadata (asks; needs root/sudo)"),
            KeyHelp::new(
                "R",
                "reboot, wait for the host, re-check (asks: type the host name, or yes for several)",
            ),
            KeyHelp::new("l", "the log of the last apply / refresh / reboot"),
            KeyHelp::new("c / C", "check selected (or marked) / all hosts"),
            KeyHelp::new(
                "o",
                "sort by the next column: security (most first), name, pending, last check (oldest first)",
            ),
            KeyHelp::new(
                "(3)",
                "a figure in brackets is the last known one: the last check did not reach the host",
            ),
        ]
    }
    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
    }
    fn filter(&self) -> &str {
        self.list.filter()
    }
}

/// A task's sink that hands every event to the pane (after `also`, which
/// sees it first on the task's thread: progress counters).
fn forward(
    jh: &JobHandle,
    also: impl Fn(&PatchEvent, &JobHandle) + Send + Sync + 'static,
) -> Sink<PatchEvent> {
    let jh = jh.clone();
    Arc::new(move |ev| {
        also(&ev, &jh);
        jh.send(PatchMsg::Event(Box::new(ev)));
    })
}
