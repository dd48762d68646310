//! Overview pane (placeholder by the TUI work: the lifecycle work replaces
//! it with the ranked "what needs me today" list). Lists hosts that are not
//! OK, backups that are not OK and open vendor tickets; Enter jumps to the row.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::model::{Status, TicketStatus};
use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

#[derive(Debug, Clone)]
struct Item {
    status: Status,
    pane: PaneId,
    key: String,
    what: String,
    why: String,
}

pub struct OverviewPane {
    list: ListView,
    items: Vec<Item>,
}

impl OverviewPane {
    pub fn new() -> OverviewPane {
        OverviewPane {
            list: ListView::new(),
            items: Vec::new(),
        }
    }
}

impl Default for OverviewPane {
    fn default() -> Self {
        Self::new()
    }
}

fn items(ctx: &Ctx) -> Vec<Item> {
    let mut v = Vec::new();
    for h in &ctx.store.hosts {
        if let Some(c) = ctx.results.checks.get(&h.name) {
            if c.status != Status::Ok {
                let why = c.error.clone().unwrap_or_else(|| c.reasons.join("; "));
                v.push(Item {
                    status: c.status,
                    pane: PaneId::Hosts,
                    key: h.name.clone(),
                    what: format!("host {}", h.name),
                    why,
                });
            }
        }
    }
    for b in &ctx.store.backups {
        if let Some(r) = ctx.results.backups.get(&b.name) {
            if r.status != Status::Ok {
                v.push(Item {
                    status: r.status,
                    pane: PaneId::Backups,
                    key: b.name.clone(),
                    what: format!("backup {}", b.name),
                    why: r.error.clone().unwrap_or_else(|| r.reasons.join("; ")),
                });
            }
        }
    }
    for vd in &ctx.store.vendors {
        for t in vd.tickets.iter().filter(|t| t.status == TicketStatus::Open) {
            v.push(Item {
                status: Status::Warn,
                pane: PaneId::Vendors,
                key: vd.name.clone(),
                what: format!("ticket {} at {}", t.reference, vd.name),
                why: format!(
                    "open{}: {}",
                    t.opened.map(|d| format!(" since {d}")).unwrap_or_default(),
                    t.subject
                ),
            });
        }
    }
    v.sort_by_key(|i| std::cmp::Reverse(i.status.severity()));
    v
}

impl Pane for OverviewPane {
    fn id(&self) -> PaneId {
        PaneId::Overview
    }
    fn count(&self, _ctx: &Ctx) -> String {
        self.items.len().to_string()
    }
    fn refresh(&mut self, ctx: &Ctx) {
        self.items = items(ctx);
        self.list
            .set_rows(self.items.iter().enumerate().map(|(i, it)| {
                (
                    format!("{i}:{}", it.what),
                    format!("{} {} {}", it.status.label(), it.what, it.why),
                )
            }));
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        table::draw(
            frame,
            area,
            theme,
            TableSpec {
                title: "What needs you",
                header: vec!["status", "what", "why"],
                widths: vec![
                    Constraint::Length(7),
                    Constraint::Length(28),
                    Constraint::Min(10),
                ],
                empty: "nothing needs you (as far as the last checks know; C on Hosts checks all)",
            },
            &self.list,
            |i| {
                let it = &self.items[i];
                vec![
                    Cell::from(Line::from(Span::styled(
                        it.status.label(),
                        theme.status(it.status),
                    ))),
                    Cell::from(it.what.clone()),
                    Cell::from(it.why.clone()),
                ]
            },
        );
    }
    fn handle_key(&mut self, key: KeyEvent, _ctx: &Ctx) -> Option<Vec<Effect>> {
        if self.list.handle_key(key) {
            return Some(vec![]);
        }
        match key.code {
            KeyCode::Enter => {
                let it = &self.items[self.list.selected_row()?];
                Some(vec![Effect::Goto {
                    pane: it.pane,
                    key: Some(it.key.clone()),
                }])
            }
            _ => None,
        }
    }
    fn handle_event(&mut self, _event: PaneEvent, _ctx: &Ctx) -> Vec<Effect> {
        vec![]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![KeyHelp::new("Enter", "go to the item's row in its pane")]
    }
    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
    }
    fn filter(&self) -> &str {
        self.list.filter()
    }
}
