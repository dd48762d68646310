//! Facts → status with reasons, from `[thresholds]` of opsdeck.toml.
//!
//! Worst wins (crit > warn > unknown > ok). A fact opsdeck expected to learn
//! but could not (load, memory, disks, pending updates, reboot flag, metadata
//! age) raises UNKNOWN with a reason saying so; a fact that cannot exist on
//! that host (failed units without systemd, security on apk/pacman) is named
//! in the reasons without raising the status.

use super::family::{Reasons, FAMILIES};
use crate::model::{Facts, Level, Status, Thresholds};
use crate::util::{format_age, parse_duration, plural};

/// The verdict on one host's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub reasons: Vec<String>,
}

/// Evaluate facts: every fact family's rule ([`FAMILIES`]), then what the
/// package manager told (reboot flag, pending updates, metadata age).
/// `listing_error` is what the package manager said when the update listing
/// failed.
pub fn evaluate(facts: &Facts, t: &Thresholds, listing_error: Option<&str>) -> Verdict {
    let mut r = Reasons::default();
    for family in FAMILIES {
        (family.rule)(facts, t, &mut r);
    }
    reboot(facts, t, &mut r);
    updates(facts, t, listing_error, &mut r);
    metadata(facts, t, &mut r);
    // Most severe first, in the order found within a level.
    r.list.sort_by_key(|(s, _)| std::cmp::Reverse(s.severity()));
    Verdict {
        status: r.status,
        reasons: r.list.into_iter().map(|(_, r)| r).collect(),
    }
}

fn reboot(facts: &Facts, t: &Thresholds, r: &mut Reasons) {
    match facts.reboot_required {
        Some(true) => r.raise(t.reboot_required.into(), "reboot required".into()),
        Some(false) => {}
        None => r.raise(Status::Unknown, "reboot required unknown".into()),
    }
}

fn updates(facts: &Facts, t: &Thresholds, listing_error: Option<&str>, r: &mut Reasons) {
    let Some(pm) = facts.package_manager.as_deref() else {
        r.raise(
            Status::Unknown,
            "updates unknown (no package manager found)".into(),
        );
        return;
    };
    let u = match &facts.updates {
        Some(u) if u.pending.is_some() => u,
        _ => {
            let why = listing_error.unwrap_or("no listing");
            r.raise(Status::Unknown, format!("updates unknown ({pm}: {why})"));
            return;
        }
    };
    let pending = u.pending.unwrap_or(0);
    match u.security {
        Some(s) if s > 0 => r.raise(
            t.security_updates.into(),
            format!(
                "{} pending",
                plural(s as usize, "security update", "security updates")
            ),
        ),
        Some(_) => {}
        None if pending > 0 => r.note(format!(
            "security updates unknown ({pm} has no security metadata)"
        )),
        None => {}
    }
    let nonsec = pending.saturating_sub(u.security.unwrap_or(0));
    if nonsec > 0 && t.updates != Level::Ok {
        r.raise(
            t.updates.into(),
            format!("{} pending", plural(pending as usize, "update", "updates")),
        );
    }
}

fn metadata(facts: &Facts, t: &Thresholds, r: &mut Reasons) {
    if facts.package_manager.is_none() {
        return;
    }
    let max = parse_duration(&t.metadata_max_age)
        .ok()
        .map(|d| d.as_secs());
    match (facts.metadata_age_s, max) {
        (Some(age), Some(max)) if age > max => r.raise(
            Status::Warn,
            format!("package metadata {} old", format_age(age)),
        ),
        (Some(_), _) => {}
        (None, _) => r.raise(Status::Unknown, "package metadata age unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Disk, UpdateCounts};

    fn healthy() -> Facts {
        Facts {
            os: Some("Debian GNU/Linux 12 (bookworm)".into()),
            kernel: Some("6.1.0-26-amd64".into()),
            uptime_s: Some(100),
            cpus: Some(2),
            load: Some([0.5, 0.4, 0.3]),
            mem_used_pct: Some(40.0),
            disks: vec![Disk {
                mount: "/".into(),
                used_pct: 50.0,
                fstype: None,
                size_kb: None,
            }],
            failed_units: Some(vec![]),
            reboot_required: Some(false),
            package_manager: Some("apt".into()),
            updates: Some(UpdateCounts {
                pending: Some(0),
                security: Some(0),
            }),
            metadata_age_s: Some(3600),
            ..Default::default()
        }
    }

    #[test]
    fn healthy_is_ok() {
        let v = evaluate(&healthy(), &Thresholds::default(), None);
        assert_eq!(v.status, Status::Ok, "{:?}", v.reasons);
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn reasons_read_well() {
        let mut f = healthy();
        f.disks.push(Disk {
            mount: "/var".into(),
            used_pct: 93.0,
            fstype: None,
            size_kb: None,
        });
        f.load = Some([12.2, 1.0, 1.0]);
        f.failed_units = Some(vec!["x.service".into(), "y.service".into()]);
        f.reboot_required = Some(true);
        f.updates = Some(UpdateCounts {
            pending: Some(5),
            security: Some(3),
        });
        f.metadata_age_s = Some(12 * 86400);
        let v = evaluate(&f, &Thresholds::default(), None);
        assert_eq!(v.status, Status::Crit);
        for r in [
            "/var 93% ≥ 90%",
            "load 6.1 per CPU ≥ 3",
            "2 failed units: x.service, y.service",
            "reboot required",
            "3 security updates pending",
            "5 updates pending",
            "package metadata 12d old",
        ] {
            assert!(
                v.reasons.iter().any(|x| x == r),
                "{r} missing in {:?}",
                v.reasons
            );
        }
        assert_eq!(v.reasons[0], "/var 93% ≥ 90%");
    }

    #[test]
    fn unknown_is_never_silently_ok() {
        let mut f = healthy();
        f.reboot_required = None;
        let v = evaluate(&f, &Thresholds::default(), None);
        assert_eq!(v.status, Status::Unknown);
        assert_eq!(v.reasons, ["reboot required unknown"]);

        let mut f = healthy();
        f.updates = Some(UpdateCounts {
            pending: None,
            security: None,
        });
        let v = evaluate(
            &f,
            &Thresholds::default(),
            Some("apt-get exited 100: E: boom"),
        );
        assert_eq!(v.status, Status::Unknown);
        assert_eq!(
            v.reasons,
            ["updates unknown (apt: apt-get exited 100: E: boom)"]
        );

        // No systemd: named, not raised.
        let mut f = healthy();
        f.failed_units = None;
        let v = evaluate(&f, &Thresholds::default(), None);
        assert_eq!(v.status, Status::Ok);
        assert_eq!(v.reasons, ["failed units unknown (no systemd)"]);

        // apk: security unknown is said; pending warns.
        let mut f = healthy();
        f.package_manager = Some("apk".into());
        f.updates = Some(UpdateCounts {
            pending: Some(2),
            security: None,
        });
        let v = evaluate(&f, &Thresholds::default(), None);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(
            v.reasons,
            [
                "2 updates pending",
                "security updates unknown (apk has no security metadata)"
            ]
        );
    }

    #[test]
    fn thresholds_apply() {
        let t = Thresholds {
            disk_warn_pct: 40.0,
            security_updates: Level::Warn,
            ..Default::default()
        };
        let mut f = healthy();
        f.updates = Some(UpdateCounts {
            pending: Some(1),
            security: Some(1),
        });
        let v = evaluate(&f, &t, None);
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.reasons, ["/ 50% ≥ 40%", "1 security update pending"]);
        f.mem_used_pct = Some(97.5);
        assert_eq!(evaluate(&f, &t, None).status, Status::Crit);
    }
}
