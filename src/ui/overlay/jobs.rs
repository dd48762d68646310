//! `J`: what runs in the background (id, host, what, progress, how long),
//! `x` cancels the selected job. Also the spinner and the one-line job text
//! the footer shows.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table};
use ratatui::Frame;

use crate::ui::msg::JobId;
use crate::ui::pane::JobInfo;
use crate::ui::theme::Theme;
use crate::ui::widgets::popup;

/// Spinner frames (one per quarter second while something runs).
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// How often the spinner turns (the loop wakes up for it only while jobs run).
pub const SPIN_MS: u64 = 250;

/// "⠹ 12s": the spinner frame at `now_ms` and the time since `started`.
pub fn spinner(now_ms: i64) -> &'static str {
    SPINNER[((now_ms.max(0) as u64 / SPIN_MS) % SPINNER.len() as u64) as usize]
}

/// What a job shows: "#3 check 1000 hosts 512/1000 4s".
pub fn job_text(j: &JobInfo, now: jiff::Timestamp) -> String {
    let secs = (now.as_second() - j.started.as_second()).max(0) as u64;
    let mut t = format!("{} {}", j.id, j.what);
    let p = if j.cancelled {
        "cancelling"
    } else {
        j.progress.as_str()
    };
    if !p.is_empty() {
        t.push(' ');
        t.push_str(p);
    }
    t.push(' ');
    t.push_str(&crate::util::format_age(secs));
    t
}

/// The jobs list.
#[derive(Debug, Default)]
pub struct JobsView {
    pub selected: usize,
}

/// What a key did in the jobs list.
pub enum JobsKey {
    Close,
    Stay,
    /// `x`: cancel this job.
    Cancel(JobId),
}

impl JobsView {
    pub fn handle_key(&mut self, key: KeyEvent, jobs: &[JobInfo]) -> JobsKey {
        let r = match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('J') => return JobsKey::Close,
            KeyCode::Char('j') | KeyCode::Down => {
                self.selected += 1;
                JobsKey::Stay
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                JobsKey::Stay
            }
            KeyCode::Char('x') | KeyCode::Delete => match jobs.get(self.selected) {
                Some(j) => JobsKey::Cancel(j.id),
                None => JobsKey::Stay,
            },
            _ => JobsKey::Stay,
        };
        self.selected = self.selected.min(jobs.len().saturating_sub(1));
        r
    }

    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        jobs: &[JobInfo],
        now: jiff::Timestamp,
    ) {
        let wide = area.width.saturating_sub(4).min(100);
        let rect = popup::centered(area, wide, (jobs.len() as u16 + 4).min(area.height));
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.popup_border())
            .title(Span::styled(
                " Jobs (x cancels, Esc closes) ",
                theme.title(),
            ));
        if jobs.is_empty() {
            frame.render_widget(
                Paragraph::new("nothing runs in the background").block(block),
                rect,
            );
            return;
        }
        let rows: Vec<Row> = jobs
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
                        spinner(now.as_millisecond()),
                        crate::util::format_age(
                            (now.as_second() - j.started.as_second()).max(0) as u64
                        )
                    ),
                ]);
                if i == self.selected {
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
                Row::new(["id", "host", "what", "progress", "running"]).style(theme.table_header()),
            )
            .block(block),
            rect,
        );
    }
}
