//! opsdeck audit | keys find | keys revoke: argument parsing and printing
//! over `ops::audit` and `ops::keys`.

use super::*;
use crate::audit::{HostAudit, Severity};
use crate::model::nagios_exit;

fn audit_hosts(
    home: &Home,
    targets: &[String],
    accept_new: bool,
) -> Result<(crate::ops::Ctx, Vec<crate::model::Host>, Vec<HostAudit>), Failure> {
    let (store, hosts) = load_targets(home, targets)?;
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, accept_new)).with_cancel(
        cancel_on_interrupt("cancelling: hosts in progress finish, no new host starts"),
    );
    let (results, saved) = crate::ops::audit::audit_and_save(
        &ctx,
        hosts.clone(),
        &target_label(targets),
        |_, _, _| {},
    );
    if let Err(e) = saved {
        tell!("opsdeck: cannot save the audit: {e}");
    }
    Ok((ctx, hosts, results))
}

pub fn run(home: &Home, a: &AuditArgs) -> CmdResult {
    let (_, _, results) = audit_hosts(home, &a.targets, a.accept_new)?;
    if a.json {
        out::json(&results)?;
    } else {
        for r in &results {
            let counted: Vec<_> = r
                .findings
                .iter()
                .filter(|f| !f.accepted && f.severity != Severity::Info)
                .collect();
            say!(
                "{}  {}  {}{}",
                r.host,
                r.status.label(),
                match &r.error {
                    Some(e) => e.clone(),
                    None => crate::util::plural(counted.len(), "finding", "findings"),
                },
                if r.as_root || r.error.is_some() {
                    ""
                } else {
                    " (not as root: some checks unverified)"
                }
            );
            for f in &r.findings {
                let mark = if f.accepted { " (accepted)" } else { "" };
                say!(
                    "  {:<4}  {}{mark}  [{}]",
                    f.severity.label().to_uppercase(),
                    f.title,
                    f.id
                );
                if !f.evidence.is_empty() {
                    say!("        {}", f.evidence);
                }
                if !f.fix.is_empty() && !f.accepted && f.severity != Severity::Info {
                    say!("        fix: {}", f.fix);
                }
            }
            for c in &r.certificates {
                say!(
                    "  cert  {} ({}): {} days left, not after {}",
                    c.subject,
                    c.source,
                    c.days_left,
                    c.not_after
                );
            }
        }
    }
    Ok(nagios_exit(results.iter().map(|r| r.status)))
}

fn fingerprint(key: &str) -> Result<String, Failure> {
    crate::audit::keys::fingerprint_of_input(key).ok_or_else(|| {
        Failure::usage(format!(
            "`{key}` is neither a SHA256:… fingerprint nor a public key line"
        ))
    })
}

pub fn keys(home: &Home, c: KeysCmd) -> CmdResult {
    match c {
        KeysCmd::Find { key, on, json } => {
            let fp = fingerprint(&key)?;
            let (_, _, results) = audit_hosts(home, &on, false)?;
            let found = crate::ops::keys::find(&results, &fp);
            if json {
                let v: Vec<serde_json::Value> = found
                    .iter()
                    .map(|(h, k)| serde_json::json!({"host": h, "user": k.user, "file": k.file, "line": k.line, "type": k.key_type, "comment": k.comment, "options": k.options}))
                    .collect();
                out::json(&v)?;
            } else if found.is_empty() {
                say!("{fp} is authorised nowhere opsdeck could read");
            } else {
                for (h, k) in &found {
                    say!("{h}  {}  {}:{}  {}", k.user, k.file, k.line, k.comment);
                }
            }
            for r in results.iter().filter(|r| r.error.is_some()) {
                tell!("{}: not read: {}", r.host, r.error.as_deref().unwrap_or(""));
            }
            Ok(if found.is_empty() {
                exit::FAILURE
            } else {
                exit::OK
            })
        }
        KeysCmd::Revoke {
            key,
            targets,
            dry_run,
            yes,
        } => {
            let fp = fingerprint(&key)?;
            let (ctx, hosts, results) = audit_hosts(home, &targets, false)?;
            let plans = crate::ops::keys::plan_revoke(&ctx, &hosts, &results, &fp);
            if plans.is_empty() {
                say!("{fp} is authorised nowhere on {}", target_label(&targets));
                return Ok(exit::OK);
            }
            say!("plan: remove {fp}");
            for p in &plans {
                for k in &p.places {
                    say!(
                        "  {}  {}  {} line {}  {}",
                        p.host,
                        k.user,
                        k.file,
                        k.line,
                        k.comment
                    );
                }
                if let Some(why) = &p.refused {
                    say!("  {}: REFUSED: {why}", p.host);
                }
            }
            let todo = plans.iter().filter(|p| p.refused.is_none()).count();
            if dry_run || todo == 0 {
                return Ok(if plans.iter().any(|p| p.refused.is_some()) {
                    exit::FAILURE
                } else {
                    exit::OK
                });
            }
            if !super::patch::confirm(
                &format!(
                    "remove it on {} (a backup of each file is kept on the host)?",
                    crate::util::plural(todo, "host", "hosts")
                ),
                yes,
            )? {
                say!("nothing changed");
                return Ok(exit::FAILURE);
            }
            let done = crate::ops::keys::revoke(&ctx, &plans, &fp);
            let mut failed = plans.iter().filter(|p| p.refused.is_some()).count();
            for d in &done {
                match &d.result {
                    Ok(lines) => {
                        for l in lines {
                            say!("{}: {l}", d.host);
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        say!("{}: FAILED: {e}", d.host);
                    }
                }
            }
            Ok(if failed > 0 { exit::FAILURE } else { exit::OK })
        }
    }
}
