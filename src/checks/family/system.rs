//! Kernel release and uptime: no rule, shown in the details.

use super::{keep, non_empty, or_unknown, Family};
use crate::model::Facts;
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "system",
    probe: r#"
echo "@@opsdeck kernel"
if [ -r /proc/sys/kernel/osrelease ]; then
    read -r k < /proc/sys/kernel/osrelease && printf '%s\n' "$k"
else
    uname -r 2>/dev/null
fi

echo "@@opsdeck uptime"
[ -r /proc/uptime ] && read -r u < /proc/uptime && printf '%s\n' "$u"
"#,
    parse,
    rule: |_, _, _| {},
    details,
};

fn parse(s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>) {
    f.kernel = keep(one_word(s.get("kernel"), "kernel"), problems);
    f.uptime_s = keep(parse_uptime(s.get("uptime").unwrap_or(&[])), problems);
}

fn details(f: &Facts) -> Vec<(&'static str, String)> {
    vec![
        ("kernel", or_unknown(f.kernel.clone())),
        (
            "uptime",
            or_unknown(f.uptime_s.map(crate::util::format_age)),
        ),
    ]
}

fn one_word(lines: Option<&[&str]>, section: &str) -> Result<Option<String>, ParseError> {
    let mut it = non_empty(lines.unwrap_or(&[]));
    match it.next() {
        None => Ok(None),
        Some(w) if !w.contains(char::is_whitespace) && it.next().is_none() => {
            Ok(Some(w.to_string()))
        }
        Some(w) => Err(ParseError::new(section, format!("unexpected `{w}`"))),
    }
}

pub fn parse_uptime(lines: &[&str]) -> Result<Option<u64>, ParseError> {
    let Some(l) = non_empty(lines).next() else {
        return Ok(None);
    };
    let w = l.split_whitespace().next().unwrap_or("");
    match w.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v as u64)),
        _ => Err(ParseError::new(
            "uptime",
            format!("`{w}` is not a number of seconds"),
        )),
    }
}
