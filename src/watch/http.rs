//! A small HTTP/1.1 client for the alert channels: one POST or GET, TLS
//! through OpenSSL with the system's CA store and host-name verification,
//! bounded in time (connect, write and read each within [`TIMEOUT`]) and
//! in what it reads back (the status line and at most 64 KiB). No
//! proxies, no redirects (a webhook URL that redirects is a mistake to
//! fix, said in the error).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Each network step's limit.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The parts of an http(s) URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, at least "/".
    pub path: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("credentials in the URL are not supported".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("bad port in `{url}`"))?,
            ),
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || path.contains(['\r', '\n', ' ']) {
            return Err(format!("`{url}` is not a usable URL"));
        }
        Ok(Url {
            tls,
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The same URL with `suffix` added to its path ("/start", "/fail").
    pub fn join(url: &str, suffix: &str) -> String {
        match url.split_once('?') {
            Some((a, q)) => format!("{}{suffix}?{q}", a.trim_end_matches('/')),
            None => format!("{}{suffix}", url.trim_end_matches('/')),
        }
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(u: &Url) -> Result<Box<dyn Stream>, String> {
    let addrs: Vec<_> = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", u.host))?
        .collect();
    let mut last = format!("{}: no address", u.host);
    for a in addrs {
        match TcpStream::connect_timeout(&a, TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(TIMEOUT))
                    .map_err(|e| e.to_string())?;
                s.set_write_timeout(Some(TIMEOUT))
                    .map_err(|e| e.to_string())?;
                if !u.tls {
                    return Ok(Box::new(s));
                }
                let connector = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())
                    .map_err(|e| e.to_string())?
                    .build();
                let tls = connector
                    .connect(&u.host, s)
                    .map_err(|e| format!("TLS with {}: {e}", u.host))?;
                return Ok(Box::new(tls));
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(last)
}

/// Send one request; Ok(status) for a 2xx answer, else why not.
pub fn request(method: &str, url: &str, content_type: &str, body: &[u8]) -> Result<u16, String> {
    let u = Url::parse(url)?;
    let mut s = connect(&u)?;
    let host = if (u.tls && u.port == 443) || (!u.tls && u.port == 80) {
        u.host.clone()
    } else {
        format!("{}:{}", u.host, u.port)
    };
    let head = format!(
        "{method} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: opsdeck/{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        u.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .and_then(|_| s.flush())
        .map_err(|e| format!("sending to {}: {e}", u.host))?;
    let mut got = Vec::new();
    let _ = s.take(64 * 1024).read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    let status_line = text.lines().next().unwrap_or("");
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{}: no HTTP answer", u.host))?;
    if (200..300).contains(&code) {
        Ok(code)
    } else {
        let why = status_line
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ");
        Err(format!(
            "{} answered HTTP {code} {}{}",
            u.host,
            crate::util::excerpt(&why, 80),
            if (300..400).contains(&code) {
                " (a redirect: use the URL it points to)"
            } else {
                ""
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://hooks.slack.com/services/T0/B0/x?y=1").unwrap();
        assert!(u.tls);
        assert_eq!((u.host.as_str(), u.port), ("hooks.slack.com", 443));
        assert_eq!(u.path, "/services/T0/B0/x?y=1");
        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://user:pw@x/").is_err());
        assert!(Url::parse("http://x:99999/").is_err());
        assert_eq!(
            Url::join("https://hc-ping.com/abc", "/start"),
            "https://hc-ping.com/abc/start"
        );
        assert_eq!(Url::join("http://h/p/?k=1", "/fail"), "http://h/p/fail?k=1");
    }
}
