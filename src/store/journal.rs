//! state/journal.toml: an append-only list of `[[entry]]` tables. Entries are
//! appended as text (O_APPEND, one write per entry) under the lock, so the
//! file is never rewritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Deserialize;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use super::load::{deserialize, parse_error, read_text};
use super::write::ensure_dir;
use super::{Home, JournalEntry, StoreError};

/// The text of one entry, starting with a blank line.
pub(crate) fn render(entry: &JournalEntry) -> String {
    let mut t = Table::new();
    t.insert("at", Item::Value(Value::from(entry.at.as_str())));
    t.insert("who", Item::Value(Value::from(entry.who.as_str())));
    t.insert("action", Item::Value(Value::from(entry.action.as_str())));
    t.insert("target", Item::Value(Value::from(entry.target.as_str())));
    t.insert("result", Item::Value(Value::from(entry.result.as_str())));
    if !entry.details.is_empty() {
        let mut a = Array::new();
        for d in &entry.details {
            a.push(d.as_str());
        }
        t.insert("details", Item::Value(Value::Array(a)));
    }
    let mut aot = ArrayOfTables::new();
    aot.push(t);
    let mut doc = DocumentMut::new();
    doc.insert("entry", Item::ArrayOfTables(aot));
    format!("\n{}", doc.to_string().trim_start_matches('\n'))
}

/// Append one entry. The caller holds the lock.
pub(crate) fn append(home: &Home, entry: &JournalEntry) -> Result<(), StoreError> {
    ensure_dir(&home.state_dir)?;
    let path = home.journal_path();
    let text = render(entry);
    let io = |what: &str, e: std::io::Error| StoreError::Io {
        path: path.clone(),
        message: format!("{what}: {e}"),
    };
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io("cannot open the journal", e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io("cannot append to the journal", e))?;
    f.sync_data()
        .map_err(|e| io("cannot fsync the journal", e))?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    #[serde(default)]
    entry: Vec<JournalEntry>,
}

/// Read the journal. A damaged entry (a truncated last append, a hand edit
/// gone wrong) is reported with path:line:column and skipped; the other
/// entries are kept.
pub(crate) fn read(path: &Path) -> Result<(Vec<JournalEntry>, Vec<StoreError>), StoreError> {
    let Some(text) = read_text(path)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    if let Ok(f) = deserialize::<JournalFile>(path, &text) {
        return Ok((f.entry, Vec::new()));
    }
    // Slow path: entry by entry.
    let mut starts: Vec<usize> = Vec::new();
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("[[entry]]") {
            starts.push(off);
        }
        off += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let chunk = &text[start..end];
        if chunk.trim().is_empty() {
            continue;
        }
        match toml::from_str::<JournalFile>(chunk) {
            Ok(f) => entries.extend(f.entry),
            Err(e) => {
                let at = start + e.span().map(|s| s.start).unwrap_or(0);
                errors.push(parse_error(path, &text, at, e.message().trim().to_string()));
            }
        }
    }
    Ok((entries, errors))
}
