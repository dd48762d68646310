//! A table over a [`ListView`]: only the visible window is built, the
//! selected row is REVERSED, marked rows carry a `*` (readable without
//! colour), the block title says how many rows pass the filter.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::list::ListView;
use crate::ui::theme::Theme;

pub struct TableSpec<'a> {
    pub title: &'a str,
    pub header: Vec<&'a str>,
    pub widths: Vec<Constraint>,
    /// Shown when there is no row at all.
    pub empty: &'a str,
    /// The column the rows are sorted by, said in the title.
    pub sort: Option<&'a str>,
}

/// Draw `list` as a table; `row` builds the cells of a row index.
pub fn draw<'a>(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    spec: TableSpec<'_>,
    list: &ListView,
    mut row: impl FnMut(usize) -> Vec<Cell<'a>>,
) {
    let shown = list.visible().len();
    let mut title = format!(" {} ", spec.title);
    if !list.filter().is_empty() {
        title = format!(" {} {shown}/{} /{} ", spec.title, list.len(), list.filter());
    } else if !list.is_empty() {
        title = format!(" {} {} ", spec.title, list.len());
    }
    if let Some(by) = spec.sort {
        title.push_str(&format!("· by {by} (o) "));
    }
    if !list.marks().is_empty() {
        title.push_str(&format!("[{} marked] ", list.marks().len()));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border())
        .title(Span::styled(title, theme.title()));
    if shown == 0 {
        let text = if list.is_empty() {
            spec.empty.to_string()
        } else {
            format!("no row matches /{} (Esc clears the filter)", list.filter())
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.dim())).block(block),
            area,
        );
        return;
    }
    let body_h = area.height.saturating_sub(2) as usize; // top border + header
    let win = list.window(body_h);
    let sel = list.selected_pos();
    let rows: Vec<Row> = win
        .clone()
        .map(|pos| {
            let idx = list.visible()[pos];
            let mark = if list.is_marked(idx) { "*" } else { " " };
            let mut cells = vec![Cell::from(Span::styled(mark, theme.marked()))];
            cells.extend(row(idx));
            let r = Row::new(cells);
            if Some(pos) == sel {
                r.style(theme.selected())
            } else {
                r
            }
        })
        .collect();
    let mut widths = vec![Constraint::Length(1)];
    widths.extend(spec.widths);
    let mut header = vec![Cell::from("")];
    header.extend(spec.header.iter().map(|h| Cell::from(h.to_string())));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.table_header()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// The widths of the spec's columns as [`draw`] lays them out in `area`
/// (after the mark column, one space apart), for cutting texts with
/// [`ellipsize`] instead of mid-word.
pub fn column_widths(area: Rect, widths: &[Constraint]) -> Vec<usize> {
    let cols = ratatui::layout::Layout::horizontal(
        std::iter::once(Constraint::Length(1)).chain(widths.iter().copied()),
    )
    .spacing(1)
    .split(area);
    cols.iter().skip(1).map(|c| c.width as usize).collect()
}

/// `text` cut with "…" to the width of column `i` of `cols` (as
/// [`column_widths`] gives them); unchanged when there is no such column.
pub fn fit(text: &str, cols: &[usize], i: usize) -> String {
    match cols.get(i) {
        Some(&w) => ellipsize(text, w),
        None => text.to_string(),
    }
}

/// Truncate to `w` chars with an ellipsis.
pub fn ellipsize(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
    out.push('…');
    out
}
