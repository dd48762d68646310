//! The footer, one line: on the left the filter being typed, else the last
//! message (fading; errors stay until a key, styled and prefixed
//! "error:"), else the key bar of the pane; then the marks ("3 marked: c r
//! act on them"); on the right what runs in the background, with a spinner
//! and the time it has been running.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::overlay::jobs::{job_text, spinner};
use crate::ui::theme::Theme;

/// The keys always offered on the bar, after the pane's own.
const GLOBAL_HINTS: [(&str, &str); 3] = [("?", "help"), ("/", "filter"), ("q", "quit")];

fn key_bar<'a>(theme: &Theme, pane: &[(&'a str, &'a str)], width: usize) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut used = 0;
    // the pane's keys first, the global ones always fit (help last resort)
    let all: Vec<(&str, &str)> = pane.iter().copied().chain(GLOBAL_HINTS).collect();
    let globals_w: usize = GLOBAL_HINTS
        .iter()
        .map(|(k, w)| k.chars().count() + w.chars().count() + 3)
        .sum();
    for (i, (k, w)) in all.iter().enumerate() {
        let need = k.chars().count() + w.chars().count() + 3;
        let is_global = i >= pane.len();
        let room = if is_global {
            width
        } else {
            width.saturating_sub(globals_w)
        };
        if used + need > room {
            if is_global {
                break;
            }
            continue;
        }
        used += need;
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::raw(format!(" {w}  ")));
    }
    spans
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let now = app.now;
    // right: the jobs
    let jobs = match app.jobs.first() {
        None => String::new(),
        Some(first) => {
            let more = if app.jobs.len() > 1 {
                format!(" +{} (J)", app.jobs.len() - 1)
            } else {
                " (J)".to_string()
            };
            format!(
                " {} {}{more} ",
                spinner(now.as_millisecond()),
                job_text(first, now)
            )
        }
    };
    let jobs_w = (jobs.chars().count() as u16).min(area.width * 2 / 5);
    // middle: the marks of the pane
    let marks = app.pane(app.active).marks();
    let marks_text = if marks > 0 {
        format!(" acts on {marks} marked (Esc clears) ")
    } else {
        String::new()
    };
    let room = area.width.saturating_sub(jobs_w);
    let marks_text = if marks_text.chars().count() as u16 > room / 2 {
        format!(" {marks} marked ")
    } else {
        marks_text
    };
    let marks_w = (marks_text.chars().count() as u16).min(room);
    let [l, m, r] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(marks_w),
        Constraint::Length(jobs_w),
    ])
    .areas(area);

    let mut left: Vec<Span> = Vec::new();
    if let Some(input) = &app.filter_input {
        left.push(Span::styled("/", theme.key()));
        left.push(Span::styled(input.clone(), theme.input()));
        left.push(Span::styled(" ", theme.selected()));
        left.push(Span::styled("  Enter keep · Esc clear · @tag", theme.dim()));
    } else if let Some(msg) = app.status.visible(now) {
        let t = msg.text.lines().next().unwrap_or("").to_string();
        if msg.error {
            left.push(Span::styled(format!("error: {t}"), theme.error()));
        } else {
            left.push(Span::raw(t));
        }
    } else {
        left = key_bar(theme, &app.pane(app.active).hints(), l.width as usize);
    }
    frame.render_widget(Paragraph::new(Line::from(left)), l);
    if marks > 0 {
        frame.render_widget(Paragraph::new(Line::styled(marks_text, theme.marked())), m);
    }
    if !jobs.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled(jobs, theme.warn())), r);
    }
}
