//! Drawing the shell: header, tabs, the active pane, status line, overlays.
//! A pure function of the app state.

use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::ui::app::{App, MIN_HEIGHT, MIN_WIDTH};
use crate::ui::pane::PaneId;

impl App {
    /// Draw the whole screen (pure: the state as it is).
    pub fn draw(&self, frame: &mut Frame) {
        draw(self, frame);
    }
}

fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = &app.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let lines = vec![
            Line::styled("Terminal too small", theme.title()),
            Line::raw(format!("{}x{} now,", area.width, area.height)),
            Line::raw(format!("needs {MIN_WIDTH}x{MIN_HEIGHT}.")),
            Line::raw(if app.asking_quit() {
                format!(
                    "{} run: y quits, n stays",
                    crate::util::plural(app.jobs.len(), "job", "jobs")
                )
            } else {
                "q quits".to_string()
            }),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let [header, tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let ctx = app.ctx_for_draw();

    // header: where you are and how fresh the data is
    let latest = app
        .latest_check
        .map(|t| (ctx.now.as_second() - t.as_second()).max(0) as u64);
    let fresh = match latest {
        _ if app.results.loading => "reading state/…".to_string(),
        Some(s) => format!("last check {} ago", crate::util::format_age(s)),
        None => "never checked".into(),
    };
    let mut spans = vec![
        Span::styled(" opsdeck ", theme.header()),
        Span::raw("› "),
        Span::styled(app.active.title(), theme.title()),
        Span::raw(format!(
            "  {} · {fresh}",
            crate::util::plural(app.store.hosts.len(), "host", "hosts")
        )),
    ];
    if let Some((note, overdue)) = crate::watch::schedule::sweep_note(
        app.results.last_sweep.as_ref(),
        app.results.schedule.as_ref(),
        ctx.now.as_second(),
    ) {
        let style = if overdue { theme.error() } else { theme.dim() };
        spans.push(Span::styled(format!(" · {note}"), style));
    }
    if !app.results.checking.is_empty() {
        spans.push(Span::styled(
            format!(" · checking {}", app.results.checking.len()),
            theme.warn(),
        ));
    }
    let home = app.store.home.config_dir.display().to_string();
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used + home.len() + 2 < header.width as usize {
        let pad = header.width as usize - used - home.len() - 1;
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(home, theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), header);

    // tabs with counts; shorter labels when the terminal is narrow
    let counts: Vec<String> = crate::ui::panes::ids()
        .map(|id| app.pane(id).count(&ctx))
        .collect();
    // narrower: the critical count is the last to go ("12 (2!)" → "2!" →
    // "!" → nothing)
    let label = |id: PaneId, level: u8| -> String {
        let i = crate::ui::panes::index_of(id).unwrap_or(0);
        let c = &counts[i];
        let n = i + 1;
        let t = id.title();
        match level {
            0 => format!(" {n} {t} {c} "),
            1 => format!(" {n} {t} {} ", critical_or_first(c)),
            // only what is critical keeps its number
            2 if c.contains('!') => format!(" {n} {t} {} ", critical_or_first(c)),
            3 if c.contains('!') => format!(" {n} {t}! "),
            2 | 3 => format!(" {n} {t} "),
            _ => format!(" {n} {t} "),
        }
    };
    // (the separator after the last tab may be cut)
    let level = (0..5u8)
        .find(|&lv| {
            crate::ui::panes::ids()
                .map(|id| label(id, lv).chars().count() + 1)
                .sum::<usize>()
                <= tabs.width as usize + 1
        })
        .unwrap_or(4);
    let mut spans = Vec::new();
    let mut x = tabs.x;
    let mut where_drawn = Vec::new();
    for id in crate::ui::panes::ids() {
        let style = if id == app.active {
            theme.tab_active()
        } else {
            theme.tab()
        };
        let text = label(id, level);
        let w = text.chars().count() as u16;
        where_drawn.push((x, x + w, id));
        x += w + 1;
        spans.push(Span::styled(text, style));
        spans.push(Span::styled("│", theme.dim()));
    }
    *app.tab_spans.borrow_mut() = where_drawn;
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs);

    app.pane(app.active).draw(frame, body, &ctx);

    // footer: filter input, else the last message, else the key bar;
    // the marks; what runs in the background
    crate::ui::footer::draw(app, frame, status);

    // overlays leave the footer visible (messages, errors, jobs)
    for o in &app.overlays {
        o.draw(frame, body, theme, &app.jobs, app.now);
    }
}

/// A tab count cut to one word: the critical part ("12 (2!)" → "2!"),
/// else the first word ("3 (1 open)" → "3").
fn critical_or_first(count: &str) -> String {
    count
        .split_whitespace()
        .find(|w| w.contains('!'))
        .map(|w| w.trim_matches(|c| c == '(' || c == ')').to_string())
        .or_else(|| count.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}
