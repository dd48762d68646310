//! The probe's output format, shared by every probe opsdeck sends (the
//! check's, and any other one-round-trip probe): sections opened by
//! `@@opsdeck NAME` lines, `NAME.rc` sections with exit codes, an `end`
//! marker, and the engine's truncation mark where the output cap cut it.
//! Pure; never panics.

use std::fmt;

/// A section of the probe output (or a listing) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The probe section (`disks`, `list.apt`, ...), or `probe` for the whole output.
    pub section: String,
    pub message: String,
}

impl ParseError {
    /// The message is cut at 300 characters: it quotes remote text, and a
    /// host's 10 MB line must not travel into the state and the journal.
    pub fn new(section: &str, message: impl Into<String>) -> ParseError {
        ParseError {
            section: crate::util::excerpt(section, 64),
            message: crate::util::excerpt(&message.into(), 300),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read the probe's `{}` section: {}",
            self.section, self.message
        )
    }
}

impl std::error::Error for ParseError {}

const MARK: &str = "@@opsdeck ";

/// The probe output split into named sections, in order.
#[derive(Debug, Clone, Default)]
pub struct Sections<'a> {
    pub list: Vec<(&'a str, Vec<&'a str>)>,
    /// Sections left out because the output was cut in them (by the output
    /// cap, or without the end marker: a timeout, a dying connection), with why.
    pub cut: Vec<(&'a str, String)>,
    /// The output cap dropped part of the output (how many bytes): a
    /// section not found may have been in it.
    pub capped: Option<String>,
}

impl<'a> Sections<'a> {
    /// Split on `@@opsdeck NAME` lines. Text before the first marker (a noisy
    /// shell start-up file) is ignored. Requires the `probe` header: without
    /// it the output is not the probe's. Without the `end` marker the output
    /// was cut: the sections before the last are whole and kept, the last
    /// one is left out and named in [`Sections::truncated`].
    pub fn split(text: &'a str) -> Result<Sections<'a>, ParseError> {
        let mut list: Vec<(&'a str, Vec<&'a str>)> = Vec::new();
        let mut ended = false;
        let mut cut: Vec<(&'a str, String)> = Vec::new();
        let mut capped = None;
        // after a truncation mark: the lines up to the next marker belong to
        // a section whose start was dropped
        let mut skipping = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(MARK) {
                skipping = false;
                let name = rest.split_whitespace().next().unwrap_or("");
                if name == "end" {
                    ended = true;
                    break;
                }
                if name == "probe" {
                    let version = rest.split_whitespace().nth(1).unwrap_or("");
                    if version != "1" {
                        return Err(ParseError::new(
                            "probe",
                            format!("unknown probe version `{version}`"),
                        ));
                    }
                }
                list.push((name, Vec::new()));
            } else if let Some(dropped) = line.strip_prefix(crate::ssh::capture::TRUNCATION_MARK) {
                // the output was capped in the middle of this section
                let n = dropped.split_whitespace().next().unwrap_or("?");
                let why = format!("output over the cap ({n} bytes dropped)");
                match list.pop() {
                    // the cut went through a marker line: its name may be
                    // half a name, and the section before it was whole
                    Some((_, lines)) if lines.is_empty() => cut.push(("probe", why)),
                    Some((name, _)) => cut.push((name, why)),
                    None => {}
                }
                capped = Some(n.to_string());
                skipping = true;
            } else if skipping {
                continue;
            } else if let Some((_, lines)) = list.last_mut() {
                lines.push(line);
            }
        }
        match list.first() {
            Some(("probe", _)) => {}
            _ => {
                return Err(ParseError::new(
                    "probe",
                    "no probe output (the remote shell printed something else or nothing)",
                ))
            }
        }
        if !ended {
            let last = list.last().map(|(n, _)| *n).unwrap_or("probe");
            if list.len() <= 2 && cut.is_empty() {
                // nothing whole came before the cut: not a report at all
                return Err(ParseError::new(last, "output truncated (no end marker)"));
            }
            list.pop();
            cut.push((
                last,
                "output truncated (no end marker); the sections after it are unknown".into(),
            ));
        }
        Ok(Sections { list, cut, capped })
    }

    /// Why a section is not there: cut by the output cap or the end of the
    /// output (the reason), else "section missing".
    pub fn missing(&self, name: &str) -> String {
        self.cut
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, why)| why.clone())
            .or_else(|| {
                self.capped
                    .as_ref()
                    .map(|n| format!("lost in the output dropped over the cap ({n} bytes)"))
            })
            .unwrap_or_else(|| "section missing".into())
    }

    /// Lines of a section; None when the probe did not print it.
    pub fn get(&self, name: &str) -> Option<&[&'a str]> {
        self.list
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.as_slice())
    }

    /// The exit code recorded in `NAME.rc`.
    pub fn rc(&self, name: &str) -> Result<Option<i32>, ParseError> {
        let key = format!("{name}.rc");
        match self.get(&key) {
            None => Ok(None),
            Some(lines) => {
                let v = lines
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.is_empty())
                    .ok_or_else(|| ParseError::new(&key, "no exit code"))?;
                v.parse::<i32>()
                    .map(Some)
                    .map_err(|_| ParseError::new(&key, format!("`{v}` is not an exit code")))
            }
        }
    }
}

/// The first word of a section's first non-blank line.
pub fn first_word<'a>(lines: &[&'a str]) -> &'a str {
    lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("")
}
