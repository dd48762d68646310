//! Logging to a file in the state dir (the TUI) or to stderr (headless).

use crate::store::Home;

/// Guard kept alive for the duration of the program.
pub struct LogGuard;

/// Headless commands: warnings to stderr, more with -v; also appended to the log file.
pub fn init_headless(_home: &Home, _verbose: u8) -> LogGuard {
    LogGuard
}

/// The TUI: everything to the log file only, never the screen.
pub fn init_tui(_home: &Home) -> LogGuard {
    LogGuard
}
