//! The command line: one definition of every command (the stable interface
//! of PRODUCT.md), parsed with clap, dispatched to one module per area.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::{exit, CmdResult, Failure};
use crate::store::Home;
use out::{say, tell};

pub mod audit;
pub mod backup_edit;
pub mod backups;
pub mod check;
pub mod inventory;
pub mod out;
pub mod patch;
pub mod report;
pub mod run;
pub mod watch;

const AFTER_HELP: &str = "\
Examples:
  opsdeck init                          write commented example files
  opsdeck host import --ssh-config ~/.ssh/config
  opsdeck check --json | jq '.[] | select(.status != \"ok\")'
  opsdeck patches @web
  opsdeck                               the TUI

Files live in the config dir (or $OPSDECK_HOME); see `opsdeck init`.
Exit status of check, patches and backups: 0 ok, 1 warning, 2 critical, 3 unknown;
64 usage error, 78 a config file that does not parse.";

#[derive(Debug, Parser)]
#[command(name = "opsdeck", version, about = "A terminal console for the one person who is the IT department", after_help = AFTER_HELP)]
pub struct Cli {
    /// Keep every file under DIR (state in DIR/state); same as OPSDECK_HOME=DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// More detail in the log (and on stderr for headless commands).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write commented example files (never overwrites an existing file).
    #[command(
        after_help = "Example:\n  opsdeck init && $EDITOR \"$(opsdeck init --print-dir)\"/hosts.toml"
    )]
    Init(InitArgs),
    /// Keep the inventory of hosts.
    #[command(subcommand)]
    Host(HostCmd),
    /// Check the health of hosts over SSH (Nagios exit status).
    #[command(
        after_help = "Examples:\n  opsdeck check\n  opsdeck check web1 @db --json\n  opsdeck check newhost --accept-new"
    )]
    Check(CheckArgs),
    /// List pending updates per host (Nagios exit status).
    #[command(
        after_help = "Examples:\n  opsdeck patches\n  opsdeck patches @web --json | jq '.[].updates | length'"
    )]
    Patches(PatchesArgs),
    /// Apply updates, refresh package metadata, reboot.
    #[command(subcommand)]
    Patch(PatchCmd),
    /// Show the freshness of every backup job (Nagios exit status).
    #[command(
        after_help = "Examples:\n  opsdeck backups\n  opsdeck backups --json | jq '.[] | select(.status != \"ok\")'"
    )]
    Backups(BackupsArgs),
    /// Record facts about a backup job.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Keep the list of vendors, their contacts and tickets.
    #[command(subcommand)]
    Vendor(VendorCmd),
    /// Run one command on many hosts; output grouped per host.
    #[command(
        after_help = "Examples:\n  opsdeck run @web -- systemctl is-active nginx\n  opsdeck run all --json -- df -h /"
    )]
    Run(RunArgs),
    /// The state of the fleet for a manager or an auditor.
    #[command(
        after_help = "Examples:\n  opsdeck report -o fleet.md\n  opsdeck report --format json | jq .summary"
    )]
    Report(ReportArgs),
    /// Hand the inventory to another tool.
    #[command(subcommand)]
    Export(ExportCmd),
    /// One sweep of everything (health, patches, backups, lifecycle,
    /// tickets), history, forecasts and alerts on change: for a timer.
    #[command(
        after_help = "Examples:\n  opsdeck sweep\n  opsdeck sweep --json | jq .events\n  opsdeck schedule install --every 10m\n\nA second sweep while one runs exits 0 at once (a message on stderr), touching nothing."
    )]
    Sweep(SweepArgs),
    /// Run `opsdeck sweep` from a timer (systemd user timer, or cron).
    #[command(subcommand)]
    Schedule(ScheduleCmd),
    /// The alert channels of `[alerts]`.
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// The samples the sweeps kept for one host.
    History(HistoryArgs),
    /// Audit the security of hosts (read-only): sshd, listeners, firewall,
    /// automatic updates, accounts, reboot debt, time, keys, certificates.
    #[command(
        after_help = "Examples:\n  opsdeck audit\n  opsdeck audit @web --json | jq '.[].findings[] | select(.severity == \"crit\")'"
    )]
    Audit(AuditArgs),
    /// Who can log in where: find or revoke an authorised SSH key.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The connection helper of `[ssh] persist_s` (started by opsdeck itself).
    #[command(name = "__mux", hide = true)]
    Mux(MuxArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Host names, @tags, or all (the default).
    pub targets: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Record unknown host keys (as OpenSSH's accept-new).
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Every host, user and file where a key is authorised (exit 0 found, 1 not found).
    Find {
        /// `SHA256:…` or a public key line (`ssh-ed25519 AAAA… comment`).
        key: String,
        /// Hosts to look on (default: all).
        #[arg(long = "on", value_name = "TARGET")]
        on: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a key everywhere it is authorised on TARGETS, after a plan.
    Revoke {
        /// `SHA256:…` or a public key line.
        key: String,
        /// Host names, @tags, or all.
        #[arg(required = true)]
        targets: Vec<String>,
        /// Show the plan only.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Host names, @tags, or all (the default); their backup jobs with them.
    pub targets: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Keep no history this time (and so forecast nothing).
    #[arg(long)]
    pub no_history: bool,
    /// Record unknown host keys (as OpenSSH's accept-new).
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCmd {
    /// Install the timer (systemd user timer; without systemd, print the
    /// crontab line, installed with --crontab).
    Install {
        /// How often: 1m to 24h.
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        every: String,
        /// Use cron even where a systemd user manager runs.
        #[arg(long)]
        cron: bool,
        /// Install the crontab line with `crontab` (cron path).
        #[arg(long)]
        crontab: bool,
    },
    /// The last sweep, its result, and when the next is due.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Remove the timer or the crontab line.
    Remove,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// Send a test message on every channel and say which worked.
    Test,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub host: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MuxArgs {
    /// The home's state directory (the helper uses STATE/mux/).
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Seconds a connection is kept after its last use.
    #[arg(long, value_name = "N")]
    pub idle_s: u64,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the directory the files go to, and write nothing.
    #[arg(long)]
    pub print_dir: bool,
}

#[derive(Debug, Subcommand)]
pub enum HostCmd {
    /// Add a host to hosts.toml.
    #[command(
        after_help = "Examples:\n  opsdeck host add web1 --address 10.0.0.5 --tag web --tag prod\n  opsdeck host add db1 --user admin --port 2222 --jump bastion"
    )]
    Add(Box<HostAddArgs>),
    /// List the hosts.
    List(ListArgs),
    /// Remove a host from hosts.toml.
    #[command(after_help = "Example:\n  opsdeck host rm web1")]
    Rm { name: String },
    /// Import hosts from an SSH config or an Ansible inventory.
    #[command(
        after_help = "Examples:\n  opsdeck host import --ssh-config ~/.ssh/config\n  opsdeck host import --ansible inventory.yml"
    )]
    Import(ImportArgs),
}

#[derive(Debug, Args, Default)]
pub struct HostAddArgs {
    pub name: String,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long, value_parser = crate::limits::flag(crate::limits::PORT))]
    pub port: Option<u16>,
    #[arg(long)]
    pub user: Option<String>,
    /// Tag (repeatable); `@tag` selects hosts by it.
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// ProxyJump host(s), as in ssh -J.
    #[arg(long)]
    pub jump: Option<String>,
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub vendor: Option<String>,
    /// Purchase date, YYYY-MM-DD.
    #[arg(long)]
    pub purchased: Option<String>,
    /// End of warranty, YYYY-MM-DD.
    #[arg(long)]
    pub warranty_until: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ImportArgs {
    /// Every concrete `Host` alias of this OpenSSH config becomes a host.
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// An Ansible inventory (INI or YAML); groups become tags.
    #[arg(long, value_name = "FILE")]
    pub ansible: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Host names, @tags, or all (the default).
    pub targets: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Every reason and name whole (the table is cut to fit 80 columns).
    #[arg(long)]
    pub wide: bool,
    /// Record unknown host keys (as OpenSSH's accept-new); changed keys are still refused.
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Args, Default)]
pub struct PatchesArgs {
    pub targets: Vec<String>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Subcommand)]
pub enum PatchCmd {
    /// Apply pending updates, one host at a time unless --parallel.
    #[command(
        after_help = "Examples:\n  opsdeck patch apply web1 --dry-run\n  opsdeck patch apply @web --security-only --yes\n  opsdeck patch apply all --parallel 4 --keep-going --yes"
    )]
    Apply(PatchApplyArgs),
    /// Refresh the package metadata (apt-get update, dnf makecache, ...).
    Refresh(PatchTargetsArgs),
    /// Reboot hosts, wait for them to come back, re-check them.
    Reboot(PatchTargetsArgs),
}

#[derive(Debug, Args, Default)]
pub struct PatchApplyArgs {
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Only updates the package manager marks as security.
    #[arg(long)]
    pub security_only: bool,
    /// Say what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Hosts patched at once (default from [patches] parallel, 1).
    #[arg(long, value_parser = crate::limits::flag(crate::limits::PARALLEL))]
    pub parallel: Option<usize>,
    /// Go on with the other hosts after a failure.
    #[arg(long)]
    pub keep_going: bool,
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Args, Default)]
pub struct PatchTargetsArgs {
    #[arg(required = true)]
    pub targets: Vec<String>,
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Args, Default)]
pub struct BackupsArgs {
    /// Only these backup jobs (default: all).
    pub names: Vec<String>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Add a backup job to backups.toml.
    #[command(
        after_help = "Examples:\n  opsdeck backup add nas-restic --host nas --kind restic --repository /srv/restic --password-file /etc/restic/pw --max-age 26h\n  opsdeck backup add db-dumps --host db1 --kind path --path '/var/backups/db/*.sql.gz' --min-size 1000000 --max-age 26h --restore-test-every 90d"
    )]
    Add(Box<backup_edit::BackupAddArgs>),
    /// Change fields of a backup job (an empty value unsets a field).
    #[command(
        after_help = "Examples:\n  opsdeck backup edit nas-restic --max-age 30h\n  opsdeck backup edit db-dumps --rename db1-dumps --warn-age ''"
    )]
    Edit(Box<backup_edit::BackupEditArgs>),
    /// Remove a backup job from backups.toml.
    Rm { name: String },
    /// Record a successful restore test (today unless --date).
    #[command(after_help = "Example:\n  opsdeck backup restored nas-restic --date 2026-11-20")]
    Restored {
        name: String,
        /// YYYY-MM-DD
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum VendorCmd {
    /// Add a vendor to vendors.toml.
    #[command(
        after_help = "Example:\n  opsdeck vendor add \"Acme ISP\" --category isp --phone '+1 555 0100' --contract-end 2027-06-30"
    )]
    Add(VendorAddArgs),
    /// List vendors.
    List(ListArgs),
    /// Remove a vendor.
    Rm { name: String },
    /// Open or close tickets with a vendor.
    #[command(subcommand)]
    Ticket(TicketCmd),
}

#[derive(Debug, Args, Default)]
pub struct VendorAddArgs {
    pub name: String,
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long)]
    pub portal: Option<String>,
    #[arg(long)]
    pub support_hours: Option<String>,
    /// YYYY-MM-DD
    #[arg(long)]
    pub contract_end: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TicketCmd {
    /// Open a ticket (reference generated when --ref is not given).
    #[command(
        after_help = "Example:\n  opsdeck vendor ticket add \"Acme ISP\" \"Line down at branch\" --ref CASE-1234"
    )]
    Add {
        vendor: String,
        subject: String,
        #[arg(long = "ref")]
        reference: Option<String>,
    },
    /// Close a ticket by its reference.
    Close { vendor: String, reference: String },
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Host names, @tags or all, then `--` and the command.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Seconds before a host's command is abandoned (default [ssh] command_timeout_s).
    #[arg(long, value_parser = crate::limits::flag(crate::limits::COMMAND_TIMEOUT_S))]
    pub timeout: Option<u64>,
    #[arg(long)]
    pub accept_new: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Markdown,
    Json,
}

#[derive(Debug, Args, Default)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// An Ansible YAML inventory: tags become groups.
    #[command(
        after_help = "Example:\n  opsdeck export ansible -o inventory.yml && ansible-inventory -i inventory.yml --list"
    )]
    Ansible {
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Parse the command line. Usage errors print a short hint and exit 64;
/// `--help` / `--version` print and exit 0.
/// The store and the hosts `TARGET...` selects (none: all), in the order of
/// hosts.toml; an unknown target is a usage error (64).
fn load_targets(
    home: &Home,
    targets: &[String],
) -> Result<(crate::store::Store, Vec<crate::model::Host>), Failure> {
    let store = crate::store::Store::load(home.clone()).map_err(Failure::from)?;
    let hosts = crate::model::select_hosts(&store.hosts, targets)
        .map_err(Failure::usage)?
        .into_iter()
        .cloned()
        .collect();
    Ok((store, hosts))
}

/// The SSH engine of a headless command: `[ssh]` settings, the home's
/// state (persisted connection facts), `--accept-new` as given.
fn engine(store: &crate::store::Store, accept_new: bool) -> crate::ssh::Engine {
    crate::ssh::Engine::new(
        &store.settings.ssh,
        crate::ssh::EngineOptions { accept_new },
    )
    .with_home(&store.home)
}

/// A cancel flag the first Ctrl-C raises (saying `what` happens then); a
/// second Ctrl-C leaves at once (exit 130). The tasks stop between hosts.
fn cancel_on_interrupt(what: &'static str) -> crate::ssh::CancelFlag {
    let cancel = crate::ssh::CancelFlag::default();
    let flag = cancel.clone();
    let spawned = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    out::tell_line(&format!("opsdeck: {what} (Ctrl-C again to leave now)"));
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                }
            });
        });
    if let Err(e) = spawned {
        tracing::warn!("no Ctrl-C handling: {e}");
    }
    cancel
}

use crate::ops::target_label;

pub fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    std::process::exit(
                        if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                            exit::USAGE
                        } else {
                            exit::OK
                        },
                    );
                }
                _ => {
                    let rendered = e.render().to_string();
                    let first = rendered
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("error: invalid usage");
                    let hint = rendered
                        .lines()
                        .find(|l| l.contains("--help"))
                        .map(|l| l.trim().to_string())
                        .unwrap_or_else(|| "For more information, try '--help'.".into());
                    tell!("{first}\n{hint}");
                    std::process::exit(exit::USAGE);
                }
            }
        }
    }
}

/// Run one headless command; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let home = match Home::resolve(cli.home.as_deref()).and_then(|h| h.check_safe().map(|_| h)) {
        Ok(h) => h,
        Err(e) => return report(Failure::from(e)),
    };
    if let Some(Command::Mux(a)) = &cli.command {
        return crate::ssh::mux::run_helper(&a.state_dir, a.idle_s);
    }
    let Some(command) = cli.command else {
        return match crate::ui::run(home) {
            Ok(()) => exit::OK,
            Err(f) => report(f),
        };
    };
    let _log = crate::logging::init_headless(&home, cli.verbose);
    let result: CmdResult = match command {
        Command::Init(a) => inventory::init(&home, &a),
        Command::Host(c) => inventory::host(&home, c),
        Command::Vendor(c) => inventory::vendor(&home, c),
        Command::Backup(c) => inventory::backup(&home, c),
        Command::Export(c) => inventory::export(&home, c),
        Command::Check(a) => check::run(&home, &a),
        Command::Patches(a) => patch::list(&home, &a),
        Command::Patch(c) => patch::run(&home, c),
        Command::Backups(a) => backups::run(&home, &a),
        Command::Run(a) => run::run(&home, &a),
        Command::Report(a) => report::run(&home, &a),
        Command::Sweep(a) => watch::sweep(&home, &a),
        Command::Schedule(c) => watch::schedule(&home, c),
        Command::Alerts(c) => watch::alerts(&home, c),
        Command::History(a) => watch::history(&home, &a),
        Command::Audit(a) => audit::run(&home, &a),
        Command::Keys(c) => audit::keys(&home, c),
        Command::Mux(_) => Ok(exit::OK),
    };
    let code = match result {
        Ok(code) => code,
        Err(f) => report(f),
    };
    out::finish(code)
}

fn report(f: Failure) -> i32 {
    tell!("opsdeck: {}", f.message);
    f.code
}
