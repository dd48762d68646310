//! The watch's history: compact samples per host and per backup job,
//! appended by every sweep, in `state/history/` (decision and figures in
//! docs/decisions/watch.md).
//!
//! One tab-separated text file per host (`hosts/NAME.tsv`) and per backup
//! job (`backups/NAME.tsv`), one line per sample: `r` (raw) or `d` (daily
//! mean) and the time in Unix seconds, then the values. A sweep appends
//! one line per file (O_APPEND, mode 0600); a line cut by a crash is
//! skipped when read (and the next append starts on a new line). Once a
//! day a file is compacted, atomically like every other state file: raw
//! samples older than [`RAW_DAYS`] become one daily line per day, daily
//! lines older than [`DAILY_DAYS`] go.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::model::{BackupResult, CheckResult};
use crate::store::{Home, StoreError};

/// Raw samples are kept this long.
pub const RAW_DAYS: i64 = 7;
/// Daily means are kept this long.
pub const DAILY_DAYS: i64 = 400;
const DAY: i64 = 86_400;

/// One host sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostSample {
    /// Unix seconds.
    pub at: i64,
    /// A daily mean (compacted), not one sweep's value.
    pub daily: bool,
    /// 1-minute load divided by the CPU count.
    pub load_per_cpu: Option<f64>,
    pub mem_pct: Option<f64>,
    pub pending: Option<u32>,
    pub security: Option<u32>,
    pub reboot: Option<bool>,
    /// (mount, used %).
    pub disks: Vec<(String, f64)>,
}

/// One backup job sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackupSample {
    pub at: i64,
    pub daily: bool,
    pub age_s: Option<u64>,
    pub snapshots: Option<u64>,
    /// Bytes of the newest backup (restic's processed bytes, a path's file size).
    pub size: Option<u64>,
}

fn dir(home: &Home, kind: &str) -> PathBuf {
    home.state_dir.join("history").join(kind)
}

/// A name as a file name: `[A-Za-z0-9._-]` kept, the rest `%XX`, never
/// starting with a dot.
pub fn file_name(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{out}.tsv")
}

/// A mount point in a line: tabs, `;`, `=`, `%` and control bytes escaped.
fn esc(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c == '%' || c == '\t' || c == ';' || c == '=' || c.is_control() {
            let mut b = [0u8; 4];
            for x in c.encode_utf8(&mut b).bytes() {
                out.push_str(&format!("%{x:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unesc(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn num<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    if s == "-" {
        Ok(None)
    } else {
        s.parse().map(Some).map_err(|_| ())
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl HostSample {
    /// The sample of a check that learnt facts (None: it learnt nothing).
    pub fn of(c: &CheckResult, at: i64) -> Option<HostSample> {
        let f = c.facts.as_ref()?;
        Some(HostSample {
            at,
            daily: false,
            load_per_cpu: match (f.load, f.cpus) {
                (Some(l), Some(n)) if n > 0 => Some(round2(l[0] / n as f64)),
                _ => None,
            },
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

    fn line(&self) -> String {
        let disks: Vec<String> = self
            .disks
            .iter()
            .map(|(m, p)| format!("{}={}", esc(m), p))
            .collect();
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            if self.daily { "d" } else { "r" },
            self.at,
            opt(self.load_per_cpu),
            opt(self.mem_pct),
            opt(self.pending),
            opt(self.security),
            opt(self.reboot.map(u8::from)),
            disks.join(";")
        )
    }

    fn parse(line: &str) -> Option<HostSample> {
        let w: Vec<&str> = line.split('\t').collect();
        if w.len() != 8 || !matches!(w[0], "r" | "d") {
            return None;
        }
        let mut disks = Vec::new();
        for d in w[7].split(';').filter(|d| !d.is_empty()) {
            let (m, p) = d.rsplit_once('=')?;
            let p: f64 = p.parse().ok().filter(|p: &f64| p.is_finite())?;
            disks.push((unesc(m), p));
        }
        Some(HostSample {
            at: w[1].parse().ok()?,
            daily: w[0] == "d",
            load_per_cpu: num(w[2]).ok()?,
            mem_pct: num(w[3]).ok()?,
            pending: num(w[4]).ok()?,
            security: num(w[5]).ok()?,
            reboot: num::<u8>(w[6]).ok()?.map(|b| b != 0),
            disks,
        })
    }
}

impl BackupSample {
    pub fn of(r: &BackupResult, at: i64) -> BackupSample {
        BackupSample {
            at,
            daily: false,
            age_s: r.age_s,
            snapshots: r.snapshots,
            size: r.recent.first().and_then(|s| s.size),
        }
    }

    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\n",
            if self.daily { "d" } else { "r" },
            self.at,
            opt(self.age_s),
            opt(self.snapshots),
            opt(self.size)
        )
    }

    fn parse(line: &str) -> Option<BackupSample> {
        let w: Vec<&str> = line.split('\t').collect();
        if w.len() != 5 || !matches!(w[0], "r" | "d") {
            return None;
        }
        Some(BackupSample {
            at: w[1].parse().ok()?,
            daily: w[0] == "d",
            age_s: num(w[2]).ok()?,
            snapshots: num(w[3]).ok()?,
            size: num(w[4]).ok()?,
        })
    }
}

fn io(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// Append one line, on a line of its own (after a line cut by a crash).
fn append(path: &Path, line: &str) -> Result<(), StoreError> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).map_err(|e| io(d, "cannot create", e))?;
        let _ = fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    }
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io(path, "cannot open", e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut text = String::new();
    if len > 0 {
        let mut last = [0u8; 1];
        if f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
        {
            text.push('\n');
        }
    }
    text.push_str(line);
    f.write_all(text.as_bytes())
        .map_err(|e| io(path, "cannot append", e))
}

fn read_lines<T>(path: &Path, parse: fn(&str) -> Option<T>) -> Vec<T> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines().filter_map(parse).collect()
}

/// Append a sweep's samples: one per host that was reached, one per backup
/// job checked. Compacts a file whose oldest raw sample is past
/// [`RAW_DAYS`] by more than a day.
pub fn append_sweep(
    home: &Home,
    hosts: &[HostSample],
    host_names: &[String],
    backups: &[(String, BackupSample)],
) -> Result<(), StoreError> {
    for (name, s) in host_names.iter().zip(hosts) {
        let path = dir(home, "hosts").join(file_name(name));
        append(&path, &s.line())?;
        compact_if_due(&path, s.at, HostSample::parse, HostSample::line, daily_host)?;
    }
    for (name, s) in backups {
        let path = dir(home, "backups").join(file_name(name));
        append(&path, &s.line())?;
        compact_if_due(
            &path,
            s.at,
            BackupSample::parse,
            BackupSample::line,
            daily_backup,
        )?;
    }
    Ok(())
}

trait Sample {
    fn at(&self) -> i64;
    fn daily(&self) -> bool;
}
impl Sample for HostSample {
    fn at(&self) -> i64 {
        self.at
    }
    fn daily(&self) -> bool {
        self.daily
    }
}
impl Sample for BackupSample {
    fn at(&self) -> i64 {
        self.at
    }
    fn daily(&self) -> bool {
        self.daily
    }
}

fn compact_if_due<T: Sample>(
    path: &Path,
    now: i64,
    parse: fn(&str) -> Option<T>,
    line: fn(&T) -> String,
    daily: fn(i64, &[T]) -> T,
) -> Result<(), StoreError> {
    let samples = read_lines(path, parse);
    let oldest_raw = samples.iter().filter(|s| !s.daily()).map(Sample::at).min();
    let oldest = samples.iter().map(Sample::at).min();
    let due = oldest_raw.is_some_and(|t| t < now - (RAW_DAYS + 1) * DAY)
        || oldest.is_some_and(|t| t < now - (DAILY_DAYS + 1) * DAY);
    if !due {
        return Ok(());
    }
    let kept = compact(samples, now, daily);
    let text: String = kept.iter().map(line).collect();
    crate::store::write_output_file(path, text.as_bytes())
}

/// Raw samples older than [`RAW_DAYS`] → one daily sample per UTC day;
/// daily samples older than [`DAILY_DAYS`] dropped. Time order kept.
fn compact<T: Sample>(samples: Vec<T>, now: i64, daily: fn(i64, &[T]) -> T) -> Vec<T> {
    let raw_from = now - RAW_DAYS * DAY;
    let daily_from = now - DAILY_DAYS * DAY;
    let mut out: Vec<T> = Vec::new();
    let mut days: BTreeMap<i64, Vec<T>> = BTreeMap::new();
    for s in samples {
        if s.at() < daily_from {
            continue;
        }
        if s.daily() || s.at() >= raw_from {
            out.push(s);
        } else {
            days.entry(s.at().div_euclid(DAY)).or_default().push(s);
        }
    }
    for (day, group) in days {
        out.push(daily(day * DAY + DAY / 2, &group));
    }
    out.sort_by_key(Sample::at);
    out
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for x in v {
        sum += x;
        n += 1;
    }
    (n > 0).then(|| round2(sum / n as f64))
}

fn daily_host(at: i64, g: &[HostSample]) -> HostSample {
    let mut disks: Vec<(String, f64)> = Vec::new();
    for s in g {
        for (m, p) in &s.disks {
            match disks.iter_mut().find(|(x, _)| x == m) {
                // the day's fullest moment
                Some((_, q)) => *q = q.max(*p),
                None => disks.push((m.clone(), *p)),
            }
        }
    }
    let last = g.last();
    HostSample {
        at,
        daily: true,
        load_per_cpu: mean(g.iter().filter_map(|s| s.load_per_cpu)),
        mem_pct: mean(g.iter().filter_map(|s| s.mem_pct)),
        pending: last.and_then(|s| s.pending),
        security: last.and_then(|s| s.security),
        reboot: last.and_then(|s| s.reboot),
        disks,
    }
}

fn daily_backup(at: i64, g: &[BackupSample]) -> BackupSample {
    let last = g.last();
    BackupSample {
        at,
        daily: true,
        age_s: g.iter().filter_map(|s| s.age_s).max(),
        snapshots: last.and_then(|s| s.snapshots),
        size: last.and_then(|s| s.size),
    }
}

/// A host's samples, oldest first (lines that do not parse are skipped).
pub fn host(home: &Home, name: &str) -> Vec<HostSample> {
    read_lines(&dir(home, "hosts").join(file_name(name)), HostSample::parse)
}

/// A backup job's samples, oldest first.
pub fn backup(home: &Home, name: &str) -> Vec<BackupSample> {
    read_lines(
        &dir(home, "backups").join(file_name(name)),
        BackupSample::parse,
    )
}

/// Bytes of the whole history on disk.
pub fn size_on_disk(home: &Home) -> u64 {
    let mut total = 0;
    for kind in ["hosts", "backups"] {
        if let Ok(rd) = fs::read_dir(dir(home, kind)) {
            for e in rd.flatten() {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// Each filesystem's use over a window, as few points as a sparkline draws.
pub type DiskSeries = Vec<(String, Vec<f64>)>;

/// For the TUI (read on a background thread, one host at a time): each
/// host's filesystems over the last `days` days, at most `width` points
/// each (the fullest value of each stretch), in the order of `names`.
/// Only these series are kept in memory, never the samples.
pub fn disk_sparks(
    home: &Home,
    names: &[String],
    now: i64,
    days: i64,
    width: usize,
) -> BTreeMap<String, DiskSeries> {
    let mut out = BTreeMap::new();
    for n in names {
        let samples = host(home, n);
        let mut mounts: DiskSeries = Vec::new();
        for s in samples
            .iter()
            .filter(|s| s.at > now - days * DAY && s.at <= now)
        {
            for (m, p) in &s.disks {
                match mounts.iter_mut().find(|(x, _)| x == m) {
                    Some((_, v)) => v.push(*p),
                    None => mounts.push((m.clone(), vec![*p])),
                }
            }
        }
        for (_, v) in &mut mounts {
            *v = squeeze(v, width);
        }
        if !mounts.is_empty() {
            out.insert(n.clone(), mounts);
        }
    }
    out
}

/// At most `width` values: the largest of each of `width` equal stretches.
fn squeeze(v: &[f64], width: usize) -> Vec<f64> {
    if v.len() <= width || width == 0 {
        return v.to_vec();
    }
    (0..width)
        .map(|i| {
            let a = i * v.len() / width;
            let b = ((i + 1) * v.len() / width).max(a + 1);
            v[a..b].iter().cloned().fold(f64::MIN, f64::max)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_bad_lines_are_skipped() {
        let s = HostSample {
            at: 1_700_000_000,
            daily: false,
            load_per_cpu: Some(0.25),
            mem_pct: Some(41.5),
            pending: Some(3),
            security: None,
            reboot: Some(true),
            disks: vec![("/".into(), 50.5), ("/mnt/odd;name=x\t%".into(), 7.0)],
        };
        let line = s.line();
        assert_eq!(HostSample::parse(line.trim_end()), Some(s));
        assert!(HostSample::parse("r\t17000").is_none());
        assert!(HostSample::parse("x\t1\t-\t-\t-\t-\t-\t").is_none());
        assert!(HostSample::parse("r\t1\t-\t-\t-\t-\t-\t/=NaN").is_none());
        let b = BackupSample {
            at: 5,
            daily: true,
            age_s: Some(60),
            snapshots: None,
            size: Some(1 << 40),
        };
        assert_eq!(BackupSample::parse(b.line().trim_end()), Some(b));
        assert_eq!(file_name("web1"), "web1.tsv");
        assert_eq!(file_name("../x"), "%2E.%2Fx.tsv");
    }

    #[test]
    fn compaction_keeps_raw_for_a_week_daily_for_400_days() {
        let now = 1_000 * DAY;
        let mut v = Vec::new();
        // every 6 hours for 500 days
        let mut t = now - 500 * DAY;
        while t <= now {
            v.push(HostSample {
                at: t,
                disks: vec![("/".into(), ((t / DAY) % 100) as f64)],
                ..Default::default()
            });
            t += 6 * 3600;
        }
        let kept = compact(v, now, daily_host);
        let raw = kept.iter().filter(|s| !s.daily).count();
        let daily = kept.iter().filter(|s| s.daily).count();
        assert_eq!(raw, 7 * 4 + 1);
        // the 393 days between the raw week and 400 days back
        assert!((392..=394).contains(&daily), "{daily}");
        assert!(kept.windows(2).all(|w| w[0].at <= w[1].at));
        // a day's disk is its fullest moment
        assert!(kept.iter().filter(|s| s.daily).all(|s| s.disks.len() == 1));
    }

    #[test]
    fn sparks_keep_the_fullest_of_each_stretch() {
        assert_eq!(squeeze(&[1.0, 5.0, 2.0, 3.0, 9.0, 4.0], 3), [5.0, 3.0, 9.0]);
        assert_eq!(squeeze(&[1.0, 2.0], 40), [1.0, 2.0]);
    }

    #[test]
    fn appends_survive_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("opsdeck-hist-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let home = Home::under(&dir);
        let s = |at| HostSample {
            at,
            ..Default::default()
        };
        append_sweep(&home, &[s(10)], &["web1".into()], &[]).unwrap();
        // a crash cut the next line
        let path = super::dir(&home, "hosts").join("web1.tsv");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"r\t11\t0.").unwrap();
        append_sweep(&home, &[s(12)], &["web1".into()], &[]).unwrap();
        let got: Vec<i64> = host(&home, "web1").iter().map(|s| s.at).collect();
        assert_eq!(got, [10, 12]);
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
