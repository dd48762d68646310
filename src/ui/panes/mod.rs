//! The registry of panes: one entry per tab, in tab order. A pane is one
//! file under `panes/` implementing [`Pane`] (it names its own [`PaneId`]),
//! and one line here; its number key, its place in Tab order, its title on
//! the tab bar and in the help, and the Overview's jumps to it all come
//! from this list. The recipe is in docs/architecture.md ("Add a pane").

pub mod backups;
pub mod hosts;
pub mod overview;
pub mod patches;
pub mod security;
pub mod vendors;

use crate::ui::pane::{Pane, PaneId};

/// A registered pane: its id and how to make it.
pub struct Registered {
    pub id: PaneId,
    pub make: fn() -> Box<dyn Pane>,
}

/// Every pane, in tab order (the number keys 1, 2, ... follow it).
pub const PANES: &[Registered] = &[
    Registered {
        id: PaneId::OVERVIEW,
        make: || Box::new(overview::OverviewPane::new()),
    },
    Registered {
        id: PaneId::HOSTS,
        make: || Box::new(hosts::HostsPane::new()),
    },
    Registered {
        id: PaneId::PATCHES,
        make: || Box::new(patches::PatchesPane::new()),
    },
    Registered {
        id: PaneId::BACKUPS,
        make: || Box::new(backups::BackupsPane::new()),
    },
    Registered {
        id: PaneId::VENDORS,
        make: || Box::new(vendors::VendorsPane::new()),
    },
    Registered {
        id: PaneId::SECURITY,
        make: || Box::new(security::SecurityPane::new()),
    },
];

/// The panes, made, in tab order.
pub fn all() -> Vec<Box<dyn Pane>> {
    PANES.iter().map(|r| (r.make)()).collect()
}

/// The ids in tab order.
pub fn ids() -> impl Iterator<Item = PaneId> {
    PANES.iter().map(|r| r.id)
}

/// Where a pane is in tab order (its number key is this + 1).
pub fn index_of(id: PaneId) -> Option<usize> {
    PANES.iter().position(|r| r.id == id)
}

/// The pane `step` places after (or before, negative) `id`, wrapping.
pub fn step(id: PaneId, step: isize) -> PaneId {
    let n = PANES.len() as isize;
    let i = index_of(id).unwrap_or(0) as isize;
    PANES[((i + step).rem_euclid(n)) as usize].id
}

/// "1-5": the number keys that switch panes.
pub fn number_keys() -> String {
    format!("1-{}", PANES.len())
}
