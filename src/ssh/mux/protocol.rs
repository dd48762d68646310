//! The helper's protocol: JSON lines on the unix socket (requests, replies,
//! base64 output chunks), bounded in length.

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{CancelFlag, Resolved, SshError};

use super::*;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Request {
    Open {
        protocol: u32,
        version: String,
        mux_dir: PathBuf,
        resolved: Resolved,
        accept_new: bool,
    },
    Exec {
        command: String,
        /// base64
        stdin: Option<String>,
        timeout_ms: u64,
    },
    /// Done with the session: back to the pool (answered by `released`).
    Release,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Reply {
    Opened {
        reused: bool,
    },
    /// Not served (another home, another version, busy): connect directly.
    Refused(String),
    Failed(SshError),
    Started,
    /// base64
    Stdout(String),
    /// base64
    Stderr(String),
    Done {
        exit_status: Option<i32>,
        exit_signal: Option<String>,
    },
    Released,
}

pub(super) fn b64(data: &[u8]) -> String {
    openssl::base64::encode_block(data)
}

pub(super) fn unb64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    openssl::base64::decode_block(s).ok()
}

/// JSON lines over a unix socket, with deadlines and a cancel flag.
pub(super) struct Lines {
    pub(super) stream: UnixStream,
    buf: Vec<u8>,
    scanned: usize,
}

impl Lines {
    pub(super) fn new(stream: UnixStream) -> Lines {
        Lines {
            stream,
            buf: Vec::new(),
            scanned: 0,
        }
    }

    pub(super) fn send<T: Serialize>(&self, v: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(v).map_err(io::Error::other)?;
        line.push(b'\n');
        (&self.stream).write_all(&line)
    }

    /// The next line (None at EOF). `TimedOut` after `deadline`,
    /// `Interrupted` when `cancel` is set.
    pub(super) fn recv(
        &mut self,
        deadline: Option<Instant>,
        cancel: Option<&CancelFlag>,
    ) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let line = self.buf[..end].to_vec();
                self.buf.drain(..=end);
                self.scanned = 0;
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(ErrorKind::InvalidData, "line too long"));
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(io::Error::from(ErrorKind::Interrupted));
            }
            let wait_ms: i32 = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::from(ErrorKind::TimedOut));
                    }
                    left.min(Duration::from_millis(200)).as_millis().max(1) as i32
                }
                None if cancel.is_some() => 200,
                None => -1,
            };
            let mut fds = [libc::pollfd {
                fd: self.stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, wait_ms) };
            if n <= 0 {
                continue;
            }
            match (&self.stream).read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
