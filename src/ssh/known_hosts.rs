//! known_hosts, read in Rust: hashed entries (`|1|salt|hmac`, HMAC-SHA1),
//! `[host]:port`, plain names, comma lists, `*`/`?` patterns with `!`
//! negation, `@revoked` (refused) and `@cert-authority` (ignored, logged).
//! A malformed line is skipped with a log note, never fatal. New keys are
//! recorded by appending one line; nothing here rewrites an existing line.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use openssl::base64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    None,
    Revoked,
    CertAuthority,
}

#[derive(Debug, Clone, PartialEq)]
enum HostField {
    /// `|1|salt|hmac`
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// Comma-separated patterns.
    Patterns(Vec<String>),
}

/// One usable line of a known_hosts file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    pub marker: Marker,
    hosts: HostField,
    /// The key type written on the line (`ssh-ed25519`...).
    pub key_type: String,
    pub key_blob: Vec<u8>,
}

/// Parse a known_hosts text. Returns the entries and one note per skipped line.
pub fn parse(text: &str, file: &Path) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok((marker, hosts, key_type, key_blob)) => entries.push(Entry {
                file: file.to_path_buf(),
                line: i + 1,
                marker,
                hosts,
                key_type,
                key_blob,
            }),
            Err(e) => notes.push(format!("{}:{}: {e}; line skipped", file.display(), i + 1)),
        }
    }
    (entries, notes)
}

fn parse_line(line: &str) -> Result<(Marker, HostField, String, Vec<u8>), String> {
    let mut words = line.split_whitespace();
    let mut first = words.next().ok_or("empty line")?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return Err(format!("unknown marker {m}")),
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = words.next().ok_or("marker without host patterns")?;
    }
    let hosts = if let Some(rest) = first.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|').ok_or("bad hashed host field")?;
        let salt = base64::decode_block(salt).map_err(|_| "bad salt in hashed host field")?;
        let hash = base64::decode_block(hash).map_err(|_| "bad hash in hashed host field")?;
        if hash.len() != 20 {
            return Err("bad hash length in hashed host field".into());
        }
        HostField::Hashed { salt, hash }
    } else if first.starts_with('|') {
        return Err("unsupported hashed host format".into());
    } else {
        HostField::Patterns(
            first
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.to_ascii_lowercase())
                .collect(),
        )
    };
    let key_type = words.next().ok_or("no key type")?.to_string();
    let b64 = words.next().ok_or("no key")?;
    let key_blob = base64::decode_block(b64).map_err(|_| "key is not base64")?;
    if key_type_of_blob(&key_blob).as_deref() != Some(key_type.as_str()) {
        return Err(format!("key does not match its type {key_type}"));
    }
    Ok((marker, hosts, key_type, key_blob))
}

/// The type name inside a public key blob (its first SSH string).
pub fn key_type_of_blob(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4 + len)?;
    String::from_utf8(name.to_vec()).ok()
}

/// The name OpenSSH looks a host up by: `host`, or `[host]:port` off port 22.
pub fn host_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// OpenSSH's `match_pattern`: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let pkey = openssl::pkey::PKey::hmac(key).ok()?;
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &pkey).ok()?;
    signer.update(data).ok()?;
    signer.sign_to_vec().ok()
}

impl Entry {
    /// Does this line name `name` (as made by [`host_name`])?
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        match &self.hosts {
            HostField::Hashed { salt, hash } => {
                hmac_sha1(salt, name.as_bytes()).is_some_and(|h| &h == hash)
            }
            HostField::Patterns(pats) => {
                let mut positive = false;
                for p in pats {
                    if let Some(neg) = p.strip_prefix('!') {
                        if glob(neg, &name) {
                            return false;
                        }
                    } else if glob(p, &name) {
                        positive = true;
                    }
                }
                positive
            }
        }
    }

    /// Key family for "same type" comparisons (ssh-rsa covers rsa-sha2-*).
    fn family(&self) -> &str {
        &self.key_type
    }
}

/// `SHA256:...` of a key blob, base64 without padding, as OpenSSH prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = openssl::sha::sha256(blob);
    let b64 = base64::encode_block(&digest);
    format!("SHA256:{}", b64.trim_end_matches('='))
}

/// What the known_hosts files say about a server key.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Match {
        file: PathBuf,
        line: usize,
    },
    Revoked {
        file: PathBuf,
        line: usize,
    },
    /// A key of the same type is recorded for this host, and it is another one.
    Changed {
        file: PathBuf,
        line: usize,
        known_fingerprint: String,
    },
    /// Nothing of this type is recorded; `other_types` are recorded types.
    Unknown {
        other_types: Vec<String>,
    },
}

/// Check `blob` (the server's key) for `name` against `entries`.
pub fn verify(entries: &[Entry], name: &str, blob: &[u8]) -> Verdict {
    let server_type = key_type_of_blob(blob).unwrap_or_default();
    let mut changed = None;
    let mut matched = None;
    let mut other_types: Vec<String> = Vec::new();
    for e in entries {
        if e.marker == Marker::CertAuthority || !e.matches(name) {
            continue;
        }
        if e.marker == Marker::Revoked {
            if e.key_blob == blob {
                return Verdict::Revoked {
                    file: e.file.clone(),
                    line: e.line,
                };
            }
            continue;
        }
        if e.key_blob == blob {
            matched.get_or_insert((e.file.clone(), e.line));
        } else if e.family() == server_type {
            changed.get_or_insert((e.file.clone(), e.line, fingerprint(&e.key_blob)));
        } else if !other_types.contains(&e.key_type) {
            other_types.push(e.key_type.clone());
        }
    }
    if let Some((file, line)) = matched {
        return Verdict::Match { file, line };
    }
    if let Some((file, line, known_fingerprint)) = changed {
        return Verdict::Changed {
            file,
            line,
            known_fingerprint,
        };
    }
    Verdict::Unknown { other_types }
}

/// Key types recorded (not revoked) for `name`, in file order.
pub fn known_types(entries: &[Entry], name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        if e.marker == Marker::None && e.matches(name) && !out.contains(&e.key_type) {
            out.push(e.key_type.clone());
        }
    }
    out
}

/// Load every file (a missing file is empty); notes for skipped lines and
/// `@cert-authority` lines are logged.
pub fn load(files: &[PathBuf]) -> Vec<Entry> {
    let mut all = Vec::new();
    for f in files {
        let text = match fs::read(f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!("cannot read known_hosts {}: {e}", f.display());
                continue;
            }
        };
        let (entries, notes) = parse(&text, f);
        for n in notes {
            tracing::warn!("{n}");
        }
        for e in &entries {
            if e.marker == Marker::CertAuthority {
                tracing::info!(
                    "{}:{}: @cert-authority line ignored (host certificates are not supported)",
                    e.file.display(),
                    e.line
                );
            }
        }
        all.extend(entries);
    }
    all
}

/// libssh2 host-key method names for a known_hosts key type.
pub fn methods_for_type(key_type: &str) -> &'static [&'static str] {
    match key_type {
        "ssh-ed25519" => &["ssh-ed25519"],
        "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        "ecdsa-sha2-nistp256" => &["ecdsa-sha2-nistp256"],
        "ecdsa-sha2-nistp384" => &["ecdsa-sha2-nistp384"],
        "ecdsa-sha2-nistp521" => &["ecdsa-sha2-nistp521"],
        "ssh-dss" => &["ssh-dss"],
        _ => &[],
    }
}

/// Append `NAME KEYTYPE BASE64` to `file` (created 0600, its directory 0700,
/// when missing). Adds a newline first when the file does not end with one.
pub fn append(file: &Path, name: &str, key_type: &str, key_base64: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    let needs_newline = match fs::read(file) {
        Ok(b) => !b.is_empty() && !b.ends_with(b"\n"),
        Err(_) => false,
    };
    let mut f = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)?;
    let mut line = String::new();
    if needs_newline {
        line.push('\n');
    }
    line.push_str(&format!("{name} {key_type} {key_base64}\n"));
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIDBEGe8WQi23bq0ZcvuUPdeXm1533lPZ/Mww+fQ9MKw1";
    const ED2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAINi4i6cTihbVnHpoFjDVLWnmfWggWBaO3NuJBhBLw7z1";
    const RSA_HEAD: &str = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCkJm6rA10+BdIW2Qqr";

    fn blob(b64: &str) -> Vec<u8> {
        base64::decode_block(b64).unwrap()
    }
    fn load_text(t: &str) -> Vec<Entry> {
        parse(t, Path::new("kh")).0
    }

    #[test]
    fn plain_ports_and_lists() {
        let e = load_text(&format!(
            "# comment\nweb1,10.0.0.1 ssh-ed25519 {ED}\n[db]:2222 ssh-ed25519 {ED2} comment here\n"
        ));
        assert_eq!(e.len(), 2);
        assert!(matches!(
            verify(&e, "web1", &blob(ED)),
            Verdict::Match { line: 2, .. }
        ));
        assert!(matches!(
            verify(&e, "10.0.0.1", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, &host_name("db", 2222), &blob(ED2)),
            Verdict::Match { line: 3, .. }
        ));
        // [db]:2222 does not cover port 22, and vice versa
        assert!(matches!(
            verify(&e, "db", &blob(ED2)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            verify(&e, &host_name("web1", 2200), &blob(ED)),
            Verdict::Unknown { .. }
        ));
        assert_eq!(host_name("Web1", 22), "web1");
        assert_eq!(host_name("127.0.0.5", 2022), "[127.0.0.5]:2022");
    }

    #[test]
    fn changed_and_other_types() {
        let e = load_text(&format!("web1 ssh-ed25519 {ED}\n"));
        match verify(&e, "web1", &blob(ED2)) {
            Verdict::Changed {
                line,
                known_fingerprint,
                ..
            } => {
                assert_eq!(line, 1);
                assert_eq!(known_fingerprint, fingerprint(&blob(ED)));
            }
            v => panic!("{v:?}"),
        }
        // a recorded ed25519 key says nothing about an RSA offer: unknown, with a note
        let mut rsa = blob(RSA_HEAD);
        rsa.extend_from_slice(&[1, 2, 3]);
        match verify(&e, "web1", &rsa) {
            Verdict::Unknown { other_types } => assert_eq!(other_types, ["ssh-ed25519"]),
            v => panic!("{v:?}"),
        }
        assert_eq!(known_types(&e, "web1"), ["ssh-ed25519"]);
        assert!(known_types(&e, "web2").is_empty());
    }

    #[test]
    fn hashed_entry() {
        // produced by `ssh-keygen -H` for "[127.0.0.9]:2222"
        let salt = base64::encode_block(b"0123456789abcdefghij");
        let hash =
            base64::encode_block(&hmac_sha1(b"0123456789abcdefghij", b"[127.0.0.9]:2222").unwrap());
        let e = load_text(&format!("|1|{salt}|{hash} ssh-ed25519 {ED}\n"));
        assert_eq!(e.len(), 1);
        assert!(matches!(
            verify(&e, "[127.0.0.9]:2222", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, "127.0.0.9", &blob(ED)),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn known_hashed_vector() {
        // A real line from `ssh-keygen -H` (host "example.org").
        let line = "|1|UqmTEIqiQSj8mKJol/o3X3f4+yQ=|m0PZqP+NzYeV0CL/NYKimDtHPd8= ssh-ed25519 ";
        let e = load_text(&format!("{line}{ED}\n"));
        assert_eq!(e.len(), 1);
        assert!(matches!(
            verify(&e, "example.org", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, "example.com", &blob(ED)),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn patterns_and_negation() {
        let e = load_text(&format!(
            "*.example.org,!bad.example.org,10.1.?.1 ssh-ed25519 {ED}\n"
        ));
        assert!(matches!(
            verify(&e, "a.example.org", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, "A.Example.ORG", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, "10.1.5.1", &blob(ED)),
            Verdict::Match { .. }
        ));
        assert!(matches!(
            verify(&e, "10.1.55.1", &blob(ED)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            verify(&e, "bad.example.org", &blob(ED)),
            Verdict::Unknown { .. }
        ));
        assert!(matches!(
            verify(&e, "example.org", &blob(ED)),
            Verdict::Unknown { .. }
        ));
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("[h]:22*", "[h]:2222"));
    }

    #[test]
    fn revoked_and_cert_authority() {
        let e = load_text(&format!(
            "@revoked * ssh-ed25519 {ED}\nweb1 ssh-ed25519 {ED}\n@cert-authority *.example.org ssh-ed25519 {ED2}\n"
        ));
        assert_eq!(e.len(), 3);
        assert!(matches!(
            verify(&e, "web1", &blob(ED)),
            Verdict::Revoked { line: 1, .. }
        ));
        // a CA line is not a host key
        assert!(matches!(
            verify(&e, "x.example.org", &blob(ED2)),
            Verdict::Unknown { .. }
        ));
        assert_eq!(known_types(&e, "x.example.org"), Vec::<String>::new());
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = format!(
            "garbage\nweb0 ssh-ed25519 !!notbase64!!\n@bogus h ssh-ed25519 {ED}\nweb1 ssh-rsa {ED}\n|1|x ssh-ed25519 {ED}\n|1|AAAA|AAAA ssh-ed25519 {ED}\n\nweb2 ssh-ed25519 {ED}\n"
        );
        let (e, notes) = parse(&text, Path::new("/k"));
        assert_eq!(e.len(), 1, "{notes:?}");
        assert_eq!(e[0].line, 8);
        assert_eq!(notes.len(), 6);
        assert!(notes[0].starts_with("/k:1:"), "{}", notes[0]);
    }

    #[test]
    fn fingerprint_format() {
        // ssh-keygen -lf prints this for the key ED
        assert_eq!(
            fingerprint(&blob(ED)),
            "SHA256:ndCB69aWEYvZ3X+KEA5ADpXN1ugYnuRb7R/oYwzVz2c"
        );
    }

    #[test]
    fn appending_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/known_hosts");
        append(&f, "[h]:2", "ssh-ed25519", ED).unwrap();
        assert_eq!(
            fs::read_to_string(&f).unwrap(),
            format!("[h]:2 ssh-ed25519 {ED}\n")
        );
        let g = dir.path().join("kh2");
        fs::write(&g, "# mine\nold ssh-ed25519 X").unwrap();
        append(&g, "new", "ssh-ed25519", ED).unwrap();
        assert_eq!(
            fs::read_to_string(&g).unwrap(),
            format!("# mine\nold ssh-ed25519 X\nnew ssh-ed25519 {ED}\n")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(text in "(\\PC|\n|\\||@|\\[|\\]|,|!|\\*){0,400}", name in "\\PC{0,40}") {
            let (entries, _) = parse(&text, Path::new("x"));
            let _ = verify(&entries, &name, name.as_bytes());
            let _ = known_types(&entries, &name);
            let _ = key_type_of_blob(text.as_bytes());
        }

        #[test]
        fn never_panics_on_config_text(text in "(\\PC|\n){0,400}") {
            let _ = crate::ssh::config::parse_ssh_g(&text);
            let _ = crate::ssh::config::parse_jump_chain(&text);
            let _ = crate::ssh::auth::is_encrypted(&text);
        }
    }
}
