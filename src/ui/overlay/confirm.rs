//! The yes/no question, one overlay for every question however long: the
//! question stays at the top, the answer line stays at the bottom, and
//! what is between (a 135-package plan, a list of hosts) scrolls and can be
//! searched (`/`, `n`/`N`). "Apply 135 package changes?" at 80x24 used to
//! run off the screen with its y/n line.
//!
//! Answers: `y` yes; `n`, Esc (or `q`) no. After a search `n`/`N` move
//! between the matches, so the footer then offers Esc for no. Keys that
//! are not answers are ignored (the footer says which are). A question
//! may want a word typed instead of `y` ([`ConfirmView::typed`]: the
//! host name, or "yes") for what cannot be undone (a reboot), and may offer
//! more answers ([`ConfirmView::with_answer`]: "a accept all").

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::model::PaneId;
use crate::ui::msg::Request;
use crate::ui::theme::Theme;
use crate::ui::widgets::popup::{self, ScrollBox};
use crate::ui::widgets::scroll::ScrollText;

/// What a key did to the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// One of the extra answers (its key).
    Other(char),
    /// Not answered yet.
    Open,
}

pub struct ConfirmView {
    pub title: String,
    pub text: ScrollText,
    /// What it is about: given back with the answer.
    pub req: Request,
    pub pane: Option<PaneId>,
    /// The word to type and Enter instead of `y`.
    typed: Option<String>,
    input: String,
    /// More answers: key and what it does ("accept all 22 listed").
    extra: Vec<(char, String)>,
    /// Said when a key was not an answer.
    nudge: Option<String>,
    /// What y and n mean here ("yes", "no" by default).
    yes: String,
    no: String,
}

impl ConfirmView {
    pub fn new(
        title: impl Into<String>,
        lines: Vec<Line<'static>>,
        req: Request,
        pane: Option<PaneId>,
    ) -> ConfirmView {
        ConfirmView {
            title: title.into(),
            text: ScrollText::new(lines),
            req,
            pane,
            typed: None,
            input: String::new(),
            extra: Vec::new(),
            nudge: None,
            yes: "yes".into(),
            no: "no".into(),
        }
    }

    /// What `y` and `n` mean in the footer ("accept web1 only").
    pub fn with_labels(mut self, yes: impl Into<String>, no: impl Into<String>) -> ConfirmView {
        self.set_labels(yes, no);
        self
    }

    pub fn set_labels(&mut self, yes: impl Into<String>, no: impl Into<String>) {
        self.yes = yes.into();
        self.no = no.into();
    }

    /// Replace the question and its lines (a list that grows while open).
    pub fn set_text(&mut self, title: impl Into<String>, lines: Vec<Line<'static>>) {
        self.title = title.into();
        self.text.set_lines(lines);
    }

    /// Replace the extra answers.
    pub fn set_answers(&mut self, extra: Vec<(char, String)>) {
        self.extra = extra;
    }

    /// From plain lines.
    pub fn plain(
        title: impl Into<String>,
        lines: &[String],
        req: Request,
        pane: Option<PaneId>,
    ) -> ConfirmView {
        ConfirmView::new(
            title,
            lines.iter().map(|l| Line::raw(l.clone())).collect(),
            req,
            pane,
        )
    }

    /// Yes only when `word` is typed and Enter pressed.
    pub fn typed(mut self, word: impl Into<String>) -> ConfirmView {
        self.typed = Some(word.into());
        self
    }

    /// One more answer: `key` gives [`Answer::Other`].
    pub fn with_answer(mut self, key: char, what: impl Into<String>) -> ConfirmView {
        self.extra.push((key, what.into()));
        self
    }

    /// The word to type, if any.
    pub fn word(&self) -> Option<&str> {
        self.typed.as_deref()
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Answer {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        self.nudge = None;
        if let Some(word) = self.typed.clone() {
            // typing the word: arrows and PgUp/PgDn still scroll
            match key.code {
                KeyCode::Esc => return Answer::No,
                KeyCode::Enter => {
                    if self.input.trim() == word {
                        return Answer::Yes;
                    }
                    self.nudge = Some(format!("type {word} exactly, or Esc"));
                }
                KeyCode::Backspace => {
                    self.input.pop();
                }
                KeyCode::Char('u') if ctrl => self.input.clear(),
                KeyCode::Char(c) if !ctrl => self.input.push(c),
                KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
                    self.text.handle_key(key);
                }
                _ => {}
            }
            return Answer::Open;
        }
        if self.text.typing() {
            self.text.handle_key(key);
            return Answer::Open;
        }
        let searched = self.text.search_label().is_some();
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') if !ctrl => return Answer::Yes,
            KeyCode::Esc | KeyCode::Char('q') => return Answer::No,
            KeyCode::Char('n') | KeyCode::Char('N') if !searched => return Answer::No,
            KeyCode::Char(c) if !ctrl && self.extra.iter().any(|(k, _)| *k == c) => {
                return Answer::Other(c)
            }
            _ => {}
        }
        if !self.text.handle_key(key) {
            self.nudge = Some(format!("answer with {}", self.answers(searched)));
        }
        Answer::Open
    }

    fn answers(&self, searched: bool) -> String {
        let mut a = vec![format!("y ({})", self.yes)];
        for (k, w) in &self.extra {
            a.push(format!("{k} ({w})"));
        }
        a.push(if searched {
            format!("Esc ({})", self.no)
        } else {
            format!("n/Esc ({})", self.no)
        });
        a.join(", ")
    }

    fn foot(&self, theme: &Theme) -> Line<'static> {
        if let Some(n) = &self.nudge {
            return Line::styled(n.clone(), theme.warn());
        }
        let mut spans = Vec::new();
        if let Some(word) = &self.typed {
            spans.push(Span::raw(format!("type {word} and Enter to confirm: ")));
            spans.push(Span::styled(self.input.clone(), theme.input()));
            spans.push(Span::styled(" ", theme.selected()));
            spans.push(Span::styled("  Esc", theme.key()));
            spans.push(Span::raw(" no"));
            return Line::from(spans);
        }
        let searched = self.text.search_label().is_some();
        spans.push(Span::styled("y", theme.key()));
        spans.push(Span::raw(format!(" {}  ", self.yes)));
        for (k, w) in &self.extra {
            spans.push(Span::styled(k.to_string(), theme.key()));
            spans.push(Span::raw(format!(" {w}  ")));
        }
        if searched {
            spans.push(Span::styled("Esc", theme.key()));
            spans.push(Span::raw(format!(" {}  ", self.no)));
            spans.push(Span::styled("n/N", theme.key()));
            spans.push(Span::raw(" match  "));
        } else {
            spans.push(Span::styled("n/Esc", theme.key()));
            spans.push(Span::raw(format!(" {}  ", self.no)));
        }
        spans.push(Span::styled("/", theme.key()));
        spans.push(Span::raw(" search"));
        Line::from(spans)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        popup::scroll_box(
            frame,
            area,
            theme,
            ScrollBox {
                title: "Confirm",
                head: vec![Line::styled(self.title.clone(), theme.title())],
                body: &self.text,
                foot: Some(self.foot(theme)),
                width: area.width.saturating_sub(4).min(100),
                full_height: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn answers_searching_and_typed_words() {
        let mut c = ConfirmView::plain("Go?", &["a".into(), "yak".into()], Request::Quit, None);
        assert_eq!(c.handle_key(k(KeyCode::Char('x'))), Answer::Open);
        assert!(c.nudge.as_deref().unwrap().contains("y (yes)"));
        // a `y` typed into the search is text, not yes
        c.handle_key(k(KeyCode::Char('/')));
        assert_eq!(c.handle_key(k(KeyCode::Char('y'))), Answer::Open);
        c.handle_key(k(KeyCode::Enter));
        // after a search, n is the next match and Esc is no
        assert_eq!(c.handle_key(k(KeyCode::Char('n'))), Answer::Open);
        assert_eq!(c.handle_key(k(KeyCode::Esc)), Answer::No);
        assert_eq!(c.handle_key(k(KeyCode::Char('y'))), Answer::Yes);

        let mut r = ConfirmView::plain("Reboot web1?", &[], Request::Quit, None).typed("web1");
        assert_eq!(r.handle_key(k(KeyCode::Char('y'))), Answer::Open);
        assert_eq!(r.handle_key(k(KeyCode::Enter)), Answer::Open);
        r.handle_key(k(KeyCode::Backspace));
        for ch in "web1".chars() {
            r.handle_key(k(KeyCode::Char(ch)));
        }
        assert_eq!(r.handle_key(k(KeyCode::Enter)), Answer::Yes);

        let mut h = ConfirmView::plain("Keys?", &[], Request::Quit, None).with_answer('a', "all");
        assert_eq!(h.handle_key(k(KeyCode::Char('a'))), Answer::Other('a'));
    }
}
