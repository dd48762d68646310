//! History: compact samples per host and per backup job, one small text
//! file each under `state/history/{hosts,backups}/NAME.tsv`, one line per
//! sweep (tab-separated, `-` for unknown). A sweep appends its lines with
//! one `write` in append mode (a `kill -9` can leave at most a partial last
//! line, which readers skip); once a day the files are compacted by an
//! atomic rewrite (temp file, fsync, rename): raw samples for
//! [`RAW_DAYS`], then the last sample of each day for [`DAILY_DAYS`].
//! Why this format and its size at 500 hosts: docs/decisions/watch.md.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{BackupResult, CheckResult};
use crate::store::{Home, StoreError};

/// Raw samples are kept this many days.
pub const RAW_DAYS: i64 = 7;
/// Then one sample a day, this many days.
pub const DAILY_DAYS: i64 = 400;
const DAY: i64 = 86_400;

/// One host at one sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct HostSample {
    /// Unix seconds.
    pub t: i64,
    /// 1-minute load divided by the CPU count.
    pub load_per_cpu: Option<f64>,
    pub mem_pct: Option<f64>,
    pub pending: Option<u32>,
    pub security: Option<u32>,
    pub reboot: Option<bool>,
    /// (mount, used %).
    pub disks: Vec<(String, f64)>,
}

/// One backup job at one sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct BackupSample {
    pub t: i64,
    /// Age of the newest backup, seconds.
    pub age_s: Option<u64>,
    pub snapshots: Option<u64>,
    /// Bytes of the newest backup (restic: processed; path: file size).
    pub size: Option<u64>,
    /// The newest backup's id, so a sample is known to be a new backup.
    pub latest: Option<String>,
}

/// Which family of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Hosts,
    Backups,
}

impl Family {
    fn dir(self) -> &'static str {
        match self {
            Family::Hosts => "hosts",
            Family::Backups => "backups",
        }
    }
}

pub fn dir(home: &Home) -> PathBuf {
    home.state_dir.join("history")
}

/// `%XX` for every byte outside `[A-Za-z0-9._-]` (and a leading dot), so
/// any name is one safe file name and mounts survive tabs and spaces.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn file(home: &Home, fam: Family, name: &str) -> PathBuf {
    dir(home)
        .join(fam.dir())
        .join(format!("{}.tsv", escape(name)))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2}", x)).unwrap_or_else(|| "-".into())
}

fn get<T: std::str::FromStr>(s: Option<&str>) -> Result<Option<T>, ()> {
    match s {
        None => Err(()),
        Some("-") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ()),
    }
}

impl HostSample {
    /// The sample of a check result (None: the check learnt nothing).
    pub fn of(c: &CheckResult, t: i64) -> Option<HostSample> {
        let f = c.facts.as_ref()?;
        Some(HostSample {
            t,
            load_per_cpu: f
                .load
                .map(|l| l[0] / f64::from(f.cpus.filter(|n| *n > 0).unwrap_or(1))),
            mem_pct: f.mem_used_pct,
            pending: f.updates.as_ref().and_then(|u| u.pending),
            security: f.updates.as_ref().and_then(|u| u.security),
            reboot: f.reboot_required,
            disks: f
                .disks
                .iter()
                .map(|d| (d.mount.clone(), d.used_pct))
                .collect(),
        })
    }

    pub fn line(&self) -> String {
        let disks: Vec<String> = self
            .disks
            .iter()
            .map(|(m, p)| format!("{}={:.1}", escape(m), p))
            .collect();
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.t,
            num(self.load_per_cpu),
            num(self.mem_pct),
            opt(self.pending),
            opt(self.security),
            opt(self.reboot.map(u8::from)),
            disks.join(" ")
        )
    }

    pub fn parse(line: &str) -> Option<HostSample> {
        let mut f = line.split('\t');
        let t = f.next()?.parse().ok()?;
        let load_per_cpu = get(f.next()).ok()?;
        let mem_pct = get(f.next()).ok()?;
        let pending = get(f.next()).ok()?;
        let security = get(f.next()).ok()?;
        let reboot = get::<u8>(f.next()).ok()?.map(|b| b != 0);
        let mut disks = Vec::new();
        for d in f.next()?.split(' ').filter(|d| !d.is_empty()) {
            let (m, p) = d.rsplit_once('=')?;
            disks.push((unescape(m), p.parse().ok()?));
        }
        if f.next().is_some() {
            return None;
        }
        Some(HostSample {
            t,
            load_per_cpu,
            mem_pct,
            pending,
            security,
            reboot,
            disks,
        })
    }
}

impl BackupSample {
    pub fn of(r: &BackupResult, t: i64) -> Option<BackupSample> {
        if r.error.is_some() && r.latest.is_none() {
            return None;
        }
        let newest = r.recent.first();
        Some(BackupSample {
            t,
            age_s: r.age_s,
            snapshots: r.snapshots,
            size: newest.and_then(|s| s.size),
            latest: newest.map(|s| s.id.clone()).or(r.latest.clone()),
        })
    }

    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\n",
            self.t,
            opt(self.age_s),
            opt(self.snapshots),
            opt(self.size),
            self.latest
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "-".into())
        )
    }

    pub fn parse(line: &str) -> Option<BackupSample> {
        let mut f = line.split('\t');
        let t = f.next()?.parse().ok()?;
        let age_s = get(f.next()).ok()?;
        let snapshots = get(f.next()).ok()?;
        let size = get(f.next()).ok()?;
        let latest = match f.next()? {
            "-" => None,
            s => Some(unescape(s)),
        };
        if f.next().is_some() {
            return None;
        }
        Some(BackupSample {
            t,
            age_s,
            snapshots,
            size,
            latest,
        })
    }
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// Append `text` (whole lines) to a history file with one write.
fn append(path: &Path, text: &str) -> Result<(), StoreError> {
    if let Some(d) = path.parent() {
        crate::store::write::ensure_dir(d)?;
    }
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_err(path, "cannot open the history file", e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| io_err(path, "cannot append to the history file", e))
}

/// Append one sweep's samples. Returns the files that could not be
/// written (the sweep goes on; its summary says so).
pub fn record(
    home: &Home,
    hosts: &[(String, HostSample)],
    backups: &[(String, BackupSample)],
) -> Vec<String> {
    let mut failed = Vec::new();
    for (name, s) in hosts {
        if let Err(e) = append(&file(home, Family::Hosts, name), &s.line()) {
            failed.push(e.to_string());
        }
    }
    for (name, s) in backups {
        if let Err(e) = append(&file(home, Family::Backups, name), &s.line()) {
            failed.push(e.to_string());
        }
    }
    failed
}

/// Lines of a file that parse (a torn or damaged line is skipped).
fn read_lines<T>(path: &Path, parse: fn(&str) -> Option<T>) -> Vec<T> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    // a last line without its newline was torn by a kill: not a sample
    let whole = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    whole.lines().filter_map(parse).collect()
}

pub fn host(home: &Home, name: &str) -> Vec<HostSample> {
    read_lines(&file(home, Family::Hosts, name), HostSample::parse)
}

pub fn backup(home: &Home, name: &str) -> Vec<BackupSample> {
    read_lines(&file(home, Family::Backups, name), BackupSample::parse)
}

/// Every host's samples newer than `since` (Unix seconds), by host name:
/// what the TUI loads in the background at start.
pub fn hosts_since(home: &Home, since: i64) -> BTreeMap<String, Vec<HostSample>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir(home).join(Family::Hosts.dir())) else {
        return out;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = n.strip_suffix(".tsv") else {
            continue;
        };
        let mut v = read_lines(&e.path(), HostSample::parse);
        v.retain(|s| s.t >= since);
        out.insert(unescape(stem), v);
    }
    out
}

/// Which samples a compaction keeps: every one of the last [`RAW_DAYS`],
/// then the last of each UTC day for [`DAILY_DAYS`]. `ts` are in file
/// order (oldest first).
pub fn keep(ts: &[i64], now: i64) -> Vec<bool> {
    let raw_from = now - RAW_DAYS * DAY;
    let oldest = now - DAILY_DAYS * DAY;
    let mut keep = vec![false; ts.len()];
    for (i, &t) in ts.iter().enumerate() {
        if t >= raw_from {
            keep[i] = true;
        } else if t >= oldest {
            let day = t.div_euclid(DAY);
            let next_same_day = ts[i + 1..]
                .iter()
                .any(|&u| u.div_euclid(DAY) == day && u < raw_from);
            keep[i] = !next_same_day;
        }
    }
    keep
}

fn compact_file(path: &Path, now: i64) -> Result<(), StoreError> {
    let Ok(bytes) = fs::read(path) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.split('\t')
                .next()
                .is_some_and(|t| t.parse::<i64>().is_ok())
        })
        .collect();
    let ts: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.split('\t').next()?.parse().ok())
        .collect();
    let k = keep(&ts, now);
    if k.iter().all(|x| *x) && lines.len() == text.lines().count() {
        return Ok(());
    }
    let mut out = String::new();
    for (l, keep) in lines.iter().zip(k) {
        if keep {
            out.push_str(l);
            out.push('\n');
        }
    }
    if out.is_empty() {
        return fs::remove_file(path).map_err(|e| io_err(path, "cannot remove", e));
    }
    crate::store::write::write_atomic(path, out.as_bytes())
}

/// Compact every history file, at most once per UTC day (a stamp file
/// remembers the day). Returns the problems met (the sweep goes on).
pub fn compact_daily(home: &Home, now: i64) -> Vec<String> {
    let stamp = dir(home).join("compacted");
    let today = now.div_euclid(DAY).to_string();
    if fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == today) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for fam in [Family::Hosts, Family::Backups] {
        let Ok(entries) = fs::read_dir(dir(home).join(fam.dir())) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".tsv") {
                if let Err(e) = compact_file(&e.path(), now) {
                    problems.push(e.to_string());
                }
            }
        }
    }
    if let Err(e) = crate::store::write::write_atomic(&stamp, today.as_bytes()) {
        problems.push(e.to_string());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_torn_lines_are_skipped() {
        let s = HostSample {
            t: 1_765_000_000,
            load_per_cpu: Some(0.25),
            mem_pct: Some(41.5),
            pending: Some(3),
            security: None,
            reboot: Some(true),
            disks: vec![("/".into(), 45.0), ("/mnt/my disk=x".into(), 81.2)],
        };
        assert_eq!(HostSample::parse(s.line().trim_end()), Some(s.clone()));
        let b = BackupSample {
            t: 5,
            age_s: Some(60),
            snapshots: Some(4),
            size: None,
            latest: Some("a b".into()),
        };
        assert_eq!(BackupSample::parse(b.line().trim_end()), Some(b));
        assert_eq!(HostSample::parse("12\tx"), None);
        assert_eq!(HostSample::parse(""), None);
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        record(&home, &[("web1".into(), s.clone())], &[]);
        let p = file(&home, Family::Hosts, "web1");
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"1765000600\t0.1\t").unwrap();
        assert_eq!(host(&home, "web1"), vec![s]);
    }

    #[test]
    fn retention_keeps_raw_week_then_one_a_day() {
        let now = 1000 * DAY;
        let mut ts = Vec::new();
        // every 6 hours for 500 days
        let mut t = now - 500 * DAY;
        while t <= now {
            ts.push(t);
            t += DAY / 4;
        }
        let k = keep(&ts, now);
        let kept: Vec<i64> = ts
            .iter()
            .zip(&k)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        assert!(kept.iter().all(|t| *t >= now - DAILY_DAYS * DAY));
        let raw = kept.iter().filter(|t| **t >= now - RAW_DAYS * DAY).count();
        assert_eq!(raw, (RAW_DAYS * 4 + 1) as usize);
        let daily = kept.len() - raw;
        assert!(
            (daily as i64 - (DAILY_DAYS - RAW_DAYS)).abs() <= 1,
            "{daily}"
        );
    }

    #[test]
    fn escaped_names() {
        assert_eq!(unescape(&escape("a b/c%")), "a b/c%");
        assert_eq!(escape("..x"), "%2E.x");
    }
}
