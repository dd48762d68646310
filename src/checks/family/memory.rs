//! Memory in use, without caches.

use super::{keep, non_empty, or_unknown, pct, round1, Family, Reasons};
use crate::model::{Facts, Status, Thresholds};
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "memory",
    probe: r#"
echo "@@opsdeck mem"
if [ -r /proc/meminfo ]; then
    while IFS= read -r line; do
        case "$line" in MemTotal:*|MemAvailable:*|MemFree:*|Buffers:*|Cached:*) printf '%s\n' "$line" ;; esac
    done < /proc/meminfo
fi
"#,
    parse: |s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>| {
        f.mem_used_pct = keep(parse_mem(s.get("mem").unwrap_or(&[])), problems);
    },
    rule,
    details: |f: &Facts| {
        vec![(
            "memory used",
            or_unknown(f.mem_used_pct.map(|m| format!("{m:.1}%"))),
        )]
    },
};

fn rule(f: &Facts, t: &Thresholds, r: &mut Reasons) {
    match f.mem_used_pct {
        Some(m) if m >= t.mem_crit_pct => r.raise(
            Status::Crit,
            format!("memory {} used ≥ {}", pct(m), pct(t.mem_crit_pct)),
        ),
        Some(m) if m >= t.mem_warn_pct => r.raise(
            Status::Warn,
            format!("memory {} used ≥ {}", pct(m), pct(t.mem_warn_pct)),
        ),
        Some(_) => {}
        None => r.raise(Status::Unknown, "memory unknown".into()),
    }
}

/// /proc/meminfo lines: used % = (MemTotal - MemAvailable) / MemTotal, with
/// MemFree + Buffers + Cached where MemAvailable is missing (kernels < 3.14).
pub fn parse_mem(lines: &[&str]) -> Result<Option<f64>, ParseError> {
    let (mut total, mut avail, mut free, mut buffers, mut cached) = (None, None, None, None, None);
    for l in non_empty(lines) {
        let mut w = l.split_whitespace();
        let key = w.next().unwrap_or("");
        let val = w.next().unwrap_or("");
        let n: u64 = val
            .parse()
            .map_err(|_| ParseError::new("mem", format!("`{l}` has no number")))?;
        match key {
            "MemTotal:" => total = Some(n),
            "MemAvailable:" => avail = Some(n),
            "MemFree:" => free = Some(n),
            "Buffers:" => buffers = Some(n),
            "Cached:" => cached = Some(n),
            _ => {}
        }
    }
    let Some(total) = total.filter(|t| *t > 0) else {
        return Ok(None);
    };
    let avail = match (avail, free) {
        (Some(a), _) => a,
        (None, Some(f)) => f
            .saturating_add(buffers.unwrap_or(0))
            .saturating_add(cached.unwrap_or(0)),
        (None, None) => return Ok(None),
    };
    let used = total.saturating_sub(avail) as f64;
    Ok(Some(round1(used * 100.0 / total as f64)))
}
