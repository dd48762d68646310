//! The sweep lock: one `opsdeck sweep` at a time per home. A second one
//! finds it held and leaves at once (exit 0, a line on stderr, nothing
//! touched). The lock is an advisory `flock` on `state/sweep.lock`: the
//! kernel drops it when its holder dies, even by `kill -9`, so a crashed
//! sweep never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::store::{Home, StoreError};

/// Held while a sweep runs; released on drop (or when the process dies).
pub struct SweepLock {
    _file: File,
}

pub fn path(home: &Home) -> PathBuf {
    home.state_dir.join("sweep.lock")
}

/// Why the lock was not taken.
pub enum Busy {
    /// Another sweep holds it (its pid when it wrote one).
    Held(Option<u32>),
    Error(StoreError),
}

impl SweepLock {
    /// Take the lock now, or say who holds it. Never waits.
    pub fn try_acquire(home: &Home) -> Result<SweepLock, Busy> {
        let p = path(home);
        let io = |what: &str, e: std::io::Error| {
            Busy::Error(StoreError::Io {
                path: p.clone(),
                message: format!("{what}: {e}"),
            })
        };
        crate::store::write::ensure_dir(&home.state_dir).map_err(Busy::Error)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
            .map_err(|e| io("cannot open the sweep lock", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Busy::Held(text.trim().parse().ok()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("cannot lock", e)),
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = writeln!(file, "{}", std::process::id());
        Ok(SweepLock { _file: file })
    }
}
