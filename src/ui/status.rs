//! The message part of the footer: what the last action did. A message
//! fades after [`FADE_S`] seconds (the event loop wakes up for it: no busy
//! redraw) and the key bar comes back; an error stays, styled as one and
//! prefixed "error:", until a key dismisses it — a key typed within the
//! first [`READ_S`] second is taken as typed before the error was seen and
//! leaves it up.

use std::time::Duration;

use jiff::Timestamp;

/// Seconds a message stays.
pub const FADE_S: i64 = 5;
/// An error stays at least this long, whatever is typed.
pub const READ_S: i64 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct StatusLine {
    msg: Option<Message>,
}

impl StatusLine {
    /// An information; it does not replace an error that is up (a key
    /// dismisses that first, so what the key did is still shown).
    pub fn info(&mut self, text: impl Into<String>, now: Timestamp) {
        if self.error_shown() {
            return;
        }
        self.msg = Some(Message {
            text: text.into(),
            error: false,
            at: now,
        });
    }

    /// An error: it stays until a key dismisses it (see the module doc).
    pub fn error(&mut self, text: impl Into<String>, now: Timestamp) {
        self.msg = Some(Message {
            text: text.into(),
            error: true,
            at: now,
        });
    }

    /// The message on the screen at `now` (None: the key bar).
    pub fn visible(&self, now: Timestamp) -> Option<&Message> {
        let m = self.msg.as_ref()?;
        (m.error || now.as_second() - m.at.as_second() < FADE_S).then_some(m)
    }

    /// An error is up.
    pub fn error_shown(&self) -> bool {
        self.msg.as_ref().is_some_and(|m| m.error)
    }

    /// A key was pressed: an error that has been up for [`READ_S`]
    /// second(s) goes. True: one went.
    pub fn key_pressed(&mut self, now: Timestamp) -> bool {
        match &self.msg {
            Some(m) if m.error && now.as_second() - m.at.as_second() >= READ_S => {
                self.msg = None;
                true
            }
            _ => false,
        }
    }

    pub fn clear(&mut self) {
        self.msg = None;
    }

    /// How long until the line changes by itself (an information fades).
    pub fn next_change(&self, now: Timestamp) -> Option<Duration> {
        let m = self.msg.as_ref().filter(|m| !m.error)?;
        let left_ms = (m.at.as_millisecond() + FADE_S * 1000) - now.as_millisecond();
        (left_ms > 0).then(|| Duration::from_millis(left_ms as u64 + 5))
    }

    /// The text of the message, whether it is still shown or not (tests, logs).
    pub fn last(&self) -> Option<&Message> {
        self.msg.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn information_fades_errors_stay_until_a_key() {
        let mut s = StatusLine::default();
        s.info("saved", t(0));
        assert!(s.visible(t(4)).is_some());
        assert_eq!(s.next_change(t(4)), Some(Duration::from_millis(1005)));
        assert!(s.visible(t(5)).is_none());
        assert_eq!(s.next_change(t(6)), None);
        s.error("boom", t(10));
        assert!(s.visible(t(100)).is_some());
        assert_eq!(s.next_change(t(11)), None);
        // typed before it could be read: stays
        assert!(!s.key_pressed(t(10)));
        assert!(s.error_shown());
        s.info("later", t(11));
        assert_eq!(s.visible(t(11)).unwrap().text, "boom");
        assert!(s.key_pressed(t(12)));
        assert!(s.visible(t(12)).is_none());
    }
}
