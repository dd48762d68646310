//! The run view (`r`): results per host filling in live, identical outputs
//! grouped (crate::fleet::group), a summary line, scrollable.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::fleet::{self, HostRun, Outcome};
use crate::ui::pane::JobId;
use crate::ui::theme::Theme;
use crate::ui::widgets::popup;

pub struct RunView {
    /// 0: not started yet (waiting for the dangerous-command confirm).
    pub id: u64,
    pub command: String,
    pub hosts: Vec<String>,
    pub results: Vec<HostRun>,
    pub done: bool,
    pub job: Option<JobId>,
    pub scroll: u16,
    /// Host → its place in `hosts`.
    order: std::collections::HashMap<String, usize>,
}

impl RunView {
    pub fn new(id: u64, command: String, hosts: Vec<String>) -> RunView {
        RunView {
            id,
            command,
            hosts,
            results: Vec::new(),
            done: false,
            job: None,
            scroll: 0,
            order: Default::default(),
        }
    }

    /// A host's result (replaces an earlier one of that host: a retry).
    /// Kept in the order of the hosts as given, so groups do not jump
    /// around; O(log n) to find the place (a 1,000-host run adds 1,000).
    pub fn add(&mut self, r: HostRun) {
        if self.order.len() != self.hosts.len() {
            self.order = self
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| (h.clone(), i))
                .collect();
        }
        let pos = |h: &str| self.order.get(h).copied().unwrap_or(usize::MAX);
        let at = pos(&r.host);
        let i = self.results.partition_point(|x| pos(&x.host) < at);
        if self.results.get(i).is_some_and(|x| x.host == r.host) {
            self.results[i] = r;
        } else if let Some(j) = self.results.iter().position(|x| x.host == r.host) {
            // a host outside the list (never expected): replace in place
            self.results[j] = r;
        } else {
            self.results.insert(i, r);
        }
    }

    /// True: close the view.
    pub fn handle_key(&mut self, key: KeyEvent, page: u16) -> bool {
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return true,
            KeyCode::Char('j') | KeyCode::Down => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.scroll = self.scroll.saturating_add(page)
            }
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            _ => {}
        }
        false
    }

    pub fn lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        let s = fleet::Summary::of(&self.results);
        lines.push(Line::from(vec![
            Span::styled("$ ", theme.key()),
            Span::styled(self.command.clone(), theme.title()),
        ]));
        let state = if self.done {
            "done".to_string()
        } else {
            format!("{}/{} done", self.results.len(), self.hosts.len())
        };
        lines.push(Line::raw(format!("{state} · {}", s.line())));
        let waiting: Vec<&str> = self
            .hosts
            .iter()
            .filter(|h| !self.results.iter().any(|r| &r.host == *h))
            .map(String::as_str)
            .collect();
        if !waiting.is_empty() && !self.done {
            lines.push(Line::styled(
                format!("waiting: {}", waiting.join(", ")),
                theme.dim(),
            ));
        }
        for g in fleet::group(&self.results) {
            lines.push(Line::raw(""));
            let style = match g.result.outcome {
                Outcome::Ok => theme.ok(),
                Outcome::Failed => theme.warn(),
                Outcome::Timeout | Outcome::Unreachable => theme.crit(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("── {} ", g.title()), theme.title()),
                Span::styled(format!("[{}]", g.status_text()), style),
            ]));
            for l in g.display_stdout().lines() {
                lines.push(Line::raw(l.to_string()));
            }
            for l in g.display_stderr().lines() {
                lines.push(Line::styled(format!("stderr: {l}"), theme.dim()));
            }
        }
        lines
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rect = popup::centered(area, area.width, area.height);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.popup_border())
            .title(Span::styled(
                " Run (j/k scroll, Esc closes/cancels) ",
                theme.title(),
            ));
        frame.render_widget(
            Paragraph::new(self.lines(theme))
                .block(block)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .scroll((self.scroll, 0)),
            rect,
        );
    }
}
