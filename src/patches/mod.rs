//! Applying updates per package manager: commands, output parsers, holds,
//! plans, apply with streamed output, refresh, reboot. The listing of pending
//! updates is the checks module's; everything about changing hosts is here.
//! Usable by the CLI (`opsdeck patch ...`) and the TUI (Patches pane).

pub mod commands;
pub mod parse;

pub use commands::{Ask, Manager, Mode, Privilege};
pub use parse::{Change, ChangeKind, Simulation};
pub mod run;

pub use run::{
    apply_all, apply_host, plan_host, reboot_host, refresh_host, ApplyOptions, Event, HostOutcome,
    HostPlan, RebootOptions, RebootStep, Recheck,
};
