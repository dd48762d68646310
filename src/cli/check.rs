//! opsdeck check [TARGET...] [--json] [--accept-new]
use std::io::{IsTerminal, Write};

use super::*;
use crate::checks::HostCheck;
use crate::model::{nagios_exit, CheckResult};
use crate::store::Store;
use crate::util::format_age;

pub fn run(home: &Home, a: &CheckArgs) -> CmdResult {
    let (store, results) = check_targets(home, &a.targets, a.accept_new, "check")?;

    // the last sweep's forecasts and anomalies of these hosts, as reasons,
    // while they are news (a sweep in the last day: "full in 6 days" from
    // a sweep of last month says nothing about today)
    let mut owned: Vec<CheckResult> = results.into_iter().map(|r| r.check).collect();
    let now = crate::overview::now().map_err(Failure::usage)?;
    let fresh = crate::watch::LastSweep::load(&store.home)
        .and_then(|l| crate::util::age_of(&l.at, now))
        .is_some_and(|age| age <= 86_400);
    if fresh {
        let watch = store.load_state::<crate::overview::Item>(crate::store::StateKind::Watch);
        crate::watch::forecast::add_to_checks(&mut owned, &watch.items);
    }
    let checks: Vec<&CheckResult> = owned.iter().collect();
    if a.json {
        out::json(&checks)?;
    } else {
        out::text(&table(&checks, a.wide));
    }
    Ok(nagios_exit(checks.iter().map(|c| c.status)))
}

/// Check the hosts `targets` select and save the results: what `check`
/// and `patches` both do before they print (journaled as `action`).
pub(super) fn check_targets(
    home: &Home,
    targets: &[String],
    accept_new: bool,
    action: &str,
) -> Result<(Store, Vec<HostCheck>), Failure> {
    let (store, hosts) = load_targets(home, targets)?;
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, accept_new)).with_cancel(
        cancel_on_interrupt("cancelling: hosts in progress finish, no new host starts"),
    );
    let mut bar = Progress::new(hosts.len());
    let (results, saved) = crate::ops::check::sweep_and_save(
        &ctx,
        hosts,
        action,
        &target_label(targets),
        |_, done, _| bar.update(done),
    );
    bar.finish();
    if let Err(e) = saved {
        tell!("opsdeck: cannot save the results: {e}");
    }
    Ok((store, results))
}

/// A progress bar on stderr, only when stderr is a terminal.
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let on = std::io::stderr().is_terminal() && total > 0;
        let p = Progress { total, on };
        p.draw(0);
        p
    }
    fn draw(&self, n: usize) {
        if !self.on {
            return;
        }
        let width = 30;
        let filled = n * width / self.total.max(1);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {n}/{} hosts checked",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }
    fn update(&mut self, n: usize) {
        self.draw(n);
    }
    fn finish(&self) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

fn cell_updates(c: &CheckResult) -> String {
    let Some(f) = &c.facts else {
        return String::new();
    };
    match &f.updates {
        Some(u) => match (u.pending, u.security) {
            (Some(p), Some(s)) => format!("{p} ({s} sec)"),
            (Some(p), None) => format!("{p} (sec ?)"),
            (None, _) => "?".into(),
        },
        None => "?".into(),
    }
}

/// At most `max` characters, cut at the last word that fits (not in the
/// middle of one) and marked with "…".
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max.saturating_sub(1)).collect();
    let cut = match head.rfind(' ') {
        Some(i) if i > max / 2 => head[..i].trim_end().to_string(),
        _ => head,
    };
    format!("{cut}…")
}

/// The aligned table of `opsdeck check` (no --json): reasons cut at a word
/// to keep an 80-column terminal readable, whole with `wide`.
pub fn table(checks: &[&CheckResult], wide: bool) -> String {
    let fit = |s: &str, max: usize| {
        if wide {
            s.to_string()
        } else {
            truncate(s, max)
        }
    };
    let mut rows: Vec<[String; 8]> = vec![[
        "HOST".into(),
        "STATUS".into(),
        "REASON".into(),
        "OS".into(),
        "UPTIME".into(),
        "LOAD".into(),
        "DISK".into(),
        "UPDATES".into(),
    ]];
    for c in checks {
        let f = c.facts.as_ref();
        let reason = match (&c.error, c.reasons.first()) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) if c.reasons.len() > 1 => format!("{r} (+{})", c.reasons.len() - 1),
            (None, Some(r)) => r.clone(),
            (None, None) => String::new(),
        };
        let disk = f
            .and_then(|f| {
                f.disks
                    .iter()
                    .max_by(|a, b| a.used_pct.total_cmp(&b.used_pct))
                    .map(|d| format!("{} {:.0}%", d.mount, d.used_pct))
            })
            .unwrap_or_default();
        rows.push([
            c.host.clone(),
            c.status.label().to_string(),
            fit(&reason, 48),
            fit(f.and_then(|f| f.os.as_deref()).unwrap_or(""), 28),
            f.and_then(|f| f.uptime_s)
                .map(format_age)
                .unwrap_or_default(),
            f.and_then(|f| f.load)
                .map(|l| format!("{:.2}", l[0]))
                .unwrap_or_default(),
            fit(&disk, 24),
            cell_updates(c),
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !wide && out.contains('…') {
        out.push_str("(cut to fit: --wide shows every reason whole, --json everything)\n");
    }
    out
}
