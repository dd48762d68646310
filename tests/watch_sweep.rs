//! The watch through the real binary: `opsdeck sweep` against real sshd
//! hosts, a real HTTP receiver (webhook and dead man's pings) and a real
//! SMTP server (Debian's python3-aiosmtpd: STARTTLS, AUTH) started here.
//!
//! db1's `df` is a stand-in printing df's own format (`df -P -k -T`) for a
//! /data filesystem whose use the test sets before each sweep (a real
//! filesystem of that size cannot be filled step by step on a shared
//! machine, and tmpfs is skipped as a pseudo filesystem, as check_disk
//! does); web1 keeps real dump files for a `path` backup job whose newest
//! dump shrinks. Time moves by `OPSDECK_NOW`, four hours a sweep, TZ=UTC.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::sshd::{write_stub, Fleet, FleetOptions, HostOptions};

const PY: &str = "/usr/bin/python3";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A receiver started from tests/fixtures/watch/; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    fn start(script: &str, log: PathBuf, extra: &[&Path]) -> Receiver {
        let mut child = Command::new(PY)
            .arg(fixture(&format!("watch/{script}")))
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (apt-get install python3 python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("port from {script}: `{line}`"));
        Receiver { child, port, log }
    }
    /// Every JSON line logged so far.
    fn lines(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stub dir whose `apt-get` lists nothing pending (real format), and, for
/// db1, a `df` printing /data at the percentage in `pct`.
fn stubs(dir: &Path, with_df: bool) -> PathBuf {
    write_stub(
        dir,
        "apt-get",
        &format!(
            "#!/bin/sh\ncat '{}'\n",
            fixture("checks/apt-none.txt").display()
        ),
    );
    if with_df {
        let pct = dir.join("pct");
        fs::write(&pct, "60\n").unwrap();
        write_stub(
            dir,
            "df",
            &format!(
                "#!/bin/sh\np=$(cat '{}')\nused=$((p * 10000))\navail=$((1000000 - used))\n\
                 echo 'Filesystem     Type 1024-blocks    Used Available Capacity Mounted on'\n\
                 printf '/dev/vdb1      ext4     1000000 %s %s %s%% /data\\n' \"$used\" \"$avail\" \"$p\"\n",
                pct.display()
            ),
        );
    }
    dir.to_path_buf()
}

struct Watch {
    fleet: Fleet,
    hook: Receiver,
    smtp: Receiver,
    cert: PathBuf,
    dumps: PathBuf,
    base: i64,
}

impl Watch {
    fn new() -> Watch {
        let mut fleet = Fleet::new(FleetOptions::default());
        let dir = fleet.dir().to_path_buf();
        fleet.add_host(
            "db1",
            HostOptions {
                stub_path: Some(stubs(&dir.join("stub-db1"), true)),
                ..Default::default()
            },
        );
        fleet.add_host(
            "web1",
            HostOptions {
                stub_path: Some(stubs(&dir.join("stub-web1"), false)),
                ..Default::default()
            },
        );
        let hook = Receiver::start("http_receiver.py", dir.join("http.log"), &[]);
        // the SMTP server's certificate, for 127.0.0.1, trusted through SSL_CERT_FILE
        let (cert, key) = (dir.join("smtp.crt"), dir.join("smtp.key"));
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(ok.success());
        let smtp = Receiver::start("smtp_receiver.py", dir.join("smtp.log"), &[&cert, &key]);
        let dumps = dir.join("dumps");
        fs::create_dir_all(&dumps).unwrap();
        let home = fleet.home();
        fs::write(
            home.join("backups.toml"),
            format!(
                "[[backup]]\nname = \"web1-dumps\"\nhost = \"web1\"\nkind = \"path\"\npath = \"{}/*.dump\"\nmax_age = \"30d\"\n",
                dumps.display()
            ),
        )
        .unwrap();
        let mut settings = fs::read_to_string(home.join("opsdeck.toml")).unwrap();
        settings.push_str(&format!(
            "\n[alerts]\nwebhook = [\"http://127.0.0.1:{p}/hook\"]\nping = \"http://127.0.0.1:{p}/ping\"\nmail_to = [\"admin@example.org\"]\nmail_from = \"opsdeck <opsdeck@example.org>\"\n\n[alerts.smtp]\nhost = \"127.0.0.1\"\nport = {s}\nuser = \"ops\"\npassword_command = \"echo secret\"\nstarttls = true\n\n[[maintenance]]\ntargets = [\"db1\"]\nfrom = \"2026-12-11 04:00\"\nuntil = \"2026-12-11 12:00\"\nreason = \"disk swap\"\n",
            p = hook.port,
            s = smtp.port
        ));
        fs::write(home.join("opsdeck.toml"), settings).unwrap();
        Watch {
            fleet,
            hook,
            smtp,
            cert,
            dumps,
            // 2026-12-10T00:00:00Z
            base: 1_796_860_800,
        }
    }

    fn set_disk(&self, pct: u32) {
        fs::write(self.fleet.dir().join("stub-db1/pct"), format!("{pct}\n")).unwrap();
    }

    /// A new dump of `size` bytes, newer than every other.
    fn dump(&self, n: u32, size: usize) {
        let p = self.dumps.join(format!("{n:03}.dump"));
        fs::write(&p, vec![b'x'; size]).unwrap();
        let st = Command::new("touch")
            .arg("-d")
            .arg(format!("@{}", 1_764_000_000 + i64::from(n) * 3600))
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// `opsdeck sweep --json` at base + `hours`: (exit code, document).
    fn sweep(&self, hours: i64) -> (i32, serde_json::Value) {
        let now = jiff::Timestamp::from_second(self.base + hours * 3600).unwrap();
        let out = self
            .fleet
            .opsdeck(&["sweep", "--json"])
            .env("OPSDECK_NOW", now.to_string())
            .env("TZ", "UTC")
            .env("SSL_CERT_FILE", &self.cert)
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "sweep at +{hours}h: {e}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    /// The webhook events since `from` (index into the log): (event, id).
    fn told(&self, from: usize) -> Vec<(String, String)> {
        self.hook
            .lines()
            .into_iter()
            .filter(|l| l["path"] == "/hook")
            .skip(from)
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l["body"].as_str()?).ok())
            .map(|b| {
                (
                    b["event"].as_str().unwrap_or("").to_string(),
                    b["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
    fn hooks(&self) -> usize {
        self.hook
            .lines()
            .iter()
            .filter(|l| l["path"] == "/hook")
            .count()
    }
}

const FORECAST: &str = "disk_forecast:hosts:db1:/data";
const DISK: &str = "disk:hosts:db1:/data";
const SMALL: &str = "anomaly:backups:web1-dumps:size";

fn of(told: &[(String, String)], id: &str) -> Vec<String> {
    told.iter()
        .filter(|(_, i)| i == id)
        .map(|(e, _)| e.clone())
        .collect()
}

#[test]
fn forecasts_anomalies_and_alerts_told_once_per_change() {
    let w = Watch::new();
    let sizes = [10_000, 10_500, 11_000, 10_200, 1_000];
    // five sweeps, four hours apart: /data fills by 1 point each (6 a day)
    for (i, pct) in (60..=64).enumerate() {
        w.set_disk(pct);
        w.dump(i as u32, sizes[i]);
        let before = w.hooks();
        let (_, v) = w.sweep(4 * i as i64);
        let told = w.told(before);
        if i < 4 {
            assert!(
                of(&told, FORECAST).is_empty(),
                "sweep {i}: too few samples to forecast"
            );
            assert!(of(&told, SMALL).is_empty(), "sweep {i}");
        } else {
            // the forecast appears: told once, with its date
            assert_eq!(of(&told, FORECAST), ["new"], "{told:?}");
            let item = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["category"] == "disk_forecast")
                .expect("a forecast item");
            assert_eq!(item["what"], "db1: /data full in 6 days", "{item}");
            assert!(
                item["why"].as_str().unwrap().starts_with("on 2026-12-16"),
                "{item}"
            );
            // the newest dump is a tenth of its usual size
            assert_eq!(of(&told, SMALL), ["new"], "{told:?}");
            // `check` gives the forecast as a reason of db1 (a trend
            // check: its status is raised to the forecast's level)
            let out = w
                .fleet
                .opsdeck(&["check", "db1", "--json"])
                .env("TZ", "UTC")
                .output()
                .unwrap();
            let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let reasons = c[0]["reasons"].to_string();
            assert!(
                reasons.contains("/data full in 6 days: on 2026-12-16"),
                "{reasons}"
            );
            assert_ne!(c[0]["status"], "ok", "{c}");
            assert!(
                !reasons.contains("too small"),
                "backup items stay with backups"
            );
            // two days without a sweep: the forecast is no longer news
            let later = jiff::Timestamp::from_second(w.base + (16 + 48) * 3600).unwrap();
            let out = w
                .fleet
                .opsdeck(&["check", "db1", "--json"])
                .env("OPSDECK_NOW", later.to_string())
                .env("TZ", "UTC")
                .output()
                .unwrap();
            let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(!c[0]["reasons"].to_string().contains("full in"), "{c}");
        }
    }
    // the dead man's switch: /start and the end of every sweep
    let pings: Vec<String> = w
        .hook
        .lines()
        .iter()
        .filter(|l| l["path"].as_str().unwrap_or("").starts_with("/ping"))
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pings.len(), 10);
    assert_eq!(&pings[..2], ["/ping/start", "/ping"]);

    // the mail of the fifth sweep: through STARTTLS, authenticated
    let mails = w.smtp.lines();
    let last = mails.last().expect("a mail");
    assert_eq!(last["login"], "ops");
    assert_eq!(last["to"][0], "admin@example.org");
    let data = last["data"].as_str().unwrap();
    assert!(data.contains("Subject: [opsdeck] "), "{data}");
    assert!(data.contains("db1: /data full in 6 days"), "{data}");
    assert!(
        data.contains("backup web1-dumps: finished too small"),
        "{data}"
    );

    // it stays: nothing told again
    w.set_disk(65);
    let before = w.hooks();
    w.sweep(20);
    let told = w.told(before);
    assert!(
        of(&told, FORECAST).is_empty() && of(&told, SMALL).is_empty(),
        "{told:?}"
    );

    // cleaned up: the forecast clears, once
    w.set_disk(30);
    let before = w.hooks();
    let (_, v) = w.sweep(24);
    assert_eq!(of(&w.told(before), FORECAST), ["cleared"]);
    assert!(!v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["category"] == "disk_forecast"));

    // in the maintenance window (2026-12-11 04:00-12:00): db1 fills, nothing told
    w.set_disk(85);
    for h in [28, 32] {
        let before = w.hooks();
        let (_, v) = w.sweep(h);
        assert_eq!(v["maintenance"]["db1"], "disk swap");
        let told = w.told(before);
        assert!(of(&told, DISK).is_empty(), "muted at +{h}h: {told:?}");
    }
    // the window's end brings what is still open, then a rise is told
    let before = w.hooks();
    let (code, v) = w.sweep(36);
    assert!(v["maintenance"].as_object().unwrap().is_empty());
    assert_eq!(of(&w.told(before), DISK), ["new"]);
    assert!(code >= 1, "a disk over 80% warns");
    w.set_disk(95);
    let before = w.hooks();
    let (code, _) = w.sweep(40);
    assert_eq!(of(&w.told(before), DISK), ["worse"]);
    assert_eq!(code, 2);

    // history: the samples are there, for the CLI too
    let out = w
        .fleet
        .opsdeck(&["history", "db1", "--json"])
        .output()
        .unwrap();
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pcts: Vec<f64> = h
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["disks"][0]["used_pct"].as_f64())
        .collect();
    assert_eq!(
        pcts,
        [60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 30.0, 85.0, 85.0, 85.0, 95.0]
    );
    // one journal entry per sweep
    let journal = fs::read_to_string(w.fleet.home().join("state/journal.toml")).unwrap();
    assert_eq!(journal.matches("action = \"sweep\"").count(), 11);
}

#[test]
fn one_sweep_at_a_time_and_a_killed_sweep_leaves_state_readable() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let dir = fleet.dir().to_path_buf();
    let stub = stubs(&dir.join("stub"), false);
    // a slow host: its df takes two seconds
    write_stub(&stub, "df", "#!/bin/sh\nsleep 2\nexec /bin/df \"$@\"\n");
    fleet.add_host(
        "slow",
        HostOptions {
            stub_path: Some(stub),
            ..Default::default()
        },
    );
    let state = fleet.home().join("state");
    let first = fleet
        .opsdeck(&["sweep"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = KillOnDrop(first);
    let lock = state.join("sweep.lock");
    let t = Instant::now();
    while fs::read_to_string(&lock)
        .map(|s| s.trim().is_empty())
        .unwrap_or(true)
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the first sweep never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let journal = state.join("journal.toml");
    let before = fs::read(&journal).ok();
    let t = Instant::now();
    let out = fleet.opsdeck(&["sweep"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "the second sweep waited"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another sweep is running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(&journal).ok(),
        before,
        "the second sweep touched the journal"
    );
    assert!(first.0.wait().unwrap().code().is_some());

    // kill -9 in the middle of a sweep: the next one runs, every file reads
    let victim = fleet
        .opsdeck(&["sweep"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut victim = KillOnDrop(victim);
    std::thread::sleep(Duration::from_millis(700));
    let _ = victim.0.kill();
    let _ = victim.0.wait();
    let out = fleet.opsdeck(&["sweep", "--json"]).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the next sweep completes");
    assert_eq!(v["hosts"][0]["host"], "slow");
    let store = opsdeck::store::Store::load(opsdeck::store::Home::under(fleet.home())).unwrap();
    let checks = store.load_state::<opsdeck::model::CheckResult>(opsdeck::store::StateKind::Checks);
    assert!(checks.problems.is_empty(), "{:?}", checks.problems);
    assert_eq!(opsdeck::watch::history::host(&store.home, "slow").len(), 2);
    assert!(store.read_journal_checked().unwrap().1.is_empty());
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_failing_channel_is_said_never_fatal_and_alerts_test_names_each() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let dir = fleet.dir().to_path_buf();
    fleet.add_host(
        "web1",
        HostOptions {
            stub_path: Some(stubs(&dir.join("stub"), false)),
            ..Default::default()
        },
    );
    let hook = Receiver::start("http_receiver.py", dir.join("http.log"), &[]);
    let conf = fleet.home().join("opsdeck.toml");
    let mut s = fs::read_to_string(&conf).unwrap();
    s.push_str(&format!(
        "\n[alerts]\nwebhook = [\"http://127.0.0.1:{p}/hook\", \"http://127.0.0.1:{p}/broken\"]\n",
        p = hook.port
    ));
    fs::write(&conf, s).unwrap();
    let out = fleet.opsdeck(&["alerts", "test"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ok      webhook http://127.0.0.1/…"),
        "{text}"
    );
    assert!(
        text.contains("FAILED  webhook http://127.0.0.1/…: 127.0.0.1 answered HTTP 500"),
        "{text}"
    );
    assert!(
        !text.contains("/broken"),
        "the URL's path is a secret: {text}"
    );
}

#[test]
fn schedule_through_the_crontab() {
    if Command::new("crontab").arg("-l").output().is_err() {
        panic!("crontab is missing: apt-get install cron");
    }
    let fleet = Fleet::new(FleetOptions::default());
    let out = fleet
        .opsdeck(&[
            "schedule",
            "install",
            "--every",
            "10m",
            "--cron",
            "--crontab",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table =
        String::from_utf8_lossy(&Command::new("crontab").arg("-l").output().unwrap().stdout)
            .into_owned();
    let ours: Vec<&str> = table
        .lines()
        .filter(|l| l.ends_with("# opsdeck sweep"))
        .collect();
    assert_eq!(ours.len(), 1, "{table}");
    assert!(
        ours[0].starts_with("*/10 * * * * OPSDECK_HOME="),
        "{}",
        ours[0]
    );
    assert!(ours[0].contains(" sweep >/dev/null 2>>"), "{}", ours[0]);
    let out = fleet.opsdeck(&["schedule", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("scheduled every 10m by cron"), "{text}");
    assert!(text.contains("no sweep has run yet"), "{text}");
    let out = fleet.opsdeck(&["schedule", "remove"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed the crontab line"));
    let table =
        String::from_utf8_lossy(&Command::new("crontab").arg("-l").output().unwrap().stdout)
            .into_owned();
    assert!(!table.contains("# opsdeck sweep"), "{table}");
}

/// Digest mode (`digest = "08:00"`): changes are recorded, not sent one by
/// one; the first sweep at or after 08:00 local time sends one message
/// listing everything open, worst first; then nothing until the next day's.
/// The items here need no SSH: vendor contracts (lifecycle dates).
#[test]
fn digest_once_a_day_lists_everything_open() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let hook = Receiver::start("http_receiver.py", dir.path().join("http.log"), &[]);
    fs::write(
        home.join("opsdeck.toml"),
        format!(
            "[alerts]\nwebhook = [\"http://127.0.0.1:{}/hook\"]\ndigest = \"08:00\"\n",
            hook.port
        ),
    )
    .unwrap();
    let vendors = |extra: &str| {
        fs::write(
            home.join("vendors.toml"),
            format!("[[vendor]]\nname = \"Acme ISP\"\ncontract_end = 2026-12-20\n{extra}"),
        )
        .unwrap();
    };
    vendors("");
    let sweep = |at: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["sweep", "--json"])
            .env("OPSDECK_HOME", &home)
            .env("OPSDECK_NOW", at)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        v
    };
    let posts = || -> Vec<serde_json::Value> {
        hook.lines()
            .iter()
            .filter(|l| l["path"] == "/hook")
            .map(|l| serde_json::from_str(l["body"].as_str().unwrap()).unwrap())
            .collect()
    };

    // 07:00: the contract item appears; recorded, not sent
    let v = sweep("2026-12-10T07:00:00Z");
    assert_eq!(v["recorded"][0]["event"], "new", "{v}");
    assert_eq!(v["events"], serde_json::json!([]), "{v}");
    assert!(posts().is_empty());
    // 08:10: the day's digest, once
    sweep("2026-12-10T08:10:00Z");
    let p = posts();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["event"], "digest");
    assert_eq!(p[0]["status"], "warn");
    assert!(
        p[0]["text"]
            .as_str()
            .unwrap()
            .contains("Acme ISP: contract"),
        "{}",
        p[0]
    );
    // later that day: a new, worse item is recorded, nothing sent
    vendors("\n[[vendor]]\nname = \"Old Telco\"\ncontract_end = 2026-12-01\n");
    let v = sweep("2026-12-10T12:00:00Z");
    assert_eq!(v["recorded"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["recorded"][0]["status"], "crit", "{v}");
    assert_eq!(posts().len(), 1);
    // before 08:00 the next day: still nothing; at 08:00: both, worst first
    sweep("2026-12-11T07:59:00Z");
    assert_eq!(posts().len(), 1);
    sweep("2026-12-11T08:00:00Z");
    let p = posts();
    assert_eq!(p.len(), 2);
    assert_eq!(p[1]["status"], "crit");
    let text = p[1]["text"].as_str().unwrap();
    let old = text.find("Old Telco").expect("the ended contract");
    let acme = text.find("Acme ISP").expect("the ending contract");
    assert!(old < acme, "worst first: {text}");
}

/// Without a channel nothing counts as told: once a webhook is configured,
/// the next sweep tells what is still open, once.
#[test]
fn a_channel_added_later_hears_what_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let hook = Receiver::start("http_receiver.py", dir.path().join("http.log"), &[]);
    fs::write(
        home.join("vendors.toml"),
        "[[vendor]]\nname = \"Acme ISP\"\ncontract_end = 2026-12-20\n",
    )
    .unwrap();
    let sweep = |at: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["sweep", "--json"])
            .env("OPSDECK_HOME", &home)
            .env("OPSDECK_NOW", at)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    for at in ["2026-12-10T07:00:00Z", "2026-12-10T08:00:00Z"] {
        let v = sweep(at);
        assert_eq!(v["events"], serde_json::json!([]), "no channel: {v}");
    }
    fs::write(
        home.join("opsdeck.toml"),
        format!(
            "[alerts]\nwebhook = [\"http://127.0.0.1:{}/hook\"]\n",
            hook.port
        ),
    )
    .unwrap();
    let v = sweep("2026-12-10T09:00:00Z");
    assert_eq!(v["events"][0]["event"], "new", "{v}");
    let v = sweep("2026-12-10T10:00:00Z");
    assert_eq!(v["events"], serde_json::json!([]), "told once: {v}");
    let posts = hook.lines().iter().filter(|l| l["path"] == "/hook").count();
    assert_eq!(posts, 1);
}

/// A digest that no channel took is tried again at the next sweep; once
/// one channel took it, that day's digest is done.
#[test]
fn a_digest_no_channel_took_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let hook = Receiver::start("http_receiver.py", dir.path().join("http.log"), &[]);
    fs::write(
        home.join("vendors.toml"),
        "[[vendor]]\nname = \"Acme ISP\"\ncontract_end = 2026-12-20\n",
    )
    .unwrap();
    let config = |path: &str| {
        fs::write(
            home.join("opsdeck.toml"),
            format!(
                "[alerts]\nwebhook = [\"http://127.0.0.1:{}{path}\"]\ndigest = \"08:00\"\n",
                hook.port
            ),
        )
        .unwrap();
    };
    let sweep = |at: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["sweep", "--json"])
            .env("OPSDECK_HOME", &home)
            .env("OPSDECK_NOW", at)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let digests = |path: &str| {
        hook.lines()
            .iter()
            .filter(|l| {
                l["path"] == path && l["body"].as_str().unwrap_or("").contains("\"digest\"")
            })
            .count()
    };
    config("/broken");
    let v = sweep("2026-12-10T08:05:00Z");
    assert_eq!(v["channel_failures"].as_array().unwrap().len(), 1, "{v}");
    let tries = digests("/broken");
    assert!(tries >= 1);
    config("/hook");
    sweep("2026-12-10T08:15:00Z");
    assert_eq!(digests("/hook"), 1, "tried again after the failure");
    sweep("2026-12-10T08:25:00Z");
    assert_eq!(digests("/hook"), 1, "once a day");
}

#[test]
fn forecasts_are_shown_while_they_are_news() {
    use opsdeck::overview::{Category, Item, PaneId, Target};
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("hosts.toml"), "[[host]]\nname = \"db1\"\n").unwrap();
    let store = opsdeck::store::Store::load(opsdeck::store::Home::under(dir.path())).unwrap();
    let item = Item {
        rank: 0,
        level: opsdeck::model::Level::Warn,
        category: Category::DiskForecast,
        what: "db1: /var full in 6 days".into(),
        why: "on 2026-12-11".into(),
        target: Target {
            pane: PaneId::HOSTS,
            key: "db1".into(),
            ticket: None,
        },
        subject: "/var".into(),
        urgency: 0,
    };
    store
        .replace_state(opsdeck::store::StateKind::Watch, &[item])
        .unwrap();
    assert_eq!(opsdeck::overview::load_watch(&store).items.len(), 1);
    // the sweeps stopped two days ago: not today's news
    let st = Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(dir.path().join("state/watch.toml"))
        .status()
        .unwrap();
    assert!(st.success());
    assert!(opsdeck::overview::load_watch(&store).items.is_empty());
    let snap = opsdeck::overview::Snapshot::load(&store).unwrap();
    assert!(snap.watch.is_empty());
}
