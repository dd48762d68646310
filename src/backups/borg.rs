//! borg 1.x: `borg list --json` (all archives: the count, and the newest by
//! time). borg prints local times without a zone, so the same command first
//! prints the host's zone: `date +%z` and the zone name (TZ, or the target of
//! /etc/localtime). The name, when the jump box's tz database knows it, gives
//! the right offset for every archive (DST included); else the current offset
//! is used.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use serde::Deserialize;

use super::{exit_text, own_error, require_tool, rfc3339, tail_text, CheckError, Found};
use crate::model::{BackupJob, BackupSnapshot};
use crate::ssh::ExecOutput;
use crate::util::shell_quote as q;

const RECENT: usize = 5;
const TZ_TAG: &str = "opsdeck-tz ";

pub(super) fn script(job: &BackupJob) -> String {
    let mut s = vec![require_tool("borg")];
    s.push(
        "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes; BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes; \
         BORG_DISPLAY_PASSPHRASE=no; \
         export BORG_RELOCATED_REPO_ACCESS_IS_OK BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK BORG_DISPLAY_PASSPHRASE"
            .to_string(),
    );
    s.push(format!(
        "BORG_REPO={}; export BORG_REPO",
        q(job.repository.as_deref().unwrap_or_default())
    ));
    match job.passcommand.as_deref() {
        // BORG_PASSPHRASE, even empty, would win over BORG_PASSCOMMAND.
        Some(pc) => s.push(format!(
            "unset BORG_PASSPHRASE BORG_PASSPHRASE_FD; BORG_PASSCOMMAND={}; export BORG_PASSCOMMAND",
            q(pc)
        )),
        // No passcommand: an empty passphrase, so an encrypted repository
        // fails at once instead of prompting.
        None => s.push(
            "unset BORG_PASSCOMMAND BORG_PASSPHRASE_FD; BORG_PASSPHRASE=; export BORG_PASSPHRASE"
                .to_string(),
        ),
    }
    s.push(format!(
        "printf '{TZ_TAG}%s %s\\n' \"$(date +%z)\" \"${{TZ:-$(readlink /etc/localtime 2>/dev/null)}}\""
    ));
    s.push("borg list --json --lock-wait 10 </dev/null".to_string());
    s.join("; ")
}

/// The host's time zone as the check command reported it.
#[derive(Debug, Clone, Default)]
pub struct HostZone {
    /// From the zone name (IANA, or a POSIX TZ string).
    pub tz: Option<TimeZone>,
    /// `date +%z` at check time.
    pub offset: Option<Offset>,
}

impl HostZone {
    /// Parse the value part of `opsdeck-tz +0100 Europe/Berlin`.
    pub fn parse(line: &str) -> HostZone {
        let mut words = line.split_whitespace();
        let offset = words.next().and_then(parse_offset);
        let name = words.next().unwrap_or_default();
        HostZone {
            tz: zone_by_name(name),
            offset,
        }
    }

    /// A local time (no zone) on the host, as an instant.
    pub fn to_timestamp(&self, local: DateTime) -> Result<Timestamp, String> {
        if let Some(tz) = &self.tz {
            if let Ok(z) = local.to_zoned(tz.clone()) {
                return Ok(z.timestamp());
            }
        }
        let offset = self.offset.unwrap_or(Offset::UTC);
        offset
            .to_timestamp(local)
            .map_err(|e| format!("time {local} out of range: {e}"))
    }
}

fn parse_offset(s: &str) -> Option<Offset> {
    let b = s.as_bytes();
    if b.len() != 5 || !(b[0] == b'+' || b[0] == b'-') {
        return None;
    }
    let h: i32 = s.get(1..3)?.parse().ok()?;
    let m: i32 = s.get(3..5)?.parse().ok()?;
    let secs = (h * 3600 + m * 60) * if b[0] == b'-' { -1 } else { 1 };
    Offset::from_seconds(secs).ok()
}

fn zone_by_name(name: &str) -> Option<TimeZone> {
    let name = name.trim().trim_start_matches(':');
    if name.is_empty() {
        return None;
    }
    let iana = match name.find("zoneinfo/") {
        Some(i) => &name[i + "zoneinfo/".len()..],
        None => name,
    };
    let iana = iana.strip_prefix("posix/").unwrap_or(iana);
    if let Ok(tz) = TimeZone::get(iana) {
        return Some(tz);
    }
    if !name.contains('/') {
        if let Ok(tz) = TimeZone::posix(name) {
            return Some(tz);
        }
    }
    None
}

#[derive(Debug, Deserialize)]
struct List {
    archives: Vec<Archive>,
}

#[derive(Debug, Deserialize)]
struct Archive {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    archive: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
}

/// A borg time: local without zone (1.x), or with an offset (newer borg).
fn archive_time(s: &str, zone: &HostZone) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let local: DateTime = s
        .parse()
        .map_err(|e| format!("borg archive time `{s}` is not a time ({e})"))?;
    zone.to_timestamp(local)
}

/// Parse `borg list --json` (borg 1.x), local times read in `zone`.
pub fn parse_list(stdout: &str, zone: &HostZone) -> Result<Found, String> {
    let text = stdout.trim();
    let start = text
        .find('{')
        .ok_or_else(|| format!("borg printed no JSON: `{}`", tail_text(text.as_bytes())))?;
    let list: List = serde_json::from_str(&text[start..])
        .map_err(|e| format!("cannot read borg's JSON: {e}"))?;
    let count = list.archives.len() as u64;
    let mut all = Vec::with_capacity(list.archives.len());
    for a in list.archives {
        let Some(ts) = a.time.as_deref().or(a.start.as_deref()) else {
            return Err("a borg archive has no time".into());
        };
        let t = archive_time(ts, zone)?;
        let name = a.name.or(a.archive).unwrap_or_default();
        all.push((
            t,
            BackupSnapshot {
                id: name,
                time: rfc3339(t),
                hostname: a.hostname,
                ..Default::default()
            },
        ));
    }
    all.sort_by_key(|x| std::cmp::Reverse(x.0));
    Ok(Found {
        latest: all.first().map(|x| x.0),
        snapshots: Some(count),
        recent: all.into_iter().take(RECENT).map(|x| x.1).collect(),
        findings: Vec::new(),
    })
}

/// A failed `borg list` as a message a person understands.
pub(super) fn classify(job: &BackupJob, out: &ExecOutput) -> CheckError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let repo = job.repository.as_deref().unwrap_or_default();
    if let Some(own) = own_error(&stderr) {
        return CheckError::crit(own);
    }
    let has = |s: &str| stderr.contains(s);
    if has("is incorrect") && has("passphrase supplied") {
        return CheckError::crit(if job.passcommand.is_some() {
            format!("wrong passphrase for the borg repository {repo} (from passcommand)")
        } else {
            format!("the borg repository {repo} is encrypted: set `passcommand`")
        });
    }
    if has("passcommand supplied in BORG_PASSCOMMAND failed") {
        return CheckError::crit(format!(
            "passcommand failed for the borg repository {repo}: {}",
            tail_text(&out.stderr)
        ));
    }
    if has("can not acquire a passphrase") {
        return CheckError::crit(format!(
            "the borg repository {repo} is encrypted: set `passcommand`"
        ));
    }
    if has("does not exist") && has("Repository") {
        return CheckError::crit(format!("no borg repository at {repo}"));
    }
    if has("is not a valid repository") {
        return CheckError::crit(format!("{repo} is not a borg repository"));
    }
    if has("Failed to create/acquire the lock") || has("LockTimeout") {
        return CheckError::warn(format!(
            "borg repository {repo} is locked (a backup or prune running?); could not check"
        ));
    }
    if out.exit_status == Some(127) && has("not found") {
        return CheckError::crit("borg is not installed on this host (not found in PATH)");
    }
    let tail = tail_text(&out.stderr);
    CheckError::crit(format!(
        "borg failed ({}){}",
        exit_text(out),
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        }
    ))
}

pub(super) fn parse(job: &BackupJob, out: &ExecOutput) -> Result<Found, CheckError> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    // borg: 0 ok, 1 warning (output still valid), 2 error.
    if !matches!(out.exit_status, Some(0) | Some(1)) {
        return Err(classify(job, out));
    }
    let (zone, json) = split_zone(&stdout);
    match parse_list(json, &zone) {
        Ok(f) => Ok(f),
        Err(e) if out.exit_status == Some(1) => Err(classify(job, out)).map_err(|c| CheckError {
            message: format!("{} ({e})", c.message),
            ..c
        }),
        Err(e) => Err(CheckError::crit(e)),
    }
}

/// The zone line, and the rest (borg's JSON).
pub(super) fn split_zone(stdout: &str) -> (HostZone, &str) {
    let mut zone = HostZone::default();
    let mut rest = stdout;
    if let Some(i) = stdout.find(TZ_TAG) {
        let after = &stdout[i + TZ_TAG.len()..];
        let (line, tail) = after.split_once('\n').unwrap_or((after, ""));
        zone = HostZone::parse(line);
        rest = tail;
    }
    (zone, rest)
}
