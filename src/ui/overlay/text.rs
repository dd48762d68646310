//! A text overlay: details, the patch plan, a live log, the help. Scrolls
//! and searches as [`ScrollText`] does; Esc, `q` or Enter close it (Enter
//! not while the search text is typed).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::ui::theme::Theme;
use crate::ui::widgets::popup::{self, ScrollBox};
use crate::ui::widgets::scroll::ScrollText;

pub struct TextView {
    pub title: String,
    pub text: ScrollText,
    /// Widest it may be (the help is narrower than a log).
    pub width: u16,
    /// More keys the footer names (key, what), handled by the owner.
    pub keys: Vec<(&'static str, &'static str)>,
    /// As tall as its text (the help) instead of the whole screen.
    pub fit: bool,
}

impl TextView {
    pub fn new(title: impl Into<String>, lines: Vec<Line<'static>>) -> TextView {
        TextView {
            title: title.into(),
            text: ScrollText::new(lines),
            width: u16::MAX,
            keys: Vec::new(),
            fit: false,
        }
    }

    /// True: close it.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        if self.text.typing() {
            self.text.handle_key(key);
            return false;
        }
        if self.text.handle_key(key) {
            return false;
        }
        matches!(key.code, KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut spans = vec![
            Span::styled("j/k", theme.key()),
            Span::raw(" scroll  "),
            Span::styled("g/G", theme.key()),
            Span::raw(" top/end  "),
            Span::styled("/", theme.key()),
            Span::raw(" search  "),
        ];
        for (k, w) in &self.keys {
            spans.push(Span::styled(*k, theme.key()));
            spans.push(Span::raw(format!(" {w}  ")));
        }
        spans.push(Span::styled("Esc", theme.key()));
        spans.push(Span::raw(" close"));
        popup::scroll_box(
            frame,
            area,
            theme,
            ScrollBox {
                title: &self.title,
                head: vec![],
                body: &self.text,
                foot: Some(Line::from(spans)),
                width: self.width.min(area.width.saturating_sub(2)),
                full_height: !self.fit,
            },
        );
    }
}
