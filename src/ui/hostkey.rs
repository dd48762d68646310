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

/// One host whose key is unknown: what to retry once it is recorded.
#[derive(Debug)]
struct KeyWait {
    host: String,
    retries: Vec<Retry>,
    /// The key (carried by the error of the work that met it).
    key: UnknownKey,
    /// The jump host whose key it is.
    via: Option<String>,
    /// Said yes: being recorded.
    accepting: bool,
}

/// The question to put (or to update, when one is open).
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub title: String,
    pub lines: Vec<String>,
    /// Labels of y and n (the first listed host's answer).
    pub yes: String,
    pub no: String,
    /// More answers: 'a' accept all, 'r' refuse all (several hosts).
    pub extra: Vec<(char, String)>,
}

/// The host-key controller: unknown keys met by any work, the question
/// about them, what to record and what to retry. Pure (no I/O, no UI): the
/// shell puts its question in an overlay and records keys in a job.
#[derive(Debug, Default)]
pub struct HostKeys {
    waits: Vec<KeyWait>,
    /// The hosts the open question lists (the first is the one y/n
    /// answer; "accept all" takes exactly these).
    listed: Vec<String>,
}

impl HostKeys {
    /// An unknown key met by some work (`retry` is that work).
    pub fn unknown(&mut self, host: &str, key: UnknownKey, via: Option<String>, retry: Retry) {
        match self.waits.iter_mut().find(|w| w.host == host) {
            Some(w) => {
                if !w.retries.contains(&retry) {
                    w.retries.push(retry);
                }
            }
            None => self.waits.push(KeyWait {
                host: host.to_string(),
                retries: vec![retry],
                key,
                via,
                accepting: false,
            }),
        }
    }

    /// Hosts waiting for an answer (not being recorded), in order.
    pub fn waiting(&self) -> Vec<String> {
        self.waits
            .iter()
            .filter(|w| !w.accepting)
            .map(|w| w.host.clone())
            .collect()
    }

    /// The hosts the open question lists.
    pub fn listed(&self) -> &[String] {
        &self.listed
    }

    /// The question about every waiting key, remembered as the listed
    /// ones; None when nothing waits or the open question (`open`) already
    /// lists exactly these.
    pub fn question(&mut self, open: bool) -> Option<Question> {
        let listed = self.waiting();
        if listed.is_empty() || (open && listed == self.listed) {
            return None;
        }
        let waiting: Vec<Waiting> = self
            .waits
            .iter()
            .filter(|w| listed.contains(&w.host))
            .map(|w| Waiting {
                host: &w.host,
                key: &w.key,
                via: w.via.as_deref(),
            })
            .collect();
        let (title, lines) = ask_many(&waiting);
        let first = &listed[0];
        let q = if listed.len() == 1 {
            Question {
                title,
                lines,
                yes: "accept".into(),
                no: "refuse".into(),
                extra: vec![],
            }
        } else {
            Question {
                title,
                lines,
                yes: format!("accept {first} only"),
                no: format!("refuse {first}"),
                extra: vec![
                    ('a', format!("accept all {} listed", listed.len())),
                    ('r', format!("refuse all {}", listed.len())),
                ],
            }
        };
        self.listed = listed;
        Some(q)
    }

    /// The keys of `hosts` to record now (each marked as being recorded;
    /// one already being recorded is not given twice).
    pub fn take_for_accept(&mut self, hosts: &[String]) -> Vec<(String, UnknownKey)> {
        let mut keys = Vec::new();
        for w in self.waits.iter_mut() {
            if hosts.contains(&w.host) && !w.accepting {
                w.accepting = true;
                keys.push((w.host.clone(), w.key.clone()));
            }
        }
        keys
    }

    /// Refuse the keys of `hosts`: forgotten, nothing retried.
    pub fn refuse(&mut self, hosts: &[String]) {
        self.waits
            .retain(|w| w.accepting || !hosts.contains(&w.host));
    }

    /// The key of `host` was recorded (or failed to be): what to retry.
    pub fn done(&mut self, host: &str) -> Vec<Retry> {
        match self.waits.iter().position(|w| w.host == host) {
            Some(i) => self.waits.remove(i).retries,
            None => vec![Retry::Check],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str) -> UnknownKey {
        UnknownKey {
            host_pattern: format!("[{host}]:22"),
            key_type: "ssh-ed25519".into(),
            fingerprint: format!("SHA256:{host}"),
            key_base64: "AAAA".into(),
            known_hosts_file: "/tmp/known_hosts".into(),
        }
    }

    #[test]
    fn keys_are_asked_together_recorded_once_and_retried_per_work() {
        let mut k = HostKeys::default();
        k.unknown("web1", key("web1"), None, Retry::Check);
        k.unknown(
            "web1",
            key("web1"),
            None,
            Retry::Run {
                run: 1,
                command: "uptime".into(),
            },
        );
        k.unknown("web1", key("web1"), None, Retry::Check);
        let q = k.question(false).expect("a question");
        assert_eq!(q.yes, "accept");
        assert!(q.extra.is_empty());
        // the open question already lists web1: nothing new to ask
        assert!(k.question(true).is_none());
        k.unknown("db1", key("db1"), Some("jump".into()), Retry::Check);
        let q = k.question(true).expect("db1 joins the open question");
        assert_eq!(q.yes, "accept web1 only");
        assert_eq!(q.extra.len(), 2);
        assert_eq!(k.listed(), ["web1", "db1"]);
        assert!(q.lines.iter().any(|l| l.contains("jump host jump")));

        let keys = k.take_for_accept(&["web1".into(), "db1".into()]);
        assert_eq!(keys.len(), 2);
        assert!(k.take_for_accept(&["web1".into()]).is_empty(), "once");
        assert!(k.waiting().is_empty());
        // web1's two works are retried, once each
        assert_eq!(k.done("web1").len(), 2);
        assert_eq!(k.done("db1"), [Retry::Check]);
    }

    #[test]
    fn refused_keys_are_forgotten_but_one_being_recorded_is_not() {
        let mut k = HostKeys::default();
        k.unknown("a", key("a"), None, Retry::Check);
        k.unknown("b", key("b"), None, Retry::Check);
        k.take_for_accept(&["a".into()]);
        k.refuse(&["a".into(), "b".into()]);
        assert!(k.waiting().is_empty());
        assert_eq!(k.done("a"), [Retry::Check]);
        assert!(k.question(false).is_none());
    }
}
