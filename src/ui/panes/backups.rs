//! Backups pane (placeholder by the TUI work: the backups work replaces it).
//! Shows backups.toml with the latest results from state/backups.toml.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

pub struct BackupsPane {
    list: ListView,
}

impl BackupsPane {
    pub fn new() -> BackupsPane {
        BackupsPane {
            list: ListView::new(),
        }
    }
}

impl Default for BackupsPane {
    fn default() -> Self {
        Self::new()
    }
}

impl Pane for BackupsPane {
    fn id(&self) -> PaneId {
        PaneId::Backups
    }
    fn count(&self, ctx: &Ctx) -> String {
        ctx.store.backups.len().to_string()
    }
    fn refresh(&mut self, ctx: &Ctx) {
        self.list.set_rows(ctx.store.backups.iter().map(|b| {
            let hay = format!(
                "{} {} {:?} {} {}",
                b.name,
                b.host,
                b.kind,
                b.repository.clone().unwrap_or_default(),
                b.notes.clone().unwrap_or_default()
            );
            (b.name.clone(), hay)
        }));
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        table::draw(
            frame,
            area,
            theme,
            TableSpec {
                title: "Backups",
                header: vec![
                    "name",
                    "host",
                    "kind",
                    "status",
                    "latest",
                    "max age",
                    "restore test",
                ],
                widths: vec![
                    Constraint::Length(16),
                    Constraint::Length(12),
                    Constraint::Length(7),
                    Constraint::Length(7),
                    Constraint::Length(9),
                    Constraint::Length(7),
                    Constraint::Min(10),
                ],
                empty: "no backup jobs in backups.toml",
            },
            &self.list,
            |i| {
                let b = &ctx.store.backups[i];
                let r = ctx.results.backups.get(&b.name);
                let status = r.map(|r| r.status);
                vec![
                    Cell::from(b.name.clone()),
                    Cell::from(b.host.clone()),
                    Cell::from(crate::backups::kind_name(b.kind)),
                    Cell::from(Line::from(match status {
                        Some(s) => Span::styled(s.label(), theme.status(s)),
                        None => Span::raw("?"),
                    })),
                    Cell::from(
                        r.and_then(|r| r.age_s)
                            .map(|a| format!("{} ago", crate::util::format_age(a)))
                            .unwrap_or_else(|| "?".into()),
                    ),
                    Cell::from(b.max_age.clone()),
                    Cell::from(
                        b.last_restore_test
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "never".into()),
                    ),
                ]
            },
        );
    }
    fn handle_key(&mut self, key: KeyEvent, ctx: &Ctx) -> Option<Vec<Effect>> {
        if self.list.handle_key(key) {
            return Some(vec![]);
        }
        match key.code {
            KeyCode::Enter => {
                let i = self.list.selected_row()?;
                let b = &ctx.store.backups[i];
                let mut lines = vec![
                    format!("name:        {}", b.name),
                    format!("host:        {}", b.host),
                    format!("kind:        {}", crate::backups::kind_name(b.kind)),
                    format!("max age:     {}", b.max_age),
                ];
                if let Some(r) = ctx.results.backups.get(&b.name) {
                    lines.push(format!("status:      {}", r.status.label()));
                    lines.push(format!(
                        "latest:      {}",
                        r.latest.clone().unwrap_or("?".into())
                    ));
                    for why in &r.reasons {
                        lines.push(format!("reason:      {why}"));
                    }
                    if let Some(e) = &r.error {
                        lines.push(format!("error:       {e}"));
                    }
                } else {
                    lines.push("not checked yet".into());
                }
                Some(vec![Effect::Text {
                    title: format!("Backup {}", b.name),
                    lines: lines.into_iter().map(Line::raw).collect(),
                }])
            }
            _ => None,
        }
    }
    fn handle_event(&mut self, event: PaneEvent, _ctx: &Ctx) -> Vec<Effect> {
        if let PaneEvent::Select(k) = event {
            self.list.select_key(&k);
        }
        vec![]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![KeyHelp::new("Enter", "details of the backup job")]
    }
    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
    }
    fn filter(&self) -> &str {
        self.list.filter()
    }
}
