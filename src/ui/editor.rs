//! `E`: one record (a host, a vendor with its contacts and tickets, a
//! backup job) in the user's `$VISUAL` / `$EDITOR`, as k9s's `e` does.
//!
//! Decision (docs/decisions/tui.md): the record alone goes into a temp file
//! (`state/edit/KIND-NAME.toml`, 0600, in a 0700 directory), as the TOML
//! table it is, under a comment saying where it comes from; the editor
//! opens it at the table's first line. After the editor exits the text is
//! checked as the store checks the file (TOML, unknown keys, types, then
//! the same rules as the forms: host fields, the backup kind's fields,
//! names unique whatever their case). A text that fails is never written:
//! the error says `path:line:col` and offers to edit again (at that line)
//! or to discard. A text that passes goes through `Store::update_*` —
//! the same comment-keeping minimal edit as the forms: only the changed
//! keys of that one table change in the real file; its other comments,
//! order and formatting stay. (Comments typed into the temp file are not
//! carried over; the real file's are kept.)
//!
//! The suspend/resume is the loop's (src/ui/mod.rs), as for `s`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::PaneId;
use crate::model::{BackupJob, Host, Vendor};
use crate::store::{Home, Store, StoreError, StoreOp};
use crate::ui::validate::unique_name;

/// What kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Vendor,
    Backup,
}

impl Kind {
    /// The `[[table]]` name, also the file's word.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Vendor => "vendor",
            Kind::Backup => "backup",
        }
    }
    fn file(self) -> &'static str {
        match self {
            Kind::Host => "hosts.toml",
            Kind::Vendor => "vendors.toml",
            Kind::Backup => "backups.toml",
        }
    }
    pub fn pane(self) -> PaneId {
        match self {
            Kind::Host => PaneId::HOSTS,
            Kind::Vendor => PaneId::VENDORS,
            Kind::Backup => PaneId::BACKUPS,
        }
    }
}

/// One edit in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: Kind,
    /// The record's name before the edit.
    pub name: String,
    /// The temp file.
    pub path: PathBuf,
    /// What to put in it.
    pub text: String,
    /// The line to open it at (1-based).
    pub line: usize,
}

#[derive(Serialize)]
struct OneHost<'a> {
    host: [&'a Host; 1],
}
#[derive(Serialize)]
struct OneVendor<'a> {
    vendor: [&'a Vendor; 1],
}
#[derive(Serialize)]
struct OneBackup<'a> {
    backup: [&'a BackupJob; 1],
}

/// A file name part from a record name (anything odd becomes '_').
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// The directory of the temp files.
pub fn dir(home: &Home) -> PathBuf {
    home.state_dir.join("edit")
}

/// The edit of record `name` (None: there is no such record).
pub fn request(store: &Store, kind: Kind, name: &str) -> Option<Request> {
    let body = match kind {
        Kind::Host => toml::to_string(&OneHost {
            host: [store.host(name)?],
        }),
        Kind::Vendor => toml::to_string(&OneVendor {
            vendor: [store.vendor(name)?],
        }),
        Kind::Backup => toml::to_string(&OneBackup {
            backup: [store.backup(name)?],
        }),
    }
    .ok()?;
    let head = format!(
        "# {kind} `{name}` of {file}. Save and quit to write it back: only the\n\
         # keys you change are changed in {file}, its comments stay. Quit\n\
         # without saving to change nothing. Comments here are not kept.\n\n",
        kind = kind.table(),
        file = kind.file()
    );
    let line = head.lines().count() + 1;
    Some(Request {
        kind,
        name: name.to_string(),
        path: dir(&store.home).join(format!("{}-{}.toml", kind.table(), file_safe(name))),
        text: format!("{head}{body}"),
        line,
    })
}

/// The editor to run: `$VISUAL`, else `$EDITOR`, else `vi`; its words
/// ("code --wait" is two), `+LINE` for editors that take it, the file.
pub fn argv(editor: Option<&str>, path: &Path, line: usize) -> Vec<String> {
    let editor = editor
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or("vi");
    let mut v: Vec<String> = editor.split_whitespace().map(str::to_string).collect();
    let base = Path::new(&v[0])
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    const TAKE_PLUS_LINE: [&str; 14] = [
        "vi",
        "vim",
        "nvim",
        "view",
        "vim.basic",
        "vim.tiny",
        "nano",
        "pico",
        "emacs",
        "emacsclient",
        "micro",
        "joe",
        "mg",
        "kak",
    ];
    if TAKE_PLUS_LINE.contains(&base.as_str()) {
        v.push(format!("+{line}"));
    }
    v.push(path.display().to_string());
    v
}

/// The editor from the environment.
pub fn editor_from_env() -> Option<String> {
    std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok())
}

/// Why an edited text cannot be written: the message and, when it points
/// at a place, the line to reopen the editor at.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub message: String,
    pub line: Option<usize>,
}

fn problem(e: StoreError) -> Problem {
    let line = match &e {
        StoreError::Parse { line, .. } => Some(*line),
        _ => None,
    };
    Problem {
        message: e.to_string(),
        line,
    }
}

fn plain(path: &Path, message: impl std::fmt::Display) -> Problem {
    Problem {
        message: format!("{}: {message}", path.display()),
        line: None,
    }
}

fn exactly_one<T>(path: &Path, kind: Kind, mut v: Vec<T>) -> Result<T, Problem> {
    if v.len() != 1 {
        return Err(plain(
            path,
            format!(
                "exactly one [[{}]] table is expected, found {}",
                kind.table(),
                v.len()
            ),
        ));
    }
    Ok(v.remove(0))
}

/// Check an edited text; Ok: the store operation that writes it back and
/// the status line it gives. `Ok(None)`: nothing changed.
pub fn check(req: &Request, text: &str, store: &Store) -> Result<Option<StoreOp>, Problem> {
    let path = &req.path;
    let old = req.name.clone();
    match req.kind {
        Kind::Host => {
            let h = exactly_one(
                path,
                req.kind,
                crate::store::load::parse_hosts(path, text).map_err(problem)?,
            )?;
            if store.host(&old) == Some(&h) {
                return Ok(None);
            }
            use crate::ui::validate as v;
            type Check<'a> = (&'a str, Option<&'a str>, fn(&str) -> Result<(), String>);
            let checks: [Check; 4] = [
                ("name", Some(h.name.as_str()), v::host_name),
                ("address", h.address.as_deref(), v::address),
                ("user", h.user.as_deref(), v::user),
                ("jump", h.jump.as_deref(), v::jump),
            ];
            for (key, value, f) in checks {
                if let Some(value) = value {
                    f(value).map_err(|e| plain(path, format!("`{key}`: {e}")))?;
                }
            }
            if h.port == Some(0) {
                return Err(plain(path, "`port`: port 0 is out of range (1 to 65535)"));
            }
            unique_name(
                "host",
                store.hosts.iter().map(|x| x.name.as_str()),
                &h.name,
                Some(&old),
            )
            .map_err(|e| plain(path, e))?;
            let name = h.name.clone();
            Ok(Some(Box::new(move |s: &mut Store| {
                s.update_host(&old, h)?;
                Ok(format!("host {name} saved (edited in the editor)"))
            })))
        }
        Kind::Vendor => {
            let vd = exactly_one(
                path,
                req.kind,
                crate::store::load::parse_vendors(path, text).map_err(problem)?,
            )?;
            if store.vendor(&old) == Some(&vd) {
                return Ok(None);
            }
            unique_name(
                "vendor",
                store.vendors.iter().map(|x| x.name.as_str()),
                &vd.name,
                Some(&old),
            )
            .map_err(|e| plain(path, e))?;
            let name = vd.name.clone();
            Ok(Some(Box::new(move |s: &mut Store| {
                s.update_vendor(&old, vd)?;
                Ok(format!("vendor {name} saved (edited in the editor)"))
            })))
        }
        Kind::Backup => {
            let j = exactly_one(
                path,
                req.kind,
                crate::store::load::parse_backups(path, text).map_err(problem)?,
            )?;
            if store.backup(&old) == Some(&j) {
                return Ok(None);
            }
            crate::backups::fields::check_name(&j.name).map_err(|e| plain(path, e))?;
            crate::backups::validate(&j).map_err(|e| plain(path, e))?;
            if j.host != crate::backups::run::LOCAL && store.host(&j.host).is_none() {
                return Err(plain(
                    path,
                    format!(
                        "`host`: no host named {} in hosts.toml (local: the jump box)",
                        j.host
                    ),
                ));
            }
            unique_name(
                "backup job",
                store.backups.iter().map(|x| x.name.as_str()),
                &j.name,
                Some(&old),
            )
            .map_err(|e| plain(path, e))?;
            let name = j.name.clone();
            Ok(Some(Box::new(move |s: &mut Store| {
                s.update_backup(&old, j)?;
                Ok(format!("backup job {name} saved (edited in the editor)"))
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_that_take_a_line_get_it() {
        let p = Path::new("/s/edit/host-web1.toml");
        assert_eq!(
            argv(Some("vim"), p, 5),
            vec!["vim", "+5", "/s/edit/host-web1.toml"]
        );
        assert_eq!(
            argv(Some("code --wait"), p, 5),
            vec!["code", "--wait", "/s/edit/host-web1.toml"]
        );
        assert_eq!(argv(None, p, 2), vec!["vi", "+2", "/s/edit/host-web1.toml"]);
        assert_eq!(file_safe("a b/../c"), "a_b_.._c");
    }
}
