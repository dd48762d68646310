//! The security audit (`opsdeck audit`, the Security pane): one read-only
//! round trip per host (`probe.sh` on stdin of `sh -s`, the section format
//! of `crate::sections`), pure parsers per source, rules that turn what was
//! read into findings (each with an id, a severity, its evidence and the
//! fix), authorized keys with their fingerprints, and certificates. What
//! needs root to be certain and could not be read says "unverified (needs
//! root)" instead of claiming a clean result. Rules, sources and
//! severities: docs/decisions/audit.md. The task (run, save, journal) is
//! `ops::audit`; keys find/revoke is `ops::keys`.

pub mod certs;
pub mod keys;
pub mod parse;
pub mod rules;

use serde::{Deserialize, Serialize};

use crate::model::Status;

pub use certs::Cert;
pub use keys::AuthKey;

/// The probe, with the check's time-sync lines put in (one family, two uses).
pub static PROBE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let timesync = crate::checks::family::FAMILIES
        .iter()
        .find(|f| f.name == "timesync")
        .map(|f| f.probe)
        .unwrap_or("");
    include_str!("probe.sh").replacen("# @@timesync@@\n", timesync, 1)
});

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Crit,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Crit => "crit",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable: the rule and its subject ("sshd.root_login", "listen.tcp.8080").
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// What was read that says so.
    pub evidence: String,
    /// What to do.
    pub fix: String,
    /// Accepted in `[[audit.accept]]`: shown, not counted.
    #[serde(default)]
    pub accepted: bool,
    /// Could not be verified without root (`[audit] become = true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub proto: String,
    pub address: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Not loopback only.
    pub exposed: bool,
}

/// One host's audit (`audit --json`, state/audit.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostAudit {
    pub host: String,
    pub status: Status,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub certificates: Vec<Cert>,
    #[serde(default)]
    pub keys: Vec<AuthKey>,
    #[serde(default)]
    pub listeners: Vec<Listener>,
    pub error: Option<String>,
    /// RFC 3339.
    pub audited_at: String,
    /// The audit read as root (directly or through `sudo -n`).
    #[serde(default)]
    pub as_root: bool,
}

impl HostAudit {
    /// The status of the findings that count (not accepted).
    pub fn status_of(findings: &[Finding]) -> Status {
        findings
            .iter()
            .filter(|f| !f.accepted)
            .map(|f| match f.severity {
                Severity::Crit => Status::Crit,
                Severity::Warn => Status::Warn,
                Severity::Info => Status::Ok,
            })
            .fold(Status::Ok, Status::worst)
    }
}

/// The probe's command line: `sh -s -- BECOME 'PORTS' 'NAMES' 'PATHS'`.
pub fn probe_command(
    become_root: bool,
    ports: &[u16],
    names: &[String],
    paths: &[String],
) -> String {
    let join = |v: Vec<String>| crate::util::shell_quote(&v.join(" "));
    format!(
        "sh -s -- {} {} {} {}",
        if become_root { "become" } else { "no" },
        join(ports.iter().map(|p| p.to_string()).collect()),
        join(names.iter().filter(|n| valid_word(n)).cloned().collect()),
        join(paths.iter().filter(|n| valid_word(n)).cloned().collect())
    )
}

/// A name or path the probe's shell may split on spaces: no spaces or
/// control characters (the whole list is one quoted argument).
fn valid_word(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}
