//! Small helpers every module needs: durations, quoting for remote command
//! lines, cleaning remote output for display, timestamps.

use std::time::Duration;

/// The longest duration any setting may name: 100 years. Longer is not a
/// policy but a typo, and refusing it keeps every deadline computed from a
/// duration far from overflow.
pub const MAX_DURATION_S: u64 = 100 * 365 * 86_400;

/// Parse a duration such as `"26h"`, `"90d"`, `"1w2d"`, `"45m"`, `"30s"`.
/// A bare number is seconds. More than 100 years ([`MAX_DURATION_S`]) is
/// refused, never saturated.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. \"26h\" or \"90d\"".into());
    }
    let too_long = || format!("`{s}` is longer than 100 years; write e.g. \"26h\" or \"90d\"");
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<u64>() {
            Ok(n) if n <= MAX_DURATION_S => Ok(Duration::from_secs(n)),
            _ => Err(too_long()),
        };
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            _ => {
                return Err(format!(
                    "`{s}` is not a duration: use a number with s, m, h, d, w or y, e.g. \"26h\""
                ))
            }
        };
        if num.is_empty() {
            return Err(format!(
                "`{s}` is not a duration: a unit needs a number before it"
            ));
        }
        total = num
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .and_then(|n| total.checked_add(n))
            .filter(|&n| n <= MAX_DURATION_S)
            .ok_or_else(too_long)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "`{s}` is not a duration: the last number has no unit"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Short human form of a number of seconds: `45s`, `12m`, `5h`, `3d`, `7w`.
pub fn format_age(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        172_800..=1_209_599 => format!("{}d", secs / 86_400),
        _ => format!("{}w", secs / 604_800),
    }
}

/// At most `max` characters of `s`, cut with "…" (a bounded excerpt of
/// remote text for messages, state and the journal).
pub fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}… ({} bytes in all)", &s[..i], s.len()),
    }
}

/// `start + d`, saturating: a deadline that does not fit is 100 years
/// away instead of a panic (a timeout of 2^63 seconds used to lose a host).
pub fn deadline(start: std::time::Instant, d: Duration) -> std::time::Instant {
    start
        .checked_add(d)
        .or_else(|| start.checked_add(Duration::from_secs(MAX_DURATION_S)))
        .unwrap_or(start)
}

/// Run `f`, turning a panic into an error text ("internal error: MESSAGE"),
/// so that one host's failure of any kind becomes that host's result
/// instead of a thread that vanishes with it.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("internal error: {what} (a bug in opsdeck; please report it)")
    })
}

/// "1 host", "3 hosts", "0 hosts": a count with its noun, singular only for 1.
/// `plural(n, "host", "hosts")`; irregular nouns give both forms.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Quote one word for a POSIX shell command line (remote `sh`).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quote and join words into one shell command line.
pub fn shell_join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Make remote text safe to show: drop ANSI escape sequences and control
/// characters (keeping newline and tab), replace invalid UTF-8.
pub fn sanitize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // CSI: parameters then one final byte in @..~
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') | Some('P') | Some('_') | Some('^') | Some('X') => {
                    chars.next();
                    // OSC/DCS/...: up to BEL or ST (ESC \)
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\n' | '\t' => out.push(c),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            c if c.is_control() => {}
            // C1 controls and bidi overrides that could disguise text
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Now, as RFC 3339 UTC with seconds (`2026-11-22T10:00:00Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Seconds since a timestamp given in RFC 3339; None when it does not parse.
pub fn age_of(rfc3339: &str, now: jiff::Timestamp) -> Option<u64> {
    let t: jiff::Timestamp = rfc3339.parse().ok()?;
    let d = now.as_second() - t.as_second();
    Some(d.max(0) as u64)
}

/// The account name of `uid` from the password database (getpwuid_r).
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: passwd is plain data; getpwuid_r writes into `pwd` and
        // `buf` (of the length given) and sets `result` to &pwd or null.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points into `buf`, NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty());
    }
}

/// The local user, for the journal's "who": the account name of the real
/// uid ("root", never "uid0"), with the user who ran sudo when there was
/// one ("root (sudo by alice)"); `$USER` only where the password database
/// has no entry (a container with an unnamed uid).
pub fn local_user() -> String {
    // SAFETY: getuid never fails.
    let uid = unsafe { libc::getuid() };
    let name = user_name(uid)
        .or_else(|| {
            ["USER", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        })
        .unwrap_or_else(|| format!("uid{uid}"));
    match std::env::var("SUDO_USER") {
        Ok(by) if uid == 0 && !by.is_empty() && by != name => {
            format!("{name} (sudo by {})", sanitize(by.as_bytes()))
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_durations_are_refused_not_saturated() {
        for d in [
            "99999999999999999d",
            "18446744073709551615",
            "101y",
            "5300000w",
            "1y99999999999999999999s",
        ] {
            let e = parse_duration(d).expect_err(d);
            assert!(e.contains("100 years"), "{d}: {e}");
        }
        assert_eq!(parse_duration("100y").unwrap().as_secs(), MAX_DURATION_S);
        assert_eq!(
            parse_duration("3153600000").unwrap().as_secs(),
            MAX_DURATION_S
        );
    }

    #[test]
    fn the_user_is_named_never_numbered() {
        // SAFETY: getuid never fails.
        let uid = unsafe { libc::getuid() };
        if uid == 0 {
            assert_eq!(user_name(0).as_deref(), Some("root"));
        }
        assert!(!local_user().starts_with("uid"), "{}", local_user());
    }

    #[test]
    fn plural_is_singular_only_for_one() {
        assert_eq!(plural(1, "host", "hosts"), "1 host");
        assert_eq!(plural(0, "host", "hosts"), "0 hosts");
        assert_eq!(plural(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("26h").unwrap(),
            Duration::from_secs(26 * 3600)
        );
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86400)
        );
        assert_eq!(
            parse_duration("1w2d").unwrap(),
            Duration::from_secs(9 * 86400)
        );
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("12").is_ok());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("3d4").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc"), "abc");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_join(&["ls", "-l", "a;b"]), "ls -l 'a;b'");
    }

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize(b"ok\x1b[31mred\x1b[0m\n"), "okred\n");
        assert_eq!(sanitize(b"a\x1b]52;c;aGk=\x07b"), "ab");
        assert_eq!(sanitize(b"x\r\ny\rz\x08"), "x\ny\nz");
        assert_eq!(sanitize(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn ages() {
        assert_eq!(format_age(5), "5s");
        assert_eq!(format_age(600), "10m");
        assert_eq!(format_age(3 * 3600), "3h");
        assert_eq!(format_age(3 * 86400), "3d");
    }
}
