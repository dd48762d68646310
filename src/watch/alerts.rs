//! Alerts on change, not on state. The open items and what was last told
//! about each are kept in `state/alerts.json`; each sweep compares its
//! items with them: an item that appears → `new`, goes warn → crit →
//! `worse`, disappears → `cleared`; nothing while it stays (or improves,
//! which lowers the level told so that a new rise is told again). Items of
//! hosts in a maintenance window are carried unchanged and told nothing;
//! after the window, what is still open and was never told is `new`, what
//! was told and cleared meanwhile is `cleared`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Level;
use crate::overview::Item;
use crate::store::{Home, StoreError};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    New,
    Worse,
    Cleared,
    Digest,
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Worse => "worse",
            Kind::Cleared => "cleared",
            Kind::Digest => "digest",
            Kind::Test => "test",
        }
    }
}

/// One thing to tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event: Kind,
    /// The host it is about ("" when none: vendors).
    pub host: String,
    /// The item's stable id.
    pub item: String,
    /// "warn", "crit", "ok" (cleared).
    pub status: String,
    /// "db1: /var full in 6 days: on 2026-12-11 ...".
    pub text: String,
}

/// An open item as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Open {
    pub host: String,
    pub level: Level,
    pub text: String,
    /// RFC 3339: first seen.
    pub since: String,
    /// The level last told (None: never told, muted since it appeared).
    pub told: Option<Level>,
}

/// `state/alerts.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub open: BTreeMap<String, Open>,
    /// Local date (YYYY-MM-DD) of the last digest sent.
    #[serde(default)]
    pub last_digest: Option<String>,
    /// Channels that failed at the last sweep (shown by the next summary).
    #[serde(default)]
    pub failures: Vec<String>,
}

pub fn path(home: &Home) -> std::path::PathBuf {
    home.state_dir.join("alerts.json")
}

impl AlertState {
    /// Read the state; a missing file is empty, a damaged one is empty and
    /// said (everything open is then told once more: better than never).
    pub fn load(home: &Home) -> (AlertState, Option<String>) {
        let p = path(home);
        match std::fs::read(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (AlertState::default(), None),
            Err(e) => (AlertState::default(), Some(format!("{}: {e}", p.display()))),
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(s) => (s, None),
                Err(e) => (
                    AlertState::default(),
                    Some(format!(
                        "{}: line {} column {}: {e}; starting afresh",
                        p.display(),
                        e.line(),
                        e.column()
                    )),
                ),
            },
        }
    }

    pub fn save(&self, home: &Home) -> Result<(), StoreError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Io {
            path: path(home),
            message: e.to_string(),
        })?;
        crate::store::write::write_atomic(&path(home), &text)
    }
}

fn status(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Crit => "crit",
    }
}

/// Compare the current items with the state: the events to tell and the
/// next state. `host_of` names the host of an item ("" for none), `muted`
/// says whether a host is in a maintenance window now.
pub fn decide(
    prev: &AlertState,
    items: &[Item],
    host_of: impl Fn(&Item) -> String,
    muted: impl Fn(&str) -> bool,
    now: &str,
) -> (Vec<Event>, AlertState) {
    let mut events = Vec::new();
    let mut next = AlertState {
        open: BTreeMap::new(),
        last_digest: prev.last_digest.clone(),
        failures: Vec::new(),
    };
    for it in items.iter().filter(|i| i.level != Level::Ok) {
        let id = it.id();
        if next.open.contains_key(&id) {
            continue;
        }
        let host = host_of(it);
        let old = prev.open.get(&id);
        let mut o = Open {
            host: host.clone(),
            level: it.level,
            text: it.text(),
            since: old.map(|o| o.since.clone()).unwrap_or_else(|| now.into()),
            told: old.and_then(|o| o.told),
        };
        if !muted(&host) {
            let kind = match o.told {
                None => Some(Kind::New),
                Some(t) if it.level > t => Some(Kind::Worse),
                _ => None,
            };
            if let Some(kind) = kind {
                events.push(Event {
                    event: kind,
                    host: host.clone(),
                    item: id.clone(),
                    status: status(it.level).into(),
                    text: o.text.clone(),
                });
            }
            o.told = Some(it.level);
        }
        next.open.insert(id, o);
    }
    for (id, o) in &prev.open {
        if next.open.contains_key(id) {
            continue;
        }
        if muted(&o.host) {
            // cleared inside a window: told (or dropped) after it
            next.open.insert(id.clone(), o.clone());
        } else if o.told.is_some() {
            events.push(Event {
                event: Kind::Cleared,
                host: o.host.clone(),
                item: id.clone(),
                status: "ok".into(),
                text: o.text.clone(),
            });
        }
    }
    (events, next)
}

/// The digest: every open item not muted, one event each (sent as one
/// message per channel).
pub fn digest(state: &AlertState, muted: impl Fn(&str) -> bool) -> Vec<Event> {
    state
        .open
        .iter()
        .filter(|(_, o)| !muted(&o.host))
        .map(|(id, o)| Event {
            event: Kind::Digest,
            host: o.host.clone(),
            item: id.clone(),
            status: status(o.level).into(),
            text: o.text.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PaneId, Target};
    use crate::overview::Category;

    fn item(host: &str, level: Level) -> Item {
        Item {
            rank: 0,
            level,
            category: Category::Disk,
            what: format!("{host}: / full"),
            why: "x".into(),
            target: Target {
                pane: PaneId::HOSTS,
                key: host.into(),
                ticket: None,
            },
            urgency: 0,
            subject: "/".into(),
        }
    }

    fn run(prev: &AlertState, items: &[Item], muted: &[&str]) -> (Vec<Kind>, AlertState) {
        let (ev, next) = decide(
            prev,
            items,
            |i| i.target.key.clone(),
            |h| muted.contains(&h),
            "t",
        );
        (ev.iter().map(|e| e.event).collect(), next)
    }

    #[test]
    fn appears_stays_worsens_improves_clears() {
        let s0 = AlertState::default();
        let (e, s1) = run(&s0, &[item("a", Level::Warn)], &[]);
        assert_eq!(e, vec![Kind::New]);
        let (e, s2) = run(&s1, &[item("a", Level::Warn)], &[]);
        assert!(e.is_empty());
        let (e, s3) = run(&s2, &[item("a", Level::Crit)], &[]);
        assert_eq!(e, vec![Kind::Worse]);
        let (e, s4) = run(&s3, &[item("a", Level::Warn)], &[]);
        assert!(e.is_empty());
        let (e, s5) = run(&s4, &[item("a", Level::Crit)], &[]);
        assert_eq!(e, vec![Kind::Worse]);
        let (e, s6) = run(&s5, &[], &[]);
        assert_eq!(e, vec![Kind::Cleared]);
        assert!(s6.open.is_empty());
    }

    #[test]
    fn maintenance_mutes_then_brings_back_what_is_open() {
        let s0 = AlertState::default();
        let (e, s1) = run(
            &s0,
            &[item("a", Level::Warn), item("b", Level::Warn)],
            &["a"],
        );
        assert_eq!(e, vec![Kind::New]);
        let (e, s2) = run(&s1, &[item("a", Level::Crit)], &["a"]);
        // b cleared (told), a still muted
        assert_eq!(e, vec![Kind::Cleared]);
        let (e, _) = run(&s2, &[item("a", Level::Crit)], &[]);
        assert_eq!(e, vec![Kind::New]);
        // told before the window, cleared inside it: told after it
        let (_, t1) = run(&s0, &[item("a", Level::Warn)], &[]);
        let (e, t2) = run(&t1, &[], &["a"]);
        assert!(e.is_empty());
        let (e, _) = run(&t2, &[], &[]);
        assert_eq!(e, vec![Kind::Cleared]);
    }
}
