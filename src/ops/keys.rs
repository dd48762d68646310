//! Who can log in where (`opsdeck keys find|revoke`, the Security pane):
//! every place a key is authorised, from a fresh audit, and its removal
//! after a plan — each file backed up on the host, exactly the lines of
//! that key removed (the others kept byte for byte), journaled, and never
//! the key opsdeck itself logs in with.

use super::Ctx;
use crate::audit::{AuthKey, HostAudit};
use crate::model::Host;
use crate::ssh::ExecOptions;
use crate::store::JournalEntry;
use crate::util::shell_quote as q;

/// Where a key is authorised.
pub fn find(results: &[HostAudit], fingerprint: &str) -> Vec<(String, AuthKey)> {
    let mut out = Vec::new();
    for r in results {
        for k in r.keys.iter().filter(|k| k.fingerprint == fingerprint) {
            out.push((r.host.clone(), k.clone()));
        }
    }
    out
}

/// The plan of one host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub host: String,
    pub places: Vec<AuthKey>,
    /// Why this host is left alone (the key is opsdeck's own there).
    pub refused: Option<String>,
}

/// Plan the removal of `fingerprint` on `hosts` from their audits.
pub fn plan_revoke(
    ctx: &Ctx,
    hosts: &[Host],
    results: &[HostAudit],
    fingerprint: &str,
) -> Vec<HostPlan> {
    hosts
        .iter()
        .filter_map(|h| {
            let places: Vec<AuthKey> = results
                .iter()
                .filter(|r| r.host == h.name)
                .flat_map(|r| r.keys.iter().filter(|k| k.fingerprint == fingerprint).cloned())
                .collect();
            if places.is_empty() {
                return None;
            }
            let own = ctx.engine.own_key_blobs(h).iter().any(|b| {
                crate::audit::keys::fingerprint(&openssl::base64::encode_block(b)).as_deref() == Some(fingerprint)
            });
            Some(HostPlan {
                host: h.name.clone(),
                places,
                refused: own.then(|| {
                    "this is the key opsdeck logs in to this host with: removing it would lock opsdeck out (log in with another key first)".to_string()
                }),
            })
        })
        .collect()
}

/// The remote script removing the lines of key `blob` from `file`: a
/// backup copy first (`FILE.opsdeck-YYYYmmddHHMMSS`, same mode), then the
/// file rewritten in place (owner, mode and inode kept). Prints `removed N
/// backup PATH`.
fn script(file: &str, blob: &str, become_root: bool) -> String {
    let s = if become_root { "sudo -n " } else { "" };
    format!(
        "f={f}; b={b}; bak=\"$f.opsdeck-$(date +%Y%m%d%H%M%S)\"; \
         {s}cp -p \"$f\" \"$bak\" || exit 3; \
         before=$({s}wc -l < \"$f\"); \
         {s}sh -c 'awk -v b=\"$1\" '\\''{{ keep = 1; for (i = 1; i <= NF; i++) if ($i == b) keep = 0; if (keep) print }}'\\'' \"$2\" > \"$3.opsdeck-new\" && cat \"$3.opsdeck-new\" > \"$3\" && rm -f \"$3.opsdeck-new\"' sh \"$b\" \"$bak\" \"$f\" || exit 4; \
         after=$({s}wc -l < \"$f\"); echo \"removed $((before - after)) backup $bak\"",
        f = q(file),
        b = q(blob),
    )
}

/// What happened on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Revoked {
    pub host: String,
    pub result: Result<Vec<String>, String>,
}

/// Remove the key of each plan (refused hosts are skipped), journal each
/// host, then audit the changed hosts again and save.
pub fn revoke(ctx: &Ctx, plans: &[HostPlan], fingerprint: &str) -> Vec<Revoked> {
    let become_root = ctx.store.settings.audit.become_root;
    let mut out = Vec::new();
    for p in plans.iter().filter(|p| p.refused.is_none()) {
        let Some(host) = ctx.store.host(&p.host).cloned() else {
            continue;
        };
        let mut files: Vec<(&str, &str)> = p
            .places
            .iter()
            .map(|k| (k.file.as_str(), k.key.as_str()))
            .collect();
        files.sort_unstable();
        files.dedup();
        let result = ctx
            .engine
            .connect(&host)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                let mut said = Vec::new();
                for (file, blob) in &files {
                    let o = conn
                        .exec(&script(file, blob, become_root), &ExecOptions::default())
                        .map_err(|e| e.to_string())?;
                    let text = crate::util::sanitize(&o.stdout);
                    if o.exit_status != Some(0) {
                        return Err(format!(
                            "{file}: {}",
                            crate::util::excerpt(crate::util::sanitize(&o.stderr).trim(), 200)
                        ));
                    }
                    said.push(format!("{file}: {}", text.trim()));
                }
                Ok(said)
            });
        let mut e = JournalEntry::now(
            "keys.revoke",
            &p.host,
            if result.is_ok() { "ok" } else { "failed" },
        );
        e.details.push(format!("key {fingerprint}"));
        match &result {
            Ok(lines) => e.details.extend(lines.iter().cloned()),
            Err(why) => e.details.push(why.clone()),
        }
        if let Err(err) = ctx.store.journal(&e) {
            tracing::warn!("could not write the journal: {err}");
        }
        out.push(Revoked {
            host: p.host.clone(),
            result,
        });
    }
    let changed: Vec<Host> = out
        .iter()
        .filter(|r| r.result.is_ok())
        .filter_map(|r| ctx.store.host(&r.host).cloned())
        .collect();
    if !changed.is_empty() {
        let target = changed
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let _ = super::audit::audit_and_save(ctx, changed, &target, |_, _, _| {});
    }
    out
}
