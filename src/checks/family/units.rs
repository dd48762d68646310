//! systemd units in the failed state (none where systemd does not run).

use super::{keep, non_empty, Family, Reasons};
use crate::model::{Facts, Thresholds};
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "units",
    probe: r#"
echo "@@opsdeck failed"
if [ -d /run/systemd/system ] && have systemctl; then
    T10=""; have timeout && T10="timeout 10"
    $T10 systemctl --failed --no-legend --plain --no-pager 2>/dev/null; rc=$?
    printf '\n@@opsdeck %s\n' "failed.rc"
    echo "$rc"
else
    echo "no-systemd"
fi
"#,
    parse: |s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>| {
        let rc = keep(s.rc("failed"), problems);
        f.failed_units = keep(parse_failed(s.get("failed"), rc), problems);
    },
    rule,
    details: |f: &Facts| {
        vec![(
            "failed units",
            match &f.failed_units {
                None => "unknown".into(),
                Some(v) if v.is_empty() => "none".into(),
                Some(v) => v.join(", "),
            },
        )]
    },
};

fn rule(f: &Facts, t: &Thresholds, r: &mut Reasons) {
    match &f.failed_units {
        Some(u) if !u.is_empty() => {
            let shown: Vec<&str> = u.iter().take(5).map(String::as_str).collect();
            let more = if u.len() > 5 { ", …" } else { "" };
            let noun = if u.len() == 1 { "unit" } else { "units" };
            r.raise(
                t.failed_units.into(),
                format!("{} failed {noun}: {}{more}", u.len(), shown.join(", ")),
            );
        }
        Some(_) => {}
        None => r.note("failed units unknown (no systemd)".into()),
    }
}

/// `systemctl --failed --no-legend --plain`: unit names. None without systemd
/// or when systemctl failed.
pub fn parse_failed(
    lines: Option<&[&str]>,
    rc: Option<i32>,
) -> Result<Option<Vec<String>>, ParseError> {
    let Some(lines) = lines else {
        return Ok(None);
    };
    let mut units = Vec::new();
    for l in non_empty(lines) {
        if l == "no-systemd" {
            return Ok(None);
        }
        let l = l.trim_start_matches(['●', '*', ' ']);
        let Some(unit) = l.split_whitespace().next() else {
            continue;
        };
        if !unit.contains('.') {
            return Err(ParseError::new("failed", format!("not a unit line: `{l}`")));
        }
        units.push(unit.to_string());
    }
    match rc {
        Some(0) | None => Ok(Some(units)),
        Some(_) if units.is_empty() => Ok(None),
        Some(_) => Ok(Some(units)),
    }
}
