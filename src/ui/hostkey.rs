//! Host keys met by background work, the same way in every pane.
//!
//! Any SSH work (Hosts/Patches check, patch plan/apply/refresh/reboot,
//! backup checks, `r` runs) reports failures as text. When that text says
//! the host key is unknown, the shell ([`crate::ui::app`]) connects once more
//! to get the key itself ([`fetch`]), asks with host, key type and `SHA256:`
//! fingerprint ([`ask_lines`]), records it on yes through
//! [`crate::ssh::Engine::accept_host_key`] and retries what failed. A changed
//! (or revoked) key is never asked about: it is shown, loudly, with both
//! fingerprints ([`changed_lines`]), and nothing is retried.

use ratatui::text::Line;

use crate::model::Host;
use crate::ssh::{Engine, SshError, UnknownKey};
use crate::ui::pane::PaneId;
use crate::ui::theme::Theme;

/// What an error text says about the host key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyProblem {
    /// Not in known_hosts: ask.
    Unknown,
    /// Changed or revoked: refuse; the message (with both fingerprints).
    Changed(String),
}

/// Classify the error text of any SSH result (`"web1: unknown host key for
/// ..."`, `"via jump host j: HOST KEY CHANGED ..."`).
pub fn problem(error: &str) -> Option<KeyProblem> {
    if let Some(i) = error.find("HOST KEY CHANGED") {
        return Some(KeyProblem::Changed(error[i..].to_string()));
    }
    error
        .contains("unknown host key for")
        .then_some(KeyProblem::Unknown)
}

/// What to do again once the key is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Retry {
    /// The shell's check of this host.
    Check,
    /// An `r` run of this command (into its run view when still open).
    Run { run: u64, command: String },
    /// The pane that started the work gets `PaneEvent::HostKeyAccepted`.
    Pane { pane: PaneId, tag: String },
}

/// The key of a host, learnt by connecting once more.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Unknown: ask about it. `via`: the jump host whose key it is.
    Unknown {
        key: UnknownKey,
        via: Option<String>,
    },
    /// Changed or revoked: the engine's message.
    Changed(String),
    /// It connects now (recorded meanwhile): just retry.
    Known,
    /// Some other failure (host down...).
    Failed(String),
}

/// Connect to `host` (blocking: call from a job) and say what its key is.
pub fn fetch(engine: &Engine, host: &Host) -> Fetched {
    fn classify(e: SshError, via: Option<String>) -> Fetched {
        match e {
            SshError::HostKeyUnknown(key) => Fetched::Unknown { key, via },
            SshError::HostKeyChanged(m) => Fetched::Changed(format!("HOST KEY CHANGED: {m}")),
            SshError::Jump { hop, error } => classify(*error, Some(hop)),
            other => Fetched::Failed(other.to_string()),
        }
    }
    match engine.connect(host) {
        Ok(_) => Fetched::Known,
        Err(e) => classify(e, None),
    }
}

/// Title and lines of the yes/no question.
pub fn ask_lines(host: &str, key: &UnknownKey, via: Option<&str>) -> (String, Vec<String>) {
    let whose = match via {
        Some(j) => format!("{j} (the jump host to {host})"),
        None => host.to_string(),
    };
    let title = format!("Unknown host key for {whose}. Accept it and try again?");
    let lines = vec![
        format!("host:        {whose} ({})", key.host_pattern),
        format!("key type:    {}", key.key_type),
        format!("fingerprint: {}", key.fingerprint),
        format!("recorded in: {}", key.known_hosts_file.display()),
        String::new(),
        "Compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)."
            .into(),
    ];
    (title, lines)
}

/// One unknown key waiting for an answer.
pub struct Waiting<'a> {
    pub host: &'a str,
    pub key: &'a UnknownKey,
    /// The jump host whose key it is.
    pub via: Option<&'a str>,
}

/// Title and lines of the question about every unknown key met so far
/// (one host: [`ask_lines`]). The first host is the one `y`/`n` answer;
/// the whole list is what "accept all" accepts.
pub fn ask_many(list: &[Waiting<'_>]) -> (String, Vec<String>) {
    if let [one] = list {
        return ask_lines(one.host, one.key, one.via);
    }
    let title = format!(
        "{} hosts present a host key known_hosts does not know. Accept them and try again?",
        list.len()
    );
    let name_w = list
        .iter()
        .map(|w| w.host.chars().count())
        .max()
        .unwrap_or(4)
        .min(24);
    let mut lines = Vec::new();
    for (i, w) in list.iter().enumerate() {
        let mark = if i == 0 { "→" } else { " " };
        lines.push(format!(
            "{mark} {:<name_w$}  {} {}",
            w.host, w.key.key_type, w.key.fingerprint
        ));
        let via = w
            .via
            .map(|j| format!("; the key of jump host {j}"))
            .unwrap_or_default();
        lines.push(format!(
            "  {:<name_w$}  as {} in {}{via}",
            "",
            w.key.host_pattern,
            w.key.known_hosts_file.display()
        ));
    }
    lines.push(String::new());
    lines.push(
        "Compare each fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)."
            .into(),
    );
    lines.push("A changed key is never listed here: it is refused.".into());
    (title, lines)
}

/// Title of the overlay for a changed key (one per host at a time).
pub fn changed_title(host: &str) -> String {
    format!("HOST KEY CHANGED for {host}: refused")
}

/// The overlay text for a changed key: the engine's message (both
/// fingerprints, the known_hosts line) and what to do.
pub fn changed_lines(host: &str, message: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(
            format!("opsdeck refused to connect to {host}: its host key is not the recorded one."),
            theme.error(),
        ),
        Line::raw(""),
    ];
    let msg = message
        .strip_prefix("HOST KEY CHANGED, refusing to connect: ")
        .or_else(|| message.strip_prefix("HOST KEY CHANGED: "))
        .unwrap_or(message);
    for part in msg.split(". ") {
        let part = part.trim();
        if !part.is_empty() {
            lines.push(Line::raw(format!(
                "{}{}",
                part,
                if part.ends_with('.') { "" } else { "." }
            )));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Nothing was recorded or retried. Esc closes this.",
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_are_classified() {
        assert_eq!(
            problem("web1: unknown host key for [127.0.0.2]:22: ssh-ed25519 SHA256:x (not in f)"),
            Some(KeyProblem::Unknown)
        );
        assert_eq!(
            problem("via jump host j: HOST KEY CHANGED, refusing to connect: j now offers"),
            Some(KeyProblem::Changed(
                "HOST KEY CHANGED, refusing to connect: j now offers".into()
            ))
        );
        assert_eq!(problem("connection failed: refused"), None);
    }
}
