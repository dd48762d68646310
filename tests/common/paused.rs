//! opsdeck paused at a test hook (`OPSDECK_TEST_PAUSE_*`), ready to be
//! killed at exactly that point.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Start `opsdeck ARGS` on `home` with the hook variable `hook` set to a
/// long pause (only for writes of `hosts.toml`), and return once it says it
/// paused.
pub fn paused(home: &Path, args: &[&str], hook: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_HOME", home)
        .env(hook, "20000")
        .env("OPSDECK_TEST_PAUSE_FILE", "hosts.toml")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("opsdeck ended before pausing");
        }
        if line.contains("opsdeck-test: paused") {
            break;
        }
    }
    child
}
