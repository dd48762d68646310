//! Certificates as `openssl x509 -noout -subject -issuer -enddate -ext
//! subjectAltName` prints them (OpenSSL 1.1.1 and 3.x), read by the audit
//! probe from the host's TLS ports (`openssl s_client` to itself) and from
//! certificate files. Pure.

use serde::{Deserialize, Serialize};

/// One certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cert {
    pub subject: String,
    pub sans: Vec<String>,
    pub issuer: String,
    /// RFC 3339.
    pub not_after: String,
    pub days_left: i64,
    /// "port 443 (www.example.org)" or "file /etc/letsencrypt/live/x/cert.pem".
    pub source: String,
}

impl Cert {
    /// Issued by itself (subject = issuer).
    pub fn self_signed(&self) -> bool {
        !self.subject.is_empty() && self.subject == self.issuer
    }
}

/// "Dec 10 07:21:33 2026 GMT" → Unix seconds.
pub fn parse_not_after(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches("GMT").trim();
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() != 4 {
        return None;
    }
    let norm = format!("{} {} {} {}", words[0], words[1], words[2], words[3]);
    jiff::civil::DateTime::strptime("%b %d %H:%M:%S %Y", &norm)
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// The certificates of the `certs` section: blocks opened by `== port P
/// NAME` or `== file PATH`; a block without a readable certificate (no TLS
/// on that port, an unreadable file) gives none.
pub fn parse(lines: &[&str], now: i64) -> Vec<Cert> {
    let mut out = Vec::new();
    let mut source = String::new();
    let mut cur: Option<(String, String, Option<i64>, Vec<String>)> = None;
    let mut in_san = false;
    let flush = |cur: &mut Option<(String, String, Option<i64>, Vec<String>)>,
                 source: &str,
                 out: &mut Vec<Cert>| {
        if let Some((subject, issuer, Some(end), sans)) = cur.take() {
            out.push(Cert {
                subject,
                sans,
                issuer,
                not_after: jiff::Timestamp::from_second(end)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                days_left: (end - now).div_euclid(86_400),
                source: source.to_string(),
            });
        }
    };
    for l in lines {
        if let Some(rest) = l.strip_prefix("== ") {
            flush(&mut cur, &source, &mut out);
            let w: Vec<&str> = rest.split_whitespace().collect();
            source = match w.as_slice() {
                ["port", p, name] => format!("port {p} ({name})"),
                ["file", ..] => format!("file {}", rest.trim_start_matches("file ").trim()),
                _ => rest.to_string(),
            };
            cur = Some((String::new(), String::new(), None, Vec::new()));
            in_san = false;
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let t = l.trim();
        if let Some(v) = t.strip_prefix("subject=") {
            c.0 = crate::util::excerpt(v.trim(), 200);
            in_san = false;
        } else if let Some(v) = t.strip_prefix("issuer=") {
            c.1 = crate::util::excerpt(v.trim(), 200);
            in_san = false;
        } else if let Some(v) = t.strip_prefix("notAfter=") {
            c.2 = parse_not_after(v);
            in_san = false;
        } else if t.starts_with("X509v3 Subject Alternative Name") {
            in_san = true;
        } else if in_san && !t.is_empty() {
            c.3 = t
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .take(100)
                .collect();
            in_san = false;
        }
    }
    flush(&mut cur, &source, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_3_output() {
        // openssl x509 -noout -subject -issuer -enddate -ext subjectAltName (OpenSSL 3.0)
        let text = "== port 443 www.example.org\n\
                    subject=CN = www.example.org\n\
                    issuer=C = US, O = Let's Encrypt, CN = R3\n\
                    notAfter=Dec 10 07:21:33 2026 GMT\n\
                    X509v3 Subject Alternative Name: \n    DNS:example.org, DNS:www.example.org\n\
                    == port 8443 localhost\n\
                    == file /etc/ssl/self.pem\n\
                    subject=CN = x\nissuer=CN = x\nnotAfter=Jan  2 00:00:00 2026 GMT\n";
        let lines: Vec<&str> = text.lines().collect();
        let now = parse_not_after("Dec  5 07:21:33 2026 GMT").unwrap();
        let c = parse(&lines, now);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].days_left, 5);
        assert_eq!(c[0].sans, ["DNS:example.org", "DNS:www.example.org"]);
        assert_eq!(c[0].source, "port 443 (www.example.org)");
        assert!(!c[0].self_signed());
        assert!(c[1].self_signed());
        assert!(c[1].days_left < 0);
        assert_eq!(c[1].source, "file /etc/ssl/self.pem");
        assert!(parse(&["subject=x", "garbage"], now).is_empty());
    }
}
