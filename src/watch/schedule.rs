//! The timer that runs `opsdeck sweep`: a systemd user timer + service
//! where a user manager answers (`systemctl --user`), else a crontab line
//! (printed; installed with `crontab` when asked). Each home gets its own
//! name (`opsdeck-sweep-<8 hex of the home's path hash>`), so two homes
//! never replace each other's timer. What was installed is recorded in
//! `state/schedule.json` for `schedule status`, `schedule remove` and the
//! TUI's "scheduled every 10m".

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::store::{Home, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Systemd,
    Cron,
    /// Units written to a directory given by the user (no manager told).
    Files,
}

/// `state/schedule.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    pub backend: Backend,
    pub every_s: u64,
    /// Unit base name or crontab marker.
    pub name: String,
    /// Where the units are (systemd, files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// RFC 3339.
    pub installed_at: String,
}

pub fn record_path(home: &Home) -> PathBuf {
    home.state_dir.join("schedule.json")
}

impl Installed {
    pub fn load(home: &Home) -> Option<Installed> {
        serde_json::from_slice(&std::fs::read(record_path(home)).ok()?).ok()
    }

    pub fn save(&self, home: &Home) -> Result<(), StoreError> {
        let t = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Io {
            path: record_path(home),
            message: e.to_string(),
        })?;
        crate::store::write::write_atomic(&record_path(home), &t)
    }
}

/// The `--home` of the scheduled command: the config dir when the state
/// lives under it (as `--home`/`OPSDECK_HOME` make it), else none (the
/// platform directories, found again from the same user's environment).
pub fn home_arg(home: &Home) -> Option<&Path> {
    (home.state_dir == home.config_dir.join("state")).then_some(home.config_dir.as_path())
}

/// The name of this home's timer.
pub fn name(home: &Home) -> String {
    let p = home.state_dir.to_string_lossy();
    let h = openssl::sha::sha256(p.as_bytes());
    format!(
        "opsdeck-sweep-{:02x}{:02x}{:02x}{:02x}",
        h[0], h[1], h[2], h[3]
    )
}

/// An interval cron can say: minutes dividing an hour, or hours dividing
/// a day. Returns the five fields.
pub fn cron_fields(every_s: u64) -> Result<String, String> {
    let m = every_s / 60;
    if every_s.is_multiple_of(60) && (1..60).contains(&m) && 60u64.is_multiple_of(m) {
        return Ok(if m == 1 {
            "* * * * *".into()
        } else {
            format!("*/{m} * * * *")
        });
    }
    let h = every_s / 3600;
    if every_s.is_multiple_of(3600) && (1..=24).contains(&h) && 24u64.is_multiple_of(h) {
        return Ok(if h == 1 {
            "0 * * * *".into()
        } else if h == 24 {
            "0 0 * * *".into()
        } else {
            format!("0 */{h} * * *")
        });
    }
    Err(format!(
        "cron cannot run every {}: use minutes that divide an hour (5m, 10m, 15m, 30m) or hours that divide a day",
        crate::util::format_age(every_s)
    ))
}

/// The crontab line (with its marker comment) of `exe --home HOME sweep`.
pub fn cron_line(home: &Home, exe: &Path, every_s: u64) -> Result<String, String> {
    let q = |p: &Path| crate::util::shell_quote(&p.to_string_lossy());
    // cron treats % as a newline: a path with one cannot be said safely
    let h = home_arg(home);
    if exe.to_string_lossy().contains('%') || h.is_some_and(|h| h.to_string_lossy().contains('%')) {
        return Err("a path with % cannot go into a crontab line".into());
    }
    let home_words = h.map(|h| format!(" --home {}", q(h))).unwrap_or_default();
    Ok(format!(
        "{} {}{home_words} sweep >/dev/null 2>&1 # {}",
        cron_fields(every_s)?,
        q(exe),
        name(home)
    ))
}

/// One word of a systemd command line.
fn systemd_word(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            '%' => o.push_str("%%"),
            '$' => o.push_str("$$"),
            _ => o.push(c),
        }
    }
    o.push('"');
    o
}

/// (service, timer) unit texts.
pub fn units(home: &Home, exe: &Path, every_s: u64) -> (String, String) {
    let service = format!(
        "[Unit]\nDescription=opsdeck sweep of {home}\n\n[Service]\nType=oneshot\nExecStart={exe}{homew} sweep\nNice=10\nTimeoutStartSec={timeout}\n",
        home = home.config_dir.display(),
        exe = systemd_word(&exe.to_string_lossy()),
        homew = home_arg(home)
            .map(|h| format!(" --home {}", systemd_word(&h.to_string_lossy())))
            .unwrap_or_default(),
        timeout = (every_s * 3).max(600),
    );
    let timer = format!(
        "[Unit]\nDescription=opsdeck sweep of {home} every {every}\n\n[Timer]\nOnActiveSec=1min\nOnUnitActiveSec={every_s}s\nAccuracySec=30s\n\n[Install]\nWantedBy=timers.target\n",
        home = home.config_dir.display(),
        every = crate::util::format_age(every_s),
    );
    (service, timer)
}

/// Does a systemd user manager answer here?
pub fn systemd_user_available() -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if let (Some(i), Some(mut s)) = (input, child.stdin.take()) {
        s.write_all(i.as_bytes())
            .map_err(|e| format!("{cmd}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The user's systemd unit directory.
pub fn user_unit_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    base.join("systemd").join("user")
}

/// Write the two units into `dir` (atomically, 0600).
pub fn write_units(home: &Home, exe: &Path, every_s: u64, dir: &Path) -> Result<(), String> {
    let (service, timer) = units(home, exe, every_s);
    let n = name(home);
    for (ext, text) in [("service", service), ("timer", timer)] {
        crate::store::write::write_atomic(&dir.join(format!("{n}.{ext}")), text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Install under the systemd user manager and start the timer.
pub fn install_systemd(home: &Home, exe: &Path, every_s: u64) -> Result<Installed, String> {
    let dir = user_unit_dir();
    write_units(home, exe, every_s, &dir)?;
    let n = name(home);
    run("systemctl", &["--user", "daemon-reload"], None)?;
    run(
        "systemctl",
        &["--user", "enable", "--now", &format!("{n}.timer")],
        None,
    )?;
    Ok(Installed {
        backend: Backend::Systemd,
        every_s,
        name: n,
        dir: Some(dir),
        installed_at: crate::util::now_rfc3339(),
    })
}

/// The current crontab ("" when there is none).
fn crontab_list() -> Result<String, String> {
    match run("crontab", &["-l"], None) {
        Ok(t) => Ok(t),
        Err(e) if e.contains("no crontab") => Ok(String::new()),
        Err(e) => Err(e),
    }
}

fn without_marker(tab: &str, marker: &str) -> String {
    let mut out: String = tab
        .lines()
        .filter(|l| !l.trim_end().ends_with(&format!("# {marker}")))
        .map(|l| format!("{l}\n"))
        .collect();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Add (or replace) this home's line in the user's crontab.
pub fn install_cron(home: &Home, exe: &Path, every_s: u64) -> Result<Installed, String> {
    let line = cron_line(home, exe, every_s)?;
    let n = name(home);
    let mut tab = without_marker(&crontab_list()?, &n);
    tab.push_str(&line);
    tab.push('\n');
    run("crontab", &["-"], Some(&tab))?;
    Ok(Installed {
        backend: Backend::Cron,
        every_s,
        name: n,
        dir: None,
        installed_at: crate::util::now_rfc3339(),
    })
}

/// Is this home's line in the crontab / its timer active? (None: cannot tell.)
pub fn present(i: &Installed) -> Option<bool> {
    match i.backend {
        Backend::Cron => crontab_list().ok().map(|t| {
            t.lines()
                .any(|l| l.trim_end().ends_with(&format!("# {}", i.name)))
        }),
        Backend::Systemd => run(
            "systemctl",
            &["--user", "is-active", &format!("{}.timer", i.name)],
            None,
        )
        .ok()
        .map(|s| s.trim() == "active"),
        Backend::Files => i
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}.timer", i.name)).exists()),
    }
}

/// Undo an install. Returns what was done.
pub fn remove(home: &Home, i: &Installed) -> Result<String, String> {
    let done = match i.backend {
        Backend::Cron => {
            let tab = crontab_list()?;
            let rest = without_marker(&tab, &i.name);
            if rest.trim().is_empty() {
                let _ = run("crontab", &["-r"], None);
            } else {
                run("crontab", &["-"], Some(&rest))?;
            }
            format!("removed the crontab line # {}", i.name)
        }
        Backend::Systemd | Backend::Files => {
            if i.backend == Backend::Systemd {
                let _ = run(
                    "systemctl",
                    &["--user", "disable", "--now", &format!("{}.timer", i.name)],
                    None,
                );
            }
            let dir = i.dir.clone().unwrap_or_else(user_unit_dir);
            for ext in ["timer", "service"] {
                let p = dir.join(format!("{}.{ext}", i.name));
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("{}: {e}", p.display())),
                }
            }
            if i.backend == Backend::Systemd {
                let _ = run("systemctl", &["--user", "daemon-reload"], None);
            }
            format!("removed {}.timer and {}.service", i.name, i.name)
        }
    };
    match std::fs::remove_file(record_path(home)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", record_path(home).display())),
    }
    Ok(done)
}

/// Is the scheduled sweep overdue at `now`? Yes when the last one started
/// more than two periods and a minute ago (or never ran two periods and a
/// minute after the install).
pub fn overdue(i: &Installed, last_started: Option<&str>, now: jiff::Timestamp) -> Option<u64> {
    let since = last_started.unwrap_or(&i.installed_at);
    let age = crate::util::age_of(since, now)?;
    (age > 2 * i.every_s + 60).then_some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_intervals_and_lines() {
        assert_eq!(cron_fields(600).unwrap(), "*/10 * * * *");
        assert_eq!(cron_fields(60).unwrap(), "* * * * *");
        assert_eq!(cron_fields(7200).unwrap(), "0 */2 * * *");
        assert!(cron_fields(420).is_err());
        let home = Home::under("/srv/ops deck");
        let l = cron_line(&home, Path::new("/usr/bin/opsdeck"), 600).unwrap();
        assert!(
            l.starts_with("*/10 * * * * /usr/bin/opsdeck --home '/srv/ops deck' sweep"),
            "{l}"
        );
        assert!(l.ends_with(&format!("# {}", name(&home))));
        let tab = format!("0 1 * * * backup\n{l}\n");
        assert_eq!(without_marker(&tab, &name(&home)), "0 1 * * * backup\n");
        assert_eq!(systemd_word("/a b/%x$"), "\"/a b/%%x$$\"");
    }
}
