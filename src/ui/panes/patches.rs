//! Patches pane (placeholder by the TUI work: the patches work replaces it).
//! Shows state/patches.toml per host: manager, pending, security, reboot.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::Cell;
use ratatui::Frame;

use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

pub struct PatchesPane {
    list: ListView,
    hosts: Vec<String>,
}

impl PatchesPane {
    pub fn new() -> PatchesPane {
        PatchesPane {
            list: ListView::new(),
            hosts: Vec::new(),
        }
    }
}

impl Default for PatchesPane {
    fn default() -> Self {
        Self::new()
    }
}

fn opt_num(n: Option<usize>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
}

impl Pane for PatchesPane {
    fn id(&self) -> PaneId {
        PaneId::Patches
    }
    fn count(&self, ctx: &Ctx) -> String {
        let n = ctx
            .results
            .patches
            .values()
            .filter(|p| !p.updates.is_empty())
            .count();
        n.to_string()
    }
    fn refresh(&mut self, ctx: &Ctx) {
        self.hosts = ctx.store.hosts.iter().map(|h| h.name.clone()).collect();
        self.list.set_rows(ctx.store.hosts.iter().map(|h| {
            let p = ctx.results.patches.get(&h.name);
            let hay = format!(
                "{} {} {}",
                h.name,
                p.and_then(|p| p.package_manager.clone())
                    .unwrap_or_default(),
                p.map(|p| p
                    .updates
                    .iter()
                    .map(|u| u.package.as_str())
                    .collect::<Vec<_>>()
                    .join(" "))
                    .unwrap_or_default()
            );
            (h.name.clone(), hay)
        }));
    }
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        table::draw(
            frame,
            area,
            theme,
            TableSpec {
                title: "Patches",
                header: vec![
                    "host", "manager", "pending", "security", "reboot", "checked", "error",
                ],
                widths: vec![
                    Constraint::Length(16),
                    Constraint::Length(8),
                    Constraint::Length(7),
                    Constraint::Length(8),
                    Constraint::Length(7),
                    Constraint::Length(9),
                    Constraint::Min(10),
                ],
                empty: "no hosts yet (Hosts pane: a adds one)",
            },
            &self.list,
            |i| {
                let name = &self.hosts[i];
                let p = ctx.results.patches.get(name);
                let sec = p.map(|p| {
                    if p.updates.iter().any(|u| u.security.is_none()) {
                        None
                    } else {
                        Some(
                            p.updates
                                .iter()
                                .filter(|u| u.security == Some(true))
                                .count(),
                        )
                    }
                });
                vec![
                    Cell::from(name.clone()),
                    Cell::from(
                        p.and_then(|p| p.package_manager.clone())
                            .unwrap_or("?".into()),
                    ),
                    Cell::from(p.map(|p| p.updates.len().to_string()).unwrap_or("?".into())),
                    Cell::from(opt_num(sec.flatten())),
                    Cell::from(match p.and_then(|p| p.reboot_required) {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "?",
                    }),
                    Cell::from(ctx.age_label(p.and_then(|p| p.checked_at.as_deref()))),
                    Cell::from(p.and_then(|p| p.error.clone()).unwrap_or_default()),
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
            KeyCode::Enter => {
                let name = self.list.selected_key()?.to_string();
                let mut lines = Vec::new();
                match ctx.results.patches.get(&name) {
                    None => lines.push("not checked yet (c checks)".into()),
                    Some(p) => {
                        if let Some(e) = &p.error {
                            lines.push(format!("error: {e}"));
                        }
                        for u in &p.updates {
                            lines.push(format!(
                                "{}{} {} -> {}",
                                if u.security == Some(true) {
                                    "[security] "
                                } else {
                                    ""
                                },
                                u.package,
                                u.installed.clone().unwrap_or("?".into()),
                                u.candidate
                            ));
                        }
                        if p.updates.is_empty() && p.error.is_none() {
                            lines.push("no pending updates".into());
                        }
                    }
                }
                Some(vec![Effect::Text {
                    title: format!("Updates of {name}"),
                    lines: lines.into_iter().map(ratatui::text::Line::raw).collect(),
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
        vec![
            KeyHelp::new("Enter", "pending updates of the host"),
            KeyHelp::new("c / C", "check selected (or marked) / all hosts"),
        ]
    }
    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.list.set_filter(filter);
    }
    fn filter(&self) -> &str {
        self.list.filter()
    }
}
