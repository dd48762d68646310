//! state/journal.toml: an append-only list of `[[entry]]` tables. Entries are
//! appended as text (O_APPEND, one write per entry) under the lock, so the
//! file is never rewritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Deserialize;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use super::load::{deserialize, read_bytes};
use super::write::ensure_dir;
use super::{Home, JournalEntry, StoreError};

/// Bounds of what one entry keeps: each field and detail line at most
/// [`FIELD_MAX`] characters, at most [`DETAILS_MAX`] detail lines. Remote
/// text (a host's error, a 10 MB line) never makes the journal grow by more.
pub const FIELD_MAX: usize = 4096;
pub const DETAILS_MAX: usize = 500;

/// The text of one entry, starting with a blank line. Every field is
/// sanitized (no escape sequences) and bounded.
pub(crate) fn render(entry: &JournalEntry) -> String {
    let clean = |s: &str| crate::util::excerpt(&crate::util::sanitize(s.as_bytes()), FIELD_MAX);
    let mut t = Table::new();
    t.insert("at", Item::Value(Value::from(clean(&entry.at))));
    t.insert("who", Item::Value(Value::from(clean(&entry.who))));
    t.insert("action", Item::Value(Value::from(clean(&entry.action))));
    t.insert("target", Item::Value(Value::from(clean(&entry.target))));
    t.insert("result", Item::Value(Value::from(clean(&entry.result))));
    if !entry.details.is_empty() {
        let mut a = Array::new();
        for d in entry.details.iter().take(DETAILS_MAX) {
            a.push(clean(d));
        }
        if entry.details.len() > DETAILS_MAX {
            a.push(format!(
                "… {} more lines not kept",
                entry.details.len() - DETAILS_MAX
            ));
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
        .custom_flags(super::write::NOFOLLOW)
        .open(&path)
        .map_err(|e| io("cannot open the journal", e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io("cannot append to the journal", e))?;
    f.sync_data()
        .map_err(|e| io("cannot fsync the journal", e))?;
    Ok(())
}

/// `state/journal.pending`: the entries of a change, written before the
/// changed file is renamed into place, removed once they are in the
/// journal. A process killed in between leaves it behind; the next writer
/// (or the next start) completes it: entries of a change that landed are
/// appended, those of a change that did not are dropped.
#[derive(serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pending {
    /// The file the change writes.
    path: String,
    /// SHA-256 (hex) of its new text: it landed when the file has it.
    sha256: String,
    #[serde(default)]
    entry: Vec<JournalEntry>,
}

pub(crate) fn pending_path(home: &Home) -> std::path::PathBuf {
    home.state_dir.join("journal.pending")
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Record the intent of a change (the caller holds the lock).
pub(crate) fn intend(
    home: &Home,
    target: &Path,
    new_text: &str,
    entries: &[JournalEntry],
) -> Result<(), StoreError> {
    let p = Pending {
        path: target.to_string_lossy().into_owned(),
        sha256: sha256_hex(new_text.as_bytes()),
        entry: entries.to_vec(),
    };
    let text = toml::to_string(&p).map_err(|e| StoreError::Io {
        path: pending_path(home),
        message: format!("cannot serialise the journal intent: {e}"),
    })?;
    super::write::write_atomic(&pending_path(home), text.as_bytes())
}

/// The change landed: journal its entries and drop the intent (the caller
/// holds the lock).
pub(crate) fn complete(home: &Home, entries: &[JournalEntry]) -> Result<(), StoreError> {
    for e in entries {
        append(home, e)?;
    }
    let _ = std::fs::remove_file(pending_path(home));
    Ok(())
}

/// Finish what a killed writer left (the caller holds the lock). Returns
/// how many entries were appended.
pub(crate) fn recover(home: &Home) -> Result<usize, StoreError> {
    let path = pending_path(home);
    let Some(bytes) = read_bytes(&path)? else {
        return Ok(0);
    };
    let pending = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| toml::from_str::<Pending>(t).ok());
    let Some(p) = pending else {
        tracing::warn!("{}: unreadable journal intent dropped", path.display());
        let _ = std::fs::remove_file(&path);
        return Ok(0);
    };
    let landed = std::fs::read(&p.path)
        .map(|b| sha256_hex(&b) == p.sha256)
        .unwrap_or(false);
    let mut appended = 0;
    if landed {
        // killed after appending but before removing the intent: the
        // journal already ends with these entries
        let (journal, _) = read(&home.journal_path())?;
        let already = journal.len() >= p.entry.len()
            && journal[journal.len() - p.entry.len()..] == p.entry[..];
        if !already {
            for e in &p.entry {
                append(home, e)?;
            }
            appended = p.entry.len();
            tracing::warn!(
                "{}: a change was made but not journaled (opsdeck was stopped); journaled now",
                p.path
            );
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(appended)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    #[serde(default)]
    entry: Vec<JournalEntry>,
}

/// Read the journal. A damaged entry (a truncated last append, a hand edit
/// gone wrong, junk bytes, invalid UTF-8) is reported with path:line:column
/// and skipped; the other entries are kept. Only an unreadable file (I/O)
/// is an error.
pub(crate) fn read(path: &Path) -> Result<(Vec<JournalEntry>, Vec<StoreError>), StoreError> {
    let Some(bytes) = read_bytes(path)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    if let Ok(text) = std::str::from_utf8(&bytes) {
        if let Ok(f) = deserialize::<JournalFile>(path, text) {
            return Ok((f.entry, Vec::new()));
        }
    }
    // Slow path: entry by entry, on bytes (a damaged entry may not be UTF-8).
    let mut starts: Vec<usize> = Vec::new();
    let mut off = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.trim_ascii() == b"[[entry]]" {
            starts.push(off);
        }
        off += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let line_of = |at: usize| {
        bytes[..at.min(bytes.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let skipped = |at: usize, why: String| StoreError::Parse {
        path: path.to_path_buf(),
        line: line_of(at),
        column: 1,
        message: format!("{why}; entry skipped"),
    };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
        let chunk = &bytes[start..end];
        if chunk.trim_ascii().is_empty() {
            continue;
        }
        let Ok(chunk) = std::str::from_utf8(chunk) else {
            errors.push(skipped(start, "not valid UTF-8".into()));
            continue;
        };
        match toml::from_str::<JournalFile>(chunk) {
            Ok(f) if !f.entry.is_empty() => entries.extend(f.entry),
            Ok(_) => errors.push(skipped(start, "not an entry".into())),
            Err(e) => {
                let (line, column) =
                    super::load::line_col(chunk, e.span().map(|s| s.start).unwrap_or(0));
                errors.push(StoreError::Parse {
                    path: path.to_path_buf(),
                    line: line_of(start) + line - 1,
                    column,
                    message: format!("{}; entry skipped", e.message().trim()),
                });
            }
        }
    }
    Ok((entries, errors))
}
