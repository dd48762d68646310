//! What the TUI's forms accept for a host: its name, address, user, port
//! and jump hosts, each with a message that says what is wrong with that
//! field (a bad address was told "a name cannot contain spaces").
//!
//! One place for these rules in the TUI. The command line is getting its
//! own validator for the same fields (cli-firsthour); when it lands the two
//! should become one (the lead merges them).

use std::net::{Ipv4Addr, Ipv6Addr};

/// A host's name in hosts.toml: what `ssh NAME` can take and a shell
/// never needs to quote: ASCII letters, digits, `-`, `_`, `.`; starts with
/// a letter or a digit; at most 253 characters.
pub fn host_name(s: &str) -> Result<(), String> {
    if s.chars().count() > 253 {
        return Err("a host name has at most 253 characters".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{} is not allowed (letters a-z, digits, - _ . only)",
            describe(c)
        ));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("a host name starts with a letter or a digit".into());
    }
    if s == "all" {
        return Err("`all` selects every host; it cannot be one's name".into());
    }
    Ok(())
}

/// An address: an IPv4 or IPv6 address, or a DNS name (labels of letters,
/// digits and '-', not starting or ending with '-', joined by '.').
pub fn address(s: &str) -> Result<(), String> {
    let bare = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    if bare.parse::<Ipv4Addr>().is_ok() || bare.parse::<Ipv6Addr>().is_ok() {
        return Ok(());
    }
    let bad = || format!("`{s}` is not an IP address nor a DNS name");
    if s.len() > 253 || s.is_empty() {
        return Err(bad());
    }
    // digits and dots only but not an IPv4 address: a typo (10.0.0.300)
    if s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    for label in s.trim_end_matches('.').split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// A remote user name as OpenSSH and useradd take it: letters, digits,
/// '_', '-', '.', starting with a letter or '_'; at most 32 characters.
pub fn user(s: &str) -> Result<(), String> {
    let ok = s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a user name (a letter, then letters, digits, _ - .)"
        ))
    }
}

/// A TCP port.
pub fn port(s: &str) -> Result<(), String> {
    match s.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(()),
        Ok(p) => Err(format!("port {p} is out of range (1 to 65535)")),
        Err(_) => Err(format!("`{s}` is not a port (a number from 1 to 65535)")),
    }
}

/// ProxyJump: `[user@]host[:port]`, several separated by commas; the
/// host is a name from hosts.toml / the SSH config or an address.
pub fn jump(s: &str) -> Result<(), String> {
    for hop in s.split(',').map(str::trim) {
        if hop.is_empty() {
            return Err("an empty jump host between commas".into());
        }
        let (user_part, rest) = match hop.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, hop),
        };
        if let Some(u) = user_part {
            user(u).map_err(|e| format!("jump `{hop}`: {e}"))?;
        }
        // [v6]:port, host:port, host
        let (host, port_part) = if let Some(r) = rest.strip_prefix('[') {
            match r.split_once(']') {
                Some((h, tail)) => (h, tail.strip_prefix(':')),
                None => return Err(format!("jump `{hop}`: a '[' without ']'")),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (rest, None),
            }
        };
        if host_name(host).is_err() && address(host).is_err() {
            return Err(format!(
                "jump `{hop}`: `{host}` is not a host name nor an address"
            ));
        }
        if let Some(p) = port_part {
            port(p).map_err(|e| format!("jump `{hop}`: {e}"))?;
        }
    }
    Ok(())
}

/// Names are unique whatever their case ("contoso isp" beside "Contoso
/// ISP" is one vendor twice): Err names the one it would duplicate.
/// `except` is the record's own name when it is edited.
pub fn unique_name<'a>(
    what: &str,
    names: impl Iterator<Item = &'a str>,
    name: &str,
    except: Option<&str>,
) -> Result<(), String> {
    let lower = name.to_lowercase();
    match names
        .filter(|n| Some(*n) != except)
        .find(|n| n.to_lowercase() == lower)
    {
        Some(other) => Err(format!("a {what} named {other} exists already")),
        None => Ok(()),
    }
}

/// "a space", "'#'", "'é'".
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        c if c.is_control() => "a control character".into(),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in ["web1", "db-2.lan", "a_b", "10.0.0.1"] {
            assert!(host_name(ok).is_ok(), "{ok}");
        }
        assert!(host_name("we\"b")
            .unwrap_err()
            .starts_with("'\"' is not allowed"));
        assert!(host_name("web#1").unwrap_err().contains("'#'"));
        assert!(host_name("mañana").unwrap_err().contains("'ñ'"));
        assert!(host_name("a b").unwrap_err().contains("a space"));
        assert!(host_name("-x").is_err());
        assert!(host_name("all").is_err());
    }

    #[test]
    fn addresses_users_ports_jumps() {
        for ok in [
            "10.0.0.5",
            "fd00::5",
            "[fd00::5]",
            "web1.example.org",
            "web1",
        ] {
            assert!(address(ok).is_ok(), "{ok}");
        }
        for bad in ["10.0.0.300", "a b", "web_1.lan", "-x.lan", "x..y"] {
            let e = address(bad).unwrap_err();
            assert!(
                e.contains("is not an IP address nor a DNS name"),
                "{bad}: {e}"
            );
        }
        assert!(user("deploy").is_ok() && user("_svc").is_ok());
        assert!(user("1x").is_err() && user("a b").is_err());
        assert!(port("22").is_ok());
        assert_eq!(
            port("99999").unwrap_err(),
            "port 99999 is out of range (1 to 65535)"
        );
        assert!(port("0").is_err() && port("x").is_err());
        for ok in [
            "bastion",
            "admin@bastion:2222",
            "a,b:22",
            "[fd00::1]:22",
            "u@10.0.0.1",
        ] {
            assert!(jump(ok).is_ok(), "{ok}");
        }
        assert!(jump("bastion:99999").unwrap_err().contains("port 99999"));
        assert!(jump("bad host").is_err());
        assert!(jump("a,,b").is_err());
    }
}
