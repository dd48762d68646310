//! Maintenance windows (`[[maintenance]]`): which hosts are muted now.
//! Weekly windows ("Sun 02:00-04:00", "Sat 23:00-01:00" runs past
//! midnight) and one-off ones (`from`/`until`, "YYYY-MM-DD HH:MM"), both in
//! the local time zone of this machine (TZ honoured, DST by jiff).

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::model::{Host, Maintenance};

/// A weekly window: day, start, end (an end at or before the start runs
/// into the next day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weekly {
    pub day: Weekday,
    pub start: Time,
    pub end: Time,
}

fn weekday(s: &str) -> Option<Weekday> {
    let l = s.to_ascii_lowercase();
    let days = [
        ("mon", Weekday::Monday),
        ("tue", Weekday::Tuesday),
        ("wed", Weekday::Wednesday),
        ("thu", Weekday::Thursday),
        ("fri", Weekday::Friday),
        ("sat", Weekday::Saturday),
        ("sun", Weekday::Sunday),
    ];
    days.iter()
        .find(|(p, _)| l.len() >= 3 && p.starts_with(&l[..3]) && l.len() <= 9)
        .map(|(_, d)| *d)
}

/// "HH:MM".
pub fn hhmm(s: &str) -> Result<Time, String> {
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not a time such as 02:00"))?;
    let h: i8 = h
        .parse()
        .map_err(|_| format!("`{s}` is not a time such as 02:00"))?;
    let m: i8 = m
        .parse()
        .map_err(|_| format!("`{s}` is not a time such as 02:00"))?;
    Time::new(h, m, 0, 0).map_err(|_| format!("`{s}` is not a time of day (00:00 to 23:59)"))
}

/// "Sun 02:00-04:00".
pub fn parse_weekly(s: &str) -> Result<Weekly, String> {
    let err = || format!("weekly = \"{s}\": write a day and a span such as \"Sun 02:00-04:00\"");
    let (day, span) = s.trim().split_once(char::is_whitespace).ok_or_else(err)?;
    let day = weekday(day).ok_or_else(err)?;
    let (a, b) = span.trim().split_once('-').ok_or_else(err)?;
    let hint = |e: String| format!("{}; {e}", err());
    let start = hhmm(a).map_err(hint)?;
    let end = hhmm(b).map_err(hint)?;
    if start == end {
        return Err(format!("weekly = \"{s}\": the window is empty"));
    }
    Ok(Weekly { day, start, end })
}

/// "YYYY-MM-DD HH:MM" (or with a T) in local time.
pub fn parse_local(s: &str) -> Result<DateTime, String> {
    let t = s.trim().replacen(' ', "T", 1);
    t.parse::<DateTime>()
        .map_err(|_| format!("`{s}` is not a local date and time such as 2026-12-24 18:00"))
}

/// What is wrong with a window, if anything: (key, message).
pub fn problem(m: &Maintenance) -> Option<(&'static str, String)> {
    if m.targets.is_empty() {
        return Some(("targets", "targets: name at least one host or @tag".into()));
    }
    match (&m.weekly, &m.from, &m.until) {
        (Some(w), None, None) => parse_weekly(w).err().map(|e| ("weekly", e)),
        (None, Some(f), Some(u)) => {
            let f = match parse_local(f) {
                Ok(f) => f,
                Err(e) => return Some(("from", format!("from: {e}"))),
            };
            match parse_local(u) {
                Err(e) => Some(("until", format!("until: {e}"))),
                Ok(u) if u <= f => Some(("until", "until: must be after from".into())),
                Ok(_) => None,
            }
        }
        (Some(_), _, _) => Some((
            "weekly",
            "a window is either weekly or from/until, not both".into(),
        )),
        _ => Some((
            "from",
            "a window needs weekly = \"Sun 02:00-04:00\" or both from and until".into(),
        )),
    }
}

/// Is `now` inside window `m` (in time zone `tz`)? A window that does not
/// parse is never open (load refuses it anyway).
pub fn open_at(m: &Maintenance, now: Timestamp, tz: &TimeZone) -> bool {
    let local = now.to_zoned(tz.clone()).datetime();
    if let Some(w) = m.weekly.as_deref().and_then(|w| parse_weekly(w).ok()) {
        let t = local.time();
        let d = local.date().weekday();
        if w.start < w.end {
            return d == w.day && t >= w.start && t < w.end;
        }
        // past midnight: the evening of `day`, or the morning after
        return (d == w.day && t >= w.start) || (d == w.day.next() && t < w.end);
    }
    match (
        m.from.as_deref().map(parse_local),
        m.until.as_deref().map(parse_local),
    ) {
        (Some(Ok(f)), Some(Ok(u))) => local >= f && local < u,
        _ => false,
    }
}

/// The windows open now and the hosts they name.
pub struct Muted {
    /// (host name, reason) of every host in an open window.
    pub hosts: Vec<(String, String)>,
}

impl Muted {
    pub fn compute(windows: &[Maintenance], hosts: &[Host], now: Timestamp) -> Muted {
        Self::compute_in(windows, hosts, now, &TimeZone::system())
    }

    pub fn compute_in(
        windows: &[Maintenance],
        hosts: &[Host],
        now: Timestamp,
        tz: &TimeZone,
    ) -> Muted {
        let mut out: Vec<(String, String)> = Vec::new();
        for m in windows.iter().filter(|m| open_at(m, now, tz)) {
            let reason = m.reason.clone().unwrap_or_else(|| "maintenance".into());
            for h in hosts {
                let named = m.targets.iter().any(|t| match t.strip_prefix('@') {
                    Some(tag) => h.tags.iter().any(|x| x == tag),
                    None => *t == h.name || t == "all",
                });
                if named && !out.iter().any(|(n, _)| *n == h.name) {
                    out.push((h.name.clone(), reason.clone()));
                }
            }
        }
        Muted { hosts: out }
    }

    pub fn contains(&self, host: &str) -> bool {
        self.hosts.iter().any(|(h, _)| h == host)
    }

    pub fn reason(&self, host: &str) -> Option<&str> {
        self.hosts
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, r)| r.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(w: &str) -> Maintenance {
        Maintenance {
            targets: vec!["web1".into()],
            weekly: Some(w.into()),
            ..Default::default()
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_windows_in_utc_and_past_midnight() {
        let tz = TimeZone::UTC;
        // 2026-12-06 is a Sunday
        let m = win("Sun 02:00-04:00");
        assert!(open_at(&m, at("2026-12-06T03:00:00Z"), &tz));
        assert!(!open_at(&m, at("2026-12-06T04:00:00Z"), &tz));
        assert!(!open_at(&m, at("2026-12-07T03:00:00Z"), &tz));
        let late = win("Sat 23:00-01:00");
        assert!(open_at(&late, at("2026-12-05T23:30:00Z"), &tz));
        assert!(open_at(&late, at("2026-12-06T00:30:00Z"), &tz));
        assert!(!open_at(&late, at("2026-12-06T01:30:00Z"), &tz));
    }

    #[test]
    fn local_time_zone_and_dst() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let m = win("Sun 02:00-04:00");
        // winter: UTC+1
        assert!(open_at(&m, at("2026-12-06T01:30:00Z"), &tz));
        assert!(!open_at(&m, at("2026-12-06T03:30:00Z"), &tz));
        // summer: UTC+2
        assert!(open_at(&m, at("2026-07-05T00:30:00Z"), &tz));
    }

    #[test]
    fn one_off_and_problems() {
        let m = Maintenance {
            targets: vec!["@db".into()],
            from: Some("2026-12-05 10:00".into()),
            until: Some("2026-12-05 12:00".into()),
            ..Default::default()
        };
        assert!(problem(&m).is_none());
        assert!(open_at(&m, at("2026-12-05T11:00:00Z"), &TimeZone::UTC));
        assert!(!open_at(&m, at("2026-12-05T12:00:00Z"), &TimeZone::UTC));
        assert!(problem(&win("Sunday 2-4")).is_some());
        assert!(problem(&win("Xyz 02:00-04:00")).is_some());
        assert!(problem(&win("Sun 25:00-04:00")).is_some());
        let mut bad = m.clone();
        bad.until = Some("2026-12-05 09:00".into());
        assert_eq!(problem(&bad).unwrap().0, "until");
        bad.weekly = Some("Sun 02:00-04:00".into());
        assert!(problem(&bad).is_some());
    }
}
