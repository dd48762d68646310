//! opsdeck report [--format markdown|json] [-o FILE]
//!
//! Reads the files and the state (no SSH), writes Markdown or JSON to stdout
//! or atomically to FILE (mode 0600). `OPSDECK_NOW` fixes "now" (tests,
//! back-dated reports). Exit 0, or the store's exit code when a file does
//! not parse; 64 for a bad OPSDECK_NOW; 73 when FILE cannot be written.
use std::io::Write;

use super::*;
use crate::overview;
use crate::report;
use crate::store::Store;

pub fn run(home: &Home, a: &ReportArgs) -> CmdResult {
    let now = overview::now().map_err(Failure::usage)?;
    let today = overview::today_of(now);
    let store = Store::load(home.clone()).map_err(Failure::from)?;
    let snap = overview::load_and_track(&store).map_err(Failure::from)?;
    let journal = store.read_journal().map_err(Failure::from)?;
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
            tracing::info!("report written to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is not an error worth a message.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(Failure::new(exit::IOERR, format!("stdout: {e}")));
                }
            }
        }
    }
    Ok(exit::OK)
}
