//! Forecasts and anomalies from history (pure: samples in, items out).
//!
//! - Disk forecast: a least-squares line over a filesystem's samples of
//!   the last [`FIT_DAYS`] days since its last drop (a cleanup starts a
//!   new trend). Shown only when trustworthy: at least [`MIN_SAMPLES`]
//!   samples over at least [`MIN_SPAN_S`], rising, R² ≥ [`MIN_R2`], full
//!   within [`HORIZON_DAYS`]. Critical within [`CRIT_DAYS`].
//! - Load / memory far above the host's own usual: the newest sample
//!   against the median and MAD of the last 30 days (≥ 20 samples).
//! - A backup that finished too small: the newest backup's size under
//!   half the median of its previous ones (≥ 3).

use jiff::Timestamp;

use super::history::{BackupSample, HostSample};
use crate::model::{Level, PaneId, Target};
use crate::overview::{Category, Item};

pub const FIT_DAYS: i64 = 7;
pub const MIN_SAMPLES: usize = 4;
pub const MIN_SPAN_S: i64 = 3600;
pub const MIN_R2: f64 = 0.8;
pub const HORIZON_DAYS: f64 = 30.0;
pub const CRIT_DAYS: f64 = 3.0;
/// A fall of this many points between two samples starts a new trend.
const DROP_PCT: f64 = 2.0;
const DAY: f64 = 86_400.0;

#[derive(Debug, Clone, PartialEq)]
pub struct DiskForecast {
    pub mount: String,
    /// Unix seconds when the line reaches 100 %.
    pub full_at: i64,
    pub days: f64,
    /// Points per day.
    pub rate: f64,
    pub r2: f64,
    pub samples: usize,
    pub used_pct: f64,
}

/// (slope per second, intercept, R²) of y over x.
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy <= 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some((slope, my - slope * mx, r2))
}

/// The forecast of one mount, when trustworthy.
pub fn disk(samples: &[HostSample], mount: &str, now: i64) -> Option<DiskForecast> {
    let from = now - FIT_DAYS * 86_400;
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for s in samples.iter().filter(|s| s.t >= from && s.t <= now) {
        let Some(p) = s.disks.iter().find(|(m, _)| m == mount).map(|d| d.1) else {
            continue;
        };
        if pts.last().is_some_and(|l| p < l.1 - DROP_PCT) {
            pts.clear();
        }
        pts.push((s.t as f64, p));
    }
    if pts.len() < MIN_SAMPLES {
        return None;
    }
    let span = pts[pts.len() - 1].0 - pts[0].0;
    if span < MIN_SPAN_S as f64 {
        return None;
    }
    let t0 = pts[0].0;
    let rel: Vec<(f64, f64)> = pts.iter().map(|p| (p.0 - t0, p.1)).collect();
    let (slope, icpt, r2) = fit(&rel)?;
    if slope <= 0.0 || r2 < MIN_R2 {
        return None;
    }
    let used = pts[pts.len() - 1].1;
    if used >= 100.0 {
        return None;
    }
    let full_rel = (100.0 - icpt) / slope;
    let full_at = t0 + full_rel;
    let days = (full_at - now as f64) / DAY;
    if !(0.0..=HORIZON_DAYS).contains(&days) {
        return None;
    }
    Some(DiskForecast {
        mount: mount.to_string(),
        full_at: full_at as i64,
        days,
        rate: slope * DAY,
        r2,
        samples: pts.len(),
        used_pct: used,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Is `x` far above `usual` (median, MAD): more than 6 MADs (at least
/// `floor`) above the median and at least `min_gap` above it.
fn far_above(x: f64, usual: &[f64], floor: f64, min_gap: f64) -> Option<f64> {
    if usual.len() < 20 {
        return None;
    }
    let mut v = usual.to_vec();
    let m = median(&mut v);
    let mut dev: Vec<f64> = usual.iter().map(|u| (u - m).abs()).collect();
    let mad = median(&mut dev).max(floor);
    (x > m + 6.0 * mad && x - m >= min_gap).then_some(m)
}

fn local_date(t: i64) -> String {
    Timestamp::from_second(t)
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::system()).date().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn days_text(d: f64) -> String {
    if d < 1.0 {
        format!("{:.0} hours", (d * 24.0).max(1.0))
    } else {
        format!("{:.0} days", d.floor())
    }
}

/// (subject, name, value of a sample, MAD floor, least gap).
type Metric = (
    &'static str,
    &'static str,
    fn(&HostSample) -> Option<f64>,
    f64,
    f64,
);

/// Forecast and anomaly items of one host.
pub fn host_items(host: &str, samples: &[HostSample], now: i64) -> Vec<Item> {
    let mut out = Vec::new();
    let item = |level, category, subject: &str, what: String, why: String, urgency| Item {
        rank: 0,
        level,
        category,
        what,
        why,
        target: Target {
            pane: PaneId::HOSTS,
            key: host.to_string(),
            ticket: None,
        },
        urgency,
        subject: subject.to_string(),
    };
    let Some(last) = samples.iter().rfind(|s| s.t <= now) else {
        return out;
    };
    for (mount, _) in &last.disks {
        if let Some(f) = disk(samples, mount, now) {
            let level = if f.days <= CRIT_DAYS {
                Level::Crit
            } else {
                Level::Warn
            };
            out.push(item(
                level,
                Category::DiskForecast,
                mount,
                format!("{host}: {mount} full in {}", days_text(f.days)),
                format!(
                    "on {} at +{:.1} points a day (now {:.0}%, fit of {} samples, R² {:.2})",
                    local_date(f.full_at),
                    f.rate,
                    f.used_pct,
                    f.samples,
                    f.r2
                ),
                -(f.days * 24.0) as i64,
            ));
        }
    }
    let usual_from = now - 30 * 86_400;
    let before: Vec<&HostSample> = samples
        .iter()
        .filter(|s| s.t >= usual_from && s.t < last.t)
        .collect();
    let metrics: [Metric; 2] = [
        ("load", "load per CPU", |s| s.load_per_cpu, 0.05, 0.5),
        ("memory", "memory use", |s| s.mem_pct, 1.0, 20.0),
    ];
    for (subject, name, get, floor, gap) in metrics {
        let Some(x) = get(last) else { continue };
        let usual: Vec<f64> = before.iter().filter_map(|s| get(s)).collect();
        if let Some(m) = far_above(x, &usual, floor, gap) {
            let unit = if subject == "memory" { "%" } else { "" };
            out.push(item(
                Level::Warn,
                Category::Anomaly,
                subject,
                format!("{host}: {name} far above usual"),
                format!(
                    "{x:.2}{unit} now, usually {m:.2}{unit} (median of {} samples, 30 days)",
                    usual.len()
                ),
                ((x - m) * 100.0) as i64,
            ));
        }
    }
    out
}

/// "Finished too small" of one backup job: one sample per backup (by its
/// id), the newest against the median of the previous ones.
pub fn backup_items(job: &str, samples: &[BackupSample]) -> Vec<Item> {
    let mut per_backup: Vec<(&str, u64)> = Vec::new();
    for s in samples {
        if let (Some(id), Some(size)) = (s.latest.as_deref(), s.size) {
            match per_backup.iter_mut().find(|(i, _)| *i == id) {
                Some(p) => p.1 = size,
                None => per_backup.push((id, size)),
            }
        }
    }
    let Some((&(_, newest), prev)) = per_backup.split_last() else {
        return Vec::new();
    };
    if prev.len() < 3 {
        return Vec::new();
    }
    let mut sizes: Vec<f64> = prev.iter().map(|p| p.1 as f64).collect();
    let m = median(&mut sizes);
    if (newest as f64) >= 0.5 * m || m <= 0.0 {
        return Vec::new();
    }
    vec![Item {
        rank: 0,
        level: Level::Warn,
        category: Category::Anomaly,
        what: format!("backup {job}: finished too small"),
        why: format!(
            "{} against a usual {} (median of its last {} backups)",
            bytes(newest),
            bytes(m as u64),
            prev.len()
        ),
        target: Target {
            pane: PaneId::BACKUPS,
            key: job.to_string(),
            ticket: None,
        },
        urgency: ((1.0 - newest as f64 / m) * 100.0) as i64,
        subject: "size".into(),
    }]
}

fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Every forecast and anomaly item of the inventory, from the history in
/// `home` (what the Overview, the report and the sweep add to their items).
pub fn items(
    home: &crate::store::Home,
    hosts: &[crate::model::Host],
    jobs: &[crate::model::BackupJob],
    now: i64,
) -> Vec<Item> {
    let mut out = Vec::new();
    for h in hosts {
        let mut s = super::history::host(home, &h.name);
        s.retain(|x| x.t >= now - 31 * 86_400);
        out.extend(host_items(&h.name, &s, now));
    }
    for j in jobs {
        out.extend(backup_items(
            &j.name,
            &super::history::backup(home, &j.name),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk_at(t: i64, pct: f64) -> HostSample {
        HostSample {
            t,
            disks: vec![("/var".into(), pct)],
            ..Default::default()
        }
    }

    #[test]
    fn steady_growth_gives_a_date_noise_does_not() {
        let now = 1_765_000_000;
        // +1 point a day, hourly samples over 2 days, at 80 %
        let s: Vec<HostSample> = (0..48)
            .map(|i| disk_at(now - (47 - i) * 3600, 78.0 + i as f64 / 24.0))
            .collect();
        let f = disk(&s, "/var", now).unwrap();
        assert!((f.days - 20.0).abs() < 0.5, "{f:?}");
        assert!((f.rate - 1.0).abs() < 0.05);
        let items = host_items("db1", &s, now);
        assert_eq!(items.len(), 1);
        assert!(
            items[0].what.contains("/var full in 20 days"),
            "{}",
            items[0].what
        );
        assert_eq!(items[0].id(), "hosts:db1:disk_forecast:/var");
        // flat and noisy: no forecast
        let noisy: Vec<HostSample> = (0..48)
            .map(|i| {
                disk_at(
                    now - (47 - i) * 3600,
                    50.0 + if i % 2 == 0 { 0.5 } else { 0.0 },
                )
            })
            .collect();
        assert!(disk(&noisy, "/var", now).is_none());
        // too few samples, too short a span
        assert!(disk(&s[45..], "/var", now).is_none());
        // a cleanup starts a new trend
        let mut cleaned = s.clone();
        cleaned.push(disk_at(now + 60, 40.0));
        assert!(disk(&cleaned, "/var", now + 60).is_none());
    }

    #[test]
    fn load_far_above_usual_and_small_backup() {
        let now = 1_765_000_000;
        let mut s: Vec<HostSample> = (0..30)
            .map(|i| HostSample {
                t: now - (30 - i) * 3600,
                load_per_cpu: Some(0.2 + (i % 3) as f64 * 0.01),
                mem_pct: Some(40.0),
                ..Default::default()
            })
            .collect();
        assert!(host_items("a", &s, now).is_empty());
        s.push(HostSample {
            t: now,
            load_per_cpu: Some(3.0),
            mem_pct: Some(41.0),
            ..Default::default()
        });
        let it = host_items("a", &s, now);
        assert_eq!(it.len(), 1, "{it:?}");
        assert_eq!(it[0].subject, "load");

        let b = |t, id: &str, size| BackupSample {
            t,
            latest: Some(id.into()),
            size: Some(size),
            ..Default::default()
        };
        let mut bs = vec![
            b(1, "a", 1000),
            b(2, "a", 1000),
            b(3, "b", 1100),
            b(4, "c", 900),
        ];
        assert!(backup_items("j", &bs).is_empty());
        bs.push(b(5, "d", 950));
        assert!(backup_items("j", &bs).is_empty());
        bs.push(b(6, "e", 100));
        let it = backup_items("j", &bs);
        assert_eq!(it.len(), 1);
        assert!(it[0].why.contains("100 B"), "{}", it[0].why);
    }
}
