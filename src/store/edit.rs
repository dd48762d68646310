//! Comment-preserving edits of the hand-edited files with `toml_edit`.
//!
//! Each model type is turned into an ordered list of `(key, value)` pairs
//! (`None` when the key should be absent). Adding appends new tables as text
//! at the end of the file; updating changes only the keys whose values
//! changed (keeping their comments and decor); removing drops one table and
//! the comment lines directly above its header.

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use super::StoreError;
use crate::model::{BackupJob, Contact, Date, Host, Ticket, TicketStatus, Vendor};

pub(crate) type Fields = Vec<(&'static str, Option<Value>)>;

fn text(v: &Option<String>) -> Option<Value> {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Value::from)
}

fn required(v: &str) -> Option<Value> {
    Some(Value::from(v))
}

pub(crate) fn date_value(d: Date) -> Value {
    Value::from(toml_edit::Datetime {
        date: Some(toml_edit::Date {
            year: d.year() as u16,
            month: d.month() as u8,
            day: d.day() as u8,
        }),
        time: None,
        offset: None,
    })
}

fn date(d: &Option<Date>) -> Option<Value> {
    d.map(date_value)
}

fn list(v: &[String]) -> Option<Value> {
    if v.is_empty() {
        return None;
    }
    let mut a = Array::new();
    for s in v {
        a.push(s.as_str());
    }
    Some(Value::Array(a))
}

fn int(v: Option<u64>) -> Option<Value> {
    v.and_then(|n| i64::try_from(n).ok()).map(Value::from)
}

pub(crate) fn host_fields(h: &Host) -> Fields {
    vec![
        ("name", required(&h.name)),
        ("address", text(&h.address)),
        ("port", int(h.port.map(u64::from))),
        ("user", text(&h.user)),
        ("jump", text(&h.jump)),
        ("tags", list(&h.tags)),
        ("role", text(&h.role)),
        ("location", text(&h.location)),
        ("vendor", text(&h.vendor)),
        ("purchased", date(&h.purchased)),
        ("warranty_until", date(&h.warranty_until)),
        ("hold", list(&h.hold)),
        ("notes", text(&h.notes)),
    ]
}

pub(crate) fn vendor_fields(v: &Vendor) -> Fields {
    vec![
        ("name", required(&v.name)),
        ("category", text(&v.category)),
        ("account", text(&v.account)),
        ("phone", text(&v.phone)),
        ("email", text(&v.email)),
        ("portal", text(&v.portal)),
        ("support_hours", text(&v.support_hours)),
        ("contract_end", date(&v.contract_end)),
        ("notes", text(&v.notes)),
    ]
}

pub(crate) fn contact_fields(c: &Contact) -> Fields {
    vec![
        ("name", required(&c.name)),
        ("role", text(&c.role)),
        ("phone", text(&c.phone)),
        ("email", text(&c.email)),
    ]
}

pub(crate) fn ticket_fields(t: &Ticket) -> Fields {
    let status = match t.status {
        TicketStatus::Open => "open",
        TicketStatus::Closed => "closed",
    };
    vec![
        ("ref", required(&t.reference)),
        ("subject", required(&t.subject)),
        ("status", required(status)),
        ("opened", date(&t.opened)),
        ("closed", date(&t.closed)),
        ("notes", text(&t.notes)),
    ]
}

pub(crate) fn backup_fields(b: &BackupJob) -> Fields {
    let kind = match b.kind {
        crate::model::BackupKind::Restic => "restic",
        crate::model::BackupKind::Borg => "borg",
        crate::model::BackupKind::Path => "path",
        crate::model::BackupKind::Command => "command",
    };
    vec![
        ("name", required(&b.name)),
        ("host", required(&b.host)),
        ("kind", required(kind)),
        ("repository", text(&b.repository)),
        ("password_command", text(&b.password_command)),
        ("password_file", text(&b.password_file)),
        ("env_file", text(&b.env_file)),
        ("passcommand", text(&b.passcommand)),
        ("tag", text(&b.tag)),
        ("path", text(&b.path)),
        ("min_size", int(b.min_size)),
        ("command", text(&b.command)),
        ("max_age", required(&b.max_age)),
        ("warn_age", text(&b.warn_age)),
        ("last_restore_test", date(&b.last_restore_test)),
        ("restore_test_every", text(&b.restore_test_every)),
        ("notes", text(&b.notes)),
    ]
}

fn table_of(fields: Fields) -> Table {
    let mut t = Table::new();
    for (k, v) in fields {
        if let Some(v) = v {
            t.insert(k, Item::Value(v));
        }
    }
    t
}

fn vendor_table(v: &Vendor) -> Table {
    let mut t = table_of(vendor_fields(v));
    if !v.contacts.is_empty() {
        let mut a = ArrayOfTables::new();
        for c in &v.contacts {
            a.push(table_of(contact_fields(c)));
        }
        t.insert("contact", Item::ArrayOfTables(a));
    }
    if !v.tickets.is_empty() {
        let mut a = ArrayOfTables::new();
        for tk in &v.tickets {
            a.push(table_of(ticket_fields(tk)));
        }
        t.insert("ticket", Item::ArrayOfTables(a));
    }
    t
}

/// The text of `[[array]]` tables for `tables`, ready to append.
fn render(array: &str, tables: Vec<Table>) -> String {
    let mut doc = DocumentMut::new();
    let mut a = ArrayOfTables::new();
    for t in tables {
        a.push(t);
    }
    doc.insert(array, Item::ArrayOfTables(a));
    doc.to_string()
}

/// Append rendered tables at the end of `old` (the only change to the file).
fn append(old: &str, rendered: &str) -> String {
    let mut out = String::with_capacity(old.len() + rendered.len() + 2);
    out.push_str(old);
    if !old.is_empty() {
        if !old.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(rendered.trim_start_matches('\n'));
    out
}

pub(crate) fn append_hosts(old: &str, hosts: &[Host]) -> String {
    let tables = hosts.iter().map(|h| table_of(host_fields(h))).collect();
    append(old, &render("host", tables))
}

pub(crate) fn append_vendor(old: &str, vendor: &Vendor) -> String {
    append(old, &render("vendor", vec![vendor_table(vendor)]))
}

pub(crate) fn append_backup(old: &str, b: &BackupJob) -> String {
    append(old, &render("backup", vec![table_of(backup_fields(b))]))
}

fn parse_doc(path: &std::path::Path, old: &str) -> Result<DocumentMut, StoreError> {
    old.parse::<DocumentMut>().map_err(|e| {
        let off = e.span().map(|s| s.start).unwrap_or(0);
        super::load::parse_error(path, old, off, e.message().to_string())
    })
}

fn array_mut<'a>(
    doc: &'a mut DocumentMut,
    array: &str,
    path: &std::path::Path,
) -> Result<&'a mut ArrayOfTables, StoreError> {
    match doc.get_mut(array) {
        Some(Item::ArrayOfTables(a)) => Ok(a),
        Some(_) => Err(StoreError::Invalid {
            message: format!(
                "{}: `{array}` is not written as [[{array}]] tables; opsdeck only edits [[{array}]] tables",
                path.display()
            ),
        }),
        None => Err(StoreError::Invalid {
            message: format!("{}: no [[{array}]] tables", path.display()),
        }),
    }
}

fn index_by(a: &ArrayOfTables, key: &str, name: &str) -> Option<usize> {
    a.iter()
        .position(|t| t.get(key).and_then(|i| i.as_str()) == Some(name))
}

/// The lines of a table's prefix decor: the part that stays in the file when
/// the table goes (everything up to the last blank line), and the comment
/// lines directly above the header, which go with it.
fn split_prefix(prefix: &str) -> (&str, &str) {
    // Walk back over the comment lines that touch the header.
    let mut cut = prefix.len();
    let body = prefix.strip_suffix('\n').unwrap_or(prefix);
    let mut end = body.len();
    loop {
        let start = body[..end].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = body[start..end].trim();
        // A bare `#` separates paragraphs like a blank line does.
        if line.starts_with('#') && line != "#" {
            cut = start;
            if start == 0 {
                break;
            }
            end = start - 1;
        } else {
            break;
        }
    }
    (&prefix[..cut], &prefix[cut..])
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// Remove `[[array]]` whose `key` is `name`, with the comment lines directly
/// above it. Comments separated from it by a blank line stay.
pub(crate) fn remove_table(
    path: &std::path::Path,
    old: &str,
    array: &str,
    key: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let mut doc = parse_doc(path, old)?;
    let mut trailing_kept: Option<String> = None;
    {
        let a = array_mut(&mut doc, array, path)?;
        let Some(i) = index_by(a, key, name) else {
            return Ok(None);
        };
        let prefix = a
            .get(i)
            .and_then(|t| t.decor().prefix())
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_string();
        let (mut kept, _attached) = split_prefix(&prefix);
        // Comments at the very top of the file, touching the first table,
        // are the file's header, not that table's.
        if i == 0 && kept.is_empty() {
            kept = prefix.as_str();
        }
        a.remove(i);
        if !is_blank(kept) {
            if let Some(next) = a.get_mut(i) {
                let next_prefix = next
                    .decor()
                    .prefix()
                    .and_then(|r| r.as_str())
                    .unwrap_or("")
                    .to_string();
                let joined = if kept.ends_with("\n\n") {
                    format!("{kept}{}", next_prefix.trim_start_matches(['\n', '\r']))
                } else {
                    format!("{kept}{next_prefix}")
                };
                next.decor_mut().set_prefix(joined);
            } else {
                trailing_kept = Some(kept.to_string());
            }
        }
    }
    if let Some(kept) = trailing_kept {
        let trailing = doc.trailing().as_str().unwrap_or("").to_string();
        doc.set_trailing(format!("{}{trailing}", kept.trim_end_matches(['\n', '\r'])) + "\n");
    }
    Ok(Some(doc.to_string()))
}

/// What an update changed, for the journal.
#[derive(Debug, Default)]
pub(crate) struct Changes(pub Vec<String>);

/// Change only the keys of `table` whose values differ between `old` and
/// `new`: values are replaced keeping their decor (a trailing comment stays),
/// keys that became empty are removed, new keys go at the end of the table.
fn update_fields(table: &mut Table, old: Fields, new: Fields, prefix: &str, changes: &mut Changes) {
    for ((key, old_v), (_, new_v)) in old.into_iter().zip(new) {
        let same = match (&old_v, &new_v) {
            (None, None) => true,
            (Some(a), Some(b)) => a.to_string().trim() == b.to_string().trim(),
            _ => false,
        };
        if same {
            continue;
        }
        changes.0.push(format!("{prefix}{key}"));
        match new_v {
            None => {
                table.remove(key);
            }
            Some(mut v) => match table.get_mut(key) {
                Some(Item::Value(existing)) => {
                    *v.decor_mut() = existing.decor().clone();
                    *existing = v;
                }
                Some(item) => *item = Item::Value(v),
                None => {
                    table.insert(key, Item::Value(v));
                }
            },
        }
    }
}

/// Update the `[[array]]` entry named `name`: the keys of `old` that differ
/// in `new` are changed in place; `more` edits the table further (vendors'
/// contacts and tickets).
fn update_named(
    path: &std::path::Path,
    text: &str,
    array: &'static str,
    name: &str,
    (old, new): (Fields, Fields),
    more: impl FnOnce(&mut Table, &mut Changes),
) -> Result<(String, Changes), StoreError> {
    let mut doc = parse_doc(path, text)?;
    let a = array_mut(&mut doc, array, path)?;
    let i = index_by(a, "name", name).ok_or_else(|| StoreError::NotFound {
        what: array,
        name: name.to_string(),
    })?;
    let mut changes = Changes::default();
    if let Some(t) = a.get_mut(i) {
        update_fields(t, old, new, "", &mut changes);
        more(t, &mut changes);
    }
    Ok((doc.to_string(), changes))
}

pub(crate) fn update_host(
    path: &std::path::Path,
    text: &str,
    old: &Host,
    new: &Host,
) -> Result<(String, Changes), StoreError> {
    let fields = (host_fields(old), host_fields(new));
    update_named(path, text, "host", &old.name, fields, |_, _| {})
}

pub(crate) fn update_backup(
    path: &std::path::Path,
    text: &str,
    old: &BackupJob,
    new: &BackupJob,
) -> Result<(String, Changes), StoreError> {
    let fields = (backup_fields(old), backup_fields(new));
    update_named(path, text, "backup", &old.name, fields, |_, _| {})
}

/// Update a list of sub-tables (`[[vendor.contact]]`, `[[vendor.ticket]]`)
/// matched by a key: changed ones in place, gone ones removed, new ones
/// appended.
fn update_subtables<T>(
    table: &mut Table,
    sub: &'static str,
    old: &[T],
    new: &[T],
    key_of: fn(&T) -> &str,
    fields: fn(&T) -> Fields,
    changes: &mut Changes,
) {
    if same_list(old, new, key_of, fields) {
        return;
    }
    // Inline arrays (`contact = [{...}]`) are replaced whole.
    if !matches!(table.get(sub), None | Some(Item::ArrayOfTables(_))) {
        let mut arr = Array::new();
        for item in new {
            let mut it = toml_edit::InlineTable::new();
            for (k, v) in fields(item) {
                if let Some(v) = v {
                    it.insert(k, v);
                }
            }
            arr.push(it);
        }
        changes.0.push(sub.to_string());
        if new.is_empty() {
            table.remove(sub);
        } else if let Some(Item::Value(v)) = table.get_mut(sub) {
            let decor = v.decor().clone();
            *v = Value::Array(arr);
            *v.decor_mut() = decor;
        }
        return;
    }
    let mut used = vec![false; old.len()];
    // Pair each new item with an old one of the same key.
    let mut pairs: Vec<(Option<usize>, usize)> = Vec::new();
    for (ni, n) in new.iter().enumerate() {
        let oi = old
            .iter()
            .enumerate()
            .position(|(oi, o)| !used[oi] && key_of(o) == key_of(n));
        if let Some(oi) = oi {
            used[oi] = true;
        }
        pairs.push((oi, ni));
    }
    if !matches!(table.get(sub), Some(Item::ArrayOfTables(_))) {
        table.insert(sub, Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let Some(Item::ArrayOfTables(arr)) = table.get_mut(sub) else {
        return;
    };
    for &(oi, ni) in &pairs {
        if let Some(oi) = oi {
            if let Some(t) = arr.get_mut(oi) {
                let label = format!("{sub}[{}].", key_of(&new[ni]));
                update_fields(t, fields(&old[oi]), fields(&new[ni]), &label, changes);
            }
        }
    }
    // Remove the old ones nobody took, from the end so indices hold.
    for oi in (0..old.len()).rev() {
        if !used[oi] {
            changes
                .0
                .push(format!("{sub}[{}] removed", key_of(&old[oi])));
            arr.remove(oi);
        }
    }
    for &(oi, ni) in &pairs {
        if oi.is_none() {
            changes.0.push(format!("{sub}[{}] added", key_of(&new[ni])));
            arr.push(table_of(fields(&new[ni])));
        }
    }
    if arr.is_empty() {
        table.remove(sub);
    }
}

/// Whether two lists of sub-tables would be written the same.
fn same_list<T>(old: &[T], new: &[T], key_of: fn(&T) -> &str, fields: fn(&T) -> Fields) -> bool {
    let render = |items: &[T]| -> Vec<String> {
        items
            .iter()
            .map(|i| {
                let mut s = key_of(i).to_string();
                for (k, v) in fields(i) {
                    s.push_str(k);
                    s.push('=');
                    if let Some(v) = v {
                        s.push_str(v.to_string().trim());
                    }
                    s.push('\n');
                }
                s
            })
            .collect()
    };
    render(old) == render(new)
}

pub(crate) fn update_vendor(
    path: &std::path::Path,
    text: &str,
    old: &Vendor,
    new: &Vendor,
) -> Result<(String, Changes), StoreError> {
    let fields = (vendor_fields(old), vendor_fields(new));
    update_named(path, text, "vendor", &old.name, fields, |t, changes| {
        update_subtables(
            t,
            "contact",
            &old.contacts,
            &new.contacts,
            |c| c.name.as_str(),
            contact_fields,
            changes,
        );
        update_subtables(
            t,
            "ticket",
            &old.tickets,
            &new.tickets,
            |t| t.reference.as_str(),
            ticket_fields,
            changes,
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_split() {
        assert_eq!(split_prefix(""), ("", ""));
        assert_eq!(split_prefix("\n"), ("\n", ""));
        assert_eq!(split_prefix("\n# a\n"), ("\n", "# a\n"));
        assert_eq!(
            split_prefix("\n# section\n\n# mine\n# too\n"),
            ("\n# section\n\n", "# mine\n# too\n")
        );
        assert_eq!(split_prefix("# only\n"), ("", "# only\n"));
        assert_eq!(
            split_prefix("\n# docs\n#\n# Examples:\n#\n"),
            ("\n# docs\n#\n# Examples:\n#\n", "")
        );
        assert_eq!(
            split_prefix("\n# docs\n#\n# mine\n"),
            ("\n# docs\n#\n", "# mine\n")
        );
    }

    #[test]
    fn appended_dates_and_escapes() {
        let h = Host {
            name: "web1".into(),
            location: Some("rack \"A\" # 2".into()),
            notes: Some("line1\nline2".into()),
            purchased: Some(Date::constant(2023, 4, 1)),
            tags: vec!["a".into()],
            ..Default::default()
        };
        let out = append_hosts("# top\n", std::slice::from_ref(&h));
        assert!(out.starts_with("# top\n\n[[host]]\n"), "{out}");
        assert!(out.contains("purchased = 2023-04-01\n"), "{out}");
        let back: Vec<Host> =
            crate::store::load::parse_hosts(std::path::Path::new("x"), &out).unwrap();
        assert_eq!(back, vec![h]);
    }

    #[test]
    fn remove_keeps_neighbours() {
        let text = "# head\n\n[[host]]\nname = \"a\"\n\n# section\n\n# about b\n[[host]]\nname = \"b\"\n\n[[host]]\nname = \"c\"\n";
        let out = remove_table(std::path::Path::new("x"), text, "host", "name", "b")
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "# head\n\n[[host]]\nname = \"a\"\n\n# section\n\n[[host]]\nname = \"c\"\n"
        );
        let out = remove_table(std::path::Path::new("x"), text, "host", "name", "c")
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "# head\n\n[[host]]\nname = \"a\"\n\n# section\n\n# about b\n[[host]]\nname = \"b\"\n"
        );
    }

    #[test]
    fn file_header_stays() {
        let text = "# my hosts\n[[host]]\nname = \"a\"\n\n[[host]]\nname = \"b\"\n";
        let out = remove_table(std::path::Path::new("x"), text, "host", "name", "a")
            .unwrap()
            .unwrap();
        assert_eq!(out, "# my hosts\n\n[[host]]\nname = \"b\"\n");
    }

    #[test]
    fn update_keeps_comments() {
        let text = "[[host]]\n# the name\nname = \"a\" # trailing\naddress = \"1.2.3.4\"  # ip\nport = 22\n\n# next\n[[host]]\nname = \"b\"\n";
        let old = Host {
            name: "a".into(),
            address: Some("1.2.3.4".into()),
            port: Some(22),
            ..Default::default()
        };
        let mut new = old.clone();
        new.address = Some("10.0.0.1".into());
        new.port = None;
        new.user = Some("root".into());
        let (out, changes) = update_host(std::path::Path::new("x"), text, &old, &new).unwrap();
        assert_eq!(
            out,
            "[[host]]\n# the name\nname = \"a\" # trailing\naddress = \"10.0.0.1\"  # ip\nuser = \"root\"\n\n# next\n[[host]]\nname = \"b\"\n"
        );
        assert_eq!(changes.0, ["address", "port", "user"]);
    }
}
