//! CPU count and load average; the rule compares the 1-minute load per CPU.

use super::{keep, non_empty, num, or_unknown, Family, Reasons};
use crate::model::{Facts, Status, Thresholds};
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "load",
    probe: r#"
echo "@@opsdeck cpus"
if have nproc; then nproc 2>/dev/null
elif have getconf; then getconf _NPROCESSORS_ONLN 2>/dev/null
elif [ -r /proc/cpuinfo ]; then
    n=0
    while IFS= read -r line; do
        case "$line" in processor*) n=$((n + 1)) ;; esac
    done < /proc/cpuinfo
    echo "$n"
fi

echo "@@opsdeck load"
[ -r /proc/loadavg ] && read -r l < /proc/loadavg && printf '%s\n' "$l"
"#,
    parse,
    rule,
    details,
};

fn parse(s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>) {
    f.cpus = keep(parse_cpus(s.get("cpus").unwrap_or(&[])), problems);
    f.load = keep(parse_load(s.get("load").unwrap_or(&[])), problems);
}

fn rule(f: &Facts, t: &Thresholds, r: &mut Reasons) {
    match (f.load, f.cpus) {
        (Some(l), Some(c)) if c > 0 => {
            let per = l[0] / c as f64;
            if per >= t.load_crit_per_cpu {
                r.raise(
                    Status::Crit,
                    format!("load {} per CPU ≥ {}", num(per), num(t.load_crit_per_cpu)),
                );
            } else if per >= t.load_warn_per_cpu {
                r.raise(
                    Status::Warn,
                    format!("load {} per CPU ≥ {}", num(per), num(t.load_warn_per_cpu)),
                );
            }
        }
        _ => r.raise(Status::Unknown, "load unknown".into()),
    }
}

fn details(f: &Facts) -> Vec<(&'static str, String)> {
    vec![
        ("cpus", or_unknown(f.cpus.map(|c| c.to_string()))),
        (
            "load",
            or_unknown(
                f.load
                    .map(|x| format!("{:.2} {:.2} {:.2}", x[0], x[1], x[2])),
            ),
        ),
    ]
}

pub fn parse_cpus(lines: &[&str]) -> Result<Option<u32>, ParseError> {
    let Some(l) = non_empty(lines).next() else {
        return Ok(None);
    };
    match l.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ParseError::new("cpus", format!("`{l}` is not a CPU count"))),
    }
}

pub fn parse_load(lines: &[&str]) -> Result<Option<[f64; 3]>, ParseError> {
    let Some(l) = non_empty(lines).next() else {
        return Ok(None);
    };
    let mut v = [0.0; 3];
    let mut words = l.split_whitespace();
    for slot in v.iter_mut() {
        let w = words.next().unwrap_or("");
        *slot = match w.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => x,
            _ => {
                return Err(ParseError::new(
                    "load",
                    format!("`{l}` is not a load average"),
                ))
            }
        };
    }
    Ok(Some(v))
}
