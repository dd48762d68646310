//! The security audit as a task (`opsdeck audit`, `keys`, the Security
//! pane): one probe per host (at most `[ssh] concurrency` at once), the
//! findings, the results kept in state/audit.toml, the findings and
//! certificates as Overview items in state/security.toml (so the Overview,
//! the report and the watch's alerts have them), one journal entry.

use super::Ctx;
use crate::audit::{self, HostAudit, Severity};
use crate::model::{Host, Level, Status};
use crate::overview::{Category, Item, PaneId, Target};
use crate::ssh::ExecOptions;
use crate::store::{JournalEntry, StateKind, StoreError};

/// Audit `hosts`, calling `on_each` with each result as it comes. Results
/// in the order of `hosts`; not saved (see [`save`]).
pub fn audit(
    ctx: &Ctx,
    hosts: Vec<Host>,
    mut on_each: impl FnMut(&HostAudit, usize, usize),
) -> Vec<HostAudit> {
    let cfg = ctx.store.settings.audit.clone();
    let order: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let total = hosts.len();
    let by_name: std::collections::HashMap<String, Host> =
        hosts.iter().map(|h| (h.name.clone(), h.clone())).collect();
    let cfg2 = cfg.clone();
    let mut rx = ctx
        .engine
        .sweep(hosts, ctx.cancel.clone(), move |conn, host| {
            let cmd = audit::probe_command(
                cfg2.become_root,
                &host.tls_ports,
                &host.tls_names,
                &cfg2.cert_paths,
            );
            conn.exec(
                &cmd,
                &ExecOptions {
                    stdin: Some(audit::PROBE.as_bytes().to_vec()),
                    timeout: None,
                    ..Default::default()
                },
            )
        });
    let today = crate::store::today();
    let mut done: Vec<HostAudit> = Vec::with_capacity(total);
    while let Some(d) = rx.blocking_recv() {
        let at = crate::util::now_rfc3339();
        let host = by_name.get(&d.host).cloned().unwrap_or_default();
        let r = match d.result {
            Err(e) => failed(&d.host, e.to_string(), at),
            Ok(out) => {
                let text = crate::util::sanitize(&out.stdout);
                match audit::parse::parse(&text) {
                    Err(e) => failed(&d.host, e.to_string(), at),
                    Ok(o) => {
                        let findings = audit::rules::findings(&o, &host, &cfg, today);
                        HostAudit {
                            host: d.host.clone(),
                            status: HostAudit::status_of(&findings),
                            findings,
                            certificates: o.certs,
                            keys: o.keys,
                            listeners: o.listeners.unwrap_or_default(),
                            error: None,
                            audited_at: at,
                            as_root: o.uid == Some(0) || o.become_root,
                        }
                    }
                }
            }
        };
        on_each(&r, done.len() + 1, total);
        done.push(r);
    }
    done.sort_by_key(|r| order.iter().position(|n| *n == r.host));
    done
}

/// A host the audit could not read: UNKNOWN, with why.
fn failed(host: &str, error: String, at: String) -> HostAudit {
    HostAudit {
        host: host.to_string(),
        status: Status::Unknown,
        findings: Vec::new(),
        certificates: Vec::new(),
        keys: Vec::new(),
        listeners: Vec::new(),
        error: Some(error),
        audited_at: at,
        as_root: false,
    }
}

/// The Overview items of an audit: unaccepted warn/crit findings.
pub fn items(results: &[HostAudit]) -> Vec<Item> {
    let mut out = Vec::new();
    for r in results {
        for f in r
            .findings
            .iter()
            .filter(|f| !f.accepted && f.severity != Severity::Info)
        {
            let cert = f.id.starts_with("cert.");
            out.push(Item {
                rank: 0,
                level: if f.severity == Severity::Crit {
                    Level::Crit
                } else {
                    Level::Warn
                },
                category: if cert {
                    Category::Certificate
                } else {
                    Category::Security
                },
                what: format!("{}: {}", r.host, f.title),
                why: f.evidence.clone(),
                target: Target {
                    pane: PaneId::SECURITY,
                    key: r.host.clone(),
                    ticket: None,
                },
                subject: f.id.clone(),
                urgency: if f.severity == Severity::Crit { 2 } else { 1 },
            });
        }
    }
    out
}

/// Keep results (merged by host), their Overview items (the audited hosts'
/// items replaced), and one journal entry.
pub fn save(ctx: &Ctx, results: &[HostAudit], target: &str) -> Result<(), StoreError> {
    if results.is_empty() {
        return Ok(());
    }
    let store = &ctx.store;
    store.merge_state(StateKind::Audit, results.to_vec(), |r: &HostAudit| {
        r.host.as_str()
    })?;
    let audited: Vec<&str> = results.iter().map(|r| r.host.as_str()).collect();
    let mut all: Vec<Item> = store
        .load_state::<Item>(StateKind::Security)
        .items
        .into_iter()
        .filter(|i| !audited.contains(&i.target.key.as_str()))
        .collect();
    all.extend(items(results));
    store.replace_state(StateKind::Security, &all)?;
    let worst = results.iter().fold(Status::Ok, |w, r| w.worst(r.status));
    let mut e = JournalEntry::now("audit", target, &worst.label().to_lowercase());
    for r in results {
        let open: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| !f.accepted && f.severity != Severity::Info)
            .map(|f| f.id.as_str())
            .collect();
        e.details.push(match &r.error {
            Some(err) => format!("{}: {}", r.host, err),
            None => format!(
                "{}: {} ({})",
                r.host,
                r.status.label().to_lowercase(),
                if open.is_empty() {
                    "no findings".to_string()
                } else {
                    open.join(", ")
                }
            ),
        });
    }
    store.journal(&e)
}

/// Audit and save; a failure to save is logged and returned with the results.
pub fn audit_and_save(
    ctx: &Ctx,
    hosts: Vec<Host>,
    target: &str,
    on_each: impl FnMut(&HostAudit, usize, usize),
) -> (Vec<HostAudit>, Result<(), StoreError>) {
    let results = audit(ctx, hosts, on_each);
    let saved = save(ctx, &results, target);
    if let Err(e) = &saved {
        tracing::error!("cannot save the audit: {e}");
    }
    (results, saved)
}
