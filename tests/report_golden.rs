//! `opsdeck report` through the real binary on the fixed data set in
//! tests/fixtures/report/ (OPSDECK_HOME), with a fixed now (OPSDECK_NOW) and
//! TZ=UTC. The Markdown output is compared byte for byte with
//! tests/fixtures/report/golden.md; regenerate it with
//! `UPDATE_GOLDEN=1 cargo test --test report_golden` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-11-22T10:00:00Z";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "golden.md" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of the fixture home (the report records security first-seen dates).
fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), dir.path());
    dir
}

fn report(home: &Path, args: &[&str], now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("report")
        .args(args)
        .env("OPSDECK_HOME", home)
        .env("OPSDECK_NOW", now)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn markdown_matches_the_golden_file() {
    let h = home();
    let md = ok_stdout(&report(h.path(), &["--format", "markdown"], NOW));
    let golden = fixture_dir().join("golden.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &md).unwrap();
    }
    let want = std::fs::read_to_string(&golden)
        .expect("tests/fixtures/report/golden.md missing: run with UPDATE_GOLDEN=1");
    assert!(
        md == want,
        "report differs from {}; rerun with UPDATE_GOLDEN=1 and review the diff\n--- got ---\n{md}",
        golden.display()
    );
    // Markdown is the default format.
    assert_eq!(ok_stdout(&report(h.path(), &[], NOW)), md);
}

#[test]
fn markdown_is_safe_and_readable() {
    let h = home();
    let md = ok_stdout(&report(h.path(), &[], NOW));
    // no raw control characters from remote data (the ANSI escape in the error)
    assert!(
        !md.chars().any(|c| c.is_control() && c != '\n'),
        "control character in the report"
    );
    assert!(md.contains("connection timed out after 10s"));
    // pipes inside cells are escaped, so every table row has its column count
    assert!(md.contains("Line down \\| branch office"));
    assert!(md.contains("ISP\\|7"));
    for block in md.split("\n\n") {
        let rows: Vec<&str> = block.lines().filter(|l| l.starts_with('|')).collect();
        if rows.is_empty() {
            continue;
        }
        let cols = |l: &str| l.replace("\\|", "").matches('|').count();
        let n = cols(rows[0]);
        for r in &rows {
            assert_eq!(cols(r), n, "ragged table row: {r}");
        }
    }
    // the sections a manager or auditor looks for
    for s in [
        "## Summary",
        "### Needs attention",
        "## Hosts",
        "## Backups",
        "## Vendors",
        "### Open tickets",
        "## Lifecycle",
        "## Journal (last 30 days",
    ] {
        assert!(md.contains(s), "missing section {s}");
    }
    // the journal covers 30 days: the 2026-10-01 entry is out, 2026-11-10 in
    assert!(!md.contains("2026-10-01T08:00:00Z"));
    assert!(md.contains("2026-11-10T09:12:00Z"));
}

#[test]
fn json_parses_and_has_the_sections() {
    let h = home();
    let text = ok_stdout(&report(h.path(), &["--format", "json"], NOW));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["generated_at"], NOW);
    assert_eq!(v["today"], "2026-11-22");
    for s in [
        "summary",
        "hosts",
        "backups",
        "vendors",
        "lifecycle",
        "journal",
    ] {
        assert!(!v[s].is_null(), "missing section {s}");
    }
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 5);
    let web1 = &hosts[0];
    assert_eq!(web1["name"], "web1");
    assert_eq!(web1["status"], "warn");
    assert_eq!(web1["security_pending"], 3); // the check (09:00) is newer than the patch report (08:30)
    assert_eq!(web1["security_since"], "2026-11-15T09:00:00Z");
    assert_eq!(web1["reboot_required"], true);
    // unknown is null, never 0: web2 (apk, no security metadata), edge (never checked)
    assert!(hosts[1]["security_pending"].is_null());
    assert!(hosts[4]["status"].is_null());
    let c = &v["summary"]["counts"];
    assert_eq!(c["hosts"]["total"], 5);
    assert_eq!(c["hosts"]["unchecked"], 1);
    assert_eq!(c["backups"]["total"], 4);
    assert!(v["summary"]["attention"].as_array().unwrap().len() > 5);
    let first = &v["summary"]["attention"][0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["level"], "crit");
    assert_eq!(first["target"]["pane"], "hosts");
    assert_eq!(first["target"]["key"], "legacy");
    let acme = v["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Acme ISP")
        .unwrap();
    assert_eq!(acme["open_tickets"].as_array().unwrap().len(), 2);
    assert_eq!(acme["open_tickets"][0]["ref"], "CASE-1");
    assert_eq!(acme["contract_days_left"], 23);
    let lc = v["lifecycle"].as_array().unwrap();
    assert!(lc
        .iter()
        .any(|i| i["kind"] == "os_eol" && i["target"]["key"] == "web2"));
    let entries = v["journal"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["at"], "2026-11-10T09:12:00Z");
}

#[test]
fn output_file_is_written_atomically_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let h = home();
    let out = h.path().join("out/fleet.md");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, "old").unwrap();
    let o = report(h.path(), &["-o", out.to_str().unwrap()], NOW);
    assert!(ok_stdout(&o).is_empty(), "nothing on stdout with -o");
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, ok_stdout(&report(h.path(), &[], NOW)));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // no temp files left behind
    let names: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["fleet.md".to_string()]);
    // an unwritable destination: exit 73, message names the file
    let bad = report(h.path(), &["-o", "/proc/nope/report.md"], NOW);
    assert_eq!(bad.status.code(), Some(73));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/proc/nope"));
}

#[test]
fn security_first_seen_is_recorded_and_kept() {
    let h = home();
    std::fs::remove_file(h.path().join("state/security_since.toml")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&ok_stdout(&report(h.path(), &["--format", "json"], NOW))).unwrap();
    // first seen: the check time of the newest result that showed them
    assert_eq!(v["hosts"][0]["security_since"], "2026-11-22T09:00:00Z");
    let saved = std::fs::read_to_string(h.path().join("state/security_since.toml")).unwrap();
    assert!(saved.contains("2026-11-22T09:00:00Z"), "{saved}");
    // a day later the date stays
    let v: serde_json::Value = serde_json::from_str(&ok_stdout(&report(
        h.path(),
        &["--format", "json"],
        "2026-11-23T10:00:00Z",
    )))
    .unwrap();
    assert_eq!(v["hosts"][0]["security_since"], "2026-11-22T09:00:00Z");
}

#[test]
fn bad_now_and_bad_files_are_reported() {
    let h = home();
    let o = report(h.path(), &[], "yesterday");
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("OPSDECK_NOW"));
    std::fs::write(h.path().join("os-eol.toml"), "[[os]]\nid = \"x\"\n").unwrap();
    let o = report(h.path(), &[], NOW);
    assert_eq!(o.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&o.stderr).contains("os-eol.toml:1:1"));
}
