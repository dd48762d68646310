//! opsdeck check.
use super::*;
pub fn run(_home: &Home, _a: &CheckArgs) -> CmdResult {
    todo!()
}
