//! The watch end to end, with real parts: a loopback sshd fleet (db1's
//! session PATH has a stand-in `df` whose /var use the test sets step by
//! step: tests/fixtures/watch/bin/df), a real `path` backup job whose
//! dumps shrink, a real HTTP receiver (webhooks and the dead man's ping)
//! and a real SMTP server (aiosmtpd, STARTTLS + AUTH) started here.
//! "Now" moves 6 hours per sweep through `OPSDECK_NOW`.
//!
//! One fleet for the whole file: alert-once over consecutive sweeps
//! (appears → one, stays → none, worse → one, cleared → one, muted in a
//! maintenance window, back after it), the forecast appearing, moving and
//! clearing, the backup anomaly, history, a failing channel reported, a
//! second concurrent sweep leaving at once, and a `kill -9` mid-sweep.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::sshd::{Fleet, FleetOptions, HostOptions};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watch")
}

/// A python3 helper (Debian's, where python3-aiosmtpd is) that prints its port first; killed on drop.
struct Helper {
    child: Child,
    port: u16,
}

impl Helper {
    fn start(script: &str, args: &[&str]) -> Helper {
        let mut child = Command::new("/usr/bin/python3")
            .arg(fixtures().join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script}: no port: `{line}`"));
        Helper { child, port }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("receiver log line"))
        .collect()
}

struct World {
    fleet: Fleet,
    dir: tempfile::TempDir,
    t0: jiff::Timestamp,
    cert: PathBuf,
}

impl World {
    fn at(&self, k: i64) -> String {
        (self.t0 + jiff::SignedDuration::from_hours(6 * k))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }
    fn cmd(&self, k: i64, args: &[&str]) -> Command {
        let mut c = self.fleet.opsdeck(args);
        c.env("OPSDECK_NOW", self.at(k))
            .env("TZ", "UTC")
            .env("SSL_CERT_FILE", &self.cert);
        c
    }
    fn sweep(&self, k: i64) -> (i32, Value) {
        let out = self.cmd(k, &["sweep", "--json"]).output().expect("sweep");
        let code = out.status.code().unwrap_or(-1);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "sweep {k}: {e}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, v)
    }
    fn set_var(&self, pct: u32) {
        let d = self.fleet.get("db1").dir.join("home/watch");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("var_pct"), format!("{pct}\n")).unwrap();
    }
    /// A new dump of `size` bytes, newer than the ones before.
    fn dump(&self, k: i64, size: usize) {
        let p = self.dir.path().join(format!("dumps/db-{k}.dump"));
        std::fs::write(&p, vec![b'x'; size]).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(600 - 60 * k as u64))
            .unwrap();
    }
    fn hook_events(&self, item: &str) -> Vec<String> {
        lines(&self.dir.path().join("http.log"))
            .into_iter()
            .filter(|r| r["path"] == "/hook")
            .filter_map(|r| serde_json::from_str::<Value>(r["body"].as_str()?).ok())
            .filter(|b| b["item"] == item)
            .map(|b| b["event"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn item_whats(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["what"].as_str().unwrap_or("").to_string())
        .collect()
}

const FORECAST: &str = "hosts:db1:disk_forecast:/var";
const SMALL: &str = "backups:db-dumps:anomaly:size";

#[test]
fn watch_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("dumps")).unwrap();
    // a certificate for the SMTP server, trusted by opsdeck through SSL_CERT_FILE
    let cert = d.join("cert.pem");
    let key = d.join("key.pem");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::write(d.join("smtp.pw"), "s3cret\n").unwrap();
    let http = Helper::start(
        "http_receiver.py",
        &[d.join("http.log").to_str().unwrap(), "300"],
    );
    let smtp = Helper::start(
        "smtp_receiver.py",
        &[
            d.join("smtp.log").to_str().unwrap(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            "s3cret",
            "300",
        ],
    );

    let mut fleet = Fleet::new(FleetOptions::default());
    fleet.add_host(
        "db1",
        HostOptions {
            stub_path: Some(fixtures().join("bin")),
            ..Default::default()
        },
    );
    fleet.add_host("web1", HostOptions::default());
    let home = fleet.home();
    let t0 = jiff::Timestamp::now();
    let w = World {
        fleet,
        dir,
        t0,
        cert: cert.clone(),
    };
    // window: from just before sweep 8 to just before sweep 11
    let from = (t0 + jiff::SignedDuration::from_hours(6 * 8 - 1)).strftime("%Y-%m-%d %H:%M");
    let until = (t0 + jiff::SignedDuration::from_hours(6 * 11 - 1)).strftime("%Y-%m-%d %H:%M");
    let mut toml = std::fs::read_to_string(home.join("opsdeck.toml")).unwrap();
    toml.push_str(&format!(
        "\n[alerts]\nwebhook = [\"http://127.0.0.1:{p}/hook\", \"http://127.0.0.1:{p}/broken\"]\nping = \"http://127.0.0.1:{p}/ping/abc\"\nmail_to = [\"it@example.org\"]\nmail_from = \"opsdeck@example.org\"\nattempts = 2\ntimeout_s = 5\n\n[alerts.smtp]\nhost = \"127.0.0.1\"\nport = {sp}\nuser = \"opsdeck\"\npassword_command = \"cat {pw}\"\nstarttls = true\n\n[[maintenance]]\ntargets = [\"db1\"]\nfrom = \"{from}\"\nuntil = \"{until}\"\nreason = \"disk swap\"\n",
        p = http.port,
        sp = smtp.port,
        pw = d_pw(&w),
    ));
    std::fs::write(home.join("opsdeck.toml"), toml).unwrap();
    std::fs::write(
        home.join("backups.toml"),
        format!(
            "[[backup]]\nname = \"db-dumps\"\nhost = \"db1\"\nkind = \"path\"\npath = \"{}/dumps/*.dump\"\nmax_age = \"30d\"\n",
            w.dir.path().display()
        ),
    )
    .unwrap();

    // /var: +2 points every 6 h, then faster, then a cleanup, then again
    let var = [60, 62, 64, 66, 68, 72, 76, 40, 42, 44, 46, 48];
    let sizes = [1000, 1100, 900, 100];
    let mut outs = Vec::new();
    for (k, pct) in var.iter().enumerate() {
        let k = k as i64;
        w.set_var(*pct);
        if let Some(s) = sizes.get(k as usize) {
            w.dump(k, *s);
        }
        let (code, v) = w.sweep(k);
        assert!((0..=3).contains(&code), "sweep {k}: exit {code}");
        let ev = w.hook_events(FORECAST);
        if k == 6 {
            // the report shows the forecast too (from the history, no SSH)
            let r = w.cmd(k, &["report"]).output().unwrap();
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(text.contains("db1: /var full in 2 days"), "{text}");
        }
        outs.push((item_whats(&v), ev, v));
    }
    let forecast_at = |k: usize| {
        outs[k]
            .0
            .iter()
            .find(|w| w.starts_with("db1: /var full in"))
            .cloned()
    };
    // appears (4 samples over 18 h), stays and moves, worsens, clears
    assert_eq!(forecast_at(2), None);
    assert_eq!(forecast_at(3).as_deref(), Some("db1: /var full in 4 days"));
    assert_eq!(forecast_at(5).as_deref(), Some("db1: /var full in 3 days"));
    assert_eq!(forecast_at(6).as_deref(), Some("db1: /var full in 2 days"));
    assert_eq!(forecast_at(7), None);
    // the webhook heard: new at 3, nothing at 4 and 5, worse at 6, cleared
    // at 7, nothing in the window (8-10, where it came back at 10), new at 11
    let ev = |k: usize| outs[k].1.clone();
    assert_eq!(ev(2), Vec::<String>::new());
    assert_eq!(ev(3), vec!["new"]);
    assert_eq!(ev(5), vec!["new"]);
    assert_eq!(ev(6), vec!["new", "worse"]);
    assert_eq!(ev(7), vec!["new", "worse", "cleared"]);
    assert!(forecast_at(10).is_some(), "{:?}", outs[10].0);
    assert_eq!(ev(10), vec!["new", "worse", "cleared"]);
    let muted = &outs[9].2["alerts"]["muted"];
    assert_eq!(muted[0][0], "db1", "{muted}");
    assert_eq!(ev(11), vec!["new", "worse", "cleared", "new"]);
    let crit = outs[6].2["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["what"]
                .as_str()
                .unwrap_or("")
                .starts_with("db1: /var full")
        })
        .unwrap()
        .clone();
    assert_eq!(crit["level"], "crit");

    // the backup that finished too small
    assert!(!outs[2].0.iter().any(|w| w.contains("too small")));
    assert!(
        outs[3]
            .0
            .iter()
            .any(|w| w == "backup db-dumps: finished too small"),
        "{:?}",
        outs[3].0
    );
    assert_eq!(w.hook_events(SMALL)[0], "new");

    // the dead man's ping: start and success around every sweep
    let http_log = lines(&w.dir.path().join("http.log"));
    let count = |p: &str| http_log.iter().filter(|r| r["path"] == p).count();
    assert_eq!(count("/ping/abc/start"), var.len());
    assert_eq!(count("/ping/abc"), var.len());
    let last_ping = http_log
        .iter()
        .rev()
        .find(|r| r["path"] == "/ping/abc")
        .unwrap();
    assert!(
        last_ping["body"].as_str().unwrap().contains("2 hosts"),
        "{last_ping}"
    );

    // the failing webhook: retried, reported, never failing the sweep
    let failed = outs[3].2["alerts"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"].as_str().unwrap_or("").starts_with("webhook") && d["ok"] == false)
        .unwrap()
        .clone();
    // two tries of the first event; a channel that fails is not hammered with the rest
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("HTTP 500"));
    let journal = std::fs::read_to_string(home.join("state/journal.toml")).unwrap();
    assert!(
        journal.contains("channel failed: webhook http://127.0.0.1:"),
        "journal"
    );
    assert!(outs[4].2["alerts"]["earlier_failures"][0]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));

    // the mail of sweep 3: through STARTTLS + AUTH, subject and body
    let mails = lines(&w.dir.path().join("smtp.log"));
    assert!(mails.iter().all(|m| m["tls"] == true));
    let m3 = mails
        .iter()
        .find(|m| {
            m["data"]
                .as_str()
                .unwrap()
                .contains("db1: /var full in 4 days")
        })
        .expect("a mail about the forecast");
    let data = m3["data"].as_str().unwrap();
    assert!(data.contains("Subject: [opsdeck] "), "{data}");
    assert!(
        data.contains("NEW      warn  db1: /var full in 4 days: on "),
        "{data}"
    );
    assert_eq!(m3["to"][0], "it@example.org");

    // history: one sample per sweep, the last one's /var
    let out = w.cmd(11, &["history", "db1", "--json"]).output().unwrap();
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h.as_array().unwrap().len(), var.len());
    assert_eq!(h[11]["disks"][1], serde_json::json!(["/var", 48.0]));

    // alerts test: which channel worked
    let out = w.cmd(11, &["alerts", "test"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ok      webhook http://127.0.0.1"), "{text}");
    assert!(text.contains("FAILED  webhook"), "{text}");
    assert!(
        text.contains("ok      mail it@example.org via smtp"),
        "{text}"
    );
    assert!(lines(&w.dir.path().join("smtp.log"))
        .iter()
        .any(|m| m["data"]
            .as_str()
            .unwrap()
            .contains("Subject: [opsdeck] test message")));

    lock_and_kill(&w, &home);
}

fn d_pw(w: &World) -> String {
    w.dir.path().join("smtp.pw").display().to_string()
}

/// Names, sizes and mtimes of the state files.
fn state_files(home: &Path) -> Vec<(String, u64, SystemTime)> {
    let mut v = Vec::new();
    for e in walk(&home.join("state")) {
        let m = std::fs::metadata(&e).unwrap();
        v.push((e.display().to_string(), m.len(), m.modified().unwrap()));
    }
    v.sort();
    v
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A second sweep while one runs leaves at once touching nothing; `kill -9`
/// in the middle of a save leaves every file readable, and the next sweep
/// completes.
fn lock_and_kill(w: &World, home: &Path) {
    let mut first = w
        .cmd(12, &["sweep"])
        .env("OPSDECK_TEST_PAUSE_BEFORE_RENAME_MS", "20000")
        .env("OPSDECK_TEST_PAUSE_FILE", "checks.toml")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("paused before rename") {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the first sweep ended early"
        );
    }
    let before = state_files(home);
    let start = Instant::now();
    let second = w.cmd(12, &["sweep"]).output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(second.status.code(), Some(0));
    let msg = String::from_utf8_lossy(&second.stderr);
    assert!(msg.contains("another sweep is running (pid "), "{msg}");
    assert!(second.stdout.is_empty());
    assert_eq!(state_files(home), before, "the second sweep touched state");

    let pid = first.id() as i32;
    unsafe { libc::kill(pid, libc::SIGKILL) };
    first.wait().unwrap();
    // every state file still reads: TOML, JSON, history lines
    for f in walk(&home.join("state")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        if name.ends_with(".toml") && !name.starts_with('.') {
            toml::from_str::<toml::Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if name.ends_with(".json") {
            serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    let (code, v) = w.sweep(13);
    assert!((0..=3).contains(&code));
    assert_eq!(v["hosts"].as_array().unwrap().len(), 2);
    let journal = std::fs::read_to_string(home.join("state/journal.toml")).unwrap();
    assert_eq!(journal.matches("action = \"sweep\"").count(), 12 + 1);
}
