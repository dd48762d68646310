//! One module per tab. patches.rs, backups.rs and overview.rs belong to
//! the patches, backups and lifecycle work; they build on the contract in
//! [`crate::ui::pane`].

pub mod backups;
pub mod hosts;
pub mod overview;
pub mod patches;
pub mod vendors;

use crate::ui::pane::Pane;

/// The five panes, in tab order (index = PaneId::index()).
pub fn all() -> Vec<Box<dyn Pane>> {
    vec![
        Box::new(overview::OverviewPane::new()),
        Box::new(hosts::HostsPane::new()),
        Box::new(patches::PatchesPane::new()),
        Box::new(backups::BackupsPane::new()),
        Box::new(vendors::VendorsPane::new()),
    ]
}
