//! Backup checks against REAL restic and borg repositories (and real files
//! and commands) made in a temp dir, run on the jump box (`host = "local"`)
//! and through a real loopback sshd (the engine's harness).

mod common;

#[path = "common/backup_exec.rs"]
mod backup_exec;

use std::sync::{Arc, Mutex};

use backup_exec::{Fixture, Recording, BORG_PW, RESTIC_PW, WRONG_PW};
use common::sshd::{Fleet, FleetOptions, HostOptions};
use opsdeck::backups::run::check_all_blocking;
use opsdeck::backups::{check_job, Exec};
use opsdeck::model::{BackupJob, BackupKind, Status};
use opsdeck::ssh::{AgentChoice, Engine, EngineOptions, ExecOptions, ExecOutput, SshError};

/// Runs `sh -c` locally with extra environment (to run the "host" side in
/// another time zone; Conn::local inherits the test's environment).
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
            dropped: 0,
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
        inner: Engine::new(
            &opsdeck::model::SshSettings {
                command_timeout_s: 300,
                ..Default::default()
            },
            EngineOptions::default(),
        )
        .local(),
        lines: lines.clone(),
    };
    let mut failures = Vec::new();
    let mut all_json = String::new();
    for (job, want_status, want_text) in fx.matrix("local") {
        let r = check_job(&mut exec, &job, None);
        all_json.push_str(&serde_json::to_string(&r).unwrap());
        expect(&r, &job, want_status, want_text, &mut failures);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // No secret in any result, nor in any command line we ran.
    for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
        assert!(!all_json.contains(pw), "a password leaked into a result");
        for l in lines.lock().unwrap().iter() {
            assert!(!l.contains(pw), "a password is in a command line: {l}");
        }
    }
    assert_eq!(lines.lock().unwrap().len(), fx.matrix("local").len());
}

fn expect(
    r: &opsdeck::model::BackupResult,
    job: &BackupJob,
    want_status: &str,
    want_text: &str,
    failures: &mut Vec<String>,
) {
    {
        let joined = r.reasons.join(" | ");
        if status_name(r.status) != want_status || !joined.contains(want_text) {
            failures.push(format!(
                "{}: got {:?} {:?} (error {:?}), want {want_status} with {want_text:?}",
                job.name, r.status, r.reasons, r.error
            ));
        }
        if want_status == "ok" && (r.latest.is_none() || r.age_s.is_none()) {
            failures.push(format!("{}: ok without latest/age: {r:?}", job.name));
        }
    }
}

/// The same matrix on a host reached through a real sshd (one connection for
/// all its jobs), plus a job on an unknown host and one on a dead host. The
/// sshd runs every command through a recorder (ForceCommand, which sees
/// exactly the command line that crossed the wire): no password in it, nor
/// in the sshd's DEBUG3 log (whose debug lines also reach the sessions'
/// stderr: the checks must not mistake them for the tools' messages).
#[test]
fn real_tools_over_ssh() {
    let fx = Fixture::new();
    let recorder = fx.path().join("record.sh");
    let commands = fx.path().join("commands.log");
    std::fs::write(
        &recorder,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$SSH_ORIGINAL_COMMAND\" >> '{}'\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
            commands.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Generous timeouts: the suite runs on 2 shared cores (load 40+ seen);
    // a timeout here would be a false failure, not a finding.
    let mut fleet = Fleet::new(FleetOptions {
        connect_timeout_s: 60,
        command_timeout_s: 300,
        ..Default::default()
    });
    fleet.add_host(
        "nas",
        HostOptions {
            extra_sshd_config: vec![
                "LogLevel DEBUG3".into(),
                format!("ForceCommand {}", recorder.display()),
            ],
            ..Default::default()
        },
    );
    fleet.add_refused("dead");
    let engine = Engine::with_agent(
        &fleet.ssh_settings(),
        EngineOptions { accept_new: false },
        AgentChoice::Off,
    );
    let matrix = fx.matrix("nas");
    let mut jobs: Vec<BackupJob> = matrix.iter().map(|m| m.0.clone()).collect();
    let extra = [
        (
            fx.job("on-ghost", "ghost", BackupKind::Path),
            "not in hosts.toml",
        ),
        (
            fx.job("on-dead", "dead", BackupKind::Path),
            "dead: connection failed",
        ),
    ];
    for (j, _) in &extra {
        jobs.push(BackupJob {
            path: Some("/tmp".into()),
            ..j.clone()
        });
    }
    let mut seen = 0;
    let results = check_all_blocking(
        &engine,
        &fleet.model_hosts(),
        jobs.clone(),
        None,
        Default::default(),
        |_, done, total| {
            seen = done;
            assert!(done <= total);
        },
    )
    .into_iter()
    .map(|d| d.result)
    .collect::<Vec<_>>();
    assert_eq!(seen, jobs.len());
    assert_eq!(
        results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        "results in the order of the jobs"
    );
    let mut failures = Vec::new();
    for (r, (job, st, text)) in results.iter().zip(&matrix) {
        expect(r, job, st, text, &mut failures);
    }
    for (r, (_, text)) in results[matrix.len()..].iter().zip(&extra) {
        if r.status != Status::Crit || !r.reasons.join(" ").contains(text) {
            failures.push(format!(
                "{}: {:?} {:?}, want crit with {text:?}",
                r.name, r.status, r.reasons
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let log = fleet.sshd_log("nas");
    let ran = std::fs::read_to_string(&commands).unwrap();
    assert!(
        ran.contains("RESTIC_PASSWORD_FILE") && ran.contains("BORG_PASSCOMMAND"),
        "the recorder must have seen the commands:\n{ran}"
    );
    assert!(!log.is_empty());
    let json = serde_json::to_string(&results).unwrap();
    for pw in [RESTIC_PW, BORG_PW, WRONG_PW] {
        // `ran` is exactly the command lines that reached the host.
        assert!(
            !ran.contains(pw),
            "a password is in the remote command line"
        );
        assert!(!log.contains(pw), "a password is in the sshd log");
        assert!(!json.contains(pw), "a password is in a result");
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

/// The path kind's script with busybox's sh, find, stat and awk only (an
/// Alpine / embedded host), and the command kind too.
#[test]
fn path_and_command_on_busybox() {
    let fx = Fixture::new_borg_only();
    let bin = fx.path().join("bb");
    std::fs::create_dir_all(&bin).unwrap();
    for applet in [
        "sh", "find", "stat", "awk", "date", "cat", "readlink", "echo", "printf", "touch",
    ] {
        std::os::unix::fs::symlink("/usr/bin/busybox", bin.join(applet)).unwrap();
    }
    let path = bin.display().to_string().leak() as &'static str;
    let mut exec = LocalSh {
        env: vec![("PATH", path)],
    };
    let who = exec
        .exec(
            "find --help 2>&1; readlink /proc/$$/exe",
            &ExecOptions::default(),
        )
        .unwrap();
    let who = String::from_utf8_lossy(&who.stdout);
    assert!(who.contains("BusyBox") && who.contains("busybox"), "{who}");
    let mut failures = Vec::new();
    for (job, want, text) in fx.matrix("local") {
        if !matches!(job.kind, BackupKind::Path | BackupKind::Command) {
            continue;
        }
        let r = check_job(&mut exec, &job, None);
        expect(&r, &job, want, text, &mut failures);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
