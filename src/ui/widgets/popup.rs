//! Popups: centring, confirm dialog, scrollable text view.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::theme::Theme;

/// A `w`x`h` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A bordered popup with wrapped lines, scrolled by `scroll` lines (at
/// most to its last line); returns how far its text can scroll.
#[allow(clippy::too_many_arguments)]
pub fn draw_box(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    lines: Vec<Line<'static>>,
    footer: Option<Line<'static>>,
    width: u16,
    scroll: u16,
) -> u16 {
    let mut all = lines;
    if let Some(f) = footer {
        all.push(Line::raw(""));
        all.push(f);
    }
    let w = width.min(area.width.saturating_sub(2)).max(10);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let wrapped: usize = all.iter().map(|l| l.width().max(1).div_ceil(inner_w)).sum();
    let h = (wrapped as u16 + 2).min(area.height);
    let max_scroll = (wrapped as u16).saturating_sub(h.saturating_sub(2));
    let scroll = scroll.min(max_scroll);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.popup_border())
        .title(Span::styled(format!(" {title} "), theme.title()));
    frame.render_widget(
        Paragraph::new(all)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rect,
    );
    max_scroll
}
