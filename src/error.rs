//! The error a command ends with, and the exit codes of the stable interface.

use std::fmt;

/// Exit codes (sysexits.h where one fits; Nagios 0-3 for check-like commands).
pub mod exit {
    pub const OK: i32 = 0;
    /// Generic failure of a non-Nagios command (a host failed in `run`, ...).
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 64;
    /// A named thing (host, vendor, backup, file) does not exist.
    pub const NOINPUT: i32 = 66;
    pub const SOFTWARE: i32 = 70;
    pub const CANTCREAT: i32 = 73;
    /// A home or state directory another user could write (EX_NOPERM).
    pub const NOPERM: i32 = 77;
    pub const IOERR: i32 = 74;
    /// Another opsdeck holds the lock; try again.
    pub const TEMPFAIL: i32 = 75;
    pub const CONFIG: i32 = 78;
    /// An input file (an inventory to import) that cannot be understood.
    pub const DATAERR: i32 = 65;
}

/// A failure with the exit code it maps to and a message for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(exit::CONFIG, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub type CmdResult = Result<i32, Failure>;
