//! zypper (SUSE, openSUSE): `list-updates` is the listing, needed
//! security patches the security count, `--dry-run --details` the
//! simulation; exit codes 100-106 carry meaning (102: reboot needed, 103:
//! zypper updated itself, run again).

use super::{
    listing_section, strs, tool_error, Ask, Change, ChangeKind, Driver, Listing, Manager, Outcome,
    Simulation,
};
use crate::model::Update;
use crate::sections::{ParseError, Sections};

/// The zypper driver.
pub struct Zypper;

impl Driver for Zypper {
    fn probe_stamp(&self) -> &'static str {
        r#"    zypper) meta="/var/cache/zypp/raw/*/repodata/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages /etc/zypp/repos.d /var/cache/zypp/solv /etc/zypp/locks" ;;
"#
    }
    fn probe_listing(&self) -> &'static str {
        r#"        zypper)
            echo "@@opsdeck list.zypper"
            $T zypper --non-interactive --no-refresh list-updates 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.zypper.rc"
            echo "$rc"
            echo "@@opsdeck security.zypper"
            $T zypper --non-interactive --no-refresh list-patches --category security 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "security.zypper.rc"
            echo "$rc" ;;
"#
    }
    fn listing(&self, _m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError> {
        let (text, rc, list_name) = listing_section(s, "zypper")?;
        if rc != 0 {
            return Ok(Err(tool_error("zypper", rc, &text)));
        }
        let updates =
            parse_zypper_list_updates(&text).map_err(|m| ParseError::new(&list_name, m))?;
        let sec = match (s.get("security.zypper"), s.rc("security.zypper")?) {
            (Some(l), Some(0)) => Some(
                parse_zypper_patches(&l.join("\n"))
                    .map_err(|m| ParseError::new("security.zypper", m))?,
            ),
            _ => None,
        };
        Ok(Ok(Listing {
            updates,
            kept_back: Vec::new(),
            security_count: sec,
            security_known: sec.is_some(),
        }))
    }
    fn refresh(&self, _m: Manager) -> (bool, Vec<String>) {
        (true, strs(&["zypper", "--non-interactive", "refresh"]))
    }
    fn upgrade(&self, _m: Manager, sim: bool, ask: &Ask) -> Vec<String> {
        let mut argv = strs(&["zypper", "--non-interactive"]);
        if ask.security_only {
            argv.extend(strs(&["patch", "--category", "security"]));
        } else {
            argv.push("update".into());
        }
        argv.push("--details".into());
        if sim {
            argv.push("--dry-run".into());
        }
        if !ask.security_only {
            if let Some(pkgs) = &ask.packages {
                argv.extend(pkgs.iter().cloned());
            }
        }
        argv
    }
    fn reboot_probe(&self, _m: Manager) -> &'static str {
        "if [ -e /run/reboot-needed ]; then echo reboot=yes; \
         else LC_ALL=C zypper -q needs-rebooting >/dev/null 2>&1; rc=$?; \
         case $rc in 102) echo reboot=yes;; 0) echo reboot=no;; *) echo reboot=unknown;; esac; fi"
    }
    fn simulation(&self, _m: Manager, text: &str) -> Simulation {
        parse_zypper(text)
    }
    fn applied(&self, _m: Manager, text: &str) -> Vec<Change> {
        parse_zypper(text).changes
    }
    fn exit_meaning(
        &self,
        _m: Manager,
        _simulate: bool,
        code: i32,
        _output: &str,
    ) -> Option<Outcome> {
        match code {
            100 | 101 | 106 => Some(Outcome::Ok),
            102 => Some(Outcome::OkRebootNeeded),
            103 => Some(Outcome::OkRunAgain),
            _ => None,
        }
    }
}

/// The header cells and the data rows (the line and its cells) of a zypper
/// table (`a | b | c`); separator lines and the text around the table are
/// skipped. Cells are trimmed.
fn zypper_table(text: &str) -> (Vec<&str>, Vec<(&str, Vec<&str>)>) {
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.contains('|')) {
        let c: Vec<&str> = line.split('|').map(str::trim).collect();
        if c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == '+')) {
            continue;
        }
        if header.is_empty() {
            header = c;
        } else {
            rows.push((line.trim(), c));
        }
    }
    (header, rows)
}

/// `zypper list-updates`: `S | Repository | Name | Current Version | Available Version | Arch`.
pub fn parse_zypper_list_updates(text: &str) -> Result<Vec<Update>, String> {
    let (h, rows) = zypper_table(text);
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let idx = |name: &str| h.iter().position(|x| *x == name);
    let (Some(ni), Some(ci), Some(ai)) = (
        idx("Name"),
        idx("Current Version"),
        idx("Available Version"),
    ) else {
        return Err("list-updates table without Name/Current/Available columns".into());
    };
    let ri = idx("Repository");
    rows.into_iter()
        .map(|(line, c)| {
            if c.len() != h.len() {
                return Err(format!("cannot read `{line}`"));
            }
            Ok(Update {
                package: c[ni].to_string(),
                installed: Some(c[ci].to_string()).filter(|s| !s.is_empty()),
                candidate: c[ai].to_string(),
                origin: ri.map(|i| c[i].to_string()),
                security: None,
            })
        })
        .collect()
}

/// `zypper list-patches --category security`: rows whose Status is `needed`.
pub fn parse_zypper_patches(text: &str) -> Result<u32, String> {
    let (h, rows) = zypper_table(text);
    if rows.is_empty() {
        return Ok(0);
    }
    let Some(si) = h.iter().position(|x| *x == "Status") else {
        return Err("list-patches table without a Status column".into());
    };
    let mut n = 0;
    for (line, c) in rows {
        // The Summary column may itself hold a `|`: more cells is fine.
        if c.len() < h.len() {
            return Err(format!("cannot read `{line}`"));
        }
        if c[si] == "needed" {
            n += 1;
        }
    }
    Ok(n)
}

/// `zypper --non-interactive update|patch --details [--dry-run]`: the summary
/// blocks ("The following N packages are going to be upgraded:" ...), whose
/// rows with `--details` read `NAME  OLD -> NEW  ARCH  REPO ...`.
pub fn parse_zypper(text: &str) -> Simulation {
    #[derive(Clone, Copy, PartialEq)]
    enum Block {
        Changes(ChangeKind),
        KeptBack,
        Ignore,
    }
    let mut sim = Simulation::default();
    let mut block: Option<Block> = None;
    for raw in text.lines() {
        let l = raw.trim_end();
        let t = l.trim();
        if t.starts_with("The following") && t.ends_with(':') {
            block = Some(
                if t.contains("will NOT be installed") || t.contains("not going to be") {
                    Block::KeptBack
                } else if t.contains("going to be upgraded") {
                    Block::Changes(ChangeKind::Upgrade)
                } else if t.contains("going to be downgraded") {
                    Block::Changes(ChangeKind::Downgrade)
                } else if t.contains("going to be REMOVED") {
                    Block::Changes(ChangeKind::Remove)
                } else if t.contains("NEW package") && t.contains("going to be installed") {
                    Block::Changes(ChangeKind::Install)
                } else {
                    Block::Ignore
                },
            );
            continue;
        }
        if t.is_empty() || !l.starts_with(' ') {
            block = None;
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let kind = match block {
            None | Some(Block::Ignore) => continue,
            Some(Block::KeptBack) => {
                // details rows start with the name; plain rows are names only
                if words
                    .get(1)
                    .is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                {
                    sim.kept_back.push(words[0].to_string());
                } else {
                    sim.kept_back.extend(words.iter().map(|s| s.to_string()));
                }
                continue;
            }
            Some(Block::Changes(k)) => k,
        };
        if let Some(i) = words.iter().position(|w| *w == "->") {
            if i >= 2 {
                sim.changes.push(Change {
                    package: words[0].to_string(),
                    kind,
                    from: Some(words[i - 1].to_string()),
                    to: words.get(i + 1).map(|s| s.to_string()),
                    origin: None,
                    security: None,
                });
            }
            continue;
        }
        if words.len() >= 2 && words[1].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            // details row of a new/removed package: NAME VERSION ARCH REPO
            let v = Some(words[1].to_string());
            let (from, to) = if kind == ChangeKind::Remove {
                (v, None)
            } else {
                (None, v)
            };
            sim.changes.push(Change {
                package: words[0].to_string(),
                kind,
                from,
                to,
                origin: None,
                security: None,
            });
        } else {
            // without --details: names only
            for w in words {
                sim.changes.push(Change {
                    package: w.to_string(),
                    kind,
                    from: None,
                    to: None,
                    origin: None,
                    security: None,
                });
            }
        }
    }
    sim
}
