//! Facts → status with reasons, from `[thresholds]` of opsdeck.toml.
//!
//! Worst wins (crit > warn > unknown > ok). A fact opsdeck expected to learn
//! but could not (load, memory, disks, pending updates, reboot flag, metadata
//! age) raises UNKNOWN with a reason saying so; a fact that cannot exist on
//! that host (failed units without systemd, security on apk/pacman) is named
//! in the reasons without raising the status.

use crate::model::{Facts, Level, Status, Thresholds};
use crate::util::{format_age, parse_duration};

/// The verdict on one host's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub reasons: Vec<String>,
}

fn pct(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{}%", x.round() as i64)
    } else {
        format!("{x:.1}%")
    }
}

fn num(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Evaluate facts. `listing_error` is what the package manager said when the
/// update listing failed.
pub fn evaluate(facts: &Facts, t: &Thresholds, listing_error: Option<&str>) -> Verdict {
    let mut status = Status::Ok;
    let mut reasons: Vec<(Status, String)> = Vec::new();
    let mut raise = |s: Status, r: String, reasons: &mut Vec<(Status, String)>| {
        status = status.worst(s);
        reasons.push((s, r));
    };

    // Disks.
    if facts.disks.is_empty() {
        raise(Status::Unknown, "disk usage unknown".into(), &mut reasons);
    }
    for d in &facts.disks {
        if d.used_pct >= t.disk_crit_pct {
            raise(
                Status::Crit,
                format!("{} {} ≥ {}", d.mount, pct(d.used_pct), pct(t.disk_crit_pct)),
                &mut reasons,
            );
        } else if d.used_pct >= t.disk_warn_pct {
            raise(
                Status::Warn,
                format!("{} {} ≥ {}", d.mount, pct(d.used_pct), pct(t.disk_warn_pct)),
                &mut reasons,
            );
        }
    }

    // Load per CPU.
    match (facts.load, facts.cpus) {
        (Some(l), Some(c)) if c > 0 => {
            let per = l[0] / c as f64;
            if per >= t.load_crit_per_cpu {
                raise(
                    Status::Crit,
                    format!("load {} per CPU ≥ {}", num(per), num(t.load_crit_per_cpu)),
                    &mut reasons,
                );
            } else if per >= t.load_warn_per_cpu {
                raise(
                    Status::Warn,
                    format!("load {} per CPU ≥ {}", num(per), num(t.load_warn_per_cpu)),
                    &mut reasons,
                );
            }
        }
        _ => raise(Status::Unknown, "load unknown".into(), &mut reasons),
    }

    // Memory.
    match facts.mem_used_pct {
        Some(m) if m >= t.mem_crit_pct => raise(
            Status::Crit,
            format!("memory {} used ≥ {}", pct(m), pct(t.mem_crit_pct)),
            &mut reasons,
        ),
        Some(m) if m >= t.mem_warn_pct => raise(
            Status::Warn,
            format!("memory {} used ≥ {}", pct(m), pct(t.mem_warn_pct)),
            &mut reasons,
        ),
        Some(_) => {}
        None => raise(Status::Unknown, "memory unknown".into(), &mut reasons),
    }

    // Failed units.
    match &facts.failed_units {
        Some(u) if !u.is_empty() => {
            let shown: Vec<&str> = u.iter().take(5).map(String::as_str).collect();
            let more = if u.len() > 5 { ", …" } else { "" };
            let noun = if u.len() == 1 { "unit" } else { "units" };
            raise(
                t.failed_units.into(),
                format!("{} failed {noun}: {}{more}", u.len(), shown.join(", ")),
                &mut reasons,
            );
        }
        Some(_) => {}
        None => reasons.push((Status::Ok, "failed units unknown (no systemd)".into())),
    }

    // Reboot.
    match facts.reboot_required {
        Some(true) => raise(
            t.reboot_required.into(),
            "reboot required".into(),
            &mut reasons,
        ),
        Some(false) => {}
        None => raise(
            Status::Unknown,
            "reboot required unknown".into(),
            &mut reasons,
        ),
    }

    // Updates.
    let pm = facts.package_manager.as_deref();
    match (&facts.updates, pm) {
        (_, None) => raise(
            Status::Unknown,
            "updates unknown (no package manager found)".into(),
            &mut reasons,
        ),
        (None, Some(pm)) | (Some(crate::model::UpdateCounts { pending: None, .. }), Some(pm)) => {
            let why = listing_error.unwrap_or("no listing");
            raise(
                Status::Unknown,
                format!("updates unknown ({pm}: {why})"),
                &mut reasons,
            );
        }
        (Some(u), Some(pm)) => {
            let pending = u.pending.unwrap_or(0);
            match u.security {
                Some(s) if s > 0 => {
                    let noun = if s == 1 { "update" } else { "updates" };
                    raise(
                        t.security_updates.into(),
                        format!("{s} security {noun} pending"),
                        &mut reasons,
                    );
                }
                Some(_) => {}
                None if pending > 0 => reasons.push((
                    Status::Ok,
                    format!("security updates unknown ({pm} has no security metadata)"),
                )),
                None => {}
            }
            let nonsec = pending.saturating_sub(u.security.unwrap_or(0));
            if nonsec > 0 && t.updates != Level::Ok {
                let noun = if pending == 1 { "update" } else { "updates" };
                raise(
                    t.updates.into(),
                    format!("{pending} {noun} pending"),
                    &mut reasons,
                );
            }
        }
    }

    // Metadata age.
    if pm.is_some() {
        let max = parse_duration(&t.metadata_max_age)
            .ok()
            .map(|d| d.as_secs());
        match (facts.metadata_age_s, max) {
            (Some(age), Some(max)) if age > max => raise(
                Status::Warn,
                format!("package metadata {} old", format_age(age)),
                &mut reasons,
            ),
            (Some(_), _) => {}
            (None, _) => raise(
                Status::Unknown,
                "package metadata age unknown".into(),
                &mut reasons,
            ),
        }
    }

    // Most severe first, in the order found within a level.
    reasons.sort_by_key(|(s, _)| std::cmp::Reverse(s.severity()));
    Verdict {
        status,
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
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
