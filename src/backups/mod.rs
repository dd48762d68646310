//! Backup jobs per kind (restic, borg, path, command): the remote command of
//! each kind, a pure parser of its output, and the status of a job against
//! its policy (max_age, warn_age, restore tests). Checks run on the job's host
//! over SSH (or locally for `host = "local"`) through the engine; see
//! [`run`] for the orchestration and docs/decisions/backups.md for the choices.
//!
//! Secrets: opsdeck never reads a repository password. restic gets
//! RESTIC_PASSWORD_COMMAND / RESTIC_PASSWORD_FILE and borg BORG_PASSCOMMAND,
//! exported inside the remote shell; those values are configuration (a
//! command or a path), not the password. Every value from the configuration
//! is quoted with [`util::shell_quote`].

mod borg;
mod command;
pub mod fields;
mod path;
mod restic;
pub mod run;
pub mod view;

use std::time::Duration;

use jiff::Timestamp;

use crate::model::{BackupJob, BackupKind, BackupResult, BackupSnapshot, Date, Status};
use crate::ssh::{Conn, ExecOptions, ExecOutput, SshError};
use crate::util;

pub use borg::{parse_list as parse_borg_list, HostZone};
pub use command::parse_time as parse_command_time;
pub use path::parse_listing as parse_path_listing;
pub use restic::parse_snapshots as parse_restic_snapshots;

/// Something that runs a shell command line on the backup's host: a
/// [`Conn`] (SSH or local); tests may wrap one to record command lines.
pub trait Exec {
    fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError>;
}

impl Exec for Conn {
    fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        Conn::exec(self, command, opts)
    }
}

/// The validated policy of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub max_age: Duration,
    pub warn_age: Option<Duration>,
    pub restore_every: Option<Duration>,
}

/// What a check found on the host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Found {
    /// Time of the latest good backup; None: there is none.
    pub latest: Option<Timestamp>,
    /// Number of snapshots / archives / matching files, when known.
    pub snapshots: Option<u64>,
    /// Newest first, a few.
    pub recent: Vec<BackupSnapshot>,
    /// Further findings with their level (a too small file, unreadable entries).
    pub findings: Vec<(Status, String)>,
}

/// Why a check could not tell the age of a backup.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckError {
    /// Crit, except a locked repository (Warn: it says nothing about the backup).
    pub status: Status,
    pub message: String,
}

impl CheckError {
    pub fn crit(message: impl Into<String>) -> CheckError {
        CheckError {
            status: Status::Crit,
            message: message.into(),
        }
    }
    pub fn warn(message: impl Into<String>) -> CheckError {
        CheckError {
            status: Status::Warn,
            message: message.into(),
        }
    }
    pub fn unknown(message: impl Into<String>) -> CheckError {
        CheckError {
            status: Status::Unknown,
            message: message.into(),
        }
    }
}

fn parse_dur(field: &str, value: &str) -> Result<Duration, String> {
    let d = util::parse_duration(value).map_err(|e| format!("{field}: {e}"))?;
    if d.is_zero() {
        return Err(format!("{field} must be longer than 0"));
    }
    Ok(d)
}

fn need<'a>(job: &'a BackupJob, value: &'a Option<String>, field: &str) -> Result<&'a str, String> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("a {} job needs `{field}`", kind_name(job.kind))),
    }
}

/// Why a field of another kind is refused, with what to use instead.
fn refuse_hint(kind: BackupKind, field: &str) -> &'static str {
    match (kind, field) {
        (BackupKind::Restic, "passcommand") => " (use `password_command`)",
        (BackupKind::Borg, "password_command") => " (use `passcommand`)",
        (BackupKind::Borg, "password_file") => {
            " (use `passcommand`, e.g. \"cat /root/.borg-pass\")"
        }
        _ => "",
    }
}

/// The kind-specific fields a job of `kind` takes (the others are refused;
/// the TUI's backup form shows these).
pub fn kind_fields(kind: BackupKind) -> &'static [&'static str] {
    match kind {
        BackupKind::Restic => &[
            "repository",
            "password_command",
            "password_file",
            "env_file",
            "tag",
            "path",
        ],
        BackupKind::Borg => &["repository", "passcommand"],
        BackupKind::Path => &["path", "min_size"],
        BackupKind::Command => &["command"],
    }
}

/// Refuse the kind-specific fields that do not belong to `job.kind`.
fn refuse_foreign(job: &BackupJob) -> Result<(), String> {
    let k = job.kind;
    let allowed = kind_fields(k);
    let set = [
        ("repository", job.repository.is_some()),
        ("password_command", job.password_command.is_some()),
        ("password_file", job.password_file.is_some()),
        ("env_file", job.env_file.is_some()),
        ("passcommand", job.passcommand.is_some()),
        ("tag", job.tag.is_some()),
        ("path", job.path.is_some()),
        ("min_size", job.min_size.is_some()),
        ("command", job.command.is_some()),
    ];
    match set.iter().find(|(f, on)| *on && !allowed.contains(f)) {
        Some((f, _)) => Err(format!(
            "`{f}` does not apply to a {} job{}",
            kind_name(k),
            refuse_hint(k, f)
        )),
        None => Ok(()),
    }
}

pub fn kind_name(kind: BackupKind) -> &'static str {
    match kind {
        BackupKind::Restic => "restic",
        BackupKind::Borg => "borg",
        BackupKind::Path => "path",
        BackupKind::Command => "command",
    }
}

/// Check a job's fields: durations, and the fields its kind needs (and only those).
pub fn validate(job: &BackupJob) -> Result<Policy, String> {
    if job.name.trim().is_empty() {
        return Err("the job has an empty `name`".into());
    }
    if job.host.trim().is_empty() {
        return Err("`host` is empty: name a host from hosts.toml, or \"local\"".into());
    }
    let max_age = parse_dur("max_age", &job.max_age)?;
    let warn_age = job
        .warn_age
        .as_deref()
        .map(|w| parse_dur("warn_age", w))
        .transpose()?;
    if let Some(w) = warn_age {
        if w >= max_age {
            return Err(format!(
                "warn_age ({}) must be shorter than max_age ({})",
                job.warn_age.as_deref().unwrap_or_default(),
                job.max_age
            ));
        }
    }
    let restore_every = job
        .restore_test_every
        .as_deref()
        .map(|w| parse_dur("restore_test_every", w))
        .transpose()?;
    match job.kind {
        BackupKind::Restic => {
            need(job, &job.repository, "repository")?;
            if job.password_command.is_some() && job.password_file.is_some() {
                return Err(
                    "give restic either `password_command` or `password_file`, not both".into(),
                );
            }
            if job.password_command.is_none()
                && job.password_file.is_none()
                && job.env_file.is_none()
            {
                return Err("a restic job needs `password_command` or `password_file` (or an `env_file` that sets RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND)".into());
            }
            for (v, f) in [
                (&job.password_command, "password_command"),
                (&job.password_file, "password_file"),
                (&job.env_file, "env_file"),
                (&job.tag, "tag"),
                (&job.path, "path"),
            ] {
                if v.is_some() {
                    need(job, v, f)?;
                }
            }
        }
        BackupKind::Borg => {
            need(job, &job.repository, "repository")?;
            if job.passcommand.is_some() {
                need(job, &job.passcommand, "passcommand")?;
            }
        }
        BackupKind::Path => {
            let p = need(job, &job.path, "path")?;
            if p.starts_with('-') {
                return Err(format!("path `{p}` must not start with `-`"));
            }
        }
        BackupKind::Command => {
            need(job, &job.command, "command")?;
        }
    }
    refuse_foreign(job)?;
    Ok(Policy {
        max_age,
        warn_age,
        restore_every,
    })
}

/// The command line run on the host for a (valid) job: `sh -c '<script>'`,
/// every configured value quoted.
pub fn remote_command(job: &BackupJob) -> String {
    let script = match job.kind {
        BackupKind::Restic => restic::script(job),
        BackupKind::Borg => borg::script(job),
        BackupKind::Path => path::script(job),
        BackupKind::Command => command::script(job),
    };
    let script = format!("echo {BEGIN} >&2; {script}");
    format!("sh -c {}", util::shell_quote(&script))
}

/// Printed on stderr when our script starts: what a login shell or sshd
/// printed before it (banners, debug lines) is not the tool's message.
const BEGIN: &str = "opsdeck-begin";

/// The output with stderr cut to what came after our start marker.
fn after_begin(out: &ExecOutput) -> ExecOutput {
    let mut o = out.clone();
    let marker = format!("{BEGIN}\n");
    let m = marker.as_bytes();
    if let Some(i) = o.stderr.windows(m.len()).rposition(|w| w == m) {
        o.stderr.drain(..i + m.len());
    }
    o
}

/// Read what the host answered.
pub fn parse_output(job: &BackupJob, out: &ExecOutput) -> Result<Found, CheckError> {
    let out = &after_begin(out);
    match job.kind {
        BackupKind::Restic => restic::parse(job, out),
        BackupKind::Borg => borg::parse(job, out),
        BackupKind::Path => path::parse(job, out),
        BackupKind::Command => command::parse(out),
    }
}

/// Shell snippet: stop with a clear message when `tool` is not installed.
fn require_tool(tool: &str) -> String {
    format!(
        "command -v {t} >/dev/null 2>&1 || {{ echo {msg} >&2; exit 127; }}",
        t = util::shell_quote(tool),
        msg = util::shell_quote(&format!(
            "opsdeck: {tool} is not installed on this host (not found in PATH)"
        ))
    )
}

/// A line of ours on stderr ("opsdeck: ..."), when the script stopped itself.
fn own_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("opsdeck: ").map(str::to_string))
}

/// The useful end of a tool's stderr: sanitized, noise dropped, at most
/// three lines and 400 characters.
pub fn tail_text(bytes: &[u8]) -> String {
    let text = util::sanitize(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| {
            !(l.contains("GetPassWarning")
                || l.contains("Password input may be echoed")
                || l.starts_with("warnings.warn"))
        })
        .collect();
    let start = lines.len().saturating_sub(3);
    let mut s = lines[start..].join(" / ");
    if s.chars().count() > 400 {
        s = s.chars().take(399).collect::<String>() + "…";
    }
    s
}

fn exit_text(out: &ExecOutput) -> String {
    match (out.exit_status, &out.exit_signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "no exit status".into(),
    }
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A result for a job that could not be checked at all (host unreachable, ...).
pub fn failed(job: &BackupJob, error: CheckError, now: Timestamp, today: Date) -> BackupResult {
    evaluate(job, Err(error), now, today)
}

/// The status of a job from what its check found (or why it failed).
pub fn evaluate(
    job: &BackupJob,
    outcome: Result<Found, CheckError>,
    now: Timestamp,
    today: Date,
) -> BackupResult {
    let mut r = BackupResult {
        name: job.name.clone(),
        host: job.host.clone(),
        kind: job.kind,
        status: Status::Ok,
        latest: None,
        age_s: None,
        max_age_s: 0,
        error: None,
        reasons: Vec::new(),
        snapshots: None,
        checked_at: Some(rfc3339(now)),
        recent: Vec::new(),
    };
    let policy = match validate(job) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("invalid job in backups.toml: {e}");
            r.status = Status::Unknown;
            r.reasons.push(msg.clone());
            r.error = Some(msg);
            return r;
        }
    };
    r.max_age_s = policy.max_age.as_secs();
    let max_label = &job.max_age;
    let mut status = Status::Ok;
    match outcome {
        Err(e) => {
            status = status.worst(e.status);
            r.reasons.push(e.message.clone());
            r.error = Some(e.message);
        }
        Ok(found) => {
            r.snapshots = found.snapshots;
            r.recent = found.recent;
            match found.latest {
                None => {
                    status = Status::Crit;
                    r.reasons.push(match job.kind {
                        BackupKind::Path => format!(
                            "no file found at {}",
                            job.path.as_deref().unwrap_or_default()
                        ),
                        BackupKind::Restic if job.tag.is_some() || job.path.is_some() => {
                            let mut f = Vec::new();
                            if let Some(t) = &job.tag {
                                f.push(format!("tag {t}"));
                            }
                            if let Some(p) = &job.path {
                                f.push(format!("path {p}"));
                            }
                            format!("no snapshot (with {})", f.join(", "))
                        }
                        _ => "no snapshot".into(),
                    });
                }
                Some(t) => {
                    r.latest = Some(rfc3339(t));
                    let diff = now.as_second() - t.as_second();
                    if diff < -300 {
                        status = status.worst(Status::Warn);
                        r.reasons.push(format!(
                            "latest backup is {} in the future (clock skew?)",
                            util::format_age(diff.unsigned_abs())
                        ));
                    }
                    let age = diff.max(0) as u64;
                    r.age_s = Some(age);
                    if age > policy.max_age.as_secs() {
                        status = Status::Crit;
                        r.reasons.push(format!(
                            "latest backup {} old, older than max_age {max_label}",
                            util::format_age(age)
                        ));
                    } else if let Some(w) = policy.warn_age.filter(|w| age > w.as_secs()) {
                        let _ = w;
                        status = status.worst(Status::Warn);
                        r.reasons.push(format!(
                            "latest backup {} old, older than warn_age {}",
                            util::format_age(age),
                            job.warn_age.as_deref().unwrap_or_default()
                        ));
                    } else {
                        r.reasons.push(format!(
                            "latest backup {} old (max_age {max_label})",
                            util::format_age(age)
                        ));
                    }
                }
            }
            for (level, msg) in found.findings {
                status = status.worst(level);
                r.reasons.push(msg);
            }
        }
    }
    if let Some((level, msg)) = restore_finding(job, &policy, today) {
        status = status.worst(level);
        r.reasons.push(msg);
    }
    r.status = status;
    r
}

/// The date a restore test is due (last + every), when both are known.
pub fn restore_due(job: &BackupJob) -> Option<Date> {
    let every = util::parse_duration(job.restore_test_every.as_deref()?).ok()?;
    let last = job.last_restore_test?;
    let days = every.as_secs().div_ceil(86_400) as i64;
    let span = jiff::Span::new().try_days(days).ok()?;
    last.checked_add(span).ok()
}

fn restore_finding(job: &BackupJob, policy: &Policy, today: Date) -> Option<(Status, String)> {
    let every_label = job.restore_test_every.as_deref()?;
    policy.restore_every?;
    let Some(last) = job.last_restore_test else {
        return Some((
            Status::Warn,
            format!("never restore-tested (restore_test_every {every_label})"),
        ));
    };
    let due = restore_due(job)?;
    if today > due {
        Some((
            Status::Warn,
            format!("restore test overdue since {due} (last {last}, every {every_label})"),
        ))
    } else {
        None
    }
}

/// Today on the jump box's calendar.
pub fn today() -> Date {
    jiff::Zoned::now().date()
}

/// Check one job on a connection to its host (blocking).
pub fn check_job(exec: &mut dyn Exec, job: &BackupJob, timeout: Option<Duration>) -> BackupResult {
    let outcome = probe(exec, job, timeout);
    evaluate(job, outcome, Timestamp::now(), today())
}

/// Run the job's command and read the answer.
pub fn probe(
    exec: &mut dyn Exec,
    job: &BackupJob,
    timeout: Option<Duration>,
) -> Result<Found, CheckError> {
    if let Err(e) = validate(job) {
        return Err(CheckError {
            status: Status::Unknown,
            message: e,
        });
    }
    let cmd = remote_command(job);
    tracing::debug!(job = %job.name, host = %job.host, "backup check: {cmd}");
    let opts = ExecOptions {
        stdin: Some(Vec::new()),
        timeout,
        ..Default::default()
    };
    match exec.exec(&cmd, &opts) {
        // a tool that printed more than the cap: whatever it said is not
        // trusted as a whole, and the error says why
        Ok(out) => parse_output(job, &out).map_err(|mut e| {
            if out.dropped > 0 {
                e.message = format!(
                    "{} (output truncated: {} bytes over the cap dropped)",
                    crate::util::excerpt(&e.message, 300),
                    out.dropped
                );
            }
            e
        }),
        Err(e) => Err(CheckError::crit(format!("{}: {e}", job.host))),
    }
}

#[cfg(test)]
mod tests;
