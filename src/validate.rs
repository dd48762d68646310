//! What a host name, an address, a user, a port and a jump spec may be.
//! One place for the rules, applied at import, at load (hosts.toml), when a
//! host is added or edited, and again at use, right before a value reaches a
//! local command line (the user's `ssh`, `ssh -G`). A value that reaches
//! `ssh -o HostName=...` is never checked by OpenSSH's own validation of a
//! destination, and a `ProxyCommand` in the user's config may put it into a
//! shell (`%h`): so only what a DNS name or an IP literal can hold passes.
//! The rules are explained in docs/decisions/hosts.md.

use std::net::IpAddr;

/// The longest host name, address or user.
const MAX_LEN: usize = 253;

fn bad(what: &str, value: &str, why: &str) -> Result<(), String> {
    Err(format!(
        "`{}` cannot be {what}: {why}",
        crate::util::excerpt(&crate::util::sanitize(value.as_bytes()), 60)
    ))
}

/// An opsdeck host name (the inventory's `name`, what `ssh NAME` and
/// `@tag` targets use): 1-253 ASCII letters, digits, `.`, `-` and `_`,
/// starting with a letter or a digit; not `all` or `local` (they select
/// something else). Case is kept; names are unique regardless of case.
pub fn host_name(name: &str) -> Result<(), String> {
    let what = "a host name";
    if name.is_empty() {
        return bad(what, name, "it is empty");
    }
    if name.len() > MAX_LEN {
        return bad(what, name, "it is longer than 253 characters");
    }
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return bad(what, name, "it must start with a letter or a digit");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return bad(
            what,
            name,
            &format!(
                "{} is not allowed (letters, digits, `.`, `-` and `_` only)",
                describe(c)
            ),
        );
    }
    if name.eq_ignore_ascii_case("all") || name.eq_ignore_ascii_case("local") {
        return bad(what, name, "`all` and `local` select something else");
    }
    Ok(())
}

/// An address: an IPv4 or IPv6 literal, or a DNS name (labels of 1-63
/// letters, digits, `-` and `_`, not starting or ending with `-`, separated
/// by dots, 253 characters at most).
pub fn address(addr: &str) -> Result<(), String> {
    let what = "an address";
    if addr.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if addr.is_empty() {
        return bad(what, addr, "it is empty");
    }
    if addr.len() > MAX_LEN {
        return bad(what, addr, "it is longer than 253 characters");
    }
    // digits and dots that are not an IPv4 address: a typo (10.0.0.300)
    if addr.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return bad(what, addr, "it is not an IPv4 address (four numbers 0-255)");
    }
    let name = addr.strip_suffix('.').unwrap_or(addr);
    for label in name.split('.') {
        if label.is_empty() {
            return bad(what, addr, "it has an empty part between dots");
        }
        if label.len() > 63 {
            return bad(
                what,
                addr,
                "a part between dots is longer than 63 characters",
            );
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            return bad(
                what,
                addr,
                &format!(
                    "{} is not allowed in a host name or IP address",
                    describe(c)
                ),
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad(what, addr, "a part cannot start or end with `-`");
        }
    }
    Ok(())
}

/// A login user: 1-64 letters, digits, `.`, `_`, `-`, `@` (domain users),
/// and a final `$` (Samba machine accounts); not starting with `-`.
pub fn user(u: &str) -> Result<(), String> {
    let what = "a user name";
    if u.is_empty() {
        return bad(what, u, "it is empty");
    }
    if u.len() > 64 {
        return bad(what, u, "it is longer than 64 characters");
    }
    if u.starts_with('-') {
        return bad(what, u, "it cannot start with `-`");
    }
    let body = u.strip_suffix('$').unwrap_or(u);
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return bad(what, u, &format!("{} is not allowed", describe(c)));
    }
    Ok(())
}

/// A port: 1-65535.
pub fn port(p: u16) -> Result<(), String> {
    if p == 0 {
        return Err("port 0 is not a port: use 1 to 65535".into());
    }
    Ok(())
}

/// A ProxyJump spec as `ssh -J` takes it: `[user@]host[:port]`, several
/// separated by commas, or `none`.
pub fn jump(spec: &str) -> Result<(), String> {
    if spec == "none" {
        return Ok(());
    }
    if spec.is_empty() {
        return Err("an empty jump host: leave `jump` out instead".into());
    }
    for hop in spec.split(',') {
        let (u, rest) = match hop.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, hop),
        };
        if let Some(u) = u {
            user(u).map_err(|e| format!("jump host `{hop}`: {e}"))?;
        }
        let (h, p) = match rest.strip_prefix('[') {
            // [v6]:port
            Some(r) => match r.split_once(']') {
                Some((h, tail)) => (h, tail.strip_prefix(':')),
                None => return Err(format!("jump host `{hop}`: `[` without `]`")),
            },
            None => match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (rest, None),
            },
        };
        // a jump host is an address or an alias of the SSH config
        if address(h).is_err() {
            host_name(h).map_err(|e| format!("jump host `{hop}`: {e}"))?;
        }
        if let Some(p) = p {
            let n: u16 = p
                .parse()
                .map_err(|_| format!("jump host `{hop}`: `{p}` is not a port (1 to 65535)"))?;
            port(n).map_err(|e| format!("jump host `{hop}`: {e}"))?;
        }
    }
    Ok(())
}

/// Every connection field of a host, the first problem with the key it is in.
pub fn host(h: &crate::model::Host) -> Result<(), (&'static str, String)> {
    host_name(&h.name).map_err(|e| ("name", e))?;
    if let Some(a) = &h.address {
        address(a).map_err(|e| ("address", e))?;
    }
    if let Some(u) = &h.user {
        user(u).map_err(|e| ("user", e))?;
    }
    if let Some(p) = h.port {
        port(p).map_err(|e| ("port", e))?;
    }
    if let Some(j) = &h.jump {
        jump(j).map_err(|e| ("jump", e))?;
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() => "a control character".into(),
        c if !c.is_ascii() => format!("`{c}` (not ASCII)"),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in ["web1", "db-01.prod", "a", "Web_2", "10-0-0-5"] {
            host_name(ok).unwrap();
        }
        for no in [
            "",
            "-oProxyCommand=x",
            "@web",
            "web 1",
            "a\"b",
            "a#b",
            "wéb",
            "all",
            "LOCAL",
            ".hidden",
            "a;b",
            "$(id)",
            "a/b",
        ] {
            assert!(host_name(no).is_err(), "{no}");
        }
    }

    #[test]
    fn addresses() {
        for ok in [
            "10.0.0.5",
            "::1",
            "fe80::1",
            "db1.example.org",
            "db1.example.org.",
            "host_1.lan",
        ] {
            address(ok).unwrap();
        }
        for no in [
            "",
            "a b",
            "-oProxyCommand=touch /tmp/x",
            "x;touch /tmp/p",
            "$(id)",
            "a..b",
            "-a.b",
            "a-.b",
            "`id`",
            "h%h",
            "a\nb",
            "ä.example",
        ] {
            assert!(address(no).is_err(), "{no:?}");
        }
        let e = address("a b").unwrap_err();
        assert!(e.contains("a space"), "{e}");
        assert!(!e.contains("name cannot contain"), "{e}");
    }

    #[test]
    fn users_ports_jumps() {
        for ok in ["root", "deploy", "svc.backup", "DOMAIN@corp", "host$"] {
            user(ok).unwrap();
        }
        for no in ["", "-l", "a b", "a;b", "a$b"] {
            assert!(user(no).is_err(), "{no}");
        }
        assert!(port(0).is_err());
        for ok in [
            "bastion",
            "admin@bastion:2200",
            "a,b:22",
            "[::1]:22",
            "none",
            "10.0.0.1:22",
        ] {
            jump(ok).unwrap();
        }
        for no in ["", "b:99999", "b:0", "-oProxyCommand=x", "a@b c", "[::1"] {
            assert!(jump(no).is_err(), "{no}");
        }
    }
}
