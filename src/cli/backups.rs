//! opsdeck backups [NAME...] [--json]: check every backup job (or the named
//! ones), print a table or JSON, save the results in state/backups.toml,
//! journal the run, and exit with the Nagios code of the worst job.
use std::io::IsTerminal;

use super::*;
use crate::backups;
use crate::backups::view::{age_label, restore_label};
use crate::model::{nagios_exit, BackupJob, BackupResult};
use crate::store::Store;

pub fn run(home: &Home, a: &BackupsArgs) -> CmdResult {
    let store = Store::load(home.clone())?;
    let jobs = select(&store.backups, &a.names)?;
    if jobs.is_empty() {
        if a.json {
            out::line("[]");
        }
        tell!(
            "opsdeck: no backup jobs yet: add one with `opsdeck backup add NAME --host H --kind restic|borg|path|command ...` (see `opsdeck backup add --help`), with `a` in the TUI's Backups pane, or as a [[backup]] table in {} (its comments show every kind)",
            home.backups_path().display()
        );
        return Ok(exit::OK);
    }
    let ctx = crate::ops::Ctx::new(store.clone(), engine(&store, a.accept_new))
        .with_cancel(cancel_on_interrupt("cancelling: jobs in progress finish"));
    let tty = std::io::stderr().is_terminal();
    let (done, saved) = crate::ops::backups::check(&ctx, jobs.clone(), &a.names, |d, n, total| {
        let r = &d.result;
        tracing::info!(job = %r.name, status = ?r.status, "backup checked");
        if tty {
            eprint!(
                "\r\x1b[Kchecked {n}/{total}: {}",
                crate::util::sanitize(r.name.as_bytes())
            );
            if n == total {
                eprint!("\r\x1b[K");
            }
        }
    });
    if let Err(e) = saved {
        tell!("opsdeck: cannot save the results: {e}");
    }
    let results: Vec<BackupResult> = done.into_iter().map(|d| d.result).collect();

    if a.json {
        out::json(&results)?;
    } else {
        out::text(&table(&jobs, &results));
    }
    Ok(nagios_exit(results.iter().map(|r| r.status)))
}

/// The named jobs (all when none is named), in the order of backups.toml.
fn select(all: &[BackupJob], names: &[String]) -> Result<Vec<BackupJob>, Failure> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    for n in names {
        if !all.iter().any(|j| &j.name == n) {
            let known: Vec<&str> = all.iter().map(|j| j.name.as_str()).collect();
            return Err(Failure::new(
                exit::NOINPUT,
                format!(
                    "no backup job named `{n}` in backups.toml (jobs: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(all
        .iter()
        .filter(|j| names.contains(&j.name))
        .cloned()
        .collect())
}

fn table(jobs: &[BackupJob], results: &[BackupResult]) -> String {
    let header = [
        "NAME",
        "HOST",
        "KIND",
        "STATUS",
        "AGE / MAX",
        "RESTORE TEST",
        "REASON",
    ];
    let rows: Vec<[String; 7]> = results
        .iter()
        .map(|r| {
            let job = jobs.iter().find(|j| j.name == r.name);
            [
                r.name.clone(),
                r.host.clone(),
                backups::kind_name(r.kind).to_string(),
                r.status.label().to_string(),
                age_label(r),
                restore_label(job),
                r.reasons.join("; "),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(c);
                let pad = widths[i] - c.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(&header.map(String::from), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    out
}
