//! The watch seen from inside the TUI (the real binary in a pty): the
//! header's "last sweep N ago (every 10m)" and its overdue warning, a host
//! "in maintenance", and the 30-day sparkline of each filesystem in the
//! Hosts details — from the state files a sweep leaves.

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;

use opsdeck::model::{CheckResult, Disk, Facts, Status};
use opsdeck::store::{Home, StateKind, Store};
use pty::Pty;

/// A home as sweeps left it: db1 checked, 10 days of /data samples
/// climbing from 40 % to 85 %, the last sweep `ago_s` seconds ago,
/// scheduled every 10 minutes, and a maintenance window around now.
fn home(dir: &Path, ago_s: i64) {
    let now = jiff::Zoned::now();
    let fmt = |z: &jiff::Zoned| z.strftime("%Y-%m-%d %H:%M").to_string();
    let from = now.checked_sub(jiff::Span::new().hours(1)).unwrap();
    let until = now.checked_add(jiff::Span::new().hours(1)).unwrap();
    std::fs::write(
        dir.join("hosts.toml"),
        "[[host]]\nname = \"db1\"\naddress = \"127.0.0.1\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("opsdeck.toml"),
        format!(
            "[[maintenance]]\ntargets = [\"db1\"]\nfrom = \"{}\"\nuntil = \"{}\"\nreason = \"disk swap\"\n",
            fmt(&from),
            fmt(&until)
        ),
    )
    .unwrap();
    let store = Store::load(Home::under(dir)).unwrap();
    let t = jiff::Timestamp::now();
    let check = CheckResult {
        host: "db1".into(),
        status: Status::Warn,
        error: None,
        reasons: vec!["/data 85% ≥ 80%".into()],
        elapsed_ms: 10,
        checked_at: t.to_string(),
        facts: Some(Facts {
            disks: vec![Disk {
                mount: "/data".into(),
                used_pct: 85.0,
                fstype: Some("ext4".into()),
                size_kb: Some(1_000_000),
            }],
            ..Default::default()
        }),
        last_known: None,
    };
    store
        .merge_state(StateKind::Checks, vec![check], |c: &CheckResult| {
            c.host.as_str()
        })
        .unwrap();
    let hist = dir.join("state/history/hosts");
    std::fs::create_dir_all(&hist).unwrap();
    let mut lines = String::new();
    for i in 0..10 {
        let at = t.as_second() - (9 - i) * 86_400;
        lines.push_str(&format!(
            "r\t{at}\t0.1\t40\t0\t0\t0\t/data={}\n",
            40 + i * 5
        ));
    }
    std::fs::write(hist.join("db1.tsv"), lines).unwrap();
    let last = jiff::Timestamp::from_second(t.as_second() - ago_s).unwrap();
    std::fs::write(
        dir.join("state/sweep-last.toml"),
        format!(
            "at = \"{}\"\ntook_ms = 1200\nstatus = \"warn\"\nsummary = \"1 host\"\n",
            last.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("state/schedule.toml"),
        "method = \"cron\"\nevery = \"10m\"\nevery_s = 600\ninstalled_at = \"2026-12-01T00:00:00Z\"\ndetail = \"\"\n",
    )
    .unwrap();
}

#[test]
fn last_sweep_maintenance_and_the_disk_sparkline() {
    let dir = tempfile::tempdir().unwrap();
    home(dir.path(), 240);
    let mut t = Pty::spawn(pty::opsdeck_tui(dir.path(), dir.path()), 120, 30);
    t.wait_text("last sweep 4m ago (every 10m)");
    t.send("2");
    t.wait_text("in maintenance (disk");
    // the history is read after the results, in the background: details
    // opened before it arrived show no sparkline until opened again
    // 0-100 % from ▁ to █: 40 % is ▄, 85 % ▇
    let spark = "/data ▄▄▅▅▅▆▆▆▇▇  40-85%";
    let mut s = String::new();
    for _ in 0..10 {
        t.send("\r");
        s = t.wait_text("Host db1 ");
        if s.contains(spark) {
            break;
        }
        t.send("\x1b");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(s.contains(spark), "{s}");
    assert!(
        s.contains("in a window now (disk swap): alerts muted"),
        "{s}"
    );
    t.send("q");
}

#[test]
fn an_overdue_sweep_is_said_in_the_header() {
    let dir = tempfile::tempdir().unwrap();
    home(dir.path(), 7200);
    let t = Pty::spawn(pty::opsdeck_tui(dir.path(), dir.path()), 120, 30);
    t.wait_text("SWEEP OVERDUE: last 2h ago (every 10m)");
}
