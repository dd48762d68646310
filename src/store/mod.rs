//! The TOML files: locations, load and validate, comment-preserving edits,
//! atomic writes with a lock, the journal and the state files. The only code
//! that touches the files.
//!
//! Layout: `load` (read + validate, path:line:column errors), `edit`
//! (comment-preserving toml_edit changes), `write` (atomic writes, `.bak`,
//! the lock), `journal` (append-only state/journal.toml), `state` (latest
//! results under state/). Every change: take the lock, re-read the file,
//! refuse if it does not parse, apply a minimal edit, check the result
//! parses, write atomically keeping `NAME.toml.bak`, journal it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{exit, Failure};
use crate::model::{BackupJob, Date, Host, Settings, Ticket, TicketStatus, Vendor};

pub mod edit;
pub mod journal;
pub mod load;
pub mod state;
pub mod write;

pub use load::line_col;
pub use state::{damaged_path, StateRead};

/// Where the files are.
#[derive(Debug, Clone, PartialEq)]
pub struct Home {
    /// Hand-edited files: opsdeck.toml, hosts.toml, backups.toml, vendors.toml.
    pub config_dir: PathBuf,
    /// State: latest results, journal.toml, the lock, the log.
    pub state_dir: PathBuf,
}

impl Home {
    /// `--home DIR` beats `OPSDECK_HOME=DIR` beats the platform directories.
    pub fn resolve(flag: Option<&Path>) -> Result<Home, StoreError> {
        let from_env = std::env::var_os("OPSDECK_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        if let Some(dir) = flag.map(Path::to_path_buf).or(from_env) {
            return Ok(Home::under(dir));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "opsdeck").ok_or_else(|| StoreError::Io {
                path: PathBuf::from("~"),
                message: "cannot find the home directory; set OPSDECK_HOME or pass --home DIR"
                    .into(),
            })?;
        Ok(Home {
            config_dir: dirs.config_dir().to_path_buf(),
            state_dir: dirs.data_dir().join("state"),
        })
    }

    /// Everything under one directory (`--home`, `OPSDECK_HOME`, tests).
    pub fn under(dir: impl Into<PathBuf>) -> Home {
        let dir = dir.into();
        Home {
            state_dir: dir.join("state"),
            config_dir: dir,
        }
    }

    pub fn settings_path(&self) -> PathBuf {
        self.config_dir.join("opsdeck.toml")
    }
    pub fn hosts_path(&self) -> PathBuf {
        self.config_dir.join("hosts.toml")
    }
    pub fn backups_path(&self) -> PathBuf {
        self.config_dir.join("backups.toml")
    }
    pub fn vendors_path(&self) -> PathBuf {
        self.config_dir.join("vendors.toml")
    }
    pub fn journal_path(&self) -> PathBuf {
        self.state_dir.join("journal.toml")
    }
    pub fn log_path(&self) -> PathBuf {
        self.state_dir.join("opsdeck.log")
    }

    /// Refuse a home another user could plant files in: the config and
    /// state directories (and the state directory's parent, when it is not
    /// the config directory) must belong to the user running opsdeck (or to
    /// root) and be writable by nobody else, as OpenSSH's StrictModes asks
    /// of `~/.ssh`. Directories that do not exist yet are created 0700 by
    /// opsdeck itself. Files inside are opened without following symlinks.
    pub fn check_safe(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid never fails.
        let me = unsafe { libc::geteuid() };
        let mut dirs = vec![self.config_dir.as_path(), self.state_dir.as_path()];
        if let Some(parent) = self.state_dir.parent() {
            if parent != self.config_dir {
                dirs.push(parent);
            }
        }
        for dir in dirs {
            let m = match std::fs::metadata(dir) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StoreError::Io {
                        path: dir.to_path_buf(),
                        message: format!("cannot inspect: {e}"),
                    })
                }
            };
            let unsafe_dir = |why: String| StoreError::Unsafe {
                path: dir.to_path_buf(),
                message: why,
            };
            if !m.is_dir() {
                return Err(unsafe_dir("is not a directory".into()));
            }
            if m.uid() != me && m.uid() != 0 {
                return Err(unsafe_dir(format!(
                    "belongs to {} (uid {}), not to you ({}): another user could plant \
                     links there that opsdeck would follow. Use a home of your own \
                     (--home DIR or OPSDECK_HOME), or take this one over (chown)",
                    crate::util::user_name(m.uid()).unwrap_or_else(|| "another user".into()),
                    m.uid(),
                    crate::util::local_user()
                )));
            }
            if m.mode() & 0o022 != 0 {
                return Err(unsafe_dir(format!(
                    "can be written by other users (mode {:o}): fix it with `chmod go-w {}`",
                    m.mode() & 0o777,
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// Does not parse, wrong type, unknown key, duplicate name, invalid value.
    /// Displayed as `path:line:column: message`; exit 78.
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    Io {
        path: PathBuf,
        message: String,
    },
    /// Another opsdeck is writing; exit 75.
    Locked {
        path: PathBuf,
        message: String,
    },
    /// A host/vendor/ticket/backup that does not exist; exit 66.
    NotFound {
        what: &'static str,
        name: String,
    },
    /// A name that exists already; exit 65-like usage error (64).
    Duplicate {
        what: &'static str,
        name: String,
    },
    /// A value the user gave is not acceptable (exit 64).
    Invalid {
        message: String,
    },
    /// A home or state directory opsdeck must not use (exit 77).
    Unsafe {
        path: PathBuf,
        message: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Parse {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}:{}:{}: {}", path.display(), line, column, message)
            }
            StoreError::Io { path, message } => write!(f, "{}: {}", path.display(), message),
            StoreError::Locked { path, message } => write!(f, "{}: {}", path.display(), message),
            StoreError::NotFound { what, name } => write!(f, "no {what} named `{name}`"),
            StoreError::Duplicate { what, name } => {
                write!(f, "a {what} named `{name}` exists already")
            }
            StoreError::Invalid { message } => f.write_str(message),
            StoreError::Unsafe { path, message } => {
                write!(
                    f,
                    "refusing the opsdeck home {}: it {message}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StoreError::Parse { .. } => exit::CONFIG,
            StoreError::Io { .. } => exit::IOERR,
            StoreError::Locked { .. } => exit::TEMPFAIL,
            StoreError::NotFound { .. } => exit::NOINPUT,
            StoreError::Duplicate { .. } | StoreError::Invalid { .. } => exit::USAGE,
            StoreError::Unsafe { .. } => exit::NOPERM,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::new(e.exit_code(), e.to_string())
    }
}

/// One `[[entry]]` of state/journal.toml.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct JournalEntry {
    /// RFC 3339 UTC.
    pub at: String,
    /// Local user.
    pub who: String,
    /// What was done: "host.add", "vendor.edit", "ticket.close", "check", "patch.apply", ...
    pub action: String,
    /// What it was done to: a host, vendor, backup, "all", ...
    pub target: String,
    /// "ok", or what went wrong.
    pub result: String,
    /// Free-form lines (packages changed, exit status, duration, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl JournalEntry {
    /// An entry stamped now, by the local user.
    pub fn now(action: &str, target: &str, result: &str) -> JournalEntry {
        JournalEntry {
            at: crate::util::now_rfc3339(),
            who: crate::util::local_user(),
            action: action.into(),
            target: target.into(),
            result: result.into(),
            details: Vec::new(),
        }
    }
}

/// The state files under state/: latest results, merged by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// state/checks.toml, `[[check]]` of CheckResult, keyed by host.
    Checks,
    /// state/patches.toml, `[[patch]]` of PatchReport, keyed by host.
    Patches,
    /// state/backups.toml, `[[backup]]` of BackupResult, keyed by name.
    Backups,
    /// state/security_since.toml, `[[host]]`: when security updates were
    /// first seen pending per host (the Overview's "pending for N days").
    SecuritySince,
    /// state/watch.toml, `[[item]]`: the watch's forecasts and anomalies of
    /// the last sweep (Overview items), replaced by each sweep.
    Watch,
    /// state/audit.toml, `[[host]]` of HostAudit, keyed by host.
    Audit,
    /// state/security.toml, `[[item]]`: the audit's findings and
    /// certificates as Overview items.
    Security,
}

/// A change to make through a [`Store`], run later by whoever owns the
/// writing (the TUI's writer thread runs them one at a time, in order).
/// Returns the status line text on success.
pub type StoreOp = Box<dyn FnOnce(&mut Store) -> Result<String, StoreError> + Send>;

/// All files, loaded and validated.
#[derive(Debug, Clone)]
pub struct Store {
    pub home: Home,
    pub settings: Settings,
    pub hosts: Vec<Host>,
    pub vendors: Vec<Vendor>,
    pub backups: Vec<BackupJob>,
}

/// The result of an edit function: the new text, what to return, what to journal.
struct Edit<R> {
    text: String,
    value: R,
    entries: Vec<JournalEntry>,
}

/// The result of a loading thread (a panic there becomes an error).
fn joined<T>(r: std::thread::Result<Result<T, StoreError>>, path: &Path) -> Result<T, StoreError> {
    r.unwrap_or_else(|_| {
        Err(StoreError::Io {
            path: path.to_path_buf(),
            message: "internal error while loading".into(),
        })
    })
}

/// Today in the local time zone.
pub fn today() -> Date {
    jiff::Zoned::now().date()
}

/// A name opsdeck can use as a host name ([`crate::validate::host_name`]).
pub fn check_host_name(name: &str) -> Result<(), StoreError> {
    crate::validate::host_name(name).map_err(|message| StoreError::Invalid { message })
}

/// Every connection field of a host ([`crate::validate::host`]).
pub fn check_host(h: &Host) -> Result<(), StoreError> {
    crate::validate::host(h).map_err(|(key, message)| StoreError::Invalid {
        message: format!("host `{}`: {key}: {message}", h.name),
    })
}

fn check_vendor(v: &Vendor) -> Result<(), StoreError> {
    if v.name.trim().is_empty() {
        return Err(StoreError::Invalid {
            message: "a vendor needs a name".into(),
        });
    }
    let mut refs = std::collections::HashSet::new();
    for t in &v.tickets {
        if t.reference.trim().is_empty() {
            return Err(StoreError::Invalid {
                message: format!("vendor `{}`: a ticket needs a reference", v.name),
            });
        }
        if !refs.insert(t.reference.as_str()) {
            return Err(StoreError::Duplicate {
                what: "ticket",
                name: t.reference.clone(),
            });
        }
    }
    if v.contacts.iter().any(|c| c.name.trim().is_empty()) {
        return Err(StoreError::Invalid {
            message: format!("vendor `{}`: a contact needs a name", v.name),
        });
    }
    Ok(())
}

fn entry(action: &str, target: &str, details: Vec<String>) -> JournalEntry {
    let mut e = JournalEntry::now(action, target, "ok");
    e.details = details;
    e
}

/// Hosts, vendors and backup jobs: `[[NAME]]` tables with a unique `name`,
/// added, edited and removed alike.
trait Named: Clone {
    /// The array name, the word in messages and the journal prefix.
    const WHAT: &'static str;
    fn name(&self) -> &str;
    /// Replace `old` by `new` in the file text, touching only changed keys.
    fn update_text(
        path: &Path,
        text: &str,
        old: &Self,
        new: &Self,
    ) -> Result<(String, edit::Changes), StoreError>;
}

macro_rules! named {
    ($t:ty, $what:literal, $update:path) => {
        impl Named for $t {
            const WHAT: &'static str = $what;
            fn name(&self) -> &str {
                &self.name
            }
            fn update_text(
                path: &Path,
                text: &str,
                old: &Self,
                new: &Self,
            ) -> Result<(String, edit::Changes), StoreError> {
                $update(path, text, old, new)
            }
        }
    };
}

named!(Host, "host", edit::update_host);
named!(Vendor, "vendor", edit::update_vendor);
named!(BackupJob, "backup", edit::update_backup);

fn find_named<'a, T: Named>(items: &'a [T], name: &str) -> Result<&'a T, StoreError> {
    items
        .iter()
        .find(|x| x.name() == name)
        .ok_or_else(|| StoreError::NotFound {
            what: T::WHAT,
            name: name.to_string(),
        })
}

/// Names are unique regardless of case ("contoso isp" beside "Contoso
/// ISP" is the same vendor twice); `except` is the item being renamed.
fn refuse_duplicate<T: Named>(
    items: &[T],
    name: &str,
    except: Option<&str>,
) -> Result<(), StoreError> {
    let lower = name.to_lowercase();
    if let Some(x) = items
        .iter()
        .filter(|x| Some(x.name()) != except)
        .find(|x| x.name().to_lowercase() == lower)
    {
        return Err(StoreError::Duplicate {
            what: T::WHAT,
            name: x.name().to_string(),
        });
    }
    Ok(())
}

/// The edit of `update_*`: `name` replaced by `new` (a rename must not
/// collide), journaled as "WHAT.edit" with the changed keys.
fn update_edit<T: Named>(
    path: &Path,
    text: &str,
    items: &[T],
    name: &str,
    new: &T,
) -> Result<Edit<()>, StoreError> {
    let old = find_named(items, name)?;
    if new.name() != name {
        refuse_duplicate(items, new.name(), Some(name))?;
    }
    let (text, changes) = T::update_text(path, text, old, new)?;
    Ok(Edit {
        text,
        value: (),
        entries: vec![entry(&format!("{}.edit", T::WHAT), name, changes.0)],
    })
}

/// The edit of `remove_*`: the table named `name` and its comment lines
/// gone, journaled as "WHAT.rm"; the value is what was removed.
fn remove_edit<T: Named>(
    path: &Path,
    text: &str,
    items: &[T],
    name: &str,
) -> Result<Edit<T>, StoreError> {
    let old = find_named(items, name)?.clone();
    let text = edit::remove_table(path, text, T::WHAT, "name", name)?.ok_or_else(|| {
        StoreError::NotFound {
            what: T::WHAT,
            name: name.to_string(),
        }
    })?;
    Ok(Edit {
        text,
        value: old,
        entries: vec![entry(&format!("{}.rm", T::WHAT), name, vec![])],
    })
}

impl Store {
    /// Load every file; a missing file is empty. Validates (unknown keys,
    /// types, duplicate names) with path:line:column errors.
    pub fn load(home: Home) -> Result<Store, StoreError> {
        // The three inventory files are parsed side by side (the cold start
        // of the TUI waits for this); errors are reported in file order.
        let (hp, vp, bp) = (home.hosts_path(), home.vendors_path(), home.backups_path());
        let (settings, hosts, vendors, backups) = std::thread::scope(|s| {
            let vendors = s.spawn(|| load::load_file(&vp, load::parse_vendors));
            let backups = s.spawn(|| load::load_file(&bp, load::parse_backups));
            let settings = load::load_file(&home.settings_path(), load::parse_settings);
            let hosts = load::load_file(&hp, load::parse_hosts);
            (
                settings,
                hosts,
                joined(vendors.join(), &vp),
                joined(backups.join(), &bp),
            )
        });
        let (settings, _) = settings?;
        let (hosts, _) = hosts?;
        let (vendors, _) = vendors?;
        let (backups, _) = backups?;
        // a change whose writer was killed before journaling it
        if journal::pending_path(&home).exists() {
            if let Some(_lock) = write::Lock::try_acquire(&home) {
                if let Err(e) = journal::recover(&home) {
                    tracing::warn!("cannot complete the journal: {e}");
                }
            }
        }
        let store = Store {
            home,
            settings,
            hosts,
            vendors,
            backups,
        };
        for w in store.warnings() {
            tracing::warn!("{w}");
        }
        Ok(store)
    }

    /// What is odd but allowed in the files: vendors or hosts referred to but not defined.
    pub fn warnings(&self) -> Vec<String> {
        load::warnings(
            &self.hosts,
            &self.vendors,
            &self.backups,
            (&self.home.hosts_path(), &self.home.backups_path()),
        )
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
    pub fn vendor(&self, name: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.name == name)
    }
    pub fn backup(&self, name: &str) -> Option<&BackupJob> {
        self.backups.iter().find(|b| b.name == name)
    }

    /// The change protocol: lock, re-read, refuse a file that does not
    /// parse, edit, check the result, write atomically with `.bak`, journal.
    fn change<T, R>(
        &mut self,
        path: PathBuf,
        parse: fn(&Path, &str) -> Result<Vec<T>, StoreError>,
        set: fn(&mut Store, Vec<T>),
        edit: impl FnOnce(&Path, &str, &[T]) -> Result<Edit<R>, StoreError>,
    ) -> Result<R, StoreError> {
        let _lock = write::Lock::acquire(&self.home)?;
        journal::recover(&self.home)?;
        let old = load::read_text(&path)?;
        let text = old.as_deref().unwrap_or("");
        let current = parse(&path, text)?;
        let Edit {
            text: new_text,
            value,
            entries,
        } = edit(&path, text, &current)?;
        if new_text == text {
            set(self, current);
            return Ok(value);
        }
        let new_items = parse(&path, &new_text).map_err(|e| StoreError::Invalid {
            message: format!(
                "internal error: the change would leave {} unreadable ({e}); nothing was written",
                path.display()
            ),
        })?;
        // The journal's entries are written as an intent first: a change
        // never lands without its entry, even when opsdeck is killed
        // between the rename and the append (journal::recover).
        journal::intend(&self.home, &path, &new_text, &entries)?;
        write::save(&path, old.as_deref(), &new_text)?;
        set(self, new_items);
        write::test_pause_before_journal();
        if let Err(err) = journal::complete(&self.home, &entries) {
            tracing::error!(
                "the change was made; its journal entry waits in state/journal.pending: {err}"
            );
        }
        Ok(value)
    }

    fn change_hosts<R>(
        &mut self,
        edit: impl FnOnce(&Path, &str, &[Host]) -> Result<Edit<R>, StoreError>,
    ) -> Result<R, StoreError> {
        let path = self.home.hosts_path();
        self.change(path, load::parse_hosts, |s, v| s.hosts = v, edit)
    }

    fn change_vendors<R>(
        &mut self,
        edit: impl FnOnce(&Path, &str, &[Vendor]) -> Result<Edit<R>, StoreError>,
    ) -> Result<R, StoreError> {
        let path = self.home.vendors_path();
        self.change(path, load::parse_vendors, |s, v| s.vendors = v, edit)
    }

    fn change_backups<R>(
        &mut self,
        edit: impl FnOnce(&Path, &str, &[BackupJob]) -> Result<Edit<R>, StoreError>,
    ) -> Result<R, StoreError> {
        let path = self.home.backups_path();
        self.change(path, load::parse_backups, |s, v| s.backups = v, edit)
    }

    /// Append a `[[host]]`; refuses a duplicate name. Journals "host.add".
    pub fn add_host(&mut self, host: Host) -> Result<(), StoreError> {
        check_host(&host)?;
        self.change_hosts(|_, text, hosts| {
            refuse_duplicate(hosts, &host.name, None)?;
            Ok(Edit {
                text: edit::append_hosts(text, std::slice::from_ref(&host)),
                value: (),
                entries: vec![entry("host.add", &host.name, vec![])],
            })
        })
    }

    /// Replace the host named `name` by `host`, touching only changed keys.
    pub fn update_host(&mut self, name: &str, host: Host) -> Result<(), StoreError> {
        check_host(&host)?;
        self.change_hosts(|path, text, hosts| update_edit(path, text, hosts, name, &host))
    }

    pub fn remove_host(&mut self, name: &str) -> Result<Host, StoreError> {
        self.change_hosts(|path, text, hosts| remove_edit(path, text, hosts, name))
    }

    /// Several hosts in one write (imports); refuses duplicates, adds none then.
    pub fn add_hosts(&mut self, hosts: Vec<Host>) -> Result<(), StoreError> {
        self.import_hosts(hosts, "")
    }

    /// `add_hosts` journaled as "host.import" from `source` (a file name).
    pub fn import_hosts(&mut self, hosts: Vec<Host>, source: &str) -> Result<(), StoreError> {
        for h in &hosts {
            check_host(h)?;
        }
        if hosts.is_empty() {
            return Ok(());
        }
        self.change_hosts(|_, text, existing| {
            let mut seen = std::collections::HashSet::new();
            for h in &hosts {
                if existing.iter().any(|e| e.name == h.name) || !seen.insert(h.name.as_str()) {
                    return Err(StoreError::Duplicate {
                        what: "host",
                        name: h.name.clone(),
                    });
                }
            }
            let target = if source.is_empty() {
                format!("{} hosts", hosts.len())
            } else {
                source.to_string()
            };
            Ok(Edit {
                text: edit::append_hosts(text, &hosts),
                value: (),
                entries: vec![entry(
                    "host.import",
                    &target,
                    hosts.iter().map(|h| h.name.clone()).collect(),
                )],
            })
        })
    }

    pub fn add_vendor(&mut self, vendor: Vendor) -> Result<(), StoreError> {
        check_vendor(&vendor)?;
        self.change_vendors(|_, text, vendors| {
            refuse_duplicate(vendors, &vendor.name, None)?;
            Ok(Edit {
                text: edit::append_vendor(text, &vendor),
                value: (),
                entries: vec![entry("vendor.add", &vendor.name, vec![])],
            })
        })
    }

    /// Replace the vendor named `name` (contacts and tickets included).
    pub fn update_vendor(&mut self, name: &str, vendor: Vendor) -> Result<(), StoreError> {
        check_vendor(&vendor)?;
        self.change_vendors(|path, text, vendors| update_edit(path, text, vendors, name, &vendor))
    }

    pub fn remove_vendor(&mut self, name: &str) -> Result<Vendor, StoreError> {
        self.change_vendors(|path, text, vendors| remove_edit(path, text, vendors, name))
    }

    /// Open a ticket; generates a reference when empty. Journals "ticket.open".
    pub fn add_ticket(&mut self, vendor: &str, ticket: Ticket) -> Result<Ticket, StoreError> {
        if ticket.subject.trim().is_empty() {
            return Err(StoreError::Invalid {
                message: "a ticket needs a subject".into(),
            });
        }
        self.change_vendors(|path, text, vendors| {
            let old = find_named(vendors, vendor)?;
            let mut ticket = ticket;
            let today = today();
            if ticket.reference.trim().is_empty() {
                let stem = format!("OD-{}", today.strftime("%Y%m%d"));
                let mut n = 1;
                while old
                    .tickets
                    .iter()
                    .any(|t| t.reference == format!("{stem}-{n}"))
                {
                    n += 1;
                }
                ticket.reference = format!("{stem}-{n}");
            } else if old.tickets.iter().any(|t| t.reference == ticket.reference) {
                return Err(StoreError::Duplicate {
                    what: "ticket",
                    name: ticket.reference.clone(),
                });
            }
            if ticket.opened.is_none() {
                ticket.opened = Some(today);
            }
            let mut new = old.clone();
            new.tickets.push(ticket.clone());
            let (text, _) = edit::update_vendor(path, text, old, &new)?;
            Ok(Edit {
                text,
                entries: vec![entry(
                    "ticket.open",
                    vendor,
                    vec![format!("{}: {}", ticket.reference, ticket.subject)],
                )],
                value: ticket,
            })
        })
    }

    /// Close a ticket by reference on `date`. Journals "ticket.close".
    pub fn close_ticket(
        &mut self,
        vendor: &str,
        reference: &str,
        date: Date,
    ) -> Result<(), StoreError> {
        self.change_vendors(|path, text, vendors| {
            let old = find_named(vendors, vendor)?;
            let mut new = old.clone();
            let t = new
                .tickets
                .iter_mut()
                .find(|t| t.reference == reference)
                .ok_or_else(|| StoreError::NotFound {
                    what: "ticket",
                    name: format!("{reference}` of vendor `{vendor}"),
                })?;
            if t.status == TicketStatus::Closed {
                return Err(StoreError::Invalid {
                    message: format!("ticket `{reference}` of `{vendor}` is closed already"),
                });
            }
            if let Some(opened) = t.opened.filter(|o| date < *o) {
                return Err(StoreError::Invalid {
                    message: format!(
                        "ticket `{reference}` of `{vendor}` was opened {opened}: it cannot be closed on {date}, before that"
                    ),
                });
            }
            t.status = TicketStatus::Closed;
            t.closed = Some(date);
            let subject = t.subject.clone();
            let (text, _) = edit::update_vendor(path, text, old, &new)?;
            Ok(Edit {
                text,
                value: (),
                entries: vec![entry(
                    "ticket.close",
                    vendor,
                    vec![format!("{reference}: {subject}")],
                )],
            })
        })
    }

    /// Append a `[[backup]]`; refuses a duplicate name. Journals "backup.add".
    pub fn add_backup(&mut self, job: BackupJob) -> Result<(), StoreError> {
        if job.name.trim().is_empty() {
            return Err(StoreError::Invalid {
                message: "a backup job needs a name".into(),
            });
        }
        self.change_backups(|_, text, jobs| {
            refuse_duplicate(jobs, &job.name, None)?;
            Ok(Edit {
                text: edit::append_backup(text, &job),
                value: (),
                entries: vec![entry("backup.add", &job.name, vec![])],
            })
        })
    }

    /// Replace the backup job named `name`, touching only changed keys.
    pub fn update_backup(&mut self, name: &str, job: BackupJob) -> Result<(), StoreError> {
        self.change_backups(|path, text, jobs| update_edit(path, text, jobs, name, &job))
    }

    pub fn remove_backup(&mut self, name: &str) -> Result<BackupJob, StoreError> {
        self.change_backups(|path, text, jobs| remove_edit(path, text, jobs, name))
    }

    /// Set `last_restore_test` of a backup job. Journals "backup.restored".
    pub fn record_restore_test(&mut self, backup: &str, date: Date) -> Result<(), StoreError> {
        self.change_backups(|path, text, jobs| {
            let old = find_named(jobs, backup)?;
            let mut new = old.clone();
            new.last_restore_test = Some(date);
            let (text, _) = edit::update_backup(path, text, old, &new)?;
            Ok(Edit {
                text,
                value: (),
                entries: vec![entry("backup.restored", backup, vec![date.to_string()])],
            })
        })
    }

    /// Append one entry to state/journal.toml (text append, under the lock).
    pub fn journal(&self, entry: &JournalEntry) -> Result<(), StoreError> {
        let _lock = write::Lock::acquire(&self.home)?;
        journal::append(&self.home, entry)
    }

    /// The journal; a damaged entry is skipped and logged with path:line:column.
    pub fn read_journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let (entries, errors) = journal::read(&self.home.journal_path())?;
        for e in errors {
            tracing::warn!("{e} (entry skipped)");
        }
        Ok(entries)
    }

    /// The journal and the damaged entries (path:line:column each).
    pub fn read_journal_checked(&self) -> Result<(Vec<JournalEntry>, Vec<StoreError>), StoreError> {
        journal::read(&self.home.journal_path())
    }

    /// Latest results of one kind. Never fails: a damaged file gives what
    /// parses, and names what did not in `problems` (also logged).
    pub fn load_state<T: DeserializeOwned>(&self, kind: StateKind) -> StateRead<T> {
        state::load(&self.home, kind)
    }

    /// Merge `items` into a state file: an item replaces the one with the same key.
    pub fn merge_state<T: Serialize + DeserializeOwned>(
        &self,
        kind: StateKind,
        items: Vec<T>,
        key: fn(&T) -> &str,
    ) -> Result<Vec<T>, StoreError> {
        let _lock = write::Lock::acquire(&self.home)?;
        state::merge(&self.home, kind, items, key)
    }

    /// Replace the whole list of a state file.
    pub fn replace_state<T: Serialize>(
        &self,
        kind: StateKind,
        items: &[T],
    ) -> Result<(), StoreError> {
        replace_state_in(&self.home, kind, items)
    }
}

/// [`Store::load_state`] for callers that hold only the [`Home`] (the TUI's panes).
pub fn load_state_in<T: DeserializeOwned>(home: &Home, kind: StateKind) -> StateRead<T> {
    state::load(home, kind)
}

/// [`Store::replace_state`] for callers that hold only the [`Home`].
pub fn replace_state_in<T: Serialize>(
    home: &Home,
    kind: StateKind,
    items: &[T],
) -> Result<(), StoreError> {
    let _lock = write::Lock::acquire(home)?;
    state::replace(home, kind, items)
}

/// Write a file the user asked for (a report, an export) atomically:
/// temp file in the same directory, fsync, rename; mode 0600.
pub fn write_output_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write::write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckResult, Contact, Status};

    #[test]
    fn vendor_tickets_and_journal() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::write(
            home.vendors_path(),
            "# vendors\n[[vendor]]\nname = \"A\"  # first\n\n[[vendor.contact]]\nname = \"Ann\"\n\n# B below\n[[vendor]]\nname = \"B\"\n",
        )
        .unwrap();
        let mut s = Store::load(home.clone()).unwrap();
        let t = s
            .add_ticket(
                "A",
                Ticket {
                    subject: "line \"down\"".into(),
                    // closed below on 2026-11-23: opened before that
                    opened: Some(Date::constant(2026, 11, 2)),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(t.reference.starts_with("OD-"));
        let text = std::fs::read_to_string(home.vendors_path()).unwrap();
        assert!(
            text.starts_with("# vendors\n[[vendor]]\nname = \"A\"  # first\n\n[[vendor.contact]]\nname = \"Ann\"\n\n[[vendor.ticket]]\n"),
            "{text}"
        );
        assert!(
            text.ends_with("# B below\n[[vendor]]\nname = \"B\"\n"),
            "{text}"
        );
        s.close_ticket("A", &t.reference, Date::constant(2026, 11, 23))
            .unwrap();
        assert!(std::fs::read_to_string(home.vendors_path())
            .unwrap()
            .contains("closed = 2026-11-23"));
        let mut b = s.vendor("B").unwrap().clone();
        b.contacts.push(Contact {
            name: "Bob".into(),
            ..Default::default()
        });
        s.update_vendor("B", b).unwrap();
        let again = Store::load(home.clone()).unwrap();
        assert_eq!(again.vendor("B").unwrap().contacts[0].name, "Bob");
        assert_eq!(
            again.vendor("A").unwrap().tickets[0].status,
            TicketStatus::Closed
        );
        let j = s.read_journal().unwrap();
        let actions: Vec<_> = j.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["ticket.open", "ticket.close", "vendor.edit"]);
        assert_eq!(j[2].details, ["contact[Bob] added"]);
    }

    #[test]
    fn state_merge() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::load(Home::under(dir.path())).unwrap();
        let r = |host: &str, ms| CheckResult {
            host: host.into(),
            status: Status::Ok,
            error: None,
            reasons: vec![],
            elapsed_ms: ms,
            checked_at: "2026-11-22T10:00:00Z".into(),
            facts: Some(crate::model::Facts {
                load: Some([0.1, 0.2, 0.3]),
                disks: vec![crate::model::Disk {
                    mount: "/".into(),
                    used_pct: 50.0,
                    fstype: None,
                    size_kb: None,
                }],
                ..Default::default()
            }),
            last_known: None,
        };
        s.merge_state(StateKind::Checks, vec![r("a", 1), r("b", 2)], |c| &c.host)
            .unwrap();
        s.merge_state(StateKind::Checks, vec![r("b", 3)], |c| &c.host)
            .unwrap();
        let got: Vec<CheckResult> = s.load_state(StateKind::Checks).items;
        assert_eq!(got, vec![r("a", 1), r("b", 3)]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("state/checks.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn truncated_journal_keeps_earlier_entries() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::load(Home::under(dir.path())).unwrap();
        s.journal(&JournalEntry::now("a", "x", "ok")).unwrap();
        s.journal(&JournalEntry::now("b", "y", "ok")).unwrap();
        let p = s.home.journal_path();
        let full = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 6]).unwrap();
        let (entries, errors) = s.read_journal_checked().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(errors.len(), 1);
        let StoreError::Parse { line, .. } = &errors[0] else {
            panic!()
        };
        assert_eq!(*line, full.lines().count());
        // appending after the damage still works
        s.journal(&JournalEntry::now("c", "z", "ok")).unwrap();
        let (entries, _) = s.read_journal_checked().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].action, "c");
    }
}
