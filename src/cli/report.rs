//! opsdeck report.
use super::*;
pub fn run(_home: &Home, _a: &ReportArgs) -> CmdResult {
    todo!()
}
