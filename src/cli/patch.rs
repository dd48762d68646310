//! opsdeck patches, patch apply|refresh|reboot: arguments, confirmation
//! and printing; the tasks themselves are `ops::patch`.
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use serde::Serialize;

use super::*;
use crate::model::{nagios_exit, Host, PatchReport, Status};
use crate::ops::patch::{self as opatch, PatchEvent};
use crate::ops::{Ctx, Sink};
use crate::patches::{Event, HostOutcome, HostPlan};
use crate::ssh::StreamKind;
use crate::store::Store;
use crate::util::format_age;

// ------------------------------------------------------------------ shared

/// Ask on the terminal; without one, refuse (64) unless --yes was given.
pub(super) fn confirm(question: &str, yes: bool) -> Result<bool, Failure> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to change hosts without confirmation: stdin is not a terminal; \
             add --yes to confirm (look first with --dry-run)",
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{} [y/N] ", crate::util::sanitize(question.as_bytes()));
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Refuse early (before any connection) when a confirmation will be needed
/// and cannot be asked.
fn need_terminal(yes: bool) -> Result<(), Failure> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to change hosts without confirmation: stdin is not a terminal; \
             add --yes to confirm (look first with --dry-run)",
        ));
    }
    Ok(())
}

/// What changing hosts needs: the task context, with a cancel flag the
/// first Ctrl-C raises (stop between hosts; a second one leaves now).
fn change_session(store: &Store, accept_new: bool) -> Ctx {
    Ctx::new(store.clone(), engine(store, accept_new)).with_cancel(cancel_on_interrupt(
        "cancelling: hosts in progress finish, no new host starts",
    ))
}

/// `patch refresh|reboot`: refuse without a terminal unless --yes, load
/// the targets, and ask `question(count, names)`. None: the answer was no.
fn confirm_hosts(
    home: &Home,
    a: &PatchTargetsArgs,
    question: impl FnOnce(usize, &str) -> String,
) -> Result<Option<(Store, Vec<Host>)>, Failure> {
    need_terminal(a.yes)?;
    let (store, hosts) = load_targets(home, &a.targets)?;
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    if !confirm(&question(hosts.len(), &names.join(", ")), a.yes)? {
        tell!("opsdeck: nothing done");
        return Ok(None);
    }
    Ok(Some((store, hosts)))
}

fn prefixed(host: &str, kind: StreamKind, line: &str) {
    let mark = match kind {
        StreamKind::Stdout => "|",
        StreamKind::Stderr => "!",
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{} {mark} {}",
        crate::util::sanitize(host.as_bytes()),
        crate::util::sanitize(line.as_bytes())
    );
}

/// What a patch task says as it goes, on stderr (stdout keeps the summary).
fn progress_sink() -> Sink<PatchEvent> {
    Arc::new(|ev| match ev {
        PatchEvent::Planned { .. } | PatchEvent::Rechecked(_) => {}
        PatchEvent::Apply(Event::Started { host }) => tell!("{host}: applying..."),
        PatchEvent::Apply(Event::Line { host, kind, line }) => prefixed(&host, kind, &line),
        PatchEvent::Apply(Event::Note { host, message }) => tell!("{host}: {message}"),
        PatchEvent::Apply(Event::Finished(o)) => tell!("{}", outcome_line(&o)),
        PatchEvent::Apply(Event::Skipped { host, reason }) => tell!("{host}: skipped: {reason}"),
        PatchEvent::Log { host, line } => prefixed(&host, StreamKind::Stdout, &line),
        PatchEvent::HostDone(_) => {}
    })
}

// ------------------------------------------------------------------ patches

/// One element of `patches --json`: exactly the fields of the brief.
#[derive(Debug, Serialize)]
pub struct PatchJson<'a> {
    pub host: &'a str,
    pub package_manager: &'a Option<String>,
    pub reboot_required: Option<bool>,
    pub metadata_age_s: Option<u64>,
    pub error: &'a Option<String>,
    pub updates: Vec<UpdateJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct UpdateJson<'a> {
    pub package: &'a str,
    pub installed: &'a Option<String>,
    pub candidate: &'a str,
    pub origin: &'a Option<String>,
    pub security: Option<bool>,
}

/// Security updates first, then by name.
pub fn to_json(r: &PatchReport) -> PatchJson<'_> {
    PatchJson {
        host: &r.host,
        package_manager: &r.package_manager,
        reboot_required: r.reboot_required,
        metadata_age_s: r.metadata_age_s,
        error: &r.error,
        updates: opatch::ordered(&r.updates)
            .into_iter()
            .map(|u| UpdateJson {
                package: &u.package,
                installed: &u.installed,
                candidate: &u.candidate,
                origin: &u.origin,
                security: u.security,
            })
            .collect(),
    }
}

/// The text of `opsdeck patches` (no --json).
pub fn render(reports: &[(PatchReport, Status)]) -> String {
    let mut out = String::new();
    for (r, status) in reports {
        let pm = r.package_manager.as_deref().unwrap_or("?");
        if let Some(e) = &r.error {
            out.push_str(&format!(
                "{}  {}  {}: {}\n",
                r.host,
                status.label(),
                pm,
                e.lines().next().unwrap_or("")
            ));
            continue;
        }
        let flagged = r
            .updates
            .iter()
            .filter(|u| u.security == Some(true))
            .count();
        let sec_txt = match r.security_pending() {
            Some(n) => format!("{n} security"),
            None if flagged > 0 => format!("{flagged}+ security"),
            None => "security unknown".into(),
        };
        let reboot = match r.reboot_required {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let age = r
            .metadata_age_s
            .map(format_age)
            .unwrap_or_else(|| "unknown".into());
        out.push_str(&format!(
            "{}  {}  {}: {} pending ({}), reboot required: {}, metadata age: {}\n",
            r.host,
            status.label(),
            pm,
            r.updates.len(),
            sec_txt,
            reboot,
            age
        ));
        let rows: Vec<[String; 3]> = opatch::ordered(&r.updates)
            .into_iter()
            .map(|u| {
                let name = match u.security {
                    Some(true) => format!("{} [security]", u.package),
                    _ => u.package.clone(),
                };
                let vers = format!(
                    "{} -> {}",
                    u.installed.as_deref().unwrap_or("?"),
                    u.candidate
                );
                [name, vers, u.origin.clone().unwrap_or_default()]
            })
            .collect();
        let w0 = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
        let w1 = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0);
        for row in rows {
            let line = format!("  {:w0$}  {:w1$}  {}", row[0], row[1], row[2]);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if !r.kept_back.is_empty() {
            out.push_str(&format!("  kept back: {}\n", r.kept_back.join(" ")));
        }
    }
    out
}

pub fn list(home: &Home, a: &PatchesArgs) -> CmdResult {
    let (store, results) = super::check::check_targets(home, &a.targets, a.accept_new, "patches")?;
    let t = &store.settings.thresholds;
    let reports: Vec<(PatchReport, Status)> = results
        .into_iter()
        .map(|hc| {
            let reachable = hc.check.facts.is_some();
            let s = opatch::status(&hc.patches, reachable, t);
            (hc.patches, s)
        })
        .collect();
    if a.json {
        let v: Vec<PatchJson> = reports.iter().map(|(r, _)| to_json(r)).collect();
        out::json(&v)?;
    } else {
        out::text(&render(&reports));
    }
    Ok(nagios_exit(reports.iter().map(|(_, s)| *s)))
}

// ------------------------------------------------------------------ patch ...

pub fn run(home: &Home, c: PatchCmd) -> CmdResult {
    match c {
        PatchCmd::Apply(a) => apply(home, &a),
        PatchCmd::Refresh(a) => refresh(home, &a),
        PatchCmd::Reboot(a) => reboot(home, &a),
    }
}

fn apply(home: &Home, a: &PatchApplyArgs) -> CmdResult {
    if !a.dry_run {
        need_terminal(a.yes)?;
    }
    let (store, hosts) = load_targets(home, &a.targets)?;
    let ctx = change_session(&store, a.accept_new);
    tell!(
        "opsdeck: working out what would change on {} (native simulation)...",
        crate::util::plural(hosts.len(), "host", "hosts")
    );
    let sink = progress_sink();
    let plans = opatch::plan(&ctx, &hosts, a.security_only, &sink);

    // What will change, on which hosts.
    let mut text = String::new();
    let mut failed_plans = 0;
    for (_, p) in &plans {
        match p {
            Ok(plan) => {
                for l in plan.describe() {
                    text.push_str(&l);
                    text.push('\n');
                }
            }
            Err(e) => {
                failed_plans += 1;
                text.push_str(&format!("{}\n", e.message));
            }
        }
    }
    let work: Vec<(Host, HostPlan)> = plans
        .into_iter()
        .filter_map(|(h, p)| match p {
            Ok(plan) if plan.apply_command.is_some() => Some((h, plan)),
            _ => None,
        })
        .collect();
    let packages: usize = work.iter().map(|(_, p)| p.changes.len()).sum();

    if a.dry_run {
        out::text(&text);
        say!(
            "dry run: nothing changed; {} on {} would be applied{}",
            crate::util::plural(packages, "package change", "package changes"),
            crate::util::plural(work.len(), "host", "hosts"),
            if failed_plans > 0 {
                format!(
                    ", {} failed",
                    crate::util::plural(failed_plans, "host", "hosts")
                )
            } else {
                String::new()
            }
        );
        return Ok(if failed_plans > 0 {
            exit::FAILURE
        } else {
            exit::OK
        });
    }

    eprint!("{}", crate::util::sanitize(text.as_bytes()));
    if failed_plans > 0 && !a.keep_going {
        return Err(Failure::new(
            exit::FAILURE,
            format!(
                "{} could not be planned (above); nothing applied \
                 (--keep-going patches the others)",
                crate::util::plural(failed_plans, "host", "hosts")
            ),
        ));
    }
    if work.is_empty() {
        say!("nothing to do");
        return Ok(if failed_plans > 0 {
            exit::FAILURE
        } else {
            exit::OK
        });
    }
    let question = format!(
        "Apply these {} on {}{}?",
        crate::util::plural(packages, "package change", "package changes"),
        crate::util::plural(work.len(), "host", "hosts"),
        if a.security_only {
            " (security only)"
        } else {
            ""
        }
    );
    if !confirm(&question, a.yes)? {
        tell!("opsdeck: nothing applied");
        return Ok(exit::FAILURE);
    }
    let names: Vec<String> = work.iter().map(|(h, _)| h.name.clone()).collect();
    let outcomes = opatch::apply(
        &ctx,
        work,
        a.parallel.unwrap_or(store.settings.patches.parallel),
        a.keep_going,
        &sink,
    );
    for o in &outcomes {
        say!("{}", outcome_line(o));
    }
    let mut skipped = 0;
    for n in names
        .iter()
        .filter(|n| !outcomes.iter().any(|o| &o.host == *n))
    {
        skipped += 1;
        say!(
            "{n}: skipped: {}",
            if ctx.cancelled() {
                "cancelled"
            } else {
                "not started: an earlier host failed (use --keep-going to go on)"
            }
        );
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count() + failed_plans;
    Ok(if failed > 0 || skipped > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}

fn outcome_line(o: &HostOutcome) -> String {
    let reboot = match o.reboot_required {
        Some(true) => ", reboot required",
        Some(false) => "",
        None => ", reboot required: unknown",
    };
    if o.ok {
        format!(
            "{}: ok, {} changed in {:.0}s{}{}",
            o.host,
            crate::util::plural(o.changed.len(), "package", "packages"),
            o.duration.as_secs_f64(),
            reboot,
            if o.run_again {
                " (zypper updated itself: apply again)"
            } else {
                ""
            }
        )
    } else {
        format!("{}: {}", o.host, o.failure())
    }
}

/// One line per host of a refresh or reboot; exit 1 when one failed.
fn print_done(done: &[opatch::HostDone]) -> i32 {
    let mut failed = 0;
    for d in done {
        if !d.result.is_ok() {
            failed += 1;
        }
        say!("{}: {}", d.host, d.result.text());
    }
    if failed > 0 {
        exit::FAILURE
    } else {
        exit::OK
    }
}

fn refresh(home: &Home, a: &PatchTargetsArgs) -> CmdResult {
    let Some((store, hosts)) = confirm_hosts(home, a, |n, names| {
        format!(
            "Refresh the package metadata (as root) on {}: {names}?",
            crate::util::plural(n, "host", "hosts")
        )
    })?
    else {
        return Ok(exit::FAILURE);
    };
    let ctx = change_session(&store, a.accept_new);
    let done = opatch::refresh(&ctx, &hosts, &progress_sink());
    Ok(print_done(&done))
}

fn reboot(home: &Home, a: &PatchTargetsArgs) -> CmdResult {
    let Some((store, hosts)) = confirm_hosts(home, a, |n, names| {
        format!(
            "REBOOT {}, one at a time: {names}?",
            crate::util::plural(n, "host", "hosts")
        )
    })?
    else {
        return Ok(exit::FAILURE);
    };
    let ctx = change_session(&store, a.accept_new);
    let done = opatch::reboot(&ctx, &hosts, &progress_sink());
    Ok(print_done(&done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Thresholds, Update};
    use crate::ops::patch::status as patch_status;

    fn upd(p: &str, sec: Option<bool>) -> Update {
        Update {
            package: p.into(),
            installed: Some("1".into()),
            candidate: "2".into(),
            origin: Some("o".into()),
            security: sec,
        }
    }

    #[test]
    fn status_by_thresholds() {
        let t = Thresholds::default();
        let mut r = PatchReport {
            host: "a".into(),
            ..Default::default()
        };
        assert_eq!(patch_status(&r, true, &t), Status::Ok);
        r.updates.push(upd("x", Some(false)));
        assert_eq!(patch_status(&r, true, &t), Status::Warn);
        r.updates.push(upd("y", None));
        assert_eq!(patch_status(&r, true, &t), Status::Warn);
        r.updates.push(upd("z", Some(true)));
        assert_eq!(patch_status(&r, true, &t), Status::Crit);
        let t2 = Thresholds {
            security_updates: crate::model::Level::Warn,
            ..Thresholds::default()
        };
        assert_eq!(patch_status(&r, true, &t2), Status::Warn);
        r.error = Some("boom".into());
        assert_eq!(patch_status(&r, true, &t), Status::Unknown);
        assert_eq!(patch_status(&r, false, &t), Status::Crit);
    }

    /// zypper names no package in its security patches: the per-update
    /// flags are null, the count of needed security patches decides.
    #[test]
    fn zypper_security_patch_count_is_critical() {
        let t = Thresholds::default();
        let r = PatchReport {
            host: "sles1".into(),
            package_manager: Some("zypper".into()),
            reboot_required: Some(false),
            metadata_age_s: Some(60),
            updates: vec![upd("libopenssl3", None), upd("vim", None)],
            security_count: Some(1),
            ..Default::default()
        };
        assert_eq!(r.security_pending(), Some(1));
        assert_eq!(patch_status(&r, true, &t), Status::Crit);
        let first = render(&[(r.clone(), Status::Crit)]);
        assert!(
            first.starts_with("sles1  CRIT  zypper: 2 pending (1 security),"),
            "{first}"
        );
        // JSON: per update, what zypper tells: nothing.
        let v = serde_json::to_value(to_json(&r)).unwrap();
        assert!(v["updates"][0]["security"].is_null());
        let none = PatchReport {
            security_count: Some(0),
            ..r
        };
        assert_eq!(patch_status(&none, true, &t), Status::Warn);
        // apk: unknown, never guessed; still warn for pending updates.
        let apk = PatchReport {
            package_manager: Some("apk".into()),
            updates: vec![upd("musl", None)],
            ..Default::default()
        };
        assert_eq!(apk.security_pending(), None);
        assert_eq!(patch_status(&apk, true, &t), Status::Warn);
    }

    #[test]
    fn json_has_exactly_the_fields_of_the_brief() {
        let r = PatchReport {
            host: "web1".into(),
            package_manager: Some("apt".into()),
            reboot_required: Some(false),
            metadata_age_s: Some(60),
            error: None,
            updates: vec![upd("b", Some(false)), upd("a", Some(true))],
            checked_at: Some("2026-11-23T10:00:00Z".into()),
            pkg_stamp: Some("123".into()),
            kept_back: vec!["linux-generic".into()],
            security_count: None,
        };
        let v = serde_json::to_value(to_json(&r)).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "error",
                "host",
                "metadata_age_s",
                "package_manager",
                "reboot_required",
                "updates"
            ]
        );
        // security first
        assert_eq!(v["updates"][0]["package"], "a");
        let ukeys: Vec<&String> = v["updates"][0].as_object().unwrap().keys().collect();
        assert_eq!(
            ukeys,
            ["candidate", "installed", "origin", "package", "security"]
        );
    }

    #[test]
    fn rendering() {
        let r = PatchReport {
            host: "web1".into(),
            package_manager: Some("apk".into()),
            reboot_required: None,
            metadata_age_s: Some(7200),
            updates: vec![upd("musl", None)],
            ..Default::default()
        };
        let s = render(&[(r, Status::Warn)]);
        assert_eq!(
            s,
            "web1  WARN  apk: 1 pending (security unknown), reboot required: unknown, metadata age: 2h\n  musl  1 -> 2  o\n"
        );
    }
}
