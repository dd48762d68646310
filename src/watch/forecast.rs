//! Forecasts and anomalies from the history: a filesystem that will be
//! full (a least-squares line over the last week's samples, shown only
//! when it is trustworthy), a backup that finished far smaller than its own
//! usual, load or memory far above the host's own usual. Each is an
//! Overview item (category `DiskForecast` or `Anomaly`), so it shows in the
//! Overview, the report, `sweep`'s items, `check`'s reasons and the
//! alerts. Pure.

use crate::model::{CheckResult, Level, Status};
use crate::overview::{Category, Item, PaneId, Target};

use super::history::{BackupSample, HostSample};

const DAY: f64 = 86_400.0;

/// A fit is shown only with at least this many samples…
pub const MIN_SAMPLES: usize = 5;
/// …spanning at least this long…
pub const MIN_SPAN_S: i64 = 6 * 3600;
/// …that follow the line this closely (R²)…
pub const MIN_R2: f64 = 0.8;
/// …and when the filesystem is full within this many days.
pub const HORIZON_DAYS: f64 = 30.0;
/// Samples used for a fit: the last week.
const FIT_WINDOW_S: i64 = 7 * 86_400;

/// A least-squares line y = a + b·x, with its R².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub slope: f64,
    pub intercept: f64,
    pub r2: f64,
}

/// Fit a line through `points` (x, y); None for fewer than 2 distinct x.
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy <= f64::EPSILON {
        1.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    let f = Fit {
        slope,
        intercept: my - slope * mx,
        r2,
    };
    (f.slope.is_finite() && f.intercept.is_finite()).then_some(f)
}

/// When a filesystem will be full: days from `now`, if the fit is trustworthy.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskForecast {
    pub mount: String,
    pub days_left: f64,
    /// Percentage points per day.
    pub per_day: f64,
    pub now_pct: f64,
    pub samples: usize,
}

/// The forecasts of every filesystem of one host.
pub fn disk_forecasts(samples: &[HostSample], now: i64) -> Vec<DiskForecast> {
    let recent: Vec<&HostSample> = samples
        .iter()
        .filter(|s| s.at > now - FIT_WINDOW_S && s.at <= now && !s.daily)
        .collect();
    let mut mounts: Vec<&str> = Vec::new();
    for s in &recent {
        for (m, _) in &s.disks {
            if !mounts.contains(&m.as_str()) {
                mounts.push(m);
            }
        }
    }
    let mut out = Vec::new();
    for m in mounts {
        let pts: Vec<(f64, f64)> = recent
            .iter()
            .filter_map(|s| {
                s.disks
                    .iter()
                    .find(|(x, _)| x == m)
                    .map(|(_, p)| ((s.at - now) as f64 / DAY, *p))
            })
            .collect();
        if pts.len() < MIN_SAMPLES {
            continue;
        }
        let span = pts.last().map(|p| p.0).unwrap_or(0.0) - pts[0].0;
        if span * DAY < MIN_SPAN_S as f64 {
            continue;
        }
        let Some(f) = fit(&pts) else { continue };
        if f.slope <= 0.01 || f.r2 < MIN_R2 {
            continue;
        }
        let now_pct = pts.last().map(|p| p.1).unwrap_or(f.intercept);
        let days_left = (100.0 - now_pct.max(f.intercept)) / f.slope;
        if !(0.0..=HORIZON_DAYS).contains(&days_left) {
            continue;
        }
        out.push(DiskForecast {
            mount: m.to_string(),
            days_left,
            per_day: f.slope,
            now_pct,
            samples: pts.len(),
        });
    }
    out
}

fn host_target(host: &str) -> Target {
    Target {
        pane: PaneId::HOSTS,
        key: host.to_string(),
        ticket: None,
    }
}

/// The items of a host: filesystems filling up, load and memory far above
/// the host's own usual. `today` names the day a forecast says.
pub fn host_items(host: &str, samples: &[HostSample], now: i64) -> Vec<Item> {
    let mut out = Vec::new();
    for f in disk_forecasts(samples, now) {
        let days = f.days_left.floor().max(0.0) as i64;
        let when = jiff::Timestamp::from_second(now + (f.days_left * DAY) as i64)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::system()).date().to_string())
            .unwrap_or_default();
        out.push(Item {
            rank: 0,
            level: if f.days_left <= 3.0 {
                Level::Crit
            } else {
                Level::Warn
            },
            category: Category::DiskForecast,
            what: format!(
                "{host}: {} full in {}",
                f.mount,
                crate::util::plural(days as usize, "day", "days")
            ),
            why: format!(
                "on {when}: {:.0}% now, +{:.1} points a day over the last {} samples",
                f.now_pct, f.per_day, f.samples
            ),
            target: host_target(host),
            subject: f.mount.clone(),
            urgency: (HORIZON_DAYS - f.days_left) as i64,
        });
    }
    for (what, pick, floor) in [
        (
            "load",
            (|s: &HostSample| s.load_per_cpu) as fn(&HostSample) -> Option<f64>,
            1.0,
        ),
        ("memory", |s: &HostSample| s.mem_pct, 0.0),
    ] {
        if let Some((latest, mean, sd)) = unusual(samples, now, pick) {
            let min_gap = if what == "memory" { 15.0 } else { 0.5 };
            if latest >= floor && latest - mean >= min_gap {
                let unit = if what == "memory" { "%" } else { " per CPU" };
                out.push(Item {
                    rank: 0,
                    level: Level::Warn,
                    category: Category::Anomaly,
                    what: format!("{host}: {what} far above its usual"),
                    why: format!(
                        "{latest:.1}{unit} now; usually {mean:.1}{unit} ± {sd:.1} (last 7 days)"
                    ),
                    target: host_target(host),
                    subject: what.to_string(),
                    urgency: ((latest - mean) * 10.0) as i64,
                });
            }
        }
    }
    out
}

/// The latest value when it is more than 3 standard deviations above the
/// mean of the week before it (at least 12 earlier samples): (latest,
/// mean, sd).
fn unusual(
    samples: &[HostSample],
    now: i64,
    pick: fn(&HostSample) -> Option<f64>,
) -> Option<(f64, f64, f64)> {
    let recent: Vec<&HostSample> = samples
        .iter()
        .filter(|s| s.at > now - FIT_WINDOW_S && s.at <= now && !s.daily)
        .collect();
    let (last, before) = recent.split_last()?;
    let latest = pick(last)?;
    let vals: Vec<f64> = before.iter().filter_map(|s| pick(s)).collect();
    if vals.len() < 12 {
        return None;
    }
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (latest > mean + 3.0 * sd.max(0.05)).then_some((latest, mean, sd))
}

/// A backup job whose newest backup is far smaller than its usual: the
/// newest size under half the median of the earlier backups (each backup
/// counted once, however many sweeps saw it; at least 3 earlier ones).
pub fn backup_items(job: &str, samples: &[BackupSample]) -> Vec<Item> {
    // one entry per backup: a change of size or snapshot count
    let mut backups: Vec<u64> = Vec::new();
    let mut prev: Option<(Option<u64>, Option<u64>)> = None;
    for s in samples.iter().filter(|s| !s.daily) {
        let key = (s.snapshots, s.size);
        if prev != Some(key) {
            if let Some(size) = s.size {
                backups.push(size);
            }
            prev = Some(key);
        }
    }
    let Some((&latest, before)) = backups.split_last() else {
        return Vec::new();
    };
    if before.len() < 3 {
        return Vec::new();
    }
    let mut sorted = before.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    if median == 0 || latest.saturating_mul(2) >= median {
        return Vec::new();
    }
    let drop = 100 - latest.saturating_mul(100) / median;
    vec![Item {
        rank: 0,
        level: Level::Warn,
        category: Category::Anomaly,
        what: format!("backup {job}: finished too small"),
        why: format!(
            "{} against its usual {} ({drop}% less; median of the {} before)",
            bytes(latest),
            bytes(median),
            before.len()
        ),
        target: Target {
            pane: PaneId::BACKUPS,
            key: job.to_string(),
            ticket: None,
        },
        subject: "size".into(),
        urgency: drop as i64,
    }]
}

/// 1536 → "1.5 KiB".
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A small sparkline: one character per value, ▁ for 0 % to █ for 100 %,
/// at most `width` characters (the newest).
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let start = values.len().saturating_sub(width);
    values[start..]
        .iter()
        .map(|v| BARS[((v.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}

/// Add the last sweep's forecasts and anomalies of each host (`items`, as
/// kept in state/watch.toml) to its check result, as `check` prints it: a
/// reason each ("/var full in 6 days: on 2026-12-16 …"), and the status
/// raised to the item's level, as a trend check does (a disk full in two
/// days is CRITICAL today). Items of other panes (a backup's size) stay
/// with the backups.
pub fn add_to_checks(checks: &mut [CheckResult], items: &[Item]) {
    for c in checks.iter_mut() {
        for it in items.iter().filter(|i| {
            i.target.pane == PaneId::HOSTS
                && i.target.key == c.host
                && matches!(i.category, Category::DiskForecast | Category::Anomaly)
        }) {
            let what = it
                .what
                .strip_prefix(&format!("{}: ", c.host))
                .unwrap_or(&it.what);
            c.reasons.push(format!("{what}: {}", it.why));
            c.status = c.status.worst(match it.level {
                Level::Ok => Status::Ok,
                Level::Warn => Status::Warn,
                Level::Crit => Status::Crit,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(at: i64, pct: f64) -> HostSample {
        HostSample {
            at,
            disks: vec![("/var".into(), pct)],
            ..Default::default()
        }
    }

    #[test]
    fn a_steady_fill_is_forecast_and_noise_is_not() {
        let now = 1_000_000;
        // +5 points a day, sampled every 4 hours for 2 days: 60% now
        let s: Vec<HostSample> = (0..=12)
            .map(|i| disk(now - (12 - i) * 4 * 3600, 50.0 + i as f64 * 5.0 / 6.0))
            .collect();
        let f = disk_forecasts(&s, now);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((f[0].per_day - 5.0).abs() < 0.01, "{f:?}");
        assert!((f[0].days_left - 8.0).abs() < 0.05, "{f:?}");
        let items = host_items("db1", &s, now);
        assert_eq!(items[0].what, "db1: /var full in 8 days");
        assert_eq!(items[0].level, Level::Warn);
        assert_eq!(items[0].id(), "disk_forecast:hosts:db1:/var");

        // too few samples, too short, flat, falling, or noisy: nothing
        assert!(disk_forecasts(&s[..4], now).is_empty());
        let short: Vec<HostSample> = (0..10)
            .map(|i| disk(now - i * 60, 90.0 - i as f64))
            .collect();
        assert!(disk_forecasts(&short, now).is_empty());
        let flat: Vec<HostSample> = (0..10).map(|i| disk(now - i * 3600, 70.0)).collect();
        assert!(disk_forecasts(&flat, now).is_empty());
        let noisy: Vec<HostSample> = (0..20)
            .map(|i| {
                disk(
                    now - i * 3600,
                    if i % 2 == 0 { 20.0 } else { 80.0 } + i as f64 * 0.1,
                )
            })
            .collect();
        assert!(disk_forecasts(&noisy, now).is_empty());
        // full in more than 30 days: not said
        let slow: Vec<HostSample> = (0..=12)
            .map(|i| disk(now - (12 - i) * 4 * 3600, 10.0 + i as f64 * 0.1))
            .collect();
        assert!(disk_forecasts(&slow, now).is_empty());
    }

    #[test]
    fn a_backup_far_smaller_than_its_usual_is_an_anomaly() {
        let b = |at: i64, snaps: u64, size: u64| BackupSample {
            at,
            snapshots: Some(snaps),
            size: Some(size),
            ..Default::default()
        };
        // the same backup seen by many sweeps counts once
        let mut v = vec![b(1, 1, 1000), b(2, 1, 1000), b(3, 2, 1100), b(4, 3, 900)];
        assert!(backup_items("db", &v).is_empty());
        v.push(b(5, 4, 1050));
        assert!(backup_items("db", &v).is_empty());
        v.push(b(6, 5, 100));
        let items = backup_items("db", &v);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].what, "backup db: finished too small");
        assert!(items[0].why.contains("91% less"), "{}", items[0].why);
    }

    #[test]
    fn load_far_above_its_usual() {
        let now = 100_000;
        let mut v: Vec<HostSample> = (0..20)
            .map(|i| HostSample {
                at: now - (20 - i) * 600,
                load_per_cpu: Some(0.2 + (i % 3) as f64 * 0.05),
                ..Default::default()
            })
            .collect();
        assert!(host_items("web1", &v, now).is_empty());
        v.push(HostSample {
            at: now,
            load_per_cpu: Some(2.5),
            ..Default::default()
        });
        let items = host_items("web1", &v, now);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].what, "web1: load far above its usual");
        assert_eq!(sparkline(&[0.0, 50.0, 100.0], 10), "▁▅█");
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}
