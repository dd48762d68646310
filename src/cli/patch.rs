//! opsdeck patches, patch apply|refresh|reboot.
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::*;
use crate::checks::{self, HostCheck};
use crate::model::{nagios_exit, Host, PatchReport, Status, Thresholds, Update};
use crate::patches::run::{self as prun, reboot_entry, refresh_entry};
use crate::patches::{ApplyOptions, Event, HostOutcome, HostPlan, RebootOptions, RebootStep};
use crate::ssh::{CancelFlag, Engine, StreamKind};
use crate::store::Store;
use crate::util::format_age;

// ------------------------------------------------------------------ shared

/// First Ctrl-C: stop between hosts. Second: leave now.
fn cancel_on_ctrl_c(cancel: CancelFlag) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, Ordering::SeqCst);
            tell!(
                "opsdeck: cancelling: hosts in progress finish, no new host starts \
                 (Ctrl-C again to leave now)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

/// Ask on the terminal; without one, refuse (64) unless --yes was given.
fn confirm(question: &str, yes: bool) -> Result<bool, Failure> {
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

/// What changing hosts needs: an engine, a runtime, and a cancel flag that
/// the first Ctrl-C raises (stop between hosts; a second one leaves now).
fn change_session(
    store: &Store,
    accept_new: bool,
) -> Result<(Engine, tokio::runtime::Runtime, CancelFlag), Failure> {
    let engine = engine(store, accept_new);
    let rt = runtime()?;
    let cancel: CancelFlag = Arc::new(AtomicBool::new(false));
    {
        let _g = rt.enter();
        cancel_on_ctrl_c(cancel.clone());
    }
    Ok((engine, rt, cancel))
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

/// Re-check hosts after a change: the checks sweep of those hosts, saved.
fn recheck_hook(store: &Store, engine: &Engine) -> prun::Recheck {
    let store = store.clone();
    let engine = engine.clone();
    Arc::new(move |host: &Host| -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let done: Vec<HostCheck> = rt.block_on(async {
            let mut rx = checks::sweep(
                &store,
                &engine,
                vec![host.clone()],
                Arc::new(AtomicBool::new(false)),
            );
            let mut v = Vec::new();
            while let Some(hc) = rx.recv().await {
                v.push(hc);
            }
            v
        });
        checks::save(&store, &done, &host.name).map_err(|e| e.to_string())?;
        match done.first().and_then(|hc| hc.check.error.clone()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
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
fn ordered(updates: &[Update]) -> Vec<&Update> {
    let mut v: Vec<&Update> = updates.iter().collect();
    v.sort_by(|a, b| {
        (a.security != Some(true), &a.package).cmp(&(b.security != Some(true), &b.package))
    });
    v
}

pub fn to_json(r: &PatchReport) -> PatchJson<'_> {
    PatchJson {
        host: &r.host,
        package_manager: &r.package_manager,
        reboot_required: r.reboot_required,
        metadata_age_s: r.metadata_age_s,
        error: &r.error,
        updates: ordered(&r.updates)
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

/// Nagios status of one host's updates: security pending → [thresholds]
/// security_updates (crit), others → updates (warn); an unreachable host is
/// crit, a listing that failed on a reachable host unknown.
pub fn patch_status(r: &PatchReport, reachable: bool, t: &Thresholds) -> Status {
    if r.error.is_some() {
        return if reachable {
            Status::Unknown
        } else {
            Status::Crit
        };
    }
    // Where the count is unknown, an update flagged security still counts.
    let security = r.security_pending().unwrap_or_else(|| {
        r.updates
            .iter()
            .filter(|u| u.security == Some(true))
            .count()
    });
    if security > 0 {
        Status::from(t.security_updates)
    } else if !r.updates.is_empty() {
        Status::from(t.updates)
    } else {
        Status::Ok
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
        let rows: Vec<[String; 3]> = ordered(&r.updates)
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
            let s = patch_status(&hc.patches, reachable, t);
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

/// Plan every host (native simulation), in the order of hosts.toml.
fn plan_all(
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    hosts: &[Host],
    security_only: bool,
    timeout: Duration,
    cancel: CancelFlag,
) -> Vec<(Host, Result<HostPlan, String>)> {
    let mut got: Vec<(String, Result<HostPlan, String>)> = rt.block_on(async {
        let mut rx = engine.sweep(hosts.to_vec(), cancel, move |conn, host| {
            Ok(prun::plan_host(conn, host, security_only, Some(timeout)))
        });
        let mut v = Vec::new();
        while let Some(done) = rx.recv().await {
            let r = match done.result {
                Ok(r) => r,
                Err(e) => Err(format!("{}: {e}", done.host)),
            };
            v.push((done.host, r));
        }
        v
    });
    hosts
        .iter()
        .map(|h| {
            let r = match got.iter().position(|(n, _)| *n == h.name) {
                Some(i) => got.swap_remove(i).1,
                None => Err(format!("{}: no result (cancelled)", h.name)),
            };
            (h.clone(), r)
        })
        .collect()
}

fn apply(home: &Home, a: &PatchApplyArgs) -> CmdResult {
    if !a.dry_run {
        need_terminal(a.yes)?;
    }
    let (store, hosts) = load_targets(home, &a.targets)?;
    let (engine, rt, cancel) = change_session(&store, a.accept_new)?;
    let sim_timeout = Duration::from_secs(store.settings.ssh.command_timeout_s.max(60));
    tell!(
        "opsdeck: working out what would change on {} (native simulation)...",
        crate::util::plural(hosts.len(), "host", "hosts")
    );
    let plans = plan_all(
        &rt,
        &engine,
        &hosts,
        a.security_only,
        sim_timeout,
        cancel.clone(),
    );

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
                text.push_str(&format!("{e}\n"));
            }
        }
    }
    let work: Vec<(Host, HostPlan)> = plans
        .iter()
        .filter_map(|(h, p)| match p {
            Ok(plan) if plan.apply_command.is_some() => Some((h.clone(), plan.clone())),
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

    let opts = ApplyOptions {
        parallel: a.parallel.unwrap_or(store.settings.patches.parallel).max(1),
        keep_going: a.keep_going,
        timeout: Some(Duration::from_secs(store.settings.patches.apply_timeout_s)),
        store: Some(store.clone()),
        recheck: Some(recheck_hook(&store, &engine)),
    };
    let outcomes: Vec<HostOutcome>;
    let mut skipped: Vec<(String, String)> = Vec::new();
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let engine2 = engine.clone();
        let cancel2 = cancel.clone();
        let handle = rt.spawn_blocking(move || prun::apply_all(&engine2, work, &opts, cancel2, tx));
        rt.block_on(async {
            while let Some(ev) = rx.recv().await {
                match ev {
                    Event::Started { host } => tell!("{host}: applying..."),
                    Event::Line { host, kind, line } => prefixed(&host, kind, &line),
                    Event::Note { host, message } => tell!("{host}: {message}"),
                    Event::Finished(o) => tell!("{}", outcome_line(&o)),
                    Event::Skipped { host, reason } => {
                        tell!("{host}: skipped: {reason}");
                        skipped.push((host, reason));
                    }
                }
            }
        });
        outcomes = rt.block_on(handle).unwrap_or_default();
    }
    for o in &outcomes {
        say!("{}", outcome_line(o));
    }
    for (h, why) in &skipped {
        say!("{h}: skipped: {why}");
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count() + failed_plans;
    Ok(if failed > 0 || !skipped.is_empty() {
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
        format!(
            "{}: FAILED: {}",
            o.host,
            o.error.as_deref().unwrap_or("unknown error")
        )
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
    let (engine, rt, cancel) = change_session(&store, a.accept_new)?;
    let timeout = Duration::from_secs(store.settings.patches.apply_timeout_s.min(1800));
    let results: Vec<(String, Result<String, String>, Duration)> = rt.block_on(async {
        let mut rx = engine.sweep(hosts.clone(), cancel, move |conn, host| {
            let started = Instant::now();
            let name = host.name.clone();
            let r = prun::refresh_host(conn, host, Some(timeout), &mut |k, l| {
                prefixed(&name, k, &l)
            });
            Ok((r, started.elapsed()))
        });
        let mut v = Vec::new();
        while let Some(done) = rx.recv().await {
            let (r, took) = match done.result {
                Ok(x) => x,
                Err(e) => (Err(format!("{}: {e}", done.host)), done.elapsed),
            };
            v.push((done.host, r, took));
        }
        v
    });
    let mut failed = 0;
    for h in &hosts {
        let Some((_, r, took)) = results.iter().find(|(n, _, _)| *n == h.name) else {
            continue;
        };
        if let Err(e) = store.journal(&refresh_entry(&h.name, r, *took)) {
            tell!("opsdeck: could not write the journal: {e}");
        }
        match r {
            Ok(_) => {
                say!("{}: metadata refreshed", h.name);
            }
            Err(e) => {
                failed += 1;
                say!("{}: FAILED: {e}", h.name);
            }
        }
    }
    // Re-check what was refreshed: the pending list may have changed.
    let ok_hosts: Vec<Host> = hosts
        .iter()
        .filter(|h| results.iter().any(|(n, r, _)| *n == h.name && r.is_ok()))
        .cloned()
        .collect();
    if !ok_hosts.is_empty() {
        super::check::sweep_and_save(
            &store,
            &engine,
            &rt,
            ok_hosts,
            "check",
            &target_label(&a.targets),
        );
    }
    Ok(if failed > 0 { exit::FAILURE } else { exit::OK })
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
    let (engine, rt, cancel) = change_session(&store, a.accept_new)?;
    let opts = RebootOptions {
        wait: Duration::from_secs(store.settings.patches.reboot_wait_s),
        ..RebootOptions::default()
    };
    let recheck = recheck_hook(&store, &engine);
    let mut failed = 0;
    for (i, host) in hosts.iter().enumerate() {
        if cancel.load(Ordering::SeqCst) {
            for h in &hosts[i..] {
                say!("{}: skipped: cancelled", h.name);
            }
            failed += 1;
            break;
        }
        let engine2 = engine.clone();
        let host2 = host.clone();
        let opts2 = opts.clone();
        let cancel2 = cancel.clone();
        let r: Result<Duration, String> = rt
            .block_on(rt.spawn_blocking(move || {
                let name = host2.name.clone();
                prun::reboot_host(&engine2, &host2, &opts2, &cancel2, &mut |step| match step {
                    RebootStep::Issued => {
                        tell!("{name}: reboot issued, waiting for it to come back")
                    }
                    RebootStep::Waiting => {}
                    RebootStep::Back { after } => {
                        tell!("{name}: back after {}s", after.as_secs())
                    }
                })
            }))
            .unwrap_or_else(|e| Err(format!("internal error: {e}")));
        if let Err(e) = store.journal(&reboot_entry(&host.name, &r)) {
            tell!("opsdeck: could not write the journal: {e}");
        }
        match &r {
            Ok(d) => {
                let h2 = host.clone();
                let rc = recheck.clone();
                let check = rt
                    .block_on(rt.spawn_blocking(move || rc(&h2)))
                    .unwrap_or_else(|e| Err(e.to_string()));
                match check {
                    Ok(()) => say!(
                        "{}: rebooted, back after {}s, re-checked",
                        host.name,
                        d.as_secs()
                    ),
                    Err(e) => say!(
                        "{}: rebooted, back after {}s; re-check failed: {e}",
                        host.name,
                        d.as_secs()
                    ),
                }
            }
            Err(e) => {
                failed += 1;
                say!("{}: FAILED: {e}", host.name);
                if !cancel.load(Ordering::SeqCst) && i + 1 < hosts.len() {
                    for h in &hosts[i + 1..] {
                        say!("{}: skipped: an earlier reboot failed", h.name);
                    }
                    break;
                }
            }
        }
    }
    Ok(if failed > 0 { exit::FAILURE } else { exit::OK })
}

#[cfg(test)]
mod tests {
    use super::*;

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
