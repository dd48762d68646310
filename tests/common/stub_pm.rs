//! Stand-in package manager for the patch tests: the scripts in
//! `tests/fixtures/patches/bin/` (apt-get, sudo, id, shutdown, cat) go first
//! on a fleet host's session PATH; they record every invocation to
//! `$HOME/stub/log` and keep a fake installed state in `$HOME/stub/packages`
//! (HOME is the host's own session home, so each host has its own state).
//!
//! ```ignore
//! mod common;
//! #[path = "common/stub_pm.rs"] mod stub_pm;
//! let mut fleet = Fleet::new(Default::default());
//! fleet.add_host("web1", stub_pm::host_options());
//! let stub = stub_pm::Stub::of(&fleet, "web1");
//! stub.set_packages(&[stub_pm::pkg("bash", "5.2.15-2+b8", "5.2.15-2+b13", stub_pm::DEBIAN)]);
//! ```
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;

use crate::common::sshd::{Fleet, HostOptions};

pub const DEBIAN: &str = "Debian:12.15/oldstable";
pub const DEBIAN_SECURITY: &str = "Debian:12.15/oldstable, Debian-Security:12/oldstable-security";

/// The directory of the stand-in scripts.
pub fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patches/bin")
}

/// Host options putting the stand-ins first on the session PATH.
pub fn host_options() -> HostOptions {
    HostOptions {
        stub_path: Some(bin_dir()),
        ..Default::default()
    }
}

/// One package of the fake state.
#[derive(Debug, Clone)]
pub struct Pkg {
    pub name: String,
    pub installed: String,
    pub candidate: String,
    pub origins: String,
    pub arch: String,
}

pub fn pkg(name: &str, installed: &str, candidate: &str, origins: &str) -> Pkg {
    Pkg {
        name: name.into(),
        installed: installed.into(),
        candidate: candidate.into(),
        origins: origins.into(),
        arch: "amd64".into(),
    }
}

/// The stub state of one fleet host.
pub struct Stub {
    pub dir: PathBuf,
}

impl Stub {
    pub fn of(fleet: &Fleet, host: &str) -> Stub {
        let dir = fleet.get(host).dir.join("home/stub");
        fs::create_dir_all(&dir).expect("mkdir stub state");
        Stub { dir }
    }
    fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.join(name), text).expect("write stub state");
    }
    pub fn set_packages(&self, pkgs: &[Pkg]) {
        let mut s = String::new();
        for p in pkgs {
            s.push_str(&format!(
                "{}|{}|{}|{}|{}\n",
                p.name, p.installed, p.candidate, p.origins, p.arch
            ));
        }
        self.write("packages", &s);
    }
    /// `pkg` depends on the new version of `dep`.
    pub fn add_dep(&self, pkg: &str, dep: &str) {
        let mut s = fs::read_to_string(self.dir.join("deps")).unwrap_or_default();
        s.push_str(&format!("{pkg} {dep}\n"));
        self.write("deps", &s);
    }
    pub fn set_kept_back(&self, names: &[&str]) {
        self.write("keptback", &format!("{}\n", names.join("\n")));
    }
    /// The host's user is not root: `id -u` says `uid`, `id -un` says `user`.
    pub fn set_user(&self, uid: u32, user: &str) {
        self.write("uid", &format!("{uid}\n"));
        self.write("user", &format!("{user}\n"));
    }
    /// `sudo -n` fails with "a password is required".
    pub fn sudo_wants_password(&self) {
        self.write("sudo-password", "");
    }
    /// The next apply fails the way a broken dpkg run does (exit 100).
    pub fn fail_apply(&self) {
        self.write("fail", "");
    }
    pub fn set_boot_id(&self, id: &str) {
        self.write("boot_id", &format!("{id}\n"));
    }
    pub fn boot_id(&self) -> String {
        fs::read_to_string(self.dir.join("boot_id"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
    /// Every invocation the stand-ins saw, in order (argv joined by spaces).
    pub fn log(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
    /// The invocations of one program (`apt-get`, `sudo`, `shutdown`).
    pub fn calls(&self, program: &str) -> Vec<String> {
        let p = format!("{program} ");
        self.log()
            .into_iter()
            .filter(|l| l.starts_with(&p) || l == program)
            .collect()
    }
    /// Environment lines apt-get recorded (`apt-get LC_ALL=C DEBIAN_FRONTEND=...`).
    pub fn env_log(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("env"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
    pub fn clear_log(&self) {
        let _ = fs::remove_file(self.dir.join("log"));
        let _ = fs::remove_file(self.dir.join("env"));
    }
    /// The installed version of a package in the fake state.
    pub fn installed(&self, name: &str) -> Option<String> {
        let text = fs::read_to_string(self.dir.join("packages")).unwrap_or_default();
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f.first() == Some(&name)).then(|| f.get(1).unwrap_or(&"").to_string())
        })
    }
    pub fn refreshed(&self) -> bool {
        self.dir.join("updated").exists()
    }
    /// After `shutdown`, the next `n` boot id reads still give the old id
    /// (the host is slow to go down and come back).
    pub fn set_reboot_polls(&self, n: u32) {
        self.write("reboot_polls", &format!("{n}\n"));
    }
    /// Boot id reads answered with the old id after a delayed reboot.
    pub fn reads_while_down(&self) -> usize {
        fs::read_to_string(self.dir.join("polls"))
            .unwrap_or_default()
            .lines()
            .count()
    }
}
