//! Standard output of the headless commands, in one place.
//!
//! - Human text goes through [`text`]/[`line`] (or the [`say!`] macro): it is
//!   sanitised on the way out, whatever its source (remote output, error
//!   text, signal names, names from files), so a hostile host cannot set the
//!   terminal's title or write its clipboard through a table.
//! - JSON goes through [`json`]: exact, escaped by JSON itself.
//! - A write that fails is remembered, later writes are skipped, and
//!   [`finish`] turns it into the exit status: a closed pipe (`| head`) ends
//!   quietly with 141 (128 + SIGPIPE, what a shell reports for a tool killed
//!   by it), any other failure (a full disk, `> /dev/full`) says so on
//!   stderr and exits 74. Never 0 when the output was not delivered.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{exit, Failure};

/// The first failed write of this process.
static FAILED: Mutex<Option<(ErrorKind, String)>> = Mutex::new(None);

fn write_raw(bytes: &[u8]) {
    let mut failed = FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|_| out.flush()) {
        *failed = Some((e.kind(), e.to_string()));
    }
}

/// Human text, sanitised, as is (no newline added).
pub fn text(s: &str) {
    write_raw(crate::util::sanitize(s.as_bytes()).as_bytes());
}

/// Human text and a newline.
pub fn line(s: &str) {
    let mut t = crate::util::sanitize(s.as_bytes());
    t.push('\n');
    write_raw(t.as_bytes());
}

/// A document already rendered in a machine format (JSON escapes its own
/// strings): written exactly.
pub fn raw(s: &str) {
    write_raw(s.as_bytes());
}

/// One JSON document, pretty, with a final newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot write JSON: {e}")))?;
    text.push('\n');
    write_raw(text.as_bytes());
    Ok(())
}

/// The exit status after everything was printed: `code`, unless stdout
/// could not be written.
pub fn finish(code: i32) -> i32 {
    let failed = FAILED.lock().unwrap_or_else(|e| e.into_inner()).take();
    match failed {
        None => code,
        Some((ErrorKind::BrokenPipe, _)) => 141,
        Some((_, e)) => {
            eprintln!("opsdeck: cannot write the output: {e}");
            exit::IOERR
        }
    }
}

/// A line of human text on stderr (messages, progress notes), sanitised
/// like stdout: it carries host names and remote errors too.
pub fn tell_line(s: &str) {
    eprintln!("{}", crate::util::sanitize(s.as_bytes()));
}

/// `tell!("{host}: {message}")`: a sanitised line on stderr.
macro_rules! tell {
    ($($arg:tt)*) => {
        $crate::cli::out::tell_line(&format!($($arg)*))
    };
}
pub(crate) use tell;

/// `say!("{} hosts", n)`: a line of human text on stdout.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::out::line(&format!($($arg)*))
    };
}
pub(crate) use say;
