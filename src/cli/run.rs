//! opsdeck run.
use super::*;
pub fn run(_home: &Home, _a: &RunArgs) -> CmdResult {
    todo!()
}
