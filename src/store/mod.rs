//! The TOML files: locations, load and validate, comment-preserving edits,
//! atomic writes with a lock, the journal and the state files. The only code
//! that touches the files.
//!
//! (Interface stub: the store work fills in the bodies; signatures are the
//! contract other modules build on.)

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{exit, Failure};
use crate::model::{BackupJob, Date, Host, Settings, Ticket, Vendor};

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
}

/// All files, loaded and validated.
#[derive(Debug, Clone)]
pub struct Store {
    pub home: Home,
    pub settings: Settings,
    pub hosts: Vec<Host>,
    pub vendors: Vec<Vendor>,
    pub backups: Vec<BackupJob>,
}

#[allow(unused_variables)]
impl Store {
    /// Load every file; a missing file is empty. Validates (unknown keys,
    /// types, duplicate names) with path:line:column errors.
    pub fn load(home: Home) -> Result<Store, StoreError> {
        todo!()
    }
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
    pub fn vendor(&self, name: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.name == name)
    }
    /// Append a `[[host]]`; refuses a duplicate name. Journals "host.add".
    pub fn add_host(&mut self, host: Host) -> Result<(), StoreError> {
        todo!()
    }
    /// Replace the host named `name` by `host`, touching only changed keys.
    pub fn update_host(&mut self, name: &str, host: Host) -> Result<(), StoreError> {
        todo!()
    }
    pub fn remove_host(&mut self, name: &str) -> Result<Host, StoreError> {
        todo!()
    }
    /// Several hosts in one write (imports); refuses duplicates, adds none then.
    pub fn add_hosts(&mut self, hosts: Vec<Host>) -> Result<(), StoreError> {
        todo!()
    }
    pub fn add_vendor(&mut self, vendor: Vendor) -> Result<(), StoreError> {
        todo!()
    }
    /// Replace the vendor named `name` (contacts and tickets included).
    pub fn update_vendor(&mut self, name: &str, vendor: Vendor) -> Result<(), StoreError> {
        todo!()
    }
    pub fn remove_vendor(&mut self, name: &str) -> Result<Vendor, StoreError> {
        todo!()
    }
    /// Open a ticket; generates a reference when empty. Journals "ticket.open".
    pub fn add_ticket(&mut self, vendor: &str, ticket: Ticket) -> Result<Ticket, StoreError> {
        todo!()
    }
    /// Close a ticket by reference on `date`. Journals "ticket.close".
    pub fn close_ticket(
        &mut self,
        vendor: &str,
        reference: &str,
        date: Date,
    ) -> Result<(), StoreError> {
        todo!()
    }
    /// Set `last_restore_test` of a backup job. Journals "backup.restored".
    pub fn record_restore_test(&mut self, backup: &str, date: Date) -> Result<(), StoreError> {
        todo!()
    }
    /// Append one entry to state/journal.toml (text append, under the lock).
    pub fn journal(&self, entry: &JournalEntry) -> Result<(), StoreError> {
        todo!()
    }
    pub fn read_journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        todo!()
    }
    /// Latest results of one kind.
    pub fn load_state<T: DeserializeOwned>(&self, kind: StateKind) -> Result<Vec<T>, StoreError> {
        todo!()
    }
    /// Merge `items` into a state file: an item replaces the one with the same key.
    pub fn merge_state<T: Serialize + DeserializeOwned>(
        &self,
        kind: StateKind,
        items: Vec<T>,
        key: fn(&T) -> &str,
    ) -> Result<(), StoreError> {
        todo!()
    }
}
