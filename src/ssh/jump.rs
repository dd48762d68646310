//! ProxyJump: a direct-tcpip channel on the jump host's session, bridged to
//! one end of a `UnixStream::pair` by a pump thread (the jump session
//! non-blocking); the other end carries the next session.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ssh2::Session;

use super::io::{poll_fds, translate, Sock};
use super::SshError;

/// A running pump; dropping it stops the thread (without waiting for it).
pub(crate) struct Tunnel {
    stop: Arc<AtomicBool>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Open a channel from `session` (authenticated on `sock`) to `host:port` and
/// pump it to a local socket. Returns the socket for the next session.
/// `session` and `sock` move into the pump thread.
pub(crate) fn open(
    session: Session,
    sock: Sock,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(UnixStream, Tunnel), SshError> {
    session.set_blocking(true);
    session.set_timeout(timeout.as_millis().clamp(1, u32::MAX as u128) as u32);
    let channel = session
        .channel_direct_tcpip(host, port, None)
        .map_err(
            |e| match translate(&e, &format!("opening a channel to {host}:{port}")) {
                SshError::Other(_) => SshError::Connect(format!(
                    "the jump host could not connect to {host}:{port} ({})",
                    e.message()
                )),
                other => other,
            },
        )?;
    let (mine, theirs) =
        UnixStream::pair().map_err(|e| SshError::Other(format!("socketpair: {e}")))?;
    mine.set_nonblocking(true)
        .map_err(|e| SshError::Other(e.to_string()))?;
    session.set_blocking(false);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let label = format!("{host}:{port}");
    std::thread::Builder::new()
        .name(format!("jump-{label}"))
        .spawn(move || {
            pump(&session, channel, &sock, &mine, &flag);
            let _ = mine.shutdown(std::net::Shutdown::Both);
            sock.shutdown();
            tracing::debug!("jump tunnel to {label} closed");
        })
        .map_err(|e| SshError::Other(format!("cannot start a thread: {e}")))?;
    Ok((theirs, Tunnel { stop }))
}

fn pump(
    session: &Session,
    mut channel: ssh2::Channel,
    sock: &Sock,
    local: &UnixStream,
    stop: &AtomicBool,
) {
    const CAP: usize = 256 * 1024;
    let mut local = local;
    let mut to_local: Vec<u8> = Vec::new();
    let mut to_chan: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let mut local_eof = false;
    let wb = |e: &std::io::Error| {
        e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted
    };
    while !stop.load(Ordering::Relaxed) {
        let mut progress = false;
        if to_local.len() < CAP {
            match channel.read(&mut buf) {
                Ok(0) => {
                    if channel.eof() && to_local.is_empty() {
                        return;
                    }
                }
                Ok(n) => {
                    to_local.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if wb(&e) => {}
                Err(_) => return,
            }
        }
        if !to_local.is_empty() {
            match local.write(&to_local) {
                Ok(n) => {
                    to_local.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if wb(&e) => {}
                Err(_) => return,
            }
        }
        if !local_eof && to_chan.len() < CAP {
            match local.read(&mut buf) {
                Ok(0) => local_eof = true,
                Ok(n) => {
                    to_chan.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if wb(&e) => {}
                Err(_) => return,
            }
        }
        if !to_chan.is_empty() {
            match channel.write(&to_chan) {
                Ok(n) => {
                    to_chan.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if wb(&e) => {}
                Err(_) => return,
            }
        }
        if local_eof && to_chan.is_empty() {
            let _ = channel.send_eof();
            return;
        }
        if !progress {
            let dirs = session.block_directions();
            let mut remote_events = libc::POLLIN;
            if matches!(
                dirs,
                ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
            ) {
                remote_events |= libc::POLLOUT;
            }
            let mut local_events = 0;
            if !local_eof && to_chan.len() < CAP {
                local_events |= libc::POLLIN;
            }
            if !to_local.is_empty() {
                local_events |= libc::POLLOUT;
            }
            let mut fds = [
                libc::pollfd {
                    fd: sock.fd(),
                    events: remote_events,
                    revents: 0,
                },
                libc::pollfd {
                    fd: local.as_raw_fd(),
                    events: local_events,
                    revents: 0,
                },
            ];
            poll_fds(&mut fds, Duration::from_millis(100));
        }
    }
}

/// Handshakes in flight to one jump host, at most [`Gate::CAPACITY`]: a
/// default sshd (`MaxStartups 10:30:100`) starts dropping unauthenticated
/// connections beyond 10, and a sweep behind one bastion opens one hop
/// session per host.
pub(crate) struct Gate {
    free: std::sync::Mutex<usize>,
    cv: std::sync::Condvar,
}

/// A held slot of a [`Gate`]; released on drop.
pub(crate) struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut f = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *f += 1;
        self.0.cv.notify_one();
    }
}

impl Gate {
    pub(crate) const CAPACITY: usize = 8;

    pub(crate) fn new() -> Gate {
        Gate {
            free: std::sync::Mutex::new(Self::CAPACITY),
            cv: std::sync::Condvar::new(),
        }
    }

    /// Wait for a slot until `deadline`, giving up when `cancelled()` says so.
    pub(crate) fn acquire(
        &self,
        deadline: std::time::Instant,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Permit<'_>, SshError> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            if cancelled() {
                return Err(SshError::Cancelled);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(SshError::Timeout(
                    "waited too long for a free handshake slot on the jump host".into(),
                ));
            }
            free = self
                .cv
                .wait_timeout(free, left.min(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *free -= 1;
        Ok(Permit(self))
    }
}
