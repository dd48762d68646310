//! Resolution like `ssh NAME`: `ssh -G` is the authority (Match, Include,
//! patterns, tokens), then hosts.toml overrides, then `[ssh]` settings where
//! the SSH config says nothing. See docs/decisions/ssh.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{AgentChoice, Resolved, SshError, StrictHostKeyChecking};
use crate::model::{Host, SshSettings};

/// The fields of `ssh -G` output the engine uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SshG {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// As printed (may start with `~`).
    pub identity_files: Vec<String>,
    pub identities_only: bool,
    pub user_known_hosts: Vec<String>,
    pub global_known_hosts: Vec<String>,
    /// None when absent or `none`.
    pub proxy_jump: Option<String>,
    /// None when `none`.
    pub connect_timeout: Option<u64>,
    pub strict: StrictHostKeyChecking,
    pub proxy_command: Option<String>,
    /// IdentityAgent as printed (`none`, `SSH_AUTH_SOCK`, `$VAR`, a path).
    pub identity_agent: Option<String>,
}

/// OpenSSH's default IdentityFile list, printed by `ssh -G` when the config names none.
const DEFAULT_IDENTITIES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

/// Key files opsdeck tries when nothing names one (as OpenSSH, minus the
/// hardware-token and obsolete types libssh2 cannot use).
const FALLBACK_IDENTITIES: &[&str] = &["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"];

pub fn parse_strict(v: &str) -> StrictHostKeyChecking {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => StrictHostKeyChecking::Yes,
        "accept-new" => StrictHostKeyChecking::AcceptNew,
        "no" | "off" | "false" => StrictHostKeyChecking::No,
        _ => StrictHostKeyChecking::Ask,
    }
}

/// Parse the text printed by `ssh -G NAME` (`key value` lines, keys lower-case).
pub fn parse_ssh_g(text: &str) -> Result<SshG, String> {
    let mut g = SshG::default();
    let mut have_host = false;
    let mut have_port = false;
    for line in text.lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let value = value.trim();
        match key.to_ascii_lowercase().as_str() {
            "hostname" => {
                g.hostname = value.to_string();
                have_host = true;
            }
            "port" => {
                g.port = value
                    .parse()
                    .map_err(|_| format!("ssh -G printed a bad port `{value}`"))?;
                have_port = true;
            }
            "user" => g.user = value.to_string(),
            "identityfile" => g.identity_files.push(value.to_string()),
            "identitiesonly" => g.identities_only = value.eq_ignore_ascii_case("yes"),
            "userknownhostsfile" => {
                g.user_known_hosts = value
                    .split_whitespace()
                    .filter(|f| !f.eq_ignore_ascii_case("none"))
                    .map(str::to_string)
                    .collect()
            }
            "globalknownhostsfile" => {
                g.global_known_hosts = value
                    .split_whitespace()
                    .filter(|f| !f.eq_ignore_ascii_case("none"))
                    .map(str::to_string)
                    .collect()
            }
            "proxyjump" if !value.eq_ignore_ascii_case("none") && !value.is_empty() => {
                g.proxy_jump = Some(value.to_string());
            }
            "proxycommand" if !value.eq_ignore_ascii_case("none") => {
                g.proxy_command = Some(value.to_string());
            }
            "connecttimeout" => {
                g.connect_timeout =
                    if value.eq_ignore_ascii_case("none") {
                        None
                    } else {
                        Some(value.parse().map_err(|_| {
                            format!("ssh -G printed a bad connecttimeout `{value}`")
                        })?)
                    }
            }
            "stricthostkeychecking" => g.strict = parse_strict(value),
            "identityagent" => g.identity_agent = Some(value.to_string()),
            _ => {}
        }
    }
    if !have_host || !have_port {
        return Err("ssh -G printed no hostname/port".into());
    }
    Ok(g)
}

/// One hop of a ProxyJump spec.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parse `[user@]host[:port]` (also `ssh://…` and `[v6]:port`), comma chains;
/// `none` is no jump.
pub fn parse_jump_chain(spec: &str) -> Result<Vec<JumpSpec>, String> {
    let spec = spec.trim();
    if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    spec.split(',').map(|s| parse_jump(s.trim())).collect()
}

fn parse_jump(s: &str) -> Result<JumpSpec, String> {
    let bad = || format!("bad ProxyJump hop `{s}`: write [user@]host[:port]");
    let s2 = s.strip_prefix("ssh://").unwrap_or(s);
    let (user, rest) = match s2.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, s2),
    };
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else if let Some((h, p)) = rest.rsplit_once(':') {
        (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?))
    } else {
        (rest.to_string(), None)
    };
    if host.is_empty() || user.as_deref() == Some("") {
        return Err(bad());
    }
    check_name(&host).map_err(|e| format!("{}: {e}", bad()))?;
    Ok(JumpSpec { user, host, port })
}

/// A host name safe to hand to `ssh -G` (no option injection, no control characters).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty host name".into());
    }
    if name.starts_with('-') {
        return Err(format!("host name `{name}` starts with `-`"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "host name `{name:?}` contains spaces or control characters"
        ));
    }
    Ok(())
}

/// `~` and `~/…` expanded with $HOME (else the passwd entry).
pub fn expand_tilde(p: &str) -> PathBuf {
    if p == "~" || p.starts_with("~/") {
        if let Some(home) = home_dir() {
            return home.join(p.trim_start_matches('~').trim_start_matches('/'));
        }
    }
    PathBuf::from(p)
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
}

/// The login name of the current uid (what `ssh -G` prints when no User is set).
pub fn login_name() -> String {
    // SAFETY: getpwuid_r with a buffer we own; the result points into it.
    unsafe {
        let uid = libc::getuid();
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        if libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) == 0
            && !out.is_null()
            && !pw.pw_name.is_null()
        {
            return std::ffi::CStr::from_ptr(pw.pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    crate::util::local_user()
}

/// Run `ssh -G [-F config] -- NAME`.
pub fn run_ssh_g(config_file: Option<&Path>, name: &str) -> Result<SshG, SshError> {
    check_name(name).map_err(SshError::Resolve)?;
    let mut cmd = Command::new("ssh");
    cmd.arg("-G");
    if let Some(cfg) = config_file {
        cmd.arg("-F").arg(cfg);
    }
    cmd.arg("--").arg(name);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().map_err(|e| {
        SshError::Resolve(format!(
            "cannot run `ssh -G` ({e}): opsdeck resolves hosts with the OpenSSH client; install openssh-client"
        ))
    })?;
    if !out.status.success() {
        let err = crate::util::sanitize(&out.stderr);
        return Err(SshError::Resolve(format!(
            "`ssh -G {name}` failed: {}",
            err.trim()
        )));
    }
    parse_ssh_g(&String::from_utf8_lossy(&out.stdout)).map_err(SshError::Resolve)
}

fn is_default_known_hosts(files: &[String]) -> bool {
    files.len() == 2
        && files[0].ends_with(".ssh/known_hosts")
        && files[1].ends_with(".ssh/known_hosts2")
}

/// The config file to give `ssh -G`: `[ssh] config_file` with `~` expanded.
pub fn config_path(settings: &SshSettings) -> Option<PathBuf> {
    settings.config_file.as_deref().map(expand_tilde)
}

/// IdentityAgent → where the agent is (None: not set in the config).
pub fn agent_choice(value: Option<&str>) -> Option<AgentChoice> {
    let v = value?.trim();
    Some(if v.eq_ignore_ascii_case("none") {
        AgentChoice::Off
    } else if v == "SSH_AUTH_SOCK" {
        AgentChoice::Env
    } else if let Some(var) = v.strip_prefix('$') {
        let var = var.trim_start_matches('{').trim_end_matches('}');
        match std::env::var_os(var).filter(|s| !s.is_empty()) {
            Some(p) => AgentChoice::Socket(PathBuf::from(p)),
            None => AgentChoice::Off,
        }
    } else {
        AgentChoice::Socket(expand_tilde(v))
    })
}

/// Build a Resolved from `ssh -G` output plus settings (no hosts.toml overrides, no jumps).
pub fn from_ssh_g(alias: &str, g: &SshG, settings: &SshSettings, local_user: &str) -> Resolved {
    let configured_ids: Vec<String> = if g
        .identity_files
        .iter()
        .all(|f| DEFAULT_IDENTITIES.contains(&f.as_str()))
    {
        Vec::new()
    } else {
        g.identity_files.clone()
    };
    let mut identity_files: Vec<PathBuf> = configured_ids.iter().map(|f| expand_tilde(f)).collect();
    for f in &settings.identity_files {
        let p = expand_tilde(f);
        if !identity_files.contains(&p) {
            identity_files.push(p);
        }
    }
    if configured_ids.is_empty() {
        for f in FALLBACK_IDENTITIES {
            let p = expand_tilde(f);
            if !identity_files.contains(&p) {
                identity_files.push(p);
            }
        }
    }
    let mut known_hosts_files: Vec<PathBuf> = if is_default_known_hosts(&g.user_known_hosts) {
        match &settings.known_hosts {
            Some(k) => vec![expand_tilde(k)],
            None => g.user_known_hosts.iter().map(|f| expand_tilde(f)).collect(),
        }
    } else {
        g.user_known_hosts.iter().map(|f| expand_tilde(f)).collect()
    };
    if known_hosts_files.is_empty() {
        // `UserKnownHostsFile none`: opsdeck still needs a file to verify against
        known_hosts_files.push(expand_tilde(
            settings
                .known_hosts
                .as_deref()
                .unwrap_or("~/.ssh/known_hosts"),
        ));
    }
    for f in &g.global_known_hosts {
        let p = expand_tilde(f);
        if !known_hosts_files.contains(&p) {
            known_hosts_files.push(p);
        }
    }
    let user = match &settings.user {
        Some(u) if g.user == local_user => u.clone(),
        _ => g.user.clone(),
    };
    let connect_timeout = Duration::from_secs(
        g.connect_timeout
            .unwrap_or(settings.connect_timeout_s)
            .max(1),
    );
    Resolved {
        alias: alias.to_string(),
        hostname: g.hostname.clone(),
        port: g.port,
        user,
        identity_files,
        identities_only: g.identities_only,
        known_hosts_files,
        strict: g.strict,
        connect_timeout,
        jumps: Vec::new(),
        agent: agent_choice(g.identity_agent.as_deref()),
    }
}

/// Resolve a host fully: ssh -G, overrides from hosts.toml, the ProxyJump
/// chain (each hop resolved the same way, its own ProxyJump followed for the
/// first hop only, as OpenSSH's `-J a,b` does). `lookup` runs ssh -G (cached
/// by the engine).
pub fn resolve_host(
    host: &Host,
    settings: &SshSettings,
    lookup: &dyn Fn(&str) -> Result<SshG, SshError>,
) -> Result<Resolved, SshError> {
    check_name(&host.name).map_err(SshError::Resolve)?;
    let g = lookup(&host.name)?;
    if g.proxy_command.is_some() && host.jump.is_none() && g.proxy_jump.is_none() {
        return Err(SshError::Resolve(format!(
            "{}: the SSH config sets ProxyCommand, which opsdeck does not support (use ProxyJump)",
            host.name
        )));
    }
    let local = login_name();
    let mut r = from_ssh_g(&host.name, &g, settings, &local);
    if let Some(a) = &host.address {
        r.hostname = a.clone();
    }
    if let Some(p) = host.port {
        r.port = p;
    }
    if let Some(u) = &host.user {
        r.user = u.clone();
    }
    let jump_spec = host.jump.clone().or(g.proxy_jump.clone());
    if let Some(spec) = jump_spec {
        r.jumps = resolve_chain(&spec, settings, lookup, &local, 0)?;
    }
    Ok(r)
}

fn resolve_chain(
    spec: &str,
    settings: &SshSettings,
    lookup: &dyn Fn(&str) -> Result<SshG, SshError>,
    local: &str,
    depth: usize,
) -> Result<Vec<Resolved>, SshError> {
    if depth > 8 {
        return Err(SshError::Resolve(format!(
            "ProxyJump nesting deeper than 8 at `{spec}` (a loop?)"
        )));
    }
    let hops = parse_jump_chain(spec).map_err(SshError::Resolve)?;
    let mut out = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let g = lookup(&hop.host)?;
        let mut r = from_ssh_g(&hop.host, &g, settings, local);
        if let Some(u) = &hop.user {
            r.user = u.clone();
        }
        if let Some(p) = hop.port {
            r.port = p;
        }
        if i == 0 {
            if let Some(inner) = &g.proxy_jump {
                out.extend(resolve_chain(inner, settings, lookup, local, depth + 1)?);
            }
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "host web1\nuser deploy\nhostname 10.0.0.5\nport 2222\nidentitiesonly yes\nstricthostkeychecking accept-new\nidentityfile ~/.ssh/deploy_ed25519\nidentityfile /etc/keys/k\nglobalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\nuserknownhostsfile /home/u/.ssh/kh_work\nproxyjump admin@bastion:2200,gw\nconnecttimeout 7\nproxycommand none\n";

    #[test]
    fn parses_ssh_g() {
        let g = parse_ssh_g(G).unwrap();
        assert_eq!(g.hostname, "10.0.0.5");
        assert_eq!(g.port, 2222);
        assert_eq!(g.user, "deploy");
        assert_eq!(g.identity_files, ["~/.ssh/deploy_ed25519", "/etc/keys/k"]);
        assert!(g.identities_only);
        assert_eq!(g.strict, StrictHostKeyChecking::AcceptNew);
        assert_eq!(g.user_known_hosts, ["/home/u/.ssh/kh_work"]);
        assert_eq!(g.proxy_jump.as_deref(), Some("admin@bastion:2200,gw"));
        assert_eq!(g.connect_timeout, Some(7));
        assert_eq!(g.proxy_command, None);
        assert_eq!(g.identity_agent, None);
        assert_eq!(agent_choice(None), None);
        assert_eq!(agent_choice(Some("none")), Some(AgentChoice::Off));
        assert_eq!(agent_choice(Some("SSH_AUTH_SOCK")), Some(AgentChoice::Env));
        assert_eq!(
            agent_choice(Some("/run/a.sock")),
            Some(AgentChoice::Socket("/run/a.sock".into()))
        );
        assert_eq!(
            agent_choice(Some("$OPSDECK_SURELY_UNSET_VAR")),
            Some(AgentChoice::Off)
        );
        assert!(parse_ssh_g("user x\n").is_err());
        let none = parse_ssh_g(
            "hostname h\nport 22\nuserknownhostsfile none\nglobalknownhostsfile none\n",
        )
        .unwrap();
        assert!(none.user_known_hosts.is_empty() && none.global_known_hosts.is_empty());
        assert!(parse_ssh_g("hostname h\nport http\n").is_err());
    }

    #[test]
    fn defaults_of_ssh_g_are_not_settings() {
        // What `ssh -G -F /dev/null h` prints (abridged).
        let text = "host h\nuser root\nhostname h\nport 22\nidentitiesonly no\nstricthostkeychecking ask\nconnecttimeout none\nidentityfile ~/.ssh/id_rsa\nidentityfile ~/.ssh/id_ecdsa\nidentityfile ~/.ssh/id_ecdsa_sk\nidentityfile ~/.ssh/id_ed25519\nidentityfile ~/.ssh/id_ed25519_sk\nidentityfile ~/.ssh/id_xmss\nidentityfile ~/.ssh/id_dsa\nglobalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2\nuserknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2\n";
        let g = parse_ssh_g(text).unwrap();
        let settings = SshSettings {
            known_hosts: Some("/srv/kh".into()),
            user: Some("ops".into()),
            identity_files: vec!["/srv/id".into()],
            connect_timeout_s: 4,
            ..Default::default()
        };
        let r = from_ssh_g("h", &g, &settings, "root");
        assert_eq!(r.user, "ops");
        assert_eq!(r.connect_timeout, Duration::from_secs(4));
        assert_eq!(r.known_hosts_files[0], PathBuf::from("/srv/kh"));
        assert!(r
            .known_hosts_files
            .contains(&PathBuf::from("/etc/ssh/ssh_known_hosts")));
        assert_eq!(r.identity_files[0], PathBuf::from("/srv/id"));
        assert!(r.identity_files.len() == 4, "{:?}", r.identity_files);
        assert_eq!(r.strict, StrictHostKeyChecking::Ask);

        // a config that names things wins over the settings
        let g2 = parse_ssh_g(G).unwrap();
        let r2 = from_ssh_g("web1", &g2, &settings, "root");
        assert_eq!(r2.user, "deploy");
        assert_eq!(
            r2.known_hosts_files[0],
            PathBuf::from("/home/u/.ssh/kh_work")
        );
        assert_eq!(r2.connect_timeout, Duration::from_secs(7));
        assert_eq!(r2.identity_files.len(), 3); // two configured + [ssh] identity_files
    }

    #[test]
    fn jump_specs() {
        assert_eq!(parse_jump_chain("none").unwrap(), vec![]);
        assert_eq!(
            parse_jump_chain("admin@bastion:2200, gw").unwrap(),
            vec![
                JumpSpec {
                    user: Some("admin".into()),
                    host: "bastion".into(),
                    port: Some(2200)
                },
                JumpSpec {
                    user: None,
                    host: "gw".into(),
                    port: None
                }
            ]
        );
        assert_eq!(
            parse_jump_chain("ssh://u@[::1]:22").unwrap()[0],
            JumpSpec {
                user: Some("u".into()),
                host: "::1".into(),
                port: Some(22)
            }
        );
        assert!(parse_jump_chain("h:port").is_err());
        assert!(parse_jump_chain("@h").is_err());
        assert!(parse_jump_chain("-oProxyCommand=x").is_err());
        assert!(parse_jump_chain("a,,b").is_err());
    }

    #[test]
    fn resolution_order_and_chains() {
        let lookup = |name: &str| -> Result<SshG, SshError> {
            let text = match name {
                "web1" => "hostname 10.0.0.5\nport 22\nuser deploy\nproxyjump bastion\n",
                "bastion" => "hostname 10.0.0.1\nport 22\nuser jump\nproxyjump outer\n",
                "outer" => "hostname 1.2.3.4\nport 2022\nuser o\n",
                "gw" => "hostname 10.0.0.2\nport 22\nuser g\nproxyjump outer\n",
                "loop" => "hostname l\nport 22\nuser l\nproxyjump loop\n",
                _ => return Err(SshError::Resolve(format!("no {name}"))),
            };
            Ok(parse_ssh_g(text).unwrap())
        };
        let s = SshSettings::default();
        let host = Host {
            name: "web1".into(),
            address: Some("192.168.1.5".into()),
            user: Some("me".into()),
            ..Default::default()
        };
        let r = resolve_host(&host, &s, &lookup).unwrap();
        assert_eq!(r.hostname, "192.168.1.5");
        assert_eq!(r.user, "me");
        let hops: Vec<_> = r.jumps.iter().map(|j| j.alias.as_str()).collect();
        assert_eq!(hops, ["outer", "bastion"]);

        // hosts.toml jump overrides the config's; later hops' own jumps are ignored
        let host2 = Host {
            name: "web1".into(),
            jump: Some("root@bastion:23,gw".into()),
            ..Default::default()
        };
        let r2 = resolve_host(&host2, &s, &lookup).unwrap();
        let hops: Vec<_> = r2
            .jumps
            .iter()
            .map(|j| format!("{}@{}:{}", j.user, j.alias, j.port))
            .collect();
        assert_eq!(hops, ["o@outer:2022", "root@bastion:23", "g@gw:22"]);

        let looped = Host {
            name: "loop".into(),
            ..Default::default()
        };
        assert!(matches!(
            resolve_host(&looped, &s, &lookup),
            Err(SshError::Resolve(_))
        ));
        let bad = Host {
            name: "-oProxyCommand=sh".into(),
            ..Default::default()
        };
        assert!(resolve_host(&bad, &s, &lookup).is_err());
    }
}
