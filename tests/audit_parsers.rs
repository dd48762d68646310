//! The audit's parsers and rules on a probe output in the real tools'
//! formats (tests/fixtures/audit/): sshd config files with Include and
//! Match as sshd reads them, `ss -H -tulpn`, /proc/net, the firewall tools'
//! answers without root, unattended-upgrades, accounts, reboot debt,
//! authorized_keys with options, `openssl x509` output. Fuzzed: garbage in
//! any section costs that section, never the host, never a panic.

use opsdeck::audit::parse::{self, SshdSource};
use opsdeck::audit::rules;
use opsdeck::audit::Severity;
use opsdeck::model::{AuditSettings, Host};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/audit")
            .join(name),
    )
    .unwrap()
}

fn host() -> Host {
    Host {
        name: "web1".into(),
        tags: vec!["web".into()],
        ..Default::default()
    }
}

fn today() -> opsdeck::model::Date {
    "2026-12-05".parse().unwrap()
}

#[test]
fn a_non_root_audit_of_a_debian_host() {
    let o = parse::parse(&fixture("probe-debian12-nonroot.txt")).unwrap();
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert_eq!(o.uid, Some(1000));
    assert_eq!(o.ssh_port, Some(22));
    // sshd -T needs root: the files, as sshd reads them: the Include comes
    // first and wins, the Match block does not count
    let (m, source) = o.sshd.clone().unwrap();
    assert_eq!(source, SshdSource::Files);
    assert_eq!(m["permitrootlogin"], "no");
    assert_eq!(m["passwordauthentication"], "no");
    assert_eq!(m["x11forwarding"], "yes");
    assert_eq!(m["maxauthtries"], "6", "the default fills in");
    let ls = o.listeners.clone().unwrap();
    let exposed: Vec<(u16, &str)> = ls
        .iter()
        .filter(|l| l.exposed)
        .map(|l| (l.port, l.address.as_str()))
        .collect();
    assert_eq!(exposed, [(22, "0.0.0.0"), (22, "::"), (80, "*")]);
    assert_eq!(
        ls.iter().find(|l| l.port == 80).unwrap().process.as_deref(),
        Some("apache2")
    );
    assert!(ls.iter().any(|l| l.port == 5432 && !l.exposed));
    assert_eq!(o.keys.len(), 2);
    assert_eq!(
        o.keys[1].options,
        "command=\"/usr/local/bin/backup-only\",no-pty,from=\"10.0.0.0/8\""
    );
    assert_eq!(o.keys[1].line, 3);
    assert_eq!(o.certs.len(), 2);

    let f = rules::findings(&o, &host(), &AuditSettings::default(), today());
    let ids: Vec<(&str, Severity, bool)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.severity, f.unverified))
        .collect();
    let has = |id: &str, s: Severity| ids.iter().any(|(i, sv, _)| *i == id && *sv == s);
    assert!(has("accounts.uid0.toor", Severity::Crit), "{ids:?}");
    assert!(has("listen.tcp.80", Severity::Warn), "{ids:?}");
    assert!(
        !ids.iter().any(|(i, _, _)| *i == "listen.tcp.22"),
        "the SSH port itself: {ids:?}"
    );
    assert!(
        has("sshd.weak_ciphers", Severity::Warn),
        "aes256-cbc: {ids:?}"
    );
    assert!(has("sshd.x11", Severity::Info));
    assert!(
        !ids.iter()
            .any(|(i, _, _)| *i == "sshd.root_login" || *i == "sshd.password_auth"),
        "{ids:?}"
    );
    assert!(has("reboot.kernel", Severity::Warn));
    assert!(
        has("cert.port:443.expiring", Severity::Warn),
        "10 days: {ids:?}"
    );
    assert!(
        has(
            "cert.file:/etc/letsencrypt/live/old.example.org/cert.pem.expired",
            Severity::Crit
        ),
        "{ids:?}"
    );
    assert!(
        has("updates.auto_stale", Severity::Warn),
        "the log is 22 days old: {ids:?}"
    );
    // without root: said unverified, never clean
    for id in ["fw.unverified", "accounts.unverified", "sudo.unverified"] {
        assert!(
            ids.iter().any(|(i, _, u)| *i == id && *u),
            "{id} in {ids:?}"
        );
    }
    assert!(!ids.iter().any(|(i, _, _)| *i == "fw.none"));
}

#[test]
fn allowed_and_accepted_findings_are_quiet() {
    let o = parse::parse(&fixture("probe-debian12-nonroot.txt")).unwrap();
    let cfg: AuditSettings = toml::from_str(
        "[[allow_port]]\ntargets = [\"@web\"]\nport = 80\n\n[[accept]]\ntargets = [\"web1\"]\nid = \"accounts.uid0.*\"\nreason = \"legacy\"\nuntil = 2027-01-01\n\n[[accept]]\nid = \"reboot.kernel\"\nuntil = 2026-01-01\n",
    )
    .unwrap();
    let f = rules::findings(&o, &host(), &cfg, today());
    assert!(!f.iter().any(|f| f.id == "listen.tcp.80"));
    let uid0 = f.iter().find(|f| f.id == "accounts.uid0.toor").unwrap();
    assert!(uid0.accepted);
    // an acceptance that ran out counts again
    assert!(!f.iter().find(|f| f.id == "reboot.kernel").unwrap().accepted);
    assert_eq!(
        opsdeck::audit::HostAudit::status_of(&f),
        opsdeck::model::Status::Crit,
        "the expired certificate still counts"
    );
}

#[test]
fn proc_net_firewalls_as_root_and_sshd_t() {
    let text = "@@opsdeck probe 1\n@@opsdeck whoami\nuid 0\nuser root\n\
        @@opsdeck sshd.T\nport 22\npermitrootlogin yes\npasswordauthentication yes\nusepam yes\nkbdinteractiveauthentication no\nmacs hmac-sha2-256,hmac-md5\n\n@@opsdeck sshd.T.rc\n0\n\
        @@opsdeck listen\n!! no ss: /proc/net\n\
        tcp   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
        tcp   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
        tcp   2: 0100007F:0CEA 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n\
        tcp6   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4 1\n\
        udp   0: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 5 2\n\
        @@opsdeck firewall\nufw.rc 0\nufw Status: active\nufw Logging: on (low)\nufw Default: deny (incoming), allow (outgoing), disabled (routed)\n\
        @@opsdeck accounts\npasswd root 0 /root /bin/bash\npasswd guest 1001 /home/guest /bin/bash\nshadow root set\nshadow guest empty\n\
        nopasswd /etc/sudoers.d/ci ci ALL=(ALL) NOPASSWD: ALL\n@@opsdeck end\n";
    let o = parse::parse(text).unwrap();
    let (m, src) = o.sshd.clone().unwrap();
    assert_eq!(src, SshdSource::Effective);
    assert_eq!(m["permitrootlogin"], "yes");
    let ls = o.listeners.clone().unwrap();
    let got: Vec<(String, String, u16, bool)> = ls
        .iter()
        .map(|l| (l.proto.clone(), l.address.clone(), l.port, l.exposed))
        .collect();
    assert!(
        got.contains(&("tcp".into(), "0.0.0.0".into(), 8080, true)),
        "{got:?}"
    );
    assert!(
        got.contains(&("tcp".into(), "127.0.0.1".into(), 3306, false)),
        "{got:?}"
    );
    assert!(
        got.contains(&("tcp".into(), "::1".into(), 631, false)),
        "{got:?}"
    );
    assert!(
        got.contains(&("udp".into(), "0.0.0.0".into(), 68, true)),
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|g| g.2 == 3306).count(),
        1,
        "an established connection is no listener"
    );
    let f = rules::findings(&o, &host(), &AuditSettings::default(), today());
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    for id in [
        "sshd.root_login",
        "sshd.password_auth",
        "sshd.weak_macs",
        "accounts.empty_password.guest",
        "sudo.nopasswd./etc/sudoers.d/ci",
        "listen.tcp.8080",
        "listen.udp.68",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(
        !ids.iter().any(|i| i.starts_with("fw.")),
        "ufw is active and denies: {ids:?}"
    );
    assert!(
        !ids.iter().any(|i| i.ends_with("unverified")),
        "as root: {ids:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn garbage_never_panics_and_costs_only_its_section(
        pos in 0.0f64..1.0, junk in "[ -~\n@%=:]{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..600)
    ) {
        let _ = parse::parse(&String::from_utf8_lossy(&bytes));
        let text = fixture("probe-debian12-nonroot.txt");
        let mut at = (text.len() as f64 * pos) as usize;
        while !text.is_char_boundary(at) { at -= 1; }
        let header = text.find("@@opsdeck whoami").unwrap();
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        match parse::parse(&mutated) {
            Ok(o) => {
                let _ = rules::findings(&o, &host(), &AuditSettings::default(), today());
            }
            Err(e) => prop_assert!(at <= header, "only a broken header may fail the host: {e}"),
        }
    }
}

#[test]
fn a_sudo_refusal_is_said_and_deleted_libraries_without_needrestart() {
    let text = "@@opsdeck probe 1\n@@opsdeck whoami\nuid 1000\nuser deploy\nbecome sudo -n\nsudo refused\n\
        @@opsdeck reboot\nrunning 6.1.0-26-amd64\ninstalled 6.1.0-26-amd64\ndeleted 812 nginx\ndeleted 813 nginx\ndeleted 900 postgres\nnow 1796464800\n@@opsdeck end\n";
    let o = parse::parse(text).unwrap();
    assert!(o.sudo_refused && !o.become_root);
    let f = rules::findings(&o, &host(), &AuditSettings::default(), today());
    let sudo = f
        .iter()
        .find(|f| f.id == "audit.sudo_refused")
        .expect("said");
    assert_eq!(sudo.severity, Severity::Warn);
    let svc = f
        .iter()
        .find(|f| f.id == "reboot.services")
        .expect("deleted libraries");
    assert_eq!(svc.evidence, "nginx, postgres");
    // without root, what root would change is unverified, not clean
    assert!(f
        .iter()
        .any(|f| f.id == "accounts.unverified" && f.unverified));
}
