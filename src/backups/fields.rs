//! A backup job from fields by their backups.toml keys: the one way the
//! command line (`opsdeck backup add/edit`) and the TUI's form (`a`/`e` in
//! Backups) build and change a job, so both accept and refuse the same.
//! Validation is [`super::validate`] (kinds, the fields each kind takes,
//! durations); names are checked here (unique whatever their case is the
//! store's duty).

use crate::model::{toml_date, BackupJob, BackupKind};

/// The kinds, as written in backups.toml.
pub const KINDS: [&str; 4] = ["restic", "borg", "path", "command"];

/// Every key a job can have, in the order the form shows them.
pub const KEYS: [&str; 17] = [
    "name",
    "host",
    "kind",
    "repository",
    "password_command",
    "password_file",
    "env_file",
    "passcommand",
    "tag",
    "path",
    "min_size",
    "command",
    "max_age",
    "warn_age",
    "restore_test_every",
    "last_restore_test",
    "notes",
];

pub fn parse_kind(s: &str) -> Result<BackupKind, String> {
    match s.trim().to_lowercase().as_str() {
        "restic" => Ok(BackupKind::Restic),
        "borg" => Ok(BackupKind::Borg),
        "path" => Ok(BackupKind::Path),
        "command" => Ok(BackupKind::Command),
        other => Err(format!(
            "`{other}` is not a kind: restic, borg, path or command"
        )),
    }
}

/// A job name: used as a key in state/ and on the command line, so no
/// spaces, no leading `-`.
pub fn check_name(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("a backup job needs a name".into());
    }
    if s.starts_with('-') {
        return Err("a backup job's name cannot start with '-'".into());
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "a backup job's name cannot contain {}",
            if c == ' ' {
                "spaces"
            } else {
                "control characters"
            }
        ));
    }
    Ok(())
}

/// Set one field by its key; an empty value unsets an optional field.
pub fn set(job: &mut BackupJob, key: &str, value: &str) -> Result<(), String> {
    let v = value.trim();
    let opt = || (!v.is_empty()).then(|| v.to_string());
    match key {
        "name" => {
            check_name(v)?;
            job.name = v.to_string();
        }
        "host" => {
            if v.is_empty() {
                return Err("a backup job needs a host (a host from hosts.toml, or local)".into());
            }
            job.host = v.to_string();
        }
        "kind" => job.kind = parse_kind(v)?,
        "repository" => job.repository = opt(),
        "password_command" => job.password_command = opt(),
        "password_file" => job.password_file = opt(),
        "env_file" => job.env_file = opt(),
        "passcommand" => job.passcommand = opt(),
        "tag" => job.tag = opt(),
        "path" => job.path = opt(),
        "min_size" => {
            job.min_size = match opt() {
                None => None,
                Some(n) => Some(
                    n.parse::<u64>()
                        .map_err(|_| format!("min_size: `{n}` is not a number of bytes"))?,
                ),
            }
        }
        "command" => job.command = opt(),
        "max_age" => job.max_age = v.to_string(),
        "warn_age" => job.warn_age = opt(),
        "restore_test_every" => job.restore_test_every = opt(),
        "last_restore_test" => {
            job.last_restore_test = match opt() {
                None => None,
                Some(d) => {
                    Some(toml_date::parse(&d).map_err(|e| format!("last_restore_test: {e}"))?)
                }
            }
        }
        "notes" => job.notes = opt(),
        other => return Err(format!("a backup job has no field `{other}`")),
    }
    Ok(())
}

/// The fields of `kind` that another kind's job left set are dropped (a
/// job whose kind changed keeps only what its new kind takes).
pub fn drop_foreign(job: &mut BackupJob) {
    let keep = super::kind_fields(job.kind);
    let on = |f: &str| keep.contains(&f);
    if !on("repository") {
        job.repository = None;
    }
    if !on("password_command") {
        job.password_command = None;
    }
    if !on("password_file") {
        job.password_file = None;
    }
    if !on("env_file") {
        job.env_file = None;
    }
    if !on("passcommand") {
        job.passcommand = None;
    }
    if !on("tag") {
        job.tag = None;
    }
    if !on("path") {
        job.path = None;
    }
    if !on("min_size") {
        job.min_size = None;
    }
    if !on("command") {
        job.command = None;
    }
}

/// Apply `fields` (key, value) to `job`, then check the whole job.
/// Errors name the field: (key, message); key "" for the job as a whole.
pub fn apply<'a>(
    mut job: BackupJob,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<BackupJob, (String, String)> {
    for (k, v) in fields {
        set(&mut job, k, v).map_err(|e| (k.to_string(), e))?;
    }
    drop_foreign(&mut job);
    super::validate(&job).map_err(|e| (field_of(&e).to_string(), e))?;
    Ok(job)
}

/// The field a message of [`super::validate`] is about ("a restic job needs
/// `repository`" → "repository"); "" when it names none.
pub fn field_of(message: &str) -> &str {
    for key in KEYS {
        if message.contains(&format!("`{key}`")) || message.starts_with(key) {
            return key;
        }
    }
    ""
}

/// The kinds whose jobs take field `key` (for a form that shows only those).
pub fn kinds_taking(key: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .copied()
        .filter(|k| parse_kind(k).is_ok_and(|kind| super::kind_fields(kind).contains(&key)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BackupJob {
        BackupJob::new("nas", "nas1", BackupKind::Path, "26h")
    }

    #[test]
    fn fields_build_and_check_a_job() {
        let j = apply(base(), [("path", "/srv/backup/*.tar")]).unwrap();
        assert_eq!(j.path.as_deref(), Some("/srv/backup/*.tar"));
        // a kind change drops what the old kind had
        let j = apply(
            j,
            [
                ("kind", "restic"),
                ("repository", "/srv/restic"),
                ("password_file", "/etc/restic/pw"),
            ],
        )
        .unwrap();
        assert_eq!(j.kind, BackupKind::Restic);
        assert_eq!(j.path.as_deref(), Some("/srv/backup/*.tar")); // restic takes path too
        let j = apply(j, [("kind", "command"), ("command", "cat /var/last")]).unwrap();
        assert_eq!((j.repository, j.path, j.password_file), (None, None, None));
        // errors name their field
        assert_eq!(apply(base(), [("kind", "tape")]).unwrap_err().0, "kind");
        let e = apply(base(), [("kind", "restic")]).unwrap_err();
        assert_eq!(e.0, "repository", "{e:?}");
        let e = apply(base(), [("path", "/x"), ("max_age", "soon")]).unwrap_err();
        assert_eq!(e.0, "max_age", "{e:?}");
        assert_eq!(apply(base(), [("name", "a b")]).unwrap_err().0, "name");
        assert_eq!(kinds_taking("repository"), vec!["restic", "borg"]);
        assert_eq!(kinds_taking("min_size"), vec!["path"]);
    }
}
