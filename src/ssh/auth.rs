//! Authentication: the agent first (every identity, filtered by IdentityFile
//! when IdentitiesOnly), then key files. Encrypted keys are detected here and
//! never prompted for.

use std::path::{Path, PathBuf};

use openssl::base64;
use ssh2::Session;

use super::SshError;

/// OpenSSH sshd's default MaxAuthTries.
pub const MAX_AUTH_TRIES: usize = 6;

/// Is this private key file protected by a passphrase? (OpenSSH format names
/// its cipher; PEM carries `Proc-Type: 4,ENCRYPTED`; PKCS#8 says ENCRYPTED.)
pub fn is_encrypted(text: &str) -> bool {
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return true;
    }
    if let Some(body) = openssh_body(text) {
        if let Some(cipher) = openssh_field(&body, 0) {
            return cipher != b"none";
        }
    }
    false
}

fn openssh_body(text: &str) -> Option<Vec<u8>> {
    let start = text.find("-----BEGIN OPENSSH PRIVATE KEY-----")?;
    let rest = &text[start + "-----BEGIN OPENSSH PRIVATE KEY-----".len()..];
    let end = rest.find("-----END OPENSSH PRIVATE KEY-----")?;
    let b64: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let raw = base64::decode_block(&b64).ok()?;
    raw.strip_prefix(b"openssh-key-v1\0").map(|r| r.to_vec())
}

/// The n-th SSH string of a buffer (cipher, kdf, kdfoptions, ...).
fn openssh_field(buf: &[u8], n: usize) -> Option<&[u8]> {
    let mut pos = 0;
    for i in 0..=n {
        let len = u32::from_be_bytes(buf.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let s = buf.get(pos + 4..pos + 4 + len)?;
        if i == n {
            return Some(s);
        }
        pos += 4 + len;
    }
    None
}

/// The public key blob of a key file: from `FILE.pub`, else from the
/// unencrypted header of an OpenSSH-format private key.
pub fn public_blob(file: &Path) -> Option<Vec<u8>> {
    let mut pubfile = file.as_os_str().to_owned();
    pubfile.push(".pub");
    if let Ok(text) = std::fs::read_to_string(PathBuf::from(pubfile)) {
        let b64 = text.split_whitespace().nth(1)?;
        return base64::decode_block(b64).ok();
    }
    let text = std::fs::read_to_string(file).ok()?;
    let body = openssh_body(&text)?;
    // cipher, kdfname, kdfoptions, then uint32 nkeys, then the first public key
    let mut pos = 0;
    for _ in 0..3 {
        let len = u32::from_be_bytes(body.get(pos..pos + 4)?.try_into().ok()?) as usize;
        pos += 4 + len;
    }
    pos += 4;
    let len = u32::from_be_bytes(body.get(pos..pos + 4)?.try_into().ok()?) as usize;
    body.get(pos + 4..pos + 4 + len).map(|b| b.to_vec())
}

/// Where the agent is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AgentChoice {
    /// `SSH_AUTH_SOCK` of the environment (none when unset).
    Env,
    /// This socket.
    Socket(PathBuf),
    /// No agent: key files only.
    Off,
}

/// The public key blobs an agent offers (none when there is no agent).
pub fn agent_blobs(choice: &AgentChoice) -> Vec<Vec<u8>> {
    if matches!(choice, AgentChoice::Off)
        || (matches!(choice, AgentChoice::Env) && std::env::var_os("SSH_AUTH_SOCK").is_none())
    {
        return Vec::new();
    }
    let Ok(sess) = Session::new() else {
        return Vec::new();
    };
    let Ok(mut agent) = sess.agent() else {
        return Vec::new();
    };
    if let AgentChoice::Socket(p) = choice {
        if agent.set_identity_path(p).is_err() {
            return Vec::new();
        }
    }
    if agent.connect().is_err() || agent.list_identities().is_err() {
        return Vec::new();
    }
    let blobs = agent
        .identities()
        .unwrap_or_default()
        .iter()
        .map(|k| k.blob().to_vec())
        .collect();
    let _ = agent.disconnect();
    blobs
}

fn code(e: &ssh2::Error) -> i32 {
    match e.code() {
        ssh2::ErrorCode::Session(c) => c,
        ssh2::ErrorCode::SFTP(c) => c,
    }
}

/// The session died mid-authentication (MaxAuthTries reached, or the server left).
fn is_fatal(e: &ssh2::Error) -> bool {
    matches!(code(e), -13 | -7 | -43 | -9 | -2 | -1 | -45)
}

/// Authenticate `user` on a handshaken session.
pub fn authenticate(
    sess: &Session,
    user: &str,
    identity_files: &[PathBuf],
    identities_only: bool,
    agent: &AgentChoice,
) -> Result<(), SshError> {
    let methods = match sess.auth_methods(user) {
        Ok(m) => m.to_string(),
        Err(e) => {
            if sess.authenticated() {
                return Ok(());
            }
            return Err(super::io::translate(
                &e,
                "asking for authentication methods",
            ));
        }
    };
    if sess.authenticated() {
        return Ok(());
    }
    if !methods.split(',').any(|m| m == "publickey") {
        return Err(SshError::Auth(format!(
            "as {user}: the server allows only {methods}; opsdeck logs in with keys (agent or key files) only"
        )));
    }
    let wanted: Vec<(PathBuf, Option<Vec<u8>>)> = identity_files
        .iter()
        .map(|f| (f.clone(), public_blob(f)))
        .collect();
    let mut attempts = 0usize;
    let mut notes: Vec<String> = Vec::new();
    let mut encrypted_notes: Vec<String> = Vec::new();
    let mut agent_blobs: Vec<Vec<u8>> = Vec::new();

    // 1. the agent
    if !matches!(agent, AgentChoice::Off) {
        match try_agent(sess, user, &wanted, identities_only, agent, &mut attempts) {
            Ok(AgentOutcome::Authenticated) => return Ok(()),
            Ok(AgentOutcome::Tried { blobs, note }) => {
                agent_blobs = blobs;
                if let Some(n) = note {
                    notes.push(n);
                }
            }
            Err(e) => return Err(e),
        }
    }

    // 2. key files
    for (file, blob) in &wanted {
        if attempts >= MAX_AUTH_TRIES {
            notes.push(format!(
                "stopped after {MAX_AUTH_TRIES} attempts (the server's MaxAuthTries)"
            ));
            break;
        }
        if blob.as_ref().is_some_and(|b| agent_blobs.contains(b)) {
            continue; // the agent offered this key already
        }
        let text = match std::fs::read(file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                notes.push(format!("key {} unreadable: {e}", file.display()));
                continue;
            }
        };
        if is_encrypted(&text) {
            encrypted_notes.push(format!(
                "key {} is encrypted and no agent holds it: ssh-add it",
                file.display()
            ));
            continue;
        }
        attempts += 1;
        match sess.userauth_pubkey_file(user, None, file, None) {
            Ok(()) if sess.authenticated() => {
                tracing::debug!("authenticated as {user} with key {}", file.display());
                return Ok(());
            }
            Ok(()) => notes.push(format!("key {} refused", file.display())),
            Err(e) if is_fatal(&e) => {
                notes.push(format!(
                    "the server closed the connection after {attempts} attempts"
                ));
                break;
            }
            Err(e) => match code(&e) {
                -16 => notes.push(format!(
                    "key {} could not be used (unsupported format or a passphrase)",
                    file.display()
                )),
                _ => notes.push(format!("key {} refused by the server", file.display())),
            },
        }
    }
    encrypted_notes.extend(notes);
    if encrypted_notes.is_empty() {
        encrypted_notes.push(format!(
            "no agent identity and no key file to try (looked for {})",
            identity_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Err(SshError::Auth(format!(
        "as {user}: {}",
        encrypted_notes.join("; ")
    )))
}

enum AgentOutcome {
    Authenticated,
    Tried {
        blobs: Vec<Vec<u8>>,
        note: Option<String>,
    },
}

fn try_agent(
    sess: &Session,
    user: &str,
    wanted: &[(PathBuf, Option<Vec<u8>>)],
    identities_only: bool,
    choice: &AgentChoice,
    attempts: &mut usize,
) -> Result<AgentOutcome, SshError> {
    let none = |note: Option<String>| {
        Ok(AgentOutcome::Tried {
            blobs: Vec::new(),
            note,
        })
    };
    match choice {
        AgentChoice::Env if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|s| s.is_empty()) => {
            return none(None)
        }
        AgentChoice::Socket(p) if !p.exists() => {
            return none(Some(format!("agent socket {} does not exist", p.display())))
        }
        _ => {}
    }
    let mut agent = match sess.agent() {
        Ok(a) => a,
        Err(e) => return none(Some(format!("agent unavailable: {e}"))),
    };
    if let AgentChoice::Socket(p) = choice {
        if let Err(e) = agent.set_identity_path(p) {
            return none(Some(format!("agent socket {}: {e}", p.display())));
        }
    }
    if let Err(e) = agent.connect() {
        return none(Some(format!("cannot reach the agent: {e}")));
    }
    if let Err(e) = agent.list_identities() {
        let _ = agent.disconnect();
        return none(Some(format!("the agent did not list its keys: {e}")));
    }
    let ids = agent.identities().unwrap_or_default();
    let is_wanted = |blob: &[u8]| wanted.iter().any(|(_, b)| b.as_deref() == Some(blob));
    let mut ordered: Vec<&ssh2::PublicKey> = ids.iter().filter(|k| is_wanted(k.blob())).collect();
    if !identities_only {
        ordered.extend(ids.iter().filter(|k| !is_wanted(k.blob())));
    }
    let total = ids.len();
    let mut tried = Vec::new();
    let mut note = None;
    for key in ordered {
        if *attempts >= MAX_AUTH_TRIES {
            break;
        }
        *attempts += 1;
        tried.push(key.blob().to_vec());
        match agent.userauth(user, key) {
            Ok(()) if sess.authenticated() => {
                let _ = agent.disconnect();
                tracing::debug!("authenticated as {user} with an agent key");
                return Ok(AgentOutcome::Authenticated);
            }
            Ok(()) => {}
            Err(e) if is_fatal(&e) => {
                note = Some(format!(
                    "the server closed the connection after {attempts} attempts",
                    attempts = *attempts
                ));
                break;
            }
            Err(_) => {}
        }
    }
    let _ = agent.disconnect();
    let n = tried.len();
    let note = note.or(Some(if total == 0 {
        "the agent holds no keys".to_string()
    } else if n == 0 {
        format!("none of the agent's {total} keys is an IdentityFile (IdentitiesOnly)")
    } else {
        format!(
            "{} refused",
            crate::util::plural(n, "agent key", "agent keys")
        )
    }));
    Ok(AgentOutcome::Tried { blobs: tried, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keygen(dir: &Path, name: &str, pass: &str, kind: &str, extra: &[&str]) -> PathBuf {
        let p = dir.join(name);
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", pass, "-f"])
            .arg(&p)
            .args(extra)
            .status()
            .unwrap();
        assert!(st.success());
        p
    }

    #[test]
    fn detects_encrypted_keys() {
        let d = tempfile::tempdir().unwrap();
        let plain = keygen(d.path(), "plain", "", "ed25519", &[]);
        let enc = keygen(d.path(), "enc", "secret", "ed25519", &[]);
        let pem = keygen(
            d.path(),
            "pem",
            "secret",
            "rsa",
            &["-b", "1024", "-m", "PEM"],
        );
        let pem_plain = keygen(d.path(), "pemp", "", "rsa", &["-b", "1024", "-m", "PEM"]);
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
        assert!(!is_encrypted(&read(&plain)));
        assert!(is_encrypted(&read(&enc)));
        assert!(is_encrypted(&read(&pem)));
        assert!(!is_encrypted(&read(&pem_plain)));
        assert!(!is_encrypted("garbage"));

        // the public blob comes from .pub, or from the private key's header
        let from_pub = public_blob(&enc).unwrap();
        std::fs::remove_file(enc.with_extension("pub")).unwrap_or(());
        let mut pubp = enc.as_os_str().to_owned();
        pubp.push(".pub");
        let _ = std::fs::remove_file(PathBuf::from(pubp));
        assert_eq!(public_blob(&enc).unwrap(), from_pub);
        assert_eq!(
            crate::ssh::known_hosts::key_type_of_blob(&from_pub).as_deref(),
            Some("ssh-ed25519")
        );
    }
}
