//! authorized_keys lines: options, type, key, comment (sshd(8) AUTHORIZED_KEYS
//! FILE FORMAT), the key's SHA256 fingerprint as `ssh-keygen -lf` prints it
//! and its size. Pure; never panics.

use serde::{Deserialize, Serialize};

/// One authorised key where it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthKey {
    pub user: String,
    pub file: String,
    /// 1-based line in the file.
    pub line: usize,
    #[serde(rename = "type")]
    pub key_type: String,
    pub bits: Option<u32>,
    /// `SHA256:…` (base64 without padding).
    pub fingerprint: String,
    pub comment: String,
    /// `from="…"`, `command="…"`, … as written.
    pub options: String,
    /// The public key (base64), to find its line again.
    #[serde(default)]
    pub key: String,
}

const TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
];

/// Split the options prefix (quoted strings may hold spaces) from the rest.
fn split_options(line: &str) -> (String, &str) {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return (line[..i].to_string(), line[i..].trim_start()),
            _ => {}
        }
    }
    (line.to_string(), "")
}

/// SHA256 fingerprint of a base64 key blob, as OpenSSH prints it.
pub fn fingerprint(blob_b64: &str) -> Option<String> {
    let blob = openssl::base64::decode_block(blob_b64).ok()?;
    let digest = openssl::sha::sha256(&blob);
    Some(format!(
        "SHA256:{}",
        openssl::base64::encode_block(&digest).trim_end_matches('=')
    ))
}

fn read_string(b: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes(b.get(*at..*at + 4)?.try_into().ok()?) as usize;
    *at += 4;
    let v = b.get(*at..at.checked_add(len)?)?.to_vec();
    *at += len;
    Some(v)
}

fn mpint_bits(v: &[u8]) -> u32 {
    let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
    match v.first() {
        None => 0,
        Some(f) => (v.len() as u32 - 1) * 8 + (8 - f.leading_zeros()),
    }
}

/// The size of a key in bits.
pub fn bits(key_type: &str, blob_b64: &str) -> Option<u32> {
    match key_type {
        "ssh-ed25519" | "sk-ssh-ed25519@openssh.com" => return Some(256),
        "ecdsa-sha2-nistp256" | "sk-ecdsa-sha2-nistp256@openssh.com" => return Some(256),
        "ecdsa-sha2-nistp384" => return Some(384),
        "ecdsa-sha2-nistp521" => return Some(521),
        _ => {}
    }
    let blob = openssl::base64::decode_block(blob_b64).ok()?;
    let mut at = 0;
    let _name = read_string(&blob, &mut at)?;
    match key_type {
        "ssh-rsa" => {
            let _e = read_string(&blob, &mut at)?;
            Some(mpint_bits(&read_string(&blob, &mut at)?))
        }
        "ssh-dss" => Some(mpint_bits(&read_string(&blob, &mut at)?)),
        _ => None,
    }
}

/// One line; None for blank lines, comments and lines that hold no key.
pub fn parse_line(user: &str, file: &str, line_no: usize, line: &str) -> Option<AuthKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (options, rest) = if TYPES.iter().any(|t| line.starts_with(&format!("{t} "))) {
        (String::new(), line)
    } else {
        split_options(line)
    };
    let mut words = rest.split_whitespace();
    let key_type = words.next()?;
    if !TYPES.contains(&key_type) {
        return None;
    }
    let blob = words.next()?;
    let comment = words.collect::<Vec<_>>().join(" ");
    Some(AuthKey {
        user: user.to_string(),
        file: file.to_string(),
        line: line_no,
        key_type: key_type.to_string(),
        bits: bits(key_type, blob),
        fingerprint: fingerprint(blob)?,
        comment: crate::util::excerpt(&comment, 200),
        options: crate::util::excerpt(&options, 400),
        key: blob.to_string(),
    })
}

/// A public key line (`ssh-ed25519 AAAA… comment`) or a fingerprint
/// (`SHA256:…`) → the fingerprint.
pub fn fingerprint_of_input(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(f) = s.strip_prefix("SHA256:") {
        return (!f.is_empty()).then(|| format!("SHA256:{}", f.trim_end_matches('=')));
    }
    parse_line("", "", 0, s).map(|k| k.fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ssh-keygen -t ed25519 -C demo; `ssh-keygen -lf` says
    // 256 SHA256:Ej+/t2aHS4NOxRhTbiGTbsHNh2MlgM5A3QPkaQo0B5E demo (ED25519)
    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl demo";

    #[test]
    fn lines_with_options_comments_and_garbage() {
        let k = parse_line("root", "/root/.ssh/authorized_keys", 3, ED).unwrap();
        assert_eq!(k.key_type, "ssh-ed25519");
        assert_eq!(k.bits, Some(256));
        assert!(k.fingerprint.starts_with("SHA256:"));
        assert!(!k.fingerprint.ends_with('='));
        assert_eq!(k.comment, "demo");
        let o = parse_line(
            "root",
            "f",
            1,
            &format!("from=\"10.0.0.0/8,192.168.1.1\",command=\"echo a b\",no-pty {ED}"),
        )
        .unwrap();
        assert_eq!(
            o.options,
            "from=\"10.0.0.0/8,192.168.1.1\",command=\"echo a b\",no-pty"
        );
        assert_eq!(o.fingerprint, k.fingerprint);
        assert!(parse_line("u", "f", 1, "# ssh-ed25519 AAAA x").is_none());
        assert!(parse_line("u", "f", 1, "garbage here").is_none());
        assert!(parse_line("u", "f", 1, "ssh-ed25519 !!!notbase64").is_none());
        assert_eq!(fingerprint_of_input(ED), Some(k.fingerprint.clone()));
        assert_eq!(fingerprint_of_input(&k.fingerprint), Some(k.fingerprint));
    }
}
