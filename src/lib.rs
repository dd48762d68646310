//! opsdeck: a terminal console for the one person who is the IT department.
//! See docs/architecture.md for the map of the modules.

pub mod audit;
pub mod backups;
pub mod checks;
pub mod cli;
pub mod error;
pub mod fleet;
pub mod inventory;
pub mod lifecycle;
pub mod limits;
pub mod logging;
pub mod model;
pub mod ops;
pub mod overview;
pub mod patches;
pub mod pm;
pub mod report;
pub mod sections;
pub mod ssh;
pub mod store;
pub mod ui;
pub mod util;
pub mod validate;
pub mod watch;
