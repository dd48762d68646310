//! Error texts as a narrow column can show them: what happened first
//! ("refused", "timed out", "auth failed"), the engine's full sentence after
//! it. At 80 columns "connection failed: Connection refused (os error 111)"
//! was cut to "connection failed: C…", which hid refused vs timeout.

/// The few words that say what went wrong, from an SSH/check error text.
pub fn short(error: &str) -> String {
    let first = error.lines().next().unwrap_or("").trim();
    if let Some(rest) = first.strip_prefix("via jump host ") {
        if let Some((hop, inner)) = rest.split_once(": ") {
            return format!("via {hop}: {}", short(inner));
        }
    }
    let lower = first.to_ascii_lowercase();
    let known: &[(&str, &str)] = &[
        ("host key changed", "HOST KEY CHANGED"),
        ("unknown host key", "unknown host key"),
        ("connection refused", "refused"),
        ("refused by", "refused"),
        ("no answer from", "no answer (down?)"),
        ("no ssh banner", "not SSH (no banner)"),
        ("outcome unknown", "outcome unknown"),
        ("no route to host", "no route to host"),
        ("network is unreachable", "network unreachable"),
        ("timed out", "timed out"),
        ("name lookup failed", "name not found (DNS)"),
        ("authentication failed", "auth failed"),
        ("permission denied", "permission denied"),
        ("ssh handshake failed", "handshake failed"),
        ("cannot resolve", "ssh config error"),
        ("connection reset", "connection reset"),
        ("cancelled", "cancelled"),
    ];
    for (needle, label) in known {
        if lower.contains(needle) {
            return (*label).to_string();
        }
    }
    first.to_string()
}

/// "refused · connection failed: Connection refused (os error 111)": the
/// short form first (a cut column keeps it), then the whole first line.
pub fn headline(error: &str) -> String {
    let first = error.lines().next().unwrap_or("").trim();
    let s = short(error);
    if s == first {
        s
    } else {
        format!("{s} · {first}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_comes_first() {
        assert_eq!(
            short("connection failed: Connection refused (os error 111)"),
            "refused"
        );
        assert_eq!(
            short("timed out: connecting to 10.0.0.1:22 after 10s"),
            "timed out"
        );
        assert_eq!(
            short("via jump host bastion: timed out: banner"),
            "via bastion: timed out"
        );
        assert_eq!(short("something odd\nmore"), "something odd");
        assert_eq!(
            short("connection failed: refused by 127.0.0.1:9 (nothing listens on that port)"),
            "refused"
        );
        assert_eq!(
            short("timed out: no answer from 10.0.0.9:22 within 10s (host down, or a firewall drops the connection)"),
            "no answer (down?)"
        );
        assert_eq!(
            short("timed out: no SSH banner from 10.0.0.9:22 within 10s (it accepts connections but does not speak SSH)"),
            "not SSH (no banner)"
        );
        assert_eq!(
            headline("connection failed: Connection refused (os error 111)"),
            "refused · connection failed: Connection refused (os error 111)"
        );
        assert_eq!(headline("odd"), "odd");
    }
}
