//! Test helpers of the backups area: a recording wrapper around any
//! `backups::Exec`, and fixtures (real restic and borg repositories in temp dirs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opsdeck::backups::Exec;
use opsdeck::model::{BackupJob, BackupKind};
use opsdeck::ssh::{ExecOptions, ExecOutput, SshError};

/// Records every command line given to the wrapped Exec.
pub struct Recording<E> {
    pub inner: E,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl<E: Exec> Exec for Recording<E> {
    fn exec(&mut self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        if let Ok(mut l) = self.lines.lock() {
            l.push(command.to_string());
        }
        self.inner.exec(command, opts)
    }
}

pub const RESTIC_PW: &str = "rp-Zebra-7781-correct-horse";
pub const BORG_PW: &str = "bp-Quokka-4410-battery-staple";
pub const WRONG_PW: &str = "wp-Nope-0000-not-it";

/// Temp dir with: data/ to back up; restic repos (`restic`: one snapshot 2 h
/// old, `restic-empty`: none); borg repos (`borg`: one archive 2 h old,
/// `borg-empty`); password files; files for `path` jobs.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Fixture {
    pub fn new() -> Fixture {
        Self::build(true)
    }

    /// Only the borg repositories and the password files.
    pub fn new_borg_only() -> Fixture {
        Self::build(false)
    }

    fn build(everything: bool) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("opsdeck-backups-")
            .tempdir()
            .expect("tempdir");
        let f = Fixture { dir };
        let d = f.path();
        std::fs::create_dir_all(d.join("data/sub")).unwrap();
        std::fs::write(d.join("data/a.txt"), "hello").unwrap();
        std::fs::write(d.join("data/sub/b.txt"), "world").unwrap();
        std::fs::write(d.join("restic.pw"), format!("{RESTIC_PW}\n")).unwrap();
        std::fs::write(d.join("borg.pw"), format!("{BORG_PW}\n")).unwrap();
        std::fs::write(d.join("wrong.pw"), format!("{WRONG_PW}\n")).unwrap();
        std::fs::write(
            d.join("restic.env"),
            format!("RESTIC_CACHE_DIR={}\n", d.join("cache").display()),
        )
        .unwrap();
        // Files opened to others would be a finding of their own; keep 0600.
        for p in ["restic.pw", "borg.pw", "wrong.pw"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d.join(p), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let two_h_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
        let stamp = two_h_ago.strftime("%Y-%m-%d %H:%M:%S").to_string();
        let restic = |args: &[&str]| {
            let mut c = Command::new("restic");
            c.args(args)
                .env("RESTIC_PASSWORD_FILE", d.join("restic.pw"))
                .env("RESTIC_CACHE_DIR", d.join("cache"))
                .env("TZ", "UTC")
                .current_dir(&d);
            run(&mut c);
        };
        restic(&["init", "-q", "-r", "restic"]);
        restic(&["init", "-q", "-r", "restic-empty"]);
        restic(&[
            "-r", "restic", "backup", "-q", "--tag", "nightly", "--time", &stamp, "data",
        ]);
        let borg = |args: &[&str]| {
            let mut c = Command::new("borg");
            c.args(args)
                .env("BORG_PASSPHRASE", BORG_PW)
                .env("BORG_BASE_DIR", d.join("borg-base"))
                .current_dir(&d);
            run(&mut c);
        };
        borg(&["init", "-e", "repokey", "borg"]);
        if everything {
            borg(&["init", "-e", "repokey", "borg-empty"]);
        }
        let utc = two_h_ago.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        borg(&["create", "--timestamp", &utc, "borg::nightly-1", "data"]);
        // path jobs
        std::fs::create_dir_all(d.join("dumps/fresh")).unwrap();
        std::fs::create_dir_all(d.join("dumps/stale")).unwrap();
        std::fs::create_dir_all(d.join("dumps/empty")).unwrap();
        std::fs::create_dir_all(d.join("dumps/none")).unwrap();
        std::fs::write(d.join("dumps/fresh/db-1.sql.gz"), vec![7u8; 4096]).unwrap();
        std::fs::write(d.join("dumps/fresh/db-0.sql.gz"), vec![7u8; 4096]).unwrap();
        set_age(
            &d.join("dumps/fresh/db-0.sql.gz"),
            Duration::from_secs(10 * 86400),
        );
        std::fs::write(d.join("dumps/stale/db.sql.gz"), vec![7u8; 4096]).unwrap();
        set_age(
            &d.join("dumps/stale/db.sql.gz"),
            Duration::from_secs(3 * 86400),
        );
        std::fs::write(d.join("dumps/empty/db.sql.gz"), b"").unwrap();
        f
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn p(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    /// A job with defaults: host, max_age 26h.
    pub fn job(&self, name: &str, host: &str, kind: BackupKind) -> BackupJob {
        BackupJob::new(name, host, kind, "26h")
    }

    /// The jobs of the matrix, with what each must give: (job, status, text in reasons).
    pub fn matrix(&self, host: &str) -> Vec<(BackupJob, &'static str, &'static str)> {
        use BackupKind::*;
        let restic = |name: &str| BackupJob {
            repository: Some(self.p("restic")),
            password_file: Some(self.p("restic.pw")),
            env_file: Some(self.p("restic.env")),
            ..self.job(name, host, Restic)
        };
        let borg = |name: &str| BackupJob {
            repository: Some(self.p("borg")),
            passcommand: Some(format!("cat {}", self.p("borg.pw"))),
            ..self.job(name, host, Borg)
        };
        let path = |name: &str, rel: &str| BackupJob {
            path: Some(self.p(rel)),
            ..self.job(name, host, Path)
        };
        let command = |name: &str, cmd: &str| BackupJob {
            command: Some(cmd.into()),
            ..self.job(name, host, Command)
        };
        let now = jiff::Timestamp::now().as_second();
        vec![
            (restic("restic-fresh"), "ok", "old (max_age 26h)"),
            (
                BackupJob {
                    password_file: None,
                    password_command: Some(format!("cat {}", self.p("restic.pw"))),
                    tag: Some("nightly".into()),
                    ..restic("restic-pwcmd-tag")
                },
                "ok",
                "old (max_age 26h)",
            ),
            (
                BackupJob {
                    max_age: "1h".into(),
                    ..restic("restic-stale")
                },
                "crit",
                "older than max_age 1h",
            ),
            (
                BackupJob {
                    password_file: Some(self.p("wrong.pw")),
                    ..restic("restic-wrongpw")
                },
                "crit",
                "wrong password",
            ),
            (
                BackupJob {
                    repository: Some(self.p("no-such-repo")),
                    ..restic("restic-missing")
                },
                "crit",
                "no restic repository at",
            ),
            (
                BackupJob {
                    repository: Some(self.p("restic-empty")),
                    ..restic("restic-empty")
                },
                "crit",
                "no snapshot",
            ),
            (
                BackupJob {
                    tag: Some("weekly".into()),
                    ..restic("restic-othertag")
                },
                "crit",
                "no snapshot (with tag weekly)",
            ),
            (borg("borg-fresh"), "ok", "old (max_age 26h)"),
            (
                BackupJob {
                    max_age: "1h".into(),
                    ..borg("borg-stale")
                },
                "crit",
                "older than max_age 1h",
            ),
            (
                BackupJob {
                    passcommand: Some(format!("cat {}", self.p("wrong.pw"))),
                    ..borg("borg-wrongpw")
                },
                "crit",
                "wrong passphrase",
            ),
            (
                BackupJob {
                    passcommand: None,
                    ..borg("borg-nopass")
                },
                "crit",
                "is encrypted: set `passcommand`",
            ),
            (
                BackupJob {
                    repository: Some(self.p("no-such-borg")),
                    ..borg("borg-missing")
                },
                "crit",
                "no borg repository at",
            ),
            (
                BackupJob {
                    repository: Some(self.p("borg-empty")),
                    ..borg("borg-empty")
                },
                "crit",
                "no snapshot",
            ),
            (path("path-fresh", "dumps/fresh"), "ok", "old (max_age 26h)"),
            (
                BackupJob {
                    min_size: Some(1000),
                    ..path("path-glob", "dumps/fresh/db-*.sql.gz")
                },
                "ok",
                "old (max_age 26h)",
            ),
            (
                path("path-stale", "dumps/stale"),
                "crit",
                "older than max_age 26h",
            ),
            (
                BackupJob {
                    min_size: Some(1),
                    ..path("path-zero", "dumps/empty")
                },
                "crit",
                "is 0 bytes, below min_size 1",
            ),
            (
                path("path-nofile", "dumps/none"),
                "crit",
                "no file found at",
            ),
            (
                path("path-nomatch", "dumps/*.tar"),
                "crit",
                "no file found at",
            ),
            (
                command(
                    "command-fails",
                    "echo 'dump server unreachable' >&2; exit 4",
                ),
                "crit",
                "the command failed (exit 4): dump server unreachable",
            ),
            (
                command("command-unix", &format!("echo {}", now - 600)),
                "ok",
                "10m old (max_age 26h)",
            ),
            (
                command("command-rfc3339", "date -u +%Y-%m-%dT%H:%M:%SZ"),
                "ok",
                "old (max_age 26h)",
            ),
        ]
    }
}

/// Set a file's mtime to `age` ago.
pub fn set_age(p: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

/// Every file under `dir` (recursively), as text, for "no secret in it" checks.
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(read_tree(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, String::from_utf8_lossy(&b).into_owned()));
        }
    }
    out
}
