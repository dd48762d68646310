//! The real binary in a pseudo-terminal: add a vendor (contract ending soon)
//! with a contact and a stale ticket on the Vendors pane, see both on the
//! Overview, close the ticket, see the Overview list change, and jump from
//! the Overview item to the vendor's row.

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pty::Pty;

const HOSTS: &str = "[[host]]\nname = \"web1\"\n";
const VENDORS: &str = "# who to call\n[[vendor]]\nname = \"Dell\"\ncategory = \"hardware\"\n";

fn opsdeck(home: &Path) -> Command {
    pty::opsdeck_tui(home, home)
}

#[test]
fn vendor_ticket_changes_the_overview_and_enter_jumps_to_the_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts.toml"), HOSTS).unwrap();
    std::fs::write(dir.path().join("vendors.toml"), VENDORS).unwrap();
    // The TUI runs on the wall clock: dates relative to today.
    let today = jiff::Zoned::now().date();
    let contract_end = today.checked_add(jiff::Span::new().days(10)).unwrap();
    let opened = today.checked_sub(jiff::Span::new().days(30)).unwrap();

    let mut t = Pty::spawn(opsdeck(dir.path()), 100, 30);
    t.wait_text("nothing needs you");

    // add the vendor, a contact and an old ticket
    t.send("5");
    t.wait_text("Dell");
    t.send("a");
    t.wait_text("Contract end");
    t.send(&format!(
        "Acme ISP\tisp\tACC-1\t+1 555 0100\t\t\t\t{contract_end}\r"
    ));
    t.wait_text("vendor Acme ISP added to vendors.toml");
    t.send("G"); // Acme ISP is the last vendor
    t.send("n");
    t.wait_text("New contact at Acme ISP");
    t.send("Ann Smith\taccount manager\t+1 555 0101\r");
    t.wait_text("contact Ann Smith of Acme ISP saved");
    t.send("o");
    t.wait_text("Open a ticket with Acme ISP");
    t.send(&format!("SR-9\tline down\t{opened}\r"));
    t.wait_text("ticket SR-9 opened with Acme ISP");

    // the Overview lists the contract and the stale ticket, with counts
    t.send("1");
    let wait = Duration::from_secs(10);
    t.wait_for(
        "contract, stale ticket and counts on the Overview",
        wait,
        |s| {
            s.contains("Acme ISP: ticket SR-9")
                && s.contains("Acme ISP: contract")
                && s.contains("contract ends")
                && s.contains("open for 30 days")
                && s.contains("1 open ticket (1 stale)")
                && s.contains("WARN")
        },
    );

    // close the ticket in the vendor's details: from the first row, 8 more
    // fields, the contact and its phone, then the ticket (headings are skipped)
    t.send("5");
    t.send("\r");
    t.wait_text("Contacts (1)");
    t.send("g");
    t.send(&"j".repeat(11));
    t.send("x");
    t.wait_text("Close ticket SR-9");
    t.send("y");
    t.wait_text("ticket SR-9 of Acme ISP closed");
    t.send("\x1b");
    t.send("g"); // the selection on Vendors moves to Dell

    // the Overview no longer lists the ticket
    t.send("1");
    t.wait_for("the ticket gone from the Overview", wait, |s| {
        s.contains("Acme ISP: contract")
            && !s.contains("Acme ISP: ticket SR-9")
            && s.contains("0 open tickets")
    });

    // Enter on the contract item jumps to Acme ISP on Vendors
    t.send("g");
    t.send("\r");
    t.send("\r"); // details of the selected vendor
    t.wait_for("Acme ISP's details", wait, |s| {
        s.contains("Contacts (1)") && s.contains("Ann Smith")
    });
    t.send("\x1b");
    t.send("q");
    assert!(t.wait_exit(Duration::from_secs(10)).success());

    let journal = std::fs::read_to_string(dir.path().join("state/journal.toml")).unwrap();
    assert!(
        journal.contains("ticket.open") && journal.contains("ticket.close"),
        "{journal}"
    );
}
