//! Hosts pane: inventory with the latest check per host (status, reason,
//! age, key facts), filling in live during a sweep; details with every fact
//! and the full error; add/edit/delete through the store; c/C check, s ssh,
//! r run, y copy the address.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::model::{CheckResult, Facts, Host};
use crate::ui::msg::Request;
use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::sort::{desc_f64, order_by, problem_rank, Sort};
use crate::ui::validate;
use crate::ui::widgets::form::{self, Field, Form, FormValues};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, ellipsize, TableSpec};

pub struct HostsPane {
    list: ListView,
    /// The host to select once its save lands (it is not a row before).
    pending: Option<String>,
    /// The column the rows are sorted by (`o`).
    sort: Sort,
}

/// The orders of `o`: problems first (the default), then the others.
const SORTS: &[&str] = &["status", "name", "last check", "disk", "load"];

impl HostsPane {
    pub fn new() -> HostsPane {
        HostsPane {
            list: ListView::new(),
            pending: None,
            sort: Sort::new(SORTS),
        }
    }

    /// Order the rows by the sort column (store order for ties).
    fn order(&mut self, ctx: &Ctx) {
        let hosts = &ctx.store.hosts;
        let check = |i: usize| ctx.results.checks.get(&hosts[i].name);
        let facts = |i: usize| check(i).and_then(|c| c.known_facts()).map(|k| k.0);
        let order = match self.sort.name() {
            "name" => order_by(hosts.len(), |a, b| hosts[a].name.cmp(&hosts[b].name)),
            "last check" => order_by(hosts.len(), |a, b| {
                // never checked first, then the oldest
                let t =
                    |i: usize| check(i).and_then(|c| c.checked_at.parse::<jiff::Timestamp>().ok());
                t(a).cmp(&t(b))
            }),
            "disk" => order_by(hosts.len(), |a, b| {
                let d = |i: usize| {
                    facts(i).and_then(|f| f.disks.iter().map(|d| d.used_pct).reduce(f64::max))
                };
                desc_f64(d(a), d(b))
            }),
            "load" => order_by(hosts.len(), |a, b| {
                let l = |i: usize| facts(i).and_then(load_per_cpu);
                desc_f64(l(a), l(b))
            }),
            _ => order_by(hosts.len(), |a, b| {
                let r = |i: usize| problem_rank(check(i).map(|c| c.status));
                r(b).cmp(&r(a))
            }),
        };
        self.list.set_order(order);
    }
}

/// The 1-minute load per CPU (what the rules compare), when both are known.
pub fn load_per_cpu(f: &Facts) -> Option<f64> {
    let l = f.load?;
    let cpus = f.cpus.filter(|c| *c > 0)?;
    Some(l[0] / f64::from(cpus))
}

impl Default for HostsPane {
    fn default() -> Self {
        Self::new()
    }
}

/// "Debian 12 · load 0.1 · mem 41% · / 63%" — the few facts that fit.
pub fn key_facts(f: &Facts) -> String {
    let mut parts = Vec::new();
    if let Some(os) = &f.os {
        let short = os
            .replace("GNU/Linux ", "")
            .split(" (")
            .next()
            .unwrap_or("")
            .to_string();
        parts.push(short);
    }
    // per CPU, as the rules (and their reasons) count it
    match (load_per_cpu(f), f.load) {
        (Some(per), _) => parts.push(format!("load {per:.2}/cpu")),
        (None, Some(l)) => parts.push(format!("load {:.1}", l[0])),
        _ => {}
    }
    if let Some(m) = f.mem_used_pct {
        parts.push(format!("mem {m:.0}%"));
    }
    if let Some(d) = f
        .disks
        .iter()
        .max_by(|a, b| a.used_pct.total_cmp(&b.used_pct))
    {
        parts.push(format!("{} {:.0}%", d.mount, d.used_pct));
    }
    if let Some(u) = &f.updates {
        match (u.pending, u.security) {
            (Some(p), Some(s)) => parts.push(format!("{p} upd ({s} sec)")),
            (Some(p), None) => parts.push(format!("{p} upd (sec ?)")),
            _ => {}
        }
    }
    if f.reboot_required == Some(true) {
        parts.push("reboot".into());
    }
    parts.join(" · ")
}

fn reason(c: &CheckResult) -> String {
    match &c.error {
        Some(e) => crate::ui::errors::headline(e),
        None => c.reasons.join("; "),
    }
}

/// The key facts, or (the last check did not reach the host) the last
/// known ones: "(2h old) Debian 12 · …".
fn known_facts_text(c: &CheckResult, ctx: &Ctx) -> String {
    match c.known_facts() {
        Some((f, None)) => key_facts(f),
        Some((f, Some(at))) => format!(
            "({} old) {}",
            ctx.age_of(at)
                .map(crate::util::format_age)
                .unwrap_or_else(|| "?".into()),
            key_facts(f)
        ),
        None => String::new(),
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Hosts in a maintenance window now (`[[maintenance]]`), with its reason.
fn in_maintenance(ctx: &Ctx) -> std::collections::BTreeMap<String, String> {
    let local = ctx.now.to_zoned(jiff::tz::TimeZone::system()).datetime();
    crate::watch::alerts::in_maintenance(&ctx.store.settings.maintenance, &ctx.store.hosts, local)
}

/// Every fact of a host and its full error, for Enter.
pub fn details(h: &Host, c: Option<&CheckResult>, ctx: &Ctx) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let mut l: Vec<Line<'static>> = Vec::new();
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<16}"), t.key()),
            Span::raw(v),
        ])
    };
    l.push(kv("name", h.name.clone()));
    l.push(kv(
        "address",
        match (&h.address, ctx.results.addresses.get(&h.name)) {
            (Some(a), _) => a.clone(),
            (None, Some(r)) => format!("{r} (the SSH config's, for {})", h.name),
            (None, None) => format!("{} (via the SSH config, not resolved yet)", h.name),
        },
    ));
    if let Some(p) = h.port {
        l.push(kv("port", p.to_string()));
    }
    for (k, v) in [
        ("user", &h.user),
        ("jump", &h.jump),
        ("role", &h.role),
        ("location", &h.location),
        ("vendor", &h.vendor),
        ("notes", &h.notes),
    ] {
        if let Some(v) = v {
            l.push(kv(k, v.clone()));
        }
    }
    if !h.tags.is_empty() {
        l.push(kv("tags", h.tags.join(", ")));
    }
    if let Some(d) = h.purchased {
        l.push(kv("purchased", d.to_string()));
    }
    if let Some(d) = h.warranty_until {
        l.push(kv("warranty until", d.to_string()));
    }
    if !h.hold.is_empty() {
        l.push(kv("hold", h.hold.join(", ")));
    }
    l.push(Line::raw(""));
    let Some(c) = c else {
        l.push(Line::raw("not checked yet (c checks it)"));
        return l;
    };
    l.push(Line::from(vec![
        Span::styled(format!("{:<16}", "status"), t.key()),
        Span::styled(c.status.label().to_string(), t.status(c.status)),
    ]));
    if let Some(m) = in_maintenance(ctx).get(&h.name) {
        l.push(kv(
            "maintenance",
            format!("in a window now ({m}): alerts muted"),
        ));
    }
    l.push(kv(
        "checked",
        format!(
            "{} ({}, took {} ms)",
            c.checked_at,
            ctx.age_label(Some(&c.checked_at)),
            c.elapsed_ms
        ),
    ));
    for r in &c.reasons {
        l.push(kv("reason", r.clone()));
    }
    if let Some(e) = &c.error {
        l.push(Line::styled("error:", t.error()));
        for line in e.lines() {
            l.push(Line::raw(format!("  {line}")));
        }
    }
    let unknown = || "unknown".to_string();
    if let Some((_, Some(at))) = c.known_facts() {
        l.push(Line::raw(""));
        l.push(Line::styled(
            format!(
                "last known facts, gathered {at} ({}); the last check did not reach the host:",
                ctx.age_label(Some(at))
            ),
            t.warn(),
        ));
    }
    if let Some((f, _)) = c.known_facts() {
        l.push(kv("os", f.os.clone().unwrap_or_else(unknown)));
        for family in crate::checks::family::FAMILIES {
            for (k, v) in (family.details)(f) {
                l.push(kv(k, v));
            }
        }
        // each filesystem's use over the last 30 days (the watch's history)
        if let Some(series) = ctx.results.history.get(&h.name) {
            for (mount, values) in series.iter().filter(|(_, v)| v.len() >= 2) {
                let lo = values.iter().cloned().fold(f64::MAX, f64::min);
                let hi = values.iter().cloned().fold(f64::MIN, f64::max);
                l.push(kv(
                    "30 days",
                    format!(
                        "{mount} {}  {lo:.0}-{hi:.0}%",
                        crate::watch::forecast::sparkline(values, 40)
                    ),
                ));
            }
        }
        for w in ctx.results.watch.iter().filter(|i| i.target.key == h.name) {
            l.push(kv("watch", format!("{}: {}", w.what, w.why)));
        }
        l.push(kv(
            "reboot required",
            match f.reboot_required {
                None => unknown(),
                Some(b) => if b { "yes" } else { "no" }.into(),
            },
        ));
        l.push(kv(
            "package manager",
            f.package_manager.clone().unwrap_or_else(unknown),
        ));
        if let Some(u) = &f.updates {
            let n = |x: Option<u32>| x.map(|v| v.to_string()).unwrap_or_else(unknown);
            l.push(kv(
                "updates",
                format!("{} pending, {} security", n(u.pending), n(u.security)),
            ));
        }
        if let Some(a) = f.metadata_age_s {
            l.push(kv("metadata age", crate::util::format_age(a)));
        }
    }
    l
}

fn host_form(req: Request, title: &str, h: &Host) -> Form {
    let date = |d: Option<crate::model::Date>| d.map(|d| d.to_string()).unwrap_or_default();
    Form::new(
        req,
        title,
        vec![
            Field::new("name", "Name", h.name.clone())
                .required()
                .check(validate::host_name),
            Field::new("address", "Address", opt(&h.address))
                .hint("default: the name, via the SSH config")
                .check(validate::address),
            Field::new(
                "port",
                "Port",
                h.port.map(|p| p.to_string()).unwrap_or_default(),
            )
            .check(validate::port),
            Field::new("user", "User", opt(&h.user)).check(validate::user),
            Field::new("jump", "Jump", opt(&h.jump))
                .hint("ProxyJump: host or user@host:port")
                .check(validate::jump),
            Field::new("tags", "Tags", h.tags.join(", "))
                .hint("comma separated")
                .check(form::words),
            Field::new("role", "Role", opt(&h.role)).check(form::line),
            Field::new("location", "Location", opt(&h.location)).check(form::line),
            Field::new("vendor", "Vendor", opt(&h.vendor)).check(form::line),
            Field::new("purchased", "Purchased", date(h.purchased))
                .hint("YYYY-MM-DD")
                .check(form::date),
            Field::new("warranty_until", "Warranty until", date(h.warranty_until))
                .hint("YYYY-MM-DD")
                .check(form::date),
            Field::new("hold", "Hold", h.hold.join(", "))
                .hint("packages never upgraded, comma separated")
                .check(form::words),
            Field::new("notes", "Notes", opt(&h.notes)).check(form::line),
        ],
    )
}

/// The host the form describes; what the form does not show (TLS ports
/// and names of the audit) is kept from `base`, the host being edited.
fn host_from(v: &FormValues, base: Option<&Host>) -> Host {
    Host {
        name: v.get("name").to_string(),
        address: v.opt("address"),
        port: v.port("port"),
        user: v.opt("user"),
        jump: v.opt("jump"),
        tags: v.list("tags"),
        role: v.opt("role"),
        location: v.opt("location"),
        vendor: v.opt("vendor"),
        purchased: v.date("purchased"),
        warranty_until: v.date("warranty_until"),
        hold: v.list("hold"),
        notes: v.opt("notes"),
        ..base.cloned().unwrap_or_default()
    }
}

impl Pane for HostsPane {
    fn id(&self) -> PaneId {
        PaneId::HOSTS
    }

    fn count(&self, ctx: &Ctx) -> String {
        let bad = ctx
            .store
            .hosts
            .iter()
            .filter(|h| {
                ctx.results
                    .checks
                    .get(&h.name)
                    .is_some_and(|c| c.status.severity() >= 2)
            })
            .count();
        if bad > 0 {
            format!("{} ({bad}!)", ctx.store.hosts.len())
        } else {
            ctx.store.hosts.len().to_string()
        }
    }

    fn refresh(&mut self, ctx: &Ctx) {
        self.list.set_rows(ctx.store.hosts.iter().map(|h| {
            let mut hay = format!(
                "{} {} {} {} {} {} {} {}",
                h.name,
                ctx.results.address_of(h).unwrap_or(""),
                h.tags.join(" "),
                opt(&h.role),
                opt(&h.location),
                opt(&h.vendor),
                opt(&h.notes),
                opt(&h.user)
            );
            if let Some(c) = ctx.results.checks.get(&h.name) {
                hay.push(' ');
                hay.push_str(c.status.label());
                hay.push(' ');
                hay.push_str(&reason(c));
                if let Some((f, _)) = c.known_facts() {
                    hay.push(' ');
                    hay.push_str(&key_facts(f));
                    hay.push(' ');
                    hay.push_str(f.kernel.as_deref().unwrap_or(""));
                }
            }
            // `@tag` in the filter matches these tokens only (as on the command line)
            for t in &h.tags {
                hay.push_str(" @");
                hay.push_str(t);
            }
            (h.name.clone(), hay)
        }));
        self.order(ctx);
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let wide = area.width >= 120;
        let (header, widths) = if wide {
            (
                vec![
                    "name", "address", "tags", "status", "checked", "reason", "facts",
                ],
                vec![
                    Constraint::Length(18),
                    Constraint::Length(18),
                    Constraint::Length(16),
                    Constraint::Length(7),
                    Constraint::Length(8),
                    Constraint::Percentage(30),
                    Constraint::Min(20),
                ],
            )
        } else {
            (
                vec![
                    "name",
                    "address",
                    "tags",
                    "status",
                    "checked",
                    "reason / facts",
                ],
                vec![
                    Constraint::Length(14),
                    Constraint::Length(14),
                    Constraint::Length(10),
                    Constraint::Length(7),
                    Constraint::Length(8),
                    Constraint::Min(10),
                ],
            )
        };
        let cols = table::column_widths(area, &widths);
        let maint = in_maintenance(ctx);
        let fit = |text: String, col: usize| match cols.get(col) {
            Some(&w) => ellipsize(&text, w),
            None => text,
        };
        table::draw(
            frame,
            area,
            t,
            TableSpec {
                title: "Hosts",
                header,
                widths,
                sort: Some(self.sort.name()),
                empty:
                    "no hosts yet: a adds one (or opsdeck host import --ssh-config ~/.ssh/config)",
            },
            &self.list,
            |i| {
                let h = &ctx.store.hosts[i];
                let c = ctx.results.checks.get(&h.name);
                let checking = ctx.results.checking.contains(&h.name);
                let status = if checking {
                    Span::styled("…", t.warn())
                } else {
                    match c {
                        Some(c) => Span::styled(c.status.label(), t.status(c.status)),
                        None => Span::styled("-", t.dim()),
                    }
                };
                let age = if checking {
                    "checking".to_string()
                } else {
                    c.and_then(|c| ctx.age_of(&c.checked_at))
                        .map(crate::util::format_age)
                        .unwrap_or_else(|| "never".into())
                };
                let mut why = c.map(reason).unwrap_or_default();
                if let Some(m) = maint.get(&h.name) {
                    why = if why.is_empty() {
                        format!("in maintenance ({m})")
                    } else {
                        format!("in maintenance ({m}) · {why}")
                    };
                }
                let facts = c.map(|c| known_facts_text(c, ctx)).unwrap_or_default();
                let mut cells = vec![
                    Cell::from(fit(h.name.clone(), 0)),
                    // from the SSH config (resolved in the background): dim
                    match (&h.address, ctx.results.addresses.get(&h.name)) {
                        (Some(a), _) => Cell::from(fit(a.clone(), 1)),
                        (None, Some(r)) => Cell::from(Span::styled(fit(r.clone(), 1), t.dim())),
                        (None, None) => Cell::from(""),
                    },
                    Cell::from(fit(h.tags.join(","), 2)),
                    Cell::from(Line::from(status)),
                    Cell::from(age),
                ];
                if wide {
                    cells.push(Cell::from(fit(why, 5)));
                    cells.push(Cell::from(fit(facts, 6)));
                } else {
                    let both = match (why.is_empty(), facts.is_empty()) {
                        (false, false) => format!("{why} | {facts}"),
                        (false, true) => why,
                        _ => facts,
                    };
                    cells.push(Cell::from(fit(both, 5)));
                }
                cells
            },
        );
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
        if self.list.handle_key(key) {
            return Some(vec![]);
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return None; // Ctrl-E is not `e`
        }
        let selected = || self.list.selected_row().map(|i| &ctx.store.hosts[i]);
        let need = |what: &str| vec![Effect::Error(format!("no host selected to {what}"))];
        Some(match key.code {
            KeyCode::Enter => match selected() {
                Some(h) => vec![Effect::Text {
                    title: format!("Host {}", h.name),
                    lines: details(h, ctx.results.checks.get(&h.name), ctx),
                }],
                None => need("show"),
            },
            KeyCode::Char('c') => {
                let t = self.list.targets();
                if t.is_empty() {
                    need("check")
                } else {
                    vec![Effect::Check(t)]
                }
            }
            KeyCode::Char('o') => {
                let msg = self.sort.advance();
                self.order(ctx);
                vec![Effect::Status(msg)]
            }
            KeyCode::Char('C') => vec![Effect::Check(
                ctx.store.hosts.iter().map(|h| h.name.clone()).collect(),
            )],
            KeyCode::Char('a') => vec![Effect::Form(host_form(
                Request::AddHost,
                "Add a host",
                &Host::default(),
            ))],
            KeyCode::Char('e') => match selected() {
                Some(h) => vec![Effect::Form(host_form(
                    Request::EditHost(h.name.clone()),
                    &format!("Edit host {}", h.name),
                    h,
                ))],
                None => need("edit"),
            },
            KeyCode::Char('d') => match selected() {
                Some(h) => {
                    let mut lines =
                        vec!["Its check results stay in state/ until the next sweep.".to_string()];
                    let jobs: Vec<&str> = ctx
                        .store
                        .backups
                        .iter()
                        .filter(|j| j.host == h.name)
                        .map(|j| j.name.as_str())
                        .collect();
                    if !jobs.is_empty() {
                        lines.push(format!(
                            "{} on it and will fail to check: {}",
                            crate::util::plural(jobs.len(), "backup job runs", "backup jobs run"),
                            ellipsize(&jobs.join(", "), 200)
                        ));
                    }
                    vec![Effect::confirm(
                        format!("Delete host {} from hosts.toml?", h.name),
                        lines,
                        Request::DeleteHost(h.name.clone()),
                    )]
                }
                None => need("delete"),
            },
            KeyCode::Char('s') => match selected() {
                Some(h) => vec![Effect::Ssh(h.name.clone())],
                None => need("ssh to"),
            },
            KeyCode::Char('E') => match selected() {
                Some(h) => vec![Effect::Editor {
                    kind: crate::ui::editor::Kind::Host,
                    name: h.name.clone(),
                }],
                None => need("edit"),
            },
            KeyCode::Char('r') => {
                let t = self.list.targets();
                if t.is_empty() {
                    need("run on")
                } else {
                    vec![Effect::Run(t)]
                }
            }
            KeyCode::Char('y') => match selected() {
                Some(h) => match ctx.results.address_of(h) {
                    Some(a) => vec![Effect::Copy {
                        what: format!("address of {}", h.name),
                        value: a.to_string(),
                    }],
                    None => vec![Effect::Error(format!(
                        "the address of {} is not known yet (the SSH config is being read); try again in a moment",
                        h.name
                    ))],
                },
                None => need("copy"),
            },
            _ => return None,
        })
    }

    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        match event {
            PaneEvent::Select(k) => {
                self.list.select_key(&k);
                vec![]
            }
            PaneEvent::Confirmed(Request::DeleteHost(name)) => {
                vec![Effect::store("host.rm", move |s| {
                    s.remove_host(&name)?;
                    Ok(format!("host {name} deleted"))
                })]
            }
            PaneEvent::FormSubmitted { req, values } => {
                let old = match req {
                    Request::AddHost => None,
                    Request::EditHost(old) => Some(old),
                    _ => return vec![],
                };
                let base = old.as_deref().and_then(|o| ctx.store.host(o));
                let host = host_from(&values, base);
                // names are unique whatever their case ("Web1" is web1)
                if let Err(e) = validate::unique_name(
                    "host",
                    ctx.store.hosts.iter().map(|h| h.name.as_str()),
                    &host.name,
                    old.as_deref(),
                ) {
                    return vec![Effect::FormErrors(vec![("name".into(), e)])];
                }
                let mut out = Vec::new();
                if let Some(v) = &host.vendor {
                    if ctx.store.vendor(v).is_none() {
                        out.push(Effect::Status(format!("note: no vendor named {v} (yet)")));
                    }
                }
                let name = host.name.clone();
                self.pending = Some(name.clone());
                out.push(match old {
                    None => Effect::store("host.add", move |s| {
                        s.add_host(host)?;
                        Ok(format!("host {name} added to hosts.toml"))
                    }),
                    Some(old) => Effect::store("host.edit", move |s| {
                        s.update_host(&old, host)?;
                        Ok(format!("host {name} saved"))
                    }),
                });
                out
            }
            PaneEvent::Saved { result } => {
                // the rows are the new ones now: select the host just saved
                if let (Some(name), Ok(())) = (self.pending.take(), result) {
                    self.list.select_key(&name);
                }
                vec![]
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
            ("Enter", "details"),
            ("Space", "mark"),
            ("c", "check"),
            ("a", "add"),
            ("e", "edit"),
            ("s", "ssh"),
            ("r", "run"),
        ]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![
            KeyHelp::new("Enter", "every fact and the full error of the host"),
            KeyHelp::new("c", "check the marked hosts, else the selected one"),
            KeyHelp::new("C", "check all hosts"),
            KeyHelp::new(
                "o",
                "sort by the next column: status (problems first), name, last check (oldest first), disk (fullest first), load per CPU",
            ),
            KeyHelp::new("a / e / d", "add / edit / delete a host (hosts.toml)"),
            KeyHelp::new(
                "E",
                "edit the host in $VISUAL / $EDITOR (checked before it is written; only changed keys change)",
            ),
            KeyHelp::new("s", "ssh to the host (the TUI comes back when it ends)"),
            KeyHelp::new(
                "r",
                "run a command on the marked hosts, else the selected one",
            ),
            KeyHelp::new(
                "y",
                "copy the address (OSC 52; in tmux: set -g set-clipboard on)",
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
