//! The state files under state/: latest results, one array of tables per
//! file, merged by key, written atomically (mode 0600).
//!
//! State is a cache of what the checks found: reading it never fails a
//! command. A damaged file (a hand edit, a disk error, junk bytes) is read
//! entry by entry; what parses is kept, what does not is counted and named
//! ([`StateRead::problems`]), and before the next write replaces it the
//! damaged file is copied to `NAME.toml.damaged` so nothing is lost
//! silently. Values TOML cannot hold (integers above i64::MAX, which a host
//! can report) are written clamped to i64::MAX, so that every file opsdeck
//! writes loads again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use super::load::{line_col, read_bytes};
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
            StateKind::Watch => ("watch.toml", "item"),
            StateKind::Audit => ("audit.toml", "host"),
            StateKind::Security => ("security.toml", "item"),
        }
    }
}

pub(crate) fn path(home: &Home, kind: StateKind) -> PathBuf {
    home.state_dir.join(kind.file_and_key().0)
}

/// What a state file held, and what could not be read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRead<T> {
    pub items: Vec<T>,
    /// One line per skipped entry or unreadable file (path:line: why).
    pub problems: Vec<String>,
}

impl<T> Default for StateRead<T> {
    fn default() -> Self {
        StateRead {
            items: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Read a state file: never an error. Missing: empty.
pub(crate) fn load<T: DeserializeOwned>(home: &Home, kind: StateKind) -> StateRead<T> {
    let path = path(home, kind);
    let bytes = match read_bytes(&path) {
        Ok(None) => return StateRead::default(),
        Ok(Some(b)) => b,
        Err(e) => {
            tracing::warn!("{e}; its results are unknown for now");
            return StateRead {
                items: Vec::new(),
                problems: vec![format!("{e}; its results are unknown for now")],
            };
        }
    };
    let read = parse(&path, &bytes, kind.file_and_key().1);
    for p in &read.problems {
        tracing::warn!("{p}");
    }
    read
}

/// The entries of a state file's text. Fast path: the whole file; when it
/// does not parse, entry by entry (each `[[KEY]]` table alone).
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8], key: &str) -> StateRead<T> {
    let text = String::from_utf8_lossy(bytes);
    let mut read = StateRead::default();
    if let Ok(mut table) = toml::from_str::<toml::Table>(&text) {
        if let Some(toml::Value::Array(items)) = table.remove(key) {
            for (i, item) in items.into_iter().enumerate() {
                match item.try_into::<T>() {
                    Ok(t) => read.items.push(t),
                    Err(e) => read.problems.push(format!(
                        "{}: entry {} skipped: {}",
                        path.display(),
                        i + 1,
                        e.message().trim()
                    )),
                }
            }
        }
        return read;
    }
    // Slow path: every `[[KEY]]` table alone.
    let header = format!("[[{key}]]");
    let mut starts: Vec<usize> = Vec::new();
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == header {
            starts.push(off);
        }
        off += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let chunk = &text[start..end];
        if chunk.trim().is_empty() {
            continue;
        }
        let (line, _) = line_col(&text, start);
        let parsed = toml::from_str::<toml::Table>(chunk)
            .map_err(|e| e.message().trim().to_string())
            .and_then(|mut t| match t.remove(key) {
                Some(toml::Value::Array(items)) => items
                    .into_iter()
                    .map(|v| {
                        v.try_into::<T>()
                            .map_err(|e| e.message().trim().to_string())
                    })
                    .collect::<Result<Vec<T>, String>>(),
                _ if chunk.trim_start().starts_with(&header) => Err("not an entry".into()),
                // text before the first entry that is not an entry: junk
                _ => Err("unreadable text".into()),
            });
        match parsed {
            Ok(items) => read.items.extend(items),
            Err(why) => read
                .problems
                .push(format!("{}:{line}: entry skipped: {why}", path.display())),
        }
    }
    if read.problems.is_empty() {
        // e.g. a stray key outside any entry that made the whole file fail
        read.problems.push(format!(
            "{}: damaged; every entry that parses was kept",
            path.display()
        ));
    }
    read
}

/// Serde data as TOML that loads again: integers beyond i64 clamped, values
/// TOML has no form for (null) left out.
fn toml_value(v: serde_json::Value) -> Option<toml::Value> {
    use serde_json::Value as J;
    Some(match v {
        J::Null => return None,
        J::Bool(b) => toml::Value::Boolean(b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => toml::Value::Integer(i),
            (None, Some(_), _) => toml::Value::Integer(i64::MAX),
            (None, None, Some(f)) => toml::Value::Float(f),
            _ => return None,
        },
        J::String(s) => toml::Value::String(s),
        J::Array(a) => toml::Value::Array(a.into_iter().filter_map(toml_value).collect()),
        J::Object(o) => toml::Value::Table(
            o.into_iter()
                .filter_map(|(k, v)| Some((k, toml_value(v)?)))
                .collect(),
        ),
    })
}

/// The text of a state file holding `items` under `key`.
pub(crate) fn render<T: Serialize>(key: &str, items: &[T]) -> Result<String, String> {
    let json = serde_json::to_value(items).map_err(|e| e.to_string())?;
    let mut doc = BTreeMap::new();
    doc.insert(
        key,
        toml_value(json).unwrap_or(toml::Value::Array(Vec::new())),
    );
    toml::to_string(&doc).map_err(|e| e.to_string())
}

/// Replace the whole list of a state file; the caller holds the lock.
pub(crate) fn replace<T: Serialize>(
    home: &Home,
    kind: StateKind,
    items: &[T],
) -> Result<(), StoreError> {
    let path = path(home, kind);
    let text = render(kind.file_and_key().1, items).map_err(|e| StoreError::Io {
        path: path.clone(),
        message: format!("cannot serialise the state: {e}"),
    })?;
    write_atomic(&path, text.as_bytes())
}

/// Where a damaged state file is kept before it is replaced.
pub fn damaged_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".damaged");
    path.with_file_name(name)
}

/// Merge `items` by key; the caller holds the lock. A damaged file keeps
/// every entry that parses; a copy of it goes to `NAME.toml.damaged` before
/// it is replaced. Returns the whole merged list, as written (so callers
/// need not read the file again).
pub(crate) fn merge<T: Serialize + DeserializeOwned>(
    home: &Home,
    kind: StateKind,
    items: Vec<T>,
    key: fn(&T) -> &str,
) -> Result<Vec<T>, StoreError> {
    let path = path(home, kind);
    let read = load::<T>(home, kind);
    if !read.problems.is_empty() {
        let aside = damaged_path(&path);
        match std::fs::copy(&path, &aside) {
            Ok(_) => tracing::warn!(
                "{}: damaged; {} entries recovered, the damaged file kept as {}",
                path.display(),
                read.items.len(),
                aside.display()
            ),
            Err(e) => tracing::warn!("{}: damaged, and cannot keep a copy: {e}", path.display()),
        }
    }
    let mut current = read.items;
    for item in items {
        match current.iter().position(|c| key(c) == key(&item)) {
            Some(i) => current[i] = item,
            None => current.push(item),
        }
    }
    replace(home, kind, &current)?;
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Item {
        name: String,
        size: u64,
        pct: f64,
    }

    #[test]
    fn numbers_toml_cannot_hold_are_clamped_and_load_again() {
        let items = vec![Item {
            name: "a".into(),
            size: u64::MAX,
            pct: 1.5,
        }];
        let text = render("item", &items).unwrap();
        let back: StateRead<Item> = parse(Path::new("x.toml"), text.as_bytes(), "item");
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        assert_eq!(back.items[0].size, i64::MAX as u64);
        assert_eq!(back.items[0].pct, 1.5);
    }

    #[test]
    fn a_damaged_entry_costs_only_itself() {
        let text = "[[item]]\nname = \"a\"\nsize = 1\npct = 1.0\n\n[[item]]\nname = \"b\"\nsize = \x01\x02 junk\n\n[[item]]\nname = \"c\"\nsize = 3\npct = 3.0\n";
        let r: StateRead<Item> = parse(Path::new("x.toml"), text.as_bytes(), "item");
        let names: Vec<&str> = r.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0].starts_with("x.toml:6: entry skipped"),
            "{:?}",
            r.problems
        );
        // invalid UTF-8 in the middle: the same
        let mut bytes = text.replace("\x01\x02 junk", "2\npct = 2.0").into_bytes();
        bytes.splice(5..5, [0xff, 0xfe]);
        let r: StateRead<Item> = parse(Path::new("x.toml"), &bytes, "item");
        assert_eq!(r.items.len(), 2, "{:?}", r);
    }
}
