//! Telling: the events of a sweep go to every channel of `[alerts]`
//! (webhooks: one JSON POST per event; e-mail: one message per sweep with
//! every event), each tried up to [`ATTEMPTS`] times with a pause between.
//! A channel that still fails is returned by name and reason: the sweep
//! journals it and says it in its next summary; it never fails the sweep.

use std::time::Duration;

use super::alerts::{Change, Event};
use super::http;
use super::mail::{self, Message};
use crate::model::AlertSettings;

/// Tries per channel and message.
pub const ATTEMPTS: u32 = 3;

fn retry(mut f: impl FnMut() -> Result<(), String>) -> Result<(), String> {
    let mut last = String::new();
    for i in 0..ATTEMPTS {
        match f() {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if i + 1 < ATTEMPTS {
            std::thread::sleep(Duration::from_millis(500 * u64::from(i + 1)));
        }
    }
    Err(format!("{last} ({ATTEMPTS} tries)"))
}

/// The webhook body of one event.
pub fn json(e: &Event) -> String {
    serde_json::json!({
        "event": e.event,
        "host": e.host,
        "item": e.item,
        "status": e.status,
        "text": format!("opsdeck: {}", e.text),
        "id": e.id,
    })
    .to_string()
}

/// The mail of a sweep's events.
pub fn message(cfg: &AlertSettings, events: &[Event]) -> Message {
    let count = |c: Change| events.iter().filter(|e| e.event == c).count();
    let subject = match events {
        [one] if one.event == Change::Digest => format!("[opsdeck] daily digest: {}", one.item),
        [one] => format!("[opsdeck] {}", one.text.lines().next().unwrap_or("")),
        _ => {
            let mut parts = Vec::new();
            for (c, w) in [
                (Change::New, "new"),
                (Change::Worse, "worse"),
                (Change::Cleared, "cleared"),
            ] {
                let n = count(c);
                if n > 0 {
                    parts.push(format!("{n} {w}"));
                }
            }
            format!("[opsdeck] {}", parts.join(", "))
        }
    };
    let mut body = String::new();
    for e in events {
        body.push_str(&e.text);
        body.push('\n');
    }
    body.push_str(
        "\n-- \nopsdeck sweep (change [alerts] in opsdeck.toml to change what is sent)\n",
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    Message {
        from: cfg
            .mail_from
            .clone()
            .unwrap_or_else(|| format!("opsdeck <opsdeck@{host}>")),
        to: cfg.mail_to.clone(),
        subject,
        body,
    }
}

/// Send `events` on every channel; the failures, one line each.
pub fn send(cfg: &AlertSettings, events: &[Event]) -> Vec<String> {
    let mut failed = Vec::new();
    if events.is_empty() {
        return failed;
    }
    for url in &cfg.webhook {
        for e in events {
            let body = json(e);
            if let Err(why) = retry(|| {
                http::request("POST", url, "application/json", body.as_bytes()).map(|_| ())
            }) {
                failed.push(format!("webhook {}: {why}", redact(url)));
                break;
            }
        }
    }
    if !cfg.mail_to.is_empty() {
        let m = message(cfg, events);
        let r = retry(|| match &cfg.smtp {
            Some(s) => mail::smtp(s, &m),
            None => mail::sendmail(&m),
        });
        if let Err(why) = r {
            failed.push(format!("mail: {why}"));
        }
    }
    failed
}

/// The dead man's switch: `URL/start`, `URL`, `URL/fail` (body: the summary).
pub fn ping(cfg: &AlertSettings, suffix: &str, body: &str) -> Option<String> {
    let url = cfg.ping.as_ref()?;
    let full = http::Url::join(url, suffix);
    retry(|| http::request("POST", &full, "text/plain; charset=utf-8", body.as_bytes()).map(|_| ()))
        .err()
        .map(|why| format!("ping {}: {why}", redact(&full)))
}

/// A URL for the journal: its path is often the secret (Slack, ntfy
/// topics, healthchecks uuids): only scheme and host are kept.
pub fn redact(url: &str) -> String {
    match http::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", if u.tls { "https" } else { "http" }, u.host),
        Err(_) => "(bad URL)".into(),
    }
}

/// A test message on every channel: (channel, Ok or why not).
pub fn test(cfg: &AlertSettings) -> Vec<(String, Result<(), String>)> {
    let e = Event {
        event: Change::New,
        host: String::new(),
        id: "test".into(),
        item: "test message".into(),
        status: "ok".into(),
        text: "test message from `opsdeck alerts test`: this channel works".into(),
    };
    let mut out = Vec::new();
    for url in &cfg.webhook {
        let body = json(&e);
        out.push((
            format!("webhook {}", redact(url)),
            retry(|| http::request("POST", url, "application/json", body.as_bytes()).map(|_| ())),
        ));
    }
    if let Some(url) = &cfg.ping {
        out.push((
            format!("ping {}", redact(url)),
            retry(|| {
                http::request(
                    "POST",
                    url,
                    "text/plain; charset=utf-8",
                    b"opsdeck alerts test",
                )
                .map(|_| ())
            }),
        ));
    }
    if !cfg.mail_to.is_empty() {
        let m = message(cfg, std::slice::from_ref(&e));
        let how = if cfg.smtp.is_some() {
            "smtp"
        } else {
            "sendmail"
        };
        out.push((
            format!("mail ({how}) to {}", cfg.mail_to.join(", ")),
            retry(|| match &cfg.smtp {
                Some(s) => mail::smtp(s, &m),
                None => mail::sendmail(&m),
            }),
        ));
    }
    out
}
