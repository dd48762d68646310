//! Alerts on change, not on state: each sweep's open items (the Overview's
//! "what needs me today", forecasts and anomalies included) are compared
//! with the previous sweep's, kept in `state/alerts.toml`. An item that
//! appears is `new`, one whose level rises is `worse`, one that goes is
//! `cleared`; an item that stays says nothing again. Items of hosts in a
//! maintenance window are muted (kept, not told); when the window ends,
//! what is still open is told as `new`. With `digest = "08:00"`, changes
//! are not sent one by one: one message a day lists everything open.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{AlertSettings, Host, Level, Maintenance};
use crate::overview::Item;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Worse,
    Cleared,
    Digest,
}

/// One message-worthy change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: Change,
    /// The host it is about ("" when none: a vendor, a digest).
    pub host: String,
    /// The item's stable id.
    pub id: String,
    /// Its subject line: "db1: /var full in 6 days".
    pub item: String,
    /// "warn", "crit", or "ok" when cleared.
    pub status: String,
    /// One line for humans (and for Slack/Mattermost/Teams' `text`).
    pub text: String,
}

/// An open item as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Open {
    pub id: String,
    pub host: String,
    pub level: Level,
    pub what: String,
    pub why: String,
    /// RFC 3339: first seen.
    pub since: String,
    /// The level last told (None: never told, e.g. muted by maintenance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told: Option<Level>,
}

/// `state/alerts.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    #[serde(default)]
    pub open: Vec<Open>,
    /// The local date of the last digest sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_digest: Option<String>,
    /// Channels that failed at the last sweep (said in the next summary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Crit => "crit",
    }
}

/// The host an item is about: its target when that is a host, else the
/// host of the backup job it names.
pub fn item_host(item: &Item, hosts: &[Host], jobs: &[crate::model::BackupJob]) -> String {
    let key = &item.target.key;
    if hosts.iter().any(|h| &h.name == key) {
        return key.clone();
    }
    jobs.iter()
        .find(|j| &j.name == key)
        .map(|j| j.host.clone())
        .unwrap_or_default()
}

/// Hosts in a maintenance window at the local civil time `now`, with the
/// window's reason.
pub fn in_maintenance(
    windows: &[Maintenance],
    hosts: &[Host],
    now: jiff::civil::DateTime,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in windows {
        let Ok(w) = m.window() else { continue };
        if !w.contains(now) {
            continue;
        }
        let Ok(chosen) = crate::model::select_hosts(hosts, &m.targets) else {
            continue;
        };
        for h in chosen {
            out.entry(h.name.clone())
                .or_insert_with(|| m.reason.clone().unwrap_or_else(|| "maintenance".into()));
        }
    }
    out
}

/// Compare this sweep's items with the open ones: the new state and the
/// events to tell (none for muted hosts). `now` is RFC 3339.
pub fn diff(
    prev: &[Open],
    items: &[(String, &Item)],
    muted: &BTreeMap<String, String>,
    now: &str,
) -> (Vec<Open>, Vec<Event>) {
    let mut open = Vec::new();
    let mut events = Vec::new();
    for (host, item) in items {
        if item.level == Level::Ok {
            continue;
        }
        let id = item.id();
        let before = prev.iter().find(|o| o.id == id);
        let is_muted = muted.contains_key(host.as_str());
        let mut o = Open {
            id: id.clone(),
            host: host.clone(),
            level: item.level,
            what: item.what.clone(),
            why: item.why.clone(),
            since: before
                .map(|b| b.since.clone())
                .unwrap_or_else(|| now.to_string()),
            told: before.and_then(|b| b.told),
        };
        if !is_muted {
            let change = match o.told {
                None => Some(Change::New),
                Some(t) if item.level > t => Some(Change::Worse),
                _ => None,
            };
            if let Some(c) = change {
                events.push(event(c, &o));
            }
            // lower now: a later rise is told again
            o.told = Some(item.level);
        }
        open.push(o);
    }
    for b in prev {
        if open.iter().any(|o| o.id == b.id) {
            continue;
        }
        if b.told.is_some() && !muted.contains_key(&b.host) {
            let mut e = event(Change::Cleared, b);
            e.status = "ok".into();
            e.text = format!("cleared: {}", b.what);
            events.push(e);
        }
    }
    (open, events)
}

fn event(c: Change, o: &Open) -> Event {
    let word = match c {
        Change::New => "new",
        Change::Worse => "worse",
        Change::Cleared => "cleared",
        Change::Digest => "digest",
    };
    Event {
        event: c,
        host: o.host.clone(),
        id: o.id.clone(),
        item: o.what.clone(),
        status: level_word(o.level).into(),
        text: format!(
            "{word} {}: {}: {}",
            level_word(o.level).to_uppercase(),
            o.what,
            o.why
        ),
    }
}

/// The digest, when one is due: once a day at or after `digest` local time.
pub fn digest_due(cfg: &AlertSettings, state: &AlertState, now: jiff::civil::DateTime) -> bool {
    let Some(at) = cfg
        .digest
        .as_deref()
        .and_then(|d| crate::model::parse_hhmm(d).ok())
    else {
        return false;
    };
    let minute = now.hour() as u16 * 60 + now.minute() as u16;
    minute >= at && state.last_digest.as_deref() != Some(&now.date().to_string())
}

/// The digest event: every open item not muted, worst first.
pub fn digest(open: &[Open], muted: &BTreeMap<String, String>) -> Event {
    let mut list: Vec<&Open> = open
        .iter()
        .filter(|o| !muted.contains_key(&o.host))
        .collect();
    list.sort_by_key(|o| std::cmp::Reverse(o.level));
    let worst = list.first().map(|o| o.level).unwrap_or(Level::Ok);
    let lines: Vec<String> = list
        .iter()
        .map(|o| {
            format!(
                "{} {}: {}",
                level_word(o.level).to_uppercase(),
                o.what,
                o.why
            )
        })
        .collect();
    Event {
        event: Change::Digest,
        host: String::new(),
        id: "digest".into(),
        item: crate::util::plural(list.len(), "open item", "open items"),
        status: level_word(worst).into(),
        text: if lines.is_empty() {
            "nothing open".into()
        } else {
            lines.join("\n")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::{Category, PaneId, Target};

    fn item(host: &str, level: Level) -> Item {
        Item {
            rank: 0,
            level,
            category: Category::Disk,
            what: format!("{host}: / 91% full"),
            why: "at or above 90%".into(),
            target: Target {
                pane: PaneId::HOSTS,
                key: host.into(),
                ticket: None,
            },
            subject: "/".into(),
            urgency: 0,
        }
    }

    fn run(prev: &[Open], items: &[Item], muted: &[&str]) -> (Vec<Open>, Vec<(Change, String)>) {
        let list: Vec<(String, &Item)> = items.iter().map(|i| (i.target.key.clone(), i)).collect();
        let m: BTreeMap<String, String> =
            muted.iter().map(|h| (h.to_string(), "m".into())).collect();
        let (open, ev) = diff(prev, &list, &m, "2026-12-05T10:00:00Z");
        (open, ev.into_iter().map(|e| (e.event, e.host)).collect())
    }

    #[test]
    fn told_once_per_change() {
        let (s, e) = run(&[], &[item("web1", Level::Warn)], &[]);
        assert_eq!(e, [(Change::New, "web1".into())]);
        let (s, e) = run(&s, &[item("web1", Level::Warn)], &[]);
        assert!(e.is_empty(), "stays: nothing");
        let (s, e) = run(&s, &[item("web1", Level::Crit)], &[]);
        assert_eq!(e, [(Change::Worse, "web1".into())]);
        let (s, e) = run(&s, &[item("web1", Level::Warn)], &[]);
        assert!(e.is_empty(), "better: nothing");
        let (s, e) = run(&s, &[], &[]);
        assert_eq!(e, [(Change::Cleared, "web1".into())]);
        assert!(s.is_empty());
    }

    #[test]
    fn maintenance_mutes_and_its_end_tells_what_is_still_open() {
        let (s, e) = run(&[], &[item("db1", Level::Crit)], &["db1"]);
        assert!(e.is_empty());
        assert_eq!(s[0].told, None);
        let (s, e) = run(&s, &[item("db1", Level::Crit)], &["db1"]);
        assert!(e.is_empty());
        let (_, e) = run(&s, &[item("db1", Level::Crit)], &[]);
        assert_eq!(e, [(Change::New, "db1".into())]);
        // muted and gone before the window ended: never told, never cleared
        let (s, _) = run(&[], &[item("db2", Level::Warn)], &["db2"]);
        let (_, e) = run(&s, &[], &[]);
        assert!(e.is_empty());
    }

    #[test]
    fn weekly_windows() {
        let m = Maintenance {
            targets: vec!["db1".into()],
            weekly: Some("Sat 23:00-01:00".into()),
            ..Default::default()
        };
        let w = m.window().unwrap();
        // 2026-12-05 is a Saturday
        let t = |s: &str| s.parse::<jiff::civil::DateTime>().unwrap();
        assert!(w.contains(t("2026-12-05T23:30")));
        assert!(w.contains(t("2026-12-06T00:30")));
        assert!(!w.contains(t("2026-12-06T01:00")));
        assert!(!w.contains(t("2026-12-05T22:59")));
        for bad in [
            "Sun",
            "Sun 2-4",
            "Funday 01:00-02:00",
            "Sun 02:00-02:00",
            "Sun 25:00-26:00",
        ] {
            let m = Maintenance {
                weekly: Some(bad.into()),
                ..Default::default()
            };
            assert!(m.window().is_err(), "{bad}");
        }
        let once = Maintenance {
            from: Some("2026-12-24 18:00".into()),
            until: Some("2026-12-27 08:00".into()),
            ..Default::default()
        };
        assert!(once.window().unwrap().contains(t("2026-12-25T12:00")));
    }
}
