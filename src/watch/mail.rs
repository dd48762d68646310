//! E-mail for the alerts: through `[alerts.smtp]` (STARTTLS, or TLS from
//! the start on port 465, AUTH PLAIN with the password a command prints,
//! never stored), else the local `sendmail -t -i`. Each step is bounded in
//! time; the password never reaches a log, an error or argv.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use super::http::TIMEOUT;
use crate::model::SmtpSettings;

/// One message.
#[derive(Debug, Clone)]
pub struct Message {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Message {
    /// RFC 5322 text with CRLF line ends (dot-stuffing is the sender's).
    pub fn render(&self) -> String {
        let date = jiff::Zoned::now()
            .strftime("%a, %d %b %Y %H:%M:%S %z")
            .to_string();
        let id = format!(
            "<{}.{}@opsdeck>",
            jiff::Timestamp::now().as_nanosecond(),
            std::process::id()
        );
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        let mut out = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
            clean(&self.from),
            clean(&self.to.join(", ")),
            clean(&self.subject)
        );
        for line in self.body.lines() {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out
    }
}

/// The first line a command prints (the SMTP password); never logged.
fn password(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("password_command could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!("password_command failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").to_string();
    if first.is_empty() {
        return Err("password_command printed nothing".into());
    }
    Ok(first)
}

/// Send through the local sendmail (`/usr/sbin/sendmail`, `/usr/lib/sendmail`).
pub fn sendmail(m: &Message) -> Result<(), String> {
    let bin = ["/usr/sbin/sendmail", "/usr/lib/sendmail"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or("no [alerts.smtp] and no local sendmail (/usr/sbin/sendmail)")?;
    let mut child = Command::new(bin)
        .args(["-t", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{bin}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(m.render().replace("\r\n", "\n").as_bytes())
            .map_err(|e| format!("{bin}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{bin}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{bin} failed ({}): {}",
            out.status,
            crate::util::excerpt(String::from_utf8_lossy(&out.stderr).trim(), 200)
        ))
    }
}

trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

struct Smtp {
    r: BufReader<Box<dyn Io>>,
}

impl Smtp {
    /// Read a (multi-line) reply; Ok((code, text)).
    fn reply(&mut self) -> Result<(u16, String), String> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .r
                .by_ref()
                .take(4096)
                .read_line(&mut line)
                .map_err(|e| format!("SMTP: {e}"))?;
            if n == 0 {
                return Err("SMTP: the server closed the connection".into());
            }
            text.push_str(line.trim_end());
            text.push(' ');
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                let code = line
                    .get(..3)
                    .and_then(|c| c.parse().ok())
                    .ok_or("SMTP: bad reply")?;
                return Ok((code, text.trim().to_string()));
            }
            if text.len() > 64 * 1024 {
                return Err("SMTP: reply too long".into());
            }
        }
    }
    fn send(&mut self, line: &str) -> Result<(), String> {
        let w = self.r.get_mut();
        w.write_all(line.as_bytes())
            .and_then(|_| w.write_all(b"\r\n"))
            .and_then(|_| w.flush())
            .map_err(|e| format!("SMTP: {e}"))
    }
    /// Send a command and expect a reply code of class `want` (2, 3).
    fn cmd(&mut self, line: &str, shown: &str, want: u16) -> Result<String, String> {
        self.send(line)?;
        let (code, text) = self.reply()?;
        if code / 100 != want {
            return Err(format!(
                "SMTP {shown}: {}",
                crate::util::excerpt(&text, 200)
            ));
        }
        Ok(text)
    }
}

fn tls(host: &str, s: TcpStream) -> Result<Box<dyn Io>, String> {
    let c = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())
        .map_err(|e| e.to_string())?
        .build();
    Ok(Box::new(
        c.connect(host, s)
            .map_err(|e| format!("SMTP TLS with {host}: {e}"))?,
    ))
}

fn helo_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "localhost".into())
}

/// Send through an SMTP server.
pub fn smtp(cfg: &SmtpSettings, m: &Message) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let addr = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|e| format!("SMTP {}: {e}", cfg.host))?
        .next()
        .ok_or_else(|| format!("SMTP {}: no address", cfg.host))?;
    let tcp =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("SMTP {addr}: {e}"))?;
    tcp.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let implicit = cfg.port == 465;
    let stream: Box<dyn Io> = if implicit {
        tls(&cfg.host, tcp.try_clone().map_err(|e| e.to_string())?)?
    } else {
        Box::new(tcp.try_clone().map_err(|e| e.to_string())?)
    };
    let mut s = Smtp {
        r: BufReader::new(stream),
    };
    let (code, text) = s.reply()?;
    if code != 220 {
        return Err(format!("SMTP greeting: {text}"));
    }
    let ehlo = format!("EHLO {}", helo_name());
    let caps = s.cmd(&ehlo, "EHLO", 2)?;
    if cfg.starttls && !implicit {
        if !caps.to_ascii_uppercase().contains("STARTTLS") {
            return Err(format!("SMTP {}: the server offers no STARTTLS", cfg.host));
        }
        s.cmd("STARTTLS", "STARTTLS", 2)?;
        s = Smtp {
            r: BufReader::new(tls(&cfg.host, tcp)?),
        };
        s.cmd(&ehlo, "EHLO", 2)?;
    }
    if let Some(user) = &cfg.user {
        let pw = match &cfg.password_command {
            Some(c) => password(c)?,
            None => String::new(),
        };
        let token = openssl::base64::encode_block(format!("\0{user}\0{pw}").as_bytes());
        s.cmd(&format!("AUTH PLAIN {token}"), "AUTH", 2)?;
    }
    s.cmd(&format!("MAIL FROM:<{}>", bare(&m.from)), "MAIL FROM", 2)?;
    for to in &m.to {
        s.cmd(&format!("RCPT TO:<{}>", bare(to)), "RCPT TO", 2)?;
    }
    s.cmd("DATA", "DATA", 3)?;
    let rendered = m.render();
    let mut data = String::new();
    for line in rendered.trim_end_matches("\r\n").split("\r\n") {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push('.');
    s.cmd(&data, "end of data", 2)?;
    let _ = s.send("QUIT");
    Ok(())
}

/// "Ops <ops@x>" → "ops@x".
fn bare(addr: &str) -> String {
    match (addr.find('<'), addr.rfind('>')) {
        (Some(a), Some(b)) if a < b => addr[a + 1..b].to_string(),
        _ => addr.trim().to_string(),
    }
    .replace(['\r', '\n', '<', '>'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_render_with_headers_and_no_header_injection() {
        let m = Message {
            from: "opsdeck <ops@example.org>".into(),
            to: vec!["me@example.org".into()],
            subject: "[opsdeck] 1 new\r\nBcc: evil@x".into(),
            body: "line one\n.dot line".into(),
        };
        let t = m.render();
        assert!(
            t.contains("Subject: [opsdeck] 1 new  Bcc: evil@x\r\n"),
            "{t}"
        );
        assert!(!t.contains("\r\nBcc:"));
        assert!(t.ends_with("line one\r\n.dot line\r\n"));
        assert_eq!(bare("opsdeck <ops@example.org>"), "ops@example.org");
    }
}
