//! Use of every real filesystem (`df`); pseudo filesystems are skipped as
//! `check_disk -X` skips them.

use super::{keep, non_empty, pct, round1, Family, Reasons};
use crate::model::{Disk, Facts, Status, Thresholds};
use crate::sections::{ParseError, Sections};

pub const FAMILY: Family = Family {
    name: "disks",
    probe: r#"
echo "@@opsdeck disks"
if have df; then
    $T df -P -k -T 2>/dev/null || $T df -P -k 2>/dev/null
fi
"#,
    parse: |s: &Sections, f: &mut Facts, problems: &mut Vec<ParseError>| {
        f.disks = keep(parse_disks(s.get("disks").unwrap_or(&[])), problems);
    },
    rule,
    details,
};

fn rule(f: &Facts, t: &Thresholds, r: &mut Reasons) {
    if f.disks.is_empty() {
        r.raise(Status::Unknown, "disk usage unknown".into());
    }
    for d in &f.disks {
        if d.used_pct >= t.disk_crit_pct {
            r.raise(
                Status::Crit,
                format!("{} {} ≥ {}", d.mount, pct(d.used_pct), pct(t.disk_crit_pct)),
            );
        } else if d.used_pct >= t.disk_warn_pct {
            r.raise(
                Status::Warn,
                format!("{} {} ≥ {}", d.mount, pct(d.used_pct), pct(t.disk_warn_pct)),
            );
        }
    }
}

fn details(f: &Facts) -> Vec<(&'static str, String)> {
    f.disks
        .iter()
        .map(|d| {
            (
                "disk",
                format!(
                    "{} {:.1}%{}",
                    d.mount,
                    d.used_pct,
                    d.fstype
                        .as_ref()
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default()
                ),
            )
        })
        .collect()
}

/// Filesystem types that hold no user data, as `check_disk -X` skips them.
pub const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "tracefs",
    "nsfs",
    "autofs",
    "ramfs",
    "efivarfs",
    "devpts",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "binfmt_misc",
    "rpc_pipefs",
    "selinuxfs",
    "nfsd",
    "rootfs",
    "none",
    "udev",
    "shm",
    "iso9660",
    "zram",
];

pub fn is_pseudo_fs(t: &str) -> bool {
    PSEUDO_FS.contains(&t) || t.starts_with("fuse.") || t.starts_with("cgroup")
}

/// `df -P -k -T` (or `df -P -k` where -T is missing) → real filesystems.
/// Used % as df computes it: used / (used + available), one decimal.
pub fn parse_disks(lines: &[&str]) -> Result<Vec<Disk>, ParseError> {
    let mut rows = non_empty(lines);
    let Some(header) = rows.next() else {
        return Ok(Vec::new());
    };
    if !header.starts_with("Filesystem") {
        return Err(ParseError::new(
            "disks",
            format!("not df output: `{header}`"),
        ));
    }
    let typed = header.split_whitespace().nth(1) == Some("Type");
    let mut out: Vec<Disk> = Vec::new();
    for l in rows {
        let w: Vec<&str> = l.split_whitespace().collect();
        let (dev, fstype, nums) = if typed {
            if w.len() < 7 {
                return Err(ParseError::new("disks", format!("short line `{l}`")));
            }
            (w[0], Some(w[1]), &w[2..])
        } else {
            if w.len() < 6 {
                return Err(ParseError::new("disks", format!("short line `{l}`")));
            }
            (w[0], None, &w[1..])
        };
        let num = |i: usize| -> Result<u64, ParseError> {
            nums[i].parse::<u64>().map_err(|_| {
                ParseError::new("disks", format!("`{}` is not a number in `{l}`", nums[i]))
            })
        };
        // "-" for size on some pseudo filesystems: skip those lines.
        if nums[0] == "-" {
            continue;
        }
        let size = num(0)?;
        let used = num(1)?;
        let avail = num(2)?;
        if !nums[3].ends_with('%') {
            return Err(ParseError::new("disks", format!("no capacity % in `{l}`")));
        }
        let mount = nums[4..].join(" ");
        let pseudo = match fstype {
            Some(t) => is_pseudo_fs(t),
            None => is_pseudo_fs(dev),
        };
        if pseudo || size == 0 {
            continue;
        }
        // in floating point: a filesystem that reports sizes near u64::MAX
        // must not wrap (a full disk shown as empty)
        let (u, a) = (used as f64, avail as f64);
        let used_pct = if u + a == 0.0 {
            0.0
        } else {
            round1((u * 100.0 / (u + a)).clamp(0.0, 100.0))
        };
        out.retain(|d| d.mount != mount);
        out.push(Disk {
            mount,
            used_pct,
            fstype: fstype.map(str::to_string),
            size_kb: Some(size),
        });
    }
    Ok(out)
}
