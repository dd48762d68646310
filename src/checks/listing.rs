//! Parsers of the pending-update listings, one per package manager, in the
//! tools' own output formats (run with LC_ALL=C). Pure; never panic; an
//! error is a message for a per-host parse error.

pub use crate::pm::apk::{parse_apk_listing as parse_apk, split_apk};
pub use crate::pm::apt::{apt_origin_is_security, parse_apt};
pub use crate::pm::pacman::parse_pacman;
pub use crate::pm::rpm::{mark_rpm_security, parse_dnf_check_update, parse_dnf_updateinfo};
pub use crate::pm::zypper::{parse_zypper_list_updates, parse_zypper_patches};
pub use crate::pm::Listing;
