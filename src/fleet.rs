//! One command on many hosts (`opsdeck run`, the TUI's `r`): run through
//! [`Engine::sweep`] with the concurrency bound and a per-command timeout,
//! classify each host's result, group hosts whose outputs are identical,
//! count, and describe the run for the journal.
//!
//! A host whose command timed out keeps what it printed until then.
//! Remote text is kept as received (lossy UTF-8) in [`HostRun`]; whoever
//! shows it on a terminal passes it through [`crate::util::sanitize`]
//! ([`Group::display_stdout`] and friends do).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::model::Host;
use crate::ssh::{CancelFlag, Engine, ExecOptions, ExecOutput, HostDone, SshError};
use crate::store::JournalEntry;
use crate::util::sanitize;

/// How one host's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Exit status 0.
    Ok,
    /// Ran, and exited non-zero or was killed by a signal.
    Failed,
    /// Outlived its timeout.
    Timeout,
    /// Never ran: no connection, host key or authentication refused, cancelled.
    Unreachable,
    /// Started, then the connection was lost (or opsdeck failed): it may
    /// have run to its end or not.
    Unknown,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timed out",
            Outcome::Unreachable => "unreachable",
            Outcome::Unknown => "outcome unknown",
        }
    }
}

/// One host's result: the `run --json` element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRun {
    pub host: String,
    pub exit_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<String>,
    /// As received (lossy UTF-8), not sanitised.
    pub stdout: String,
    pub stderr: String,
    pub elapsed_ms: u64,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// Bytes of output dropped by the cap (the kept text says where): 0
    /// when the output is whole.
    #[serde(default)]
    pub output_dropped: u64,
    /// The SSH error behind `error`, as data (not in the JSON).
    #[serde(skip)]
    pub ssh_error: Option<SshError>,
}

impl HostRun {
    /// Classify a sweep result.
    pub fn from_done(done: HostDone<ExecOutput>) -> HostRun {
        let elapsed_ms = done.elapsed.as_millis() as u64;
        match done.result {
            Ok(o) => HostRun {
                host: done.host,
                outcome: if o.exit_status == Some(0) {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                },
                exit_status: o.exit_status,
                exit_signal: o.exit_signal,
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                elapsed_ms,
                error: None,
                output_dropped: o.dropped,
                ssh_error: None,
            },
            Err(e) => HostRun {
                host: done.host,
                exit_status: None,
                exit_signal: None,
                stdout: String::new(),
                stderr: String::new(),
                elapsed_ms,
                outcome: match e {
                    SshError::CommandTimeout(_) => Outcome::Timeout,
                    SshError::LostAfterStart(_) | SshError::Internal(_) => Outcome::Unknown,
                    _ => Outcome::Unreachable,
                },
                error: Some(e.to_string()),
                output_dropped: 0,
                ssh_error: Some(e),
            },
        }
    }

    /// A command that outlived its timeout, with what it printed until then.
    pub fn timed_out(
        host: String,
        elapsed: Duration,
        partial: ExecOutput,
        err: SshError,
    ) -> HostRun {
        HostRun {
            host,
            exit_status: None,
            exit_signal: None,
            stdout: String::from_utf8_lossy(&partial.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&partial.stderr).into_owned(),
            elapsed_ms: elapsed.as_millis() as u64,
            outcome: Outcome::Timeout,
            error: Some(err.to_string()),
            output_dropped: partial.dropped,
            ssh_error: Some(err),
        }
    }

    /// What makes two hosts' results "identical" for grouping.
    fn key(&self) -> (&str, &str, Option<i32>, Option<&str>, Outcome, Option<&str>) {
        (
            &self.stdout,
            &self.stderr,
            self.exit_status,
            self.exit_signal.as_deref(),
            self.outcome,
            self.error.as_deref(),
        )
    }
}

/// Start `command` (a shell command line, already quoted: see
/// [`crate::util::shell_join`]) on `hosts`. Results arrive as each host
/// finishes; the receiver closes when all are done. `timeout` None: `[ssh]
/// command_timeout_s`; `max_output`: bytes kept of each host's output
/// streams (`[run] max_output`; None: the engine's default cap). Needs no
/// runtime; never blocks the caller.
pub fn start(
    engine: &Engine,
    hosts: Vec<Host>,
    command: String,
    timeout: Option<Duration>,
    max_output: Option<usize>,
    cancel: CancelFlag,
) -> mpsc::UnboundedReceiver<HostRun> {
    let command = Arc::new(command);
    let opts = ExecOptions {
        stdin: None,
        timeout,
        max_output,
    };
    let mut inner = engine.sweep(hosts, cancel, move |conn, _host| {
        match conn.exec(&command, &opts) {
            Ok(o) => Ok((o, None)),
            Err(SshError::CommandTimeout(d)) => Ok((
                conn.take_partial_output().unwrap_or_default(),
                Some(SshError::CommandTimeout(d)),
            )),
            Err(e) => Err(e),
        }
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("fleet-run".into())
        .spawn(move || {
            while let Some(done) = inner.blocking_recv() {
                let run = match done.result {
                    Ok((out, Some(err))) => HostRun::timed_out(done.host, done.elapsed, out, err),
                    Ok((out, None)) => HostRun::from_done(HostDone {
                        host: done.host,
                        elapsed: done.elapsed,
                        result: Ok(out),
                    }),
                    Err(e) => HostRun::from_done(HostDone {
                        host: done.host,
                        elapsed: done.elapsed,
                        result: Err(e),
                    }),
                };
                if tx.send(run).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a thread: {e}");
    }
    rx
}

/// Hosts whose results are identical.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub hosts: Vec<String>,
    /// The shared result (its `host` is the first host's).
    pub result: HostRun,
}

impl Group {
    /// "web1" or "3 hosts: web1, web2, web3".
    pub fn title(&self) -> String {
        if self.hosts.len() == 1 {
            self.hosts[0].clone()
        } else {
            format!("{} hosts: {}", self.hosts.len(), self.hosts.join(", "))
        }
    }
    /// "exit 0", "exit 2", "killed by TERM", "timed out: ...", "unreachable: ...",
    /// with "; output truncated (N bytes dropped)" when the cap cut it.
    pub fn status_text(&self) -> String {
        let r = &self.result;
        let mut text = self.outcome_text();
        if r.output_dropped > 0 {
            text.push_str(&format!(
                "; output truncated ({} bytes dropped)",
                r.output_dropped
            ));
        }
        text
    }

    fn outcome_text(&self) -> String {
        let r = &self.result;
        match r.outcome {
            Outcome::Ok | Outcome::Failed => match (&r.exit_signal, r.exit_status) {
                (Some(sig), _) => format!("killed by signal {}", sanitize(sig.as_bytes())),
                (None, Some(code)) => format!("exit {code}"),
                (None, None) => "no exit status".into(),
            },
            Outcome::Timeout | Outcome::Unreachable | Outcome::Unknown => format!(
                "{}: {}",
                r.outcome.label(),
                sanitize(r.error.as_deref().unwrap_or("").as_bytes())
            ),
        }
    }
    pub fn display_stdout(&self) -> String {
        sanitize(self.result.stdout.as_bytes())
    }
    pub fn display_stderr(&self) -> String {
        sanitize(self.result.stderr.as_bytes())
    }
}

/// Group identical results, groups in the order of their first host in
/// `results`, hosts in that order within a group.
pub fn group(results: &[HostRun]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for r in results {
        if let Some(g) = groups.iter_mut().find(|g| g.result.key() == r.key()) {
            g.hosts.push(r.host.clone());
        } else {
            groups.push(Group {
                hosts: vec![r.host.clone()],
                result: r.clone(),
            });
        }
    }
    groups
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub ok: usize,
    pub failed: usize,
    pub timeout: usize,
    pub unreachable: usize,
    /// Started, then lost: may have run.
    pub unknown: usize,
}

impl Summary {
    pub fn of(results: &[HostRun]) -> Summary {
        let mut s = Summary {
            total: results.len(),
            ..Default::default()
        };
        for r in results {
            match r.outcome {
                Outcome::Ok => s.ok += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Timeout => s.timeout += 1,
                Outcome::Unreachable => s.unreachable += 1,
                Outcome::Unknown => s.unknown += 1,
            }
        }
        s
    }
    pub fn all_ok(&self) -> bool {
        self.ok == self.total
    }
    /// "5 hosts: 3 ok, 1 failed, 0 timed out, 1 unreachable" (and ", 1
    /// outcome unknown" when a host was lost after its command started).
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}: {} ok, {} failed, {} timed out, {} unreachable",
            crate::util::plural(self.total, "host", "hosts"),
            self.ok,
            self.failed,
            self.timeout,
            self.unreachable
        );
        if self.unknown > 0 {
            line.push_str(&format!(", {} outcome unknown", self.unknown));
        }
        line
    }
}

/// The journal entry of one run: action "run", the targets, "ok" or the
/// summary, and details (the command, one line per host; never output).
pub fn journal_entry(command: &str, target: &str, results: &[HostRun]) -> JournalEntry {
    let s = Summary::of(results);
    let mut e = JournalEntry::now(
        "run",
        target,
        if s.all_ok() { "ok".into() } else { s.line() }.as_str(),
    );
    e.details.push(format!("command: {command}"));
    e.details.push(s.line());
    for r in results {
        let what = match r.outcome {
            Outcome::Ok | Outcome::Failed => match (&r.exit_signal, r.exit_status) {
                (Some(sig), _) => format!("signal {sig}"),
                (None, Some(c)) => format!("exit {c}"),
                (None, None) => "no exit status".into(),
            },
            o => o.label().to_string(),
        };
        e.details
            .push(format!("{}: {what} ({} ms)", r.host, r.elapsed_ms));
    }
    e
}

/// The first of `patterns` that `command` matches, for the TUI's confirm
/// step. Both sides are compared in lower case with runs of white space
/// made one space, a pattern only as whole words (`dd` is not in
/// `useradd x`), and `rm`'s recursive and force flags in any spelling
/// (`-r -f`, `-Rf`, `-fr`, `--recursive --force`) read as `rm -rf`.
pub fn dangerous_match<'a>(command: &str, patterns: &'a [String]) -> Option<&'a str> {
    let cmd = canonical_command(command);
    patterns
        .iter()
        .find(|p| {
            let pat = canonical_command(p);
            !pat.is_empty() && contains_words(&cmd, &pat)
        })
        .map(|p| p.as_str())
}

fn canonical_command(s: &str) -> String {
    let lower = s.to_lowercase();
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        out.push(t.to_string());
        i += 1;
        if t != "rm" && !t.ends_with("/rm") {
            continue;
        }
        let (mut recursive, mut force) = (false, false);
        let start = i;
        while i < tokens.len() && tokens[i].starts_with('-') && tokens[i] != "--" {
            match tokens[i] {
                "--recursive" => recursive = true,
                "--force" => force = true,
                f if !f.starts_with("--") => {
                    recursive |= f.contains('r');
                    force |= f.contains('f');
                }
                _ => {}
            }
            i += 1;
        }
        if recursive && force {
            out.push("-rf".into());
        } else {
            out.extend(tokens[start..i].iter().map(|t| t.to_string()));
        }
    }
    out.join(" ")
}

/// `pat` in `text` starting and ending at word boundaries (where the
/// pattern's own first or last character is part of a word).
fn contains_words(text: &str, pat: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let (first, last) = match (pat.chars().next(), pat.chars().last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return false,
    };
    text.match_indices(pat).any(|(i, _)| {
        let before = text[..i].chars().last();
        let after = text[i + pat.len()..].chars().next();
        let starts = !word(first) || before.is_none_or(|c| !word(c));
        let ends = !word(last) || after.is_none_or(|c| !word(c));
        starts && ends
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hr(
        host: &str,
        out: &str,
        code: Option<i32>,
        outcome: Outcome,
        err: Option<&str>,
    ) -> HostRun {
        HostRun {
            host: host.into(),
            exit_status: code,
            exit_signal: None,
            stdout: out.into(),
            stderr: String::new(),
            elapsed_ms: 5,
            outcome,
            error: err.map(str::to_string),
            output_dropped: 0,
            ssh_error: None,
        }
    }

    #[test]
    fn grouping_and_counts() {
        let rs = vec![
            hr("a", "x\n", Some(0), Outcome::Ok, None),
            hr("b", "y\n", Some(1), Outcome::Failed, None),
            hr("c", "x\n", Some(0), Outcome::Ok, None),
            hr("d", "x\n", Some(1), Outcome::Failed, None),
            hr("e", "", None, Outcome::Unreachable, Some("refused")),
            hr("f", "", None, Outcome::Unreachable, Some("refused")),
            hr(
                "g",
                "",
                None,
                Outcome::Timeout,
                Some("command timed out after 1s"),
            ),
        ];
        let g = group(&rs);
        let titles: Vec<String> = g.iter().map(|g| g.title()).collect();
        assert_eq!(titles, ["2 hosts: a, c", "b", "d", "2 hosts: e, f", "g"]);
        assert_eq!(g[0].status_text(), "exit 0");
        assert_eq!(g[3].status_text(), "unreachable: refused");
        let s = Summary::of(&rs);
        assert_eq!(
            s,
            Summary {
                total: 7,
                ok: 2,
                failed: 2,
                timeout: 1,
                unreachable: 2,
                unknown: 0,
            }
        );
        assert!(!s.all_ok());
        assert_eq!(
            s.line(),
            "7 hosts: 2 ok, 2 failed, 1 timed out, 2 unreachable"
        );
        let j = journal_entry("uptime", "all", &rs);
        assert_eq!(j.action, "run");
        assert_eq!(j.result, s.line());
        assert!(j.details.contains(&"g: timed out (5 ms)".to_string()));
        assert!(j.details.iter().all(|d| !d.contains("x\n")));
    }

    #[test]
    fn classification() {
        let ok = HostRun::from_done(HostDone {
            host: "a".into(),
            elapsed: Duration::from_millis(12),
            result: Ok(ExecOutput {
                stdout: b"\x1b[31mred\xff".to_vec(),
                exit_status: Some(0),
                ..Default::default()
            }),
        });
        assert_eq!(ok.outcome, Outcome::Ok);
        assert_eq!(ok.elapsed_ms, 12);
        assert_eq!(ok.stdout, "\x1b[31mred\u{fffd}");
        let g = group(&[ok]);
        assert_eq!(g[0].display_stdout(), "red\u{fffd}");
        let sig = HostRun::from_done(HostDone {
            host: "b".into(),
            elapsed: Duration::ZERO,
            result: Ok(ExecOutput {
                exit_signal: Some("KILL".into()),
                ..Default::default()
            }),
        });
        assert_eq!(sig.outcome, Outcome::Failed);
        assert_eq!(group(&[sig])[0].status_text(), "killed by signal KILL");
        let t = HostRun::from_done(HostDone {
            host: "c".into(),
            elapsed: Duration::ZERO,
            result: Err(SshError::CommandTimeout(Duration::from_secs(2))),
        });
        assert_eq!(t.outcome, Outcome::Timeout);
        let u = HostRun::from_done(HostDone::<ExecOutput> {
            host: "d".into(),
            elapsed: Duration::ZERO,
            result: Err(SshError::Auth("as x: key refused".into())),
        });
        assert_eq!(u.outcome, Outcome::Unreachable);
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["outcome"], "unreachable");
        assert_eq!(json["exit_status"], serde_json::Value::Null);
    }

    #[test]
    fn dangerous_patterns_match_words_and_any_rm_spelling() {
        let pats: Vec<String> = crate::model::RunSettings::default().dangerous_patterns;
        for cmd in [
            "rm -rf /var/tmp/x",
            "sudo rm  -rf /",
            "rm -r -f /srv",
            "rm -Rf /srv",
            "rm -fr /srv",
            "/bin/rm --recursive --force /srv",
            "REBOOT",
            "sudo  systemctl   stop nginx",
            "dd if=/dev/zero of=/dev/sda",
            "mkfs.ext4 /dev/sdb1",
            "shutdown -h now",
        ] {
            assert!(dangerous_match(cmd, &pats).is_some(), "{cmd}");
        }
        for cmd in [
            "useradd x",
            "uptime",
            "rm -f /tmp/lockfile",
            "rm -r /tmp/dir",
            "cat /var/log/rebooted.log",
            "systemctl status nginx",
            "df -h",
        ] {
            assert_eq!(dangerous_match(cmd, &pats), None, "{cmd}");
        }
        assert_eq!(dangerous_match("anything", &["".to_string()]), None);
        let own = vec!["DROP TABLE".to_string()];
        assert_eq!(
            dangerous_match("psql -c 'drop  table x'", &own),
            Some("DROP TABLE")
        );
    }
}
