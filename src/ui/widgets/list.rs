//! A list's view state: rows by key, the `/` filter (case-insensitive
//! substring over a per-row haystack holding every field; a word `@tag`
//! matches only the token `@tag`, which the panes put in for each tag, as
//! `@tag` selects hosts on the command line), the order the rows are shown
//! in (a pane's sort), the selection (kept by key across refreshes), Space
//! marks, and a scroll window.

use std::cell::Cell;
use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Default, Clone)]
pub struct ListView {
    keys: Vec<String>,
    hay: Vec<String>,
    visible: Vec<usize>,
    selected: usize,
    offset: Cell<usize>,
    page: Cell<usize>,
    marks: BTreeSet<String>,
    filter: String,
    /// The rows in the order shown (None: as given).
    order: Option<Vec<usize>>,
}

impl ListView {
    pub fn new() -> ListView {
        ListView::default()
    }

    /// Replace the rows: (key, text searched by the filter). Keeps the
    /// selection on the same key when it still exists; drops marks of keys
    /// that are gone.
    pub fn set_rows(&mut self, rows: impl IntoIterator<Item = (String, String)>) {
        let keep = self.selected_key().map(str::to_string);
        self.keys.clear();
        self.hay.clear();
        for (k, h) in rows {
            self.keys.push(k);
            self.hay.push(h.to_lowercase());
        }
        let present: BTreeSet<&String> = self.keys.iter().collect();
        self.marks.retain(|m| present.contains(m));
        self.apply_filter(keep.as_deref());
    }

    fn apply_filter(&mut self, keep: Option<&str>) {
        let needle = self.filter.to_lowercase();
        let words: Vec<&str> = needle.split_whitespace().collect();
        let matches = |hay: &str| {
            words.iter().all(|w| {
                if w.len() > 1 && w.starts_with('@') {
                    hay.split_whitespace().any(|t| t == *w)
                } else {
                    hay.contains(w)
                }
            })
        };
        let all: Vec<usize> = match &self.order {
            Some(o) if o.len() == self.keys.len() => o.clone(),
            _ => (0..self.keys.len()).collect(),
        };
        self.visible = all.into_iter().filter(|&i| matches(&self.hay[i])).collect();
        self.selected = keep
            .and_then(|k| self.visible.iter().position(|&i| self.keys[i] == k))
            .unwrap_or(self.selected.min(self.visible.len().saturating_sub(1)));
    }

    /// Show the rows in this order (indices into the rows of `set_rows`,
    /// each once); the selection stays on its key.
    pub fn set_order(&mut self, order: Vec<usize>) {
        if self.order.as_ref() == Some(&order) {
            return;
        }
        let keep = self.selected_key().map(str::to_string);
        self.order = Some(order);
        self.apply_filter(keep.as_deref());
    }

    /// Select the row shown at `pos` (a click); false: no such row.
    pub fn select_pos(&mut self, pos: usize) -> bool {
        if pos < self.visible.len() {
            self.selected = pos;
            true
        } else {
            false
        }
    }

    /// A click on row `row` of a table drawn by `widgets::table::draw`
    /// (row 0: its title, 1: the header, then the rows from `offset`).
    pub fn click_table_row(&mut self, row: u16) -> bool {
        match row.checked_sub(2) {
            // below the rows drawn (another widget there): not a row
            Some(r) if (r as usize) < self.page.get() => {
                self.select_pos(self.offset.get() + r as usize)
            }
            _ => false,
        }
    }

    /// The first position drawn by the last [`ListView::window`].
    pub fn offset(&self) -> usize {
        self.offset.get()
    }

    /// Set the filter (every whitespace-separated word must occur).
    pub fn set_filter(&mut self, filter: &str) {
        if self.filter == filter {
            return;
        }
        let keep = self.selected_key().map(str::to_string);
        self.filter = filter.to_string();
        self.apply_filter(keep.as_deref());
    }
    pub fn filter(&self) -> &str {
        &self.filter
    }
    /// Row indices (into the rows given to set_rows) that pass the filter.
    pub fn visible(&self) -> &[usize] {
        &self.visible
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    /// Position of the selection among the visible rows.
    pub fn selected_pos(&self) -> Option<usize> {
        (!self.visible.is_empty()).then_some(self.selected)
    }
    /// Row index of the selection.
    pub fn selected_row(&self) -> Option<usize> {
        self.visible.get(self.selected).copied()
    }
    pub fn selected_key(&self) -> Option<&str> {
        self.selected_row().map(|i| self.keys[i].as_str())
    }
    pub fn key_of(&self, row: usize) -> &str {
        &self.keys[row]
    }
    /// Select a row by key; clears the filter when it hides that row.
    pub fn select_key(&mut self, key: &str) -> bool {
        if let Some(p) = self.visible.iter().position(|&i| self.keys[i] == key) {
            self.selected = p;
            return true;
        }
        if self.keys.iter().any(|k| k == key) {
            self.filter.clear();
            self.apply_filter(Some(key));
            return true;
        }
        false
    }
    pub fn is_marked(&self, row: usize) -> bool {
        self.marks.contains(&self.keys[row])
    }
    pub fn marks(&self) -> &BTreeSet<String> {
        &self.marks
    }
    pub fn clear_marks(&mut self) {
        self.marks.clear();
    }
    /// Mark every row the filter shows (every row without one); when they
    /// are all marked already, unmark them instead. The number marked after.
    pub fn mark_visible(&mut self) -> usize {
        let shown: Vec<String> = self.visible.iter().map(|&i| self.keys[i].clone()).collect();
        if !shown.is_empty() && shown.iter().all(|k| self.marks.contains(k)) {
            for k in &shown {
                self.marks.remove(k);
            }
        } else {
            self.marks.extend(shown);
        }
        self.marks.len()
    }
    /// The keys an action applies to: the marked rows (in row order), else the selected one.
    pub fn targets(&self) -> Vec<String> {
        if !self.marks.is_empty() {
            return self
                .keys
                .iter()
                .filter(|k| self.marks.contains(*k))
                .cloned()
                .collect();
        }
        self.selected_key()
            .map(|k| vec![k.to_string()])
            .unwrap_or_default()
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.visible.is_empty() {
            return;
        }
        let max = self.visible.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, max) as usize;
    }

    /// Navigation and marking keys: j/k, arrows, g/G, Home/End, PgUp/PgDn,
    /// Ctrl-D/Ctrl-U (half page), Space. True when the key was used.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let page = self.page.get().max(1) as isize;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('j') | KeyCode::Down if !ctrl => self.move_by(1),
            KeyCode::Char('k') | KeyCode::Up if !ctrl => self.move_by(-1),
            KeyCode::Char('g') | KeyCode::Home => self.move_by(isize::MIN / 2),
            KeyCode::Char('G') | KeyCode::End => self.move_by(isize::MAX / 2),
            KeyCode::PageDown => self.move_by(page),
            KeyCode::PageUp => self.move_by(-page),
            KeyCode::Char('d') if ctrl => self.move_by(page / 2),
            KeyCode::Char('u') if ctrl => self.move_by(-page / 2),
            KeyCode::Char(' ') => {
                if let Some(k) = self.selected_key().map(str::to_string) {
                    if !self.marks.remove(&k) {
                        self.marks.insert(k);
                    }
                    self.move_by(1);
                }
            }
            _ => return false,
        }
        true
    }

    /// The window of visible positions to draw in `height` rows; keeps the
    /// selection in view with a stable scroll offset.
    pub fn window(&self, height: usize) -> std::ops::Range<usize> {
        let height = height.max(1);
        self.page.set(height);
        let n = self.visible.len();
        let mut off = self.offset.get();
        if self.selected < off {
            off = self.selected;
        } else if self.selected >= off + height {
            off = self.selected + 1 - height;
        }
        off = off.min(n.saturating_sub(height));
        self.offset.set(off);
        off..(off + height).min(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn rows(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), format!("{n} tag")))
            .collect()
    }

    #[test]
    fn moves_filters_and_keeps_selection() {
        let mut l = ListView::new();
        l.set_rows(rows(&["a", "b", "c", "bb"]));
        assert_eq!(l.selected_key(), Some("a"));
        l.handle_key(key('j'));
        l.handle_key(key('j'));
        assert_eq!(l.selected_key(), Some("c"));
        l.handle_key(key('G'));
        assert_eq!(l.selected_key(), Some("bb"));
        l.set_filter("B");
        assert_eq!(l.visible(), &[1, 3]);
        assert_eq!(l.selected_key(), Some("bb"));
        l.set_rows(rows(&["bb", "x", "b"]));
        assert_eq!(l.selected_key(), Some("bb"));
        l.set_filter("");
        assert_eq!(l.visible().len(), 3);
        l.handle_key(key('g'));
        assert_eq!(l.selected_key(), Some("bb"));
    }

    #[test]
    fn marks_and_targets() {
        let mut l = ListView::new();
        l.set_rows(rows(&["a", "b", "c"]));
        assert_eq!(l.targets(), vec!["a"]);
        l.handle_key(key(' '));
        l.handle_key(key('j'));
        l.handle_key(key(' '));
        assert_eq!(l.targets(), vec!["a", "c"]);
        l.set_rows(rows(&["c"]));
        assert_eq!(l.targets(), vec!["c"]);
        l.set_rows(rows(&["a", "b", "c", "bb"]));
        l.set_filter("b");
        assert_eq!(l.mark_visible(), 3);
        assert_eq!(l.targets(), vec!["b", "c", "bb"]);
        // all shown are marked: the same key unmarks them
        assert_eq!(l.mark_visible(), 1);
        assert_eq!(l.targets(), vec!["c"]);
        l.clear_marks();
        assert_eq!(l.marks().len(), 0);
    }

    #[test]
    fn tags_match_whole_and_order_is_kept() {
        let mut l = ListView::new();
        l.set_rows([
            ("a".to_string(), "a @web @prod".to_string()),
            ("b".to_string(), "b @webshop".to_string()),
            ("c".to_string(), "c web".to_string()),
        ]);
        l.set_filter("@web");
        assert_eq!(l.visible(), &[0]);
        l.set_filter("web");
        assert_eq!(l.visible(), &[0, 1, 2]);
        l.set_filter("");
        l.handle_key(key('j'));
        assert_eq!(l.selected_key(), Some("b"));
        l.set_order(vec![2, 1, 0]);
        assert_eq!(l.visible(), &[2, 1, 0]);
        assert_eq!(l.selected_key(), Some("b"));
        l.set_rows([
            ("a".to_string(), String::new()),
            ("b".to_string(), String::new()),
            ("c".to_string(), String::new()),
        ]);
        assert_eq!(l.visible(), &[2, 1, 0]);
    }

    #[test]
    fn window_follows_selection() {
        let mut l = ListView::new();
        l.set_rows((0..100).map(|i| (i.to_string(), String::new())));
        assert_eq!(l.window(10), 0..10);
        l.handle_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
        assert_eq!(l.selected_pos(), Some(10));
        assert_eq!(l.window(10), 1..11);
        l.handle_key(key('k'));
        assert_eq!(l.window(10), 1..11);
        l.handle_key(key('G'));
        assert_eq!(l.window(10), 90..100);
        let empty = ListView::new();
        assert_eq!(empty.window(5), 0..0);
        assert_eq!(empty.selected_key(), None);
    }
}
