//! path: the newest regular file under a directory or matching a glob (found
//! recursively with `find -H`), its mtime and size via `stat -c` (GNU
//! coreutils and busybox) or `stat -f` (BSD). Only the newest is printed:
//! the host computes it with awk, so a tree of many files stays cheap to ship.

use jiff::Timestamp;

use super::{exit_text, own_error, rfc3339, tail_text, CheckError, Found};
use crate::model::{BackupJob, BackupSnapshot, Status};
use crate::ssh::ExecOutput;
use crate::util::{self, shell_quote as q};

pub(super) fn script(job: &BackupJob) -> String {
    let p = job.path.as_deref().unwrap_or_default().trim();
    // `~/x` is the remote user's home; everything else is taken as written.
    // The pattern is expanded by the host's sh (IFS empty: globbing, no splitting).
    let assign = match p.strip_prefix("~/") {
        Some(rest) => format!("pat=\"$HOME\"/{}", q(rest)),
        None => format!("pat={}", q(p)),
    };
    [
        assign,
        "IFS=''".into(),
        "set -- $pat".into(),
        "unset IFS".into(),
        "if [ ! -e \"$1\" ] && [ ! -L \"$1\" ]; then echo opsdeck-nomatch; exit 0; fi".into(),
        "if stat -c %Y / >/dev/null 2>&1; then \
           find -H \"$@\" -type f -exec stat -c '%Y %s %n' {} +; \
         else \
           find -H \"$@\" -type f -exec stat -f '%m %z %N' {} +; \
         fi </dev/null | awk 'BEGIN { n = 0 } \
           $1 ~ /^[0-9]+$/ { n++; if (n == 1 || $1 + 0 > m + 0) { m = $1; l = $0 } } \
           END { print \"opsdeck-files \" n; if (n) print \"opsdeck-newest \" l }'"
            .into(),
    ]
    .join("; ")
}

/// The newest file from the script's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Newest {
    pub mtime: Timestamp,
    pub size: u64,
    pub name: String,
}

/// Parse the script's stdout: `opsdeck-nomatch`, or `opsdeck-files N` and
/// `opsdeck-newest MTIME SIZE NAME`. Ok(None, n) when no file was found.
pub fn parse_listing(stdout: &str) -> Result<(u64, Option<Newest>), String> {
    let mut files: Option<u64> = None;
    let mut newest = None;
    for line in stdout.lines() {
        if line.trim() == "opsdeck-nomatch" {
            return Ok((0, None));
        }
        if let Some(n) = line.strip_prefix("opsdeck-files ") {
            files = Some(
                n.trim()
                    .parse()
                    .map_err(|_| format!("unexpected file count `{}`", n.trim()))?,
            );
        } else if let Some(rest) = line.strip_prefix("opsdeck-newest ") {
            let mut it = rest.splitn(3, ' ');
            let (Some(m), Some(s), Some(name)) = (it.next(), it.next(), it.next()) else {
                return Err(format!("unexpected line `{}`", tail_text(line.as_bytes())));
            };
            let m: i64 = m.parse().map_err(|_| format!("unexpected mtime `{m}`"))?;
            let size: u64 = s.parse().map_err(|_| format!("unexpected size `{s}`"))?;
            let mtime = Timestamp::from_second(m).map_err(|e| format!("mtime {m}: {e}"))?;
            newest = Some(Newest {
                mtime,
                size,
                name: util::sanitize(name.as_bytes()),
            });
        }
    }
    match files {
        Some(n) => Ok((n, newest)),
        None => Err("the file listing printed no summary".into()),
    }
}

pub(super) fn parse(job: &BackupJob, out: &ExecOutput) -> Result<Found, CheckError> {
    let path = job.path.as_deref().unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(own) = own_error(&stderr) {
        return Err(CheckError::crit(own));
    }
    let (count, newest) = match parse_listing(&stdout) {
        Ok(x) => x,
        Err(e) => {
            let tail = tail_text(&out.stderr);
            return Err(CheckError::crit(format!(
                "cannot list {path} ({}): {}",
                exit_text(out),
                if tail.is_empty() { e } else { tail }
            )));
        }
    };
    let errors = tail_text(&out.stderr);
    let Some(n) = newest else {
        if !errors.is_empty() {
            return Err(CheckError::crit(format!(
                "no readable file at {path}: {errors}"
            )));
        }
        return Ok(Found {
            snapshots: Some(0),
            ..Found::default()
        });
    };
    let mut findings = Vec::new();
    if let Some(min) = job.min_size {
        if n.size < min {
            findings.push((
                Status::Crit,
                format!(
                    "newest file {} is {} bytes, below min_size {min}",
                    n.name, n.size
                ),
            ));
        }
    }
    if !errors.is_empty() {
        findings.push((Status::Warn, format!("some entries unreadable: {errors}")));
    }
    Ok(Found {
        latest: Some(n.mtime),
        snapshots: Some(count),
        recent: vec![BackupSnapshot {
            id: n.name,
            time: rfc3339(n.mtime),
            size: Some(n.size),
            ..Default::default()
        }],
        findings,
    })
}
