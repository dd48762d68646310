//! Plain data shared by every module: what the TOML files hold, and what the
//! checks produce. No I/O here.

use serde::{Deserialize, Serialize};

pub use jiff::civil::Date;

/// Serde helpers for TOML dates (`purchased = 2023-04-01`). Accepts a TOML
/// local date or a `"YYYY-MM-DD"` string; serialises as the string (JSON).
pub mod toml_date {
    use super::Date;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(s: &str) -> Result<Date, String> {
        s.trim()
            .parse::<Date>()
            .map_err(|_| format!("`{s}` is not a date: write it as YYYY-MM-DD, e.g. 2024-03-31"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Toml(toml::value::Datetime),
        Text(String),
    }

    fn from_raw<E: serde::de::Error>(raw: Raw) -> Result<Date, E> {
        match raw {
            Raw::Text(s) => parse(&s).map_err(E::custom),
            Raw::Toml(dt) => match (dt.date, dt.time) {
                (Some(d), None) => Date::new(d.year as i16, d.month as i8, d.day as i8)
                    .map_err(|e| E::custom(format!("invalid date: {e}"))),
                _ => Err(E::custom("expected a date without time, e.g. 2024-03-31")),
            },
        }
    }

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Option::<Raw>::deserialize(d)?.map(from_raw).transpose()
    }
}

// ---------------------------------------------------------------- panes

/// A pane of the TUI by its stable name (`"hosts"`): what an Overview item
/// jumps to. The TUI's registry (`ui::panes::PANES`) gives each pane its
/// place, number key and constructor; code below the UI only names them, so
/// a new pane needs no change here (it names itself in its own file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PaneId(pub &'static str);

impl PaneId {
    pub const OVERVIEW: PaneId = PaneId("overview");
    pub const HOSTS: PaneId = PaneId("hosts");
    pub const PATCHES: PaneId = PaneId("patches");
    pub const BACKUPS: PaneId = PaneId("backups");
    pub const VENDORS: PaneId = PaneId("vendors");
    pub const SECURITY: PaneId = PaneId("security");

    /// The name with a capital: "Hosts".
    pub fn title(self) -> String {
        let mut c = self.0.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    }
}

impl<'de> Deserialize<'de> for PaneId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        [
            PaneId::OVERVIEW,
            PaneId::HOSTS,
            PaneId::PATCHES,
            PaneId::BACKUPS,
            PaneId::VENDORS,
            PaneId::SECURITY,
        ]
        .into_iter()
        .find(|p| p.0 == s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown pane `{s}`")))
    }
}

/// Where something's row is: the pane and the row's key (host, backup or
/// vendor name), and a row inside its details (a ticket's reference).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct Target {
    pub pane: PaneId,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

// ---------------------------------------------------------------- settings

/// `opsdeck.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub ssh: SshSettings,
    pub thresholds: Thresholds,
    pub ui: UiSettings,
    pub run: RunSettings,
    pub patches: PatchSettings,
    /// Where the watch's alerts go (`opsdeck sweep`).
    pub alerts: AlertSettings,
    /// `[[maintenance]]`: windows in which alerts for some hosts are muted.
    pub maintenance: Vec<Maintenance>,
    /// `[audit]`: the security audit.
    pub audit: AuditSettings,
}

/// `[audit]`, `[[audit.allow_port]]`, `[[audit.accept]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Use `sudo -n` for what needs root (shadow, sudoers, sshd -T, firewall
    /// rules, other users' authorized_keys).
    #[serde(rename = "become")]
    pub become_root: bool,
    pub cert_warn_days: u32,
    pub cert_crit_days: u32,
    /// More certificate files to read (besides /etc/letsencrypt/live/*/cert.pem).
    pub cert_paths: Vec<String>,
    /// Listeners that are expected (quiet).
    pub allow_port: Vec<AllowPort>,
    /// Findings accepted (quiet until `until`).
    pub accept: Vec<AcceptFinding>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            become_root: false,
            cert_warn_days: 21,
            cert_crit_days: 7,
            cert_paths: Vec::new(),
            allow_port: Vec::new(),
            accept: Vec::new(),
        }
    }
}

/// `[[audit.allow_port]]`: a listener expected on these hosts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AllowPort {
    /// Host names or @tags (empty: every host).
    pub targets: Vec<String>,
    pub port: u16,
    /// "tcp" or "udp" (default tcp).
    pub proto: Option<String>,
}

/// `[[audit.accept]]`: a finding accepted as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AcceptFinding {
    pub targets: Vec<String>,
    /// The finding's id ("sshd.password_auth").
    pub id: String,
    pub reason: Option<String>,
    #[serde(with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
}

/// `[alerts]`: the channels of the watch. Secrets never live here: the
/// SMTP password comes from `password_command`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// JSON POST per event (or per digest) to each URL.
    pub webhook: Vec<String>,
    /// Dead man's switch: `URL/start` before a sweep, `URL` after one that
    /// ran, `URL/fail` (the summary as the body) when it could not.
    pub ping: Option<String>,
    /// E-mail recipients (through `[alerts.smtp]`, else the local sendmail).
    pub mail_to: Vec<String>,
    /// The From address (default `opsdeck@HOSTNAME`).
    pub mail_from: Option<String>,
    pub smtp: Option<SmtpSettings>,
    /// "08:00": one message a day listing everything open, instead of one
    /// per change.
    pub digest: Option<String>,
}

/// `[alerts.smtp]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// A command whose first line of output is the password (e.g. `pass
    /// show smtp`); run when a mail is sent, never stored.
    pub password_command: Option<String>,
    /// STARTTLS before authenticating (required when a password is used).
    pub starttls: bool,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 587,
            user: None,
            password_command: None,
            starttls: true,
        }
    }
}

/// `[[maintenance]]`: hosts (names or @tags) whose alerts are muted in a
/// weekly or one-off window, in the local time zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Maintenance {
    pub targets: Vec<String>,
    /// "Sun 02:00-04:00" (may run past midnight: "Sat 23:00-01:00").
    pub weekly: Option<String>,
    /// One-off window: local date and time, "2026-12-24 18:00".
    pub from: Option<String>,
    pub until: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SshSettings {
    /// OpenSSH client config to resolve hosts through; default `~/.ssh/config`.
    pub config_file: Option<String>,
    /// known_hosts file used when the SSH config names none; default `~/.ssh/known_hosts`.
    pub known_hosts: Option<String>,
    /// Login user when neither hosts.toml nor the SSH config names one.
    pub user: Option<String>,
    /// Key files tried after the agent (in addition to the SSH config's IdentityFile).
    pub identity_files: Vec<String>,
    pub connect_timeout_s: u64,
    pub command_timeout_s: u64,
    /// How many hosts are worked on at once.
    pub concurrency: usize,
    /// Keep connections open this many seconds after their last use, in a
    /// helper process (as OpenSSH's ControlPersist); 0: off.
    pub persist_s: u64,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            config_file: None,
            known_hosts: None,
            user: None,
            identity_files: Vec::new(),
            connect_timeout_s: 10,
            command_timeout_s: 60,
            concurrency: 32,
            persist_s: 0,
        }
    }
}

/// Levels a finding can raise.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Crit,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub disk_warn_pct: f64,
    pub disk_crit_pct: f64,
    /// 1-minute load divided by the CPU count.
    pub load_warn_per_cpu: f64,
    pub load_crit_per_cpu: f64,
    pub mem_warn_pct: f64,
    pub mem_crit_pct: f64,
    pub failed_units: Level,
    pub reboot_required: Level,
    pub security_updates: Level,
    pub updates: Level,
    /// The clock said unsynchronised, or no time synchronisation at all.
    pub time_sync: Level,
    /// Package metadata older than this is reported as stale (e.g. "7d").
    pub metadata_max_age: String,
    pub hardware_refresh_years: u32,
    pub expiry_warn_days: u32,
    pub ticket_stale_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            disk_warn_pct: 80.0,
            disk_crit_pct: 90.0,
            load_warn_per_cpu: 1.5,
            load_crit_per_cpu: 3.0,
            mem_warn_pct: 90.0,
            mem_crit_pct: 97.0,
            failed_units: Level::Warn,
            reboot_required: Level::Warn,
            security_updates: Level::Crit,
            updates: Level::Warn,
            time_sync: Level::Warn,
            metadata_max_age: "7d".into(),
            hardware_refresh_years: 3,
            expiry_warn_days: 60,
            ticket_stale_days: 7,
        }
    }
}

/// `[ui] theme`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    /// 16 colours, unless NO_COLOR is set.
    #[default]
    Auto,
    /// No colours at all.
    Mono,
}

impl ThemeName {
    pub fn as_str(self) -> &'static str {
        match self {
            ThemeName::Auto => "auto",
            ThemeName::Mono => "mono",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// "auto" (16 colours unless NO_COLOR), "mono".
    pub theme: ThemeName,
    /// Seconds between slow ticks (age labels); nothing redraws faster without a reason.
    pub tick_s: u64,
    /// Mouse: wheel scrolls, a click selects a row or a tab. Off by default:
    /// capturing the mouse takes the terminal's own text selection (Shift
    /// still selects in most terminals).
    pub mouse: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            theme: ThemeName::Auto,
            tick_s: 5,
            mouse: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunSettings {
    /// Commands matching one of these ask for confirmation in the TUI (whole
    /// words, any case and spacing; `rm -rf` in any flag spelling).
    pub dangerous_patterns: Vec<String>,
    /// Bytes of one host's output kept by `run` and patch logs (the tail,
    /// marked truncated); the rest is counted and dropped as it arrives.
    pub max_output: u64,
}

/// Default `[run] max_output`: 1 MiB per host.
pub const DEFAULT_MAX_OUTPUT: u64 = 1024 * 1024;

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            max_output: DEFAULT_MAX_OUTPUT,
            dangerous_patterns: [
                "rm -rf",
                "rm -fr",
                "reboot",
                "shutdown",
                "poweroff",
                "halt",
                "mkfs",
                "dd ",
                "wipefs",
                "fdisk",
                "parted",
                "systemctl stop",
                "init 0",
                "init 6",
                ":(){",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PatchSettings {
    /// Hosts patched at once by `patch apply` unless `--parallel` says otherwise.
    pub parallel: usize,
    /// Seconds to wait for a host to come back after `patch reboot`.
    pub reboot_wait_s: u64,
    /// Seconds one host's apply may take before opsdeck stops waiting for it.
    pub apply_timeout_s: u64,
}

impl Default for PatchSettings {
    fn default() -> Self {
        PatchSettings {
            parallel: 1,
            reboot_wait_s: 600,
            apply_timeout_s: 3600,
        }
    }
}

// ---------------------------------------------------------------- inventory

/// One `[[host]]` of `hosts.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// ProxyJump spec: `host`, `user@host:port`, or a comma-separated chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub purchased: Option<Date>,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub warranty_until: Option<Date>,
    /// Package patterns (globs) never upgraded on this host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hold: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// TCP ports whose TLS certificates the audit reads (from the host itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_ports: Vec<u16>,
    /// Server names (SNI) asked on those ports (default: localhost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    #[default]
    Open,
    Closed,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The vendor's reference (case number); unique per vendor.
    #[serde(rename = "ref")]
    pub reference: String,
    pub subject: String,
    #[serde(default)]
    pub status: TicketStatus,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub opened: Option<Date>,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub closed: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// One `[[vendor]]` of `vendors.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_hours: Option<String>,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub contract_end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, rename = "contact", skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    #[serde(default, rename = "ticket", skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<Ticket>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    Restic,
    Borg,
    Path,
    Command,
}

/// One `[[backup]]` of `backups.toml`. Kind-specific fields are optional here
/// and validated by the backups module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupJob {
    pub name: String,
    /// A host name from hosts.toml, or "local" for the jump box itself.
    pub host: String,
    pub kind: BackupKind,
    /// restic / borg repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// restic: command whose stdout is the password (run on the backup's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    /// restic: file (on the backup's host) holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// restic: file of KEY=VALUE backend variables (on the backup's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<String>,
    /// borg: BORG_PASSCOMMAND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcommand: Option<String>,
    /// restic: only snapshots with this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// restic: only snapshots of this path. path: the directory or glob to watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// path: the newest file must be at least this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u64>,
    /// command: prints the time of the latest good backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// e.g. "26h": older than this is critical.
    pub max_age: String,
    /// Older than this is a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_age: Option<String>,
    #[serde(default, with = "toml_date", skip_serializing_if = "Option::is_none")]
    pub last_restore_test: Option<Date>,
    /// e.g. "90d".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_test_every: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl BackupJob {
    /// A job with only what every kind needs; the rest unset.
    pub fn new(name: &str, host: &str, kind: BackupKind, max_age: &str) -> Self {
        BackupJob {
            name: name.into(),
            host: host.into(),
            kind,
            repository: None,
            password_command: None,
            password_file: None,
            env_file: None,
            passcommand: None,
            tag: None,
            path: None,
            min_size: None,
            command: None,
            max_age: max_age.into(),
            warn_age: None,
            last_restore_test: None,
            restore_test_every: None,
            notes: None,
        }
    }
}

// ---------------------------------------------------------------- results

/// Nagios-style status of a host, backup or item.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Warn,
    Crit,
    Unknown,
}

impl Status {
    /// Nagios plugin exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warn => 1,
            Status::Crit => 2,
            Status::Unknown => 3,
        }
    }
    /// Severity order for "worst of": ok < unknown < warn < crit.
    pub fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warn => 2,
            Status::Crit => 3,
        }
    }
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Crit => "CRIT",
            Status::Unknown => "UNKNOWN",
        }
    }
}

impl From<Level> for Status {
    fn from(l: Level) -> Status {
        match l {
            Level::Ok => Status::Ok,
            Level::Warn => Status::Warn,
            Level::Crit => Status::Crit,
        }
    }
}

/// Exit code of a whole run per the Nagios convention, over many statuses.
pub fn nagios_exit(statuses: impl IntoIterator<Item = Status>) -> i32 {
    let mut worst = 0;
    for s in statuses {
        let code = match s {
            Status::Ok => 0,
            Status::Warn => 1,
            Status::Crit => 2,
            Status::Unknown => 3,
        };
        // crit (2) beats unknown (3) beats warn (1) beats ok (0)
        let rank = |c: i32| match c {
            0 => 0,
            1 => 1,
            3 => 2,
            _ => 3,
        };
        if rank(code) > rank(worst) {
            worst = code;
        }
    }
    worst
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Disk {
    pub mount: String,
    pub used_pct: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fstype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_kb: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct UpdateCounts {
    pub pending: Option<u32>,
    /// None where the package manager has no security metadata.
    pub security: Option<u32>,
}

/// Facts gathered by the probe. Every fact the probe could not learn is None.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Facts {
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version_id: Option<String>,
    pub kernel: Option<String>,
    pub uptime_s: Option<u64>,
    pub cpus: Option<u32>,
    pub load: Option<[f64; 3]>,
    pub mem_used_pct: Option<f64>,
    pub disks: Vec<Disk>,
    /// None where systemd is absent or could not be asked.
    pub failed_units: Option<Vec<String>>,
    pub reboot_required: Option<bool>,
    pub package_manager: Option<String>,
    pub updates: Option<UpdateCounts>,
    /// Seconds since the package metadata was last refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_age_s: Option<u64>,
    /// What the host's time tools said (None: they told nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_sync: Option<TimeSync>,
}

/// Time synchronisation as the host's tools tell it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TimeSync {
    /// The clock is synchronised (timedatectl's NTPSynchronized, chrony's
    /// leap status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronized: Option<bool>,
    /// systemd's NTP switch (timedatectl's NTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntp_enabled: Option<bool>,
    /// The time daemon seen running (chronyd, ntpd, openntpd, systemd-timesyncd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
}

/// One host's check result: the `check --json` object, also kept in state/.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    pub host: String,
    pub status: Status,
    pub error: Option<String>,
    /// Why the status is what it is ("/var 93% >= 90%").
    #[serde(default)]
    pub reasons: Vec<String>,
    pub elapsed_ms: u64,
    /// RFC 3339, UTC.
    pub checked_at: String,
    pub facts: Option<Facts>,
    /// When this check learnt nothing (`facts` null: unreachable, failed),
    /// what the last check that did learn something found, and when. Kept
    /// in state/ (`checks::save` carries it forward) so the panes, the
    /// Overview and the report show the last known figures marked stale
    /// instead of zeros; never in `check --json` (its facts stay null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_known: Option<LastKnown>,
}

/// The facts of the last check that reached the host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastKnown {
    /// RFC 3339, UTC: when those facts were gathered.
    pub checked_at: String,
    pub facts: Facts,
}

impl CheckResult {
    /// A check that learnt nothing keeps what `prev` (the host's result
    /// before it) knew: its facts, or the last known facts it kept itself.
    pub fn keep_last_known(&mut self, prev: &CheckResult) {
        if self.facts.is_some() || self.last_known.is_some() {
            return;
        }
        self.last_known = match &prev.facts {
            Some(f) => Some(LastKnown {
                checked_at: prev.checked_at.clone(),
                facts: f.clone(),
            }),
            None => prev.last_known.clone(),
        };
    }

    /// The facts to show: this check's own (None: fresh), else the last
    /// known ones with the time they were gathered (stale).
    pub fn known_facts(&self) -> Option<(&Facts, Option<&str>)> {
        match (&self.facts, &self.last_known) {
            (Some(f), _) => Some((f, None)),
            (None, Some(l)) => Some((&l.facts, Some(l.checked_at.as_str()))),
            (None, None) => None,
        }
    }
}

/// One pending package update.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Update {
    pub package: String,
    pub installed: Option<String>,
    pub candidate: String,
    pub origin: Option<String>,
    /// None where the manager has no security metadata.
    pub security: Option<bool>,
}

/// `patches --json` element, also kept in state/.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PatchReport {
    pub host: String,
    pub package_manager: Option<String>,
    pub reboot_required: Option<bool>,
    pub metadata_age_s: Option<u64>,
    pub error: Option<String>,
    pub updates: Vec<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// Upgradable packages the manager will not upgrade as asked (apt kept
    /// back or deferred by phasing, pacman IgnorePkg); not counted as pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_back: Vec<String>,
    /// The probe's package stamp when `updates` was listed (checks' cache key:
    /// the listing is re-run only when the host's stamp differs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkg_stamp: Option<String>,
    /// Pending security updates where the manager counts them without
    /// naming the packages (zypper: needed patches of category security);
    /// the per-update flags stay null then. Kept in state/, not in
    /// `patches --json` (whose fields are the brief's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_count: Option<u32>,
}

impl PatchReport {
    /// Pending security updates: the manager's own count where it gives
    /// one (zypper), else counted from the per-update flags when every
    /// update has one; None: unknown (apk, pacman, dnf without updateinfo).
    pub fn security_pending(&self) -> Option<usize> {
        if let Some(n) = self.security_count {
            return Some(n as usize);
        }
        self.updates.iter().all(|u| u.security.is_some()).then(|| {
            self.updates
                .iter()
                .filter(|u| u.security == Some(true))
                .count()
        })
    }
}

/// `backups --json` element, also kept in state/.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackupResult {
    pub name: String,
    pub host: String,
    pub kind: BackupKind,
    pub status: Status,
    /// RFC 3339 time of the latest good backup.
    pub latest: Option<String>,
    pub age_s: Option<u64>,
    pub max_age_s: u64,
    pub error: Option<String>,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// The newest snapshots/archives/files found (newest first, a few), for details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<BackupSnapshot>,
}

/// One snapshot (restic), archive (borg) or file (path) a backup check found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct BackupSnapshot {
    /// Snapshot id, archive name, or file path.
    pub id: String,
    /// RFC 3339, UTC.
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Bytes (file size, or restic's total_bytes_processed when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// Pick hosts by `TARGET` words: a host name, `@tag`, or `all` (also when
/// empty). Keeps the order of `hosts`; an unknown name or tag is an error.
pub fn select_hosts<'a>(hosts: &'a [Host], targets: &[String]) -> Result<Vec<&'a Host>, String> {
    if targets.is_empty() || targets.iter().any(|t| t == "all") {
        return Ok(hosts.iter().collect());
    }
    let mut chosen = vec![false; hosts.len()];
    for t in targets {
        let mut found = false;
        if let Some(tag) = t.strip_prefix('@') {
            for (i, h) in hosts.iter().enumerate() {
                if h.tags.iter().any(|x| x == tag) {
                    chosen[i] = true;
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "no host has the tag `{tag}` (see `opsdeck host list`)"
                ));
            }
        } else {
            for (i, h) in hosts.iter().enumerate() {
                if &h.name == t {
                    chosen[i] = true;
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "no host named `{t}` in hosts.toml (see `opsdeck host list`)"
                ));
            }
        }
    }
    Ok(hosts
        .iter()
        .zip(chosen)
        .filter_map(|(h, c)| c.then_some(h))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, tags: &[&str]) -> Host {
        Host {
            name: name.into(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn selecting() {
        let hosts = vec![host("a", &["web"]), host("b", &["db"]), host("c", &["web"])];
        let names = |v: Vec<&Host>| v.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(select_hosts(&hosts, &[]).unwrap()), ["a", "b", "c"]);
        assert_eq!(
            names(select_hosts(&hosts, &["@web".into()]).unwrap()),
            ["a", "c"]
        );
        assert_eq!(
            names(select_hosts(&hosts, &["c".into(), "b".into()]).unwrap()),
            ["b", "c"]
        );
        assert!(select_hosts(&hosts, &["zz".into()]).is_err());
        assert!(select_hosts(&hosts, &["@nope".into()]).is_err());
    }

    #[test]
    fn nagios_order() {
        assert_eq!(nagios_exit([Status::Ok, Status::Warn]), 1);
        assert_eq!(nagios_exit([Status::Unknown, Status::Warn]), 3);
        assert_eq!(nagios_exit([Status::Unknown, Status::Crit]), 2);
        assert_eq!(nagios_exit([]), 0);
    }

    #[test]
    fn toml_dates() {
        let h: Host =
            toml::from_str("name = \"a\"\npurchased = 2023-04-01\nwarranty_until = \"2026-01-31\"")
                .unwrap();
        assert_eq!(h.purchased.unwrap().to_string(), "2023-04-01");
        assert_eq!(h.warranty_until.unwrap().to_string(), "2026-01-31");
        assert!(toml::from_str::<Host>("name = \"a\"\npurchased = 2023-04-01T10:00:00Z").is_err());
        assert!(toml::from_str::<Host>("name = \"a\"\npurchased = \"soon\"").is_err());
    }
}

// ---------------------------------------------------------------- maintenance

/// A maintenance window, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Every week: the day (0 = Monday) and minutes of the day, start to end
    /// (end ≤ start: past midnight into the next day).
    Weekly { day: u8, start: u16, end: u16 },
    /// Once, local civil times.
    Once {
        from: jiff::civil::DateTime,
        until: jiff::civil::DateTime,
    },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.trim().len() == 5).then_some(h * 60 + m)
}

/// "08:00" → minutes of the day.
pub fn parse_hhmm(s: &str) -> Result<u16, String> {
    hhmm(s).ok_or_else(|| format!("`{s}` is not a time of day such as \"08:00\""))
}

impl Maintenance {
    /// The window, or why it cannot be read.
    pub fn window(&self) -> Result<Window, String> {
        match (&self.weekly, &self.from, &self.until) {
            (Some(w), None, None) => {
                let bad = || format!("weekly = \"{w}\": write a day and hours such as \"Sun 02:00-04:00\"");
                let (day, hours) = w.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
                let d = day.to_ascii_lowercase();
                let day = DAYS
                    .iter()
                    .position(|x| d.starts_with(x) && d.len() >= 3)
                    .ok_or_else(bad)? as u8;
                let (a, b) = hours.trim().split_once('-').ok_or_else(bad)?;
                let (start, end) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
                if start == end {
                    return Err(format!("weekly = \"{w}\": the window is empty"));
                }
                Ok(Window::Weekly { day, start, end })
            }
            (None, Some(f), Some(u)) => {
                let p = |k: &str, v: &str| {
                    v.trim().replacen(' ', "T", 1).parse::<jiff::civil::DateTime>().map_err(|_| {
                        format!("{k} = \"{v}\": write a local date and time such as \"2026-12-24 18:00\"")
                    })
                };
                let (from, until) = (p("from", f)?, p("until", u)?);
                if until <= from {
                    return Err(format!("until = \"{u}\" is not after from = \"{f}\""));
                }
                Ok(Window::Once { from, until })
            }
            _ => Err(
                "a maintenance window needs either weekly = \"Sun 02:00-04:00\" or both from and until"
                    .into(),
            ),
        }
    }
}

impl Window {
    /// Is the local civil time `t` inside the window?
    pub fn contains(&self, t: jiff::civil::DateTime) -> bool {
        match *self {
            Window::Once { from, until } => from <= t && t < until,
            Window::Weekly { day, start, end } => {
                let today = t.date().weekday().to_monday_zero_offset() as u8;
                let m = t.hour() as u16 * 60 + t.minute() as u16;
                if start < end {
                    today == day && (start..end).contains(&m)
                } else {
                    (today == day && m >= start) || (today == (day + 1) % 7 && m < end)
                }
            }
        }
    }
}
