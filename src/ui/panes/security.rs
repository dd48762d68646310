//! Security pane: the audit's findings of every host, worst first
//! (`opsdeck audit` and `c`/`C` here run the same task), and who can log in
//! where: `K` switches to the keys, one row per key with every host, user
//! and file it reaches (`/` with a host name shows which keys reach that
//! host; a pasted fingerprint or public key finds its row); `d` on a key
//! revokes it after its plan and a typed confirmation, as `opsdeck keys
//! revoke` does (the same task).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::audit::{AuthKey, Finding, HostAudit, Severity};
use crate::model::Status;
use crate::ops;
use crate::ui::msg::{Request, ResultsUpdate};
use crate::ui::pane::{Ctx, Effect, Job, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

/// One row: a finding of a host, or a key.
#[derive(Debug, Clone)]
enum Row {
    Finding {
        host: String,
        f: Finding,
    },
    Key {
        fingerprint: String,
        places: Vec<(String, AuthKey)>,
    },
    /// A host the audit could not read.
    Error {
        host: String,
        error: String,
    },
}

#[derive(Default)]
pub struct SecurityPane {
    list: ListView,
    rows: Vec<Row>,
    keys_view: bool,
}

impl SecurityPane {
    pub fn new() -> SecurityPane {
        SecurityPane::default()
    }

    fn audit(&self, ctx: &Ctx, names: Vec<String>) -> Vec<Effect> {
        let hosts: Vec<crate::model::Host> = ctx
            .store
            .hosts
            .iter()
            .filter(|h| names.contains(&h.name))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return vec![Effect::Status("no host to audit".into())];
        }
        let task = ctx.ops();
        let what = format!(
            "audit {}",
            crate::util::plural(hosts.len(), "host", "hosts")
        );
        let all = hosts.len() == ctx.store.hosts.len();
        let host = (hosts.len() == 1).then(|| hosts[0].name.clone());
        let job = Job::blocking(host, what, move |h| {
            let task = task.with_cancel(h.cancel_flag());
            let target = if all {
                "all".to_string()
            } else {
                hosts
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let (results, saved) =
                ops::audit::audit_and_save(&task, hosts, &target, |r, n, total| {
                    h.progress(format!("{n}/{total}"));
                    h.results(ResultsUpdate::Audit(vec![r.clone()]));
                });
            let bad = results.iter().filter(|r| r.status != Status::Ok).count();
            let text = format!(
                "audited {}: {} with findings",
                crate::util::plural(results.len(), "host", "hosts"),
                bad
            );
            match saved {
                Ok(()) => h.status(text),
                Err(e) => h.error(format!("{text}; not saved: {e}")),
            }
        });
        vec![Effect::Job(job)]
    }

    /// Revoke `fingerprint` on the hosts where the last audit found it: a
    /// fresh audit of those hosts, the plan, the removal (backups, journal,
    /// never opsdeck's own key), then their new audits on screen.
    fn revoke(&self, ctx: &Ctx, fingerprint: String) -> Vec<Effect> {
        let hosts: Vec<crate::model::Host> = ctx
            .store
            .hosts
            .iter()
            .filter(|h| {
                ctx.results
                    .audit
                    .get(&h.name)
                    .is_some_and(|a| a.keys.iter().any(|k| k.fingerprint == fingerprint))
            })
            .cloned()
            .collect();
        if hosts.is_empty() {
            return vec![Effect::Status(
                "that key is authorised nowhere any more".into(),
            )];
        }
        let task = ctx.ops();
        let what = format!(
            "revoke key on {}",
            crate::util::plural(hosts.len(), "host", "hosts")
        );
        let job = Job::blocking(None, what, move |h| {
            let task = task.with_cancel(h.cancel_flag());
            let fresh = ops::audit::audit(&task, hosts.clone(), |_, n, total| {
                h.progress(format!("audit {n}/{total}"))
            });
            let plans = ops::keys::plan_revoke(&task, &hosts, &fresh, &fingerprint);
            let refused = plans.iter().filter(|p| p.refused.is_some()).count();
            let done = ops::keys::revoke(&task, &plans, &fingerprint);
            let ok = done.iter().filter(|d| d.result.is_ok()).count();
            let failed: Vec<String> = done
                .iter()
                .filter_map(|d| d.result.as_ref().err().map(|e| format!("{}: {e}", d.host)))
                .collect();
            let names: Vec<String> = done.iter().map(|d| d.host.clone()).collect();
            let again: Vec<HostAudit> = task
                .store
                .load_state::<HostAudit>(crate::store::StateKind::Audit)
                .items
                .into_iter()
                .filter(|a| names.contains(&a.host))
                .collect();
            h.results(ResultsUpdate::Audit(again));
            let mut text = format!(
                "key removed on {} (a backup of each file kept there)",
                crate::util::plural(ok, "host", "hosts")
            );
            if refused > 0 {
                text.push_str(&format!(
                    "; refused on {refused}: it is the key opsdeck logs in with there"
                ));
            }
            if failed.is_empty() {
                h.status(text);
            } else {
                h.error(format!("{text}; failed: {}", failed.join("; ")));
            }
        });
        vec![Effect::Job(job)]
    }

    fn selected(&self) -> Option<&Row> {
        let key = self.list.selected_key()?;
        let i: usize = key.parse().ok()?;
        self.rows.get(i)
    }
}

fn sev_style(s: Severity, ctx: &Ctx) -> ratatui::style::Style {
    match s {
        Severity::Crit => ctx.theme.status(Status::Crit),
        Severity::Warn => ctx.theme.status(Status::Warn),
        Severity::Info => ctx.theme.dim(),
    }
}

fn finding_lines(host: &str, f: &Finding, a: Option<&HostAudit>) -> Vec<Line<'static>> {
    let mut l = vec![
        Line::raw(format!("host      {host}")),
        Line::raw(format!("finding   {} ({})", f.title, f.id)),
        Line::raw(format!(
            "severity  {}{}",
            f.severity.label(),
            if f.accepted { " (accepted)" } else { "" }
        )),
        Line::raw(format!("evidence  {}", f.evidence)),
    ];
    if !f.fix.is_empty() {
        l.push(Line::raw(format!("fix       {}", f.fix)));
    }
    if f.unverified {
        l.push(Line::raw(
            "          unverified: the audit ran without root ([audit] become = true)",
        ));
    }
    if let Some(a) = a {
        l.push(Line::raw(""));
        l.push(Line::raw(format!(
            "audited   {}{}",
            a.audited_at,
            if a.as_root { " as root" } else { "" }
        )));
        for c in &a.certificates {
            l.push(Line::raw(format!(
                "cert      {} ({}): {} days left",
                c.subject, c.source, c.days_left
            )));
        }
    }
    l
}

impl Pane for SecurityPane {
    fn id(&self) -> PaneId {
        PaneId::SECURITY
    }

    fn count(&self, ctx: &Ctx) -> String {
        let crit = ctx
            .results
            .audit
            .values()
            .filter(|a| a.status == Status::Crit)
            .count();
        let n = ctx
            .results
            .audit
            .values()
            .flat_map(|a| a.findings.iter())
            .filter(|f| !f.accepted && f.severity != Severity::Info)
            .count();
        if crit > 0 {
            format!("{n} ({crit}!)")
        } else {
            n.to_string()
        }
    }

    fn refresh(&mut self, ctx: &Ctx) {
        let mut rows = Vec::new();
        if self.keys_view {
            let mut by_fp: std::collections::BTreeMap<String, Vec<(String, AuthKey)>> =
                Default::default();
            for a in ctx.results.audit.values() {
                for k in &a.keys {
                    by_fp
                        .entry(k.fingerprint.clone())
                        .or_default()
                        .push((a.host.clone(), k.clone()));
                }
            }
            let mut keys: Vec<(String, Vec<(String, AuthKey)>)> = by_fp.into_iter().collect();
            keys.sort_by_key(|(_, p)| std::cmp::Reverse(p.len()));
            for (fingerprint, places) in keys {
                rows.push(Row::Key {
                    fingerprint,
                    places,
                });
            }
        } else {
            for a in ctx.results.audit.values() {
                if let Some(e) = &a.error {
                    rows.push(Row::Error {
                        host: a.host.clone(),
                        error: e.clone(),
                    });
                }
                for f in &a.findings {
                    rows.push(Row::Finding {
                        host: a.host.clone(),
                        f: f.clone(),
                    });
                }
            }
            let rank = |r: &Row| match r {
                Row::Error { .. } => (0u8, 0u8),
                Row::Finding { f, .. } => (u8::from(f.accepted) + 1, 3 - f.severity as u8),
                Row::Key { .. } => (9, 9),
            };
            rows.sort_by_key(rank);
        }
        self.list.set_rows(rows.iter().enumerate().map(|(i, r)| {
            let hay = match r {
                Row::Finding { host, f } => {
                    format!("{host} {} {} {}", f.title, f.id, f.severity.label())
                }
                Row::Key {
                    fingerprint,
                    places,
                } => {
                    let mut s = fingerprint.clone();
                    // a pasted public key line matches its row too
                    for (h, k) in places {
                        s.push_str(&format!(
                            " {h} {} {} {} {}",
                            k.user, k.comment, k.key_type, k.key
                        ));
                    }
                    s
                }
                Row::Error { host, error } => format!("{host} {error}"),
            };
            (i.to_string(), hay)
        }));
        self.rows = rows;
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let (title, header, widths, empty) = if self.keys_view {
            (
                "Security: who can log in where (K: findings)",
                vec!["HOSTS", "KEY", "TYPE", "REACHES"],
                vec![
                    Constraint::Length(5),
                    Constraint::Length(40),
                    Constraint::Length(12),
                    Constraint::Fill(1),
                ],
                "no authorized keys read yet: C audits every host",
            )
        } else {
            (
                "Security (K: keys)",
                vec!["SEV", "HOST", "FINDING", "ID"],
                vec![
                    Constraint::Length(5),
                    Constraint::Length(14),
                    Constraint::Fill(2),
                    Constraint::Fill(1),
                ],
                "not audited yet: C audits every host (opsdeck audit does the same)",
            )
        };
        let cols = table::column_widths(area, &widths);
        let spec = TableSpec {
            title,
            header,
            widths,
            sort: None,
            empty,
        };
        table::draw(frame, area, t, spec, &self.list, |idx| {
            match self.rows.get(idx) {
                Some(Row::Finding { host, f }) => vec![
                    Cell::from(Span::styled(
                        f.severity.label().to_uppercase(),
                        sev_style(f.severity, ctx),
                    )),
                    Cell::from(table::fit(host, &cols, 1)),
                    Cell::from(Line::from(table::fit(
                        &format!("{}{}", f.title, if f.accepted { " (accepted)" } else { "" }),
                        &cols,
                        2,
                    ))),
                    Cell::from(Span::styled(table::fit(&f.id, &cols, 3), t.dim())),
                ],
                Some(Row::Key {
                    fingerprint,
                    places,
                }) => {
                    let hosts: std::collections::BTreeSet<&str> =
                        places.iter().map(|(h, _)| h.as_str()).collect();
                    let k = &places[0].1;
                    let reach: Vec<String> = places
                        .iter()
                        .map(|(h, k)| format!("{}@{h}", k.user))
                        .collect();
                    vec![
                        Cell::from(hosts.len().to_string()),
                        Cell::from(table::fit(
                            &format!("{}  {}", k.comment, fingerprint),
                            &cols,
                            1,
                        )),
                        Cell::from(format!(
                            "{} {}",
                            k.key_type.trim_start_matches("ssh-"),
                            k.bits.map(|b| b.to_string()).unwrap_or_default()
                        )),
                        Cell::from(table::fit(&reach.join(", "), &cols, 3)),
                    ]
                }
                Some(Row::Error { host, error }) => vec![
                    Cell::from(Span::styled("ERR", t.error())),
                    Cell::from(host.clone()),
                    Cell::from(table::fit(&crate::ui::errors::headline(error), &cols, 2)),
                    Cell::from(""),
                ],
                None => vec![],
            }
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
                let (title, lines) = match self.selected()? {
                    Row::Finding { host, f } => (
                        format!("Finding on {host}"),
                        finding_lines(host, f, ctx.results.audit.get(host)),
                    ),
                    Row::Key {
                        fingerprint,
                        places,
                    } => {
                        let mut l = vec![Line::raw(format!("key {fingerprint}")), Line::raw("")];
                        for (h, k) in places {
                            l.push(Line::raw(format!(
                                "{h:<16} {:<10} {}:{}",
                                k.user, k.file, k.line
                            )));
                            if !k.options.is_empty() {
                                l.push(Line::raw(format!("{:<16} options {}", "", k.options)));
                            }
                        }
                        l.push(Line::raw(""));
                        l.push(Line::raw(format!(
                            "remove it everywhere: opsdeck keys revoke {fingerprint} all"
                        )));
                        (format!("Key {}", places[0].1.comment), l)
                    }
                    Row::Error { host, error } => {
                        (format!("Audit of {host}"), vec![Line::raw(error.clone())])
                    }
                };
                Some(vec![Effect::Text { title, lines }])
            }
            KeyCode::Char('K') => {
                self.keys_view = !self.keys_view;
                self.refresh(ctx);
                Some(vec![Effect::Status(if self.keys_view {
                    "keys: one row per key, every host and user it reaches".into()
                } else {
                    "findings".into()
                })])
            }
            KeyCode::Char('c') => {
                let host = match self.selected()? {
                    Row::Finding { host, .. } | Row::Error { host, .. } => host.clone(),
                    Row::Key { places, .. } => places[0].0.clone(),
                };
                Some(self.audit(ctx, vec![host]))
            }
            KeyCode::Char('C') => Some(self.audit(
                ctx,
                ctx.store.hosts.iter().map(|h| h.name.clone()).collect(),
            )),
            KeyCode::Char('d') => {
                let Some(Row::Key {
                    fingerprint,
                    places,
                }) = self.selected()
                else {
                    return Some(vec![Effect::Status(
                        "d revokes a key: K lists the keys".into(),
                    )]);
                };
                let mut lines: Vec<String> = places
                    .iter()
                    .map(|(h, k)| format!("{h:<16} {:<10} {} line {}", k.user, k.file, k.line))
                    .collect();
                lines.push(String::new());
                lines.push(
                    "Each file is backed up on its host first; only this key's lines go.".into(),
                );
                lines.push(
                    "A host where this is the key opsdeck logs in with is left alone.".into(),
                );
                lines.insert(0, format!("key {fingerprint}"));
                Some(vec![Effect::ConfirmTyped {
                    title: format!("Revoke {} everywhere below?", places[0].1.comment),
                    lines,
                    req: Request::RevokeKey(fingerprint.clone()),
                    word: "revoke".into(),
                }])
            }
            _ => None,
        }
    }

    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        if let PaneEvent::Confirmed(Request::RevokeKey(fp)) = event {
            return self.revoke(ctx, fp);
        }
        if let PaneEvent::Select(key) = event {
            // an Overview item names a host: its first finding
            if let Some(i) = self
                .rows
                .iter()
                .position(|r| matches!(r, Row::Finding { host, .. } if *host == key))
            {
                self.list.select_key(&i.to_string());
            }
        }
        vec![]
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn hints(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("Enter", "details"),
            ("K", "keys"),
            ("d", "revoke key"),
            ("c", "audit host"),
            ("C", "audit all"),
        ]
    }

    fn keys(&self) -> Vec<KeyHelp> {
        vec![
            KeyHelp::new(
                "Enter",
                "a finding's evidence and fix; a key: every host, user and file it reaches",
            ),
            KeyHelp::new(
                "K",
                "switch between findings and keys (who can log in where)",
            ),
            KeyHelp::new(
                "c / C",
                "audit the selected host / every host (as opsdeck audit)",
            ),
            KeyHelp::new(
                "d",
                "keys: revoke the selected key everywhere it was found, after its plan and typing revoke (backups kept, journaled, never opsdeck's own key)",
            ),
            KeyHelp::new(
                "/",
                "filter: a host name shows its findings, or the keys that reach it",
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
