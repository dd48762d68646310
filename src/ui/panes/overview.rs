//! The Overview pane: "what needs me today". Counts per pane at the top,
//! when each source was last refreshed, then the ranked list of
//! `crate::overview` (level as text and colour); `Enter` jumps to the row
//! in its pane.
//!
//! No I/O here: the user's os-eol.toml and the security first-seen records
//! come with the results the shell reads off the UI thread at start-up
//! (`Results::eol`, `Results::security_since`). "Pending since" is tracked
//! in memory from then on; every saved sweep (`ops::check::save`, which the
//! TUI runs too) persists it. `draw` only draws what was computed.
//!
//! The computation (`crate::overview::overview`, every host against every
//! result) runs on a thread of the pane's own when the event loop gave a
//! channel (`ctx.tx`): a 1,000-host sweep refreshes the panes several times
//! a second and must not hold the keyboard. One computation at a time; new
//! data meanwhile asks for one more when it ends. The last result stays on
//! the screen until the next one arrives. Without a channel (tests) it is
//! computed in place.

use std::sync::mpsc as std_mpsc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};
use ratatui::Frame;

use crate::lifecycle::EolTable;
use crate::model::Level;
use crate::overview::{self, Counts, Overview, SecuritySince, Snapshot};
use crate::ui::msg::{JobId, JobMsg, Msg, OverviewDone};
use crate::ui::pane::{Ctx, Effect, KeyHelp, Pane, PaneEvent, PaneId};
use crate::ui::theme::Theme;
use crate::ui::widgets::list::ListView;
use crate::ui::widgets::table::{self, TableSpec};

pub struct OverviewPane {
    /// Rows and the computed Overview (recomputed on every refresh: new
    /// data, or a minute passed, so ages and "days left" stay true).
    state: State,
    /// The OS table (built in + the user's), once the shell has read it.
    eol: Option<EolTable>,
    /// The filter text (also set in the list).
    filter: String,
    /// The background computation's thread (started on first use).
    worker: Option<std_mpsc::Sender<Request>>,
    /// A computation is running.
    computing: bool,
    /// The data changed while it ran: compute once more when it ends.
    again: bool,
}

/// Work for the pane's thread.
struct Request {
    snap: Snapshot,
    now: jiff::Timestamp,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
}

/// The Overview of a snapshot at `now` (pure; runs on the pane's thread).
fn compute_overview(mut snap: Snapshot, now: jiff::Timestamp) -> OverviewDone {
    snap.track_security();
    let ov = overview::overview(&snap, now, overview::today_of(now));
    OverviewDone {
        ov,
        security_since: snap.security_since,
        now,
    }
}

#[derive(Default)]
struct State {
    list: ListView,
    ov: Option<Overview>,
    security_since: Vec<SecuritySince>,
    computed_at: Option<jiff::Timestamp>,
}

/// Show a computed Overview: rows keyed so the selection survives.
fn install(st: &mut State, done: OverviewDone) {
    let OverviewDone {
        ov,
        security_since,
        now,
    } = done;
    st.security_since = security_since;
    // Key: pane + row key + what (unique per item), so the selection
    // survives a recomputation as long as the item is still there.
    st.list.set_rows(ov.items.iter().map(|i| {
        (
            format!("{}/{}/{}", i.target.pane.title(), i.target.key, i.what),
            format!(
                "{} {} {} {}",
                level_label(i.level),
                i.what,
                i.why,
                i.target.pane.title()
            ),
        )
    }));
    st.ov = Some(ov);
    st.computed_at = Some(now);
}

impl OverviewPane {
    pub fn new() -> OverviewPane {
        OverviewPane {
            state: State {
                list: ListView::new(),
                ..State::default()
            },
            eol: None,
            filter: String::new(),
            worker: None,
            computing: false,
            again: false,
        }
    }

    /// Take the OS table and the first-seen records once the shell has
    /// read them (the embedded table until then).
    fn take_loaded(&mut self, ctx: &Ctx) {
        if self.eol.is_some() || ctx.results.loading {
            return;
        }
        self.eol = Some(ctx.results.eol.clone().unwrap_or_else(EolTable::embedded));
        if self.state.security_since.is_empty() {
            self.state.security_since = ctx.results.security_since.clone();
        }
    }

    /// The items shown (for tests): (level, what, why, pane, key).
    pub fn items(&self) -> Vec<(Level, String, String, PaneId, String)> {
        self.state
            .ov
            .iter()
            .flat_map(|o| o.items.iter())
            .map(|i| {
                (
                    i.level,
                    i.what.clone(),
                    i.why.clone(),
                    i.target.pane,
                    i.target.key.clone(),
                )
            })
            .collect()
    }

    /// The inputs of the Overview, copied from `ctx` (the security
    /// first-seen records are taken from `st`: they come back with the result).
    fn snapshot(&self, st: &mut State, ctx: &Ctx) -> Snapshot {
        Snapshot {
            thresholds: ctx.store.settings.thresholds.clone(),
            hosts: ctx.store.hosts.clone(),
            vendors: ctx.store.vendors.clone(),
            jobs: ctx.store.backups.clone(),
            checks: ctx.results.checks.values().cloned().collect(),
            patches: ctx.results.patches.values().cloned().collect(),
            backups: ctx.results.backups.values().cloned().collect(),
            security_since: std::mem::take(&mut st.security_since),
            eol: self.eol.clone().unwrap_or_else(EolTable::embedded),
            watch: ctx.results.watch.clone(),
            notes: Vec::new(),
        }
    }

    /// Compute the Overview from the data in `ctx` at `ctx.now`, in place.
    fn compute(&mut self, ctx: &Ctx) {
        let mut st = std::mem::take(&mut self.state);
        let snap = self.snapshot(&mut st, ctx);
        install(&mut st, compute_overview(snap, ctx.now));
        self.state = st;
    }

    /// Start a computation on the pane's thread (or note that one more is
    /// needed); false: no channel, compute in place.
    fn compute_in_background(&mut self, ctx: &Ctx) -> bool {
        let Some(tx) = ctx.tx else { return false };
        if self.computing {
            self.again = true;
            return true;
        }
        if self.worker.is_none() {
            let (wtx, wrx) = std_mpsc::channel::<Request>();
            let spawned = std::thread::Builder::new()
                .name("overview".into())
                .spawn(move || {
                    crate::ui::background_priority();
                    while let Ok(r) = wrx.recv() {
                        let done = compute_overview(r.snap, r.now);
                        // not a job of the jobs list: id 0, never allocated
                        let _ = r.tx.send(Msg::Job {
                            job: JobId(0),
                            pane: Some(PaneId::OVERVIEW),
                            msg: JobMsg::Overview(Box::new(done)),
                        });
                    }
                });
            if spawned.is_err() {
                return false;
            }
            self.worker = Some(wtx);
        }
        let mut st = std::mem::take(&mut self.state);
        let snap = self.snapshot(&mut st, ctx);
        self.state = st;
        let sent = self.worker.as_ref().is_some_and(|w| {
            w.send(Request {
                snap,
                now: ctx.now,
                tx: tx.clone(),
            })
            .is_ok()
        });
        self.computing = sent;
        sent
    }
}

impl Default for OverviewPane {
    fn default() -> Self {
        Self::new()
    }
}

fn level_label(l: Level) -> &'static str {
    match l {
        Level::Crit => "CRIT",
        Level::Warn => "WARN",
        Level::Ok => "OK",
    }
}

fn level_style(theme: &Theme, l: Level) -> Style {
    match l {
        Level::Crit => theme.crit(),
        Level::Warn => theme.warn(),
        Level::Ok => theme.ok(),
    }
}

fn plural(n: usize, word: &str) -> String {
    crate::util::plural(n, word, &format!("{word}s"))
}

/// "Hosts 5: 2 crit 1 warn 1 unknown"; colour on the numbers, the words say it too.
fn status_line<'a>(name: &str, s: &overview::StatusCounts, theme: &Theme) -> Line<'a> {
    let mut v: Vec<Span<'a>> = vec![Span::styled(format!("{name} {}:", s.total), theme.header())];
    if s.crit > 0 {
        v.push(Span::styled(format!(" {} crit", s.crit), theme.crit()));
    }
    if s.warn > 0 {
        v.push(Span::styled(format!(" {} warn", s.warn), theme.warn()));
    }
    if s.unknown > 0 {
        v.push(Span::styled(format!(" {} unknown", s.unknown), theme.dim()));
    }
    if s.crit + s.warn + s.unknown == 0 {
        v.push(Span::styled(
            if s.total > 0 { " all ok" } else { " none" },
            theme.ok(),
        ));
    }
    Line::from(v)
}

/// Hosts, Backups (side by side), then Patches, then Vendors.
fn counts_lines<'a>(c: &Counts, theme: &Theme) -> [Line<'a>; 4] {
    let p = &c.patches;
    let mut patches: Vec<Span<'a>> = vec![Span::styled("Patches:", theme.header())];
    patches.push(Span::styled(
        format!(" {} security", p.security),
        if p.security > 0 {
            theme.crit()
        } else {
            theme.text()
        },
    ));
    if p.security > 0 {
        patches.push(Span::raw(format!(
            " on {}",
            plural(p.hosts_with_security, "host")
        )));
    }
    if p.security_unknown > 0 {
        patches.push(Span::styled(
            format!(", {} unknown", p.security_unknown),
            theme.dim(),
        ));
    }
    if p.stale > 0 {
        patches.push(Span::styled(
            format!(" ({} last known: unreachable now)", plural(p.stale, "host")),
            theme.warn(),
        ));
    }
    patches.push(Span::styled(
        format!(", {}", plural(p.reboot_required, "reboot")),
        if p.reboot_required > 0 {
            theme.warn()
        } else {
            theme.text()
        },
    ));
    let v = &c.vendors;
    let mut vendors: Vec<Span<'a>> = vec![
        Span::styled(format!("Vendors {}:", v.total), theme.header()),
        Span::raw(format!(" {}", plural(v.open_tickets, "open ticket"))),
    ];
    if v.stale_tickets > 0 {
        vendors.push(Span::styled(
            format!(" ({} stale)", v.stale_tickets),
            theme.warn(),
        ));
    }
    if v.contracts_ended > 0 {
        vendors.push(Span::styled(
            format!(", {} ended", plural(v.contracts_ended, "contract")),
            theme.crit(),
        ));
    }
    if v.contracts_ending > 0 {
        vendors.push(Span::styled(
            format!(", {} ending", plural(v.contracts_ending, "contract")),
            theme.warn(),
        ));
    }
    [
        status_line("Hosts", &c.hosts, theme),
        status_line("Backups", &c.backups, theme),
        Line::from(patches),
        Line::from(vendors),
    ]
}

impl Pane for OverviewPane {
    fn id(&self) -> PaneId {
        PaneId::OVERVIEW
    }

    fn count(&self, _ctx: &Ctx) -> String {
        match &self.state.ov {
            Some(o) if o.counts.overview.crit > 0 => format!(
                "{} ({}!)",
                o.counts.overview.crit + o.counts.overview.warn,
                o.counts.overview.crit
            ),
            Some(o) => (o.counts.overview.crit + o.counts.overview.warn).to_string(),
            None => String::new(),
        }
    }

    fn refresh(&mut self, ctx: &Ctx) {
        self.take_loaded(ctx);
        if !self.compute_in_background(ctx) {
            self.compute(ctx);
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let theme = ctx.theme;
        let st = &self.state;
        let Some(ov) = &st.ov else {
            frame.render_widget(Paragraph::new(Line::styled("loading…", theme.dim())), area);
            return;
        };
        let [top, patches, vendors, fresh, list] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(3),
        ])
        .areas(area);
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)])
            .spacing(1)
            .areas(top);
        let [h, b, p, v] = counts_lines(&ov.counts, theme);
        frame.render_widget(Paragraph::new(h), left);
        frame.render_widget(Paragraph::new(b), right);
        frame.render_widget(Paragraph::new(p), patches);
        frame.render_widget(Paragraph::new(v), vendors);

        let mut spans = vec![Span::styled("Refreshed: ", theme.dim())];
        for (i, f) in ov.freshness.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", theme.dim()));
            }
            let label = ctx.age_label(f.last.as_deref());
            spans.push(Span::raw(format!("{} {label}", f.source)));
        }
        if let Some(e) = &ctx.results.eol_error {
            spans.push(Span::styled(format!("  ({e})"), theme.error()));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), fresh);

        let title = format!(
            "What needs you today: {} crit, {} warn",
            ov.counts.overview.crit, ov.counts.overview.warn
        );
        let widths = vec![
            Constraint::Length(5),
            Constraint::Percentage(38),
            Constraint::Fill(1),
            Constraint::Length(7),
        ];
        // long texts end in "…" where the column cuts them
        let cols = table::column_widths(list, &widths);
        let (what_w, why_w) = (cols[1], cols[2]);
        table::draw(
            frame,
            list,
            theme,
            TableSpec {
                title: &title,
                header: vec!["level", "what", "why", "go to"],
                widths,
                sort: None,
                empty: "nothing needs you (as far as the last checks know; C on Hosts checks all)",
            },
            &st.list,
            |i| {
                let it = &ov.items[i];
                vec![
                    Cell::from(Span::styled(
                        level_label(it.level),
                        level_style(theme, it.level),
                    )),
                    Cell::from(table::ellipsize(&it.what, what_w)),
                    Cell::from(table::ellipsize(&it.why, why_w)),
                    Cell::from(Span::styled(it.target.pane.title(), theme.dim())),
                ]
            },
        );
    }

    fn handle_key(&mut self, key: KeyEvent, _ctx: &Ctx) -> Option<Vec<Effect>> {
        let st = &mut self.state;
        if st.list.handle_key(key) {
            return Some(vec![]);
        }
        match key.code {
            KeyCode::Enter => {
                let Some(row) = st.list.selected_row() else {
                    return Some(vec![Effect::Status("nothing selected".into())]);
                };
                let it = st.ov.as_ref()?.items.get(row)?;
                Some(vec![Effect::Goto {
                    pane: it.target.pane,
                    key: Some(it.target.key.clone()),
                    ticket: it.target.ticket.clone(),
                }])
            }
            _ => None,
        }
    }

    fn handle_event(&mut self, event: PaneEvent, ctx: &Ctx) -> Vec<Effect> {
        if let PaneEvent::JobMsg {
            msg: JobMsg::Overview(done),
            ..
        } = event
        {
            {
                self.computing = false;
                // the security first-seen records travel with the work
                install(&mut self.state, *done);
                if std::mem::take(&mut self.again) {
                    self.compute_in_background(ctx);
                }
            }
        }
        vec![]
    }

    fn click(&mut self, row: u16) -> bool {
        // the list is under the four lines of counts and freshness
        row >= 4 && self.state.list.click_table_row(row - 4)
    }
    fn hints(&self) -> Vec<(&'static str, &'static str)> {
        vec![("Enter", "go to the row"), ("j/k", "move")]
    }
    fn keys(&self) -> Vec<KeyHelp> {
        vec![KeyHelp::new(
            "Enter",
            "go to the item's row in its pane (host, backup or vendor)",
        )]
    }

    fn set_filter(&mut self, filter: &str, _ctx: &Ctx) {
        self.state.list.set_filter(filter);
        self.filter = self.state.list.filter().to_string();
    }

    fn filter(&self) -> &str {
        // The trait wants a borrow of self; the filter text is mirrored here.
        &self.filter
    }
}
