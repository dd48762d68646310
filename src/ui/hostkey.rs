//! Host keys met by background work, the same way in every pane.
//!
//! Any SSH work (Hosts/Patches check, patch plan/apply/refresh/reboot,
//! backup checks, `r` runs) returns the typed [`crate::ssh::SshError`] that
//! stopped it. When [`crate::ssh::SshError::key_problem`] says the key is
//! unknown, the shell (the app) asks with host, key type and
//! `SHA256:` fingerprint from the key the error carries ([`ask_lines`]; no
//! second connection), records it on yes through
//! [`crate::ssh::Engine::accept_host_key`] and retries what failed. A changed
//! (or revoked) key is never asked about: it is shown, loudly, with both
//! fingerprints ([`changed_lines`]), and nothing is retried.

use ratatui::text::Line;

use crate::model::PaneId;
use crate::ssh::UnknownKey;
use crate::ui::msg::Request;
use crate::ui::theme::Theme;

/// What to do again once the key is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Retry {
    /// The shell's check of this host.
    Check,
    /// An `r` run of this command (into its run view when still open).
    Run { run: u64, command: String },
    /// The pane that started the work gets `PaneEvent::HostKeyAccepted`.
    Pane { pane: PaneId, req: Request },
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
