//! `r`: the prompt of a command to run on the selected (or marked) hosts,
//! with the history of this session (Up/Down).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::ui::theme::Theme;
use crate::ui::widgets::popup;

#[derive(Debug)]
pub struct RunPrompt {
    pub hosts: Vec<String>,
    pub input: String,
    /// Where Up/Down is in the history (None: the line being typed).
    history_pos: Option<usize>,
}

/// What a key did at the prompt.
pub enum PromptKey {
    Cancel,
    Stay,
    /// Enter on a command: run it (added to the history by the caller).
    Run(String),
}

impl RunPrompt {
    pub fn new(hosts: Vec<String>) -> RunPrompt {
        RunPrompt {
            hosts,
            input: String::new(),
            history_pos: None,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent, history: &[String]) -> PromptKey {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return PromptKey::Cancel,
            KeyCode::Enter if !self.input.trim().is_empty() => {
                return PromptKey::Run(self.input.trim().to_string());
            }
            KeyCode::Up if !history.is_empty() => {
                let p = match self.history_pos {
                    None => history.len() - 1,
                    Some(p) => p.saturating_sub(1),
                };
                self.history_pos = Some(p);
                self.input = history[p].clone();
            }
            KeyCode::Down => match self.history_pos {
                Some(p) if p + 1 < history.len() => {
                    self.history_pos = Some(p + 1);
                    self.input = history[p + 1].clone();
                }
                _ => {
                    self.history_pos = None;
                    self.input.clear();
                }
            },
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char('u') if ctrl => self.input.clear(),
            KeyCode::Char(c) if !ctrl => self.input.push(c),
            _ => {}
        }
        PromptKey::Stay
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let wide = area.width.saturating_sub(4).min(100);
        let mut lines = vec![Line::raw(format!(
            "on {}: {}",
            crate::util::plural(self.hosts.len(), "host", "hosts"),
            crate::ui::widgets::table::ellipsize(&self.hosts.join(", "), 200)
        ))];
        lines.push(Line::from(vec![
            Span::styled("$ ", theme.key()),
            Span::styled(self.input.clone(), theme.input()),
            Span::styled(" ", theme.selected()),
        ]));
        let footer = Line::from(vec![
            Span::styled("Enter", theme.key()),
            Span::raw(" run  "),
            Span::styled("↑/↓", theme.key()),
            Span::raw(" history  "),
            Span::styled("Esc", theme.key()),
            Span::raw(" cancel"),
        ]);
        popup::draw_box(
            frame,
            area,
            theme,
            "Run a command",
            lines,
            Some(footer),
            wide,
            0,
        );
    }
}
