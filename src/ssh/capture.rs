//! A bounded capture of one output stream: a host that prints without end
//! costs opsdeck at most `cap` bytes of memory per stream. The first half of
//! the cap and the last half are kept (the start says what the command was
//! doing, the end how it ended); what falls between is counted and dropped
//! as it arrives, and the kept text says so on a line of its own,
//! [`TRUNCATION_MARK`]`N bytes dropped]`, which parsers recognise.

use std::collections::VecDeque;

/// Default cap per stream of one command: the probe and every other
/// command that does not ask for another (`[run] max_output` for runs and
/// patch logs).
pub const DEFAULT_CAP: usize = 4 * 1024 * 1024;

/// The start of the line put where output was dropped.
pub const TRUNCATION_MARK: &str = "[opsdeck: output truncated, ";

/// One stream, capped.
#[derive(Debug, Clone)]
pub struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    cap: usize,
    dropped: u64,
}

impl Capture {
    pub fn new(cap: usize) -> Capture {
        Capture {
            head: Vec::new(),
            tail: VecDeque::new(),
            cap: cap.max(2),
            dropped: 0,
        }
    }

    pub fn push(&mut self, mut chunk: &[u8]) {
        let half = self.cap / 2;
        if self.head.len() < half {
            let n = (half - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
            chunk = &chunk[n..];
        }
        let room = self.cap - half;
        if chunk.len() >= room {
            // the chunk alone fills the tail: keep its end
            self.dropped = self
                .dropped
                .saturating_add((self.tail.len() + chunk.len() - room) as u64);
            self.tail.clear();
            self.tail.extend(&chunk[chunk.len() - room..]);
            return;
        }
        let over = (self.tail.len() + chunk.len()).saturating_sub(room);
        if over > 0 {
            self.tail.drain(..over);
            self.dropped = self.dropped.saturating_add(over as u64);
        }
        self.tail.extend(chunk);
    }

    /// Bytes dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept bytes, with the mark line where output was dropped.
    pub fn finish(self) -> (Vec<u8>, u64) {
        let mut out = self.head;
        if self.dropped > 0 {
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(
                format!("{TRUNCATION_MARK}{} bytes dropped]\n", self.dropped).as_bytes(),
            );
        }
        out.extend(self.tail);
        (out, self.dropped)
    }

    /// The kept bytes so far (for a command that timed out), without
    /// consuming the capture.
    pub fn snapshot(&self) -> (Vec<u8>, u64) {
        self.clone().finish()
    }
}

/// Both streams of one command.
#[derive(Debug, Clone)]
pub struct Streams {
    pub stdout: Capture,
    pub stderr: Capture,
}

impl Streams {
    pub fn new(cap: usize) -> Streams {
        Streams {
            stdout: Capture::new(cap),
            stderr: Capture::new(cap),
        }
    }
    pub fn push(&mut self, kind: super::StreamKind, chunk: &[u8]) {
        match kind {
            super::StreamKind::Stdout => self.stdout.push(chunk),
            super::StreamKind::Stderr => self.stderr.push(chunk),
        }
    }
    /// Put the kept bytes and the count of dropped ones into `out`.
    pub fn finish_into(self, out: &mut super::ExecOutput) {
        let (o, od) = self.stdout.finish();
        let (e, ed) = self.stderr.finish();
        out.stdout = o;
        out.stderr = e;
        out.dropped = od.saturating_add(ed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut c = Capture::new(100);
        c.push(b"hello ");
        c.push(b"world\n");
        assert_eq!(c.finish(), (b"hello world\n".to_vec(), 0));
    }

    #[test]
    fn endless_output_keeps_head_and_tail_and_counts_the_rest() {
        let mut c = Capture::new(20);
        for i in 0..1000u32 {
            c.push(format!("{i:04}\n").as_bytes());
        }
        let (out, dropped) = c.finish();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(dropped, 5000 - 20);
        assert!(text.starts_with("0000\n0001\n"), "{text}");
        assert!(text.ends_with("0998\n0999\n"), "{text}");
        assert!(
            text.contains("[opsdeck: output truncated, 4980 bytes dropped]"),
            "{text}"
        );
    }

    #[test]
    fn one_huge_chunk() {
        let mut c = Capture::new(10);
        c.push(&[b'x'; 1_000_000]);
        let (out, dropped) = c.finish();
        assert_eq!(dropped, 1_000_000 - 10);
        assert!(out.len() < 100);
    }
}
