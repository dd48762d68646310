//! The security audit through the real binary against real sshd hosts on
//! loopback whose configuration the test sets: one with `PermitRootLogin
//! yes` and `PasswordAuthentication yes`, one hardened; listeners the test
//! opens (one allowed, one not); real TLS servers (`openssl s_server`)
//! with certificates expiring in 5 and in 60 days; authorized_keys files
//! with three keys, one of them on both hosts: `keys find` and `keys
//! revoke` (plan, backup, journal, the other keys byte for byte, and a
//! refusal to remove opsdeck's own key).

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::sshd::{Fleet, FleetOptions, HostOptions};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server` on 127.0.0.1:PORT with a certificate valid `days` days.
fn tls_server(dir: &Path, name: &str, days: u32) -> (Kill, u16) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            &days.to_string(),
            "-subj",
            &format!("/CN={name}.example.org"),
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let port = free_port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
        ])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (Kill(child), port)
}

/// A new key pair: (public line, SHA256 fingerprint as ssh-keygen says it).
fn keypair(dir: &Path, name: &str, kind: &[&str]) -> (String, String) {
    let path = dir.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", name])
        .args(kind)
        .arg("-f")
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    let public = fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string();
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(path.with_extension("pub"))
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    (public, fp)
}

#[test]
fn findings_listeners_certificates_and_keys() {
    let mut fleet = Fleet::new(FleetOptions::default());
    let dir = fleet.dir().to_path_buf();
    fleet.add_host(
        "weak",
        HostOptions {
            extra_sshd_config: vec![
                "PermitRootLogin yes".into(),
                "PasswordAuthentication yes".into(),
            ],
            ..Default::default()
        },
    );
    fleet.add_host(
        "hard",
        HostOptions {
            extra_sshd_config: vec![
                "PermitRootLogin prohibit-password".into(),
                "PasswordAuthentication no".into(),
                "KbdInteractiveAuthentication no".into(),
                "AllowAgentForwarding no".into(),
                "X11Forwarding no".into(),
                "MaxAuthTries 3".into(),
            ],
            ..Default::default()
        },
    );
    // TLS: 5 days (critical) on weak, 60 days (fine) on hard
    let (_s1, soon) = tls_server(&dir, "soon", 5);
    let (_s2, later) = tls_server(&dir, "later", 60);
    let hosts = fs::read_to_string(fleet.home().join("hosts.toml")).unwrap();
    let hosts = hosts
        .replace(
            "name = \"weak\"\n",
            &format!("name = \"weak\"\ntls_ports = [{soon}]\ntls_names = [\"soon.example.org\"]\n"),
        )
        .replace(
            "name = \"hard\"\n",
            &format!("name = \"hard\"\ntls_ports = [{later}]\n"),
        );
    fs::write(fleet.home().join("hosts.toml"), hosts).unwrap();
    // listeners on every address: one expected, one not
    let open = TcpListener::bind("0.0.0.0:0").unwrap();
    let allowed = TcpListener::bind("0.0.0.0:0").unwrap();
    let (open_port, allowed_port) = (
        open.local_addr().unwrap().port(),
        allowed.local_addr().unwrap().port(),
    );
    let conf = fleet.home().join("opsdeck.toml");
    let mut s = fs::read_to_string(&conf).unwrap();
    s.push_str(&format!(
        "\n[[audit.allow_port]]\nport = {allowed_port}\nproto = \"tcp\"\n"
    ));
    fs::write(&conf, s).unwrap();
    // three keys: k1 on weak, k2 on both, k3 (RSA 1024: weak) on weak
    let (k1, fp1) = keypair(&dir, "k1", &["-t", "ed25519"]);
    let (k2, fp2) = keypair(&dir, "k2", &["-t", "ed25519"]);
    let (k3, fp3) = keypair(&dir, "k3", &["-t", "rsa", "-b", "1024"]);
    let ak = |h: &str| fleet.get(h).dir.join("authorized_keys");
    let own_weak = fs::read_to_string(ak("weak")).unwrap();
    fs::write(
        ak("weak"),
        format!("{own_weak}{k1}\n# a comment kept as it is\nfrom=\"10.0.0.0/8\" {k2}\n{k3}\n"),
    )
    .unwrap();
    let own_hard = fs::read_to_string(ak("hard")).unwrap();
    fs::write(ak("hard"), format!("{own_hard}{k2}\n")).unwrap();

    let out = fleet.opsdeck(&["audit", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(2), "a root login is critical");
    let host = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == n)
            .unwrap()
            .clone()
    };
    let ids = |h: &serde_json::Value| -> Vec<(String, String)> {
        h["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (weak, hard) = (host("weak"), host("hard"));
    assert_eq!(weak["error"], serde_json::Value::Null, "{weak}");
    let w = ids(&weak);
    assert!(
        w.contains(&("sshd.root_login".into(), "crit".into())),
        "{w:?}"
    );
    assert!(
        w.contains(&("sshd.password_auth".into(), "warn".into())),
        "{w:?}"
    );
    let h = ids(&hard);
    assert!(
        h.iter().all(|(id, _)| !id.starts_with("sshd.")),
        "hardened: {h:?}"
    );
    // the listeners
    for list in [&w, &h] {
        assert!(
            list.iter()
                .any(|(id, _)| *id == format!("listen.tcp.{open_port}")),
            "{list:?}"
        );
        assert!(
            !list
                .iter()
                .any(|(id, _)| *id == format!("listen.tcp.{allowed_port}")),
            "{list:?}"
        );
    }
    // certificates: 5 days is critical, 60 days is fine
    let cert = format!("cert.port:{soon}.expiring");
    assert!(w.contains(&(cert, "crit".into())), "{w:?}");
    assert!(h.iter().all(|(id, _)| !id.ends_with(".expiring")), "{h:?}");
    let certs = weak["certificates"].as_array().unwrap();
    assert_eq!(certs[0]["subject"], "CN = soon.example.org");
    assert!(
        (4..=5).contains(&certs[0]["days_left"].as_i64().unwrap()),
        "{certs:?}"
    );
    // keys: fingerprints as ssh-keygen -lf says; the RSA 1024 one is weak
    let keys: Vec<String> = weak["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["fingerprint"].as_str().unwrap().to_string())
        .collect();
    for fp in [&fp1, &fp2, &fp3] {
        assert!(keys.contains(fp), "{fp} not in {keys:?}");
    }
    assert!(
        w.contains(&(format!("keys.weak.{fp3}"), "warn".into())),
        "{w:?}"
    );
    let k2_on_weak = weak["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["fingerprint"] == fp2.as_str())
        .unwrap();
    assert_eq!(k2_on_weak["options"], "from=\"10.0.0.0/8\"");
    assert_eq!(k2_on_weak["bits"], 256);

    // keys find: exactly its places
    let out = fleet
        .opsdeck(&["keys", "find", &k2, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut places: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p["host"].as_str().unwrap(),
                p["file"].as_str().unwrap()
            )
        })
        .collect();
    places.sort();
    assert_eq!(
        places,
        [
            format!("hard:{}", ak("hard").display()),
            format!("weak:{}", ak("weak").display())
        ]
    );
    let out = fleet.opsdeck(&["keys", "find", &fp1]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let out = fleet
        .opsdeck(&["keys", "find", "SHA256:nosuchkeyanywhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // keys revoke: the plan first (nothing changes), then exactly that line on both hosts
    let before_weak = fs::read_to_string(ak("weak")).unwrap();
    let out = fleet
        .opsdeck(&["keys", "revoke", &fp2, "all", "--dry-run"])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("weak") && plan.contains("hard") && plan.contains("line"),
        "{plan}"
    );
    assert_eq!(fs::read_to_string(ak("weak")).unwrap(), before_weak);
    let out = fleet
        .opsdeck(&["keys", "revoke", &fp2, "all"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(64),
        "no terminal, no --yes: refused"
    );
    let out = fleet
        .opsdeck(&["keys", "revoke", &fp2, "all", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let after_weak = fs::read_to_string(ak("weak")).unwrap();
    let expected: String = before_weak
        .lines()
        .filter(|l| !l.contains(k2.split_whitespace().nth(1).unwrap()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        after_weak, expected,
        "only k2's line goes, the rest byte for byte"
    );
    assert_eq!(fs::read_to_string(ak("hard")).unwrap(), own_hard);
    let backups: Vec<_> = fs::read_dir(fleet.get("weak").dir.clone())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("authorized_keys.opsdeck-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(backups[0].path()).unwrap(), before_weak);
    let journal = fs::read_to_string(fleet.home().join("state/journal.toml")).unwrap();
    assert_eq!(journal.matches("action = \"keys.revoke\"").count(), 2);

    // opsdeck's own key is never removed
    let own_pub = fs::read_to_string(fleet.user_key().with_extension("pub"))
        .or_else(|_| fs::read_to_string(format!("{}.pub", fleet.user_key().display())))
        .unwrap();
    let out = fleet
        .opsdeck(&["keys", "revoke", own_pub.trim(), "hard", "--yes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REFUSED"), "{text}");
    assert_eq!(fs::read_to_string(ak("hard")).unwrap(), own_hard);
    drop(open);
    drop(allowed);
}
