//! The probe itself under every shell it must support (dash, bash, busybox
//! ash), run locally, its output parsed: same facts from each, the stamp
//! stable, and `unchanged` when the previous stamp is passed back.
//! Needs the Debian packages dash, bash and busybox (.ci/run installs them).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use opsdeck::checks::parse::{parse_probe, ProbeReport, UpdatesState};
use opsdeck::checks::PROBE;

fn stub_dir(tmp: &Path) -> PathBuf {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checks/apt-ubuntu2204.txt");
    let dir = tmp.join("stub");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("apt-get");
    std::fs::write(&p, format!("#!/bin/sh\ncat '{}'\n", fixture.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn run(shell: &[&str], stub: &Path, stamp: &str) -> ProbeReport {
    assert!(
        Path::new(shell[0]).exists(),
        "{} is missing: install it (apt-get install dash bash busybox; .ci/run does)",
        shell[0]
    );
    let path = format!("{}:/usr/bin:/bin", stub.display());
    let mut child = Command::new(shell[0])
        .args(&shell[1..])
        .args(["-s", "--", stamp])
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(PROBE.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    parse_probe(&text).unwrap_or_else(|e| panic!("{shell:?}: {e}\n{text}"))
}

#[test]
fn dash_bash_and_busybox_ash_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let stub = stub_dir(tmp.path());
    let shells: [&[&str]; 3] = [&["/bin/dash"], &["/bin/bash"], &["/bin/busybox", "sh"]];
    let mut reports = Vec::new();
    for sh in shells {
        let r = run(sh, &stub, "");
        let f = &r.facts;
        assert!(f.os.is_some(), "{sh:?}");
        assert!(f.kernel.is_some(), "{sh:?}");
        assert!(f.cpus.is_some(), "{sh:?}");
        assert!(f.load.is_some(), "{sh:?}");
        assert!(f.mem_used_pct.is_some(), "{sh:?}");
        assert!(f.disks.iter().any(|d| d.mount == "/"), "{sh:?}");
        assert_eq!(f.package_manager.as_deref(), Some("apt"), "{sh:?}");
        assert!(r.remote_cpu_ms.is_some(), "{sh:?}: times output parsed");
        let UpdatesState::Fresh(Ok(l)) = &r.updates else {
            panic!("{sh:?}: {:?}", r.updates)
        };
        assert_eq!((l.pending(), l.security()), (5, Some(3)), "{sh:?}");
        assert!(r.stamp.is_some(), "{sh:?}");
        reports.push(r);
    }
    let stamp = reports[0].stamp.clone().unwrap();
    for (sh, r) in shells.iter().zip(&reports) {
        assert_eq!(r.stamp.as_deref(), Some(stamp.as_str()), "{sh:?}");
        assert_eq!(r.facts.kernel, reports[0].facts.kernel);
        assert_eq!(r.facts.cpus, reports[0].facts.cpus);
        assert_eq!(r.facts.os, reports[0].facts.os);
    }
    // The previous stamp passed back: the listing is skipped, in every shell.
    for sh in shells {
        let r = run(sh, &stub, &stamp);
        if r.stamp.as_deref() == Some(stamp.as_str()) {
            assert_eq!(r.updates, UpdatesState::Unchanged, "{sh:?}");
        }
    }
    // Another stamp: listed again.
    let r = run(&["/bin/dash"], &stub, "not-the-stamp");
    assert!(matches!(r.updates, UpdatesState::Fresh(Ok(_))));
}

#[test]
fn a_missing_tool_makes_only_its_fact_unknown() {
    // A PATH with only the shell's builtins and a few tools: no df, no
    // apt-get, no nproc. The probe still ends and the rest is known.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["cat", "stat", "date"] {
        std::os::unix::fs::symlink(format!("/usr/bin/{tool}"), bin.join(tool)).unwrap();
    }
    let mut child = Command::new("/bin/dash")
        .args([
            "-c",
            &format!("PATH={}; export PATH; {}", bin.display(), "eval \"$(cat)\""),
        ])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        // Drop the probe's PATH extension so system tools stay out of reach.
        let probe = PROBE.replace(
            "PATH=\"$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"",
            "",
        );
        child
            .stdin
            .take()
            .unwrap()
            .write_all(probe.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let r = parse_probe(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(r.facts.disks.is_empty(), "no df: no disks");
    assert_eq!(r.facts.package_manager, None);
    assert_eq!(r.updates, UpdatesState::NoManager);
    assert!(r.facts.kernel.is_some(), "from /proc, no tool needed");
    assert!(r.facts.load.is_some());
    assert!(r.facts.cpus.is_some(), "from /proc/cpuinfo");
}
