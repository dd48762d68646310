//! Text for showing backup results (the TUI pane and the CLI table): the age
//! bar against the policy, labels, and the detail lines. Plain strings, so
//! everything reads the same with or without colour.

use crate::model::{BackupJob, BackupResult, Status};
use crate::util::format_age;

/// The age against max_age as a bar of `width` cells: `█` for the part of
/// max_age used, `░` for the rest; past max_age the bar is full and ends in `!`.
/// No result or no age: all `·`.
pub fn age_bar(age_s: Option<u64>, max_age_s: u64, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let Some(age) = age_s.filter(|_| max_age_s > 0) else {
        return "·".repeat(width);
    };
    if age > max_age_s {
        return format!("{}!", "█".repeat(width.saturating_sub(1)));
    }
    // round up: any age shows at least one cell
    let filled = ((age as u128 * width as u128).div_ceil(max_age_s as u128) as usize).min(width);
    let filled = filled.max(1);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// "2h / 26h", "- / 26h".
pub fn age_label(r: &BackupResult) -> String {
    let age = r.age_s.map(format_age).unwrap_or_else(|| "-".into());
    if r.max_age_s == 0 {
        return age;
    }
    format!("{age} / {}", format_age(r.max_age_s))
}

/// Last restore test: the date, "never" when tests are expected, "-".
pub fn restore_label(job: Option<&BackupJob>) -> String {
    match job {
        Some(j) => match (j.last_restore_test, &j.restore_test_every) {
            (Some(d), _) => d.to_string(),
            (None, Some(_)) => "never".into(),
            (None, None) => "-".into(),
        },
        None => "-".into(),
    }
}

/// A status as a fixed-width word ("OK  ", "WARN", "CRIT", "UNKN").
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "OK",
        Status::Warn => "WARN",
        Status::Crit => "CRIT",
        Status::Unknown => "UNKN",
    }
}

/// The lines of the details view of one job.
pub fn detail_lines(job: Option<&BackupJob>, r: Option<&BackupResult>) -> Vec<String> {
    let mut l = Vec::new();
    if let Some(j) = job {
        l.push(format!(
            "{}  ({} on {})",
            j.name,
            super::kind_name(j.kind),
            j.host
        ));
        if let Some(x) = &j.repository {
            l.push(format!("repository    {x}"));
        }
        if let Some(x) = &j.path {
            l.push(format!("path          {x}"));
        }
        if let Some(x) = &j.command {
            l.push(format!("command       {x}"));
        }
        if let Some(x) = &j.tag {
            l.push(format!("tag           {x}"));
        }
        if let Some(x) = j.min_size {
            l.push(format!("min_size      {x} bytes"));
        }
        let mut pol = format!("max_age {}", j.max_age);
        if let Some(w) = &j.warn_age {
            pol.push_str(&format!(", warn_age {w}"));
        }
        l.push(format!("policy        {pol}"));
        let mut rt = restore_label(Some(j));
        if let Some(e) = &j.restore_test_every {
            rt.push_str(&format!(" (every {e}"));
            if let Some(due) = super::restore_due(j) {
                rt.push_str(&format!(", due {due}"));
            }
            rt.push(')');
        }
        l.push(format!("restore test  {rt}"));
        if let Some(n) = &j.notes {
            l.push(format!("notes         {n}"));
        }
    }
    match r {
        None => l.push("not checked yet (c to check)".into()),
        Some(r) => {
            l.push(String::new());
            l.push(format!(
                "status        {}   age {}   [{}]",
                r.status.label(),
                age_label(r),
                age_bar(r.age_s, r.max_age_s, 20)
            ));
            if let Some(t) = &r.latest {
                l.push(format!("latest        {t}"));
            }
            if let Some(n) = r.snapshots {
                l.push(format!("count         {n}"));
            }
            if let Some(t) = &r.checked_at {
                l.push(format!("checked at    {t}"));
            }
            for reason in &r.reasons {
                l.push(format!("- {reason}"));
            }
            if !r.recent.is_empty() {
                l.push(String::new());
                l.push("latest snapshots:".into());
                for s in &r.recent {
                    let mut line = format!("  {}  {}", s.time, s.id);
                    if let Some(h) = &s.hostname {
                        line.push_str(&format!("  host {h}"));
                    }
                    if !s.paths.is_empty() {
                        line.push_str(&format!("  {}", s.paths.join(" ")));
                    }
                    if !s.tags.is_empty() {
                        line.push_str(&format!("  [{}]", s.tags.join(",")));
                    }
                    if let Some(b) = s.size {
                        line.push_str(&format!("  {b} bytes"));
                    }
                    l.push(line);
                }
            }
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars() {
        assert_eq!(age_bar(Some(0), 100, 10), "█░░░░░░░░░");
        assert_eq!(age_bar(Some(50), 100, 10), "█████░░░░░");
        assert_eq!(age_bar(Some(100), 100, 10), "██████████");
        assert_eq!(age_bar(Some(101), 100, 10), "█████████!");
        assert_eq!(age_bar(None, 100, 4), "····");
        assert_eq!(age_bar(Some(5), 0, 4), "····");
        assert_eq!(age_bar(Some(5), 100, 0), "");
        assert_eq!(age_bar(Some(u64::MAX), u64::MAX - 1, 3), "██!");
        assert_eq!(age_bar(Some(u64::MAX), u64::MAX, 3).chars().count(), 3);
    }
}
