//! Commands on the local machine (`host = "local"`), with the semantics of a
//! remote exec: stdin then EOF, both streams drained, own deadline (the whole
//! process group is killed when it passes), live chunks.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{ExecOptions, ExecOutput, SshError, StreamKind};

pub(crate) fn exec(
    command: &str,
    opts: &ExecOptions,
    default_timeout: Duration,
    on_output: &mut dyn FnMut(StreamKind, &[u8]),
) -> Result<ExecOutput, SshError> {
    let timeout = opts.timeout.unwrap_or(default_timeout);
    let start = Instant::now();
    let deadline = crate::util::deadline(start, timeout);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| SshError::Other(format!("cannot run sh: {e}")))?;
    let pid = child.id() as i32;
    // bounded: a command that prints faster than it is read waits for us
    let (tx, rx) = mpsc::sync_channel::<(StreamKind, Vec<u8>)>(16);
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, StreamKind::Stdout, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, StreamKind::Stderr, tx.clone()));
    }
    drop(tx);
    if let Some(mut stdin) = child.stdin.take() {
        let data = opts.stdin.clone().unwrap_or_default();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let mut out = ExecOutput::default();
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(left) {
            Ok((kind, chunk)) => on_output(kind, &chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if timed_out {
        // SAFETY: kill(2) on our own child's process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = child.wait();
        return Err(SshError::CommandTimeout(timeout));
    }
    // both pipes closed: the command (or its last writer) is done
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {
                if Instant::now() >= deadline {
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                    let _ = child.wait();
                    return Err(SshError::CommandTimeout(timeout));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(SshError::Other(format!("waiting for sh: {e}"))),
        }
    };
    for r in readers {
        let _ = r.join();
    }
    out.exit_status = status.code();
    out.exit_signal = status.signal().map(signal_name);
    out.elapsed = start.elapsed();
    Ok(out)
}

fn spawn_reader<R: Read + Send + 'static>(
    mut r: R,
    kind: StreamKind,
    tx: mpsc::SyncSender<(StreamKind, Vec<u8>)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((kind, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Signal name as SSH reports it (no SIG prefix).
fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGHUP => "HUP",
        libc::SIGINT => "INT",
        libc::SIGQUIT => "QUIT",
        libc::SIGILL => "ILL",
        libc::SIGABRT => "ABRT",
        libc::SIGFPE => "FPE",
        libc::SIGKILL => "KILL",
        libc::SIGSEGV => "SEGV",
        libc::SIGPIPE => "PIPE",
        libc::SIGALRM => "ALRM",
        libc::SIGTERM => "TERM",
        libc::SIGUSR1 => "USR1",
        libc::SIGUSR2 => "USR2",
        _ => return format!("{sig}"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cmd: &str, stdin: Option<&[u8]>, t: u64) -> Result<ExecOutput, SshError> {
        let opts = ExecOptions {
            stdin: stdin.map(|s| s.to_vec()),
            timeout: Some(Duration::from_secs(t)),
            ..Default::default()
        };
        // through the connection, which keeps the (capped) output
        crate::ssh::Conn::local().exec(cmd, &opts)
    }

    #[test]
    fn local_commands() {
        let o = run("echo out; echo err >&2; exit 3", None, 10).unwrap();
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr, b"err\n");
        assert_eq!(o.exit_status, Some(3));
        let o = run("tr a-z A-Z", Some(b"secret"), 10).unwrap();
        assert_eq!(o.stdout, b"SECRET");
        let o = run("kill -TERM $$", None, 10).unwrap();
        assert_eq!(o.exit_status, None);
        assert_eq!(o.exit_signal.as_deref(), Some("TERM"));
        // a lot on stderr does not block stdout
        let o = run("head -c 300000 /dev/zero >&2; echo done", None, 10).unwrap();
        assert_eq!(o.stderr.len(), 300000);
        assert_eq!(o.stdout, b"done\n");
        assert!(matches!(
            run("sleep 30", None, 1),
            Err(SshError::CommandTimeout(_))
        ));
        // a background child keeping the pipe open is killed with the group
        assert!(matches!(
            run("sleep 30 & echo started", None, 1),
            Err(SshError::CommandTimeout(_))
        ));
        // endless output: capped as it arrives, the result says so
        let opts = ExecOptions {
            max_output: Some(64 * 1024),
            timeout: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let o = crate::ssh::Conn::local()
            .exec(
                "head -c 50000000 /dev/zero | tr '\\0' x; echo; echo tail-line",
                &opts,
            )
            .unwrap();
        assert!(o.stdout.len() < 70 * 1024, "{}", o.stdout.len());
        assert!(o.dropped > 49_000_000, "{}", o.dropped);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(crate::ssh::capture::TRUNCATION_MARK));
        assert!(text.ends_with("tail-line\n"));
    }
}
