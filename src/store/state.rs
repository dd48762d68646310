//! The state files under state/: latest results, one array of tables per
//! file, merged by key, written atomically (mode 0600).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{de::DeserializeOwned, Serialize};

use super::load::{deserialize, read_text};
use super::write::write_atomic;
use super::{Home, StateKind, StoreError};

impl StateKind {
    /// File name under state/ and the array key inside it.
    pub fn file_and_key(self) -> (&'static str, &'static str) {
        match self {
            StateKind::Checks => ("checks.toml", "check"),
            StateKind::Patches => ("patches.toml", "patch"),
            StateKind::Backups => ("backups.toml", "backup"),
            StateKind::SecuritySince => ("security_since.toml", "host"),
        }
    }
}

pub(crate) fn path(home: &Home, kind: StateKind) -> PathBuf {
    home.state_dir.join(kind.file_and_key().0)
}

/// Items of a state file. An item that no longer fits the type (written by
/// another version) is skipped with a warning.
pub(crate) fn load<T: DeserializeOwned>(
    home: &Home,
    kind: StateKind,
) -> Result<Vec<T>, StoreError> {
    let path = path(home, kind);
    let Some(text) = read_text(&path)? else {
        return Ok(Vec::new());
    };
    let mut table: toml::Table = deserialize(&path, &text)?;
    let key = kind.file_and_key().1;
    let Some(toml::Value::Array(items)) = table.remove(key) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.try_into::<T>() {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!("{}: skipping an item: {}", path.display(), e.message()),
        }
    }
    Ok(out)
}

/// Replace the whole list of a state file; the caller holds the lock.
pub(crate) fn replace<T: Serialize>(
    home: &Home,
    kind: StateKind,
    items: &[T],
) -> Result<(), StoreError> {
    let path = path(home, kind);
    let mut doc = BTreeMap::new();
    doc.insert(kind.file_and_key().1, items);
    let text = toml::to_string(&doc).map_err(|e| StoreError::Io {
        path: path.clone(),
        message: format!("cannot serialise the state: {e}"),
    })?;
    write_atomic(&path, text.as_bytes())
}

/// Merge `items` by key; the caller holds the lock. A state file that does
/// not parse is opsdeck's own, not the user's: it is moved aside to
/// `NAME.corrupt` and started afresh. Returns the whole merged list, as
/// written (so callers need not read the file again).
pub(crate) fn merge<T: Serialize + DeserializeOwned>(
    home: &Home,
    kind: StateKind,
    items: Vec<T>,
    key: fn(&T) -> &str,
) -> Result<Vec<T>, StoreError> {
    let path = path(home, kind);
    let mut current: Vec<T> = match load(home, kind) {
        Ok(v) => v,
        Err(e @ StoreError::Parse { .. }) => {
            let aside = path.with_extension("toml.corrupt");
            tracing::warn!("{e}; moved aside to {}", aside.display());
            let _ = std::fs::rename(&path, &aside);
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    for item in items {
        match current.iter().position(|c| key(c) == key(&item)) {
            Some(i) => current[i] = item,
            None => current.push(item),
        }
    }
    replace(home, kind, &current)?;
    Ok(current)
}
