//! Parsers of the probe output and of each package manager's listing, on
//! fixtures in the tools' real formats (tests/fixtures/checks/).

use std::path::PathBuf;

use opsdeck::checks::listing::{self, Listing};
use opsdeck::checks::parse::{self, UpdatesState};
use opsdeck::checks::{assemble, Previous};
use opsdeck::model::{PatchReport, Status, Thresholds, UpdateCounts};
use opsdeck::ssh::ExecOutput;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checks")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The probe output `text` as a host's result (exit 0, no previous listing).
fn assemble_text(text: String) -> opsdeck::checks::HostCheck {
    let out = ExecOutput {
        stdout: text.into_bytes(),
        exit_status: Some(0),
        ..Default::default()
    };
    assemble(
        "h",
        Ok(out),
        Default::default(),
        None,
        &Thresholds::default(),
    )
}

fn names(l: &Listing) -> Vec<&str> {
    l.updates.iter().map(|u| u.package.as_str()).collect()
}

#[test]
fn apt_debian12_real_output_of_this_machine() {
    // Captured from the probe on this Debian 12 machine: 131 upgrades, of which
    // 81 match check_apt's security regex (counted with grep -E on the fixture).
    let text = fixture("probe-debian12-fresh.txt");
    let r = parse::parse_probe(&text).unwrap();
    assert_eq!(r.facts.package_manager.as_deref(), Some("apt"));
    assert_eq!(
        r.facts.os.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
    assert_eq!(r.facts.os_id.as_deref(), Some("debian"));
    assert_eq!(r.facts.reboot_required, Some(false));
    assert_eq!(r.facts.failed_units, None, "PID 1 is not systemd here");
    assert!(r.stamp.is_some());
    let disks: Vec<&str> = r.facts.disks.iter().map(|d| d.mount.as_str()).collect();
    assert_eq!(disks, ["/"], "tmpfs and devtmpfs are skipped");
    let UpdatesState::Fresh(Ok(l)) = r.updates else {
        panic!("expected a fresh listing: {:?}", r.updates)
    };
    assert_eq!(l.pending(), 131);
    assert_eq!(l.security(), Some(81));
    let gcrypt = l
        .updates
        .iter()
        .find(|u| u.package == "libgcrypt20")
        .unwrap();
    assert_eq!(gcrypt.installed.as_deref(), Some("1.10.1-3"));
    assert_eq!(gcrypt.candidate, "1.10.1-3+deb12u1");
    assert_eq!(
        gcrypt.origin.as_deref(),
        Some("Debian:12.15/oldstable, Debian-Security:12/oldstable-security")
    );
    assert_eq!(gcrypt.security, Some(true));
    let bash = l.updates.iter().find(|u| u.package == "bash").unwrap();
    assert_eq!(bash.security, Some(false));
}

#[test]
fn apt_unchanged_probe() {
    let r = parse::parse_probe(&fixture("probe-debian12-unchanged.txt")).unwrap();
    assert_eq!(r.updates, UpdatesState::Unchanged);
}

#[test]
fn apt_epoch_multiarch_kept_back() {
    let l = listing::parse_apt(&fixture("apt-debian12-edge.txt")).unwrap();
    assert_eq!(names(&l), ["bind9-host", "libc6", "libc6:i386", "openssl"]);
    assert_eq!(
        l.updates[0].installed.as_deref(),
        Some("1:9.18.19-1~deb12u1")
    );
    assert_eq!(l.updates[0].candidate, "1:9.18.33-1~deb12u2");
    assert_eq!(l.kept_back, ["linux-image-amd64", "nginx"]);
    assert_eq!(l.security(), Some(3));
    assert_eq!(l.updates[3].security, Some(false));
}

#[test]
fn apt_ubuntu_origins_esm_and_phasing() {
    let l = listing::parse_apt(&fixture("apt-ubuntu2204.txt")).unwrap();
    assert_eq!(l.pending(), 5);
    // libssl3, openssl (jammy-security among several origins), python3-jinja2 (ESM)
    assert_eq!(l.security(), Some(3));
    assert_eq!(
        l.updates[0].origin.as_deref(),
        Some("Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security")
    );
    assert_eq!(l.kept_back, ["ubuntu-advantage-tools"]);
    let l = listing::parse_apt(&fixture("apt-ubuntu2404-phased.txt")).unwrap();
    assert_eq!(l.pending(), 2);
    assert_eq!(l.security(), Some(2));
    assert_eq!(
        l.kept_back,
        ["python3-distupgrade", "ubuntu-release-upgrader-core"]
    );
    let l = listing::parse_apt(&fixture("apt-none.txt")).unwrap();
    assert_eq!((l.pending(), l.security()), (0, Some(0)));
}

#[test]
fn apt_security_regex_like_check_apt() {
    assert!(listing::apt_origin_is_security(
        "Debian-Security:12/stable-security"
    ));
    assert!(listing::apt_origin_is_security(
        "Ubuntu:22.04/jammy-security"
    ));
    assert!(listing::apt_origin_is_security(
        "UbuntuESM:22.04/jammy-infra-security"
    ));
    assert!(!listing::apt_origin_is_security(
        "Ubuntu:22.04/jammy-updates"
    ));
    assert!(!listing::apt_origin_is_security("Debian:12.10/stable"));
}

#[test]
fn alma9_dnf_probe() {
    let r = parse::parse_probe(&fixture("probe-alma9-fresh.txt")).unwrap();
    let f = &r.facts;
    assert_eq!(f.os.as_deref(), Some("AlmaLinux 9.4 (Seafoam Ocelot)"));
    assert_eq!(f.cpus, Some(4));
    assert_eq!(f.load, Some([6.2, 3.1, 1.0]));
    assert_eq!(f.mem_used_pct, Some(50.0));
    assert_eq!(f.uptime_s, Some(864000));
    assert_eq!(
        f.failed_units.as_deref(),
        Some(&["chronyd.service".to_string(), "kdump.service".to_string()][..])
    );
    assert_eq!(f.reboot_required, Some(true), "needs-restarting said so");
    assert_eq!(f.metadata_age_s, Some(1795425805 - 1795390000));
    let mounts: Vec<(&str, f64)> = f
        .disks
        .iter()
        .map(|d| (d.mount.as_str(), d.used_pct))
        .collect();
    assert_eq!(
        mounts,
        [("/", 90.6), ("/boot", 28.9), ("/srv/my data", 50.0)]
    );
    assert_eq!(r.remote_cpu_ms, Some(61574));
    let UpdatesState::Fresh(Ok(l)) = r.updates else {
        panic!("{:?}", r.updates)
    };
    assert_eq!(
        l.pending(),
        7,
        "the Obsoleting block's new package counted, the replaced one not; wrapped name joined"
    );
    assert_eq!(l.security(), Some(3));
    let bind = l
        .updates
        .iter()
        .find(|u| u.package == "bind-libs.x86_64")
        .unwrap();
    assert_eq!(bind.candidate, "32:9.16.23-18.el9_4.6");
    assert_eq!(bind.security, Some(true));
    assert!(l.updates.iter().any(|u| u.package
        == "python3-setuptools-wheel-with-a-very-long-name.noarch"
        && u.candidate == "53.0.0-12.el9_4.1"));

    let v = opsdeck::checks::rules::evaluate(
        &opsdeck::model::Facts {
            updates: Some(UpdateCounts {
                pending: Some(l.pending()),
                security: l.security(),
            }),
            ..f.clone()
        },
        &Thresholds::default(),
        None,
    );
    assert_eq!(v.status, Status::Crit);
    assert!(
        v.reasons.contains(&"/ 90.6% ≥ 90%".to_string()),
        "{:?}",
        v.reasons
    );
    assert!(
        v.reasons.contains(&"load 1.6 per CPU ≥ 1.5".to_string()),
        "{:?}",
        v.reasons
    );
}

#[test]
fn centos7_yum_without_updateinfo_is_unknown_security() {
    let u = listing::parse_dnf_check_update(&fixture("yum-centos7-check-update.txt")).unwrap();
    assert_eq!(u.len(), 4);
    // Without updateinfo nothing is known: null, never guessed as false.
    assert!(u.iter().all(|x| x.security.is_none()), "{u:?}");
    let sec = listing::parse_dnf_updateinfo(&fixture("yum-centos7-updateinfo.txt")).unwrap();
    assert!(sec.contains("python.x86_64"));
    let mut u2 = u.clone();
    listing::mark_rpm_security(&mut u2, &sec);
    assert_eq!(u2.iter().filter(|x| x.security == Some(true)).count(), 1);
    assert!(u2.iter().all(|x| x.security.is_some()));
}

#[test]
fn needs_restarting_decides_on_text() {
    assert_eq!(
        parse::parse_needs_restarting(Some(&["No such command: needs-restarting."]), Some(1)),
        None
    );
    assert_eq!(
        parse::parse_needs_restarting(Some(&["Reboot should not be necessary."]), Some(0)),
        Some(false)
    );
    assert_eq!(
        parse::parse_needs_restarting(Some(&["missing"]), None),
        None
    );
}

#[test]
fn zypper_updates_and_security_patches() {
    let u = listing::parse_zypper_list_updates(&fixture("zypper-list-updates.txt")).unwrap();
    assert_eq!(u.len(), 3);
    assert_eq!(u[0].package, "libopenssl3");
    assert_eq!(u[0].installed.as_deref(), Some("3.1.4-150600.5.7.1"));
    assert_eq!(u[0].candidate, "3.1.4-150600.5.15.1");
    assert_eq!(u[0].origin.as_deref(), Some("Main Update Repository"));
    assert_eq!(
        listing::parse_zypper_patches(&fixture("zypper-list-patches.txt")),
        Ok(1)
    );
    assert!(
        listing::parse_zypper_list_updates(&fixture("zypper-none.txt"))
            .unwrap()
            .is_empty()
    );
}

/// A SLES host end to end (probe text → check and patch report): zypper
/// counts its needed security patches without naming their packages, so
/// the per-update flags stay null and the count carries the verdict.
#[test]
fn sles_zypper_probe_counts_security_patches() {
    let out = ExecOutput {
        stdout: fixture("probe-sles15-fresh.txt").into_bytes(),
        exit_status: Some(0),
        ..Default::default()
    };
    let hc = assemble(
        "sles1",
        Ok(out),
        Default::default(),
        None,
        &Thresholds::default(),
    );
    let f = hc.check.facts.as_ref().unwrap();
    assert_eq!(f.package_manager.as_deref(), Some("zypper"));
    assert_eq!(
        f.updates,
        Some(UpdateCounts {
            pending: Some(3),
            security: Some(1)
        })
    );
    assert_eq!(hc.check.status, Status::Crit, "{:?}", hc.check.reasons);
    assert_eq!(hc.patches.updates.len(), 3);
    assert!(hc.patches.updates.iter().all(|u| u.security.is_none()));
    assert_eq!(hc.patches.security_count, Some(1));
    assert_eq!(hc.patches.security_pending(), Some(1));
    assert_eq!(
        opsdeck::ops::patch::status(&hc.patches, true, &Thresholds::default()),
        Status::Crit
    );
}

#[test]
fn alpine_apk_probe() {
    let r = parse::parse_probe(&fixture("probe-alpine-fresh.txt")).unwrap();
    assert_eq!(r.facts.os.as_deref(), Some("Alpine Linux v3.19"));
    assert_eq!(r.facts.failed_units, None);
    assert_eq!(r.facts.reboot_required, Some(true));
    let disks: Vec<&str> = r.facts.disks.iter().map(|d| d.mount.as_str()).collect();
    assert_eq!(disks, ["/"]);
    let UpdatesState::Fresh(Ok(l)) = r.updates else {
        panic!("{:?}", r.updates)
    };
    assert_eq!(names(&l), ["busybox", "libcrypto3", "py3-setuptools"]);
    assert_eq!(l.updates[0].installed.as_deref(), Some("1.36.1-r5"));
    assert_eq!(l.updates[0].candidate, "1.36.1-r7");
    assert_eq!(l.security(), None, "apk has no security metadata");
}

#[test]
fn arch_pacman_with_ignored() {
    let l = listing::parse_pacman(&fixture("pacman-qu.txt")).unwrap();
    assert_eq!(names(&l), ["linux", "openssl", "lib32-glibc"]);
    assert_eq!(l.updates[1].candidate, "1:3.3.1-1");
    assert_eq!(l.kept_back, ["nginx"]);
    assert_eq!(l.security(), None);
    assert!(listing::parse_pacman("").unwrap().updates.is_empty());
}

#[test]
fn garbage_is_an_error_and_a_bad_section_fails_alone() {
    // not the probe's output at all: the only whole-host parse error
    let e = parse::parse_probe("Last login: yesterday\nhello\n").unwrap_err();
    assert_eq!(e.section, "probe");
    let text = fixture("probe-alma9-fresh.txt");

    // cut in the middle of `failed`: what came before stands
    let cut = &text[..text.find("@@opsdeck failed").unwrap() + 20];
    let r = parse::parse_probe(cut).unwrap();
    assert_eq!(r.facts.load, Some([6.2, 3.1, 1.0]));
    assert_eq!(r.facts.disks.len(), 3);
    assert_eq!(r.facts.failed_units, None);
    assert_eq!(r.problems[0].section, "failed");
    assert!(r.problems[0].message.contains("truncated"));

    // one section unreadable: that fact unknown, the others kept
    let bad = text.replace("6.20 3.10 1.00", "six three one");
    let r = parse::parse_probe(&bad).unwrap();
    assert_eq!(r.facts.load, None);
    assert_eq!(r.facts.cpus, Some(4));
    assert_eq!(r.facts.disks.len(), 3);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].section, "load");

    // a malformed package line: updates unknown with the reason, facts kept
    let bad = text.replace(
        "bind-libs.x86_64                      32:9",
        "bind-libs.x86_64 32:9 x y z",
    );
    let r = parse::parse_probe(&bad).unwrap();
    let UpdatesState::Fresh(Err(e)) = &r.updates else {
        panic!("{:?}", r.updates)
    };
    assert!(e.contains("list.dnf"), "{e}");
    assert_eq!(r.facts.mem_used_pct, Some(50.0));
}

#[test]
fn a_bad_section_costs_one_fact_through_assemble() {
    let text = fixture("probe-alma9-fresh.txt");
    let bad = text.replace("6.20 3.10 1.00", "six three one");
    let hc = assemble_text(bad);
    let facts = hc.check.facts.as_ref().expect("facts kept");
    assert_eq!(facts.load, None);
    assert!(!facts.disks.is_empty());
    assert_eq!(facts.reboot_required, Some(true));
    assert!(
        hc.check
            .reasons
            .iter()
            .any(|r| r.contains("`load` section")),
        "{:?}",
        hc.check.reasons
    );
    // the disk at 90.6% is still critical: a lost fact never hides a known one
    assert_eq!(hc.check.status, Status::Crit);
}

#[test]
fn yum_notices_obsoletes_and_wrapping() {
    // Ansible's own RHEL 7 sample (test/units/modules/test_yum.py): 12
    // updates and 6 obsoleting packages, which Ansible counts as pending too.
    let u = listing::parse_dnf_check_update(&fixture("yum-rhel7-obsoletes.txt")).unwrap();
    assert_eq!(u.len(), 18, "{u:?}");
    assert!(u.iter().any(|x| x.package == "python2-pip.noarch"));
    assert!(
        !u.iter().any(|x| x.package == "python-pip.noarch"),
        "the replaced package is not pending"
    );
    assert!(!u.iter().any(|x| x.package.contains("develdashboardfixes")));
    // plugin, RHN, entitlement and mirror notices skipped; names wrapped over
    // two and three lines joined
    let u = listing::parse_dnf_check_update(&fixture("yum-notices-wrapped.txt")).unwrap();
    let names: Vec<&str> = u.iter().map(|x| x.package.as_str()).collect();
    assert_eq!(
        names,
        [
            "xxxxxxxxxxxxxxxxxxxxxxxxxx.noarch",
            "glibc.x86_64",
            "empty-empty-empty-empty-empty.x86_64"
        ]
    );
    assert_eq!(u[2].origin.as_deref(), Some("addons"));
    // a listing made only of notices has nothing pending
    let only = "Plugin \"product-id\" can't be imported\nThis system is receiving updates from RHN Classic or Red Hat Satellite.\n";
    assert!(listing::parse_dnf_check_update(only).unwrap().is_empty());
}

#[test]
fn a_notice_in_the_listing_keeps_every_fact() {
    // the exact report of the hardening issue: one plugin line in list.dnf
    let text = fixture("probe-alma9-fresh.txt").replace(
        "@@opsdeck list.dnf\n",
        "@@opsdeck list.dnf\nPlugin \"product-id\" can't be imported\nThis system is not registered with an entitlement server. You can use subscription-manager to register.\n",
    );
    assert!(
        text.contains("product-id"),
        "the fixture has a list.dnf section"
    );
    let r = parse::parse_probe(&text).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let UpdatesState::Fresh(Ok(l)) = r.updates else {
        panic!("{:?}", r.updates)
    };
    assert_eq!(l.pending(), 7);
    assert_eq!(r.facts.disks.len(), 3);
}

#[test]
fn absurd_numbers_from_a_host_are_not_trusted() {
    // a full filesystem whose sizes are near u64::MAX: 100 %, not 0 %
    let big = u64::MAX - 5;
    let df = format!(
        "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/huge {big} {big} 0 100% /huge\n/dev/half {big} {} {} 50% /half\n",
        big / 2,
        big / 2
    );
    let lines: Vec<&str> = df.lines().collect();
    let disks = parse::parse_disks(&lines).unwrap();
    assert_eq!(disks[0].used_pct, 100.0);
    assert_eq!(disks[1].used_pct, 50.0);
    // memory counters that would overflow when added
    let mem = format!("MemTotal: {big} kB\nMemFree: {big} kB\nBuffers: {big} kB\nCached: 10 kB\n");
    let lines: Vec<&str> = mem.lines().collect();
    assert_eq!(parse::parse_mem(&lines).unwrap(), Some(0.0));
    // NaN and infinite loads are not loads
    for l in ["nan 1 1", "inf 0 0", "1e400 1 1"] {
        assert!(parse::parse_load(&[l]).is_err(), "{l}");
    }
}

#[test]
fn listing_failure_is_unknown_not_a_parse_error() {
    let text = fixture("probe-debian12-unchanged.txt").replace(
        "@@opsdeck updates\nunchanged",
        "@@opsdeck updates\nfresh\n@@opsdeck list.apt\nE: Could not open lock file\n@@opsdeck list.apt.rc\n100",
    );
    let r = parse::parse_probe(&text).unwrap();
    let UpdatesState::Fresh(Err(e)) = &r.updates else {
        panic!("{:?}", r.updates)
    };
    assert_eq!(e, "apt-get exited 100: E: Could not open lock file");
    let hc = assemble_text(text);
    assert_eq!(hc.check.status, Status::Unknown);
    assert!(hc
        .check
        .reasons
        .iter()
        .any(|r| r.contains("updates unknown (apt: apt-get exited 100")));
    assert_eq!(hc.patches.error.as_deref(), Some(e.as_str()));
    assert_eq!(
        hc.patches.pkg_stamp, None,
        "a failed listing is never cached"
    );
}

#[test]
fn unchanged_reuses_the_previous_listing() {
    let fresh = fixture("probe-debian12-fresh.txt");
    let out = |t: &str| ExecOutput {
        stdout: t.as_bytes().to_vec(),
        exit_status: Some(0),
        ..Default::default()
    };
    let first = assemble(
        "h",
        Ok(out(&fresh)),
        Default::default(),
        None,
        &Thresholds::default(),
    );
    assert!(first.listing_ran);
    assert!(first.patches.pkg_stamp.is_some());
    let prev = Previous {
        patches: Some(first.patches.clone()),
        counts: first.check.facts.as_ref().and_then(|f| f.updates.clone()),
    };
    assert_eq!(prev.stamp(), first.patches.pkg_stamp.as_deref());
    let again = assemble(
        "h",
        Ok(out(&fixture("probe-debian12-unchanged.txt"))),
        Default::default(),
        Some(&prev),
        &Thresholds::default(),
    );
    assert!(!again.listing_ran);
    assert_eq!(again.patches.updates, first.patches.updates);
    assert_eq!(
        again.check.facts.unwrap().updates,
        Some(UpdateCounts {
            pending: Some(131),
            security: Some(81)
        })
    );
    // A previous failure is never passed as a stamp.
    let failed = Previous {
        patches: Some(PatchReport {
            error: Some("x".into()),
            pkg_stamp: Some("1".into()),
            ..Default::default()
        }),
        counts: None,
    };
    assert_eq!(failed.stamp(), None);
}

#[test]
fn unreachable_is_crit() {
    let hc = assemble(
        "h",
        Err(opsdeck::ssh::SshError::Connect("refused".into())),
        Default::default(),
        None,
        &Thresholds::default(),
    );
    assert_eq!(hc.check.status, Status::Crit);
    assert_eq!(
        hc.check.error.as_deref(),
        Some("connection failed: refused")
    );
    assert!(hc.check.facts.is_none());
}

fn all_parsers(s: &str) {
    let _ = parse::parse_probe(s);
    let _ = listing::parse_apt(s);
    let _ = listing::parse_dnf_check_update(s);
    let _ = listing::parse_dnf_updateinfo(s);
    let _ = listing::parse_zypper_list_updates(s);
    let _ = listing::parse_zypper_patches(s);
    let _ = listing::parse_apk(s);
    let _ = listing::parse_pacman(s);
    let _ = parse::parse_disks(&s.lines().collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let s = String::from_utf8_lossy(&bytes);
        all_parsers(&s);
        let out = ExecOutput { stdout: bytes.clone(), ..Default::default() };
        let hc = assemble("h", Ok(out), Default::default(), None, &Thresholds::default());
        prop_assert!(hc.check.error.is_some() || hc.check.facts.is_some());
    }

    #[test]
    fn truncated_and_mutated_fixtures_never_panic(
        which in 0usize..4, cut in 0.0f64..1.0, pos in 0.0f64..1.0, junk in "[ -~\n@%]{0,40}"
    ) {
        let name = ["probe-alma9-fresh.txt", "probe-alpine-fresh.txt", "probe-debian12-fresh.txt", "apt-ubuntu2204.txt"][which];
        let text = fixture(name);
        let mut end = (text.len() as f64 * cut) as usize;
        while !text.is_char_boundary(end) { end -= 1; }
        all_parsers(&text[..end]);
        let mut at = (text.len() as f64 * pos) as usize;
        while !text.is_char_boundary(at) { at -= 1; }
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        all_parsers(&mutated);
        if end < text.len() && name.starts_with("probe") && !text[..end].contains("@@opsdeck end") {
            // cut output is never taken for whole: either not the probe's at
            // all, or a report that names the truncated section
            match parse::parse_probe(&text[..end]) {
                Err(e) => prop_assert!(
                    e.section == "probe" || e.message.contains("truncated"),
                    "{e}"
                ),
                Ok(r) => prop_assert!(
                    r.problems.iter().any(|p| p.message.contains("truncated")),
                    "{:?}", r.problems
                ),
            }
        }
        if name.starts_with("probe") {
            // junk anywhere inside a probe output: the host still comes back,
            // with its name and its facts (a section may be unknown)
            let out = ExecOutput { stdout: mutated.into_bytes(), ..Default::default() };
            let hc = assemble("h", Ok(out), Default::default(), None, &Thresholds::default());
            prop_assert_eq!(hc.check.host.as_str(), "h");
            prop_assert_eq!(hc.patches.host.as_str(), "h");
            // (junk inside the `@@opsdeck probe 1` header line makes it
            // not the probe's output: then the error names that)
            if at > text.find("@@opsdeck probe 1\n").unwrap_or(0) + 18 {
                prop_assert!(hc.check.facts.is_some(), "{:?}", hc.check);
            }
        }
    }
}

/// The probe output as the engine keeps it under a cap of `cap` bytes: head
/// and tail, the middle dropped, the mark line between them.
fn capped(text: &str, cap: usize) -> String {
    let mut c = opsdeck::ssh::capture::Capture::new(cap);
    c.push(text.as_bytes());
    let (kept, _) = c.finish();
    String::from_utf8_lossy(&kept).into_owned()
}

/// Names of the sections of a whole probe output.
fn section_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("@@opsdeck "))
        .filter_map(|r| r.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_cap_cut_through_a_marker_line_opens_no_section_of_half_a_name() {
    let text = fixture("probe-debian12-fresh.txt");
    let at = text.find("@@opsdeck disks").expect("a disks section") + "@@opsdeck di".len();
    // the head ends in the middle of the marker; the tail starts inside
    // the next section
    let tail_at = text.find("@@opsdeck failed").expect("a failed section") - 3;
    let kept = format!(
        "{}\n[opsdeck: output truncated, {} bytes dropped]\n{}",
        &text[..at],
        tail_at - at,
        &text[tail_at..]
    );
    let r = parse::parse_probe(&kept).unwrap();
    assert!(
        r.problems.iter().all(|p| p.section != "di"),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.message.contains("over the cap")),
        "the cut is said: {:?}",
        r.problems
    );
    // the sections before and after the cut are read
    assert!(r.facts.kernel.is_some());
    assert!(r.facts.failed_units.is_some() || r.problems.iter().all(|p| p.section != "failed"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A cap anywhere in a real probe output: the host keeps its name and
    /// the facts outside the cut, the cut is said, and no section is named
    /// that the probe did not print.
    #[test]
    fn a_cap_anywhere_is_said_and_names_only_real_sections(
        which in 0usize..3, frac in 0.05f64..0.95
    ) {
        let name = ["probe-alma9-fresh.txt", "probe-alpine-fresh.txt", "probe-debian12-fresh.txt"][which];
        let text = fixture(name);
        let cap = ((text.len() as f64 * frac) as usize).max(64);
        let kept = capped(&text, cap);
        let real = section_names(&text);
        match parse::parse_probe(&kept) {
            Err(e) => prop_assert!(e.section == "probe", "{e}"),
            Ok(r) => {
                prop_assert!(
                    r.problems.iter().any(|p| p.message.contains("over the cap")),
                    "cap {cap}: {:?}", r.problems
                );
                for p in &r.problems {
                    let base = p.section.trim_end_matches(".rc");
                    prop_assert!(
                        p.section == "probe" || real.iter().any(|s| s == &p.section || s == base),
                        "cap {cap}: unknown section `{}` in {:?}", p.section, r.problems
                    );
                }
            }
        }
        let out = ExecOutput { stdout: kept.into_bytes(), exit_status: Some(0), ..Default::default() };
        let hc = assemble("h", Ok(out), Default::default(), None, &Thresholds::default());
        prop_assert_eq!(hc.check.host.as_str(), "h");
        prop_assert!(hc.check.status != Status::Ok, "a cut result is never plain OK");
    }
}
