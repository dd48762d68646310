//! `?`: every key of the active pane, then the shell's own, in a text
//! view (scrolled and searched like every long text).

use ratatui::text::{Line, Span};

use crate::model::PaneId;
use crate::ui::overlay::text::TextView;
use crate::ui::pane::KeyHelp;
use crate::ui::panes;
use crate::ui::theme::Theme;

/// The help of `pane` (its keys) for a terminal `width` columns wide.
pub fn view(pane: PaneId, pane_keys: &[KeyHelp], width: u16, theme: &Theme) -> TextView {
    let inner = (width.saturating_sub(4)).min(84).saturating_sub(2) as usize;
    let mut v = TextView::new(
        format!("Keys: {} pane and everywhere", pane.title()),
        lines(pane, pane_keys, inner.max(20), theme),
    );
    v.width = 84;
    v.fit = true;
    v
}

/// Every key of the shell, for `?`.
pub fn global_keys() -> Vec<KeyHelp> {
    vec![
        KeyHelp::new(
            &format!("{}, Tab, Shift-Tab", panes::number_keys()),
            "switch pane",
        ),
        KeyHelp::new(
            "j/k, ↓/↑, g/G, PgUp/PgDn",
            "move (Ctrl-D/Ctrl-U: half a page)",
        ),
        KeyHelp::new(
            "/ text, Enter, Esc",
            "filter the list (every field), keep, clear",
        ),
        KeyHelp::new(
            "Space",
            "mark the row and move down; c, r, u, R... act on the marked rows (the footer says how many)",
        ),
        KeyHelp::new(
            "*",
            "mark every row the filter shows (all rows without a filter); again: unmark them",
        ),
        KeyHelp::new(
            "Esc",
            "dismiss an error, else clear the filter, else clear the marks",
        ),
        KeyHelp::new("J", "jobs running in the background (x cancels one)"),
        KeyHelp::new(
            "Ctrl-R",
            "re-read the files and state/ (after edits elsewhere)",
        ),
        KeyHelp::new("?", "this help (Esc closes)"),
        KeyHelp::new("q, Ctrl-C", "quit (asks while jobs run)"),
        KeyHelp::new(
            "mouse",
            "with [ui] mouse = true: the wheel scrolls, a click selects a row or a tab (Shift selects text)",
        ),
    ]
}

/// One key of the help: keys right-aligned in `w` columns, the description
/// word-wrapped to `inner` columns with a hanging indent.
fn help_entry(keys: &str, what: &str, w: usize, inner: usize, theme: &Theme) -> Vec<Line<'static>> {
    let room = inner.saturating_sub(w + 2).max(12);
    let mut rows: Vec<String> = vec![String::new()];
    for word in what.split_whitespace() {
        let cur = rows.last_mut().expect("one row at least");
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > room {
            rows.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, text)| {
            let head = if i == 0 {
                format!("{keys:>w$}  ")
            } else {
                " ".repeat(w + 2)
            };
            Line::from(vec![Span::styled(head, theme.key()), Span::raw(text)])
        })
        .collect()
}

/// The lines of the `?` overlay: the pane's keys, then the global ones;
/// descriptions wrap under themselves (`inner` columns), not under the keys.
pub fn lines(
    pane: PaneId,
    pane_keys: &[KeyHelp],
    inner: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!("{} pane", pane.title()),
        theme.title(),
    )];
    let globals = global_keys();
    let w = pane_keys
        .iter()
        .chain(globals.iter())
        .map(|k| k.keys.chars().count())
        .max()
        .unwrap_or(8)
        .min(inner / 3);
    for k in pane_keys.iter() {
        lines.extend(help_entry(&k.keys, &k.what, w, inner, theme));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Everywhere", theme.title()));
    for k in globals.iter() {
        lines.extend(help_entry(&k.keys, &k.what, w, inner, theme));
    }
    lines
}
