//! The TUI.
use crate::error::Failure;
use crate::store::Home;

/// Run the TUI until the user quits.
pub fn run(_home: Home) -> Result<(), Failure> {
    todo!()
}
