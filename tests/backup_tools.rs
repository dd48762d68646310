//! Backup checks against REAL restic and borg repositories (and real files
//! and commands) made in a temp dir, run on the jump box (`host = "local"`).

#[path = "common/backup_exec.rs"]
mod backup_exec;

use std::sync::{Arc, Mutex};

use backup_exec::{Fixture, Recording, BORG_PW, RESTIC_PW, WRONG_PW};
use opsdeck::backups::{check_job, Exec};
use opsdeck::model::Status;
use opsdeck::ssh::{ExecOptions, ExecOutput, SshError};

/// Runs `sh -c` locally with extra environment (to run the host side in
/// another time zone).
struct LocalSh {
    env: Vec<(&'static str, &'static str)>,
}

impl Exec for LocalSh {
    fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let start = std::time::Instant::now();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(self.env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SshError::Other(e.to_string()))?;
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(opts.stdin.as_deref().unwrap_or_default());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| SshError::Other(e.to_string()))?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_status: out.status.code(),
            exit_signal: None,
            elapsed: start.elapsed(),
        })
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Crit => "crit",
        Status::Unknown => "unknown",
    }
}

#[test]
fn real_tools_on_the_jump_box() {
    let fx = Fixture::new();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut exec = Recording {
        inner: LocalSh { env: Vec::new() },
        lines: lines.clone(),
    };
    let mut failures = Vec::new();
    let mut all_json = String::new();
    for (job, want_status, want_text) in fx.matrix("local") {
        let r = check_job(&mut exec, &job, None);
        let joined = r.reasons.join(" | ");
        if status_name(r.status) != want_status || !joined.contains(want_text) {
            failures.push(format!(
                "{}: got {:?} {:?} (error {:?}), want {want_status} with {want_text:?}",
                job.name, r.status, r.reasons, r.error
            ));
        }
        if want_status == "ok" {
            assert!(r.latest.is_some() && r.age_s.is_some(), "{r:?}");
        }
        all_json.push_str(&serde_json::to_string(&r).unwrap());
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // No secret in any result, nor in any command line we ran.
    for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
        assert!(!all_json.contains(pw), "a password leaked into a result");
        for l in lines.lock().unwrap().iter() {
            assert!(!l.contains(pw), "a password is in a command line: {l}");
        }
    }
}

/// borg prints local times without a zone: a host in New York (UTC-5 in
/// November) must still give the archive's true age (2 h), not 2 h ± 5 h.
#[test]
fn borg_local_time_in_another_zone() {
    let fx = Fixture::new_borg_only();
    let job = opsdeck::model::BackupJob {
        repository: Some(fx.p("borg")),
        passcommand: Some(format!("cat {}", fx.p("borg.pw"))),
        ..fx.job("borg-ny", "local", opsdeck::model::BackupKind::Borg)
    };
    for tz in ["America/New_York", "Asia/Kolkata", "UTC"] {
        let mut exec = LocalSh {
            env: vec![("TZ", tz)],
        };
        let r = check_job(&mut exec, &job, None);
        assert_eq!(r.status, Status::Ok, "{tz}: {r:?}");
        let age = r.age_s.unwrap();
        assert!((7000..7600).contains(&age), "{tz}: age {age}");
    }
}
