//! init, host, vendor, backup restored, export.
use std::io::Write;
use std::path::Path;

use super::*;
use crate::error::CmdResult;
use crate::inventory;
use crate::model::{toml_date, Date, Host, Ticket, Vendor};
use crate::store::{today, Store};

/// The commented example files `init` writes (embedded at build time).
pub const EXAMPLES: [(&str, &str); 4] = [
    ("opsdeck.toml", include_str!("../../config/opsdeck.toml")),
    ("hosts.toml", include_str!("../../config/hosts.toml")),
    ("backups.toml", include_str!("../../config/backups.toml")),
    ("vendors.toml", include_str!("../../config/vendors.toml")),
];

fn load(home: &Home) -> Result<Store, Failure> {
    Store::load(home.clone()).map_err(Failure::from)
}

/// A date given on the command line: exactly YYYY-MM-DD, a real day.
fn date_arg(flag: &str, value: &Option<String>) -> Result<Option<Date>, Failure> {
    let Some(s) = value.as_deref().map(str::trim) else {
        return Ok(None);
    };
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return Err(Failure::usage(format!(
            "{flag}: `{s}` is not a date: write it as YYYY-MM-DD, e.g. 2024-03-31"
        )));
    }
    toml_date::parse(s)
        .map(Some)
        .map_err(|e| Failure::usage(format!("{flag}: {e}")))
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Print one JSON document on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> CmdResult {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot write JSON: {e}")))?;
    say!("{text}");
    Ok(exit::OK)
}

/// Cut a cell to `width` characters, marking the cut with `…`.
fn cell(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// An aligned table: columns as wide as their content, capped so that a
/// row fits 80 columns where it can (the last column takes what is left).
fn table(headers: &[&str], rows: &[Vec<String>], caps: &[usize]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    for (w, cap) in widths.iter_mut().zip(caps) {
        *w = (*w).min(*cap);
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let c = cell(c, widths[i]);
            if i + 1 == n {
                l.push_str(&c);
            } else {
                l.push_str(&format!("{:<w$}  ", c, w = widths[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
    out
}

fn relative(home: &Home, p: &Path) -> String {
    p.strip_prefix(&home.config_dir)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| p.display().to_string())
}

// ------------------------------------------------------------ init

pub fn init(home: &Home, a: &InitArgs) -> CmdResult {
    if a.print_dir {
        say!("{}", home.config_dir.display());
        return Ok(exit::OK);
    }
    crate::store::write::ensure_dir(&home.config_dir).map_err(Failure::from)?;
    for (name, text) in EXAMPLES {
        let path = home.config_dir.join(name);
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| {
                        Failure::new(
                            exit::IOERR,
                            format!("{}: cannot write: {e}", path.display()),
                        )
                    })?;
                say!("wrote   {}", path.display());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                say!("skipped {} (exists; left as it is)", path.display());
            }
            Err(e) => {
                return Err(Failure::new(
                    exit::CANTCREAT,
                    format!("{}: cannot create: {e}", path.display()),
                ))
            }
        }
    }
    say!(
        "Edit the files in {} (every key is explained in them), then run `opsdeck check`.",
        home.config_dir.display()
    );
    Ok(exit::OK)
}

// ------------------------------------------------------------ hosts

pub fn host(home: &Home, c: HostCmd) -> CmdResult {
    match c {
        HostCmd::Add(a) => host_add(home, *a),
        HostCmd::List(a) => host_list(home, &a),
        HostCmd::Rm { name } => {
            let mut store = load(home)?;
            store.remove_host(&name)?;
            say!(
                "removed host {name} from {}",
                relative(home, &home.hosts_path())
            );
            Ok(exit::OK)
        }
        HostCmd::Import(a) => host_import(home, &a),
    }
}

fn host_add(home: &Home, a: HostAddArgs) -> CmdResult {
    let host = Host {
        purchased: date_arg("--purchased", &a.purchased)?,
        warranty_until: date_arg("--warranty-until", &a.warranty_until)?,
        name: a.name,
        address: nonempty(a.address),
        port: a.port,
        user: nonempty(a.user),
        jump: nonempty(a.jump),
        tags: a
            .tags
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect(),
        role: nonempty(a.role),
        location: nonempty(a.location),
        vendor: nonempty(a.vendor),
        hold: Vec::new(),
        notes: nonempty(a.notes),
        ..Host::default()
    };
    let mut store = load(home)?;
    if let Some(v) = &host.vendor {
        if store.vendor(v).is_none() {
            tell!("note: vendor `{v}` is not in vendors.toml (yet)");
        }
    }
    let name = host.name.clone();
    store.add_host(host)?;
    say!(
        "added host {name} to {}",
        relative(home, &home.hosts_path())
    );
    Ok(exit::OK)
}

fn host_list(home: &Home, a: &ListArgs) -> CmdResult {
    let store = load(home)?;
    if a.json {
        return print_json(&store.hosts);
    }
    if store.hosts.is_empty() {
        tell!(
            "no hosts yet: `opsdeck host add NAME` or `opsdeck host import --ssh-config ~/.ssh/config`"
        );
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = store
        .hosts
        .iter()
        .map(|h| {
            vec![
                h.name.clone(),
                h.address.clone().unwrap_or_else(|| "-".into()),
                h.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                h.user.clone().unwrap_or_else(|| "-".into()),
                h.jump.clone().unwrap_or_else(|| "-".into()),
                if h.tags.is_empty() {
                    "-".into()
                } else {
                    h.tags.join(",")
                },
            ]
        })
        .collect();
    out::text(&table(
        &["NAME", "ADDRESS", "PORT", "USER", "JUMP", "TAGS"],
        &rows,
        &[20, 20, 5, 10, 12, 80],
    ));
    Ok(exit::OK)
}

fn host_import(home: &Home, a: &ImportArgs) -> CmdResult {
    let (source, found) = if let Some(p) = &a.ssh_config {
        let found = inventory::ssh_config_aliases(p).map_err(|e| Failure::new(exit::NOINPUT, e))?;
        (p, found)
    } else if let Some(p) = &a.ansible {
        let text = std::fs::read_to_string(p).map_err(|e| {
            Failure::new(exit::NOINPUT, format!("{}: cannot read: {e}", p.display()))
        })?;
        let found = inventory::parse_ansible(p, &text)
            .map_err(|e| Failure::new(exit::DATAERR, format!("{}: {e}", p.display())))?;
        (p, found)
    } else {
        return Err(Failure::usage(
            "say what to import: --ssh-config FILE or --ansible FILE",
        ));
    };
    let mut store = load(home)?;
    for n in &found.notes {
        tell!("note: {n}");
    }
    let mut new = Vec::new();
    let mut present = Vec::new();
    let mut invalid = Vec::new();
    for h in found.hosts {
        if store.host(&h.name).is_some() {
            present.push(h.name);
        } else if let Err(e) = crate::store::check_host(&h) {
            invalid.push(e.to_string());
        } else {
            new.push(h);
        }
    }
    for e in &invalid {
        tell!("skipped: {e}");
    }
    if !present.is_empty() {
        say!(
            "skipped {} already in hosts.toml: {}",
            present.len(),
            present.join(", ")
        );
    }
    if new.is_empty() {
        say!("nothing new to import from {}", source.display());
        return Ok(exit::OK);
    }
    let names: Vec<String> = new.iter().map(|h| h.name.clone()).collect();
    store.import_hosts(new, &source.display().to_string())?;
    say!(
        "imported {} from {}: {}",
        crate::util::plural(names.len(), "host", "hosts"),
        source.display(),
        names.join(", ")
    );
    Ok(exit::OK)
}

// ------------------------------------------------------------ vendors

pub fn vendor(home: &Home, c: VendorCmd) -> CmdResult {
    match c {
        VendorCmd::Add(a) => {
            let vendor = Vendor {
                contract_end: date_arg("--contract-end", &a.contract_end)?,
                name: a.name.trim().to_string(),
                category: nonempty(a.category),
                account: nonempty(a.account),
                phone: nonempty(a.phone),
                email: nonempty(a.email),
                portal: nonempty(a.portal),
                support_hours: nonempty(a.support_hours),
                notes: nonempty(a.notes),
                contacts: Vec::new(),
                tickets: Vec::new(),
            };
            let mut store = load(home)?;
            let name = vendor.name.clone();
            store.add_vendor(vendor)?;
            say!(
                "added vendor {name} to {}",
                relative(home, &home.vendors_path())
            );
            Ok(exit::OK)
        }
        VendorCmd::List(a) => vendor_list(home, &a),
        VendorCmd::Rm { name } => {
            let mut store = load(home)?;
            let gone = store.remove_vendor(&name)?;
            let users: Vec<&str> = store
                .hosts
                .iter()
                .filter(|h| h.vendor.as_deref() == Some(gone.name.as_str()))
                .map(|h| h.name.as_str())
                .collect();
            say!(
                "removed vendor {name} from {}",
                relative(home, &home.vendors_path())
            );
            if !users.is_empty() {
                tell!(
                    "note: hosts still name it as their vendor: {}",
                    users.join(", ")
                );
            }
            Ok(exit::OK)
        }
        VendorCmd::Ticket(TicketCmd::Add {
            vendor,
            subject,
            reference,
        }) => {
            let mut store = load(home)?;
            let t = store.add_ticket(
                &vendor,
                Ticket {
                    reference: reference.unwrap_or_default().trim().to_string(),
                    subject,
                    ..Default::default()
                },
            )?;
            say!("opened ticket {} with {vendor}", t.reference);
            Ok(exit::OK)
        }
        VendorCmd::Ticket(TicketCmd::Close { vendor, reference }) => {
            let mut store = load(home)?;
            store.close_ticket(&vendor, &reference, today())?;
            say!("closed ticket {reference} with {vendor}");
            Ok(exit::OK)
        }
    }
}

fn vendor_list(home: &Home, a: &ListArgs) -> CmdResult {
    let store = load(home)?;
    if a.json {
        return print_json(&store.vendors);
    }
    if store.vendors.is_empty() {
        tell!("no vendors yet: `opsdeck vendor add NAME --phone ... --email ...`");
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = store
        .vendors
        .iter()
        .map(|v| {
            let open = v
                .tickets
                .iter()
                .filter(|t| t.status == crate::model::TicketStatus::Open)
                .count();
            vec![
                v.name.clone(),
                v.category.clone().unwrap_or_else(|| "-".into()),
                v.phone.clone().unwrap_or_else(|| "-".into()),
                v.contract_end
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                open.to_string(),
                v.email.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out::text(&table(
        &["NAME", "CATEGORY", "PHONE", "CONTRACT", "OPEN", "EMAIL"],
        &rows,
        &[20, 10, 16, 10, 4, 80],
    ));
    Ok(exit::OK)
}

// ------------------------------------------------------------ backups

pub fn backup(home: &Home, c: BackupCmd) -> CmdResult {
    match c {
        BackupCmd::Restored { name, date } => {
            let date = date_arg("--date", &date)?.unwrap_or_else(today);
            if date > today() {
                return Err(Failure::usage(format!(
                    "--date {date} is in the future; a restore test is recorded after it happened"
                )));
            }
            let mut store = load(home)?;
            store.record_restore_test(&name, date)?;
            say!("recorded a restore test of {name} on {date}");
            Ok(exit::OK)
        }
        BackupCmd::Add(a) => super::backup_edit::add(home, *a),
        BackupCmd::Edit(a) => super::backup_edit::edit(home, *a),
        BackupCmd::Rm { name } => super::backup_edit::rm(home, &name),
    }
}

// ------------------------------------------------------------ export

pub fn export(home: &Home, c: ExportCmd) -> CmdResult {
    match c {
        ExportCmd::Ansible { output } => {
            let store = load(home)?;
            // each host as OpenSSH resolves it through the configured config
            // file: Ansible then reaches every host opsdeck reaches
            let engine = super::engine(&store, false);
            let cfg = crate::ssh::config::config_path(&store.settings.ssh)
                .filter(|_| store.settings.ssh.config_file.is_some());
            let mut conns = std::collections::BTreeMap::new();
            for h in &store.hosts {
                match engine.resolve(h) {
                    Ok(r) => {
                        conns.insert(
                            h.name.clone(),
                            inventory::ExportConn::from_resolved(&r, cfg.as_deref()),
                        );
                    }
                    Err(e) => tell!(
                        "note: {}: {e}; exported with the settings of hosts.toml only",
                        h.name
                    ),
                }
            }
            let text = inventory::export_ansible_resolved(&store.hosts, &conns);
            match output {
                Some(p) if p.as_os_str() != "-" => {
                    crate::store::write::write_atomic(&p, text.as_bytes())?;
                    tell!(
                        "wrote {} to {}",
                        crate::util::plural(store.hosts.len(), "host", "hosts"),
                        p.display()
                    );
                }
                _ => out::text(&text),
            }
            Ok(exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit() {
        let rows = vec![vec![
            "a-very-long-host-name-indeed-yes".to_string(),
            "x".into(),
        ]];
        let t = table(&["NAME", "ADDRESS"], &rows, &[10, 80]);
        assert_eq!(t, "NAME        ADDRESS\na-very-lo…  x\n");
    }
}
