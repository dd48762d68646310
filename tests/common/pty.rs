//! A pseudo-terminal harness: start a program on a fresh pty (its own
//! session, the pty as controlling terminal), read everything it writes into
//! a vt100 screen on a thread, type keys, resize, wait for screen text.
//! Answers the cursor-position query (`ESC [ 6 n`) with `ESC [ 1 ; 1 R`, as
//! a real terminal would.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real opsdeck binary as a TUI test starts it: its files under
/// `opsdeck_home`, `HOME` at `home`, a colour xterm outside tmux, and
/// nothing from the developer's environment that changes what is drawn
/// (callers add `NO_COLOR` and the like).
pub fn opsdeck_tui(opsdeck_home: &Path, home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    c.env("OPSDECK_HOME", opsdeck_home)
        .env("HOME", home)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("TMUX")
        .env_remove("OPSDECK_NOW")
        .env_remove("OPSDECK_EXIT_AFTER_FIRST_FRAME");
    c
}

/// Put an executable `ssh` with `script` in `dir/bin` and first on the
/// PATH of `cmd` (the TUI's `s` runs it instead of the real client).
pub fn fake_ssh(cmd: &mut Command, dir: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let fake = bin.join("ssh");
    std::fs::write(&fake, script).expect("write the fake ssh");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))
        .expect("make the fake ssh executable");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path);
}

/// A fresh home holding `files` (name, text).
pub fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write a test file");
    }
    dir
}

pub struct Pty {
    master: File,
    child: Child,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n.max(1)).unwrap()
}

fn winsize(cols: u16, rows: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Pty {
    /// Start `cmd` on a new `cols`x`rows` pty.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Pty {
        let mut master_fd: libc::c_int = -1;
        let mut slave_fd: libc::c_int = -1;
        let ws = winsize(cols, rows);
        // SAFETY: out-pointers to valid ints and a valid winsize.
        let rc = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut slave_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two fresh fds we now own.
        let master = unsafe { OwnedFd::from_raw_fd(master_fd) };
        let slave = unsafe { OwnedFd::from_raw_fd(slave_fd) };
        // the master must not leak into the child
        // SAFETY: fcntl on an fd we own.
        unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn the program on the pty");
        let master = File::from(master);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader_file = master.try_clone().unwrap();
        let mut answer = master.try_clone().unwrap();
        let (p, r) = (parser.clone(), raw.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            let mut tail: Vec<u8> = Vec::new();
            loop {
                match reader_file.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let chunk = &buf[..n];
                        p.lock().unwrap().process(chunk);
                        r.lock().unwrap().extend_from_slice(chunk);
                        tail.extend_from_slice(chunk);
                        let hits = tail.windows(4).filter(|w| w == b"\x1b[6n").count();
                        for _ in 0..hits {
                            let _ = answer.write_all(b"\x1b[1;1R");
                        }
                        let keep = tail.len().min(3);
                        tail = tail[tail.len() - keep..].to_vec();
                    }
                }
            }
        });
        Pty {
            master,
            child,
            parser,
            raw,
            reader: Some(reader),
        }
    }

    /// Type bytes (keys: "j", "\r" Enter, "\x1b" Esc, "\t" Tab).
    pub fn send(&mut self, bytes: &str) {
        self.master.write_all(bytes.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// The screen as text, one line per row, trailing blanks trimmed.
    pub fn screen(&self) -> String {
        let p = self.parser.lock().unwrap();
        let s = p.screen();
        let (rows, cols) = s.size();
        let (rows, cols) = (rows.get(), cols.get());
        (0..rows)
            .map(|r| {
                let mut line = String::new();
                for c in 0..cols {
                    if let Some(cell) = s.cell(r, c) {
                        let t = cell.contents();
                        line.push_str(if t.is_empty() { " " } else { t });
                    }
                }
                line.trim_end().to_string() + "\n"
            })
            .collect()
    }

    /// Everything the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Wait until `pred(screen)` holds; panics with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until the screen contains `text`.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, Duration::from_secs(15), |s| s.contains(text))
    }

    /// Wait until the raw output contains `bytes`.
    pub fn wait_raw(&self, bytes: &[u8]) {
        let start = Instant::now();
        while !self.raw().windows(bytes.len()).any(|w| w == bytes) {
            if start.elapsed() > Duration::from_secs(15) {
                panic!(
                    "timed out waiting for {:?} in the output",
                    String::from_utf8_lossy(bytes)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resize the terminal (the kernel sends SIGWINCH to the program).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let ws = winsize(cols, rows);
        self.parser.lock().unwrap().set_size(nz(rows), nz(cols));
        // SAFETY: TIOCSWINSZ with a valid winsize on our master fd.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0);
    }

    /// Wait for the program to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("program did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // the reader ends when the slave side is closed by the child's exit
        if let Some(r) = self.reader.take() {
            drop(r);
        }
    }
}
