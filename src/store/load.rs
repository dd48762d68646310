//! Reading and validating the hand-edited files.
//!
//! The fast path parses each file once with serde + `toml` (whose errors
//! carry a byte span). Only when something is wrong (a duplicate name) is the
//! text parsed again with `toml_edit` to find where.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::StoreError;
use crate::limits::{self, Key, Problem};
use crate::model::{BackupJob, Host, Settings, Vendor};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostsFile {
    #[serde(default)]
    pub host: Vec<Host>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VendorsFile {
    #[serde(default)]
    pub vendor: Vec<Vendor>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupsFile {
    #[serde(default)]
    pub backup: Vec<BackupJob>,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

pub(crate) fn parse_error(path: &Path, text: &str, offset: usize, message: String) -> StoreError {
    let (line, column) = line_col(text, offset);
    StoreError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Read a file's bytes. `Ok(None)` when it does not exist.
pub(crate) fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        }),
    }
}

/// Read a file as text. `Ok(None)` when it does not exist.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                let good = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let text = String::from_utf8_lossy(&bytes[..good]).into_owned();
                Err(parse_error(
                    path,
                    &text,
                    good,
                    "the file is not valid UTF-8".into(),
                ))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        }),
    }
}

/// serde + toml, with the error turned into `path:line:column: message`.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, StoreError> {
    toml::from_str::<T>(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        parse_error(path, text, offset, message)
    })
}

/// Byte offset of what a key path names (its key when it has one), or of
/// the nearest thing on the way when the path ends early; 0 when the text
/// does not parse.
pub(crate) fn locate_keys(text: &str, path: &[Key]) -> usize {
    use toml_edit::{Item, TableLike, Value};
    enum Cur<'a> {
        Table(&'a dyn TableLike),
        Item(&'a Item),
    }
    let Ok(doc) = toml_edit::Document::parse(text) else {
        // toml_edit refuses what serde's toml reads (an integer beyond
        // i64): find the key's line by its name
        let Some(Key::Name(last)) = path.iter().rev().find(|k| matches!(k, Key::Name(_))) else {
            return 0;
        };
        let mut off = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            if t.strip_prefix(last)
                .is_some_and(|r| r.trim_start().starts_with('='))
            {
                return off + (line.len() - t.len());
            }
            off += line.len();
        }
        return 0;
    };
    let mut cur = Cur::Table(doc.as_table());
    let mut best = 0;
    for seg in path {
        let next = match (cur, *seg) {
            (Cur::Table(t), Key::Name(k)) => t.get_key_value(k).map(|(key, item)| {
                if let Some(span) = key.span() {
                    best = span.start;
                }
                Cur::Item(item)
            }),
            (Cur::Item(item), Key::Name(k)) => item.as_table_like().and_then(|t| {
                t.get_key_value(k).map(|(key, item)| {
                    if let Some(span) = key.span() {
                        best = span.start;
                    }
                    Cur::Item(item)
                })
            }),
            (Cur::Item(Item::ArrayOfTables(a)), Key::Index(i)) => a.get(i).map(|t| {
                if let Some(span) = t.span() {
                    best = span.start;
                }
                Cur::Table(t as &dyn TableLike)
            }),
            (Cur::Item(Item::Value(Value::Array(a))), Key::Index(i)) => a.get(i).map(|v| {
                if let Some(span) = v.span() {
                    best = span.start;
                }
                Cur::Item(&Item::None)
            }),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    best
}

/// Where `[[ARRAY]]` number `index` has its key `key` (or its header).
fn locate(
    text: &str,
    array: &'static str,
    index: usize,
    sub: Option<(&'static str, usize)>,
    key: &'static str,
) -> usize {
    let mut path = vec![Key::Name(array), Key::Index(index)];
    if let Some((sub_key, sub_index)) = sub {
        path.push(Key::Name(sub_key));
        path.push(Key::Index(sub_index));
    }
    path.push(Key::Name(key));
    locate_keys(text, &path)
}

/// The first range problem of a file as `path:line:column: message`.
fn first_problem(path: &Path, text: &str, problems: Vec<Problem>) -> Result<(), StoreError> {
    match problems.into_iter().next() {
        None => Ok(()),
        Some(p) => Err(parse_error(path, text, locate_keys(text, &p.at), p.message)),
    }
}

/// First repeated name in `names`: (index of the repeat, index of the first).
fn first_duplicate<'a>(names: impl Iterator<Item = &'a str>) -> Option<(usize, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.enumerate() {
        if let Some(first) = seen.insert(n, i) {
            return Some((i, first));
        }
    }
    None
}

fn empty_name(
    path: &Path,
    text: &str,
    array: &'static str,
    index: usize,
    sub: Option<(&'static str, usize)>,
    key: &'static str,
) -> StoreError {
    let off = locate(text, array, index, sub, key);
    parse_error(path, text, off, format!("`{key}` must not be empty"))
}

pub(crate) fn parse_hosts(path: &Path, text: &str) -> Result<Vec<Host>, StoreError> {
    let file: HostsFile = deserialize(path, text)?;
    if let Some(i) = file.host.iter().position(|h| h.name.trim().is_empty()) {
        return Err(empty_name(path, text, "host", i, None, "name"));
    }
    if let Some((i, first)) = first_duplicate(file.host.iter().map(|h| h.name.as_str())) {
        let off = locate(text, "host", i, None, "name");
        let (first_line, _) = line_col(text, locate(text, "host", first, None, "name"));
        return Err(parse_error(
            path,
            text,
            off,
            format!(
                "duplicate host name `{}` (first defined on line {first_line}); host names must be unique",
                file.host[i].name
            ),
        ));
    }
    first_problem(path, text, limits::hosts(&file.host))?;
    // what reaches `ssh -G` and the user's `ssh` must be what it claims
    for (i, h) in file.host.iter().enumerate() {
        if let Err((key, message)) = crate::validate::host(h) {
            let off = locate(text, "host", i, None, key);
            return Err(parse_error(path, text, off, format!("{key}: {message}")));
        }
    }
    Ok(file.host)
}

pub(crate) fn parse_vendors(path: &Path, text: &str) -> Result<Vec<Vendor>, StoreError> {
    let file: VendorsFile = deserialize(path, text)?;
    if let Some(i) = file.vendor.iter().position(|v| v.name.trim().is_empty()) {
        return Err(empty_name(path, text, "vendor", i, None, "name"));
    }
    if let Some((i, first)) = first_duplicate(file.vendor.iter().map(|v| v.name.as_str())) {
        let off = locate(text, "vendor", i, None, "name");
        let (first_line, _) = line_col(text, locate(text, "vendor", first, None, "name"));
        return Err(parse_error(
            path,
            text,
            off,
            format!(
                "duplicate vendor name `{}` (first defined on line {first_line}); vendor names must be unique",
                file.vendor[i].name
            ),
        ));
    }
    for (vi, v) in file.vendor.iter().enumerate() {
        if let Some(ti) = v.tickets.iter().position(|t| t.reference.trim().is_empty()) {
            return Err(empty_name(
                path,
                text,
                "vendor",
                vi,
                Some(("ticket", ti)),
                "ref",
            ));
        }
        if let Some((ti, first)) = first_duplicate(v.tickets.iter().map(|t| t.reference.as_str())) {
            let off = locate(text, "vendor", vi, Some(("ticket", ti)), "ref");
            let (first_line, _) = line_col(
                text,
                locate(text, "vendor", vi, Some(("ticket", first)), "ref"),
            );
            return Err(parse_error(
                path,
                text,
                off,
                format!(
                    "duplicate ticket ref `{}` of vendor `{}` (first on line {first_line}); refs must be unique per vendor",
                    v.tickets[ti].reference, v.name
                ),
            ));
        }
    }
    Ok(file.vendor)
}

pub(crate) fn parse_backups(path: &Path, text: &str) -> Result<Vec<BackupJob>, StoreError> {
    let file: BackupsFile = deserialize(path, text)?;
    if let Some(i) = file.backup.iter().position(|b| b.name.trim().is_empty()) {
        return Err(empty_name(path, text, "backup", i, None, "name"));
    }
    if let Some((i, first)) = first_duplicate(file.backup.iter().map(|b| b.name.as_str())) {
        let off = locate(text, "backup", i, None, "name");
        let (first_line, _) = line_col(text, locate(text, "backup", first, None, "name"));
        return Err(parse_error(
            path,
            text,
            off,
            format!(
                "duplicate backup name `{}` (first defined on line {first_line}); backup names must be unique",
                file.backup[i].name
            ),
        ));
    }
    first_problem(path, text, limits::backups(&file.backup))?;
    Ok(file.backup)
}

pub(crate) fn parse_settings(path: &Path, text: &str) -> Result<Settings, StoreError> {
    let settings: Settings = deserialize(path, text)?;
    first_problem(path, text, limits::settings(&settings))?;
    Ok(settings)
}

/// Load one file: missing is empty.
pub(crate) fn load_file<T: Default>(
    path: &Path,
    parse: fn(&Path, &str) -> Result<T, StoreError>,
) -> Result<(T, Option<String>), StoreError> {
    match read_text(path)? {
        None => Ok((T::default(), None)),
        Some(text) => Ok((parse(path, &text)?, Some(text))),
    }
}

/// Things that are worth a warning but not a refusal: references to vendors or hosts that do not exist.
pub(crate) fn warnings(
    hosts: &[Host],
    vendors: &[Vendor],
    backups: &[BackupJob],
    paths: (&PathBuf, &PathBuf),
) -> Vec<String> {
    let (hosts_path, backups_path) = paths;
    let mut out = Vec::new();
    let vendor_names: std::collections::HashSet<&str> =
        vendors.iter().map(|v| v.name.as_str()).collect();
    let host_names: std::collections::HashSet<&str> =
        hosts.iter().map(|h| h.name.as_str()).collect();
    for h in hosts {
        if let Some(v) = &h.vendor {
            if !vendor_names.contains(v.as_str()) {
                out.push(format!(
                    "{}: host `{}` names vendor `{v}`, which is not in vendors.toml",
                    hosts_path.display(),
                    h.name
                ));
            }
        }
    }
    for b in backups {
        if b.host != "local" && !host_names.contains(b.host.as_str()) {
            out.push(format!(
                "{}: backup `{}` runs on host `{}`, which is not in hosts.toml",
                backups_path.display(),
                b.name,
                b.host
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 3));
        assert_eq!(line_col(t, 8), (3, 1));
        assert_eq!(line_col(t, 100), (3, 2));
    }

    fn err(text: &str) -> (usize, usize, String) {
        match parse_hosts(Path::new("h.toml"), text) {
            Err(StoreError::Parse {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn bad_hosts() {
        let (l, c, m) = err("[[host]]\nname = \"a\"\nport = \"x\"\n");
        assert_eq!((l, c), (3, 8), "{m}");
        let (l, c, m) = err("[[host]]\nname = \"a\"\n  colour = 1\n");
        assert_eq!((l, c), (3, 3), "{m}");
        assert!(m.contains("unknown field"), "{m}");
        let (l, c, m) = err("[[host]]\nname = \"a\"\n\n[[host]]\n name = \"a\"\n");
        assert_eq!((l, c), (5, 2), "{m}");
        assert!(m.contains("duplicate host name `a`"), "{m}");
        let (l, c, _) = err("[[host]]\nname = \"a\n");
        assert_eq!(l, 2);
        assert!(c > 1);
        let (l, _, m) = err("[[host]]\nname = \"a\"\npurchased = \"soon\"\n");
        assert_eq!(l, 3, "{m}");
        let (l, c, m) = err("[[host]]\nname = \"\"\n");
        assert_eq!((l, c), (2, 1), "{m}");
    }

    #[test]
    fn duplicate_ticket_refs() {
        let text = "[[vendor]]\nname = \"v\"\n[[vendor.ticket]]\nref = \"A\"\nsubject = \"x\"\n[[vendor.ticket]]\nref = \"A\"\nsubject = \"y\"\n";
        match parse_vendors(Path::new("v.toml"), text) {
            Err(StoreError::Parse { line, column, .. }) => assert_eq!((line, column), (7, 1)),
            other => panic!("{other:?}"),
        }
    }
}
