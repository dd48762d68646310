//! dnf and yum (RHEL, Alma, Rocky, Fedora, CentOS): `check-update` is the
//! listing (exit 100: updates), `updateinfo list --security` tells security
//! updates apart where the repositories carry updateinfo, `--assumeno` is
//! the simulation, `needs-restarting -r` the reboot flag.

use std::collections::HashSet;

use super::{
    listing_section, strs, tool_error, Ask, Change, ChangeKind, Driver, Listing, Manager, Outcome,
    Simulation,
};
use crate::model::Update;
use crate::sections::{first_word, ParseError, Sections};

/// The dnf/yum driver.
pub struct Rpm;

impl Driver for Rpm {
    fn probe_stamp(&self) -> &'static str {
        r#"    dnf) meta="/var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages /etc/yum.repos.d /etc/dnf/dnf.conf /var/cache/dnf /var/cache/libdnf5" ;;
    yum) meta="/var/cache/yum/*/*/*/repomd.xml /var/cache/yum/*/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/Packages /etc/yum.repos.d /etc/yum.conf /var/cache/yum" ;;
"#
    }
    fn probe_listing(&self) -> &'static str {
        r#"        dnf|yum)
            echo "@@opsdeck list.$pm"
            $T "$pm" -q -C check-update 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.$pm.rc"
            echo "$rc"
            echo "@@opsdeck security.$pm"
            if [ "$pm" = yum ]; then
                $T yum -q -C updateinfo list security 2>&1
            else
                $T dnf -q -C updateinfo list --security 2>&1
            fi; rc=$?
            printf '\n@@opsdeck %s\n' "security.$pm.rc"
            echo "$rc"
            echo "@@opsdeck updateinfo"
            ui=absent
            for f in /var/cache/dnf/*/repodata/*updateinfo* /var/cache/libdnf5/*/repodata/*updateinfo* /var/cache/yum/*/*/*/*updateinfo* /var/cache/yum/*/*updateinfo*; do
                [ -e "$f" ] && ui=present && break
            done
            echo "$ui"
            echo "@@opsdeck needs-restarting"
            if have needs-restarting; then
                $T needs-restarting -r 2>&1; rc=$?
                printf '\n@@opsdeck %s\n' "needs-restarting.rc"
                echo "$rc"
            elif [ "$pm" = dnf ]; then
                $T dnf -q -C needs-restarting -r 2>&1; rc=$?
                printf '\n@@opsdeck %s\n' "needs-restarting.rc"
                echo "$rc"
            else
                echo "missing"
            fi ;;
"#
    }
    fn listing(&self, m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError> {
        let pm = m.name();
        let (text, rc, list_name) = listing_section(s, pm)?;
        // check-update: 100 updates, 0 none, 1 error.
        if rc != 0 && rc != 100 {
            return Ok(Err(tool_error(pm, rc, &text)));
        }
        let mut updates =
            parse_dnf_check_update(&text).map_err(|m| ParseError::new(&list_name, m))?;
        if rc == 100 && updates.is_empty() {
            return Err(ParseError::new(
                &list_name,
                "exit 100 (updates) but no update lines",
            ));
        }
        let sec_name = format!("security.{pm}");
        let sec_rc = s.rc(&sec_name)?;
        let updateinfo = s.get("updateinfo").map(first_word) == Some("present");
        let sec_known = match (s.get(&sec_name), sec_rc) {
            (Some(sec_lines), Some(0)) if updateinfo => {
                let names = parse_dnf_updateinfo(&sec_lines.join("\n"))
                    .map_err(|m| ParseError::new(&sec_name, m))?;
                mark_rpm_security(&mut updates, &names);
                true
            }
            _ => false,
        };
        Ok(Ok(Listing {
            updates,
            kept_back: Vec::new(),
            security_count: None,
            security_known: sec_known,
        }))
    }
    fn refresh(&self, m: Manager) -> (bool, Vec<String>) {
        (true, strs(&[m.name(), "-q", "-y", "makecache"]))
    }
    fn upgrade(&self, m: Manager, sim: bool, ask: &Ask) -> Vec<String> {
        let mut argv = vec![m.name().to_string()];
        argv.push(if sim { "--assumeno" } else { "-y" }.into());
        argv.push(
            if m == Manager::Dnf {
                "upgrade"
            } else {
                "update"
            }
            .into(),
        );
        if ask.security_only {
            argv.push("--security".into());
        }
        for h in &ask.holds {
            argv.push(format!("--exclude={h}"));
        }
        argv
    }
    fn reboot_probe(&self, _m: Manager) -> &'static str {
        "if command -v needs-restarting >/dev/null 2>&1; then o=$(LC_ALL=C needs-restarting -r 2>&1); \
         else o=$(LC_ALL=C dnf -q needs-restarting -r 2>&1); fi; \
         case \"$o\" in *'Reboot is required'*|*'Reboot should be'*) echo reboot=yes;; \
         *'should not be necessary'*) echo reboot=no;; *) echo reboot=unknown;; esac"
    }
    fn simulation(&self, _m: Manager, text: &str) -> Simulation {
        parse_dnf(text)
    }
    fn applied(&self, _m: Manager, text: &str) -> Vec<Change> {
        parse_dnf(text).changes
    }
    fn exit_meaning(
        &self,
        _m: Manager,
        simulate: bool,
        code: i32,
        output: &str,
    ) -> Option<Outcome> {
        // --assumeno answers "no" and exits 1.
        (simulate
            && code == 1
            && (output.contains("Operation aborted")
                || output.contains("Exiting on user command")
                || output.contains("Exiting on user cancel")))
        .then_some(Outcome::Ok)
    }
}

/// RPM architectures: a token `NAME.ARCH` with one of these is a package.
const RPM_ARCHES: &[&str] = &[
    "x86_64",
    "noarch",
    "i386",
    "i486",
    "i586",
    "i686",
    "athlon",
    "aarch64",
    "armv7hl",
    "armv6hl",
    "armhfp",
    "ppc64",
    "ppc64le",
    "ppc",
    "s390x",
    "s390",
    "riscv64",
    "loongarch64",
    "mips",
    "mipsel",
    "mips64el",
    "ia64",
    "sparc64",
    "alpha",
    "src",
    "nosrc",
];

/// `name.arch` with a known architecture.
fn is_name_arch(w: &str) -> bool {
    matches!(w.rsplit_once('.'), Some((n, a)) if !n.is_empty() && RPM_ARCHES.contains(&a))
}

/// `dnf|yum check-update`: `name.arch  [epoch:]version-release  repo`.
/// Long names wrap onto the next line(s). The `Obsoleting Packages` block
/// lists new packages that replace installed ones (pending, as yum itself
/// and Ansible's yum module count them) with the replaced package indented
/// under each (skipped). Every other line is a notice of yum/dnf or a
/// plugin (`Loaded plugins:` and its `: ...` continuation, `Plugin "x"
/// can't be imported`, subscription-manager and RHN messages, mirror lists,
/// `Security:` notes, in any language): skipped, whatever its words, since
/// only a line that starts with `name.arch` can be a package.
pub fn parse_dnf_check_update(text: &str) -> Result<Vec<Update>, String> {
    let mut out: Vec<Update> = Vec::new();
    let mut carry: Vec<String> = Vec::new();
    let mut obsoletes = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("Obsoleting Packages") {
            obsoletes = true;
            carry.clear();
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if carry.is_empty() {
            // the replaced package of an obsoletes pair: indented, installed (`@repo`)
            let indented = line.starts_with(char::is_whitespace);
            if !is_name_arch(words[0]) || (obsoletes && indented) {
                continue;
            }
        }
        carry.extend(words.iter().map(|w| w.to_string()));
        if carry.len() < 3 {
            continue; // wrapped: the version and repo come on the next line(s)
        }
        if carry.len() > 3 {
            return Err(format!(
                "cannot read `{}`",
                carry.join(" ").chars().take(200).collect::<String>()
            ));
        }
        let (na, evr, repo) = (&carry[0], &carry[1], &carry[2]);
        if !evr.contains('-') {
            return Err(format!("cannot read `{}`", carry.join(" ")));
        }
        out.push(Update {
            package: na.clone(),
            installed: None,
            candidate: evr.clone(),
            origin: Some(repo.clone()),
            // Known only once `updateinfo` answered (mark_rpm_security).
            security: None,
        });
        carry.clear();
    }
    if !carry.is_empty() {
        return Err(format!("truncated line `{}`", carry.join(" ")));
    }
    Ok(out)
}

/// `dnf -q updateinfo list --security` / `yum -q updateinfo list security`:
/// `RHSA-2019:0710 Important/Sec. python-2.7.5-77.el7_6.x86_64` → `name.arch` set.
pub fn parse_dnf_updateinfo(text: &str) -> Result<HashSet<String>, String> {
    let mut names = HashSet::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.is_empty()
            || line.starts_with("Last metadata")
            || line.starts_with("Loaded plugins")
            || line.starts_with("updateinfo list done")
        {
            continue;
        }
        if w.len() == 3 {
            let (name, _, arch) =
                split_nevra(w[2]).ok_or_else(|| format!("cannot read `{}`", w[2]))?;
            names.insert(format!("{name}.{arch}"));
        } else if w.len() < 3 {
            return Err(format!("cannot read `{}`", line.trim()));
        } else if let Some((name, _, arch)) = w[2..].iter().find_map(|t| split_nevra(t)) {
            // dnf5 `advisory list` table: the package column is further right.
            names.insert(format!("{name}.{arch}"));
        }
    }
    Ok(names)
}

/// Flag the updates whose `name.arch` has a security advisory.
pub fn mark_rpm_security(updates: &mut [Update], security: &HashSet<String>) {
    for u in updates {
        u.security = Some(security.contains(&u.package));
    }
}

/// Split an RPM `name-[epoch:]version-release.arch` into (name, evr, arch).
pub fn split_nevra(s: &str) -> Option<(String, String, String)> {
    let (rest, arch) = s.rsplit_once('.')?;
    let (rest, release) = rest.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() || arch.is_empty() {
        return None;
    }
    Some((
        name.to_string(),
        format!("{version}-{release}"),
        arch.to_string(),
    ))
}

fn dnf_section(header: &str) -> Option<Option<ChangeKind>> {
    let h = header.trim_end_matches(':').trim();
    let kind = match h {
        "Upgrading" | "Updating" | "Upgrading dependencies" | "Updating dependencies" => {
            ChangeKind::Upgrade
        }
        "Installing"
        | "Installing dependencies"
        | "Installing weak dependencies"
        | "Installing for dependencies"
        | "Installing group/module packages" => ChangeKind::Install,
        "Removing" | "Removing dependent packages" | "Removing unused dependencies" | "Erasing" => {
            ChangeKind::Remove
        }
        "Downgrading" => ChangeKind::Downgrade,
        // Sections we know and skip (Reinstalling, Obsoleting, Skipping...).
        _ => return Some(None),
    };
    Some(Some(kind))
}

/// The transaction table of `dnf/yum upgrade` (dnf4, dnf5 and yum layouts),
/// printed by both `--assumeno` and `-y`; from-versions come from dnf5's
/// `replacing` rows and, after an apply, from the `Cleanup`/`Upgraded` lines.
pub fn parse_dnf(text: &str) -> Simulation {
    let mut sim = Simulation::default();
    let mut section: Option<ChangeKind> = None;
    let mut in_table = false;
    let mut pending_name: Option<String> = None;
    let mut cleanup: Vec<(String, String, String)> = Vec::new();
    for raw in text.lines() {
        let l = raw.trim_end();
        let t = l.trim();
        if t.starts_with("Transaction Summary") || t.starts_with("Transaction Summary:") {
            in_table = false;
            section = None;
            continue;
        }
        // Section headers are unindented and end with ':' (dnf5: "Upgrading:").
        if !l.starts_with(' ') && t.ends_with(':') && !t.contains("  ") {
            if let Some(k) = dnf_section(t) {
                section = k;
                in_table = true;
                pending_name = None;
                continue;
            }
        }
        if t.starts_with("Cleanup") || t.starts_with("Cleaning up") {
            // "  Cleanup          : bash-5.2.26-1.fc40.x86_64     3/4"
            if let Some((_, r)) = t.split_once(':') {
                if let Some(w) = r.split_whitespace().next() {
                    if let Some(n) = split_nevra(w) {
                        cleanup.push(n);
                    }
                }
            }
            continue;
        }
        if !in_table || !l.starts_with(' ') || t.is_empty() {
            if in_table && !l.starts_with(' ') && !t.is_empty() && !t.starts_with('=') {
                // An unindented line that is no section: the table is over.
                if dnf_section(t).is_none() {
                    in_table = false;
                }
            }
            continue;
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if words.first() == Some(&"replacing") {
            // dnf5: "   replacing bash   x86_64   5.2.26-1.fc40   updates  8.1 MiB"
            // dnf4: "     replacing  bash.x86_64 5.2.26-1.fc40"
            let (name, ver) = match words.len() {
                n if n >= 4 => (words[1].to_string(), words[3].to_string()),
                3 => (
                    words[1]
                        .rsplit_once('.')
                        .map(|(n, _)| n)
                        .unwrap_or(words[1])
                        .to_string(),
                    words[2].to_string(),
                ),
                _ => continue,
            };
            if let Some(c) = sim.changes.iter_mut().rev().find(|c| c.package == name) {
                c.from = Some(ver);
            } else if let Some(c) = sim.changes.last_mut() {
                if c.from.is_none() {
                    c.from = Some(ver);
                }
            }
            continue;
        }
        let Some(kind) = section else {
            continue;
        };
        // A long name is printed alone, the rest of its row on the next line.
        let words: Vec<String> = match (&pending_name, words.len()) {
            (None, 1) => {
                pending_name = Some(words[0].to_string());
                continue;
            }
            (Some(n), _) => {
                let mut v = vec![n.clone()];
                v.extend(words.iter().map(|s| s.to_string()));
                pending_name = None;
                v
            }
            _ => words.iter().map(|s| s.to_string()).collect(),
        };
        if words.len() < 3 {
            continue;
        }
        let name = words[0].clone();
        let ver = words[2].clone();
        let repo = words.get(3).cloned();
        let (from, to) = match kind {
            ChangeKind::Remove => (Some(ver), None),
            _ => (None, Some(ver)),
        };
        sim.changes.push(Change {
            package: name,
            kind,
            from,
            to,
            origin: repo,
            security: None,
        });
    }
    for (name, evr, _arch) in cleanup {
        if let Some(c) = sim
            .changes
            .iter_mut()
            .find(|c| c.package == name && c.from.is_none() && c.kind != ChangeKind::Install)
        {
            c.from = Some(evr);
        }
    }
    sim
}
