//! opsdeck patches, patch apply|refresh|reboot.
use super::*;
pub fn list(_home: &Home, _a: &PatchesArgs) -> CmdResult {
    todo!()
}
pub fn run(_home: &Home, _c: PatchCmd) -> CmdResult {
    todo!()
}
