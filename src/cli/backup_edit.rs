//! `opsdeck backup add NAME ...`, `backup edit NAME ...`, `backup rm NAME`:
//! backup jobs written to backups.toml through the store (comments kept,
//! `.bak`, journal), built and checked by `backups::fields` exactly as the
//! TUI's form does.

use std::io::Write;

use clap::Args;

use crate::backups::fields;
use crate::error::{exit, CmdResult, Failure};
use crate::model::{BackupJob, BackupKind};
use crate::store::{Home, Store};

/// The fields of a job, each optional here (add needs --host, --kind and
/// --max-age; edit changes only what is given, an empty value unsets).
#[derive(Debug, Args, Default)]
pub struct BackupFieldArgs {
    /// A host from hosts.toml, or "local" (the jump box itself).
    #[arg(long)]
    pub host: Option<String>,
    /// restic, borg, path or command.
    #[arg(long)]
    pub kind: Option<String>,
    /// restic / borg: the repository (path or URL).
    #[arg(long)]
    pub repository: Option<String>,
    /// restic: a command on the host that prints the password.
    #[arg(long)]
    pub password_command: Option<String>,
    /// restic: a file on the host holding the password.
    #[arg(long)]
    pub password_file: Option<String>,
    /// restic: a file of KEY=VALUE backend variables on the host.
    #[arg(long)]
    pub env_file: Option<String>,
    /// borg: BORG_PASSCOMMAND.
    #[arg(long)]
    pub passcommand: Option<String>,
    /// restic: only snapshots with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// restic: only snapshots of this path; path: the directory or glob to watch.
    #[arg(long)]
    pub path: Option<String>,
    /// path: the newest file must have at least this many bytes.
    #[arg(long)]
    pub min_size: Option<String>,
    /// command: prints the time of the latest good backup.
    #[arg(long)]
    pub command: Option<String>,
    /// Older than this is critical, e.g. 26h.
    #[arg(long)]
    pub max_age: Option<String>,
    /// Older than this is a warning (shorter than --max-age).
    #[arg(long)]
    pub warn_age: Option<String>,
    /// How often a restore must be tested, e.g. 90d.
    #[arg(long)]
    pub restore_test_every: Option<String>,
    /// YYYY-MM-DD of the last restore test.
    #[arg(long)]
    pub last_restore_test: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

impl BackupFieldArgs {
    /// (key, value) of every field given, in backups.toml's key order.
    fn given(&self) -> Vec<(&'static str, &str)> {
        [
            ("host", &self.host),
            ("kind", &self.kind),
            ("repository", &self.repository),
            ("password_command", &self.password_command),
            ("password_file", &self.password_file),
            ("env_file", &self.env_file),
            ("passcommand", &self.passcommand),
            ("tag", &self.tag),
            ("path", &self.path),
            ("min_size", &self.min_size),
            ("command", &self.command),
            ("max_age", &self.max_age),
            ("warn_age", &self.warn_age),
            ("restore_test_every", &self.restore_test_every),
            ("last_restore_test", &self.last_restore_test),
            ("notes", &self.notes),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

#[derive(Debug, Args)]
pub struct BackupAddArgs {
    /// The job's name (no spaces).
    pub name: String,
    #[command(flatten)]
    pub fields: BackupFieldArgs,
}

#[derive(Debug, Args)]
pub struct BackupEditArgs {
    /// The job to change.
    pub name: String,
    /// A new name.
    #[arg(long)]
    pub rename: Option<String>,
    #[command(flatten)]
    pub fields: BackupFieldArgs,
}

/// A line on stdout; a closed pipe (`| head`) is not an error.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn load(home: &Home) -> Result<Store, Failure> {
    Store::load(home.clone()).map_err(Failure::from)
}

/// `--flag`: the field's flag for a message.
fn flag(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

fn field_error((key, message): (String, String)) -> Failure {
    if key.is_empty() || key == "name" {
        Failure::usage(message)
    } else {
        Failure::usage(format!("{}: {message}", flag(&key)))
    }
}

/// The job's host must be one of hosts.toml (or the jump box itself).
fn check_host(store: &Store, host: &str) -> Result<(), Failure> {
    if host == crate::backups::run::LOCAL || store.host(host).is_some() {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "--host: no host named `{host}` in hosts.toml (\"local\" is the jump box itself)"
    )))
}

pub fn add(home: &Home, a: BackupAddArgs) -> CmdResult {
    let f = &a.fields;
    let missing: Vec<String> = [
        ("host", &f.host),
        ("kind", &f.kind),
        ("max_age", &f.max_age),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(k, _)| flag(k))
    .collect();
    if !missing.is_empty() {
        return Err(Failure::usage(format!(
            "backup add {} needs {}",
            a.name,
            missing.join(", ")
        )));
    }
    fields::check_name(&a.name).map_err(Failure::usage)?;
    let job = fields::apply(BackupJob::new(&a.name, "", BackupKind::Path, ""), f.given())
        .map_err(field_error)?;
    let mut store = load(home)?;
    check_host(&store, &job.host)?;
    let kind = crate::backups::kind_name(job.kind);
    store.add_backup(job)?;
    say(&format!(
        "added backup job {} ({kind}) to backups.toml",
        a.name
    ));
    Ok(exit::OK)
}

pub fn edit(home: &Home, a: BackupEditArgs) -> CmdResult {
    let mut store = load(home)?;
    let old = store
        .backup(&a.name)
        .cloned()
        .ok_or_else(|| Failure::new(exit::NOINPUT, format!("no backup job named {}", a.name)))?;
    let mut given = a.fields.given();
    if let Some(n) = &a.rename {
        given.insert(0, ("name", n.as_str()));
    }
    if given.is_empty() {
        return Err(Failure::usage(
            "backup edit: nothing to change (give --host, --kind, --max-age, ... or --rename)",
        ));
    }
    let job = fields::apply(old, given).map_err(field_error)?;
    if a.fields.host.is_some() {
        check_host(&store, &job.host)?;
    }
    let name = job.name.clone();
    store.update_backup(&a.name, job)?;
    say(&format!("saved backup job {name}"));
    Ok(exit::OK)
}

pub fn rm(home: &Home, name: &str) -> CmdResult {
    let mut store = load(home)?;
    store.remove_backup(name)?;
    say(&format!(
        "removed backup job {name} from backups.toml (its results stay in state/ until the next check)"
    ));
    Ok(exit::OK)
}
