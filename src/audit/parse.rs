//! The audit probe's sections, read into what the rules judge. Pure; a
//! section that cannot be read is `None` (unknown, with the reason), never
//! a lost host.

use std::collections::BTreeMap;

use super::certs::{self, Cert};
use super::keys::{self, AuthKey};
use super::Listener;
use crate::model::TimeSync;
use crate::sections::{ParseError, Sections};

/// Everything the probe told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub uid: Option<u32>,
    pub user: String,
    pub become_root: bool,
    /// `become` was asked and `sudo -n` refused.
    pub sudo_refused: bool,
    /// The SSH connection's server port (from `SSH_CONNECTION`).
    pub ssh_port: Option<u16>,
    /// The effective sshd settings (lowercase keys) and where they came from.
    pub sshd: Option<(BTreeMap<String, String>, SshdSource)>,
    pub listeners: Option<Vec<Listener>>,
    pub firewall: Firewall,
    pub updates: AutoUpdates,
    pub accounts: Accounts,
    pub reboot: Reboot,
    pub time: Option<TimeSync>,
    pub keys: Vec<AuthKey>,
    pub certs: Vec<Cert>,
    /// Sections that could not be read.
    pub problems: Vec<ParseError>,
}

/// Where the sshd settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshdSource {
    /// `sshd -T`: what sshd itself computes.
    Effective,
    /// The config files read as sshd reads them (first value wins,
    /// `Include` in place, `Match` blocks left out), defaults filled in.
    Files,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Firewall {
    /// (tool, active, default input policy) for each tool that answered.
    pub seen: Vec<(String, bool, Option<String>)>,
    /// A tool was there but needed root to answer.
    pub needs_root: bool,
    /// systemd units of firewalls that are active.
    pub units: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoUpdates {
    pub managers: Vec<String>,
    /// APT::Periodic::* values.
    pub apt: BTreeMap<String, String>,
    pub unattended_installed: bool,
    /// When unattended-upgrades last wrote its log (Unix seconds).
    pub last_run: Option<i64>,
    pub dnf: BTreeMap<String, String>,
    /// timer → is-enabled answer.
    pub timers: BTreeMap<String, String>,
    pub now: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// (user, uid, home, shell).
    pub passwd: Vec<(String, u32, String, String)>,
    /// user → empty / locked / set; None: /etc/shadow unreadable.
    pub shadow: Option<BTreeMap<String, String>>,
    /// group → members.
    pub admins: BTreeMap<String, Vec<String>>,
    /// (file, line) with NOPASSWD.
    pub nopasswd: Vec<(String, String)>,
    pub sudoers_unreadable: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reboot {
    pub running: Option<String>,
    pub installed: Vec<String>,
    pub required_since: Option<i64>,
    pub services: Vec<String>,
    pub now: Option<i64>,
}

fn non_empty<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    lines
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
}

/// Read the whole probe output. Only output that is not the probe's is an
/// error; every section fails alone.
pub fn parse(text: &str) -> Result<Observed, ParseError> {
    let s = Sections::split(text)?;
    let mut o = Observed::default();
    for (section, why) in &s.cut {
        o.problems.push(ParseError::new(section, why.clone()));
    }
    for l in non_empty(s.get("whoami").unwrap_or(&[])) {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "uid" => o.uid = v.trim().parse().ok(),
            "user" => o.user = crate::util::excerpt(v.trim(), 64),
            "become" => o.become_root = v.trim() != "no",
            "sudo" if v.trim() == "refused" => {
                o.sudo_refused = true;
                o.become_root = false;
            }
            "conn" => o.ssh_port = v.split_whitespace().nth(3).and_then(|p| p.parse().ok()),
            _ => {}
        }
    }
    o.sshd = sshd(&s);
    o.listeners = s.get("listen").map(listeners);
    o.firewall = firewall(s.get("firewall").unwrap_or(&[]));
    o.updates = updates(s.get("autoupdates").unwrap_or(&[]));
    o.accounts = accounts(s.get("accounts").unwrap_or(&[]));
    o.reboot = reboot(s.get("reboot").unwrap_or(&[]));
    match crate::checks::family::parse_time_sync(s.get("timesync").unwrap_or(&[])) {
        Ok(t) => o.time = t,
        Err(e) => o.problems.push(e),
    }
    o.keys = authorized_keys(s.get("keys").unwrap_or(&[]));
    let now = o
        .updates
        .now
        .or(o.reboot.now)
        .unwrap_or_else(|| jiff::Timestamp::now().as_second());
    o.certs = certs::parse(s.get("certs").unwrap_or(&[]), now);
    Ok(o)
}

fn sshd(s: &Sections) -> Option<(BTreeMap<String, String>, SshdSource)> {
    let rc = s.rc("sshd.T").ok().flatten();
    if rc == Some(0) {
        let lines = s.get("sshd.T")?;
        let mut m = BTreeMap::new();
        for l in non_empty(lines) {
            let (k, v) = l.trim().split_once(' ').unwrap_or((l.trim(), ""));
            m.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_string());
        }
        if m.contains_key("permitrootlogin") {
            return Some((m, SshdSource::Effective));
        }
    }
    let files = sshd_files(s.get("sshd.files")?);
    let (main, _) = files.first()?;
    let mut m = BTreeMap::new();
    apply_config(main, &files, &mut m, 0);
    for (k, v) in SSHD_DEFAULTS {
        m.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    Some((m, SshdSource::Files))
}

/// OpenSSH 9.x defaults of the settings the rules read.
const SSHD_DEFAULTS: &[(&str, &str)] = &[
    ("permitrootlogin", "without-password"),
    ("passwordauthentication", "yes"),
    ("kbdinteractiveauthentication", "yes"),
    ("permitemptypasswords", "no"),
    ("x11forwarding", "no"),
    ("allowagentforwarding", "yes"),
    ("maxauthtries", "6"),
    ("usepam", "no"),
    (
        "authorizedkeysfile",
        ".ssh/authorized_keys .ssh/authorized_keys2",
    ),
];

/// The `sshd.files` section: `== PATH` then the file's lines.
pub fn sshd_files<'a>(lines: &[&'a str]) -> Vec<(String, Vec<&'a str>)> {
    let mut out: Vec<(String, Vec<&'a str>)> = Vec::new();
    for l in lines {
        if let Some(p) = l.strip_prefix("== ") {
            out.push((p.trim().to_string(), Vec::new()));
        } else if let Some((_, v)) = out.last_mut() {
            v.push(l);
        }
    }
    out
}

/// Apply one config file as sshd does: the first value of a keyword wins,
/// `Include` is read in place (globs, relative to /etc/ssh), a `Match`
/// block runs to the end of its file and is left out (it applies to some
/// connections only).
pub fn apply_config(
    path: &str,
    files: &[(String, Vec<&str>)],
    m: &mut BTreeMap<String, String>,
    depth: usize,
) {
    let Some((_, lines)) = files.iter().find(|(p, _)| p == path) else {
        return;
    };
    for l in lines {
        let l = l.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        let (k, v) = match l.find(|c: char| c.is_whitespace() || c == '=') {
            Some(i) => (
                &l[..i],
                l[i + 1..].trim_start_matches(['=', ' ', '\t']).trim(),
            ),
            None => (l, ""),
        };
        let k = k.to_ascii_lowercase();
        if k == "match" {
            return;
        }
        if k == "include" {
            if depth >= 8 {
                continue;
            }
            for pat in v.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("/etc/ssh/{pat}")
                };
                let mut hits: Vec<&String> = files
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| crate::patches::commands::hold_matches(&pat, p))
                    .collect();
                hits.sort();
                for h in hits {
                    apply_config(h, files, m, depth + 1);
                }
            }
            continue;
        }
        m.entry(k).or_insert_with(|| v.to_string());
    }
}

/// `ss -H -tulpn` lines, or /proc/net/{tcp,tcp6,udp,udp6} after "!! no ss".
pub fn listeners(lines: &[&str]) -> Vec<Listener> {
    let mut out = Vec::new();
    for l in non_empty(lines) {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let Some(proc_l) = proc_net(&w) {
            out.push(proc_l);
            continue;
        }
        if w.len() < 5 || !matches!(w[0], "tcp" | "udp") {
            continue;
        }
        if w[0] == "tcp" && w[1] != "LISTEN" {
            continue;
        }
        let Some((addr, port)) = w[4].rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.split('%').next().unwrap_or(addr).to_string();
        let process = w[5..]
            .iter()
            .find_map(|x| x.split("((\"").nth(1))
            .and_then(|x| x.split('"').next())
            .map(|x| crate::util::excerpt(x, 32));
        out.push(Listener {
            proto: w[0].to_string(),
            exposed: !is_loopback(&addr),
            address: addr,
            port,
            process,
        });
    }
    out.sort_by(|a, b| {
        (a.proto.as_str(), a.port, a.address.as_str()).cmp(&(
            b.proto.as_str(),
            b.port,
            b.address.as_str(),
        ))
    });
    out.dedup();
    out
}

fn is_loopback(a: &str) -> bool {
    a.starts_with("127.") || a == "::1" || a == "localhost" || a.starts_with("::ffff:127.")
}

/// One /proc/net line as the probe prefixes it: `tcp 0: 0100007F:0277 … 0A …`.
fn proc_net(w: &[&str]) -> Option<Listener> {
    let kind = *w.first()?;
    if !matches!(kind, "tcp" | "tcp6" | "udp" | "udp6") || w.len() < 5 || !w[1].ends_with(':') {
        return None;
    }
    let state = w[4];
    let tcp = kind.starts_with("tcp");
    if (tcp && state != "0A") || (!tcp && state != "07") {
        return None;
    }
    let (hex, port) = w[2].split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let address = if hex.len() == 8 {
        let n = u32::from_str_radix(hex, 16).ok()?;
        std::net::Ipv4Addr::from(n.swap_bytes()).to_string()
    } else if hex.len() == 32 {
        let mut b = [0u8; 16];
        for (i, chunk) in b.chunks_mut(4).enumerate() {
            let n = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
            chunk.copy_from_slice(&n.swap_bytes().to_be_bytes());
        }
        std::net::Ipv6Addr::from(b).to_string()
    } else {
        return None;
    };
    Some(Listener {
        proto: if tcp { "tcp" } else { "udp" }.into(),
        exposed: !is_loopback(&address),
        address,
        port,
        process: None,
    })
}

fn firewall(lines: &[&str]) -> Firewall {
    let mut f = Firewall::default();
    let mut text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut rcs: BTreeMap<&str, i32> = BTreeMap::new();
    for l in non_empty(lines) {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        if let Some(tool) = k.strip_suffix(".rc") {
            rcs.insert(tool, v.trim().parse().unwrap_or(1));
        } else if k == "unit" {
            let mut p = v.split_whitespace();
            if let (Some(u), Some("active")) = (p.next(), p.next()) {
                f.units.push(u.to_string());
            }
        } else if k == "firewalld" {
            f.seen
                .push(("firewalld".into(), v.trim() == "running", None));
        } else {
            text.entry(k).or_default().push(v);
        }
    }
    let denied = |t: &[&str]| {
        t.iter().any(|l| {
            l.contains("ermission denied")
                || l.contains("Operation not permitted")
                || l.contains("must be root")
                || l.contains("need to be root")
        })
    };
    for (tool, rc) in rcs {
        let t = text.get(tool).cloned().unwrap_or_default();
        if rc != 0 {
            if denied(&t) || rc == 1 && t.is_empty() {
                f.needs_root = true;
            }
            continue;
        }
        match tool {
            "nft" => {
                let input: Vec<&&str> = t.iter().filter(|l| l.contains("hook input")).collect();
                let policy = input.iter().find_map(|l| {
                    l.split("policy ")
                        .nth(1)
                        .map(|p| p.trim_end_matches([';', ' ']).to_string())
                });
                f.seen.push(("nftables".into(), !input.is_empty(), policy));
            }
            "iptables" => {
                let policy = t.iter().find_map(|l| {
                    l.strip_prefix("-P INPUT ")
                        .map(|p| p.trim().to_ascii_lowercase())
                });
                let rules = t.iter().filter(|l| l.starts_with("-A INPUT")).count();
                let active = rules > 0 || policy.as_deref().is_some_and(|p| p != "accept");
                f.seen.push(("iptables".into(), active, policy));
            }
            "ufw" => {
                let active = t.iter().any(|l| l.trim() == "Status: active");
                let policy = t.iter().find_map(|l| {
                    l.strip_prefix("Default: ")
                        .and_then(|d| d.split(" (incoming)").next())
                        .map(|p| p.trim().to_string())
                });
                f.seen.push(("ufw".into(), active, policy));
            }
            _ => {}
        }
    }
    f
}

fn updates(lines: &[&str]) -> AutoUpdates {
    let mut u = AutoUpdates::default();
    for l in non_empty(lines) {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "pm" => u.managers.push(v.trim().to_string()),
            "apt" => {
                // APT::Periodic::Unattended-Upgrade "1";
                let mut p = v.trim().splitn(2, char::is_whitespace);
                if let (Some(key), Some(val)) = (p.next(), p.next()) {
                    let val = val
                        .trim()
                        .trim_end_matches(';')
                        .trim_matches('"')
                        .to_string();
                    u.apt
                        .insert(key.trim_start_matches("APT::Periodic::").to_string(), val);
                }
            }
            "unattended-upgrade" => u.unattended_installed = true,
            "uulog" => u.last_run = v.trim().parse().ok(),
            "dnf" => {
                if let Some((a, b)) = v.split_once('=') {
                    u.dnf.insert(a.trim().to_string(), b.trim().to_string());
                }
            }
            "timer" => {
                let mut p = v.split_whitespace();
                if let Some(t) = p.next() {
                    u.timers
                        .insert(t.to_string(), p.next().unwrap_or("").to_string());
                }
            }
            "now" => u.now = v.trim().parse().ok(),
            _ => {}
        }
    }
    u
}

fn accounts(lines: &[&str]) -> Accounts {
    let mut a = Accounts::default();
    let mut shadow = BTreeMap::new();
    let mut shadow_ok = false;
    for l in non_empty(lines) {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.first().copied() {
            Some("passwd") if w.len() >= 4 => {
                if let Ok(uid) = w[2].parse() {
                    a.passwd.push((
                        w[1].to_string(),
                        uid,
                        w[3].to_string(),
                        w.get(4).unwrap_or(&"").to_string(),
                    ));
                }
            }
            Some("shadow") if w.len() >= 3 => {
                shadow_ok = true;
                shadow.insert(w[1].to_string(), w[2].to_string());
            }
            Some("group") if w.len() >= 2 => {
                let members = w
                    .get(2)
                    .map(|m| {
                        m.split(',')
                            .filter(|x| !x.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                a.admins.insert(w[1].to_string(), members);
            }
            Some("nopasswd") if w.len() >= 3 => {
                a.nopasswd.push((
                    w[1].to_string(),
                    crate::util::excerpt(&w[2..].join(" "), 200),
                ));
            }
            Some("!!") if l.contains("sudoers") => a.sudoers_unreadable = true,
            _ => {}
        }
    }
    a.shadow = shadow_ok.then_some(shadow);
    a
}

fn reboot(lines: &[&str]) -> Reboot {
    let mut r = Reboot::default();
    for l in non_empty(lines) {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "running" => r.running = Some(v.trim().to_string()),
            "installed" => r.installed.push(v.trim().to_string()),
            "required" => r.required_since = v.trim().parse().ok(),
            "now" => r.now = v.trim().parse().ok(),
            "NEEDRESTART-SVC:" => r.services.push(crate::util::excerpt(v.trim(), 80)),
            // no needrestart: a process mapping a deleted library ("deleted PID NAME")
            "deleted" => {
                let name = v.split_whitespace().nth(1).unwrap_or("?");
                let name = crate::util::excerpt(name, 32);
                if !r.services.contains(&name) {
                    r.services.push(name);
                }
            }
            _ => {}
        }
    }
    r
}

fn authorized_keys(lines: &[&str]) -> Vec<AuthKey> {
    let mut out = Vec::new();
    let (mut user, mut file, mut n) = (String::new(), String::new(), 0usize);
    for l in lines {
        if let Some(rest) = l.strip_prefix("== ") {
            let (u, f) = rest.split_once(' ').unwrap_or((rest, ""));
            user = u.to_string();
            file = f.trim().to_string();
            n = 0;
            continue;
        }
        n += 1;
        if let Some(k) = keys::parse_line(&user, &file, n, l) {
            out.push(k);
        }
    }
    out
}

/// Compare kernel versions ("6.1.0-26-amd64"): digit runs numerically.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let runs = |s: &str| -> Vec<Result<u64, String>> {
        let mut out: Vec<Result<u64, String>> = Vec::new();
        let mut cur = String::new();
        let mut digit = None;
        for c in s.chars() {
            let d = c.is_ascii_digit();
            if digit.is_some_and(|x| x != d) {
                out.push(if digit == Some(true) {
                    Ok(cur.parse().unwrap_or(0))
                } else {
                    Err(cur.clone())
                });
                cur.clear();
            }
            digit = Some(d);
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(if digit == Some(true) {
                Ok(cur.parse().unwrap_or(0))
            } else {
                Err(cur)
            });
        }
        out
    };
    let (x, y) = (runs(a), runs(b));
    for (p, q) in x.iter().zip(&y) {
        let o = match (p, q) {
            (Ok(m), Ok(n)) => m.cmp(n),
            (Err(m), Err(n)) => m.cmp(n),
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}
