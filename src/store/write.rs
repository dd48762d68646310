//! Atomic writes (temp file in the same directory, fsync, rename, fsync of
//! the directory), `NAME.toml.bak`, and the lock that keeps two opsdeck
//! processes from interleaving their changes.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Home, StoreError};

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// Create a directory (and parents) with mode 0700 when it is new.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err(dir, "cannot create the directory", e))
}

/// The file that is really written: a symlinked config file (dotfiles kept
/// elsewhere) is written where the link points, so the link survives.
fn real_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    format!(".{name}.tmp-")
}

/// Test hook: with `OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS=N`, a save of a file
/// named like `OPSDECK_TEST_PAUSE_FILE` (default: any) says so on stderr and
/// sleeps N ms between the fsync of the temp file and the rename, so that a
/// test can kill the process there.
fn test_pause(target: &Path) {
    let Some(ms) = std::env::var("OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    if let Ok(only) = std::env::var("OPSDECK_TEST_PAUSE_FILE") {
        if target.file_name().and_then(|n| n.to_str()) != Some(only.as_str()) {
            return;
        }
    }
    eprintln!("opsdeck-test: paused before rename of {}", target.display());
    std::thread::sleep(Duration::from_millis(ms));
}

/// `O_NOFOLLOW`: open a file opsdeck owns in its home, never what a planted
/// symlink points to (the open fails with ELOOP instead).
pub(crate) const NOFOLLOW: i32 = libc::O_NOFOLLOW;

/// Test hook: with `OPSDECK_TEST_PAUSE_BEFORE_JOURNAL_MS=N`, a change says
/// so on stderr and sleeps N ms after its file was renamed into place and
/// before its journal entries are appended (the window a kill used to
/// leave a change without its entry).
pub(crate) fn test_pause_before_journal() {
    let Some(ms) = std::env::var("OPSDECK_TEST_PAUSE_BEFORE_JOURNAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    eprintln!("opsdeck-test: paused before the journal");
    std::thread::sleep(Duration::from_millis(ms));
}

/// Write `bytes` to `path` atomically, mode 0600. A symlink at `path` is
/// replaced, never followed (state files, output files).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_to(path.to_path_buf(), bytes)
}

/// Write atomically where `path` really is: a hand-edited file that is a
/// symlink (dotfiles kept elsewhere) is written where the link points, so
/// the link survives. Only for the user's own config files.
fn write_followed(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_to(real_target(path), bytes)
}

fn write_atomic_to(target: PathBuf, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    ensure_dir(&dir)?;
    let prefix = temp_prefix(&target);
    // Leftovers of a process killed mid-save (we hold the lock: nobody else
    // is writing one now).
    if let Ok(entries) = fs::read_dir(&dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, "cannot create a temporary file", e))?;
        f.write_all(bytes)
            .map_err(|e| io_err(&tmp, "cannot write", e))?;
        f.sync_all().map_err(|e| io_err(&tmp, "cannot fsync", e))?;
        drop(f);
        test_pause(&target);
        fs::rename(&tmp, &target).map_err(|e| io_err(&target, "cannot replace", e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // The rename is durable once the directory is.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub(crate) fn bak_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

/// Save a hand-edited file: the previous text (if any) to `NAME.toml.bak`,
/// then the new text, both atomically.
pub(crate) fn save(path: &Path, old: Option<&str>, new: &str) -> Result<(), StoreError> {
    if let Some(old) = old {
        write_atomic(&bak_path(&real_target(path)), old.as_bytes())?;
    }
    write_followed(path, new.as_bytes())
}

/// Serialises writers inside one process (the file lock alone would make a
/// second thread of the same process fail instead of wait).
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// The lock file held while a change is made. Released on drop.
pub(crate) struct Lock {
    _file: File,
    _guard: MutexGuard<'static, ()>,
}

fn lock_wait() -> Duration {
    std::env::var("OPSDECK_LOCK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(2))
}

pub(crate) fn lock_path(home: &Home) -> PathBuf {
    home.state_dir.join("opsdeck.lock")
}

impl Lock {
    /// Take the lock, retrying for about two seconds.
    pub(crate) fn acquire(home: &Home) -> Result<Lock, StoreError> {
        Self::acquire_within(home, lock_wait())
    }

    /// Take the lock if it is free right now (None: someone holds it).
    pub(crate) fn try_acquire(home: &Home) -> Option<Lock> {
        Self::acquire_within(home, Duration::ZERO).ok()
    }

    fn acquire_within(home: &Home, wait: Duration) -> Result<Lock, StoreError> {
        let guard = if wait.is_zero() {
            match IN_PROCESS.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        path: lock_path(home),
                        message: "busy".into(),
                    })
                }
            }
        } else {
            IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner())
        };
        ensure_dir(&home.state_dir)?;
        let path = lock_path(home);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(NOFOLLOW)
            .open(&path)
            .map_err(|e| io_err(&path, "cannot open the lock file", e))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        let mut holder = String::new();
                        let _ = file.read_to_string(&mut holder);
                        let who = match holder.trim().parse::<u32>() {
                            Ok(pid) => format!("another opsdeck (pid {pid})"),
                            Err(_) => "another opsdeck".to_string(),
                        };
                        return Err(StoreError::Locked {
                            path,
                            message: format!("{who} is changing the files; try again"),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_err(&path, "cannot lock", e));
                }
            }
        }
        // Say who holds it (for the message of the next one).
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = writeln!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(Lock {
            _file: file,
            _guard: guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_mode_and_bak() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        save(&p, None, "a = 1\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a = 1\n");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!bak_path(&p).exists());
        save(&p, Some("a = 1\n"), "a = 2\n").unwrap();
        assert_eq!(fs::read_to_string(bak_path(&p)).unwrap(), "a = 1\n");
        assert_eq!(
            fs::metadata(bak_path(&p)).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // no temp files left behind
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn symlink_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        fs::write(&real, "a = 1\n").unwrap();
        let link = dir.path().join("hosts.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, Some("a = 1\n"), "a = 2\n").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "a = 2\n");
    }
}
