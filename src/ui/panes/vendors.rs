//! Vendors pane: the list, and the details of the selected vendor (every
//! field, contacts, tickets, the hosts it supports). Enter moves into the
//! details, where j/k pick a row: `y` copies its value (phone, e-mail,
//! account, ...), `e`/`d` edit/delete that contact or ticket, `x` closes a
//! ticket. `n` adds a contact, `o` opens a ticket, `a`/`e`/`d` on the list
//! add/edit/delete vendors. Everything is written through the store.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph};
use ratatui::Frame;

use crate::model::{Contact, Ticket, TicketStatus, Vendor};
use crate::ui::msg::Request;
use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::widgets::form::{self, Field, Form, FormValues};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

#[derive(Debug, Clone, PartialEq)]
pub enum RowKind {
    Heading,
    /// A field of the vendor (copyable when not empty).
    Field,
    Contact(usize),
    /// A value of a contact (phone / e-mail), copyable.
    ContactValue(usize),
    Ticket(usize),
    Host(String),
}

#[derive(Debug, Clone)]
pub struct DetailRow {
    pub kind: RowKind,
    pub label: String,
    pub value: String,
    /// Drawn as a warning (an ended contract, an open ticket).
    pub alert: bool,
}

/// What to select once a store write lands (the row does not exist
/// before the reload, so selecting it at submit time cannot work).
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Vendor(String),
    Contact(String, usize),
    Ticket(String, usize),
}

pub struct VendorsPane {
    list: ListView,
    /// In the details (true) or the list (false).
    detail: bool,
    detail_sel: usize,
    detail_scroll: std::cell::Cell<usize>,
    /// Rows of the details area at the last draw (PgUp/PgDn).
    detail_page: std::cell::Cell<usize>,
    pending: Option<Pending>,
}

impl VendorsPane {
    pub fn new() -> VendorsPane {
        VendorsPane {
            list: ListView::new(),
            detail: false,
            detail_sel: 0,
            detail_scroll: Default::default(),
            detail_page: std::cell::Cell::new(10),
            pending: None,
        }
    }

    fn selected<'a>(&self, ctx: &'a Ctx) -> Option<&'a Vendor> {
        self.list
            .selected_row()
            .and_then(|i| ctx.store.vendors.get(i))
    }
}

impl Default for VendorsPane {
    fn default() -> Self {
        Self::new()
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The hosts whose `vendor` is this one, in inventory order.
fn vendor_hosts<'a>(ctx: &'a Ctx, vendor: &str) -> Vec<&'a str> {
    ctx.store
        .hosts
        .iter()
        .filter(|h| h.vendor.as_deref() == Some(vendor))
        .map(|h| h.name.as_str())
        .collect()
}

/// The rows of a vendor's details.
pub fn detail_rows(v: &Vendor, ctx: &Ctx) -> Vec<DetailRow> {
    let mut rows = Vec::new();
    let f = |label: &str, value: String| DetailRow {
        alert: false,
        kind: RowKind::Field,
        label: label.into(),
        value,
    };
    rows.push(f("name", v.name.clone()));
    rows.push(f("category", opt(&v.category)));
    rows.push(f("account", opt(&v.account)));
    rows.push(f("phone", opt(&v.phone)));
    rows.push(f("e-mail", opt(&v.email)));
    rows.push(f("portal", opt(&v.portal)));
    rows.push(f("support hours", opt(&v.support_hours)));
    let end = match v.contract_end {
        None => String::new(),
        Some(d) => {
            let today = ctx.now.to_zoned(jiff::tz::TimeZone::UTC).date();
            let days = (d - today).get_days();
            if d < today {
                format!("{d} (ENDED)")
            } else {
                format!(
                    "{d} (in {} days)",
                    (d.since(today).map(|s| s.get_days()).unwrap_or(days))
                )
            }
        }
    };
    let ended = v
        .contract_end
        .is_some_and(|d| d < ctx.now.to_zoned(jiff::tz::TimeZone::UTC).date());
    rows.push(DetailRow {
        alert: ended,
        ..f("contract end", end)
    });
    rows.push(f("notes", opt(&v.notes)));
    rows.push(DetailRow {
        alert: false,
        kind: RowKind::Heading,
        label: format!("Contacts ({})", v.contacts.len()),
        value: String::new(),
    });
    for (i, c) in v.contacts.iter().enumerate() {
        rows.push(DetailRow {
            alert: false,
            kind: RowKind::Contact(i),
            label: "contact".into(),
            value: format!(
                "{}{}",
                c.name,
                c.role
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        });
        if let Some(p) = &c.phone {
            rows.push(DetailRow {
                alert: false,
                kind: RowKind::ContactValue(i),
                label: "  phone".into(),
                value: p.clone(),
            });
        }
        if let Some(e) = &c.email {
            rows.push(DetailRow {
                alert: false,
                kind: RowKind::ContactValue(i),
                label: "  e-mail".into(),
                value: e.clone(),
            });
        }
    }
    let open = v
        .tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Open)
        .count();
    rows.push(DetailRow {
        alert: false,
        kind: RowKind::Heading,
        label: format!("Tickets ({open} open, {} closed)", v.tickets.len() - open),
        value: String::new(),
    });
    for (i, t) in v.tickets.iter().enumerate() {
        let state = match t.status {
            TicketStatus::Open => format!(
                "OPEN{}",
                t.opened.map(|d| format!(" since {d}")).unwrap_or_default()
            ),
            TicketStatus::Closed => format!(
                "closed{}",
                t.closed.map(|d| format!(" {d}")).unwrap_or_default()
            ),
        };
        rows.push(DetailRow {
            alert: t.status == TicketStatus::Open,
            kind: RowKind::Ticket(i),
            label: t.reference.clone(),
            value: format!(
                "{state}: {}{}",
                t.subject,
                t.notes
                    .as_ref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            ),
        });
    }
    let hosts = vendor_hosts(ctx, &v.name);
    rows.push(DetailRow {
        alert: false,
        kind: RowKind::Heading,
        label: format!("Hosts ({})", hosts.len()),
        value: String::new(),
    });
    for h in hosts {
        rows.push(DetailRow {
            alert: false,
            kind: RowKind::Host(h.to_string()),
            label: "host".into(),
            value: h.to_string(),
        });
    }
    rows
}

fn selectable(r: &DetailRow) -> bool {
    !matches!(r.kind, RowKind::Heading)
}

/// The selectable row nearest to `i` (clamped into the rows), looking in
/// the direction of `forward` first, then the other way; 0 when none is.
pub fn snap(rows: &[DetailRow], i: usize, forward: bool) -> usize {
    if rows.is_empty() {
        return 0;
    }
    let i = i.min(rows.len() - 1);
    let ahead = |from: usize| (from..rows.len()).find(|&j| selectable(&rows[j]));
    let behind = |from: usize| (0..=from).rev().find(|&j| selectable(&rows[j]));
    let found = if forward {
        ahead(i).or_else(|| behind(i))
    } else {
        behind(i).or_else(|| ahead(i))
    };
    found.unwrap_or(0)
}

fn vendor_form(req: Request, title: &str, v: &Vendor) -> Form {
    Form::new(
        req,
        title,
        vec![
            Field::new("name", "Name", v.name.clone())
                .required()
                .check(form::line),
            Field::new("category", "Category", opt(&v.category))
                .hint("isp, hardware, software, ...")
                .check(form::line),
            Field::new("account", "Account", opt(&v.account)).check(form::line),
            Field::new("phone", "Phone", opt(&v.phone)).check(form::line),
            Field::new("email", "E-mail", opt(&v.email)).check(form::email),
            Field::new("portal", "Portal", opt(&v.portal))
                .hint("https://...")
                .check(form::line),
            Field::new("support_hours", "Support hours", opt(&v.support_hours)).check(form::line),
            Field::new(
                "contract_end",
                "Contract end",
                v.contract_end.map(|d| d.to_string()).unwrap_or_default(),
            )
            .hint("YYYY-MM-DD")
            .check(form::date),
            Field::new("notes", "Notes", opt(&v.notes)).check(form::line),
        ],
    )
}

fn contact_form(req: Request, title: &str, c: &Contact) -> Form {
    Form::new(
        req,
        title,
        vec![
            Field::new("name", "Name", c.name.clone())
                .required()
                .check(form::line),
            Field::new("role", "Role", opt(&c.role)).check(form::line),
            Field::new("phone", "Phone", opt(&c.phone)).check(form::line),
            Field::new("email", "E-mail", opt(&c.email)).check(form::email),
        ],
    )
}

fn ticket_form(req: Request, title: &str, t: &Ticket) -> Form {
    let mut fields = vec![
        Field::new("ref", "Reference", t.reference.clone())
            .hint("the vendor's case number; empty: generated")
            .check(form::line),
        Field::new("subject", "Subject", t.subject.clone())
            .required()
            .check(form::line),
        Field::new(
            "opened",
            "Opened",
            t.opened.map(|d| d.to_string()).unwrap_or_default(),
        )
        .hint("YYYY-MM-DD, empty: today")
        .check(form::date),
        Field::new("notes", "Notes", opt(&t.notes)).check(form::line),
    ];
    if t.status == TicketStatus::Closed {
        fields.insert(
            3,
            Field::new(
                "closed",
                "Closed",
                t.closed.map(|d| d.to_string()).unwrap_or_default(),
            )
            .hint("YYYY-MM-DD")
            .check(form::date),
        );
    }
    Form::new(req, title, fields)
}

/// A ticket's dates in order: opened not after today, closed not before
/// opened nor after today. The errors as (field, message).
fn ticket_date_errors(
    opened: Option<crate::model::Date>,
    closed: Option<crate::model::Date>,
    today: crate::model::Date,
) -> Vec<(String, String)> {
    let mut e = Vec::new();
    if let Some(o) = opened.filter(|o| *o > today) {
        e.push((
            "opened".to_string(),
            format!("{o} is in the future (today is {today})"),
        ));
    }
    if let Some(c) = closed {
        if c > today {
            e.push((
                "closed".to_string(),
                format!("{c} is in the future (today is {today})"),
            ));
        }
        if let Some(o) = opened.filter(|o| c < *o) {
            e.push((
                "closed".to_string(),
                format!("closed {c} before it was opened ({o})"),
            ));
        }
    }
    e
}

fn vendor_from(v: &FormValues, old: Option<&Vendor>) -> Vendor {
    Vendor {
        name: v.get("name").to_string(),
        category: v.opt("category"),
        account: v.opt("account"),
        phone: v.opt("phone"),
        email: v.opt("email"),
        portal: v.opt("portal"),
        support_hours: v.opt("support_hours"),
        contract_end: v.date("contract_end"),
        notes: v.opt("notes"),
        contacts: old.map(|o| o.contacts.clone()).unwrap_or_default(),
        tickets: old.map(|o| o.tickets.clone()).unwrap_or_default(),
    }
}

fn today(ctx: &Ctx) -> crate::model::Date {
    ctx.now.to_zoned(jiff::tz::TimeZone::system()).date()
}

impl VendorsPane {
    fn draw_details(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let title = if self.detail {
            " Details (j/k row, y copy, Esc back) "
        } else {
            " Details (Enter to pick a row) "
        };
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(t.border())
            .title(Span::styled(title, t.title()));
        let Some(v) = self.selected(ctx) else {
            frame.render_widget(Paragraph::new("").block(block), area);
            return;
        };
        let rows = detail_rows(v, ctx);
        let h = area.height.saturating_sub(1) as usize;
        self.detail_page.set(h.max(1));
        let sel = self.detail_sel.min(rows.len().saturating_sub(1));
        let mut off = self.detail_scroll.get();
        if sel < off {
            off = sel;
        } else if h > 0 && sel >= off + h {
            off = sel + 1 - h;
        }
        self.detail_scroll.set(off);
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .skip(off)
            .take(h.max(1))
            .map(|(i, r)| {
                let line = if r.kind == RowKind::Heading {
                    Line::styled(r.label.clone(), t.table_header())
                } else {
                    let value_style = if r.alert { t.warn() } else { t.text() };
                    Line::from(vec![
                        Span::styled(format!("{:<14} ", r.label), t.key()),
                        Span::styled(r.value.clone(), value_style),
                    ])
                };
                if self.detail && i == sel {
                    line.style(t.selected())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }

    fn detail_row(&self, ctx: &Ctx) -> Option<DetailRow> {
        let v = self.selected(ctx)?;
        detail_rows(v, ctx).get(self.detail_sel).cloned()
    }

    /// Move the detail selection by `delta` rows (a page, the ends: large
    /// deltas), never onto a heading.
    fn move_detail(&mut self, ctx: &Ctx, delta: isize) {
        let Some(v) = self.selected(ctx) else { return };
        let rows = detail_rows(v, ctx);
        if rows.is_empty() {
            self.detail_sel = 0;
            return;
        }
        let last = rows.len() as isize - 1;
        let target = (self.detail_sel as isize)
            .saturating_add(delta)
            .clamp(0, last) as usize;
        self.detail_sel = snap(&rows, target, delta > 0);
    }

    fn copy(&self, ctx: &Ctx) -> Vec<Effect> {
        let Some(v) = self.selected(ctx) else {
            return vec![Effect::Error("no vendor selected".into())];
        };
        if self.detail {
            let Some(r) = self.detail_row(ctx) else {
                return vec![];
            };
            let value = match &r.kind {
                RowKind::Contact(i) => v.contacts[*i]
                    .phone
                    .clone()
                    .or(v.contacts[*i].email.clone())
                    .unwrap_or_default(),
                RowKind::Ticket(i) => v.tickets[*i].reference.clone(),
                RowKind::Field if r.label == "contract end" => {
                    v.contract_end.map(|d| d.to_string()).unwrap_or_default()
                }
                _ => r.value.clone(),
            };
            return vec![Effect::Copy {
                what: format!("{} {}", v.name, r.label.trim()),
                value,
            }];
        }
        let (what, value) = if let Some(p) = &v.phone {
            ("phone", p.clone())
        } else if let Some(e) = &v.email {
            ("e-mail", e.clone())
        } else if let Some(a) = &v.account {
            ("account", a.clone())
        } else {
            ("phone", String::new())
        };
        vec![Effect::Copy {
            what: format!("{} {what}", v.name),
            value,
        }]
    }
}

impl Pane for VendorsPane {
    fn id(&self) -> PaneId {
        PaneId::VENDORS
    }

    fn count(&self, ctx: &Ctx) -> String {
        let open: usize = ctx
            .store
            .vendors
            .iter()
            .map(|v| {
                v.tickets
                    .iter()
                    .filter(|t| t.status == TicketStatus::Open)
                    .count()
            })
            .sum();
        if open > 0 {
            format!("{} ({open} open)", ctx.store.vendors.len())
        } else {
            ctx.store.vendors.len().to_string()
        }
    }

    fn refresh(&mut self, ctx: &Ctx) {
        self.list.set_rows(ctx.store.vendors.iter().map(|v| {
            let mut hay = format!(
                "{} {} {} {} {} {} {} {} {}",
                v.name,
                opt(&v.category),
                opt(&v.account),
                opt(&v.phone),
                opt(&v.email),
                opt(&v.portal),
                opt(&v.support_hours),
                v.contract_end.map(|d| d.to_string()).unwrap_or_default(),
                opt(&v.notes)
            );
            for c in &v.contacts {
                hay.push_str(&format!(
                    " {} {} {} {}",
                    c.name,
                    opt(&c.role),
                    opt(&c.phone),
                    opt(&c.email)
                ));
            }
            for t in &v.tickets {
                hay.push_str(&format!(" {} {} {}", t.reference, t.subject, opt(&t.notes)));
            }
            (v.name.clone(), hay)
        }));
        if self.selected(ctx).is_none() {
            self.detail = false;
        }
        if let Some(v) = self.selected(ctx) {
            let rows = detail_rows(v, ctx);
            self.detail_sel = snap(&rows, self.detail_sel, false);
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let (list_area, detail_area) = if area.width >= 110 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .spacing(1)
                    .areas(area);
            (a, b)
        } else {
            let [a, b] = Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(area);
            (a, b)
        };
        let widths = vec![
            Constraint::Length(18),
            Constraint::Length(10),
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Length(4),
        ];
        let cols = table::column_widths(list_area, &widths);
        table::draw(
            frame,
            list_area,
            t,
            TableSpec {
                title: "Vendors",
                header: vec!["name", "category", "phone", "contract", "open"],
                widths,
                sort: None,
                empty: "no vendors yet: a adds one",
            },
            &self.list,
            |i| {
                let v = &ctx.store.vendors[i];
                let open = v
                    .tickets
                    .iter()
                    .filter(|t| t.status == TicketStatus::Open)
                    .count();
                vec![
                    Cell::from(table::fit(&v.name, &cols, 0)),
                    Cell::from(table::fit(&opt(&v.category), &cols, 1)),
                    Cell::from(table::fit(&opt(&v.phone), &cols, 2)),
                    Cell::from(v.contract_end.map(|d| d.to_string()).unwrap_or_default()),
                    Cell::from(if open > 0 {
                        open.to_string()
                    } else {
                        String::new()
                    }),
                ]
            },
        );
        self.draw_details(frame, detail_area, ctx);
    }

    fn wants_esc(&self) -> bool {
        self.detail
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
        if !self.detail && self.list.handle_key(key) {
            self.detail_sel = 0;
            return Some(vec![]);
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            // Ctrl-D/Ctrl-U: half pages in the details; no other chord here
            // (Ctrl-D must never mean `d`, delete).
            let half = (self.detail_page.get() / 2).max(1) as isize;
            return match key.code {
                KeyCode::Char('d') if self.detail => {
                    self.move_detail(ctx, half);
                    Some(vec![])
                }
                KeyCode::Char('u') if self.detail => {
                    self.move_detail(ctx, -half);
                    Some(vec![])
                }
                _ => None,
            };
        }
        let v = self.selected(ctx).cloned();
        let need = || Some(vec![Effect::Error("no vendor selected".into())]);
        match key.code {
            KeyCode::Char('a') if !self.detail => Some(vec![Effect::Form(vendor_form(
                Request::AddVendor,
                "Add a vendor",
                &Vendor::default(),
            ))]),
            KeyCode::Char('y') => Some(self.copy(ctx)),
            KeyCode::Char('E') => match v {
                // the whole vendor, its contacts and tickets included
                Some(v) => Some(vec![Effect::Editor {
                    kind: crate::ui::editor::Kind::Vendor,
                    name: v.name.clone(),
                }]),
                None => need(),
            },
            KeyCode::Char('n') => match v {
                Some(v) => Some(vec![Effect::Form(contact_form(
                    Request::AddContact(v.name.clone()),
                    &format!("New contact at {}", v.name),
                    &Contact::default(),
                ))]),
                None => need(),
            },
            KeyCode::Char('o') => match v {
                Some(v) => Some(vec![Effect::Form(ticket_form(
                    Request::AddTicket(v.name.clone()),
                    &format!("Open a ticket with {}", v.name),
                    &Ticket::default(),
                ))]),
                None => need(),
            },
            _ if !self.detail => {
                let v = v?;
                match key.code {
                    KeyCode::Enter => {
                        self.detail = true;
                        self.detail_sel = 0;
                        Some(vec![])
                    }
                    KeyCode::Char('e') => Some(vec![Effect::Form(vendor_form(
                        Request::EditVendor(v.name.clone()),
                        &format!("Edit vendor {}", v.name),
                        &v,
                    ))]),
                    KeyCode::Char('d') => {
                        let mut lines = vec![format!(
                            "{}, {} go with it.",
                            crate::util::plural(v.contacts.len(), "contact", "contacts"),
                            crate::util::plural(v.tickets.len(), "ticket", "tickets")
                        )];
                        let hosts = vendor_hosts(ctx, &v.name);
                        if !hosts.is_empty() {
                            lines.push(format!(
                                "{} it as their vendor and keep that name: {}",
                                crate::util::plural(hosts.len(), "host names", "hosts name"),
                                crate::ui::widgets::table::ellipsize(&hosts.join(", "), 200)
                            ));
                        }
                        Some(vec![Effect::confirm(
                            format!("Delete vendor {} with its contacts and tickets?", v.name),
                            lines,
                            Request::DeleteVendor(v.name.clone()),
                        )])
                    }
                    _ => None,
                }
            }
            _ => {
                // in the details
                let v = v?;
                match key.code {
                    KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => {
                        self.detail = false;
                        Some(vec![])
                    }
                    KeyCode::Char('j') | KeyCode::Down => {
                        self.move_detail(ctx, 1);
                        Some(vec![])
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        self.move_detail(ctx, -1);
                        Some(vec![])
                    }
                    KeyCode::Char('g') | KeyCode::Home => {
                        self.move_detail(ctx, isize::MIN / 2);
                        Some(vec![])
                    }
                    KeyCode::Char('G') | KeyCode::End => {
                        self.move_detail(ctx, isize::MAX / 2);
                        Some(vec![])
                    }
                    KeyCode::PageDown => {
                        self.move_detail(ctx, self.detail_page.get() as isize);
                        Some(vec![])
                    }
                    KeyCode::PageUp => {
                        self.move_detail(ctx, -(self.detail_page.get() as isize));
                        Some(vec![])
                    }
                    _ => {
                        let row = self.detail_row(ctx)?;
                        self.detail_key(key, &v, row, ctx)
                    }
                }
            }
        }
    }

    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        match event {
            PaneEvent::Select(k) => {
                self.list.select_key(&k);
                self.detail = false;
                vec![]
            }
            PaneEvent::SelectTicket(k, reference) => {
                self.detail = false;
                if !self.list.select_key(&k) {
                    return vec![];
                }
                let Some(v) = self.selected(ctx) else {
                    return vec![];
                };
                let rows = detail_rows(v, ctx);
                let found = rows.iter().position(|r| match r.kind {
                    RowKind::Ticket(i) => {
                        v.tickets.get(i).is_some_and(|t| t.reference == reference)
                    }
                    _ => false,
                });
                if let Some(pos) = found {
                    self.detail = true;
                    self.detail_sel = pos;
                }
                vec![]
            }
            PaneEvent::Confirmed(req) => self.confirmed(req, ctx),
            PaneEvent::FormSubmitted { req, values } => self.submitted(req, &values, ctx),
            PaneEvent::Saved { result, .. } => {
                // the store (and so the rows) are new now: select what was saved
                if let (Some(p), Ok(())) = (self.pending.take(), result) {
                    self.select_saved(p, ctx);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn marks(&self) -> usize {
        self.list.marks().len()
    }
    fn clear_marks(&mut self) {
        self.list.clear_marks();
    }
    fn mark_shown(&mut self) -> usize {
        self.list.mark_visible()
    }
    fn hints(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("Enter", "details"),
            ("a", "add"),
            ("e", "edit"),
            ("o", "ticket"),
            ("y", "copy"),
        ]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![
            KeyHelp::new(
                "Enter",
                "into the details (rows: fields, contacts, tickets, hosts)",
            ),
            KeyHelp::new("Esc", "back from the details to the list"),
            KeyHelp::new("a / e / d", "add / edit / delete a vendor (list)"),
            KeyHelp::new("y", "copy (OSC 52): the phone (list), the selected value (details); in tmux: set -g set-clipboard on"),
            KeyHelp::new(
                "E",
                "edit the vendor with its contacts and tickets in $VISUAL / $EDITOR (checked before it is written)",
            ),
            KeyHelp::new("n", "new contact"),
            KeyHelp::new("o", "open a ticket"),
            KeyHelp::new(
                "e / d (details)",
                "edit / delete the selected contact or ticket",
            ),
            KeyHelp::new(
                "x (details)",
                "close the selected ticket today, or reopen a closed one (asks)",
            ),
            KeyHelp::new("Enter (details)", "on a host: go to it in Hosts"),
        ]
    }

    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
        self.detail = false;
        self.detail_sel = 0;
    }

    fn filter(&self) -> &str {
        self.list.filter()
    }
}

impl VendorsPane {
    fn detail_key(
        &mut self,
        key: KeyEvent,
        v: &Vendor,
        row: DetailRow,
        ctx: &Ctx,
    ) -> Option<Vec<Effect>> {
        let name = v.name.clone();
        match (key.code, &row.kind) {
            (KeyCode::Enter, RowKind::Host(h)) => Some(vec![Effect::Goto {
                pane: PaneId::HOSTS,
                key: Some(h.clone()),
                ticket: None,
            }]),
            (KeyCode::Char('e'), RowKind::Contact(i) | RowKind::ContactValue(i)) => {
                Some(vec![Effect::Form(contact_form(
                    Request::EditContact(name.clone(), *i),
                    &format!("Edit contact at {name}"),
                    &v.contacts[*i],
                ))])
            }
            (KeyCode::Char('e'), RowKind::Ticket(i)) => Some(vec![Effect::Form(ticket_form(
                Request::EditTicket(name.clone(), *i),
                &format!("Edit ticket {}", v.tickets[*i].reference),
                &v.tickets[*i],
            ))]),
            (KeyCode::Char('e'), _) => Some(vec![Effect::Form(vendor_form(
                Request::EditVendor(name.clone()),
                &format!("Edit vendor {name}"),
                v,
            ))]),
            (KeyCode::Char('d'), RowKind::Contact(i) | RowKind::ContactValue(i)) => {
                Some(vec![Effect::confirm(
                    format!("Delete contact {} of {name}?", v.contacts[*i].name),
                    vec![],
                    Request::DeleteContact(name.clone(), *i),
                )])
            }
            (KeyCode::Char('d'), RowKind::Ticket(i)) => Some(vec![Effect::confirm(
                format!("Delete ticket {} of {name}?", v.tickets[*i].reference),
                vec!["Closing it (x) keeps the record; deleting removes it.".into()],
                Request::DeleteTicket(name.clone(), *i),
            )]),
            (KeyCode::Char('d'), _) => Some(vec![Effect::Error(
                "pick a contact or ticket to delete (Esc, then d deletes the vendor)".into(),
            )]),
            (KeyCode::Char('x'), RowKind::Ticket(i)) => {
                let t = &v.tickets[*i];
                let date = today(ctx);
                let about = vec![
                    format!("subject: {}", t.subject),
                    format!(
                        "opened:  {}",
                        t.opened.map(|d| d.to_string()).unwrap_or("?".into())
                    ),
                ];
                if t.status == TicketStatus::Closed {
                    return Some(vec![Effect::confirm(
                        format!(
                            "Reopen ticket {} of {name} (closed {})?",
                            t.reference,
                            t.closed.map(|d| d.to_string()).unwrap_or("?".into())
                        ),
                        about,
                        Request::ReopenTicket(name.clone(), *i),
                    )]);
                }
                if let Some(o) = t.opened.filter(|o| *o > date) {
                    return Some(vec![Effect::Error(format!(
                        "ticket {} was opened {o}, after today: correct its opened date first (e)",
                        t.reference
                    ))]);
                }
                Some(vec![Effect::confirm(
                    format!("Close ticket {} of {name} today ({date})?", t.reference),
                    about,
                    Request::CloseTicket(name.clone(), *i),
                )])
            }
            (KeyCode::Char('x'), _) => {
                Some(vec![Effect::Error("x closes a ticket: pick one".into())])
            }
            _ => None,
        }
    }

    /// After a save: the vendor (list), or its contact / ticket (details).
    fn select_saved(&mut self, p: Pending, ctx: &Ctx) {
        let (name, want) = match &p {
            Pending::Vendor(n) => (n, None),
            Pending::Contact(n, i) => (n, Some(RowKind::Contact(*i))),
            Pending::Ticket(n, i) => (n, Some(RowKind::Ticket(*i))),
        };
        if !self.list.select_key(name) {
            return;
        }
        let Some(want) = want else {
            return;
        };
        let Some(v) = self.selected(ctx) else { return };
        let rows = detail_rows(v, ctx);
        // a ticket added with an empty reference got one generated: the
        // new ticket is the last one then
        let pos = rows.iter().position(|r| r.kind == want).or_else(|| {
            matches!(want, RowKind::Ticket(_))
                .then(|| {
                    rows.iter()
                        .rposition(|r| matches!(r.kind, RowKind::Ticket(_)))
                })
                .flatten()
        });
        if let Some(pos) = pos {
            self.detail = true;
            self.detail_sel = pos;
        }
    }

    fn confirmed(&mut self, req: Request, ctx: &Ctx) -> Vec<Effect> {
        let (name, i) = match &req {
            Request::DeleteVendor(name) => {
                let name = name.clone();
                self.detail = false;
                return vec![Effect::store("vendor.rm", move |s| {
                    s.remove_vendor(&name)?;
                    Ok(format!("vendor {name} deleted"))
                })];
            }
            Request::CloseTicket(n, i)
            | Request::ReopenTicket(n, i)
            | Request::DeleteContact(n, i)
            | Request::DeleteTicket(n, i) => (n.clone(), *i),
            _ => return vec![],
        };
        let Some(mut v) = ctx.store.vendor(&name).cloned() else {
            return vec![Effect::Error(format!("no vendor named {name}"))];
        };
        match req {
            Request::CloseTicket(..) if i < v.tickets.len() => {
                let reference = v.tickets[i].reference.clone();
                let date = today(ctx);
                vec![Effect::store("ticket.close", move |s| {
                    s.close_ticket(&name, &reference, date)?;
                    Ok(format!(
                        "ticket {reference} of {name} closed (x on it reopens it)"
                    ))
                })]
            }
            Request::ReopenTicket(..) if i < v.tickets.len() => {
                let t = &mut v.tickets[i];
                t.status = TicketStatus::Open;
                t.closed = None;
                let reference = t.reference.clone();
                let subject = t.subject.clone();
                self.pending = Some(Pending::Ticket(name.clone(), i));
                vec![Effect::store("ticket.reopen", move |s| {
                    s.update_vendor(&name, v)?;
                    let mut e = crate::store::JournalEntry::now("ticket.reopen", &name, "ok");
                    e.details.push(format!("{reference}: {subject}"));
                    s.journal(&e)?;
                    Ok(format!("ticket {reference} of {name} reopened"))
                })]
            }
            Request::DeleteContact(..) if i < v.contacts.len() => {
                let c = v.contacts.remove(i);
                vec![Effect::store("contact.rm", move |s| {
                    s.update_vendor(&name, v)?;
                    Ok(format!("contact {} of {name} deleted", c.name))
                })]
            }
            Request::DeleteTicket(..) if i < v.tickets.len() => {
                let t = v.tickets.remove(i);
                vec![Effect::store("ticket.rm", move |s| {
                    s.update_vendor(&name, v)?;
                    Ok(format!("ticket {} of {name} deleted", t.reference))
                })]
            }
            _ => vec![],
        }
    }

    fn submitted(&mut self, req: Request, values: &FormValues, ctx: &Ctx) -> Vec<Effect> {
        if matches!(req, Request::AddVendor | Request::EditVendor(_)) {
            let old_name = match &req {
                Request::EditVendor(old) => Some(old.clone()),
                _ => None,
            };
            let old = old_name.as_deref().and_then(|n| ctx.store.vendor(n));
            let vendor = vendor_from(values, old);
            // "contoso isp" beside "Contoso ISP" is the same vendor twice
            if let Err(e) = crate::ui::validate::unique_name(
                "vendor",
                ctx.store.vendors.iter().map(|v| v.name.as_str()),
                &vendor.name,
                old_name.as_deref(),
            ) {
                return vec![Effect::FormErrors(vec![("name".into(), e)])];
            }
            let name = vendor.name.clone();
            self.pending = Some(Pending::Vendor(name.clone()));
            return vec![match old_name {
                None => Effect::store("vendor.add", move |s| {
                    s.add_vendor(vendor)?;
                    Ok(format!("vendor {name} added to vendors.toml"))
                }),
                Some(old) => Effect::store("vendor.edit", move |s| {
                    s.update_vendor(&old, vendor)?;
                    Ok(format!("vendor {name} saved"))
                }),
            }];
        }
        let (name, idx) = match &req {
            Request::AddContact(n) | Request::AddTicket(n) => (n.clone(), None),
            Request::EditContact(n, i) | Request::EditTicket(n, i) => (n.clone(), Some(*i)),
            _ => return vec![],
        };
        let Some(mut v) = ctx.store.vendor(&name).cloned() else {
            return vec![Effect::Error(format!("no vendor named {name}"))];
        };
        match req {
            Request::AddContact(_) | Request::EditContact(..) => {
                let c = Contact {
                    name: values.get("name").to_string(),
                    role: values.opt("role"),
                    phone: values.opt("phone"),
                    email: values.opt("email"),
                };
                let label = c.name.clone();
                let at = match idx {
                    Some(i) if i < v.contacts.len() => {
                        v.contacts[i] = c;
                        i
                    }
                    _ => {
                        v.contacts.push(c);
                        v.contacts.len() - 1
                    }
                };
                self.pending = Some(Pending::Contact(name.clone(), at));
                let what = if idx.is_some() {
                    "contact.edit"
                } else {
                    "contact.add"
                };
                vec![Effect::store(what, move |s| {
                    s.update_vendor(&name, v)?;
                    Ok(format!("contact {label} of {name} saved"))
                })]
            }
            Request::AddTicket(_) => {
                let reference = values.get("ref").to_string();
                if !reference.is_empty() && v.tickets.iter().any(|t| t.reference == reference) {
                    return vec![Effect::FormErrors(vec![(
                        "ref".into(),
                        format!("{name} has a ticket {reference} already"),
                    )])];
                }
                let opened = values.date("opened").unwrap_or_else(|| today(ctx));
                let errors = ticket_date_errors(Some(opened), None, today(ctx));
                if !errors.is_empty() {
                    return vec![Effect::FormErrors(errors)];
                }
                let t = Ticket {
                    reference,
                    subject: values.get("subject").to_string(),
                    status: TicketStatus::Open,
                    opened: Some(opened),
                    closed: None,
                    notes: values.opt("notes"),
                };
                self.pending = Some(Pending::Ticket(name.clone(), v.tickets.len()));
                vec![Effect::store("ticket.add", move |s| {
                    let t = s.add_ticket(&name, t)?;
                    Ok(format!("ticket {} opened with {name}", t.reference))
                })]
            }
            Request::EditTicket(..) => {
                let Some(i) = idx.filter(|&i| i < v.tickets.len()) else {
                    return vec![];
                };
                let reference = values.get("ref").to_string();
                if reference.is_empty() {
                    return vec![Effect::FormErrors(vec![(
                        "ref".into(),
                        "Reference is required".into(),
                    )])];
                }
                if v.tickets
                    .iter()
                    .enumerate()
                    .any(|(j, t)| j != i && t.reference == reference)
                {
                    return vec![Effect::FormErrors(vec![(
                        "ref".into(),
                        format!("{name} has a ticket {reference} already"),
                    )])];
                }
                let t = &mut v.tickets[i];
                let opened = values.date("opened").or(t.opened);
                let closed = if t.status == TicketStatus::Closed {
                    values.date("closed").or(t.closed)
                } else {
                    None
                };
                let errors = ticket_date_errors(opened, closed, today(ctx));
                if !errors.is_empty() {
                    return vec![Effect::FormErrors(errors)];
                }
                t.reference = reference.clone();
                t.subject = values.get("subject").to_string();
                t.opened = opened;
                t.closed = closed;
                t.notes = values.opt("notes");
                self.pending = Some(Pending::Ticket(name.clone(), i));
                vec![Effect::store("ticket.edit", move |s| {
                    s.update_vendor(&name, v)?;
                    Ok(format!("ticket {reference} of {name} saved"))
                })]
            }
            _ => vec![],
        }
    }
}
