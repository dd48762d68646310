//! Drawing the shell: header, tabs, the active pane, status line, overlays.
//! A pure function of the app state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table};
use ratatui::Frame;

use crate::ui::app::{App, Overlay, MIN_HEIGHT, MIN_WIDTH};
use crate::ui::pane::PaneId;
use crate::ui::widgets::popup;

pub fn draw(app: &App, frame: &mut Frame) {
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
            2 if c.contains('!') => format!(" {n} {t}! "),
            _ => format!(" {n} {t} "),
        }
    };
    let level = (0..4u8)
        .find(|&lv| {
            crate::ui::panes::ids()
                .map(|id| label(id, lv).chars().count() + 1)
                .sum::<usize>()
                <= tabs.width as usize
        })
        .unwrap_or(3);
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
        draw_overlay(app, frame, body, o);
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

/// One key of the help: keys right-aligned in `w` columns, the description
/// word-wrapped to `inner` columns with a hanging indent.
fn help_entry(
    keys: &str,
    what: &str,
    w: usize,
    inner: usize,
    theme: &crate::ui::theme::Theme,
) -> Vec<Line<'static>> {
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
pub fn help_lines(app: &App, inner: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = vec![Line::styled(
        format!("{} pane", app.active.title()),
        theme.title(),
    )];
    let pane_keys = app.pane(app.active).keys();
    let globals = App::global_keys();
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

fn draw_overlay(app: &App, frame: &mut Frame, area: Rect, o: &Overlay) {
    let theme = &app.theme;
    let wide = area.width.saturating_sub(4).min(100);
    match o {
        Overlay::Help(v) => v.draw(frame, area, theme),
        Overlay::Confirm(c) => c.draw(frame, area, theme),
        Overlay::Form { form, .. } => form.draw(frame, area, theme),
        Overlay::Text(v) => v.draw(frame, area, theme),
        Overlay::Jobs { selected } => {
            let rect = popup::centered(area, wide, (app.jobs.len() as u16 + 4).min(area.height));
            frame.render_widget(Clear, rect);
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(theme.popup_border())
                .title(Span::styled(
                    " Jobs (x cancels, Esc closes) ",
                    theme.title(),
                ));
            if app.jobs.is_empty() {
                frame.render_widget(
                    Paragraph::new("nothing runs in the background").block(block),
                    rect,
                );
                return;
            }
            let rows: Vec<Row> = app
                .jobs
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    let r = Row::new(vec![
                        j.id.to_string(),
                        j.host.clone().unwrap_or_default(),
                        j.what.clone(),
                        if j.cancelled {
                            "cancelling".into()
                        } else {
                            j.progress.clone()
                        },
                        format!(
                            "{} {}",
                            crate::ui::footer::spinner(app.now.as_millisecond()),
                            crate::util::format_age(
                                (app.now.as_second() - j.started.as_second()).max(0) as u64
                            )
                        ),
                    ]);
                    if i == *selected {
                        r.style(theme.selected())
                    } else {
                        r
                    }
                })
                .collect();
            frame.render_widget(
                Table::new(
                    rows,
                    [
                        Constraint::Length(5),
                        Constraint::Length(14),
                        Constraint::Min(10),
                        Constraint::Length(12),
                        Constraint::Length(7),
                    ],
                )
                .header(
                    Row::new(["id", "host", "what", "progress", "running"])
                        .style(theme.table_header()),
                )
                .block(block),
                rect,
            );
        }
        Overlay::RunPrompt { hosts, input, .. } => {
            let mut lines = vec![Line::raw(format!(
                "on {}: {}",
                crate::util::plural(hosts.len(), "host", "hosts"),
                crate::ui::widgets::table::ellipsize(&hosts.join(", "), 200)
            ))];
            lines.push(Line::from(vec![
                Span::styled("$ ", theme.key()),
                Span::styled(input.clone(), theme.input()),
                Span::styled(" ", theme.selected()),
            ]));
            let footer = Line::from(vec![
                Span::styled("Enter", theme.key()),
                Span::raw(" run  "),
                Span::styled("↑/↓", theme.key()),
                Span::raw(" history  "),
                Span::styled("Esc", theme.key()),
                Span::raw(" cancel"),
            ]);
            popup::draw_box(
                frame,
                area,
                theme,
                "Run a command",
                lines,
                Some(footer),
                wide,
                0,
            );
        }
        Overlay::Run(view) => view.draw(frame, area, theme),
    }
}
