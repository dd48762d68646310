//! What opens on top of a pane, one file each with its own keys and
//! drawing (as gitui's popups): the help (`?`), a question (confirm.rs), a
//! form (`crate::ui::widgets::form`), a text or log (text.rs), the jobs
//! list (`J`, jobs.rs), the run prompt (`r`, prompt.rs) and the run view
//! (run.rs). The shell (`crate::ui::app`) keeps them in a stack, gives the
//! top one the keys and acts on what it answers.

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::model::PaneId;
use crate::ui::pane::JobInfo;
use crate::ui::theme::Theme;
use crate::ui::widgets::form::Form;

pub mod confirm;
pub mod help;
pub mod jobs;
pub mod prompt;
pub mod run;
pub mod text;

pub enum Overlay {
    /// `?`: the keys of the pane and the global ones.
    Help(Box<text::TextView>),
    Confirm(Box<confirm::ConfirmView>),
    Form {
        form: Form,
        pane: Option<PaneId>,
    },
    Text(Box<text::TextView>),
    Jobs(jobs::JobsView),
    RunPrompt(prompt::RunPrompt),
    Run(Box<run::RunView>),
}

impl Overlay {
    /// Draw over `area` (the body: the footer stays visible).
    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        jobs: &[JobInfo],
        now: jiff::Timestamp,
    ) {
        match self {
            Overlay::Help(v) | Overlay::Text(v) => v.draw(frame, area, theme),
            Overlay::Confirm(c) => c.draw(frame, area, theme),
            Overlay::Form { form, .. } => form.draw(frame, area, theme),
            Overlay::Jobs(v) => v.draw(frame, area, theme, jobs, now),
            Overlay::RunPrompt(p) => p.draw(frame, area, theme),
            Overlay::Run(v) => v.draw(frame, area, theme),
        }
    }

    /// Does it scroll with the arrow keys (the mouse wheel sends them)? A
    /// form's or a prompt's arrows move between fields / through history.
    pub fn scrolls(&self) -> bool {
        !matches!(self, Overlay::Form { .. } | Overlay::RunPrompt(_))
    }
}
