//! init, host, vendor, backup restored, export.
use super::*;
use crate::error::CmdResult;

pub fn init(_home: &Home, _a: &InitArgs) -> CmdResult {
    todo!()
}
pub fn host(_home: &Home, _c: HostCmd) -> CmdResult {
    todo!()
}
pub fn vendor(_home: &Home, _c: VendorCmd) -> CmdResult {
    todo!()
}
pub fn backup(_home: &Home, _c: BackupCmd) -> CmdResult {
    todo!()
}
pub fn export(_home: &Home, _c: ExportCmd) -> CmdResult {
    todo!()
}
