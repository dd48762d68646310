//! opsdeck run TARGET... -- COMMAND [ARG...]
//!
//! The words after `--` are quoted one by one (util::shell_join): the remote
//! shell sees exactly those words. For shell syntax, say so:
//! `opsdeck run all -- sh -c 'df -h / | tail -1'`.
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::*;
use crate::fleet::{self, Group, Summary};

pub fn run(home: &Home, a: &RunArgs) -> CmdResult {
    if a.command.is_empty() || a.command.iter().all(|w| w.trim().is_empty()) {
        return Err(Failure::usage(
            "no command: write `opsdeck run TARGET... -- COMMAND [ARG...]`",
        ));
    }
    if a.timeout == Some(0) {
        return Err(Failure::usage("--timeout must be at least 1 second"));
    }
    let (store, hosts) = load_targets(home, &a.targets)?;
    if hosts.is_empty() {
        return Err(Failure::usage(
            "no hosts to run on (add some with `opsdeck host add`)",
        ));
    }
    let command = crate::util::shell_join(&a.command);
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, a.accept_new)).with_cancel(
        cancel_on_interrupt("cancelling: hosts not started are skipped"),
    );
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal();
    let results = crate::ops::run::run(
        &ctx,
        hosts,
        &command,
        a.timeout.map(Duration::from_secs),
        &target_label(&a.targets),
        |_, n, total| {
            if progress {
                eprint!("\r{n}/{total} hosts done");
            }
        },
    );
    if progress {
        eprint!("\r\x1b[K");
    }

    let summary = Summary::of(&results);
    if a.json {
        out::json(&results)?;
    } else {
        let text = render(&fleet::group(&results), &summary, started.elapsed());
        out::text(&text);
    }
    Ok(if summary.all_ok() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

/// The text report: one block per group of identical results (remote text
/// sanitised), then the summary line.
pub fn render(groups: &[Group], summary: &Summary, elapsed: Duration) -> String {
    let mut s = String::new();
    for g in groups {
        s.push_str(&format!("=== {} ({})\n", g.title(), g.status_text()));
        let out = g.display_stdout();
        s.push_str(&out);
        if !out.is_empty() && !out.ends_with('\n') {
            s.push('\n');
        }
        let err = g.display_stderr();
        if !err.is_empty() {
            s.push_str("--- stderr\n");
            s.push_str(&err);
            if !err.ends_with('\n') {
                s.push('\n');
            }
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "{} in {:.1}s\n",
        summary.line(),
        elapsed.as_secs_f64()
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{HostRun, Outcome};

    #[test]
    fn rendering() {
        let mk = |h: &str, out: &str, err: &str, code: i32| HostRun {
            ssh_error: None,
            host: h.into(),
            exit_status: Some(code),
            exit_signal: None,
            stdout: out.into(),
            stderr: err.into(),
            elapsed_ms: 1,
            outcome: if code == 0 {
                Outcome::Ok
            } else {
                Outcome::Failed
            },
            error: None,
            output_dropped: 0,
        };
        let rs = vec![
            mk("a", "same\n", "", 0),
            mk("b", "diff\x1b]0;title\x07", "oops", 2),
            mk("c", "same\n", "", 0),
        ];
        let text = render(
            &fleet::group(&rs),
            &Summary::of(&rs),
            Duration::from_millis(1500),
        );
        assert_eq!(
            text,
            "=== 2 hosts: a, c (exit 0)\nsame\n\n=== b (exit 2)\ndiff\n--- stderr\noops\n\n3 hosts: 2 ok, 1 failed, 0 timed out, 0 unreachable in 1.5s\n"
        );
    }
}
