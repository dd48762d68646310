//! The run view (`r`): results per host filling in live, identical outputs
//! grouped (crate::fleet::group), a summary line; scrolled and searched as
//! every long text ([`ScrollText`]: j/k, g/G, `/`, n/N); `s` saves the
//! output to a file under state/runs/, `y` copies it (OSC 52).

use std::cell::{Cell, RefCell};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::fleet::{self, HostRun, Outcome};
use crate::ui::msg::JobId;
use crate::ui::theme::Theme;
use crate::ui::widgets::popup::{self, ScrollBox};
use crate::ui::widgets::scroll::ScrollText;

/// What a key asks of the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKey {
    /// Used by the view (scroll, search) or ignored.
    Stay,
    Close,
    /// Save the output (the text) to a file.
    Save(String),
    /// Copy the output (the text).
    Copy(String),
}

/// The longest output `y` copies (terminals cap OSC 52; `s` saves any size).
pub const COPY_MAX: usize = 100_000;

pub struct RunView {
    /// 0: not started yet (waiting for the dangerous-command confirm).
    pub id: u64,
    pub command: String,
    pub hosts: Vec<String>,
    pub results: Vec<HostRun>,
    pub done: bool,
    pub job: Option<JobId>,
    /// Host → its place in `hosts`.
    order: std::collections::HashMap<String, usize>,
    /// The text shown (rebuilt at the next drawing when `stale`).
    text: RefCell<ScrollText>,
    stale: Cell<bool>,
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
            order: Default::default(),
            text: RefCell::new(ScrollText::default()),
            stale: Cell::new(true),
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
        self.changed();
    }

    /// The results or `done` changed: the text is rebuilt when next drawn
    /// (at most once a frame, not once per result of a 1,000-host run).
    pub fn changed(&self) {
        self.stale.set(true);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> RunKey {
        let mut text = self.text.borrow_mut();
        if text.typing() {
            text.handle_key(key);
            return RunKey::Stay;
        }
        if text.handle_key(key) {
            return RunKey::Stay;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => RunKey::Close,
            KeyCode::Char('s') => RunKey::Save(text.plain()),
            KeyCode::Char('y') => RunKey::Copy(text.plain()),
            _ => RunKey::Stay,
        }
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
                Outcome::Timeout | Outcome::Unreachable | Outcome::Unknown => theme.crit(),
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
        if self.stale.replace(false) {
            self.text.borrow_mut().set_lines(self.lines(theme));
        }
        let text = self.text.borrow();
        let mut foot = Vec::new();
        for (k, w) in [
            ("j/k", "scroll"),
            ("/", "search"),
            ("s", "save"),
            ("y", "copy"),
        ] {
            foot.push(Span::styled(k, theme.key()));
            foot.push(Span::raw(format!(" {w}  ")));
        }
        foot.push(Span::styled("Esc", theme.key()));
        foot.push(Span::raw(if self.done {
            " close"
        } else {
            " close/cancel"
        }));
        popup::scroll_box(
            frame,
            area,
            theme,
            ScrollBox {
                title: "Run",
                head: vec![],
                body: &text,
                foot: Some(Line::from(foot)),
                width: area.width,
                full_height: true,
            },
        );
    }

    /// The output as plain text (tests; save and copy use the same).
    pub fn plain(&self, theme: &Theme) -> String {
        ScrollText::new(self.lines(theme)).plain()
    }
}
