//! `opsdeck report`: the state of the fleet for a manager or an auditor, as
//! Markdown (readable as plain text) or one JSON document with the same
//! sections. Pure: built from a `Snapshot`, the journal and an injected now.
//! Field names: docs/decisions/lifecycle.md.

use jiff::Timestamp;
use serde::Serialize;

use crate::lifecycle::{self, ser_date};
use crate::model::{BackupKind, Date, Status, TicketStatus};
use crate::overview::{self, Counts, Freshness, Snapshot};
use crate::store::JournalEntry;
use crate::util;

/// How many ranked items the summary lists.
pub const SUMMARY_ITEMS: usize = 20;
/// The journal section covers this many days back from now.
pub const JOURNAL_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// RFC 3339 UTC.
    pub generated_at: String,
    #[serde(serialize_with = "ser_date")]
    pub today: Date,
    pub summary: Summary,
    pub hosts: Vec<HostRow>,
    pub backups: Vec<BackupRow>,
    pub vendors: Vec<VendorRow>,
    pub lifecycle: Vec<lifecycle::Item>,
    /// The security audit's findings and certificates (`opsdeck audit`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<overview::Item>,
    /// The watch's forecasts and anomalies (`opsdeck sweep`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<overview::Item>,
    pub journal: JournalSection,
    /// State that could not be read in full (damaged entries skipped): the
    /// report is made from what could be read, and says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub counts: Counts,
    pub freshness: Vec<Freshness>,
    /// Number of items in the full "needs attention" list.
    pub attention_total: usize,
    /// The first SUMMARY_ITEMS of the ranked list (worst first).
    pub attention: Vec<overview::Item>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiskRow {
    pub mount: String,
    pub used_pct: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostRow {
    pub name: String,
    pub address: Option<String>,
    pub tags: Vec<String>,
    pub role: Option<String>,
    pub location: Option<String>,
    /// null: never checked.
    pub status: Option<Status>,
    pub error: Option<String>,
    pub reasons: Vec<String>,
    pub checked_at: Option<String>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub uptime_s: Option<u64>,
    /// The fullest filesystem.
    pub fullest_disk: Option<DiskRow>,
    pub updates_pending: Option<u32>,
    /// null: unknown (no security metadata, or never checked).
    pub security_pending: Option<u32>,
    /// RFC 3339: when the pending security updates were first seen.
    pub security_since: Option<String>,
    pub reboot_required: Option<bool>,
    /// RFC 3339: the facts above are the last known ones, gathered then
    /// (the last check did not reach the host). Absent when they are fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts_as_of: Option<String>,
    pub vendor: Option<String>,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub purchased: Option<Date>,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub warranty_until: Option<Date>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BackupRow {
    pub name: String,
    pub host: String,
    pub kind: BackupKind,
    /// null: never checked.
    pub status: Option<Status>,
    pub latest: Option<String>,
    pub age_s: Option<u64>,
    pub max_age: String,
    pub reasons: Vec<String>,
    pub error: Option<String>,
    pub checked_at: Option<String>,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub last_restore_test: Option<Date>,
    pub restore_test_every: Option<String>,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub restore_test_due: Option<Date>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketRow {
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub opened: Option<Date>,
    pub days_open: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VendorRow {
    pub name: String,
    pub category: Option<String>,
    pub account: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub support_hours: Option<String>,
    #[serde(serialize_with = "lifecycle_opt_date")]
    pub contract_end: Option<Date>,
    /// `contract_end - today` in days (negative: ended).
    pub contract_days_left: Option<i64>,
    /// Hosts whose `vendor` is this one.
    pub hosts: Vec<String>,
    pub open_tickets: Vec<TicketRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JournalSection {
    /// RFC 3339: entries at or after this time are listed.
    pub since: String,
    /// Oldest first.
    pub entries: Vec<JournalEntry>,
}

fn lifecycle_opt_date<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Build the report.
pub fn build(snap: &Snapshot, journal: &[JournalEntry], now: Timestamp, today: Date) -> Report {
    let ov = overview::overview(snap, now, today);
    let hosts = host_rows(snap);
    let backups = backup_rows(snap);
    let vendors = vendor_rows(snap, today);
    let attention_total = ov.items.len();
    Report {
        generated_at: rfc3339(now),
        today,
        summary: Summary {
            counts: ov.counts,
            freshness: ov.freshness,
            attention_total,
            attention: ov.items.into_iter().take(SUMMARY_ITEMS).collect(),
        },
        hosts,
        backups,
        vendors,
        lifecycle: lifecycle::items(
            &snap.hosts,
            &snap.vendors,
            &snap.checks,
            &snap.eol,
            &snap.thresholds,
            today,
        ),
        security: snap
            .watch
            .iter()
            .filter(|i| {
                matches!(
                    i.category,
                    overview::Category::Security | overview::Category::Certificate
                )
            })
            .cloned()
            .collect(),
        watch: snap
            .watch
            .iter()
            .filter(|i| {
                matches!(
                    i.category,
                    overview::Category::DiskForecast | overview::Category::Anomaly
                )
            })
            .cloned()
            .collect(),
        journal: journal_section(journal, now),
        notes: snap.notes.clone(),
    }
}

/// One row per host: its check (or its last known facts), patches, lifecycle.
fn host_rows(snap: &Snapshot) -> Vec<HostRow> {
    snap.hosts
        .iter()
        .map(|h| {
            let check = snap.checks.iter().find(|c| c.host == h.name);
            // an unreachable host: its last known facts, marked with their time
            let known = check.and_then(|c| c.known_facts());
            let facts = known.map(|k| k.0);
            let facts_as_of = known.and_then(|k| k.1.map(str::to_string));
            let security = overview::security_pending(&h.name, &snap.checks, &snap.patches);
            let patch = snap
                .patches
                .iter()
                .find(|p| p.host == h.name && p.error.is_none());
            HostRow {
                name: h.name.clone(),
                address: h.address.clone(),
                tags: h.tags.clone(),
                role: h.role.clone(),
                location: h.location.clone(),
                status: check.map(|c| c.status),
                error: check.and_then(|c| c.error.clone()),
                reasons: check.map(|c| c.reasons.clone()).unwrap_or_default(),
                checked_at: check.map(|c| c.checked_at.clone()),
                os: facts.and_then(|f| f.os.clone()),
                kernel: facts.and_then(|f| f.kernel.clone()),
                uptime_s: facts.and_then(|f| f.uptime_s),
                fullest_disk: facts.and_then(|f| {
                    f.disks
                        .iter()
                        .max_by(|a, b| a.used_pct.total_cmp(&b.used_pct))
                        .map(|d| DiskRow {
                            mount: d.mount.clone(),
                            used_pct: d.used_pct,
                        })
                }),
                updates_pending: facts
                    .and_then(|f| f.updates.as_ref()?.pending)
                    .or(patch.map(|p| p.updates.len() as u32)),
                security_pending: security.as_ref().map(|s| s.0),
                security_since: security.filter(|s| s.0 > 0).map(|s| {
                    snap.security_since
                        .iter()
                        .find(|x| x.host == h.name)
                        .map(|x| x.since.clone())
                        .unwrap_or(s.1)
                }),
                reboot_required: facts
                    .and_then(|f| f.reboot_required)
                    .or(patch.and_then(|p| p.reboot_required)),
                facts_as_of,
                vendor: h.vendor.clone(),
                purchased: h.purchased,
                warranty_until: h.warranty_until,
            }
        })
        .collect()
}

/// One row per backup job with its last result.
fn backup_rows(snap: &Snapshot) -> Vec<BackupRow> {
    snap.jobs
        .iter()
        .map(|j| {
            let r = snap.backups.iter().find(|r| r.name == j.name);
            BackupRow {
                name: j.name.clone(),
                host: j.host.clone(),
                kind: j.kind,
                status: r.map(|r| r.status),
                latest: r.and_then(|r| r.latest.clone()),
                age_s: r.and_then(|r| r.age_s),
                max_age: j.max_age.clone(),
                reasons: r.map(|r| r.reasons.clone()).unwrap_or_default(),
                error: r.and_then(|r| r.error.clone()),
                checked_at: r.and_then(|r| r.checked_at.clone()),
                last_restore_test: j.last_restore_test,
                restore_test_every: j.restore_test_every.clone(),
                restore_test_due: overview::restore_due(j),
            }
        })
        .collect()
}

/// One row per vendor: contract, hosts, open tickets.
fn vendor_rows(snap: &Snapshot, today: Date) -> Vec<VendorRow> {
    snap.vendors
        .iter()
        .map(|v| VendorRow {
            name: v.name.clone(),
            category: v.category.clone(),
            account: v.account.clone(),
            phone: v.phone.clone(),
            email: v.email.clone(),
            support_hours: v.support_hours.clone(),
            contract_end: v.contract_end,
            contract_days_left: v.contract_end.map(|e| lifecycle::days_between(today, e)),
            hosts: snap
                .hosts
                .iter()
                .filter(|h| h.vendor.as_deref() == Some(v.name.as_str()))
                .map(|h| h.name.clone())
                .collect(),
            open_tickets: v
                .tickets
                .iter()
                .filter(|t| t.status == TicketStatus::Open)
                .map(|t| TicketRow {
                    reference: t.reference.clone(),
                    subject: t.subject.clone(),
                    opened: t.opened,
                    days_open: t.opened.map(|o| lifecycle::days_between(o, today)),
                })
                .collect(),
        })
        .collect()
}

/// The journal entries of the last [`JOURNAL_DAYS`] days, oldest first.
fn journal_section(journal: &[JournalEntry], now: Timestamp) -> JournalSection {
    let since = Timestamp::from_second(now.as_second() - JOURNAL_DAYS * 86_400).unwrap_or(now);
    let mut entries: Vec<(Timestamp, JournalEntry)> = journal
        .iter()
        .filter_map(|e| {
            let t = e.at.parse::<Timestamp>().ok()?;
            (t >= since && t <= now).then(|| (t, e.clone()))
        })
        .collect();
    entries.sort_by_key(|(t, _)| *t);
    JournalSection {
        since: rfc3339(since),
        entries: entries.into_iter().map(|(_, e)| e).collect(),
    }
}

/// The JSON document (pretty, with a final newline).
pub fn to_json(r: &Report) -> Result<String, String> {
    serde_json::to_string_pretty(r)
        .map(|s| s + "\n")
        .map_err(|e| format!("cannot encode the report as JSON: {e}"))
}

// ---------------------------------------------------------------- Markdown

/// Text from files or remote hosts made safe for one Markdown table cell or
/// line: control characters and escape sequences removed, whitespace
/// collapsed, and the characters that would end a cell or start markup
/// (`\ | < > [ ] * ``) backslash-escaped.
pub fn md_escape(s: &str) -> String {
    let clean = util::sanitize(s.as_bytes());
    let mut out = String::with_capacity(clean.len());
    for (i, word) in clean.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for c in word.chars() {
            if matches!(c, '\\' | '|' | '<' | '>' | '[' | ']' | '*' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

fn opt(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.trim().is_empty() => md_escape(s),
        _ => "-".into(),
    }
}

/// A table whose columns are padded, so the raw text reads as a table too.
/// Cells must be escaped already.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let n = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count().max(3)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = String>| {
        out.push('|');
        for w in &width {
            let c = cells.next().unwrap_or_default();
            let pad = w.saturating_sub(c.chars().count());
            out.push(' ');
            out.push_str(&c);
            out.push_str(&" ".repeat(pad));
            out.push_str(" |");
        }
        out.push('\n');
    };
    line(out, &mut headers.iter().map(|h| h.to_string()));
    out.push('|');
    for w in &width {
        out.push_str(&"-".repeat(w + 2));
        out.push('|');
    }
    out.push('\n');
    for r in rows {
        line(out, &mut r.iter().cloned());
    }
    out.push('\n');
}

fn status_text(s: Option<Status>) -> String {
    match s {
        Some(s) => s.label().to_string(),
        None => "never checked".into(),
    }
}

fn level_text(l: crate::model::Level) -> &'static str {
    match l {
        crate::model::Level::Crit => "CRIT",
        crate::model::Level::Warn => "WARN",
        crate::model::Level::Ok => "OK",
    }
}

fn age_text(secs: Option<u64>) -> String {
    secs.map(util::format_age).unwrap_or_else(|| "-".into())
}

fn when(at: Option<&str>, now: Timestamp) -> String {
    match at {
        Some(a) => match util::age_of(a, now) {
            Some(s) => format!("{} ({} ago)", md_escape(a), util::format_age(s)),
            None => md_escape(a),
        },
        None => "never".into(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn date_text(d: Option<Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
}

/// The Markdown document.
pub fn to_markdown(r: &Report) -> String {
    let now = r
        .generated_at
        .parse::<Timestamp>()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut o = String::new();
    o.push_str("# opsdeck fleet report\n\n");
    o.push_str(&format!(
        "Generated {} (today: {}).\n\n",
        r.generated_at, r.today
    ));

    md_summary(r, now, &mut o);
    md_hosts(r, &mut o);
    md_backups(r, &mut o);
    md_vendors(r, &mut o);
    md_lifecycle(r, &mut o);
    md_items(&mut o, "Security", &r.security);
    md_items(&mut o, "Forecasts and anomalies", &r.watch);
    md_journal(r, &mut o);
    md_notes(r, &mut o);
    o
}

/// The summary: counts per pane, patches, freshness, what needs attention.
fn md_summary(r: &Report, now: Timestamp, o: &mut String) {
    let c = &r.summary.counts;
    o.push_str("## Summary\n\n");
    let srow = |name: &str, s: &overview::StatusCounts| {
        vec![
            name.to_string(),
            s.total.to_string(),
            s.ok.to_string(),
            s.warn.to_string(),
            s.crit.to_string(),
            s.unknown.to_string(),
            s.unchecked.to_string(),
        ]
    };
    table(
        o,
        &[
            "",
            "total",
            "ok",
            "warn",
            "crit",
            "unknown",
            "never checked",
        ],
        &[srow("Hosts", &c.hosts), srow("Backups", &c.backups)],
    );
    let p = &c.patches;
    o.push_str(&format!(
        "- Patches: {} with {} pending; {} on {}{}; {} needing a reboot.\n",
        plural(p.hosts_with_updates, "host"),
        plural(p.updates as usize, "update"),
        plural(p.security as usize, "security update"),
        plural(p.hosts_with_security, "host"),
        if p.security_unknown > 0 {
            format!(" (unknown on {})", plural(p.security_unknown, "host"))
        } else {
            String::new()
        },
        plural(p.reboot_required, "host"),
    ));
    let v = &c.vendors;
    o.push_str(&format!(
        "- Vendors: {}; {} open ({} stale); {} ending soon, {} ended.\n",
        plural(v.total, "vendor"),
        plural(v.open_tickets, "ticket"),
        v.stale_tickets,
        plural(v.contracts_ending, "contract"),
        v.contracts_ended,
    ));
    o.push_str("- Last refreshed: ");
    let fr: Vec<String> = r
        .summary
        .freshness
        .iter()
        .map(|f| format!("{} {}", f.source, when(f.last.as_deref(), now)))
        .collect();
    o.push_str(&fr.join("; "));
    o.push_str(".\n\n");

    o.push_str(&format!(
        "### Needs attention ({} crit, {} warn)\n\n",
        c.overview.crit, c.overview.warn
    ));
    if r.summary.attention.is_empty() {
        o.push_str("Nothing needs attention.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .summary
            .attention
            .iter()
            .map(|i| {
                vec![
                    i.rank.to_string(),
                    level_text(i.level).into(),
                    md_escape(&i.what),
                    md_escape(&i.why),
                    format!("{}: {}", i.target.pane.title(), md_escape(&i.target.key)),
                ]
            })
            .collect();
        table(o, &["#", "level", "item", "why", "where"], &rows);
        if r.summary.attention_total > r.summary.attention.len() {
            o.push_str(&format!(
                "… and {} more (see the sections below).\n\n",
                r.summary.attention_total - r.summary.attention.len()
            ));
        }
    }
}

/// One row per host.
fn md_hosts(r: &Report, o: &mut String) {
    o.push_str("## Hosts\n\n");
    if r.hosts.is_empty() {
        o.push_str("No hosts.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .hosts
            .iter()
            .map(|h| {
                let status = match (&h.error, h.status) {
                    (Some(e), s) => format!("{}: {}", status_text(s), md_escape(e)),
                    (None, s) => status_text(s),
                };
                let status = match &h.facts_as_of {
                    Some(t) => format!(
                        "{status} (figures: last known, {})",
                        md_escape(t.get(..10).unwrap_or(t))
                    ),
                    None => status,
                };
                vec![
                    md_escape(&h.name),
                    status,
                    opt(h.os.as_deref()),
                    age_text(h.uptime_s),
                    h.fullest_disk
                        .as_ref()
                        .map(|d| format!("{} {:.0}%", md_escape(&d.mount), d.used_pct))
                        .unwrap_or_else(|| "-".into()),
                    h.updates_pending
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    match (h.security_pending, &h.security_since) {
                        (Some(n), Some(s)) if n > 0 => {
                            format!("{n} since {}", md_escape(s.get(..10).unwrap_or(s)))
                        }
                        (Some(n), _) => n.to_string(),
                        (None, _) => "unknown".into(),
                    },
                    match h.reboot_required {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "unknown".into(),
                    },
                    h.checked_at
                        .as_deref()
                        .map(md_escape)
                        .unwrap_or_else(|| "never".into()),
                ]
            })
            .collect();
        table(
            o,
            &[
                "host",
                "status",
                "OS",
                "uptime",
                "fullest disk",
                "updates",
                "security",
                "reboot",
                "checked",
            ],
            &rows,
        );
    }
}

/// One row per backup job.
fn md_backups(r: &Report, o: &mut String) {
    o.push_str("## Backups\n\n");
    if r.backups.is_empty() {
        o.push_str("No backup jobs.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .backups
            .iter()
            .map(|b| {
                let status = match (&b.error, b.status) {
                    (Some(e), s) => format!("{}: {}", status_text(s), md_escape(e)),
                    (None, s) => status_text(s),
                };
                vec![
                    md_escape(&b.name),
                    md_escape(&b.host),
                    crate::backups::kind_name(b.kind).to_string(),
                    status,
                    opt(b.latest.as_deref()),
                    age_text(b.age_s),
                    md_escape(&b.max_age),
                    date_text(b.last_restore_test),
                    match (&b.restore_test_every, b.restore_test_due) {
                        (Some(_), Some(d)) => d.to_string(),
                        (Some(_), None) => "now (never tested)".into(),
                        (None, _) => "-".into(),
                    },
                ]
            })
            .collect();
        table(
            o,
            &[
                "backup",
                "host",
                "kind",
                "status",
                "latest",
                "age",
                "max age",
                "last restore test",
                "restore test due",
            ],
            &rows,
        );
    }
}

/// Vendors, their contracts and open tickets.
fn md_vendors(r: &Report, o: &mut String) {
    o.push_str("## Vendors\n\n");
    if r.vendors.is_empty() {
        o.push_str("No vendors.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .vendors
            .iter()
            .map(|v| {
                vec![
                    md_escape(&v.name),
                    opt(v.category.as_deref()),
                    opt(v.account.as_deref()),
                    opt(v.phone.as_deref()),
                    opt(v.email.as_deref()),
                    match (v.contract_end, v.contract_days_left) {
                        (Some(d), Some(n)) => {
                            format!("{d} ({})", lifecycle::relative_days(n))
                        }
                        _ => "-".into(),
                    },
                    if v.hosts.is_empty() {
                        "-".into()
                    } else {
                        md_escape(&v.hosts.join(", "))
                    },
                    v.open_tickets.len().to_string(),
                ]
            })
            .collect();
        table(
            o,
            &[
                "vendor",
                "category",
                "account",
                "phone",
                "e-mail",
                "contract end",
                "hosts",
                "open tickets",
            ],
            &rows,
        );
        let tickets: Vec<Vec<String>> = r
            .vendors
            .iter()
            .flat_map(|v| {
                v.open_tickets.iter().map(move |t| {
                    vec![
                        md_escape(&v.name),
                        md_escape(&t.reference),
                        md_escape(&t.subject),
                        date_text(t.opened),
                        t.days_open
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
            })
            .collect();
        o.push_str("### Open tickets\n\n");
        if tickets.is_empty() {
            o.push_str("No open tickets.\n\n");
        } else {
            table(
                o,
                &["vendor", "ref", "subject", "opened", "days open"],
                &tickets,
            );
        }
    }
}

/// Warranty, contract, OS end of life and hardware age.
fn md_lifecycle(r: &Report, o: &mut String) {
    o.push_str("## Lifecycle\n\n");
    if r.lifecycle.is_empty() {
        o.push_str("No warranty, contract, refresh or OS end-of-life items.\n\n");
    } else {
        level_table(o, r.lifecycle.iter().map(|i| (i.level, &i.what, &i.why)));
    }
}

/// A section of Overview items (the audit's, the watch's), when there are any.
fn md_items(o: &mut String, title: &str, items: &[overview::Item]) {
    if items.is_empty() {
        return;
    }
    o.push_str(&format!("## {title}\n\n"));
    let mut sorted: Vec<&overview::Item> = items.iter().collect();
    sorted.sort_by_key(|i| std::cmp::Reverse(i.level));
    level_table(o, sorted.iter().map(|i| (i.level, &i.what, &i.why)));
}

/// A level / item / why table.
fn level_table<'a>(
    o: &mut String,
    rows: impl Iterator<Item = (crate::model::Level, &'a String, &'a String)>,
) {
    let rows: Vec<Vec<String>> = rows
        .map(|(level, what, why)| vec![level_text(level).into(), md_escape(what), md_escape(why)])
        .collect();
    table(o, &["level", "item", "why"], &rows);
}

/// The journal of the last days.
fn md_journal(r: &Report, o: &mut String) {
    o.push_str(&format!(
        "## Journal (last {JOURNAL_DAYS} days, since {})\n\n",
        r.journal.since
    ));
    if r.journal.entries.is_empty() {
        o.push_str("No entries.\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .journal
            .entries
            .iter()
            .map(|e| {
                vec![
                    md_escape(&e.at),
                    md_escape(&e.who),
                    md_escape(&e.action),
                    md_escape(&e.target),
                    md_escape(&e.result),
                ]
            })
            .collect();
        table(o, &["when", "who", "action", "target", "result"], &rows);
        // one trailing newline only
        o.pop();
    }
}

/// What could not be read, when something could not.
fn md_notes(r: &Report, o: &mut String) {
    if !r.notes.is_empty() {
        o.push_str("\n## Data problems\n\n");
        o.push_str("This report was made from the state that could be read:\n\n");
        for n in &r.notes {
            o.push_str(&format!("- {}\n", md_escape(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(md_escape("a|b"), "a\\|b");
        assert_eq!(md_escape("x\x1b[31mred\x1b[0m\ny"), "xred y");
        assert_eq!(md_escape("<script>"), "\\<script\\>");
        assert_eq!(md_escape("[a](b)"), "\\[a\\](b)");
        assert_eq!(md_escape("c:\\tmp"), "c:\\\\tmp");
        assert_eq!(md_escape("  "), "");
    }

    #[test]
    fn tables_are_padded() {
        let mut o = String::new();
        table(
            &mut o,
            &["a", "bb"],
            &[vec!["xxxx".into(), "y".into()], vec!["z".into(), "".into()]],
        );
        assert_eq!(
            o,
            "| a    | bb  |\n|------|-----|\n| xxxx | y   |\n| z    |     |\n\n"
        );
    }
}
