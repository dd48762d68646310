//! command: a custom command, run through `sh -c` on the host, prints the
//! time of the latest good backup (RFC 3339 or Unix seconds) on its last
//! non-empty line. A non-zero exit is a failure, with its stderr shown.

use jiff::Timestamp;

use super::{exit_text, own_error, rfc3339, tail_text, CheckError, Found};
use crate::model::{BackupJob, BackupSnapshot};
use crate::ssh::ExecOutput;
use crate::util::{self, shell_quote as q};

pub(super) fn script(job: &BackupJob) -> String {
    format!(
        "sh -c {} </dev/null",
        q(job.command.as_deref().unwrap_or_default())
    )
}

/// A time as the command printed it: Unix seconds (fraction allowed) or RFC 3339.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    let t = s.trim();
    let shown = || {
        let c = util::sanitize(t.as_bytes());
        if c.chars().count() > 60 {
            c.chars().take(59).collect::<String>() + "…"
        } else {
            c
        }
    };
    if !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.matches('.').count() <= 1
    {
        let whole = t.split('.').next().unwrap_or_default();
        let secs: i64 = whole
            .parse()
            .map_err(|_| format!("the command printed `{}`, not a time", shown()))?;
        return Timestamp::from_second(secs)
            .map_err(|_| format!("the command printed `{}`, out of range", shown()));
    }
    t.parse::<Timestamp>().map_err(|_| {
        format!(
            "the command printed `{}`, not a time (print RFC 3339 like 2026-11-22T03:00:00Z, or Unix seconds)",
            shown()
        )
    })
}

pub(super) fn parse(out: &ExecOutput) -> Result<Found, CheckError> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(own) = own_error(&stderr) {
        return Err(CheckError::crit(own));
    }
    if out.exit_status != Some(0) {
        let tail = tail_text(&out.stderr);
        return Err(CheckError::crit(format!(
            "the command failed ({}): {}",
            exit_text(out),
            if tail.is_empty() {
                "no message on stderr".to_string()
            } else {
                tail
            }
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Err(CheckError::crit(
            "the command printed nothing (it must print the time of the latest good backup)",
        ));
    };
    let t = parse_time(last).map_err(CheckError::crit)?;
    Ok(Found {
        latest: Some(t),
        snapshots: None,
        recent: vec![BackupSnapshot {
            id: "command".into(),
            time: rfc3339(t),
            ..Default::default()
        }],
        findings: Vec::new(),
    })
}
