//! Copy with OSC 52: `ESC ] 52 ; c ; BASE64 BEL`, written to the terminal,
//! so it reaches the user's own clipboard through SSH. Inside tmux the same
//! sequence is also sent wrapped in tmux's DCS passthrough
//! (`ESC P tmux; ... ESC \`, inner ESCs doubled): tmux with
//! `set-clipboard on` takes the plain one, tmux with `allow-passthrough on`
//! forwards the wrapped one (see docs/decisions/tui.md).

/// The bytes to write for `value`; `in_tmux` adds the passthrough copy.
pub fn sequence(value: &str, in_tmux: bool) -> String {
    let b64 = openssl::base64::encode_block(value.as_bytes());
    let plain = format!("\x1b]52;c;{b64}\x07");
    if !in_tmux {
        return plain;
    }
    let inner = plain.replace('\x1b', "\x1b\x1b");
    format!("{plain}\x1bPtmux;{inner}\x1b\\")
}

/// True inside tmux ($TMUX set).
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_tmux() {
        assert_eq!(
            sequence("+49 30 1234", false),
            "\x1b]52;c;KzQ5IDMwIDEyMzQ=\x07"
        );
        assert_eq!(
            sequence("hi", true),
            "\x1b]52;c;aGk=\x07\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
        );
    }
}
