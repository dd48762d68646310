//! opsdeck sweep | schedule install/status/remove | alerts test | history:
//! argument parsing and printing over `ops::sweep` and `watch`.

use super::*;
use crate::model::nagios_exit;
use crate::ops::sweep::{SweepError, SweepOptions};
use crate::watch::{history as hist, notify, schedule as sched, LastSweep};

pub fn sweep(home: &Home, a: &SweepArgs) -> CmdResult {
    let (store, hosts) = load_targets(home, &a.targets)?;
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let jobs: Vec<_> = store
        .backups
        .iter()
        .filter(|j| a.targets.is_empty() || names.contains(&j.host.as_str()))
        .cloned()
        .collect();
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, a.accept_new)).with_cancel(
        cancel_on_interrupt("cancelling: hosts in progress finish, no new host starts"),
    );
    let opts = SweepOptions {
        history: !a.no_history,
    };
    let r = match crate::ops::sweep::sweep(
        &ctx,
        hosts,
        jobs,
        &target_label(&a.targets),
        opts,
        |_| {},
    ) {
        Ok(r) => r,
        Err(SweepError::Busy(why)) => {
            tell!("opsdeck sweep: {why}; this one exits without touching anything");
            return Ok(exit::OK);
        }
        Err(SweepError::Failed(why)) => return Err(Failure::new(exit::IOERR, why)),
    };
    if a.json {
        out::json(&r)?;
    } else {
        say!("{}", r.summary);
        for i in &r.items {
            let lvl = match i.level {
                crate::model::Level::Crit => "CRIT",
                crate::model::Level::Warn => "WARN",
                crate::model::Level::Ok => "ok",
            };
            say!("{lvl:<4}  {}: {}", i.what, i.why);
        }
        for e in &r.recorded {
            say!("recorded for the digest: {}", e.text);
        }
        for e in &r.events {
            say!("told: {}", e.text);
        }
        for f in &r.channel_failures {
            say!("channel failed: {f}");
        }
        for f in &r.previous_failures {
            say!("(at the sweep before) channel failed: {f}");
        }
        for (h, why) in &r.maintenance {
            say!("in maintenance: {h} ({why})");
        }
    }
    Ok(nagios_exit(std::iter::once(r.status)))
}

pub fn schedule(home: &Home, c: ScheduleCmd) -> CmdResult {
    match c {
        ScheduleCmd::Install {
            every,
            cron,
            crontab,
        } => {
            let every_s = sched::parse_every(&every).map_err(Failure::usage)?;
            match sched::install(home, every_s, cron, crontab)
                .map_err(|e| Failure::new(exit::FAILURE, e))?
            {
                sched::Installed::Systemd { dir } => {
                    say!(
                        "installed opsdeck-sweep.timer (every {every}) in {}; `systemctl --user list-timers` shows it",
                        dir.display()
                    );
                    say!("for sweeps while you are logged out: loginctl enable-linger");
                }
                sched::Installed::Cron { line, installed } => {
                    if installed {
                        say!("installed in your crontab:\n{line}");
                    } else {
                        say!("no systemd user manager here; this crontab line runs the sweep every {every}:\n{line}");
                        say!("install it with: opsdeck schedule install --every {every} --crontab");
                    }
                }
            }
            Ok(exit::OK)
        }
        ScheduleCmd::Status { json } => {
            let s = sched::load(home);
            let last = LastSweep::load(home);
            let now = crate::overview::now().map_err(Failure::usage)?;
            let ago = last
                .as_ref()
                .and_then(|l| l.at.parse::<jiff::Timestamp>().ok())
                .map(|t| (now.as_second() - t.as_second()).max(0) as u64);
            let overdue = match (&s, ago) {
                (Some(s), Some(a)) => sched::overdue(s.every_s, a),
                (Some(_), None) => true,
                _ => false,
            };
            let next_in = match (&s, ago) {
                (Some(s), Some(a)) => Some(s.every_s.saturating_sub(a)),
                _ => None,
            };
            if json {
                out::json(&serde_json::json!({
                    "schedule": s,
                    "last": last,
                    "seconds_since_last": ago,
                    "next_due_in_s": next_in,
                    "overdue": overdue,
                }))?;
            } else {
                match &s {
                    Some(s) => say!(
                        "scheduled every {} by {} (since {})",
                        s.every,
                        s.method,
                        s.installed_at
                    ),
                    None => say!("not scheduled (opsdeck schedule install --every 10m)"),
                }
                match (&last, ago) {
                    (Some(l), Some(a)) => say!(
                        "last sweep {} ago: {} in {:.1} s: {}",
                        crate::util::format_age(a),
                        l.status.to_uppercase(),
                        l.took_ms as f64 / 1000.0,
                        l.summary
                    ),
                    _ => say!("no sweep has run yet"),
                }
                if let Some(n) = next_in {
                    if overdue {
                        say!("OVERDUE: no sweep for more than twice the interval (is the timer running?)");
                    } else {
                        say!("next due in {}", crate::util::format_age(n.max(1)));
                    }
                }
            }
            Ok(if overdue { exit::FAILURE } else { exit::OK })
        }
        ScheduleCmd::Remove => {
            let what = sched::remove(home).map_err(|e| Failure::new(exit::FAILURE, e))?;
            say!("{what}");
            Ok(exit::OK)
        }
    }
}

pub fn alerts(home: &Home, c: AlertsCmd) -> CmdResult {
    match c {
        AlertsCmd::Test => {
            let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
            let results = notify::test(&store.settings.alerts);
            if results.is_empty() {
                say!("no channel in [alerts] (webhook, ping, mail_to): nothing to test");
                return Ok(exit::FAILURE);
            }
            let mut failed = 0;
            for (ch, r) in &results {
                match r {
                    Ok(()) => say!("ok      {ch}"),
                    Err(e) => {
                        failed += 1;
                        say!("FAILED  {ch}: {e}");
                    }
                }
            }
            Ok(if failed > 0 { exit::FAILURE } else { exit::OK })
        }
    }
}

pub fn history(home: &Home, a: &HistoryArgs) -> CmdResult {
    let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
    if store.host(&a.host).is_none() {
        return Err(Failure::usage(format!(
            "no host `{}` in hosts.toml",
            a.host
        )));
    }
    let samples = hist::host(home, &a.host);
    if a.json {
        let v: Vec<serde_json::Value> = samples
            .iter()
            .map(|s| {
                serde_json::json!({
                    "at": jiff::Timestamp::from_second(s.at).map(|t| t.to_string()).unwrap_or_default(),
                    "daily": s.daily,
                    "load_per_cpu": s.load_per_cpu,
                    "mem_pct": s.mem_pct,
                    "pending": s.pending,
                    "security": s.security,
                    "reboot_required": s.reboot,
                    "disks": s.disks.iter().map(|(m, p)| serde_json::json!({"mount": m, "used_pct": p})).collect::<Vec<_>>(),
                })
            })
            .collect();
        out::json(&v)?;
        return Ok(exit::OK);
    }
    if samples.is_empty() {
        say!("no samples of {} yet (opsdeck sweep keeps them)", a.host);
        return Ok(exit::OK);
    }
    say!("WHEN                  KIND   LOAD/CPU  MEM%   PENDING  SEC  REBOOT  DISKS");
    let o = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for s in &samples {
        let when = jiff::Timestamp::from_second(s.at)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let disks: Vec<String> = s
            .disks
            .iter()
            .map(|(m, p)| format!("{m} {p:.0}%"))
            .collect();
        say!(
            "{when:<20}  {:<5}  {:<8}  {:<5}  {:<7}  {:<3}  {:<6}  {}",
            if s.daily { "day" } else { "raw" },
            o(s.load_per_cpu.map(|v| format!("{v:.2}"))),
            o(s.mem_pct.map(|v| format!("{v:.0}"))),
            o(s.pending.map(|v| v.to_string())),
            o(s.security.map(|v| v.to_string())),
            o(s.reboot.map(|v| if v { "yes" } else { "no" }.to_string())),
            disks.join(", ")
        );
    }
    Ok(exit::OK)
}
