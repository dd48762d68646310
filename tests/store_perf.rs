//! Load time of a large inventory. Not a timed assertion: the figure is
//! printed, and recorded in docs/decisions/store.md. Run with
//!   cargo test --release --test store_perf -- --ignored --nocapture
//! The non-ignored test checks that the generated files load correctly.

use std::fmt::Write;
use std::time::Instant;

use opsdeck::store::{Home, Store};

fn write_big_home(dir: &std::path::Path, hosts: usize, vendors: usize, backups: usize) {
    let mut h = String::from("# generated fleet\n");
    for i in 0..hosts {
        let _ = write!(
            h,
            "\n# host {i}\n[[host]]\nname = \"host{i:04}\"  # trailing\naddress = \"10.{}.{}.{}\"\nport = 22\nuser = \"admin\"\ntags = [\"site{}\", \"role{}\"]\nrole = \"app server\"\nlocation = \"rack {}\"\nvendor = \"vendor{:03}\"\npurchased = 2023-04-01\nwarranty_until = 2026-04-01\nhold = [\"linux-image-*\"]\nnotes = \"nothing special\"\n",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256,
            i % 5,
            i % 7,
            i % 40,
            i % vendors.max(1)
        );
    }
    let mut v = String::new();
    for i in 0..vendors {
        let _ = write!(
            v,
            "\n[[vendor]]\nname = \"vendor{i:03}\"\ncategory = \"hardware\"\naccount = \"ACC-{i}\"\nphone = \"+1 555 {i:04}\"\nemail = \"support{i}@example.com\"\nportal = \"https://example.com/{i}\"\nsupport_hours = \"24/7\"\ncontract_end = 2027-06-30\n\n[[vendor.contact]]\nname = \"Contact {i}\"\nrole = \"account manager\"\nphone = \"+1 555 1{i:03}\"\n\n[[vendor.ticket]]\nref = \"CASE-{i}\"\nsubject = \"Ticket {i}\"\nstatus = \"open\"\nopened = 2026-11-01\n"
        );
    }
    let mut b = String::new();
    for i in 0..backups {
        let _ = write!(
            b,
            "\n[[backup]]\nname = \"job{i:03}\"\nhost = \"host{:04}\"\nkind = \"restic\"\nrepository = \"/srv/restic/{i}\"\npassword_file = \"/root/.restic\"\nmax_age = \"26h\"\nwarn_age = \"25h\"\nlast_restore_test = 2026-09-01\nrestore_test_every = \"90d\"\n",
            i % hosts.max(1)
        );
    }
    std::fs::write(dir.join("hosts.toml"), h).unwrap();
    std::fs::write(dir.join("vendors.toml"), v).unwrap();
    std::fs::write(dir.join("backups.toml"), b).unwrap();
}

#[test]
fn big_inventory_loads() {
    let dir = tempfile::tempdir().unwrap();
    write_big_home(dir.path(), 100, 20, 50);
    let s = Store::load(Home::under(dir.path())).unwrap();
    assert_eq!(
        (s.hosts.len(), s.vendors.len(), s.backups.len()),
        (100, 20, 50)
    );
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn load_time_1000_hosts() {
    let dir = tempfile::tempdir().unwrap();
    write_big_home(dir.path(), 1000, 200, 500);
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let s = Store::load(Home::under(dir.path())).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(s.hosts.len(), 1000);
        best = best.min(ms);
    }
    let t = Instant::now();
    let mut s = Store::load(Home::under(dir.path())).unwrap();
    let mut h = s.host("host0500").unwrap().clone();
    h.address = Some("10.9.9.9".into());
    s.update_host("host0500", h).unwrap();
    let edit_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "Store::load of 1000 hosts + 200 vendors + 500 backups: best of 20 = {best:.2} ms; load + update_host (lock, re-read, edit, fsync x2, journal) = {edit_ms:.2} ms"
    );
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn load_time_parts() {
    let dir = tempfile::tempdir().unwrap();
    write_big_home(dir.path(), 1000, 200, 500);
    for f in ["hosts.toml", "vendors.toml", "backups.toml"] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        let mut best = [f64::MAX; 3];
        for _ in 0..10 {
            let t = Instant::now();
            let _: toml::Table = toml::from_str(&text).unwrap();
            best[0] = best[0].min(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let _ = toml_edit::Document::parse(text.as_str()).unwrap();
            best[1] = best[1].min(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let _ = Store::load(Home::under(dir.path())).unwrap();
            best[2] = best[2].min(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{f} {} bytes: toml::Table {:.2} ms, toml_edit {:.2} ms, Store::load(all) {:.2} ms",
            text.len(),
            best[0],
            best[1],
            best[2]
        );
    }
}
