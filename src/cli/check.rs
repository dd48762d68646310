//! opsdeck check [TARGET...] [--json] [--accept-new]
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::checks::{self, HostCheck};
use crate::model::{nagios_exit, CheckResult, Host};
use crate::ssh::Engine;
use crate::store::Store;
use crate::util::format_age;

pub fn run(home: &Home, a: &CheckArgs) -> CmdResult {
    let (_, results) = check_targets(home, &a.targets, a.accept_new, "check")?;

    let checks: Vec<&CheckResult> = results.iter().map(|r| &r.check).collect();
    if a.json {
        out::json(&checks)?;
    } else {
        out::text(&table(&checks, a.wide));
    }
    Ok(nagios_exit(checks.iter().map(|c| c.status)))
}

/// Check the hosts `targets` select and save the results: what `check`
/// and `patches` both do before they print.
pub(super) fn check_targets(
    home: &Home,
    targets: &[String],
    accept_new: bool,
    action: &str,
) -> Result<(Store, Vec<HostCheck>), Failure> {
    let (store, hosts) = load_targets(home, targets)?;
    let engine = engine(&store, accept_new);
    let rt = runtime()?;
    let results = sweep_and_save(&store, &engine, &rt, hosts, action, &target_label(targets));
    Ok((store, results))
}

/// Check `hosts` (at most `[ssh] concurrency` at once; Ctrl-C cancels the
/// hosts not done yet) with a progress bar when stderr is a terminal. The
/// results come back in the order of `hosts`, saved to state/ (journaled
/// as a check of `target`). `check`, `patches` and the re-check after
/// `patch refresh` all go through here.
pub(super) fn sweep_and_save(
    store: &Store,
    engine: &Engine,
    rt: &tokio::runtime::Runtime,
    hosts: Vec<Host>,
    action: &str,
    target: &str,
) -> Vec<HostCheck> {
    let order: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let total = hosts.len();
    let mut results: Vec<HostCheck> = rt.block_on(async {
        let cancel = Arc::new(AtomicBool::new(false));
        let c2 = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c2.store(true, Ordering::SeqCst);
            }
        });
        let mut rx = checks::sweep(store, engine, hosts, cancel);
        let mut bar = Progress::new(total);
        let mut done = Vec::with_capacity(total);
        while let Some(hc) = rx.recv().await {
            done.push(hc);
            bar.update(done.len());
        }
        bar.finish();
        done
    });
    results.sort_by_key(|r| order.iter().position(|n| *n == r.check.host));
    if let Err(e) = checks::save_as(store, &results, action, target) {
        tracing::error!("cannot save the results: {e}");
        tell!("opsdeck: cannot save the results: {e}");
    }
    results
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
