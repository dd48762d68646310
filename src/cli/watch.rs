//! opsdeck sweep | alerts test | history HOST | schedule install/status/remove:
//! argument parsing and printing over `ops::sweep` and `watch`.

use super::*;
use crate::ops::sweep::{self, Options, Progress};
use crate::watch::{self, alerts::Kind, history, schedule};

#[derive(Debug, Args, Default)]
pub struct SweepArgs {
    /// Host names, @tags, or all (the default); their backup jobs too.
    pub targets: Vec<String>,
    /// The whole result as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Record unknown host keys (as OpenSSH's accept-new).
    #[arg(long)]
    pub accept_new: bool,
    /// Neither append to nor read the history (measurements, one-off runs).
    #[arg(long)]
    pub no_history: bool,
    /// Tell nothing: no alerts, no ping (the alert state is left as it is).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// Send a test message on every channel of [alerts] and say which worked.
    Test,
}

#[derive(Debug, Args, Default)]
pub struct HistoryArgs {
    /// A host name (or a backup job's name with --backup).
    pub name: String,
    /// The samples of a backup job.
    #[arg(long)]
    pub backup: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCmd {
    /// Run `opsdeck sweep` on a timer: a systemd user timer, else a crontab line.
    #[command(
        after_help = "Examples:\n  opsdeck schedule install --every 10m\n  opsdeck schedule install --cron      (install the crontab line)"
    )]
    Install(ScheduleInstallArgs),
    /// The schedule, the last sweep and its result, when the next is due.
    Status(ListArgs),
    /// Undo `schedule install`.
    Remove,
}

#[derive(Debug, Args, Default)]
pub struct ScheduleInstallArgs {
    /// How often (minutes that divide an hour for cron: 5m, 10m, 15m, 30m; or hours).
    #[arg(long, default_value = "10m")]
    pub every: String,
    /// Use the user's crontab (also where systemd is there).
    #[arg(long)]
    pub cron: bool,
    /// Write the systemd units into DIR only (for packaging or review).
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
}

pub fn sweep(home: &Home, a: &SweepArgs) -> CmdResult {
    let (store, hosts) = load_targets(home, &a.targets)?;
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, a.accept_new)).with_cancel(
        cancel_on_interrupt("cancelling: hosts in progress finish, no new host starts"),
    );
    let opts = Options {
        history: !a.no_history,
        alerts: !a.quiet,
    };
    let progress: crate::ops::Sink<Progress> = std::sync::Arc::new(|p| match p {
        Progress::Host { done, total } => tracing::debug!("hosts {done}/{total}"),
        Progress::Backup { done, total } => tracing::debug!("backups {done}/{total}"),
    });
    let report = match sweep::run(&ctx, &a.targets, hosts, opts, progress) {
        Ok(r) => r,
        Err(busy) => {
            let who = busy.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            tell!(
                "opsdeck: another sweep is running{who}; this one leaves without touching anything"
            );
            return Ok(exit::OK);
        }
    };
    if a.json {
        out::json(&report)?;
        return Ok(report.exit);
    }
    say!("sweep {}: {}", report.started, report.summary);
    if report.items.is_empty() {
        say!("nothing needs you");
    }
    for i in &report.items {
        let l = match i.level {
            crate::model::Level::Crit => "CRIT",
            crate::model::Level::Warn => "WARN",
            crate::model::Level::Ok => "OK",
        };
        say!("{:>3}. {l:<4} {}: {}", i.rank, i.what, i.why);
    }
    let t = &report.alerts;
    for e in &t.events {
        say!("alert {} {}: {}", e.event.as_str(), e.status, e.text);
    }
    for (h, r) in &t.muted {
        say!("in maintenance: {h} ({r})");
    }
    for d in &t.deliveries {
        match &d.error {
            None => tracing::info!("{}: sent", d.channel),
            Some(e) => say!(
                "channel failed: {}: {e} (after {} attempts)",
                d.channel,
                d.attempts
            ),
        }
    }
    for f in &t.earlier_failures {
        say!("channel failed at the previous sweep: {f}");
    }
    for p in &report.problems {
        tell!("opsdeck: {p}");
    }
    Ok(report.exit)
}

pub fn alerts(home: &Home, c: AlertsCmd) -> CmdResult {
    match c {
        AlertsCmd::Test => {
            let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
            let cfg = &store.settings.alerts;
            if !cfg.any() {
                tell!(
                    "opsdeck: no channel in [alerts] of {}",
                    home.settings_path().display()
                );
                return Ok(exit::USAGE);
            }
            let ev = watch::alerts::Event {
                event: Kind::Test,
                host: String::new(),
                item: "test".into(),
                status: "ok".into(),
                text: "opsdeck test message".into(),
            };
            let mut all = watch::channels::tell(cfg, std::slice::from_ref(&ev), Kind::Test);
            all.extend(watch::channels::ping(cfg, "", "opsdeck test ping"));
            let mut failed = 0;
            for d in &all {
                match &d.error {
                    None => say!("ok      {}", d.channel),
                    Some(e) => {
                        failed += 1;
                        say!("FAILED  {}: {e}", d.channel);
                    }
                }
            }
            Ok(if failed == 0 { exit::OK } else { 1 })
        }
    }
}

pub fn history_cmd(home: &Home, a: &HistoryArgs) -> CmdResult {
    let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
    if a.backup {
        if store.backup(&a.name).is_none() {
            return Err(Failure::usage(format!("no backup job named `{}`", a.name)));
        }
        let s = history::backup(home, &a.name);
        if a.json {
            out::json(&s)?;
        } else {
            say!("TIME                  AGE       SNAPSHOTS  SIZE        LATEST");
            for x in &s {
                say!(
                    "{:<20}  {:<8}  {:<9}  {:<10}  {}",
                    time(x.t),
                    x.age_s.map(crate::util::format_age).unwrap_or("-".into()),
                    x.snapshots.map(|n| n.to_string()).unwrap_or("-".into()),
                    x.size.map(|n| n.to_string()).unwrap_or("-".into()),
                    x.latest.as_deref().unwrap_or("-")
                );
            }
        }
        return Ok(exit::OK);
    }
    if store.host(&a.name).is_none() {
        return Err(Failure::usage(format!(
            "no host named `{}` (see `opsdeck host list`)",
            a.name
        )));
    }
    let s = history::host(home, &a.name);
    if a.json {
        out::json(&s)?;
    } else {
        say!("TIME                  LOAD/CPU  MEM%   UPDATES  SEC  REBOOT  DISKS");
        for x in &s {
            let disks: Vec<String> = x
                .disks
                .iter()
                .map(|(m, p)| format!("{m} {p:.0}%"))
                .collect();
            say!(
                "{:<20}  {:<8}  {:<5}  {:<7}  {:<3}  {:<6}  {}",
                time(x.t),
                x.load_per_cpu
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or("-".into()),
                x.mem_pct.map(|v| format!("{v:.0}")).unwrap_or("-".into()),
                x.pending.map(|v| v.to_string()).unwrap_or("-".into()),
                x.security.map(|v| v.to_string()).unwrap_or("-".into()),
                match x.reboot {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                },
                disks.join(", ")
            );
        }
        if s.is_empty() {
            say!("(no samples yet: `opsdeck sweep` records them)");
        }
    }
    Ok(exit::OK)
}

fn time(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn exe() -> Result<PathBuf, Failure> {
    std::env::current_exe().map_err(|e| {
        Failure::new(
            exit::SOFTWARE,
            format!("cannot find opsdeck's own path: {e}"),
        )
    })
}

pub fn schedule_cmd(home: &Home, c: ScheduleCmd) -> CmdResult {
    // the files must load: a timer that runs a sweep that cannot is no use
    let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
    let home = &store.home;
    match c {
        ScheduleCmd::Install(a) => {
            let every = crate::util::parse_duration(&a.every)
                .map_err(|e| Failure::usage(format!("--every: {e}")))?
                .as_secs();
            if !(60..=86_400).contains(&every) {
                return Err(Failure::usage("--every: between 1m and 24h"));
            }
            let exe = exe()?;
            let fail = |e: String| Failure::new(exit::SOFTWARE, e);
            let installed = if let Some(dir) = &a.unit_dir {
                schedule::write_units(home, &exe, every, dir).map_err(fail)?;
                schedule::Installed {
                    backend: schedule::Backend::Files,
                    every_s: every,
                    name: schedule::name(home),
                    dir: Some(dir.clone()),
                    installed_at: crate::util::now_rfc3339(),
                }
            } else if !a.cron && schedule::systemd_user_available() {
                schedule::install_systemd(home, &exe, every).map_err(fail)?
            } else if a.cron {
                schedule::install_cron(home, &exe, every).map_err(fail)?
            } else {
                let line = schedule::cron_line(home, &exe, every).map_err(Failure::usage)?;
                say!("no systemd user manager here; the crontab line is:");
                say!("{line}");
                say!("`opsdeck schedule install --cron` adds it to your crontab.");
                return Ok(exit::OK);
            };
            installed.save(home)?;
            let every_t = crate::util::format_age(every);
            match installed.backend {
                schedule::Backend::Systemd => say!(
                    "installed {}.timer (systemd user timer, every {every_t}); `systemctl --user list-timers` shows it",
                    installed.name
                ),
                schedule::Backend::Cron => say!(
                    "installed in your crontab: every {every_t} (marked # {})",
                    installed.name
                ),
                schedule::Backend::Files => say!(
                    "wrote {n}.service and {n}.timer to {}",
                    a.unit_dir.as_deref().unwrap_or(std::path::Path::new(".")).display(),
                    n = installed.name
                ),
            }
            Ok(exit::OK)
        }
        ScheduleCmd::Status(a) => status(home, a.json),
        ScheduleCmd::Remove => match schedule::Installed::load(home) {
            None => {
                say!("no schedule installed for this home");
                Ok(exit::OK)
            }
            Some(i) => {
                let done =
                    schedule::remove(home, &i).map_err(|e| Failure::new(exit::SOFTWARE, e))?;
                say!("{done}");
                Ok(exit::OK)
            }
        },
    }
}

#[derive(serde::Serialize)]
struct Status {
    installed: Option<schedule::Installed>,
    /// Still in the crontab / timer active (null: cannot tell).
    present: Option<bool>,
    last: Option<watch::LastSweep>,
    next_due: Option<String>,
    overdue_s: Option<u64>,
}

fn status(home: &crate::store::Home, json: bool) -> CmdResult {
    let installed = schedule::Installed::load(home);
    let last = watch::LastSweep::load(home);
    let now = crate::overview::now().map_err(Failure::usage)?;
    let present = installed.as_ref().and_then(schedule::present);
    let next_due = installed.as_ref().and_then(|i| {
        let from = last
            .as_ref()
            .map(|l| l.started.as_str())
            .unwrap_or(&i.installed_at);
        let t: jiff::Timestamp = from.parse().ok()?;
        let n = t
            .checked_add(jiff::SignedDuration::from_secs(i.every_s as i64))
            .ok()?;
        Some(n.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    });
    let overdue_s = installed
        .as_ref()
        .and_then(|i| schedule::overdue(i, last.as_ref().map(|l| l.started.as_str()), now));
    let code = match (&installed, overdue_s) {
        (None, _) => 3,
        (Some(_), Some(_)) => 1,
        _ => 0,
    };
    let st = Status {
        installed,
        present,
        last,
        next_due,
        overdue_s,
    };
    if json {
        out::json(&st)?;
        return Ok(code);
    }
    match &st.installed {
        None => say!("schedule: none (`opsdeck schedule install` sets one up)"),
        Some(i) => say!(
            "schedule: every {} via {} ({}){}",
            crate::util::format_age(i.every_s),
            match i.backend {
                schedule::Backend::Systemd => "systemd user timer",
                schedule::Backend::Cron => "crontab",
                schedule::Backend::Files => "unit files",
            },
            i.name,
            match st.present {
                Some(false) => " — NOT FOUND: it was removed outside opsdeck",
                _ => "",
            }
        ),
    }
    match &st.last {
        None => say!("last sweep: never"),
        Some(l) => {
            let ago = crate::util::age_of(&l.started, now)
                .map(|s| format!("{} ago", crate::util::format_age(s)))
                .unwrap_or_default();
            let result = match l.exit {
                0 => "ok",
                1 => "warning",
                2 => "critical",
                _ => "unknown",
            };
            say!("last sweep: {} ({ago}), {result}: {}", l.started, l.summary);
        }
    }
    if let Some(n) = &st.next_due {
        say!("next due: {n}");
    }
    if let Some(o) = st.overdue_s {
        say!(
            "OVERDUE: no sweep for {} (the timer does not run, or the sweep fails to start)",
            crate::util::format_age(o)
        );
    }
    Ok(code)
}
