//! The package managers, one file each (`apt`, `rpm` for dnf and yum,
//! `zypper`, `apk`, `pacman`): its part of the check probe (the stamp's
//! inputs and the update listing), the listing's parser, the refresh,
//! simulation and apply command lines, their parsers, the meaning of its
//! exit codes and how it tells that a reboot is needed. Each implements
//! [`Driver`]; [`Manager::driver`] picks it. The check (`checks`) and the
//! patch runs (`patches`) ask the driver, so adding a manager is one file
//! here and one arm in [`Manager`] (docs/architecture.md).
//!
//! Pure: builds strings and reads output, runs nothing; never panics on any
//! input. Every word of a command line goes through `util::shell_quote`.

use crate::model::Update;
use crate::sections::{ParseError, Sections};

pub mod apk;
pub mod apt;
pub mod pacman;
pub mod rpm;
pub mod zypper;

/// The package managers opsdeck drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manager {
    Apt,
    Dnf,
    Yum,
    Zypper,
    Apk,
    Pacman,
}

impl Manager {
    pub const ALL: [Manager; 6] = [
        Manager::Apt,
        Manager::Dnf,
        Manager::Yum,
        Manager::Zypper,
        Manager::Apk,
        Manager::Pacman,
    ];

    /// The name used in reports (`package_manager` of `patches --json`).
    pub fn name(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Zypper => "zypper",
            Manager::Apk => "apk",
            Manager::Pacman => "pacman",
        }
    }

    /// Accepts the report names and the binaries (`apt-get`).
    pub fn from_name(s: &str) -> Option<Manager> {
        match s.trim() {
            "apt" | "apt-get" => Some(Manager::Apt),
            "dnf" | "dnf5" => Some(Manager::Dnf),
            "yum" => Some(Manager::Yum),
            "zypper" => Some(Manager::Zypper),
            "apk" => Some(Manager::Apk),
            "pacman" => Some(Manager::Pacman),
            _ => None,
        }
    }

    /// What opsdeck knows of this manager.
    pub fn driver(self) -> &'static dyn Driver {
        match self {
            Manager::Apt => &apt::Apt,
            Manager::Dnf | Manager::Yum => &rpm::Rpm,
            Manager::Zypper => &zypper::Zypper,
            Manager::Apk => &apk::Apk,
            Manager::Pacman => &pacman::Pacman,
        }
    }

    /// Whether the manager can tell security updates apart.
    pub fn has_security_metadata(self) -> bool {
        self.driver().has_security_metadata()
    }

    /// Whether its simulation needs root (apt-get -s and checkupdates do not).
    pub fn simulation_needs_root(self) -> bool {
        self.driver().simulation_needs_root()
    }
}

/// Everything opsdeck knows of one package manager (or one family: dnf and
/// yum share theirs; `m` says which one is asked).
pub trait Driver: Sync {
    /// Its arm of the check probe's `case "$pm"` that sets the stamp's
    /// inputs: `meta` (the metadata files, whose newest mtime is the
    /// metadata's age) and `inputs` (whatever changes the pending list).
    fn probe_stamp(&self) -> &'static str;
    /// Its arm of the check probe's `case "$pm"` that prints the listing
    /// sections (`list.NAME` and `list.NAME.rc`, more where it has them).
    fn probe_listing(&self) -> &'static str;
    /// The listing from the probe's sections: Ok(Err) is what the manager
    /// said went wrong (the host's updates unknown, with that reason).
    fn listing(&self, m: Manager, s: &Sections) -> Result<Result<Listing, String>, ParseError>;
    /// Whether it can tell security updates apart.
    fn has_security_metadata(&self) -> bool {
        true
    }
    /// Whether its simulation needs root.
    fn simulation_needs_root(&self) -> bool {
        true
    }
    /// Environment words of every command (`LC_ALL=C`, ...).
    fn env(&self) -> &'static [&'static str] {
        &["LC_ALL=C"]
    }
    /// The metadata refresh: (needs root, argv).
    fn refresh(&self, m: Manager) -> (bool, Vec<String>);
    /// The simulation (`simulate`) or apply argv of `ask`.
    fn upgrade(&self, m: Manager, simulate: bool, ask: &Ask) -> Vec<String>;
    /// Shell that prints `reboot=yes`, `reboot=no` or `reboot=unknown`; no root.
    fn reboot_probe(&self, m: Manager) -> &'static str;
    /// What a simulation says.
    fn simulation(&self, m: Manager, text: &str) -> Simulation;
    /// What an apply changed, as its output says.
    fn applied(&self, m: Manager, text: &str) -> Vec<Change>;
    /// An exit status other than 0 that does not mean failure here.
    fn exit_meaning(
        &self,
        _m: Manager,
        _simulate: bool,
        _code: i32,
        _output: &str,
    ) -> Option<Outcome> {
        None
    }
}

/// Dry run or the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Simulate,
    Apply,
}

/// What is asked of one host's package manager.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ask {
    pub security_only: bool,
    /// Hold patterns (globs) from hosts.toml; passed natively where the
    /// manager can exclude per invocation (dnf/yum `--exclude`, pacman `--ignore`).
    pub holds: Vec<String>,
    /// Upgrade exactly these packages (apt/zypper/apk when something is held,
    /// apt for --security-only). None: everything.
    pub packages: Option<Vec<String>>,
}

/// How an exit status reads, per manager and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Worked, and the tool says a reboot is needed (zypper 102).
    OkRebootNeeded,
    /// Worked, but run again (zypper 103: it updated itself first).
    OkRunAgain,
    Failed(String),
}

/// What happens to one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Upgrade,
    Install,
    Remove,
    Downgrade,
}

/// One package a transaction changes (or would change).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub package: String,
    pub kind: ChangeKind,
    /// Installed version before; None for a new package or where the tool does not say.
    pub from: Option<String>,
    /// Version after; None for a removal or where the tool does not say.
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// None where the tool gives no security classification here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<bool>,
}

impl Change {
    pub(crate) fn upgrade(package: &str, from: Option<&str>, to: Option<&str>) -> Change {
        Change {
            package: package.to_string(),
            kind: ChangeKind::Upgrade,
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            origin: None,
            security: None,
        }
    }

    /// `bash 5.2.15-2+b8 -> 5.2.15-2+b13`, `(new) foo 1.0`, `(removed) bar 2.0`.
    pub fn describe(&self) -> String {
        let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        match self.kind {
            ChangeKind::Upgrade | ChangeKind::Downgrade => {
                format!("{} {} -> {}", self.package, v(&self.from), v(&self.to))
            }
            ChangeKind::Install => format!("{} (new) {}", self.package, v(&self.to)),
            ChangeKind::Remove => format!("{} (removed) {}", self.package, v(&self.from)),
        }
    }
}

/// What a simulation (or the summary printed before an apply) says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulation {
    pub changes: Vec<Change>,
    /// apt: "The following packages have been kept back".
    pub kept_back: Vec<String>,
    /// apt on Ubuntu: "The following upgrades have been deferred due to phasing".
    pub deferred: Vec<String>,
}

/// One manager's listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Updates the manager would install (pending).
    pub updates: Vec<Update>,
    /// Upgradable but not upgraded as asked: apt kept back / deferred by
    /// phasing / held, pacman IgnorePkg. Not counted as pending.
    pub kept_back: Vec<String>,
    /// Security count where it does not come from per-update flags (zypper:
    /// needed security patches).
    pub security_count: Option<u32>,
    /// The manager gave security metadata (per update or as a count).
    pub security_known: bool,
}

impl Listing {
    pub fn pending(&self) -> u32 {
        self.updates.len() as u32
    }
    /// Security updates: None where the manager has no security metadata.
    pub fn security(&self) -> Option<u32> {
        if !self.security_known {
            return None;
        }
        if let Some(n) = self.security_count {
            return Some(n);
        }
        Some(
            self.updates
                .iter()
                .filter(|u| u.security == Some(true))
                .count() as u32,
        )
    }
}

/// Owned words.
pub(crate) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A short message from a failing tool: its error lines, else its last line.
pub(crate) fn tool_error(tool: &str, rc: i32, text: &str) -> String {
    let errs: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("E:")
                || l.starts_with("Error")
                || l.starts_with("error")
                || l.starts_with("ERROR")
        })
        .take(3)
        .collect();
    let detail = if errs.is_empty() {
        text.lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    } else {
        errs.join("; ")
    };
    let detail: String = detail.chars().take(300).collect();
    format!("{tool} exited {rc}: {detail}")
}

/// The `list.NAME` section's text and exit code (both required).
pub(crate) fn listing_section(s: &Sections, pm: &str) -> Result<(String, i32, String), ParseError> {
    let list_name = format!("list.{pm}");
    let Some(lines) = s.get(&list_name) else {
        return Err(ParseError::new(&list_name, s.missing(&list_name)));
    };
    let Some(rc) = s.rc(&list_name)? else {
        return Err(ParseError::new(&list_name, "exit code missing"));
    };
    Ok((lines.join("\n"), rc, list_name))
}

/// Every driver's arms of the probe's `case "$pm"`: (stamp, listing).
pub fn probe_arms() -> (String, String) {
    let drivers: [&dyn Driver; 5] = [
        &apt::Apt,
        &rpm::Rpm,
        &zypper::Zypper,
        &apk::Apk,
        &pacman::Pacman,
    ];
    (
        drivers.iter().map(|d| d.probe_stamp()).collect(),
        drivers.iter().map(|d| d.probe_listing()).collect(),
    )
}

/// Reboot-probe shell shared by the managers without a marker file: the
/// running kernel's modules vanish when its package is upgraded.
pub(crate) const REBOOT_BY_MODULES: &str = "k=$(uname -r); if [ ! -d /lib/modules ] && [ ! -d /usr/lib/modules ]; then echo reboot=unknown; \
     elif [ -d \"/lib/modules/$k\" ] || [ -d \"/usr/lib/modules/$k\" ]; then echo reboot=no; \
     else echo reboot=yes; fi";
