//! Long text in a box: wrapped to the box, scrolled by rows, searched with
//! `/` (case-insensitive), `n`/`N` to the next/previous line that matches,
//! matches highlighted. The confirm dialog, the text views (details, the
//! patch plan and log, run output) and the help all scroll with it.
//!
//! Keys ([`ScrollText::handle_key`]): j/k, ↓/↑, PgDn/PgUp, Ctrl-D/Ctrl-U,
//! g/G, Home/End, `/` then text (Enter keeps it, Esc drops it), n/N. While
//! the search text is typed every key is text: a dialog must not take a `y`
//! typed into the search as its answer ([`ScrollText::typing`]).
//!
//! Drawing wraps the lines to the width once and keeps the result until
//! the lines, the width or the search change (a 20,000-line log is not
//! re-wrapped every frame).

use std::cell::{Cell, RefCell};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::ui::theme::Theme;

#[derive(Debug, Default)]
struct Wrapped {
    width: u16,
    query: String,
    generation: u64,
    rows: Vec<Line<'static>>,
    /// The first row of each line.
    first_row: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct ScrollText {
    lines: Vec<Line<'static>>,
    /// Bumped whenever the lines change.
    generation: u64,
    /// First row shown (a Cell: drawing clamps it and follows the end).
    scroll: Cell<usize>,
    /// The search text (kept after Enter; empty: none).
    query: String,
    /// The search text is being typed.
    typing: bool,
    /// The line of the current match.
    current: Option<usize>,
    /// Rows shown and rows in all, as the last drawing found.
    view: Cell<(usize, usize)>,
    /// `G` was pressed before the first drawing: go to the end then.
    to_end: Cell<bool>,
    cache: RefCell<Wrapped>,
}

impl ScrollText {
    pub fn new(lines: Vec<Line<'static>>) -> ScrollText {
        ScrollText {
            lines,
            ..Default::default()
        }
    }

    pub fn lines(&self) -> &[Line<'static>] {
        &self.lines
    }

    /// Replace the lines (a live view); the scroll stays where it was,
    /// or follows the end when it was there.
    pub fn set_lines(&mut self, lines: Vec<Line<'static>>) {
        let at_end = self.at_end();
        self.lines = lines;
        self.generation += 1;
        if at_end {
            self.to_end.set(true);
        }
    }

    /// Add lines at the end (a live log); follows the end when it was there.
    pub fn append(&mut self, more: Vec<Line<'static>>) {
        let at_end = self.at_end();
        self.lines.extend(more);
        self.generation += 1;
        if at_end {
            self.to_end.set(true);
        }
    }

    fn at_end(&self) -> bool {
        let (shown, total) = self.view.get();
        total > 0 && self.scroll.get() + shown >= total
    }

    /// The search text is being typed (keys are text, not commands).
    pub fn typing(&self) -> bool {
        self.typing
    }

    pub fn scroll(&self) -> usize {
        self.scroll.get()
    }

    /// The plain text of every line (tests, copy, save).
    pub fn plain(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            for sp in &l.spans {
                s.push_str(&sp.content);
            }
            s.push('\n');
        }
        s
    }

    fn max_scroll(&self) -> usize {
        let (shown, total) = self.view.get();
        total.saturating_sub(shown.max(1))
    }

    fn page(&self) -> usize {
        self.view.get().0.max(1)
    }

    /// Lines that contain the search text.
    fn matches(&self) -> Vec<usize> {
        if self.query.is_empty() {
            return Vec::new();
        }
        let q = self.query.to_lowercase();
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| line_text(l).to_lowercase().contains(&q))
            .map(|(i, _)| i)
            .collect()
    }

    /// Go to the next (or previous) matching line from the current one.
    fn jump(&mut self, forward: bool) {
        let m = self.matches();
        if m.is_empty() {
            self.current = None;
            return;
        }
        let next = match self.current {
            None => {
                // from the top of the view
                let top = self.line_at_row(self.scroll.get());
                if forward {
                    m.iter().find(|&&i| i >= top).or(m.first())
                } else {
                    m.iter().rev().find(|&&i| i <= top).or(m.last())
                }
            }
            Some(c) => {
                if forward {
                    m.iter().find(|&&i| i > c).or(m.first())
                } else {
                    m.iter().rev().find(|&&i| i < c).or(m.last())
                }
            }
        };
        self.current = next.copied();
        if let Some(line) = self.current {
            // the match a third down the view
            let row = self.row_of_line(line);
            self.scroll.set(row.saturating_sub(self.page() / 3));
        }
    }

    fn row_of_line(&self, line: usize) -> usize {
        let c = self.cache.borrow();
        if c.generation == self.generation && c.width > 0 {
            c.first_row.get(line).copied().unwrap_or(line)
        } else {
            line
        }
    }

    fn line_at_row(&self, row: usize) -> usize {
        let c = self.cache.borrow();
        if c.generation == self.generation && c.width > 0 {
            c.first_row.partition_point(|&r| r <= row).saturating_sub(1)
        } else {
            row
        }
    }

    /// A key; true when it was used (scrolling, searching).
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.typing {
            match key.code {
                KeyCode::Enter => {
                    self.typing = false;
                    self.current = None;
                    self.jump(true);
                }
                KeyCode::Esc => {
                    self.typing = false;
                    self.query.clear();
                    self.current = None;
                }
                KeyCode::Backspace => {
                    self.query.pop();
                    self.current = None;
                }
                KeyCode::Char('u') if ctrl => self.query.clear(),
                KeyCode::Char(c) if !ctrl => {
                    self.query.push(c);
                    self.current = None;
                    // show the first match while typing
                    let keep = self.scroll.get();
                    self.jump(true);
                    if self.current.is_none() {
                        self.scroll.set(keep);
                    }
                }
                _ => {}
            }
            return true;
        }
        let max = self.max_scroll();
        let page = self.page();
        let at = self.scroll.get();
        let to = |v: usize| v.min(max);
        match key.code {
            KeyCode::Char('j') | KeyCode::Down if !ctrl => self.scroll.set(to(at + 1)),
            KeyCode::Char('k') | KeyCode::Up if !ctrl => self.scroll.set(at.saturating_sub(1)),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll.set(to(at + page)),
            KeyCode::PageUp => self.scroll.set(at.saturating_sub(page)),
            KeyCode::Char('d') if ctrl => self.scroll.set(to(at + page / 2)),
            KeyCode::Char('u') if ctrl => self.scroll.set(at.saturating_sub(page / 2)),
            KeyCode::Char('g') | KeyCode::Home => self.scroll.set(0),
            KeyCode::Char('G') | KeyCode::End => {
                self.scroll.set(max);
                // not drawn yet: the end is known at the first drawing
                self.to_end.set(true);
            }
            KeyCode::Char('/') if !ctrl => {
                self.typing = true;
                self.query.clear();
                self.current = None;
            }
            KeyCode::Char('n') if !ctrl && !self.query.is_empty() => self.jump(true),
            KeyCode::Char('N') if !self.query.is_empty() => self.jump(false),
            _ => return false,
        }
        true
    }

    /// How many rows the lines take at `width` (wraps and keeps the result).
    pub fn rows_at(&self, width: u16, theme: &Theme) -> usize {
        self.wrapped(width.max(1), theme).rows.len()
    }

    /// What the search line says: "/text" while typing, "/text 2/5" after
    /// (None: no search).
    pub fn search_label(&self) -> Option<String> {
        if self.typing {
            return Some(format!("/{}▏", self.query));
        }
        if self.query.is_empty() {
            return None;
        }
        let m = self.matches();
        Some(
            match self.current.and_then(|c| m.iter().position(|&i| i == c)) {
                _ if m.is_empty() => format!("/{}: no match", self.query),
                Some(i) => format!("/{} {}/{} (n/N)", self.query, i + 1, m.len()),
                None => format!("/{} {} (n/N)", self.query, m.len()),
            },
        )
    }

    /// Re-wrap when the lines, the width or the search changed.
    fn wrapped(&self, width: u16, theme: &Theme) -> std::cell::Ref<'_, Wrapped> {
        {
            let c = self.cache.borrow();
            if c.width == width && c.generation == self.generation && c.query == self.query {
                drop(c);
                return self.cache.borrow();
            }
        }
        let mut rows = Vec::new();
        let mut first_row = Vec::with_capacity(self.lines.len());
        for l in &self.lines {
            first_row.push(rows.len());
            let l = if self.query.is_empty() {
                l.clone()
            } else {
                highlight(l, &self.query, theme.search())
            };
            rows.extend(wrap(&l, width as usize));
        }
        *self.cache.borrow_mut() = Wrapped {
            width,
            query: self.query.clone(),
            generation: self.generation,
            rows,
            first_row,
        };
        self.cache.borrow()
    }

    /// Draw the visible rows into `area` (no border). Returns (first row
    /// shown, rows shown, rows in all) for a "more" mark.
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) -> (usize, usize, usize) {
        let w = self.wrapped(area.width.max(1), theme);
        let total = w.rows.len();
        let shown = area.height as usize;
        self.view.set((shown, total));
        let max = total.saturating_sub(shown);
        if self.to_end.replace(false) {
            self.scroll.set(max);
        }
        let first = self.scroll.get().min(max);
        self.scroll.set(first);
        let rows: Vec<Line> = w.rows[first..(first + shown).min(total)].to_vec();
        frame.render_widget(Paragraph::new(rows), area);
        (first, shown.min(total - first), total)
    }
}

/// The text of a line.
pub fn line_text(l: &Line) -> String {
    l.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// `line` with every case-insensitive (ASCII) occurrence of `query` in `style`.
pub fn highlight(line: &Line<'static>, query: &str, style: Style) -> Line<'static> {
    let q = query.to_ascii_lowercase();
    if q.is_empty() {
        return line.clone();
    }
    let text = line_text(line);
    let lower = text.to_ascii_lowercase();
    // byte ranges of the matches
    let mut hits = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&q) {
        hits.push((from + i, from + i + q.len()));
        from += i + q.len().max(1);
    }
    if hits.is_empty() {
        return line.clone();
    }
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut pos = 0;
    for sp in &line.spans {
        let s = sp.content.as_ref();
        let (start, end) = (pos, pos + s.len());
        let mut cut = start;
        for &(a, b) in &hits {
            let (a, b) = (a.max(start), b.min(end));
            if a >= b {
                continue;
            }
            if a > cut {
                out.push(Span::styled(
                    s[cut - start..a - start].to_string(),
                    sp.style,
                ));
            }
            out.push(Span::styled(
                s[a - start..b - start].to_string(),
                sp.style.patch(style),
            ));
            cut = b;
        }
        if cut < end {
            out.push(Span::styled(s[cut - start..].to_string(), sp.style));
        }
        pos = end;
    }
    Line::from(out).style(line.style)
}

/// Wrap a line into rows of at most `width` columns, at spaces where it
/// can (a word longer than a row is cut), styles kept. An empty line is one
/// empty row.
pub fn wrap(line: &Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    // (char, its width, its style)
    let cells: Vec<(char, usize, Style)> = line
        .spans
        .iter()
        .flat_map(|sp| {
            sp.content.chars().map(move |c| {
                let mut b = [0u8; 4];
                (c, Span::raw(&*c.encode_utf8(&mut b)).width(), sp.style)
            })
        })
        .collect();
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut start = 0;
    while start < cells.len() || rows.is_empty() {
        let mut used = 0;
        let mut end = start;
        let mut last_space = None;
        while end < cells.len() && used + cells[end].1 <= width {
            if cells[end].0 == ' ' {
                last_space = Some(end);
            }
            used += cells[end].1;
            end += 1;
        }
        if end == start && end < cells.len() {
            end += 1; // wider than a row: one char anyway
        }
        let mut next = end;
        if end < cells.len() && cells[end].0 == ' ' {
            next = end + 1; // the row ends at a word's end
        } else if end < cells.len() {
            if let Some(sp) = last_space.filter(|&sp| sp > start) {
                end = sp; // the space itself is dropped
                next = sp + 1;
            }
        }
        rows.push(Line::from(spans_of(&cells[start..end])).style(line.style));
        start = next;
        if start >= cells.len() {
            break;
        }
    }
    rows
}

/// Consecutive chars of one style as one span.
fn spans_of(cells: &[(char, usize, Style)]) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut buf = String::new();
    let mut style = None;
    for &(c, _, st) in cells {
        if style.is_some_and(|s| s != st) {
            out.push(Span::styled(
                std::mem::take(&mut buf),
                style.unwrap_or_default(),
            ));
        }
        style = Some(st);
        buf.push(c);
    }
    if !buf.is_empty() {
        out.push(Span::styled(buf, style.unwrap_or_default()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, w: usize) -> Vec<String> {
        wrap(&Line::raw(text.to_string()), w)
            .iter()
            .map(line_text)
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(rows("", 5), vec![""]);
        assert_eq!(rows("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(rows("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(
            rows("key SHA256:abcdefghij end", 12),
            vec!["key", "SHA256:abcde", "fghij end"]
        );
        let l = highlight(&Line::raw("Apt pkg APT"), "apt", Style::default());
        assert_eq!(l.spans.len(), 3);
    }
}
