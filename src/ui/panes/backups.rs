//! The Backups pane: every job with its status, the age of its latest backup
//! against max_age as a bar plus a text label ("2h / 26h"), the last restore
//! test and the first reason. Enter: details with the latest snapshots.
//! `c`/`C`: check selected (or marked) / all, in a background job whose
//! results fill in live. `t`: record a restore test today (asks first).
//! `a`/`e`/`d`: add / edit / delete a job (a form that shows the fields of
//! the kind typed; built and checked by `backups::fields` as `opsdeck
//! backup add` does; written through the store, comments kept).
//! Everything reads without colour: status words, a bar of `█`/`░` ending in
//! `!` past max_age, and the label.

use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::backups::fields;
use crate::backups::run::JobDone;
use crate::backups::view::{age_bar, detail_lines, restore_label, status_word};
use crate::backups::{self, restore_due};
use crate::model::{BackupJob, BackupResult, Status};
use crate::ops;
use crate::ui::msg::{BackupMsg, JobId, JobMsg, Request, ResultsUpdate};
use crate::ui::pane::{Ctx, Effect, Job, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::sort::{desc_f64, order_by, problem_rank, Sort};
use crate::ui::widgets::form::{self, Field, Form, FormValues};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, ellipsize, TableSpec};
use crate::util::format_age;

const BAR: usize = 10;

#[derive(Default)]
pub struct BackupsPane {
    list: ListView,
    /// The job to select once its save lands.
    pending: Option<String>,
    /// The column the rows are sorted by (`o`; None: status, the default).
    sort: Option<Sort>,
    /// Job names in row order.
    names: Vec<String>,
    /// Jobs being checked, by the job that checks them.
    checking: BTreeMap<JobId, BTreeSet<String>>,
    /// The write in flight records a restore test (its failure says so).
    saving_restore: bool,
}

impl BackupsPane {
    pub fn new() -> BackupsPane {
        BackupsPane::default()
    }

    fn is_checking(&self, name: &str) -> bool {
        self.checking.values().any(|s| s.contains(name))
    }

    fn job<'a>(&self, ctx: &'a Ctx, name: &str) -> Option<&'a BackupJob> {
        ctx.store.backups.iter().find(|j| j.name == name)
    }

    fn selected_name(&self) -> Option<String> {
        self.list.selected_key().map(str::to_string)
    }

    /// Start a background check of `names`.
    fn check(&self, ctx: &Ctx, names: Vec<String>) -> Vec<Effect> {
        let jobs: Vec<BackupJob> = ctx
            .store
            .backups
            .iter()
            .filter(|j| names.contains(&j.name))
            .cloned()
            .collect();
        if jobs.is_empty() {
            return vec![Effect::Status("no backup job to check".into())];
        }
        let task = ctx.ops();
        let what = if jobs.len() == 1 {
            format!("backup check {}", jobs[0].name)
        } else {
            format!("backup check ({} jobs)", jobs.len())
        };
        let host = if jobs.iter().all(|j| j.host == jobs[0].host) {
            Some(jobs[0].host.clone())
        } else {
            None
        };
        let all = names.len() == ctx.store.backups.len();
        let job = Job::blocking(host, what, move |h| {
            let task = task.with_cancel(h.cancel_flag());
            let names: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
            h.send(BackupMsg::Started(names.clone()));
            let target: Vec<String> = if all { Vec::new() } else { names };
            let (done, saved) = ops::backups::check(&task, jobs, &target, |d, n, total| {
                h.progress(format!("{n}/{total}"));
                h.results(ResultsUpdate::Backups(vec![d.result.clone()]));
                h.send(BackupMsg::Done(Box::new(d.clone())));
            });
            let results: Vec<BackupResult> = done.into_iter().map(|d| d.result).collect();
            let summary = summary(&results);
            match saved {
                Ok(()) => h.status(summary),
                Err(e) => h.error(format!("{summary}; not saved: {e}")),
            }
        });
        vec![Effect::Job(job)]
    }
}

/// The form of a job: every field of backups.toml; the kind-specific ones
/// only while the kind typed takes them.
fn job_form(req: Request, title: &str, j: &BackupJob) -> Form {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = j
        .last_restore_test
        .map(|d| d.to_string())
        .unwrap_or_default();
    let when = |f: Field, key: &str| f.when("kind", &fields::kinds_taking(key));
    Form::new(
        req,
        title,
        vec![
            Field::new("name", "Name", j.name.clone())
                .required()
                .check(fields::check_name),
            Field::new("host", "Host", j.host.clone())
                .required()
                .hint("a host from hosts.toml, or local")
                .check(form::line),
            Field::new("kind", "Kind", backups::kind_name(j.kind))
                .required()
                .hint("restic, borg, path or command")
                .check(|v| fields::parse_kind(v).map(|_| ())),
            when(
                Field::new("repository", "Repository", text(&j.repository))
                    .hint("path or URL of the repository")
                    .check(form::line),
                "repository",
            ),
            when(
                Field::new(
                    "password_command",
                    "Password cmd",
                    text(&j.password_command),
                )
                .hint("prints the password, run on the host")
                .check(form::line),
                "password_command",
            ),
            when(
                Field::new("password_file", "Password file", text(&j.password_file))
                    .hint("a file on the host")
                    .check(form::line),
                "password_file",
            ),
            when(
                Field::new("env_file", "Env file", text(&j.env_file))
                    .hint("KEY=VALUE backend settings on the host")
                    .check(form::line),
                "env_file",
            ),
            when(
                Field::new("passcommand", "Passcommand", text(&j.passcommand))
                    .hint("BORG_PASSCOMMAND")
                    .check(form::line),
                "passcommand",
            ),
            when(
                Field::new("tag", "Tag", text(&j.tag))
                    .hint("only snapshots with this tag")
                    .check(form::line),
                "tag",
            ),
            when(
                Field::new("path", "Path", text(&j.path))
                    .hint("directory or glob (restic: only this path)")
                    .check(form::line),
                "path",
            ),
            when(
                Field::new(
                    "min_size",
                    "Min size",
                    j.min_size.map(|n| n.to_string()).unwrap_or_default(),
                )
                .hint("bytes the newest file needs")
                .check(|v| {
                    v.parse::<u64>()
                        .map(|_| ())
                        .map_err(|_| "a number of bytes".to_string())
                }),
                "min_size",
            ),
            when(
                Field::new("command", "Command", text(&j.command))
                    .hint("prints the time of the latest good backup")
                    .check(form::line),
                "command",
            ),
            Field::new("max_age", "Max age", j.max_age.clone())
                .required()
                .hint("e.g. 26h: older is critical")
                .check(form::duration),
            Field::new("warn_age", "Warn age", text(&j.warn_age))
                .hint("older is a warning")
                .check(form::duration),
            Field::new(
                "restore_test_every",
                "Restore every",
                text(&j.restore_test_every),
            )
            .hint("e.g. 90d")
            .check(form::duration),
            Field::new("last_restore_test", "Last restore", date)
                .hint("YYYY-MM-DD")
                .check(form::date),
            Field::new("notes", "Notes", text(&j.notes)).check(form::line),
        ],
    )
}

fn summary(results: &[BackupResult]) -> String {
    let n = |s: Status| results.iter().filter(|r| r.status == s).count();
    format!(
        "backups checked: {} ok, {} warn, {} crit, {} unknown",
        n(Status::Ok),
        n(Status::Warn),
        n(Status::Crit),
        n(Status::Unknown)
    )
}

/// Age now (not at check time), and the status with that age: a backup that
/// was fresh at the last check but is past max_age now shows CRIT.
fn live(r: &BackupResult, ctx: &Ctx) -> (Option<u64>, Status) {
    let age = r.latest.as_deref().and_then(|t| ctx.age_of(t)).or(r.age_s);
    let mut status = r.status;
    if let Some(a) = age {
        if r.max_age_s > 0 && a > r.max_age_s && r.latest.is_some() {
            status = Status::Crit;
        }
    }
    (age, status)
}

/// The first reason, or what else to say.
fn reason(r: Option<&BackupResult>, ctx: &Ctx, checking: bool) -> String {
    if checking {
        return "checking…".into();
    }
    match r {
        None => "not checked yet (c)".into(),
        Some(r) => {
            let (age, status) = live(r, ctx);
            if status == Status::Crit && r.status != Status::Crit {
                return format!(
                    "now {} old, older than max_age (check again: c)",
                    format_age(age.unwrap_or_default())
                );
            }
            match (r.reasons.first(), age) {
                (Some(x), _) => x.clone(),
                (None, Some(a)) => format!(
                    "latest backup {} old (max {})",
                    format_age(a),
                    format_age(r.max_age_s)
                ),
                (None, None) => r.error.clone().unwrap_or_default(),
            }
        }
    }
}

/// The orders of `o`: problems first (the default), then the others.
const SORTS: &[&str] = &["status", "name", "age"];

impl BackupsPane {
    fn sort(&self) -> Sort {
        self.sort.unwrap_or(Sort::new(SORTS))
    }

    /// Order the rows by the sort column (file order for ties).
    fn order(&mut self, ctx: &Ctx) {
        let jobs = &ctx.store.backups;
        let r = |i: usize| ctx.results.backups.get(&jobs[i].name);
        let order = match self.sort().name() {
            "name" => order_by(jobs.len(), |a, b| jobs[a].name.cmp(&jobs[b].name)),
            "age" => order_by(jobs.len(), |a, b| {
                let age = |i: usize| r(i).and_then(|r| live(r, ctx).0).map(|a| a as f64);
                desc_f64(age(a), age(b))
            }),
            _ => order_by(jobs.len(), |a, b| {
                let rank = |i: usize| problem_rank(r(i).map(|r| live(r, ctx).1));
                rank(b).cmp(&rank(a))
            }),
        };
        self.list.set_order(order);
    }

    /// A submitted job form: the whole job checked as `opsdeck backup add`
    /// checks it; errors go back onto their fields.
    fn submitted(&mut self, req: Request, values: &FormValues, ctx: &Ctx) -> Vec<Effect> {
        let old_name = match req {
            Request::AddBackup => None,
            Request::EditBackup(old) => Some(old),
            _ => return vec![],
        };
        let base = old_name
            .as_deref()
            .and_then(|n| self.job(ctx, n).cloned())
            .unwrap_or_else(|| BackupJob::new("", "", crate::model::BackupKind::Path, ""));
        // every field of the form (hidden ones were not submitted: unset)
        let all: Vec<(&str, &str)> = fields::KEYS.iter().map(|k| (*k, values.get(k))).collect();
        let job = match fields::apply(base, all) {
            Ok(j) => j,
            Err((key, msg)) => {
                let key = if key.is_empty() { "form".into() } else { key };
                return vec![Effect::FormErrors(vec![(key, msg)])];
            }
        };
        if job.host != backups::run::LOCAL && ctx.store.host(&job.host).is_none() {
            return vec![Effect::FormErrors(vec![(
                "host".into(),
                format!(
                    "no host named {} in hosts.toml (local: the jump box)",
                    job.host
                ),
            )])];
        }
        if let Err(e) = crate::ui::validate::unique_name(
            "backup job",
            ctx.store.backups.iter().map(|j| j.name.as_str()),
            &job.name,
            old_name.as_deref(),
        ) {
            return vec![Effect::FormErrors(vec![("name".into(), e)])];
        }
        let name = job.name.clone();
        self.pending = Some(name.clone());
        vec![match old_name {
            None => Effect::store("backup.add", move |s| {
                s.add_backup(job)?;
                Ok(format!("backup job {name} added to backups.toml"))
            }),
            Some(old) => Effect::store("backup.edit", move |s| {
                s.update_backup(&old, job)?;
                Ok(format!("backup job {name} saved"))
            }),
        }]
    }
}

impl Pane for BackupsPane {
    fn id(&self) -> PaneId {
        PaneId::BACKUPS
    }

    fn count(&self, ctx: &Ctx) -> String {
        let bad = ctx
            .store
            .backups
            .iter()
            .filter(|j| {
                ctx.results
                    .backups
                    .get(&j.name)
                    .map(|r| live(r, ctx).1 != Status::Ok)
                    .unwrap_or(false)
            })
            .count();
        if bad > 0 {
            format!("{bad}!")
        } else {
            ctx.store.backups.len().to_string()
        }
    }

    fn refresh(&mut self, ctx: &Ctx) {
        self.names = ctx.store.backups.iter().map(|j| j.name.clone()).collect();
        let tags_of = |host: &str| -> String {
            ctx.store
                .host(host)
                .map(|h| h.tags.iter().map(|t| format!(" @{t}")).collect())
                .unwrap_or_default()
        };
        self.list.set_rows(ctx.store.backups.iter().map(|j| {
            let r = ctx.results.backups.get(&j.name);
            let mut hay = format!("{} {} {}", j.name, j.host, backups::kind_name(j.kind));
            if let Some(r) = r {
                hay.push(' ');
                hay.push_str(status_word(live(r, ctx).1));
                for x in &r.reasons {
                    hay.push(' ');
                    hay.push_str(x);
                }
            }
            // `@tag`: the jobs of the hosts with that tag
            hay.push_str(&tags_of(&j.host));
            (j.name.clone(), hay)
        }));
        self.order(ctx);
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        let name_w = self
            .names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 24) as u16;
        let spec = TableSpec {
            title: "Backups",
            header: vec![
                "STAT",
                "NAME",
                "HOST",
                "POLICY",
                "AGE / MAX",
                "RESTORED",
                "REASON",
            ],
            widths: vec![
                Constraint::Length(4),
                Constraint::Length(name_w),
                Constraint::Length(10),
                Constraint::Length(BAR as u16),
                Constraint::Length(11),
                Constraint::Length(10),
                Constraint::Fill(1),
            ],
            sort: Some(self.sort().name()),
            empty: "no backup jobs: add [[backup]] tables to backups.toml (see opsdeck init)",
        };
        // texts end in "…" where their column cuts them
        let cols = table::column_widths(area, &spec.widths);
        table::draw(frame, area, theme, spec, &self.list, |idx| {
            let name = self.names.get(idx).map(String::as_str).unwrap_or_default();
            let job = self.job(ctx, name);
            let r = ctx.results.backups.get(name);
            let checking = self.is_checking(name);
            let (status_text, status_style, bar, label) = match r {
                None => (
                    "----".to_string(),
                    theme.dim(),
                    age_bar(None, 0, BAR),
                    "-".to_string(),
                ),
                Some(r) => {
                    let (age, st) = live(r, ctx);
                    let max = format_age(r.max_age_s);
                    let label = match age {
                        Some(a) => format!("{} / {max}", format_age(a)),
                        None => format!("- / {max}"),
                    };
                    (
                        status_word(st).to_string(),
                        theme.status(st),
                        age_bar(age, r.max_age_s, BAR),
                        label,
                    )
                }
            };
            let mut restored = restore_label(job);
            if let Some(j) = job {
                if let Some(due) = restore_due(j) {
                    if ctx.now.to_zoned(jiff::tz::TimeZone::system()).date() > due {
                        restored.push('!');
                    }
                }
            }
            vec![
                Cell::from(Span::styled(status_text, status_style)),
                Cell::from(ellipsize(name, name_w as usize)),
                Cell::from(table::fit(
                    job.map(|j| j.host.as_str()).unwrap_or("?"),
                    &cols,
                    2,
                )),
                Cell::from(Span::styled(bar, status_style)),
                Cell::from(label),
                Cell::from(restored),
                Cell::from(Line::from(table::fit(&reason(r, ctx, checking), &cols, 6))),
            ]
        });
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
        if self.list.handle_key(key) {
            return Some(vec![]);
        }
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        match key.code {
            KeyCode::Enter => {
                let name = self.selected_name()?;
                let job = self.job(ctx, &name);
                let r = ctx.results.backups.get(&name);
                let lines = detail_lines(job, r).into_iter().map(Line::from).collect();
                Some(vec![Effect::Text {
                    title: format!("Backup {name}"),
                    lines,
                }])
            }
            KeyCode::Char('c') => {
                let targets = self.list.targets();
                if targets.is_empty() {
                    return Some(vec![Effect::Status("no backup job selected".into())]);
                }
                Some(self.check(ctx, targets))
            }
            KeyCode::Char('C') => {
                let all = ctx.store.backups.iter().map(|j| j.name.clone()).collect();
                Some(self.check(ctx, all))
            }
            KeyCode::Char('t') => {
                let name = self.selected_name()?;
                let today = backups::today();
                Some(vec![Effect::confirm(
                    format!("Record a restore test of {name}?"),
                    vec![
                        format!("Sets last_restore_test = {today} in backups.toml"),
                        "and writes a journal entry. Only say yes if a restore".into(),
                        "from this backup was actually tested today.".into(),
                    ],
                    Request::RestoreTested(name),
                )])
            }
            KeyCode::Char('o') => {
                let mut s = self.sort();
                let msg = s.advance();
                self.sort = Some(s);
                self.order(ctx);
                Some(vec![Effect::Status(msg)])
            }
            KeyCode::Char('a') => Some(vec![Effect::Form(job_form(
                Request::AddBackup,
                "Add a backup job",
                &BackupJob::new("", "", crate::model::BackupKind::Restic, "26h"),
            ))]),
            KeyCode::Char('e') => {
                let Some(name) = self.selected_name() else {
                    return Some(vec![Effect::Error("no backup job selected to edit".into())]);
                };
                let j = self.job(ctx, &name)?;
                Some(vec![Effect::Form(job_form(
                    Request::EditBackup(name.clone()),
                    &format!("Edit backup job {name}"),
                    j,
                ))])
            }
            KeyCode::Char('E') => {
                let Some(name) = self.selected_name() else {
                    return Some(vec![Effect::Error("no backup job selected to edit".into())]);
                };
                Some(vec![Effect::Editor {
                    kind: crate::ui::editor::Kind::Backup,
                    name,
                }])
            }
            KeyCode::Char('d') => {
                let Some(name) = self.selected_name() else {
                    return Some(vec![Effect::Error(
                        "no backup job selected to delete".into(),
                    )]);
                };
                let j = self.job(ctx, &name)?;
                Some(vec![Effect::confirm(
                    format!("Delete backup job {name} from backups.toml?"),
                    vec![
                        format!(
                            "{} on {}; its results stay in state/ until the next check.",
                            backups::kind_name(j.kind),
                            j.host
                        ),
                        "The backups themselves are not touched.".into(),
                    ],
                    Request::DeleteBackup(name),
                )])
            }
            KeyCode::Char('s') => {
                let name = self.selected_name()?;
                let host = self.job(ctx, &name)?.host.clone();
                if host == backups::run::LOCAL {
                    return Some(vec![Effect::Status(format!(
                        "{name} runs on the jump box itself (host = \"local\")"
                    ))]);
                }
                Some(vec![Effect::Ssh(host)])
            }
            _ => None,
        }
    }

    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        match event {
            PaneEvent::Confirmed(Request::DeleteBackup(name)) => {
                vec![Effect::store("backup.rm", move |s| {
                    s.remove_backup(&name)?;
                    Ok(format!("backup job {name} deleted from backups.toml"))
                })]
            }
            PaneEvent::Confirmed(Request::RestoreTested(name)) => {
                let today = backups::today();
                self.saving_restore = true;
                vec![Effect::store("backup.restored", move |store| {
                    store
                        .record_restore_test(&name, today)
                        .map(|_| format!("restore test of {name} recorded ({today})"))
                })]
            }
            PaneEvent::Confirmed(_) => vec![],
            PaneEvent::Saved { result } => {
                let restore = std::mem::take(&mut self.saving_restore);
                match result {
                    Ok(()) => {
                        // the rows are the new ones now: select the job just saved
                        if let Some(name) = self.pending.take() {
                            self.list.select_key(&name);
                        }
                        vec![]
                    }
                    Err(e) if restore => {
                        vec![Effect::Error(format!("restore test not recorded: {e}"))]
                    }
                    Err(e) => vec![Effect::Error(e)],
                }
            }
            PaneEvent::JobMsg { job, msg } => {
                if let JobMsg::Backups(m) = msg {
                    match m {
                        BackupMsg::Started(names) => {
                            self.checking.insert(job, names.into_iter().collect());
                        }
                        BackupMsg::Done(d) => {
                            let JobDone {
                                result: r,
                                ssh_error,
                            } = *d;
                            if let Some(s) = self.checking.get_mut(&job) {
                                s.remove(&r.name);
                            }
                            // an unknown / changed host key: the shell asks
                            // (or refuses) as in every pane, then checks it again
                            if let Some(e) = ssh_error {
                                if r.host != backups::run::LOCAL {
                                    return vec![Effect::HostKey {
                                        host: r.host,
                                        error: e,
                                        retry: Request::CheckBackup(r.name),
                                    }];
                                }
                            }
                        }
                    }
                }
                vec![]
            }
            PaneEvent::HostKeyAccepted { retries, .. } => {
                let names: Vec<String> = retries
                    .into_iter()
                    .filter_map(|r| match r {
                        Request::CheckBackup(n) => Some(n),
                        _ => None,
                    })
                    .filter(|n| self.job(ctx, n).is_some())
                    .collect();
                if names.is_empty() {
                    return vec![];
                }
                self.check(ctx, names)
            }
            PaneEvent::JobDone(job) => {
                self.checking.remove(&job);
                vec![]
            }
            PaneEvent::Select(key) => {
                self.list.select_key(&key);
                vec![]
            }
            PaneEvent::FormSubmitted { req, values } => self.submitted(req, &values, ctx),
            PaneEvent::SelectTicket(..) => vec![],
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
            ("Enter", "details"),
            ("c", "check"),
            ("a", "add"),
            ("e", "edit"),
            ("d", "delete"),
            ("t", "restore tested"),
        ]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![
            KeyHelp::new("Enter", "details: policy, reasons, latest snapshots"),
            KeyHelp::new("c", "check the selected (or marked) backup jobs"),
            KeyHelp::new("C", "check every backup job"),
            KeyHelp::new(
                "o",
                "sort by the next column: status (problems first), name, age (oldest first)",
            ),
            KeyHelp::new(
                "t",
                "record a restore test of the selected job (today; asks)",
            ),
            KeyHelp::new(
                "a / e / d",
                "add / edit / delete a backup job (backups.toml; the form shows the fields of the kind typed)",
            ),
            KeyHelp::new(
                "E",
                "edit the job in $VISUAL / $EDITOR (checked before it is written; only changed keys change)",
            ),
            KeyHelp::new("s", "ssh to the job's host"),
            KeyHelp::new("Space", "mark a row"),
        ]
    }

    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
    }

    fn filter(&self) -> &str {
        self.list.filter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackupKind, BackupSnapshot, Settings};
    use crate::ssh::{Engine, EngineOptions};
    use crate::store::{Home, Store};
    use crate::ui::msg::Results;
    use crate::ui::theme::Theme;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn job(name: &str, kind: BackupKind) -> BackupJob {
        BackupJob {
            repository: Some("/srv/repo".into()),
            password_file: Some("/root/pw".into()),
            restore_test_every: Some("90d".into()),
            ..BackupJob::new(name, "nas", kind, "26h")
        }
    }

    fn result(
        name: &str,
        status: Status,
        latest: Option<&str>,
        age: Option<u64>,
        reason: &str,
    ) -> BackupResult {
        BackupResult {
            name: name.into(),
            host: "nas".into(),
            kind: BackupKind::Restic,
            status,
            latest: latest.map(str::to_string),
            age_s: age,
            max_age_s: 26 * 3600,
            error: None,
            reasons: vec![reason.into()],
            snapshots: Some(3),
            checked_at: latest.map(str::to_string),
            recent: vec![BackupSnapshot {
                id: "290ee2ab".into(),
                time: latest.unwrap_or("2026-11-23T08:00:00Z").into(),
                hostname: Some("nas".into()),
                paths: vec!["/srv/data".into()],
                ..Default::default()
            }],
        }
    }

    struct World {
        store: Store,
        results: Results,
        theme: Theme,
        engine: Engine,
        now: jiff::Timestamp,
    }

    impl World {
        fn new(home: &std::path::Path) -> World {
            let mut fresh = job("nas-restic", BackupKind::Restic);
            fresh.last_restore_test = Some("2026-10-01".parse().unwrap());
            let stale = job("db-dumps", BackupKind::Restic);
            let unchecked = job("mail-borg", BackupKind::Borg);
            let store = Store {
                home: Home::under(home),
                settings: Settings::default(),
                hosts: Vec::new(),
                vendors: Vec::new(),
                backups: vec![fresh, stale, unchecked],
            };
            let mut results = Results::default();
            results.merge(ResultsUpdate::Backups(vec![
                result(
                    "nas-restic",
                    Status::Ok,
                    Some("2026-11-23T08:00:00Z"),
                    Some(7200),
                    "latest backup 2h old (max_age 26h)",
                ),
                result(
                    "db-dumps",
                    Status::Crit,
                    Some("2026-11-20T10:00:00Z"),
                    Some(3 * 86400),
                    "latest backup 3d old, older than max_age 26h",
                ),
            ]));
            World {
                store,
                results,
                theme: Theme::mono(),
                engine: Engine::new(&Default::default(), EngineOptions::default()),
                now: "2026-11-23T10:00:00Z".parse().unwrap(),
            }
        }
        fn ctx(&self) -> Ctx<'_> {
            Ctx {
                store: &self.store,
                results: &self.results,
                theme: &self.theme,
                now: self.now,
                jobs: &[],
                engine: &self.engine,
                tx: None,
            }
        }
    }

    fn render(p: &BackupsPane, ctx: &Ctx, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| p.draw(f, f.area(), ctx)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn rows_read_without_colour_at_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let w = World::new(dir.path());
        let ctx = w.ctx();
        let mut p = BackupsPane::new();
        p.refresh(&ctx);
        let screen = render(&p, &ctx, 80, 24);
        let line = |name: &str| {
            screen
                .lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{name} not on\n{screen}"))
                .to_string()
        };
        let ok = line("nas-restic");
        assert!(
            ok.contains("OK")
                && ok.contains("█░░░░░░░░░")
                && ok.contains("2h / 26h")
                && ok.contains("2026-10-01"),
            "{ok}"
        );
        let crit = line("db-dumps");
        assert!(
            crit.contains("CRIT")
                && crit.contains("█████████!")
                && crit.contains("3d / 26h")
                && crit.contains("never"),
            "{crit}"
        );
        let unk = line("mail-borg");
        assert!(unk.contains("----") && unk.contains("not checked"), "{unk}");
        assert_eq!(p.count(&ctx), "1!");
    }

    #[test]
    fn a_fresh_result_that_aged_past_max_age_shows_crit() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = World::new(dir.path());
        w.now = "2026-11-24T11:00:00Z".parse().unwrap(); // 27 h after the backup
        let ctx = w.ctx();
        let mut p = BackupsPane::new();
        p.refresh(&ctx);
        let screen = render(&p, &ctx, 100, 10);
        let ok = screen.lines().find(|l| l.contains("nas-restic")).unwrap();
        assert!(ok.contains("CRIT") && ok.contains("27h / 26h"), "{ok}");
    }

    #[test]
    fn keys_give_effects() {
        let dir = tempfile::tempdir().unwrap();
        let w = World::new(dir.path());
        let ctx = w.ctx();
        let mut p = BackupsPane::new();
        p.refresh(&ctx);
        // Enter: details with the latest snapshot
        let e = p.handle_key(key(KeyCode::Enter), &ctx).unwrap();
        match &e[..] {
            [Effect::Text { title, lines }] => {
                assert!(title.contains("nas-restic"));
                let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                assert!(text.iter().any(|l| l.contains("290ee2ab")), "{text:?}");
            }
            other => panic!("{other:?}"),
        }
        // c: a background job; C too
        assert!(matches!(
            &p.handle_key(key(KeyCode::Char('c')), &ctx).unwrap()[..],
            [Effect::Job(_)]
        ));
        assert!(matches!(
            &p.handle_key(key(KeyCode::Char('C')), &ctx).unwrap()[..],
            [Effect::Job(_)]
        ));
        // t: asks first
        let e = p.handle_key(key(KeyCode::Char('t')), &ctx).unwrap();
        assert!(
            matches!(&e[..], [Effect::Confirm { req: Request::RestoreTested(n), .. }] if n == "nas-restic"),
            "{e:?}"
        );
        assert!(p.handle_key(key(KeyCode::Char('z')), &ctx).is_none());
        assert!(p.keys().iter().any(|k| k.keys == "t"));
    }

    #[test]
    fn confirmed_restore_test_is_written_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("backups.toml"),
            "# mine\n[[backup]]\nname = \"nas-restic\"\nhost = \"local\"\nkind = \"command\"\ncommand = \"date +%s\"\nmax_age = \"26h\"\n",
        )
        .unwrap();
        let w = World::new(dir.path());
        let ctx = w.ctx();
        let mut p = BackupsPane::new();
        p.refresh(&ctx);
        let e = p.handle_event(
            PaneEvent::Confirmed(Request::RestoreTested("nas-restic".into())),
            &ctx,
        );
        let [Effect::Store { op, .. }] =
            <[Effect; 1]>::try_from(e).unwrap_or_else(|e| panic!("{e:?}"))
        else {
            panic!()
        };
        let mut store = Store::load(Home::under(dir.path())).unwrap();
        let msg = op(&mut store).unwrap();
        assert!(msg.contains("nas-restic"));
        let text = std::fs::read_to_string(dir.path().join("backups.toml")).unwrap();
        assert!(
            text.contains("# mine")
                && text.contains(&format!("last_restore_test = {}", backups::today())),
            "{text}"
        );
    }

    #[test]
    fn live_results_clear_checking_marks() {
        let dir = tempfile::tempdir().unwrap();
        let w = World::new(dir.path());
        let ctx = w.ctx();
        let mut p = BackupsPane::new();
        p.refresh(&ctx);
        p.handle_event(
            PaneEvent::JobMsg {
                job: JobId(7),
                msg: JobMsg::Backups(BackupMsg::Started(vec!["mail-borg".into()])),
            },
            &ctx,
        );
        assert!(render(&p, &ctx, 100, 10).contains("checking…"));
        let r = result(
            "mail-borg",
            Status::Ok,
            Some("2026-11-23T09:00:00Z"),
            Some(3600),
            "fine",
        );
        p.handle_event(
            PaneEvent::JobMsg {
                job: JobId(7),
                msg: JobMsg::Backups(BackupMsg::Done(Box::new(r.into()))),
            },
            &ctx,
        );
        assert!(!render(&p, &ctx, 100, 10).contains("checking…"));
    }
}
