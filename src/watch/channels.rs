//! The channels the watch tells through: webhooks (JSON POST), the dead
//! man's ping (healthchecks-style) and mail (SMTP with STARTTLS and AUTH,
//! or the local `sendmail`). Each message is tried `[alerts] attempts`
//! times, waiting 0.5 s, 1 s, 2 s... (at most 5 s) between tries, each try
//! bounded by `[alerts] timeout_s`; a channel that still fails is reported
//! (journal, next summary) and never fails the sweep.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::alerts::{Event, Kind};
use crate::model::{AlertSettings, SmtpSettings};

/// How one channel did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// "webhook https://hooks.example/…", "mail it@example.org", "ping".
    pub channel: String,
    pub ok: bool,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(u: &str) -> Result<Url, String> {
    let (tls, rest) = if let Some(r) = u.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = u.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("`{u}` is not an http(s) URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err("user:password@ in a URL is not supported (put tokens in the path)".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.trim_matches(|c| c == '[' || c == ']').to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("`{u}`: bad port `{p}`"))?,
        ),
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(format!("`{u}`: no host"));
    }
    Ok(Url {
        tls,
        host,
        port,
        path: path.to_string(),
    })
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host}:{port}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(timeout));
                let _ = s.set_write_timeout(Some(timeout));
                return Ok(s);
            }
            Err(e) => last = format!("{host}:{port}: {e}"),
        }
    }
    Err(last)
}

fn tls_wrap(host: &str, tcp: TcpStream) -> Result<Box<dyn Stream>, String> {
    let connector = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())
        .map_err(|e| format!("TLS: {e}"))?
        .build();
    let s = connector
        .connect(host, tcp)
        .map_err(|e| format!("TLS with {host}: {e}"))?;
    Ok(Box::new(s))
}

/// One HTTP/1.1 POST; Ok when the answer is 2xx.
fn post(url: &str, content_type: &str, body: &[u8], timeout: Duration) -> Result<(), String> {
    let u = parse_url(url)?;
    let tcp = connect(&u.host, u.port, timeout)?;
    let mut s: Box<dyn Stream> = if u.tls {
        tls_wrap(&u.host, tcp)?
    } else {
        Box::new(tcp)
    };
    let host_hdr = if (u.tls && u.port == 443) || (!u.tls && u.port == 80) {
        u.host.clone()
    } else {
        format!("{}:{}", u.host, u.port)
    };
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {host_hdr}\r\nUser-Agent: opsdeck/{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        u.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .and_then(|_| s.flush())
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)
        .map_err(|e| format!("no answer: {e}"))?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP answer: {}", crate::util::excerpt(&status, 80)))?;
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP {code}"))
    }
}

/// Try `f` up to `attempts` times with a growing pause.
fn retry(attempts: u32, mut f: impl FnMut() -> Result<(), String>) -> (u32, Result<(), String>) {
    let mut last = Err("not tried".to_string());
    for i in 0..attempts.max(1) {
        if i > 0 {
            let ms = (500u64 << (i - 1).min(4)).min(5000);
            std::thread::sleep(Duration::from_millis(ms));
        }
        last = f();
        if last.is_ok() {
            return (i + 1, last);
        }
    }
    (attempts.max(1), last)
}

fn delivery(channel: String, (attempts, r): (u32, Result<(), String>)) -> Delivery {
    if let Err(e) = &r {
        tracing::warn!("{channel}: {e} (after {attempts} attempts)");
    }
    Delivery {
        channel,
        ok: r.is_ok(),
        attempts,
        error: r.err(),
    }
}

/// A URL for display and the journal: scheme, host and the start of the
/// path (webhook paths carry tokens).
pub fn redact(url: &str) -> String {
    match parse_url(url) {
        Ok(u) => format!(
            "{}://{}:{}/…",
            if u.tls { "https" } else { "http" },
            u.host,
            u.port
        ),
        Err(_) => "(bad URL)".into(),
    }
}

/// The JSON body of a webhook: one object per event (a digest or a test is
/// one object whose `text` lists everything).
pub fn webhook_body(events: &[Event], kind: Kind) -> serde_json::Value {
    if let [e] = events {
        if kind != Kind::Digest {
            return json!({
                "event": e.event.as_str(),
                "host": e.host,
                "item": e.item,
                "status": e.status,
                "text": format!("[opsdeck] {} {}: {}", e.event.as_str(), e.status, e.text),
                "source": "opsdeck",
            });
        }
    }
    let worst = if events.iter().any(|e| e.status == "crit") {
        "crit"
    } else if events.iter().any(|e| e.status == "warn") {
        "warn"
    } else {
        "ok"
    };
    json!({
        "event": kind.as_str(),
        "host": "",
        "item": "",
        "status": worst,
        "text": body_text(events, kind),
        "items": events,
        "source": "opsdeck",
    })
}

/// Human text of a batch of events (mail body, digest text).
pub fn body_text(events: &[Event], kind: Kind) -> String {
    let mut s = match kind {
        Kind::Digest => format!("opsdeck digest: {} open\n\n", events.len()),
        Kind::Test => "opsdeck: a test message; this channel works.\n".to_string(),
        _ => String::new(),
    };
    for e in events {
        s.push_str(&format!(
            "{:<8} {:<5} {}\n",
            e.event.as_str().to_uppercase(),
            e.status,
            e.text
        ));
    }
    s
}

/// The subject of a mail about `events`.
pub fn subject(events: &[Event], kind: Kind) -> String {
    match (kind, events) {
        (Kind::Test, _) => "[opsdeck] test message".into(),
        (Kind::Digest, _) => format!("[opsdeck] digest: {} open", events.len()),
        (_, [e]) => format!(
            "[opsdeck] {} {}: {}",
            e.event.as_str().to_uppercase(),
            e.status,
            e.text
        ),
        _ => {
            let n = |k: Kind| events.iter().filter(|e| e.event == k).count();
            let mut parts = Vec::new();
            for (k, w) in [
                (Kind::New, "new"),
                (Kind::Worse, "worse"),
                (Kind::Cleared, "cleared"),
            ] {
                if n(k) > 0 {
                    parts.push(format!("{} {w}", n(k)));
                }
            }
            format!("[opsdeck] {}", parts.join(", "))
        }
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// RFC 2047 for a header value that is not ASCII.
fn header_value(s: &str) -> String {
    let s = one_line(s);
    if s.is_ascii() {
        s
    } else {
        format!(
            "=?utf-8?B?{}?=",
            openssl::base64::encode_block(s.as_bytes())
        )
    }
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The whole message (headers, blank line, body), CRLF line ends.
pub fn message(from: &str, to: &[String], subject: &str, body: &str) -> String {
    let date = jiff::Zoned::now()
        .strftime("%a, %d %b %Y %H:%M:%S %z")
        .to_string();
    let id = format!(
        "<{}.{}@{}>",
        jiff::Timestamp::now().as_nanosecond(),
        std::process::id(),
        local_hostname()
    );
    let mut m = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
        to.join(", "),
        header_value(subject)
    );
    for l in body.lines() {
        m.push_str(l);
        m.push_str("\r\n");
    }
    m
}

fn read_reply(r: &mut dyn BufRead) -> Result<(u16, String), String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).map_err(|e| format!("SMTP: {e}"))?;
        if n == 0 {
            return Err("SMTP: the server closed the connection".into());
        }
        text.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            let code = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("SMTP: not a reply: {}", one_line(&line)))?;
            return Ok((code, text));
        }
    }
}

struct Smtp {
    r: BufReader<Box<dyn Stream>>,
}

impl Smtp {
    fn cmd(&mut self, line: &str, want: u16, shown: &str) -> Result<String, String> {
        let w = self.r.get_mut();
        w.write_all(line.as_bytes())
            .and_then(|_| w.write_all(b"\r\n"))
            .and_then(|_| w.flush())
            .map_err(|e| format!("SMTP: cannot send {shown}: {e}"))?;
        let (code, text) = read_reply(&mut self.r)?;
        if code / 100 != want / 100 {
            return Err(format!("SMTP {shown}: {}", one_line(text.trim())));
        }
        Ok(text)
    }
}

/// The output of `password_command` (its first line).
fn password(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("password_command: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "password_command failed ({}): {}",
            out.status,
            crate::util::excerpt(&String::from_utf8_lossy(&out.stderr), 200)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// Send one message over SMTP.
pub fn smtp_send(
    cfg: &SmtpSettings,
    from: &str,
    to: &[String],
    msg: &str,
    timeout: Duration,
) -> Result<(), String> {
    let tcp = connect(&cfg.host, cfg.port, timeout)?;
    let mut s = Smtp {
        r: BufReader::new(Box::new(tcp.try_clone().map_err(|e| e.to_string())?)),
    };
    let (code, text) = read_reply(&mut s.r)?;
    if code != 220 {
        return Err(format!("SMTP greeting: {}", one_line(text.trim())));
    }
    let me = local_hostname();
    let caps = s.cmd(&format!("EHLO {me}"), 250, "EHLO")?;
    if cfg.starttls {
        if !caps.to_ascii_uppercase().contains("STARTTLS") {
            return Err(format!(
                "SMTP: {} does not offer STARTTLS (starttls = true refuses to send in the clear)",
                cfg.host
            ));
        }
        s.cmd("STARTTLS", 220, "STARTTLS")?;
        drop(s);
        s = Smtp {
            r: BufReader::new(tls_wrap(&cfg.host, tcp)?),
        };
        s.cmd(&format!("EHLO {me}"), 250, "EHLO")?;
    }
    if let Some(user) = &cfg.user {
        let pw = match &cfg.password_command {
            Some(c) => password(c)?,
            None => String::new(),
        };
        let token = openssl::base64::encode_block(format!("\0{user}\0{pw}").as_bytes());
        s.cmd(&format!("AUTH PLAIN {token}"), 235, "AUTH")?;
    }
    s.cmd(&format!("MAIL FROM:<{from}>"), 250, "MAIL FROM")?;
    for t in to {
        s.cmd(&format!("RCPT TO:<{t}>"), 250, "RCPT TO")?;
    }
    s.cmd("DATA", 354, "DATA")?;
    let mut data = String::new();
    for l in msg.split("\r\n") {
        if l.starts_with('.') {
            data.push('.');
        }
        data.push_str(l);
        data.push_str("\r\n");
    }
    // msg ends with CRLF: the split gave a last empty piece
    data.truncate(data.len() - 2);
    data.push('.');
    s.cmd(&data, 250, "the message")?;
    let _ = s.cmd("QUIT", 221, "QUIT");
    Ok(())
}

fn sendmail_path() -> Option<std::path::PathBuf> {
    ["/usr/sbin/sendmail", "/usr/lib/sendmail"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// Hand one message to the local `sendmail -oi -t`.
pub fn sendmail(msg: &str) -> Result<(), String> {
    let path = sendmail_path().ok_or("no [alerts.smtp] and no sendmail on this machine")?;
    let mut child = Command::new(&path)
        .args(["-oi", "-t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(msg.replace("\r\n", "\n").as_bytes())
            .map_err(|e| format!("sendmail: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("sendmail: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "sendmail failed ({}): {}",
            out.status,
            crate::util::excerpt(&String::from_utf8_lossy(&out.stderr), 200)
        ))
    }
}

/// Tell `events` on every webhook and by mail: one message per channel
/// for the batch (a webhook gets one POST per event, except digests and
/// tests, one POST for all).
pub fn tell(cfg: &AlertSettings, events: &[Event], kind: Kind) -> Vec<Delivery> {
    if events.is_empty() && kind != Kind::Test {
        return Vec::new();
    }
    let timeout = Duration::from_secs(cfg.timeout_s.max(1));
    let mut out = Vec::new();
    for url in &cfg.webhook {
        let bodies: Vec<serde_json::Value> = match kind {
            Kind::Digest | Kind::Test => vec![webhook_body(events, kind)],
            _ => events
                .iter()
                .map(|e| webhook_body(std::slice::from_ref(e), kind))
                .collect(),
        };
        let mut tries = 0;
        let mut result = Ok(());
        for b in bodies {
            let bytes = b.to_string().into_bytes();
            let (n, r) = retry(cfg.attempts, || {
                post(url, "application/json", &bytes, timeout)
            });
            tries += n;
            if r.is_err() {
                result = r;
                break;
            }
        }
        out.push(delivery(
            format!("webhook {}", redact(url)),
            (tries, result),
        ));
    }
    if !cfg.mail_to.is_empty() {
        let from = cfg
            .mail_from
            .clone()
            .unwrap_or_else(|| format!("opsdeck@{}", local_hostname()));
        let msg = message(
            &from,
            &cfg.mail_to,
            &subject(events, kind),
            &body_text(events, kind),
        );
        let r = retry(cfg.attempts, || match &cfg.smtp {
            Some(s) => smtp_send(s, &from, &cfg.mail_to, &msg, timeout),
            None => sendmail(&msg),
        });
        let via = match &cfg.smtp {
            Some(s) => format!("smtp {}:{}", s.host, s.port),
            None => "sendmail".into(),
        };
        out.push(delivery(
            format!("mail {} via {via}", cfg.mail_to.join(",")),
            r,
        ));
    }
    out
}

/// The dead man's ping: `stage` "start", "" (success) or "fail", with
/// `body` (the summary).
pub fn ping(cfg: &AlertSettings, stage: &str, body: &str) -> Option<Delivery> {
    let base = cfg.ping.as_deref()?;
    let url = if stage.is_empty() {
        base.to_string()
    } else {
        format!("{}/{stage}", base.trim_end_matches('/'))
    };
    let timeout = Duration::from_secs(cfg.timeout_s.max(1));
    let r = retry(cfg.attempts, || {
        post(&url, "text/plain; charset=utf-8", body.as_bytes(), timeout)
    });
    let name = if stage.is_empty() { "success" } else { stage };
    Some(delivery(format!("ping {name} {}", redact(base)), r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_subjects() {
        let u = parse_url("https://hooks.example.org/services/T/B/x?y=1").unwrap();
        assert!(u.tls);
        assert_eq!((u.host.as_str(), u.port), ("hooks.example.org", 443));
        assert_eq!(u.path, "/services/T/B/x?y=1");
        let u = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://u:p@x/").is_err());
        assert_eq!(
            redact("https://h.example/secret/token"),
            "https://h.example:443/…"
        );
        let e = Event {
            event: Kind::New,
            host: "db1".into(),
            item: "i".into(),
            status: "crit".into(),
            text: "db1: /var 95% full\r\nBcc: x".into(),
        };
        assert_eq!(
            subject(std::slice::from_ref(&e), Kind::New),
            "[opsdeck] NEW crit: db1: /var 95% full\r\nBcc: x"
        );
        let m = message(
            "a@b",
            &["c@d".into()],
            &subject(&[e], Kind::New),
            ".dot\nline",
        );
        assert!(
            m.contains("Subject: [opsdeck] NEW crit: db1: /var 95% full  Bcc: x\r\n"),
            "{m}"
        );
        assert!(m.ends_with("\r\n\r\n.dot\r\nline\r\n"));
        assert!(header_value("R² ok").starts_with("=?utf-8?B?"));
    }
}
