//! restic: `restic snapshots --json --no-lock` with the repository and the
//! password source exported in the remote shell.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

use super::{exit_text, own_error, require_tool, rfc3339, tail_text, CheckError, Found};
use crate::model::{BackupJob, BackupSnapshot};
use crate::ssh::ExecOutput;
use crate::util::shell_quote as q;

/// How many snapshot groups the details keep.
const RECENT: usize = 5;

pub(super) fn script(job: &BackupJob) -> String {
    let mut s = vec![require_tool("restic")];
    if let Some(env) = job.env_file.as_deref() {
        // `.` searches PATH for a name without a slash.
        let env = if env.contains('/') {
            env.to_string()
        } else {
            format!("./{env}")
        };
        s.push(format!(
            "[ -r {f} ] || {{ echo {m} >&2; exit 125; }}",
            f = q(&env),
            m = q(&format!("opsdeck: cannot read env_file {env}"))
        ));
        s.push(format!("set -a; . {}; set +a", q(&env)));
    }
    s.push(format!(
        "RESTIC_REPOSITORY={}; export RESTIC_REPOSITORY",
        q(job.repository.as_deref().unwrap_or_default())
    ));
    if let Some(f) = job.password_file.as_deref() {
        s.push(format!(
            "unset RESTIC_PASSWORD_COMMAND; RESTIC_PASSWORD_FILE={}; export RESTIC_PASSWORD_FILE",
            q(f)
        ));
    }
    if let Some(c) = job.password_command.as_deref() {
        s.push(format!(
            "unset RESTIC_PASSWORD_FILE; RESTIC_PASSWORD_COMMAND={}; export RESTIC_PASSWORD_COMMAND",
            q(c)
        ));
    }
    let mut cmd = "restic snapshots --json --no-lock".to_string();
    if let Some(t) = job.tag.as_deref() {
        cmd.push_str(" --tag ");
        cmd.push_str(&q(t));
    }
    if let Some(p) = job.path.as_deref() {
        cmd.push_str(" --path ");
        cmd.push_str(&q(p));
    }
    cmd.push_str(" </dev/null");
    s.push(cmd);
    s.join("; ")
}

#[derive(Debug, Deserialize)]
struct Snap {
    time: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    short_id: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<Summary>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    #[serde(default)]
    total_bytes_processed: Option<u64>,
}

/// Parse `restic snapshots --json` (0.14 .. 0.17+): the latest time over all
/// snapshots, their count, and the newest snapshot of each host+paths group.
pub fn parse_snapshots(stdout: &str) -> Result<Found, String> {
    let text = stdout.trim();
    // Be lenient about lines before the JSON array.
    let start = text.find('[').ok_or_else(|| {
        format!(
            "restic printed no JSON list of snapshots: `{}`",
            tail_text(text.as_bytes())
        )
    })?;
    let snaps: Vec<Snap> = serde_json::from_str(&text[start..])
        .map_err(|e| format!("cannot read restic's JSON: {e}"))?;
    let count = snaps.len() as u64;
    let mut groups: BTreeMap<(String, Vec<String>), (Timestamp, BackupSnapshot)> = BTreeMap::new();
    let mut latest: Option<Timestamp> = None;
    for s in snaps {
        let t: Timestamp = s.time.parse().map_err(|e| {
            format!(
                "restic snapshot has a time that is not RFC 3339: `{}` ({e})",
                s.time
            )
        })?;
        latest = Some(latest.map_or(t, |l| l.max(t)));
        let mut paths = s.paths.unwrap_or_default();
        paths.sort();
        let host = s.hostname.clone().unwrap_or_default();
        let id = s
            .short_id
            .filter(|x| !x.is_empty())
            .or_else(|| s.id.map(|i| i.chars().take(8).collect()))
            .unwrap_or_default();
        let snap = BackupSnapshot {
            id,
            time: rfc3339(t),
            hostname: s.hostname,
            paths: paths.clone(),
            tags: s.tags.unwrap_or_default(),
            size: s.summary.and_then(|x| x.total_bytes_processed),
        };
        let e = groups.entry((host, paths)).or_insert((t, snap.clone()));
        if t > e.0 {
            *e = (t, snap);
        }
    }
    let mut recent: Vec<(Timestamp, BackupSnapshot)> = groups.into_values().collect();
    recent.sort_by_key(|x| std::cmp::Reverse(x.0));
    Ok(Found {
        latest,
        snapshots: Some(count),
        recent: recent.into_iter().take(RECENT).map(|(_, s)| s).collect(),
        findings: Vec::new(),
    })
}

/// A failed `restic snapshots` as a message a person understands.
pub(super) fn classify(job: &BackupJob, out: &ExecOutput) -> CheckError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let repo = job.repository.as_deref().unwrap_or_default();
    if let Some(own) = own_error(&stderr) {
        return CheckError::crit(own);
    }
    let code = out.exit_status;
    let has = |s: &str| stderr.contains(s);
    if code == Some(12) || has("wrong password or no key found") {
        return CheckError::crit(format!(
            "wrong password for the restic repository {repo} (no key matches the password from {})",
            source(job)
        ));
    }
    if code == Some(10)
        || has("repository does not exist")
        || has("Is there a repository at the following location?")
    {
        return CheckError::crit(format!("no restic repository at {repo}"));
    }
    if code == Some(11) || has("repository is already locked") {
        return CheckError::warn(format!(
            "restic repository {repo} is locked by another restic process; could not check"
        ));
    }
    if has("Resolving password failed") {
        return CheckError::crit(format!(
            "cannot get the restic password from {}: {}",
            source(job),
            tail_text(&out.stderr)
        ));
    }
    if has("an empty password is not a password") || has("reading repository password from stdin") {
        return CheckError::crit(
            "restic got no password: set password_command or password_file".to_string(),
        );
    }
    if code == Some(127) && has("not found") {
        return CheckError::crit("restic is not installed on this host (not found in PATH)");
    }
    let tail = tail_text(&out.stderr);
    CheckError::crit(format!(
        "restic failed ({}){}",
        exit_text(out),
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        }
    ))
}

fn source(job: &BackupJob) -> String {
    if let Some(f) = &job.password_file {
        format!("password_file {f}")
    } else if job.password_command.is_some() {
        "password_command".to_string()
    } else {
        "env_file".to_string()
    }
}

pub(super) fn parse(job: &BackupJob, out: &ExecOutput) -> Result<Found, CheckError> {
    if out.exit_status != Some(0) {
        return Err(classify(job, out));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    parse_snapshots(&stdout).map_err(CheckError::crit)
}
