//! opsdeck backups.
use super::*;
pub fn run(_home: &Home, _a: &BackupsArgs) -> CmdResult {
    todo!()
}
