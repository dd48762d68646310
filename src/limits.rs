//! The allowed range of every number and duration a user can give opsdeck,
//! in a file or as a flag, and the checks that apply them. Pure: the store
//! turns a [`Problem`] into `path:line:column` (exit 78), clap turns a flag
//! out of range into a usage error (exit 64). Every range is listed in
//! docs/decisions/settings.md; change both together.
//!
//! Why ranges at all: a value that parses is not a value that works. A
//! timeout of 2^63 seconds overflowed a deadline and lost a host; a
//! concurrency of 0 would hang a sweep. The ranges are wide enough for any
//! real fleet and narrow enough that every deadline computed from them stays
//! far from overflow.

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::model::{BackupJob, Host, Settings};
use crate::util::parse_duration;

/// `[ssh] connect_timeout_s`: TCP connect, banner, key exchange, auth.
pub const CONNECT_TIMEOUT_S: RangeInclusive<u64> = 1..=600;
/// `[ssh] command_timeout_s` and `run --timeout`: one remote command.
pub const COMMAND_TIMEOUT_S: RangeInclusive<u64> = 1..=86_400;
/// `[ssh] concurrency`: hosts worked on at once.
pub const CONCURRENCY: RangeInclusive<usize> = 1..=1024;
/// `[ssh] persist_s`: 0 is off; at most a week.
pub const PERSIST_S: RangeInclusive<u64> = 0..=604_800;
/// `[thresholds] *_pct`.
pub const PERCENT: RangeInclusive<f64> = 0.0..=100.0;
/// `[thresholds] load_*_per_cpu`.
pub const LOAD_PER_CPU: RangeInclusive<f64> = 0.0..=1000.0;
/// `[thresholds] hardware_refresh_years`.
pub const HARDWARE_REFRESH_YEARS: RangeInclusive<u32> = 1..=50;
/// `[thresholds] expiry_warn_days`.
pub const EXPIRY_WARN_DAYS: RangeInclusive<u32> = 0..=3650;
/// `[thresholds] ticket_stale_days`.
pub const TICKET_STALE_DAYS: RangeInclusive<u32> = 1..=3650;
/// `[ui] tick_s`.
pub const TICK_S: RangeInclusive<u64> = 1..=3600;
/// `[patches] parallel` and `patch apply --parallel`.
pub const PARALLEL: RangeInclusive<usize> = 1..=256;
/// `[patches] reboot_wait_s`.
pub const REBOOT_WAIT_S: RangeInclusive<u64> = 10..=86_400;
/// `[patches] apply_timeout_s`.
pub const APPLY_TIMEOUT_S: RangeInclusive<u64> = 10..=172_800;
/// `[run] max_output`: bytes of one host's output kept by `run` and patch logs.
pub const MAX_OUTPUT: RangeInclusive<u64> = 1024..=256 * 1024 * 1024;
/// `port` of a host.
pub const PORT: RangeInclusive<u16> = 1..=65535;
/// Durations of backups and thresholds: at least a minute (anything shorter
/// is a typo for a policy), at most 100 years.
pub const DURATION_S: RangeInclusive<u64> = 60..=crate::util::MAX_DURATION_S;

/// One key of a file: a table key or an index into an array (of tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Name(&'static str),
    Index(usize),
}

/// A value outside its range: where (keys from the top of its file) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub at: Vec<Key>,
    pub message: String,
}

/// Collects problems under a key prefix.
struct Check<'a> {
    out: &'a mut Vec<Problem>,
    prefix: Vec<Key>,
}

impl Check<'_> {
    fn push(&mut self, key: &'static str, message: String) {
        let mut at = self.prefix.clone();
        at.push(Key::Name(key));
        self.out.push(Problem { at, message });
    }

    fn range<T: PartialOrd + Display + Copy>(
        &mut self,
        key: &'static str,
        value: T,
        range: &RangeInclusive<T>,
        unit: &str,
    ) {
        if !range.contains(&value) {
            self.push(key, out_of_range(key, value, range, unit));
        }
    }

    /// A duration string: parses, and within [`DURATION_S`]. Returns seconds.
    fn duration(&mut self, key: &'static str, value: &str) -> Option<u64> {
        match parse_duration(value) {
            Err(e) => {
                self.push(key, format!("{key}: {e}"));
                None
            }
            Ok(d) if !DURATION_S.contains(&d.as_secs()) => {
                self.push(
                    key,
                    format!(
                        "{key}: `{value}` is shorter than a minute; write e.g. \"26h\" or \"90d\""
                    ),
                );
                None
            }
            Ok(d) => Some(d.as_secs()),
        }
    }
}

/// "connect_timeout_s = 0 is out of range: allowed 1..=600 seconds".
pub fn out_of_range<T: Display>(
    key: &str,
    value: T,
    range: &RangeInclusive<T>,
    unit: &str,
) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    format!(
        "{key} = {value} is out of range: allowed {}..={}{unit}",
        range.start(),
        range.end()
    )
}

/// Every number, duration and pair of thresholds of `opsdeck.toml`.
pub fn settings(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut c = Check {
        out: &mut out,
        prefix: vec![Key::Name("ssh")],
    };
    c.range(
        "connect_timeout_s",
        s.ssh.connect_timeout_s,
        &CONNECT_TIMEOUT_S,
        "seconds",
    );
    c.range(
        "command_timeout_s",
        s.ssh.command_timeout_s,
        &COMMAND_TIMEOUT_S,
        "seconds",
    );
    c.range("concurrency", s.ssh.concurrency, &CONCURRENCY, "hosts");
    c.range("persist_s", s.ssh.persist_s, &PERSIST_S, "seconds");

    let t = &s.thresholds;
    c.prefix = vec![Key::Name("thresholds")];
    let pairs = [
        (
            "disk_warn_pct",
            t.disk_warn_pct,
            "disk_crit_pct",
            t.disk_crit_pct,
            &PERCENT,
        ),
        (
            "mem_warn_pct",
            t.mem_warn_pct,
            "mem_crit_pct",
            t.mem_crit_pct,
            &PERCENT,
        ),
        (
            "load_warn_per_cpu",
            t.load_warn_per_cpu,
            "load_crit_per_cpu",
            t.load_crit_per_cpu,
            &LOAD_PER_CPU,
        ),
    ];
    for (wk, w, ck, cr, range) in pairs {
        c.range(wk, w, range, "");
        c.range(ck, cr, range, "");
        if range.contains(&w) && range.contains(&cr) && w > cr {
            c.push(wk, format!("{wk} = {w} is above {ck} = {cr}: a warning must come before the critical level"));
        }
    }
    c.duration("metadata_max_age", &t.metadata_max_age);
    c.range(
        "hardware_refresh_years",
        t.hardware_refresh_years,
        &HARDWARE_REFRESH_YEARS,
        "years",
    );
    c.range(
        "expiry_warn_days",
        t.expiry_warn_days,
        &EXPIRY_WARN_DAYS,
        "days",
    );
    c.range(
        "ticket_stale_days",
        t.ticket_stale_days,
        &TICKET_STALE_DAYS,
        "days",
    );

    c.prefix = vec![Key::Name("ui")];
    c.range("tick_s", s.ui.tick_s, &TICK_S, "seconds");

    c.prefix = vec![Key::Name("run")];
    c.range("max_output", s.run.max_output, &MAX_OUTPUT, "bytes");
    for (i, p) in s.run.dangerous_patterns.iter().enumerate() {
        if p.trim().is_empty() {
            out.push(Problem {
                at: vec![
                    Key::Name("run"),
                    Key::Name("dangerous_patterns"),
                    Key::Index(i),
                ],
                message: "dangerous_patterns: an empty pattern would match every command".into(),
            });
        }
    }

    let mut c = Check {
        out: &mut out,
        prefix: vec![Key::Name("patches")],
    };
    c.range("parallel", s.patches.parallel, &PARALLEL, "hosts");
    c.range(
        "reboot_wait_s",
        s.patches.reboot_wait_s,
        &REBOOT_WAIT_S,
        "seconds",
    );
    c.range(
        "apply_timeout_s",
        s.patches.apply_timeout_s,
        &APPLY_TIMEOUT_S,
        "seconds",
    );

    let a = &s.alerts;
    let mut c = Check {
        out: &mut out,
        prefix: vec![Key::Name("alerts")],
    };
    for url in a.webhook.iter().chain(a.ping.iter()) {
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            let key = if a.ping.as_ref() == Some(url) {
                "ping"
            } else {
                "webhook"
            };
            c.push(
                key,
                format!("{key}: `{url}` is not an http:// or https:// URL"),
            );
        }
    }
    for m in &a.mail_to {
        if !m.contains('@') || m.contains(char::is_whitespace) || m.contains(['<', '>', '\r', '\n'])
        {
            c.push(
                "mail_to",
                format!("mail_to: `{m}` is not an e-mail address"),
            );
        }
    }
    if let Some(d) = &a.digest {
        if let Err(e) = crate::model::parse_hhmm(d) {
            c.push("digest", format!("digest: {e}"));
        }
    }
    if let Some(smtp) = &a.smtp {
        c.prefix = vec![Key::Name("alerts"), Key::Name("smtp")];
        if smtp.host.trim().is_empty() {
            c.push("host", "host: the SMTP server's name is missing".into());
        }
        if smtp.port == 0 {
            c.push("port", "port = 0 is out of range: allowed 1..=65535".into());
        }
        if smtp.user.is_some() && smtp.password_command.is_none() {
            c.push(
                "user",
                "user without password_command: say how to get the password (e.g. \"pass show mail/opsdeck\"); it is never stored in this file".into(),
            );
        }
        if smtp.password_command.is_some() && !smtp.starttls && smtp.port != 465 {
            c.push(
                "starttls",
                "starttls = false with a password: the password would cross the network in clear"
                    .into(),
            );
        }
    }
    let au = &s.audit;
    let mut c = Check {
        out: &mut out,
        prefix: vec![Key::Name("audit")],
    };
    c.range("cert_warn_days", au.cert_warn_days, &(1..=3650), "days");
    c.range("cert_crit_days", au.cert_crit_days, &(0..=3650), "days");
    if au.cert_crit_days > au.cert_warn_days {
        c.push(
            "cert_crit_days",
            format!(
                "cert_crit_days = {} is above cert_warn_days = {}",
                au.cert_crit_days, au.cert_warn_days
            ),
        );
    }
    for (i, a) in au.allow_port.iter().enumerate() {
        if a.port == 0 || !matches!(a.proto.as_deref(), None | Some("tcp") | Some("udp")) {
            out.push(Problem {
                at: vec![Key::Name("audit"), Key::Name("allow_port"), Key::Index(i)],
                message: "allow_port needs a port (1-65535) and proto \"tcp\" or \"udp\"".into(),
            });
        }
    }
    for (i, a) in au.accept.iter().enumerate() {
        if a.id.trim().is_empty() {
            out.push(Problem {
                at: vec![Key::Name("audit"), Key::Name("accept"), Key::Index(i)],
                message: "accept needs the id of a finding (opsdeck audit --json shows them)"
                    .into(),
            });
        }
    }
    for (i, m) in s.maintenance.iter().enumerate() {
        if let Err(e) = m.window() {
            out.push(Problem {
                at: vec![Key::Name("maintenance"), Key::Index(i)],
                message: e,
            });
        }
        if m.targets.is_empty() {
            out.push(Problem {
                at: vec![Key::Name("maintenance"), Key::Index(i)],
                message: "a maintenance window needs targets (host names or @tags)".into(),
            });
        }
    }
    out
}

/// Numbers of `hosts.toml`.
pub fn hosts(hosts: &[Host]) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let mut c = Check {
            out: &mut out,
            prefix: vec![Key::Name("host"), Key::Index(i)],
        };
        if let Some(p) = h.port {
            c.range("port", p, &PORT, "");
        }
    }
    out
}

/// Durations and sizes of `backups.toml`.
pub fn backups(jobs: &[BackupJob]) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, b) in jobs.iter().enumerate() {
        let mut c = Check {
            out: &mut out,
            prefix: vec![Key::Name("backup"), Key::Index(i)],
        };
        let max = c.duration("max_age", &b.max_age);
        let warn = b
            .warn_age
            .as_deref()
            .and_then(|w| c.duration("warn_age", w));
        if let Some(every) = &b.restore_test_every {
            c.duration("restore_test_every", every);
        }
        if let (Some(w), Some(m)) = (warn, max) {
            if w > m {
                c.push(
                    "warn_age",
                    format!(
                        "warn_age = \"{}\" is longer than max_age = \"{}\": the warning must come first",
                        b.warn_age.as_deref().unwrap_or_default(),
                        b.max_age
                    ),
                );
            }
        }
    }
    out
}

/// A clap value parser for a number flag in `range` (usage error, exit 64).
pub fn flag<T>(range: RangeInclusive<T>) -> impl Fn(&str) -> Result<T, String> + Clone
where
    T: std::str::FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let v: T = s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a whole number"))?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(format!("allowed {}..={}", range.start(), range.end()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_every_range() {
        assert_eq!(settings(&Settings::default()), vec![]);
    }

    #[test]
    fn absurd_settings_name_the_key() {
        let mut s = Settings::default();
        s.ssh.connect_timeout_s = i64::MAX as u64;
        s.ssh.concurrency = 0;
        s.thresholds.disk_warn_pct = 95.0;
        s.thresholds.load_crit_per_cpu = f64::NAN;
        s.thresholds.metadata_max_age = "99999999999999999d".into();
        s.patches.parallel = 100_000;
        let p = settings(&s);
        let keys: Vec<_> = p.iter().map(|p| p.at.clone()).collect();
        assert!(keys.contains(&vec![Key::Name("ssh"), Key::Name("connect_timeout_s")]));
        assert!(keys.contains(&vec![Key::Name("ssh"), Key::Name("concurrency")]));
        assert!(keys.contains(&vec![Key::Name("thresholds"), Key::Name("disk_warn_pct")]));
        assert!(keys.contains(&vec![
            Key::Name("thresholds"),
            Key::Name("load_crit_per_cpu")
        ]));
        assert!(keys.contains(&vec![
            Key::Name("thresholds"),
            Key::Name("metadata_max_age")
        ]));
        assert!(keys.contains(&vec![Key::Name("patches"), Key::Name("parallel")]));
        assert!(
            p[0].message.contains("allowed 1..=600 seconds"),
            "{:?}",
            p[0]
        );
    }

    #[test]
    fn backup_durations() {
        let mut b = BackupJob::new("b", "h", crate::model::BackupKind::Path, "26h");
        b.warn_age = Some("2d".into());
        b.restore_test_every = Some("30s".into());
        let p = backups(&[b]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].message.contains("shorter than a minute"));
        assert!(p[1].message.contains("longer than max_age"));
    }

    #[test]
    fn flags() {
        let f = flag(COMMAND_TIMEOUT_S);
        assert_eq!(f("30"), Ok(30));
        assert!(f("0").is_err());
        assert!(f("9223372036854775807").is_err());
        assert!(f("ten").is_err());
    }
}
