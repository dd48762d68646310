//! Running the sweep from a timer: a systemd user timer + service where a
//! systemd user manager answers, else a crontab line (printed, and
//! installed with `crontab` when asked). What was installed is kept in
//! `state/schedule.toml` so that `schedule status`, the TUI's "last sweep"
//! line and `schedule remove` know it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::store::Home;

/// Marks opsdeck's crontab line (and finds it again to remove it).
pub const CRON_MARK: &str = "# opsdeck sweep";
const UNIT: &str = "opsdeck-sweep";

/// How the sweep is scheduled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// "systemd" or "cron".
    pub method: String,
    /// "10m".
    pub every: String,
    pub every_s: u64,
    /// RFC 3339.
    pub installed_at: String,
    /// Where the units or the crontab line are.
    pub detail: String,
}

fn path(home: &Home) -> PathBuf {
    home.state_dir.join("schedule.toml")
}

pub fn load(home: &Home) -> Option<Schedule> {
    let text = std::fs::read_to_string(path(home)).ok()?;
    toml::from_str(&text).ok()
}

fn save(home: &Home, s: &Schedule) -> Result<(), String> {
    let text = toml::to_string(s).map_err(|e| e.to_string())?;
    crate::store::write_output_file(&path(home), text.as_bytes()).map_err(|e| e.to_string())
}

/// Is a systemd user manager there to ask?
pub fn systemd_user() -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The command a timer runs: this binary, on this home (pinned when it is
/// one directory, `--home`/`OPSDECK_HOME`; the platform's directories need
/// nothing).
pub fn sweep_command(exe: &Path, home: &Home) -> String {
    let exe = crate::util::shell_quote(&exe.display().to_string());
    if home.state_dir == home.config_dir.join("state") {
        format!(
            "OPSDECK_HOME={} {exe} sweep",
            crate::util::shell_quote(&home.config_dir.display().to_string())
        )
    } else {
        format!("{exe} sweep")
    }
}

/// The crontab line for `every`: minutes dividing an hour, or hours
/// dividing a day.
pub fn cron_line(every_s: u64, command: &str, log: &Path) -> Result<String, String> {
    let m = every_s / 60;
    let when = if !every_s.is_multiple_of(60) || m == 0 {
        return Err("cron counts whole minutes: use --every 1m or more".into());
    } else if m < 60 && 60 % m == 0 {
        if m == 1 {
            "* * * * *".to_string()
        } else {
            format!("*/{m} * * * *")
        }
    } else if m.is_multiple_of(60) && 24 % (m / 60) == 0 {
        let h = m / 60;
        if h == 1 {
            "0 * * * *".to_string()
        } else {
            format!("0 */{h} * * *")
        }
    } else {
        return Err(format!(
            "cron cannot run every {}: use minutes that divide an hour (5m, 10m, 15m, 30m) or hours that divide a day",
            crate::util::format_age(every_s)
        ));
    };
    // cron turns an unescaped % into a newline (the rest becomes stdin)
    let cron_safe = |s: &str| s.replace('%', "\\%");
    Ok(format!(
        "{when} {} >/dev/null 2>>{} {CRON_MARK}",
        cron_safe(command),
        cron_safe(&crate::util::shell_quote(&log.display().to_string()))
    ))
}

/// A command line as systemd must read it literally: `%` starts a
/// specifier and `$` a variable in `ExecStart=`, so a home such as
/// `/srv/ops%20deck` or `/home/$user` is doubled to stay itself.
fn systemd_literal(s: &str) -> String {
    s.replace('%', "%%").replace('$', "$$")
}

/// The systemd units (service, timer).
pub fn units(every_s: u64, command: &str) -> (String, String) {
    let service = format!(
        "[Unit]\nDescription=opsdeck sweep (health, patches, backups, lifecycle; alerts on change)\n\n[Service]\nType=oneshot\nExecStart=/bin/sh -c {}\nNice=10\n",
        systemd_literal(&crate::util::shell_quote(command))
    );
    let timer = format!(
        "[Unit]\nDescription=opsdeck sweep every {}\n\n[Timer]\nOnActiveSec=1min\nOnUnitActiveSec={every_s}s\nAccuracySec=30s\n\n[Install]\nWantedBy=timers.target\n",
        crate::util::format_age(every_s)
    );
    (service, timer)
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn crontab_read() -> String {
    Command::new("crontab")
        .arg("-l")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn crontab_write(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("crontab: {e} (is cron installed?)"))?;
    if let Some(mut i) = child.stdin.take() {
        i.write_all(text.as_bytes())
            .map_err(|e| format!("crontab: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("crontab: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "crontab: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// What `install` did, for the user.
pub enum Installed {
    Systemd { dir: PathBuf },
    Cron { line: String, installed: bool },
}

/// Install the schedule. `cron`: the cron path even where systemd runs;
/// `write_crontab`: install the line (else it is only printed).
pub fn install(
    home: &Home,
    every_s: u64,
    cron: bool,
    write_crontab: bool,
) -> Result<Installed, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let command = sweep_command(&exe, home);
    let every = crate::util::format_age(every_s);
    let now = crate::util::now_rfc3339();
    if !cron && systemd_user() {
        let dir = directories::BaseDirs::new()
            .map(|b| b.config_dir().join("systemd/user"))
            .ok_or("no home directory for the systemd user units")?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (service, timer) = units(every_s, &command);
        std::fs::write(dir.join(format!("{UNIT}.service")), service).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{UNIT}.timer")), timer).map_err(|e| e.to_string())?;
        run(Command::new("systemctl").args(["--user", "daemon-reload"]))?;
        run(Command::new("systemctl").args([
            "--user",
            "enable",
            "--now",
            &format!("{UNIT}.timer"),
        ]))?;
        save(
            home,
            &Schedule {
                method: "systemd".into(),
                every,
                every_s,
                installed_at: now,
                detail: dir.display().to_string(),
            },
        )?;
        return Ok(Installed::Systemd { dir });
    }
    let log = home.state_dir.join("sweep.log");
    let line = cron_line(every_s, &command, &log)?;
    if write_crontab {
        let mut table: String = crontab_read()
            .lines()
            .filter(|l| !l.ends_with(CRON_MARK))
            .map(|l| format!("{l}\n"))
            .collect();
        table.push_str(&line);
        table.push('\n');
        crontab_write(&table)?;
        save(
            home,
            &Schedule {
                method: "cron".into(),
                every,
                every_s,
                installed_at: now,
                detail: line.clone(),
            },
        )?;
    }
    Ok(Installed::Cron {
        line,
        installed: write_crontab,
    })
}

/// Undo `install`; what was removed.
pub fn remove(home: &Home) -> Result<String, String> {
    let s = load(home);
    let mut said = Vec::new();
    if s.as_ref().is_none_or(|s| s.method == "systemd") && systemd_user() {
        let _ = run(Command::new("systemctl").args([
            "--user",
            "disable",
            "--now",
            &format!("{UNIT}.timer"),
        ]));
        if let Some(dir) = directories::BaseDirs::new().map(|b| b.config_dir().join("systemd/user"))
        {
            for ext in ["timer", "service"] {
                if std::fs::remove_file(dir.join(format!("{UNIT}.{ext}"))).is_ok() {
                    said.push(format!(
                        "removed {}",
                        dir.join(format!("{UNIT}.{ext}")).display()
                    ));
                }
            }
        }
        let _ = run(Command::new("systemctl").args(["--user", "daemon-reload"]));
    }
    let table = crontab_read();
    if table.lines().any(|l| l.ends_with(CRON_MARK)) {
        let kept: String = table
            .lines()
            .filter(|l| !l.ends_with(CRON_MARK))
            .map(|l| format!("{l}\n"))
            .collect();
        crontab_write(&kept)?;
        said.push("removed the crontab line".into());
    }
    let _ = std::fs::remove_file(path(home));
    if said.is_empty() {
        Ok("nothing was scheduled".into())
    } else {
        Ok(said.join("; "))
    }
}

/// A sweep due every `every_s` is overdue when none ran for twice that
/// (and at least 5 minutes more).
pub fn overdue(every_s: u64, since_last_s: u64) -> bool {
    since_last_s > every_s.saturating_mul(2).max(every_s + 300)
}

/// The TUI's header note: "last sweep 4m ago (every 10m)", and whether
/// the scheduled sweep is overdue (the dead man's switch seen from inside).
/// None when no sweep ran and none is scheduled.
pub fn sweep_note(
    last: Option<&super::LastSweep>,
    schedule: Option<&Schedule>,
    now_s: i64,
) -> Option<(String, bool)> {
    let ago = last
        .and_then(|l| l.at.parse::<jiff::Timestamp>().ok())
        .map(|t| (now_s - t.as_second()).max(0) as u64);
    let every = schedule
        .map(|s| format!(" (every {})", s.every))
        .unwrap_or_default();
    match (ago, schedule) {
        (None, None) => None,
        (None, Some(_)) => Some((format!("no sweep yet{every}"), false)),
        (Some(a), s) => {
            let overdue = s.is_some_and(|s| overdue(s.every_s, a));
            let text = if overdue {
                format!(
                    "SWEEP OVERDUE: last {} ago{every}",
                    crate::util::format_age(a.max(1))
                )
            } else {
                format!(
                    "last sweep {} ago{every}",
                    crate::util::format_age(a.max(1))
                )
            };
            Some((text, overdue))
        }
    }
}

/// Parse `--every`: a duration of at least a minute and at most a day.
pub fn parse_every(s: &str) -> Result<u64, String> {
    let d = crate::util::parse_duration(s).map_err(|e| format!("--every: {e}"))?;
    let secs = d.as_secs();
    if !(60..=86_400).contains(&secs) {
        return Err(format!("--every {s}: allowed 1m to 24h"));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_lines_and_units() {
        let log = Path::new("/h/state/sweep.log");
        assert_eq!(
            cron_line(600, "opsdeck sweep", log).unwrap(),
            "*/10 * * * * opsdeck sweep >/dev/null 2>>/h/state/sweep.log # opsdeck sweep"
        );
        assert!(cron_line(7200, "x", log)
            .unwrap()
            .starts_with("0 */2 * * * "));
        assert!(cron_line(60, "x", log).unwrap().starts_with("* * * * * "));
        assert!(cron_line(7 * 60, "x", log).is_err());
        assert!(cron_line(90, "x", log).is_err());
        let (service, timer) = units(600, "OPSDECK_HOME=/h /usr/bin/opsdeck sweep");
        assert!(service.contains("ExecStart=/bin/sh -c 'OPSDECK_HOME=/h /usr/bin/opsdeck sweep'"));
        assert!(timer.contains("OnUnitActiveSec=600s"));
        let (service, _) = units(600, "OPSDECK_HOME='/a%zb/$x' opsdeck sweep");
        assert!(service.contains("/a%%zb/$$x"), "{service}");
        assert!(cron_line(600, "OPSDECK_HOME='/a%b' x", log)
            .unwrap()
            .contains("/a\\%b"));
        assert!(overdue(600, 1300) && !overdue(600, 1100));
        assert_eq!(parse_every("10m"), Ok(600));
        let last = super::super::LastSweep {
            at: "2026-12-05T10:00:00Z".into(),
            took_ms: 1,
            status: "ok".into(),
            summary: String::new(),
        };
        let sched = Schedule {
            method: "cron".into(),
            every: "10m".into(),
            every_s: 600,
            installed_at: String::new(),
            detail: String::new(),
        };
        let t = 1_796_464_800; // 2026-12-05T10:00:00Z
        assert_eq!(
            sweep_note(Some(&last), Some(&sched), t + 240),
            Some(("last sweep 4m ago (every 10m)".into(), false))
        );
        assert_eq!(
            sweep_note(Some(&last), Some(&sched), t + 7200),
            Some(("SWEEP OVERDUE: last 2h ago (every 10m)".into(), true))
        );
        assert_eq!(sweep_note(None, None, t), None);
        assert!(parse_every("10s").is_err() && parse_every("2d").is_err());
    }
}
