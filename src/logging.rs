//! Logging to a file in the state dir (the TUI) or to stderr (headless).
//!
//! The log file is `state/opsdeck.log`, mode 0600, appended to; when it has
//! grown past 5 MB it is renamed to `opsdeck.log.1` at start. `OPSDECK_LOG`
//! (an `EnvFilter` directive such as `debug` or `opsdeck::ssh=trace`)
//! overrides the level of the file. Nothing secret is logged: callers log
//! host names, commands and errors, never passwords or key material.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::{self, MakeWriter};
use tracing_subscriber::prelude::*;

use crate::store::Home;

/// Guard kept alive for the duration of the program (writes are synchronous:
/// nothing to flush at the end).
pub struct LogGuard;

const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

fn open_log(home: &Home) -> Option<File> {
    crate::store::write::ensure_dir(&home.state_dir).ok()?;
    let path = home.log_path();
    if let Ok(m) = std::fs::symlink_metadata(&path) {
        if m.file_type().is_file() && m.len() > MAX_LOG_BYTES {
            let _ = std::fs::rename(&path, path.with_extension("log.1"));
        }
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()
}

/// The log file, opened (and the state dir created) on the first line
/// written: a command that logs nothing creates nothing.
struct LazyLog {
    home: Home,
    file: Mutex<Option<Option<File>>>,
}

impl LazyLog {
    fn new(home: &Home) -> LazyLog {
        LazyLog {
            home: home.clone(),
            file: Mutex::new(None),
        }
    }
}

impl Write for &LazyLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let file = slot.get_or_insert_with(|| open_log(&self.home));
        match file {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LazyLog {
    type Writer = &'a LazyLog;
    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

fn file_filter(default: LevelFilter) -> EnvFilter {
    EnvFilter::builder()
        .with_default_directive(default.into())
        .with_env_var("OPSDECK_LOG")
        .from_env_lossy()
}

/// Headless commands: warnings to stderr (`-v` info, `-vv` debug, `-vvv`
/// trace); the same and at least info also appended to the log file.
pub fn init_headless(home: &Home, verbose: u8) -> LogGuard {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_filter(level);
    let file = fmt::layer()
        .with_writer(LazyLog::new(home))
        .with_ansi(false)
        .with_filter(file_filter(level.max(LevelFilter::INFO)));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    LogGuard
}

/// The TUI: everything to the log file only, never the screen.
pub fn init_tui(home: &Home) -> LogGuard {
    let file = fmt::layer()
        .with_writer(LazyLog::new(home))
        .with_ansi(false)
        .with_filter(file_filter(LevelFilter::INFO));
    let _ = tracing_subscriber::registry().with(file).try_init();
    LogGuard
}
