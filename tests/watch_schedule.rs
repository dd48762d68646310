//! `opsdeck schedule install / status / remove`. Where a systemd user
//! manager answers, the real timer is installed, seen active and removed;
//! without one (CI containers, this machine) the crontab path runs against
//! the real `crontab` of the `cron` package (root's crontab is saved and
//! restored), and the systemd units are generated into a directory and
//! checked with `systemd-analyze verify --user` (offline).

use std::path::Path;
use std::process::{Command, Stdio};

fn opsdeck(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("OPSDECK_NOW")
        .stdin(Stdio::null())
        .output()
        .expect("opsdeck")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn crontab() -> Option<String> {
    let o = Command::new("crontab").arg("-l").output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn systemd_user() -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn schedule_install_status_remove() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    // never run: status says so, exit 3
    let o = opsdeck(&home, &["schedule", "status"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("schedule: none"));

    if systemd_user() {
        eprintln!("systemd user manager present: testing the real timer");
        let o = opsdeck(&home, &["schedule", "install", "--every", "15m"]);
        assert!(o.status.success(), "{}", text(&o));
        let o = opsdeck(&home, &["schedule", "status"]);
        assert!(
            text(&o).contains("every 15m via systemd user timer"),
            "{}",
            text(&o)
        );
        assert!(!text(&o).contains("NOT FOUND"));
        let o = opsdeck(&home, &["schedule", "remove"]);
        assert!(o.status.success(), "{}", text(&o));
    } else {
        eprintln!("no systemd user manager: testing the crontab path");
        let before = crontab();
        // without --cron: the line is printed, nothing installed
        let o = opsdeck(&home, &["schedule", "install", "--every", "10m"]);
        assert!(o.status.success(), "{}", text(&o));
        let t = text(&o);
        assert!(t.contains("*/10 * * * * "), "{t}");
        assert!(t.contains(" sweep >/dev/null 2>&1 # opsdeck-sweep-"), "{t}");
        assert_eq!(crontab(), before, "printing installed something");
        // --cron installs it, next to what was there
        let o = opsdeck(&home, &["schedule", "install", "--every", "10m", "--cron"]);
        assert!(o.status.success(), "{}", text(&o));
        let tab = crontab().expect("a crontab now");
        let ours: Vec<&str> = tab
            .lines()
            .filter(|l| l.contains("# opsdeck-sweep-"))
            .collect();
        assert!(
            ours.iter().any(|l| l.contains(&home.display().to_string())),
            "{tab}"
        );
        for l in before.as_deref().unwrap_or("").lines() {
            assert!(tab.contains(l), "lost `{l}`");
        }
        // a second install replaces, never duplicates
        opsdeck(&home, &["schedule", "install", "--every", "30m", "--cron"]);
        let tab = crontab().unwrap();
        let home_s = home.display().to_string();
        assert_eq!(
            tab.lines().filter(|l| l.contains(&home_s)).count(),
            1,
            "{tab}"
        );
        assert!(tab.contains("*/30 * * * *"));

        let o = opsdeck(&home, &["schedule", "status"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("every 30m via crontab"), "{}", text(&o));
        assert!(text(&o).contains("last sweep: never"));
        // an hour and a half without a sweep: overdue (the dead man's switch)
        let o = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .arg("--home")
            .arg(&home)
            .args(["schedule", "status", "--json"])
            .env(
                "OPSDECK_NOW",
                (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(90)).to_string(),
            )
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["overdue_s"].as_u64().unwrap() >= 5300);
        assert_eq!(v["present"], true);

        let o = opsdeck(&home, &["schedule", "remove"]);
        assert!(o.status.success(), "{}", text(&o));
        let after = crontab();
        assert_eq!(
            after.as_deref().unwrap_or("").trim(),
            before.as_deref().unwrap_or("").trim()
        );
        let o = opsdeck(&home, &["schedule", "status"]);
        assert_eq!(o.status.code(), Some(3));

        // the systemd units, generated and verified offline
        let units = dir.path().join("units");
        let o = opsdeck(
            &home,
            &["schedule", "install", "--unit-dir", units.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", text(&o));
        let timer = std::fs::read_dir(&units)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "timer"))
            .unwrap();
        let service = std::fs::read_to_string(timer.with_extension("service")).unwrap();
        assert!(
            service.contains(&format!("--home \"{}\" sweep", home.display())),
            "{service}"
        );
        let verify = |dir: &Path| {
            let runtime = tempfile::tempdir().unwrap();
            let o = Command::new("systemd-analyze")
                .args(["verify", "--user"])
                .arg(timer.file_name().unwrap())
                .current_dir(dir)
                .env("XDG_RUNTIME_DIR", runtime.path())
                .output();
            o.ok().map(|o| {
                (
                    o.status.success(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            })
        };
        match verify(&units) {
            None => eprintln!("systemd-analyze missing: units not verified"),
            Some((ok, err)) => {
                assert!(ok && err.trim().is_empty(), "systemd-analyze: {err}");
                // the verifier does read them: a broken copy is reported
                let bad = dir.path().join("bad");
                std::fs::create_dir_all(&bad).unwrap();
                let t = std::fs::read_to_string(&timer).unwrap();
                std::fs::write(
                    bad.join(timer.file_name().unwrap()),
                    t.replace("OnUnitActiveSec=", "OnUnitActiveSec=banana"),
                )
                .unwrap();
                std::fs::write(
                    bad.join(timer.with_extension("service").file_name().unwrap()),
                    &service,
                )
                .unwrap();
                let (_, err) = verify(&bad).unwrap();
                assert!(err.contains("banana"), "{err}");
            }
        }
        let o = opsdeck(&home, &["schedule", "remove"]);
        assert!(o.status.success());
        assert!(!timer.exists());
    }
}
