//! opsdeck report [--format markdown|json] [-o FILE]
//!
//! Reads the files and the state (no SSH), writes Markdown or JSON to stdout
//! or atomically to FILE (mode 0600). `OPSDECK_NOW` fixes "now" (tests,
//! back-dated reports). Exit 0, or the store's exit code when a file does
//! not parse; 64 for a bad OPSDECK_NOW; 73 when FILE cannot be written.

use super::*;
use crate::overview;
use crate::report;
use crate::store::Store;

pub fn run(home: &Home, a: &ReportArgs) -> CmdResult {
    let now = overview::now().map_err(Failure::usage)?;
    let today = overview::today_of(now);
    let store = Store::load(home.clone()).map_err(Failure::from)?;
    let mut snap = overview::load_and_track(&store).map_err(Failure::from)?;
    // the journal is read entry by entry: a damaged entry is skipped and
    // counted, never the end of every later report
    let journal = match store.read_journal_checked() {
        Ok((entries, damaged)) => {
            if let Some(first) = damaged.first() {
                snap.notes.push(format!(
                    "{} damaged journal entr{} skipped (first: {first})",
                    damaged.len(),
                    if damaged.len() == 1 { "y" } else { "ies" }
                ));
            }
            entries
        }
        Err(e) => {
            snap.notes
                .push(format!("the journal could not be read: {e}"));
            Vec::new()
        }
    };
    for n in &snap.notes {
        tracing::warn!("{n}");
    }
    let r = report::build(&snap, &journal, now, today);
    let text = match a.format {
        ReportFormat::Markdown => report::to_markdown(&r),
        ReportFormat::Json => report::to_json(&r).map_err(|e| Failure::new(exit::SOFTWARE, e))?,
    };
    match &a.output {
        Some(path) => {
            crate::store::write_output_file(path, text.as_bytes()).map_err(|e| {
                Failure::new(exit::CANTCREAT, format!("cannot write the report: {e}"))
            })?;
            tell!(
                "wrote the report ({}, {}, {} bytes) to {}",
                match a.format {
                    ReportFormat::Markdown => "Markdown",
                    ReportFormat::Json => "JSON",
                },
                crate::util::plural(r.hosts.len(), "host", "hosts"),
                text.len(),
                path.display()
            );
        }
        None => match a.format {
            ReportFormat::Markdown => out::text(&text),
            ReportFormat::Json => out::raw(&text),
        },
    }
    Ok(exit::OK)
}
