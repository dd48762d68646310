//! The systemd units of `opsdeck schedule install`, checked by systemd
//! itself: this machine (and CI) has no systemd user manager to install
//! them into, but `systemd-analyze verify --user` loads unit files offline
//! (given an XDG_RUNTIME_DIR). A home whose path holds a space, a `%` and
//! a `$` (systemd's specifier and variable signs) must give units systemd
//! accepts; a broken copy shows the verifier really reads them.

use std::path::Path;
use std::process::Command;

use opsdeck::store::Home;
use opsdeck::watch::schedule;

/// stderr of `systemd-analyze verify --user UNIT` in `dir` (None: no systemd-analyze).
fn verify(dir: &Path, unit: &str) -> Option<(bool, String)> {
    let runtime = tempfile::tempdir().unwrap();
    let o = Command::new("systemd-analyze")
        .args(["verify", "--user", unit])
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .ok()?;
    Some((
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ))
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path().join("ops %z deck $HOME"));
    let cmd = schedule::sweep_command(Path::new(env!("CARGO_BIN_EXE_opsdeck")), &home);
    let (service, timer) = schedule::units(600, &cmd);
    let units = dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::write(units.join("opsdeck-sweep.service"), &service).unwrap();
    std::fs::write(units.join("opsdeck-sweep.timer"), &timer).unwrap();
    let Some((ok, err)) = verify(&units, "opsdeck-sweep.service") else {
        eprintln!("no systemd-analyze here: units not verified");
        return;
    };
    assert!(ok && err.trim().is_empty(), "{err}\n{service}");
    let (ok, err) = verify(&units, "opsdeck-sweep.timer").unwrap();
    assert!(ok && err.trim().is_empty(), "{err}\n{timer}");

    // the same text without the doubling: systemd reads %z as a specifier
    let raw = service.replace("%%", "%");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("opsdeck-sweep.service"), raw).unwrap();
    let (ok, err) = verify(&bad, "opsdeck-sweep.service").unwrap();
    assert!(!ok && err.contains("specifier"), "{err}");
    // and a bad timer value is reported
    std::fs::write(
        bad.join("opsdeck-sweep.timer"),
        timer.replace("OnUnitActiveSec=600s", "OnUnitActiveSec=banana"),
    )
    .unwrap();
    std::fs::write(bad.join("opsdeck-sweep.service"), &service).unwrap();
    let (_, err) = verify(&bad, "opsdeck-sweep.timer").unwrap();
    assert!(err.contains("banana"), "{err}");
}
