//! Shared test helpers. Each test file does `mod common;` and uses what it
//! needs; helpers not used by one test binary are not dead code elsewhere.
#![allow(dead_code)]

pub mod paused;
pub mod sshd;
