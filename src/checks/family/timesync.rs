//! Time synchronisation: broken time breaks TLS, Kerberos, backups' ages
//! and every log. What the host's own tools say: `timedatectl show` (systemd:
//! whether NTP is on and the clock synchronised), `chronyc tracking`'s leap
//! status, and which NTP daemon runs (chronyd, ntpd, openntpd,
//! systemd-timesyncd, from /proc without a fork). Only positive evidence
//! raises: the clock said unsynchronised, or NTP off with no daemon running.
//! A host that tells nothing (a container, no systemd and no daemon) is
//! "unknown" in the details, without a reason: its clock is its host's.

use super::{non_empty, Family, Reasons};
use crate::model::{Facts, Thresholds, TimeSync};
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "timesync",
    probe: r#"
echo "@@opsdeck timesync"
if [ -d /run/systemd/system ] && have timedatectl; then
    T5=""; have timeout && T5="timeout 5"
    $T5 timedatectl show -p NTP -p NTPSynchronized 2>/dev/null
fi
if have chronyc; then
    T5=""; have timeout && T5="timeout 5"
    $T5 chronyc -n tracking 2>/dev/null | while IFS= read -r line; do
        case "$line" in "Leap status"*) printf 'chrony %s\n' "$line" ;; esac
    done
fi
for f in /run/chrony/chronyd.pid:chronyd /var/run/chrony/chronyd.pid:chronyd /run/chronyd.pid:chronyd \
         /run/ntpd.pid:ntpd /var/run/ntpd.pid:ntpd /run/openntpd.pid:openntpd; do
    [ -r "${f%:*}" ] && read -r pid < "${f%:*}" && [ -d "/proc/$pid" ] && echo "daemon ${f##*:}" && break
done
[ -d /run/systemd/timesync ] && echo "daemon systemd-timesyncd"
"#,
    parse: |s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>| match parse_time_sync(
        s.get("timesync").unwrap_or(&[]),
    ) {
        Ok(t) => f.time_sync = t,
        Err(e) => problems.push(e),
    },
    rule,
    details: |f: &Facts| vec![("time sync", describe(f.time_sync.as_ref()))],
};

/// The `timesync` section: None when it tells nothing.
pub fn parse_time_sync(lines: &[&str]) -> Result<Option<TimeSync>, ParseError> {
    let mut t = TimeSync::default();
    let mut told = false;
    let yes_no = |v: &str, l: &str| -> Result<bool, ParseError> {
        match v {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err(ParseError::new("timesync", format!("not yes/no: `{l}`"))),
        }
    };
    for l in non_empty(lines) {
        if let Some(v) = l.strip_prefix("NTPSynchronized=") {
            t.synchronized = Some(yes_no(v, l)?);
        } else if let Some(v) = l.strip_prefix("NTP=") {
            t.ntp_enabled = Some(yes_no(v, l)?);
        } else if let Some(v) = l.strip_prefix("chrony ") {
            // "Leap status     : Normal" | "Not synchronised" | "Insert second"
            let status = v.split_once(':').map(|(_, s)| s.trim()).unwrap_or("");
            t.synchronized = Some(!status.eq_ignore_ascii_case("Not synchronised"));
            t.daemon.get_or_insert_with(|| "chronyd".into());
        } else if let Some(v) = l.strip_prefix("daemon ") {
            // the first one found wins (chrony's own line named it first)
            if t.daemon.is_none() {
                t.daemon = Some(crate::util::excerpt(v.trim(), 32));
            }
        } else if l.contains('=') {
            // another property a newer timedatectl prints: not ours
            continue;
        } else {
            return Err(ParseError::new("timesync", format!("unexpected `{l}`")));
        }
        told = true;
    }
    Ok(told.then_some(t))
}

fn rule(f: &Facts, t: &Thresholds, r: &mut Reasons) {
    let Some(ts) = &f.time_sync else {
        return;
    };
    let level = t.time_sync.into();
    match (ts.synchronized, ts.ntp_enabled, &ts.daemon) {
        (Some(false), _, Some(d)) => r.raise(
            level,
            format!("clock not synchronised ({d} runs, not in sync)"),
        ),
        (Some(false), Some(false), None) => r.raise(
            level,
            "clock not synchronised (NTP off, no time daemon running)".into(),
        ),
        (Some(false), _, None) => r.raise(
            level,
            "clock not synchronised (no time daemon running)".into(),
        ),
        (None, Some(false), None) => r.raise(
            level,
            "no time synchronisation (NTP off, no time daemon running)".into(),
        ),
        _ => {}
    }
}

fn describe(t: Option<&TimeSync>) -> String {
    let Some(t) = t else {
        return "unknown (no timedatectl answer, no time daemon seen)".into();
    };
    let state = match t.synchronized {
        Some(true) => "synchronised",
        Some(false) => "NOT synchronised",
        None => "sync state unknown",
    };
    match (&t.daemon, t.ntp_enabled) {
        (Some(d), _) => format!("{state} ({d})"),
        (None, Some(true)) => format!("{state} (NTP on)"),
        (None, Some(false)) => format!("{state} (NTP off, no daemon)"),
        (None, None) => state.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn verdict(lines: &[&str]) -> (Option<TimeSync>, Reasons) {
        let ts = parse_time_sync(lines).unwrap();
        let f = Facts {
            time_sync: ts.clone(),
            ..Default::default()
        };
        let mut r = Reasons::default();
        rule(&f, &Thresholds::default(), &mut r);
        (ts, r)
    }

    #[test]
    fn timedatectl_and_chrony_as_they_print() {
        // `timedatectl show -p NTP -p NTPSynchronized` on Debian 12 with
        // systemd-timesyncd, and `chronyc -n tracking`'s leap line
        let (ts, r) = verdict(&["NTP=yes", "NTPSynchronized=yes", "daemon systemd-timesyncd"]);
        let ts = ts.unwrap();
        assert_eq!(ts.synchronized, Some(true));
        assert_eq!(ts.daemon.as_deref(), Some("systemd-timesyncd"));
        assert!(r.list.is_empty());
        assert_eq!(describe(Some(&ts)), "synchronised (systemd-timesyncd)");

        let (_, r) = verdict(&[
            "chrony Leap status     : Not synchronised",
            "daemon chronyd",
        ]);
        assert_eq!(r.status, Status::Warn);
        assert_eq!(
            r.list[0].1,
            "clock not synchronised (chronyd runs, not in sync)"
        );

        let (_, r) = verdict(&["NTP=no", "NTPSynchronized=no"]);
        assert_eq!(
            r.list[0].1,
            "clock not synchronised (NTP off, no time daemon running)"
        );
    }

    #[test]
    fn a_host_that_tells_nothing_is_unknown_and_quiet() {
        let (ts, r) = verdict(&[]);
        assert!(ts.is_none());
        assert!(r.list.is_empty());
        assert!(describe(None).starts_with("unknown"));
        // a newer timedatectl's other property is not an error
        assert!(parse_time_sync(&["NTP=yes", "Timezone=UTC"]).is_ok());
        assert!(parse_time_sync(&["NTP=maybe"]).is_err());
        assert!(parse_time_sync(&["garbage line"]).is_err());
    }
}
