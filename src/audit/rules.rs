//! What was read → findings. Each rule's source and severity is in
//! docs/decisions/audit.md. Pure.

use super::parse::{Observed, SshdSource};
use super::{Finding, Severity};
use crate::model::{AuditSettings, Host};

/// Does `host` match TARGET words (names, @tags; empty: every host)?
pub fn targets_match(host: &Host, targets: &[String]) -> bool {
    targets.is_empty()
        || targets.iter().any(|t| match t.strip_prefix('@') {
            Some(tag) => host.tags.iter().any(|x| x == tag),
            None => t == &host.name || t == "all",
        })
}

struct Out<'a> {
    list: Vec<Finding>,
    cfg: &'a AuditSettings,
    host: &'a Host,
    today: crate::model::Date,
}

impl Out<'_> {
    fn add(&mut self, id: String, severity: Severity, title: String, evidence: String, fix: &str) {
        let accepted = self.cfg.accept.iter().any(|a| {
            crate::patches::commands::hold_matches(&a.id, &id)
                && targets_match(self.host, &a.targets)
                && a.until.is_none_or(|u| u >= self.today)
        });
        self.list.push(Finding {
            id,
            severity,
            title,
            evidence,
            fix: fix.to_string(),
            accepted,
            unverified: false,
        });
    }
    fn unverified(&mut self, id: &str, title: &str, why: &str) {
        self.list.push(Finding {
            id: id.to_string(),
            severity: Severity::Info,
            title: format!("{title}: unverified (needs root)"),
            evidence: why.to_string(),
            fix: "set `[audit] become = true` (sudo -n) or audit as root to be certain".into(),
            accepted: false,
            unverified: true,
        });
    }
}

const WEAK_CIPHERS: &[&str] = &[
    "3des-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "blowfish-cbc",
    "cast128-cbc",
    "arcfour",
    "arcfour128",
    "arcfour256",
    "rijndael-cbc@lysator.liu.se",
];
const WEAK_MACS: &[&str] = &[
    "hmac-md5",
    "hmac-md5-96",
    "hmac-sha1-96",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
];
const WEAK_KEX: &[&str] = &[
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
];

/// The findings of one host.
pub fn findings(
    o: &Observed,
    host: &Host,
    cfg: &AuditSettings,
    today: crate::model::Date,
) -> Vec<Finding> {
    let mut out = Out {
        list: Vec::new(),
        cfg,
        host,
        today,
    };
    let root = o.uid == Some(0) || o.become_root;
    if o.sudo_refused {
        out.add(
            "audit.sudo_refused".into(),
            Severity::Warn,
            "sudo -n refused: audited without root".into(),
            format!(
                "[audit] become = true, but `sudo -n true` failed for {}",
                o.user
            ),
            "allow the audit's commands without a password in sudoers, or set become = false",
        );
    }
    sshd(o, &mut out);
    listeners(o, &mut out);
    firewall(o, root, &mut out);
    updates(o, &mut out);
    accounts(o, root, &mut out);
    reboot(o, &mut out);
    if let Some(t) = &o.time {
        if t.synchronized == Some(false)
            || (t.synchronized.is_none() && t.ntp_enabled == Some(false) && t.daemon.is_none())
        {
            out.add(
                "time.unsynced".into(),
                Severity::Warn,
                "the clock is not synchronised".into(),
                format!(
                    "synchronized={:?} ntp={:?} daemon={}",
                    t.synchronized,
                    t.ntp_enabled,
                    t.daemon.as_deref().unwrap_or("none")
                ),
                "enable systemd-timesyncd or chrony (timedatectl set-ntp true)",
            );
        }
    }
    for k in &o.keys {
        let weak = match (k.key_type.as_str(), k.bits) {
            ("ssh-dss", _) => Some("DSA keys are broken (OpenSSH 9.8 removed them)"),
            ("ssh-rsa", Some(b)) if b < 2048 => Some("RSA under 2048 bits"),
            _ => None,
        };
        if let Some(why) = weak {
            out.add(
                format!("keys.weak.{}", k.fingerprint),
                Severity::Warn,
                format!("weak key authorised for {}: {why}", k.user),
                format!(
                    "{} {} {} line {} ({} {})",
                    k.key_type,
                    k.bits.map(|b| b.to_string()).unwrap_or_default(),
                    k.file,
                    k.line,
                    k.fingerprint,
                    k.comment
                ),
                "replace it with an ed25519 key, then `opsdeck keys revoke` the old one",
            );
        }
    }
    for c in &o.certs {
        let subject = format!("certificate {} ({})", c.subject, c.source);
        let id = format!(
            "cert.{}",
            c.source
                .split(" (")
                .next()
                .unwrap_or(&c.source)
                .replace(' ', ":")
        );
        if c.days_left < 0 {
            out.add(
                format!("{id}.expired"),
                Severity::Crit,
                format!("{subject} expired"),
                format!("not after {}", c.not_after),
                "renew it (certbot renew, or the CA's portal)",
            );
        } else if c.days_left <= i64::from(cfg.cert_crit_days) {
            out.add(
                format!("{id}.expiring"),
                Severity::Crit,
                format!("{subject} expires in {} days", c.days_left),
                format!("not after {}", c.not_after),
                "renew it now",
            );
        } else if c.days_left <= i64::from(cfg.cert_warn_days) {
            out.add(
                format!("{id}.expiring"),
                Severity::Warn,
                format!("{subject} expires in {} days", c.days_left),
                format!("not after {}", c.not_after),
                "renew it (is auto-renewal running?)",
            );
        }
        if c.self_signed() && c.source.starts_with("port") {
            out.add(format!("{id}.self_signed"), Severity::Warn, format!("{subject} is self-signed"), format!("issuer = subject = {}", c.subject), "serve a certificate from a CA the clients trust (or accept it in [[audit.accept]])");
        }
    }
    for p in &o.problems {
        out.add(
            format!("probe.{}", p.section),
            Severity::Info,
            format!("section `{}` could not be read", p.section),
            p.message.clone(),
            "",
        );
    }
    out.list
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    out.list
}

fn sshd(o: &Observed, out: &mut Out) {
    let Some((m, source)) = &o.sshd else {
        out.add(
            "sshd.unknown".into(),
            Severity::Info,
            "sshd settings unknown".into(),
            "neither sshd -T nor the config files could be read".into(),
            "",
        );
        return;
    };
    let how = match source {
        SshdSource::Effective => "sshd -T",
        SshdSource::Files => "the config files (sshd -T needs root; Match blocks not applied)",
    };
    let get = |k: &str| m.get(k).map(|v| v.to_ascii_lowercase()).unwrap_or_default();
    if get("permitrootlogin") == "yes" {
        out.add(
            "sshd.root_login".into(),
            Severity::Crit,
            "root can log in with a password".into(),
            format!("PermitRootLogin yes ({how})"),
            "PermitRootLogin prohibit-password (or no) in sshd_config, then reload sshd",
        );
    }
    if get("passwordauthentication") == "yes" {
        out.add(
            "sshd.password_auth".into(),
            Severity::Warn,
            "password logins are allowed".into(),
            format!("PasswordAuthentication yes ({how})"),
            "PasswordAuthentication no once every user has a key",
        );
    }
    if get("kbdinteractiveauthentication") == "yes" && get("usepam") == "yes" {
        out.add(
            "sshd.kbd_interactive".into(),
            Severity::Warn,
            "keyboard-interactive (PAM password) logins are allowed".into(),
            format!("KbdInteractiveAuthentication yes with UsePAM yes ({how})"),
            "KbdInteractiveAuthentication no unless a second factor uses it",
        );
    }
    if get("permitemptypasswords") == "yes" {
        out.add(
            "sshd.empty_passwords".into(),
            Severity::Crit,
            "accounts with an empty password can log in".into(),
            format!("PermitEmptyPasswords yes ({how})"),
            "PermitEmptyPasswords no",
        );
    }
    if get("x11forwarding") == "yes" {
        out.add(
            "sshd.x11".into(),
            Severity::Info,
            "X11 forwarding is on".into(),
            format!("X11Forwarding yes ({how})"),
            "X11Forwarding no unless someone needs it",
        );
    }
    if get("allowagentforwarding") == "yes" {
        out.add(
            "sshd.agent_forwarding".into(),
            Severity::Info,
            "agent forwarding is on".into(),
            format!("AllowAgentForwarding yes ({how})"),
            "AllowAgentForwarding no on servers nobody hops from",
        );
    }
    if let Ok(n) = get("maxauthtries").parse::<u32>() {
        if n > 4 {
            out.add(
                "sshd.max_auth_tries".into(),
                Severity::Info,
                format!("MaxAuthTries {n} (4 or fewer recommended)"),
                format!("MaxAuthTries {n} ({how})"),
                "MaxAuthTries 4",
            );
        }
    }
    for (key, weak, what) in [
        ("ciphers", WEAK_CIPHERS, "ciphers"),
        ("macs", WEAK_MACS, "MACs"),
        ("kexalgorithms", WEAK_KEX, "key exchanges"),
    ] {
        let on: Vec<&str> = m
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|c| weak.contains(c))
                    .collect()
            })
            .unwrap_or_default();
        if !on.is_empty() {
            out.add(
                format!("sshd.weak_{key}"),
                Severity::Warn,
                format!("weak {what} enabled"),
                format!("{}: {} ({how})", key, on.join(", ")),
                "remove them from the list in sshd_config (the defaults of OpenSSH 8+ are fine)",
            );
        }
    }
}

fn listeners(o: &Observed, out: &mut Out) {
    let Some(ls) = &o.listeners else { return };
    for l in ls.iter().filter(|l| l.exposed) {
        let proto = l.proto.as_str();
        if Some(l.port) == o.ssh_port && proto == "tcp" {
            continue; // the sshd this audit came through
        }
        let allowed = out.cfg.allow_port.iter().any(|a| {
            a.port == l.port
                && a.proto.as_deref().unwrap_or("tcp") == proto
                && targets_match(out.host, &a.targets)
        });
        if allowed {
            continue;
        }
        let who = l
            .process
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let scope = if matches!(l.address.as_str(), "0.0.0.0" | "::" | "*") {
            "all addresses".to_string()
        } else {
            l.address.clone()
        };
        out.add(
            format!("listen.{proto}.{}", l.port),
            Severity::Warn,
            format!("port {}/{proto} open on {scope}{who}", l.port),
            format!("listening on {}:{}", l.address, l.port),
            "stop the service, bind it to 127.0.0.1, or allow it in [[audit.allow_port]]",
        );
    }
}

fn firewall(o: &Observed, root: bool, out: &mut Out) {
    let f = &o.firewall;
    let active: Vec<&(String, bool, Option<String>)> = f.seen.iter().filter(|s| s.1).collect();
    if let Some((tool, _, policy)) = active.first() {
        if policy
            .as_deref()
            .is_some_and(|p| p == "accept" || p == "allow")
            && tool != "iptables"
        {
            out.add(
                "fw.input_accept".into(),
                Severity::Info,
                format!("{tool} is active with an input policy of accept"),
                format!("{tool}: policy {}", policy.as_deref().unwrap_or("")),
                "a default-deny input policy with the services allowed",
            );
        }
        return;
    }
    if !f.units.is_empty() && !root {
        out.unverified(
            "fw.unverified",
            "firewall",
            &format!("active units: {}", f.units.join(", ")),
        );
        return;
    }
    if f.needs_root && !root {
        out.unverified(
            "fw.unverified",
            "firewall",
            "the rules need root to be read",
        );
        return;
    }
    out.add(
        "fw.none".into(),
        Severity::Warn,
        "no active firewall".into(),
        if f.seen.is_empty() {
            "no nftables, iptables, ufw or firewalld rules".into()
        } else {
            f.seen
                .iter()
                .map(|s| format!("{}: inactive", s.0))
                .collect::<Vec<_>>()
                .join(", ")
        },
        "enable nftables/ufw/firewalld with a default-deny input policy",
    );
}

fn updates(o: &Observed, out: &mut Out) {
    let u = &o.updates;
    if u.managers.iter().any(|m| m == "apt") {
        let on =
            u.apt.get("Unattended-Upgrade").is_some_and(|v| v != "0") && u.unattended_installed;
        if !on {
            out.add(
                "updates.auto_off".into(),
                Severity::Warn,
                "automatic security updates are off".into(),
                format!(
                    "unattended-upgrades installed: {}, APT::Periodic::Unattended-Upgrade = {}",
                    u.unattended_installed,
                    u.apt
                        .get("Unattended-Upgrade")
                        .map(String::as_str)
                        .unwrap_or("unset")
                ),
                "apt-get install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades",
            );
        } else if let (Some(last), Some(now)) = (u.last_run, u.now) {
            let days = (now - last) / 86_400;
            if days > 7 {
                out.add(
                    "updates.auto_stale".into(),
                    Severity::Warn,
                    format!("automatic updates last ran {days} days ago"),
                    "unattended-upgrades.log not written since".into(),
                    "check apt-daily-upgrade.timer and the log",
                );
            }
        }
    } else if u.managers.iter().any(|m| m == "dnf") {
        let applies = u
            .dnf
            .get("apply_updates")
            .is_some_and(|v| v == "yes" || v == "True" || v == "true");
        let timer = u
            .timers
            .iter()
            .any(|(t, s)| t.starts_with("dnf-automatic") && s == "enabled");
        if !(applies && timer) {
            out.add("updates.auto_off".into(), Severity::Warn, "automatic security updates are off".into(), format!("dnf-automatic apply_updates = {}, timer enabled: {timer}", u.dnf.get("apply_updates").map(String::as_str).unwrap_or("unset")), "dnf install dnf-automatic; apply_updates = yes, upgrade_type = security; systemctl enable --now dnf-automatic.timer");
        }
    }
}

fn accounts(o: &Observed, root: bool, out: &mut Out) {
    let a = &o.accounts;
    for (user, uid, _, _) in &a.passwd {
        if *uid == 0 && user != "root" {
            out.add(
                format!("accounts.uid0.{user}"),
                Severity::Crit,
                format!("{user} has UID 0 (root's powers)"),
                format!("/etc/passwd: {user} uid 0"),
                "give it its own UID, or remove it",
            );
        }
    }
    let login = |shell: &str| {
        !(shell.ends_with("/nologin")
            || shell.ends_with("/false")
            || shell.is_empty()
            || shell.ends_with("/sync"))
    };
    match &a.shadow {
        Some(sh) => {
            for (user, _, _, shell) in a.passwd.iter().filter(|p| login(&p.3)) {
                if sh.get(user).map(String::as_str) == Some("empty") {
                    out.add(
                        format!("accounts.empty_password.{user}"),
                        Severity::Crit,
                        format!("{user} has an empty password and a login shell ({shell})"),
                        "/etc/shadow: no password".into(),
                        "passwd -l the account (or set a password)",
                    );
                }
            }
        }
        None if !root => out.unverified(
            "accounts.unverified",
            "password-less accounts",
            "/etc/shadow needs root",
        ),
        None => {}
    }
    if a.sudoers_unreadable && !root {
        out.unverified(
            "sudo.unverified",
            "NOPASSWD sudo rules",
            "/etc/sudoers needs root",
        );
    }
    for (file, line) in &a.nopasswd {
        out.add(
            format!("sudo.nopasswd.{file}"),
            Severity::Warn,
            format!("sudo without a password in {file}"),
            line.clone(),
            "require the password, or narrow the rule to the commands automation needs",
        );
    }
    let admins: Vec<String> = a
        .admins
        .iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(g, m)| format!("{g}: {}", m.join(", ")))
        .collect();
    if !admins.is_empty() {
        out.add(
            "accounts.admins".into(),
            Severity::Info,
            "members of the admin groups".into(),
            admins.join("; "),
            "",
        );
    }
}

fn reboot(o: &Observed, out: &mut Out) {
    let r = &o.reboot;
    if let Some(running) = &r.running {
        if let Some(newest) = r
            .installed
            .iter()
            .max_by(|a, b| super::parse::version_cmp(a, b))
        {
            if super::parse::version_cmp(newest, running) == std::cmp::Ordering::Greater {
                out.add(
                    "reboot.kernel".into(),
                    Severity::Warn,
                    format!("running kernel {running}, newest installed {newest}"),
                    "a reboot activates the newer kernel and its fixes".into(),
                    "reboot (opsdeck patch reboot HOST)",
                );
            }
        }
    }
    if let (Some(since), Some(now)) = (r.required_since, r.now) {
        let days = ((now - since) / 86_400).max(0);
        out.add(
            "reboot.required".into(),
            if days > 14 {
                Severity::Warn
            } else {
                Severity::Info
            },
            format!("a reboot has been required for {days} days"),
            "/var/run/reboot-required".into(),
            "reboot (opsdeck patch reboot HOST)",
        );
    }
    if !r.services.is_empty() {
        out.add(
            "reboot.services".into(),
            Severity::Warn,
            format!(
                "{} running on deleted (replaced) libraries",
                crate::util::plural(r.services.len(), "service", "services")
            ),
            r.services.join(", "),
            "restart them (needrestart -r a)",
        );
    }
}
