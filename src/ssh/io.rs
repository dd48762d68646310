//! What the pieces of a connection share: the transport under a session
//! (TCP or a jump tunnel's socket), polling it, and libssh2's errors in
//! words a user can act on. Below `session`, `auth` and `jump`, which all
//! use it (and no longer each other for it).

use std::io::ErrorKind;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::SshError;

/// The transport under a session, kept to poll it and to cut it on a timeout.
pub(crate) enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Sock {
    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
        }
    }
    pub(crate) fn shutdown(&self) {
        let _ = match self {
            Sock::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Sock::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

pub(crate) fn err_code(e: &ssh2::Error) -> i32 {
    match e.code() {
        ssh2::ErrorCode::Session(c) => c,
        ssh2::ErrorCode::SFTP(c) => c,
    }
}

/// A libssh2 error in words a user can act on.
pub fn translate(e: &ssh2::Error, during: &str) -> SshError {
    let msg = e.message();
    match err_code(e) {
        -9 | -30 => SshError::Timeout(format!("no answer while {during}")),
        -2 => SshError::Handshake(format!(
            "no SSH banner while {during} (not an SSH server, or it dropped the connection: MaxStartups?)"
        )),
        -5 | -8 | -33 | -51 => SshError::Handshake(format!(
            "no common algorithm while {during} ({msg}): the server offers only SHA-1 algorithms (OpenSSH < 7.2?) or others libssh2 does not support"
        )),
        -13 | -7 | -43 | -1 | -45 => SshError::Connect(format!("connection closed while {during}")),
        -18 | -19 => SshError::Auth(format!("refused while {during}")),
        -16 => SshError::Auth(format!("key file unusable while {during} ({msg})")),
        c => SshError::Other(format!("{during}: {msg} (libssh2 {c})")),
    }
}

/// A libssh2 error of the handshake: the server dropping the connection
/// before or during the key exchange (sshd's MaxStartups does that to
/// excess connections) is its own kind, [`SshError::Dropped`], which a
/// caller may retry; anything else as [`translate`].
pub(crate) fn translate_handshake(e: &ssh2::Error) -> SshError {
    match err_code(e) {
        -2 => SshError::Dropped(
            "no SSH banner in the SSH handshake (not an SSH server, or it dropped the connection: MaxStartups?)"
                .into(),
        ),
        -13 | -7 | -43 | -1 | -45 => {
            SshError::Dropped("connection closed while in the SSH handshake".into())
        }
        _ => translate(e, "in the SSH handshake"),
    }
}

pub(crate) fn ms(d: Duration) -> u32 {
    d.as_millis().clamp(1, u32::MAX as u128) as u32
}

/// Wait until `fd` is ready for `events` or `timeout` passes.
pub(crate) fn poll_fds(fds: &mut [libc::pollfd], timeout: Duration) {
    let t = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: fds is a valid slice of pollfd for its length.
    unsafe {
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, t);
    }
}

pub(crate) fn would_block(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::WouldBlock
        || e.kind() == ErrorKind::Interrupted
        || e.raw_os_error() == Some(-37)
}

/// Has the peer closed this socket (EOF or error pending)? Data pending
/// (a keepalive, a global request) is not closed.
pub(crate) fn peer_closed(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: recv into a buffer we own, without blocking and without consuming.
    let n = unsafe {
        libc::recv(
            fd,
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n == 0 {
        return true;
    }
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted);
    }
    false
}
