//! Popups: centring, a box of wrapped lines, and a box around a
//! [`ScrollText`] with a pinned head and foot and "more" marks.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::theme::Theme;
use crate::ui::widgets::scroll::ScrollText;

/// The parts of a [`scroll_box`].
pub struct ScrollBox<'a> {
    pub title: &'a str,
    /// Lines above the scrolled text that never scroll (a question).
    pub head: Vec<Line<'static>>,
    pub body: &'a ScrollText,
    /// The line below it that never scrolls (the answers).
    pub foot: Option<Line<'static>>,
    /// Widest the box may be.
    pub width: u16,
    /// Use the whole height even when the text is shorter.
    pub full_height: bool,
}

/// A bordered box: the head, the scrolled text, the foot pinned at the
/// bottom; the borders say when there is more above or below ("↑ more",
/// "↓ 12 more") and what is being searched.
pub fn scroll_box(frame: &mut Frame, area: Rect, theme: &Theme, b: ScrollBox<'_>) {
    let w = b.width.min(area.width).max(10);
    let inner_w = w.saturating_sub(2).max(1);
    let head_rows: Vec<Line<'static>> = b
        .head
        .iter()
        .flat_map(|l| crate::ui::widgets::scroll::wrap(l, inner_w as usize))
        .collect();
    let foot_rows = if b.foot.is_some() { 1 } else { 0 };
    let body_rows = b.body.rows_at(inner_w, theme) as u16;
    let gap = u16::from(!head_rows.is_empty());
    let want = 2 + head_rows.len() as u16 + gap + body_rows + foot_rows;
    let h = if b.full_height {
        area.height
    } else {
        want.min(area.height)
    };
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let inner = Rect {
        x: rect.x + 1,
        y: rect.y + 1,
        width: rect.width.saturating_sub(2),
        height: rect.height.saturating_sub(2),
    };
    // the head takes at most half the box
    let head_h = (head_rows.len() as u16).min(inner.height / 2);
    let foot_h = foot_rows.min(inner.height.saturating_sub(head_h));
    let gap = gap.min(inner.height.saturating_sub(head_h + foot_h + 1));
    let body_area = Rect {
        x: inner.x,
        y: inner.y + head_h + gap,
        width: inner.width,
        height: inner.height.saturating_sub(head_h + gap + foot_h),
    };
    let (first, shown, total) = b.body.draw(frame, body_area, theme);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.popup_border())
        .title(Span::styled(format!(" {} ", b.title), theme.title()));
    if first > 0 {
        block = block.title_top(Line::styled(" ↑ more ", theme.key()).right_aligned());
    }
    let below = total.saturating_sub(first + shown);
    if below > 0 {
        block = block.title_bottom(
            Line::styled(format!(" ↓ {below} more (j/k, PgDn, G) "), theme.key()).right_aligned(),
        );
    }
    if let Some(label) = b.body.search_label() {
        block = block.title_bottom(Line::styled(format!(" {label} "), theme.search()));
    }
    frame.render_widget(block, rect);
    if head_h > 0 {
        frame.render_widget(
            Paragraph::new(head_rows[..head_h as usize].to_vec()),
            Rect {
                height: head_h,
                ..inner
            },
        );
    }
    if let (Some(f), true) = (b.foot, foot_h > 0) {
        frame.render_widget(
            Paragraph::new(f),
            Rect {
                y: inner.y + inner.height - foot_h,
                height: foot_h,
                ..inner
            },
        );
    }
}

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
