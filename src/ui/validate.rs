//! What the TUI's forms accept: the connection fields of a host are
//! checked by the one validator of the crate (`crate::validate`, also used
//! at import, load and at the `ssh` launcher); here only what is particular
//! to a form field (a port typed as text) and the case-blind uniqueness of
//! names.

pub use crate::validate::{address, host_name, jump, user};

/// A TCP port typed into a form.
pub fn port(s: &str) -> Result<(), String> {
    match s.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(()),
        Ok(p) => Err(format!("port {p} is out of range (1 to 65535)")),
        Err(_) => Err(format!("`{s}` is not a port (a number from 1 to 65535)")),
    }
}

/// Names are unique whatever their case ("contoso isp" beside "Contoso
/// ISP" is one vendor twice): Err names the one it would duplicate.
/// `except` is the record's own name when it is edited.
pub fn unique_name<'a>(
    what: &str,
    names: impl Iterator<Item = &'a str>,
    name: &str,
    except: Option<&str>,
) -> Result<(), String> {
    let lower = name.to_lowercase();
    match names
        .filter(|n| Some(*n) != except)
        .find(|n| n.to_lowercase() == lower)
    {
        Some(other) => Err(format!("a {what} named {other} exists already")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_say_what_is_wrong() {
        assert!(host_name("we\"b")
            .unwrap_err()
            .contains("`\"` is not allowed"));
        assert!(host_name("mañana").unwrap_err().contains("not ASCII"));
        assert!(host_name("a b").unwrap_err().contains("a space"));
        let e = address("a b").unwrap_err();
        assert!(
            e.contains("cannot be an address") && e.contains("a space"),
            "{e}"
        );
        assert!(address("10.0.0.300").is_err());
        assert!(port("22").is_ok());
        assert_eq!(
            port("99999").unwrap_err(),
            "port 99999 is out of range (1 to 65535)"
        );
        assert!(port("0").is_err() && port("x").is_err());
        assert!(jump("bastion:99999").unwrap_err().contains("99999"));
        assert!(jump("a,,b").is_err());
        assert_eq!(
            unique_name("vendor", ["Contoso ISP"].into_iter(), "contoso isp", None),
            Err("a vendor named Contoso ISP exists already".into())
        );
        assert!(unique_name(
            "vendor",
            ["Contoso ISP"].into_iter(),
            "contoso isp",
            Some("Contoso ISP")
        )
        .is_ok());
    }
}
