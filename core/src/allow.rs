//! Noise control: source addresses and ranges (the team's own scanners, CI)
//! whose hits are stored flagged `ignored` and raise no alert. Never dropped:
//! an allowlisted hit is still evidence that the token is out there.
//!
//! Entries are global (kept by the library's allow store) or per token (kept
//! on the [`crate::token::TokenRecord`], which the decoy reads for every hit
//! anyway). This module is the pure part: entries and address matching.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::hit::Hit;

/// One allowlisted range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowEntry {
    /// Network in CIDR notation, normalised (`10.1.0.0/16`, `2001:db8::/32`;
    /// a single address is `/32` or `/128`).
    pub cidr: String,
    /// Why it is allowed (who scans from there).
    #[serde(default)]
    pub note: String,
    /// When it was added, RFC 3339.
    pub added_at: String,
}

impl AllowEntry {
    /// A new entry for `cidr` (validated and normalised) added now.
    pub fn new(cidr: &str, note: &str) -> Result<Self> {
        Ok(AllowEntry {
            cidr: parse_cidr(cidr)?.to_string(),
            note: note.to_string(),
            added_at: crate::time::now(),
        })
    }

    /// The network, if the stored text still parses.
    pub fn net(&self) -> Option<IpNet> {
        self.cidr.parse().ok()
    }
}

/// Parses a CIDR range or a single address into its normalised network
/// (host bits cleared, IPv4-mapped IPv6 turned into IPv4).
pub fn parse_cidr(s: &str) -> Result<IpNet> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => match s.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(Error::Invalid(format!(
                    "{s:?} is not an address or CIDR range; use e.g. 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32"
                )));
            }
        },
    };
    let net = match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map_err(|e| Error::Invalid(e.to_string()))?
            }
            _ => IpNet::V6(v6),
        },
        n => n,
    };
    Ok(net.trunc())
}

/// The shortest prefix an allowlist takes without `--force`: an IPv4 /8
/// (16,777,216 addresses) and an IPv6 /32 (a whole provider's allocation).
pub const WIDEST_V4: u8 = 8;
/// See [`WIDEST_V4`].
pub const WIDEST_V6: u8 = 32;

/// Why `net` is too wide to allowlist without being forced, naming what it
/// would hide; `None` when it is at least as narrow as [`WIDEST_V4`] /
/// [`WIDEST_V6`]. An allowlisted hit raises no alert, so a range this wide
/// silences the alarm for most of the internet.
pub fn too_wide(net: &IpNet) -> Option<String> {
    let (bits, widest) = match net {
        IpNet::V4(_) => (32u32, WIDEST_V4),
        IpNet::V6(_) => (128u32, WIDEST_V6),
    };
    if net.prefix_len() >= widest {
        return None;
    }
    let family = if bits == 32 { "IPv4" } else { "IPv6" };
    let span = bits - u32::from(net.prefix_len());
    let what = if net.prefix_len() == 0 {
        format!("every {family} address")
    } else if span >= 64 {
        format!("2^{span} {family} addresses")
    } else {
        format!("{} {family} addresses", 1u64 << span)
    };
    Some(format!(
        "{net} covers {what}: every hit from there would be stored as ignored and raise no alert, \
         hiding an attacker's use of the token"
    ))
}

/// Whether `hit`'s source address ([`Hit::source_addr`]) lies in a global
/// range or one of the token's own. An address that does not parse is
/// never allowlisted.
pub fn is_allowed(hit: &Hit, global: &[IpNet], per_token: &[AllowEntry]) -> bool {
    let Some(ip) = hit.source_addr() else {
        return false;
    };
    global.iter().any(|n| n.contains(&ip)) || per_token.iter().filter_map(AllowEntry::net).any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_wider_than_a_slash_8_are_too_wide() {
        let wide = |s: &str| too_wide(&parse_cidr(s).unwrap());
        let all = wide("0.0.0.0/0").unwrap();
        assert!(all.contains("every IPv4 address") && all.contains("no alert"), "{all}");
        assert!(wide("::/0").unwrap().contains("every IPv6 address"));
        assert!(wide("10.0.0.0/7").unwrap().contains("33554432 IPv4 addresses"));
        assert!(wide("2001::/16").unwrap().contains("2^112 IPv6 addresses"));
        for ok in ["10.0.0.0/8", "203.0.113.7", "2001:db8::/32", "2001:db8::1"] {
            assert_eq!(wide(ok), None, "{ok}");
        }
    }

    #[test]
    fn parse_normalises_and_rejects_garbage() {
        assert_eq!(parse_cidr("10.1.2.3/16").unwrap().to_string(), "10.1.0.0/16");
        assert_eq!(parse_cidr("203.0.113.7").unwrap().to_string(), "203.0.113.7/32");
        assert_eq!(parse_cidr("2001:db8::1/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(parse_cidr("::ffff:192.0.2.0/120").unwrap().to_string(), "192.0.2.0/24");
        let e = parse_cidr("10.0.0.0/33").unwrap_err().to_string();
        assert!(e.contains("CIDR"), "{e}");
        assert!(parse_cidr("example.com").is_err());
    }

    /// A hit from `source_ip`.
    fn from(source_ip: &str) -> Hit {
        crate::testkit::hit_at("tok", source_ip, 0, 0)
    }

    #[test]
    fn matching_global_and_per_token() {
        let global = vec![parse_cidr("10.0.0.0/8").unwrap()];
        let own = vec![AllowEntry::new("192.0.2.0/24", "ci").unwrap()];
        assert!(is_allowed(&from("10.200.1.1"), &global, &[]));
        assert!(
            is_allowed(&from("::ffff:10.0.0.1"), &global, &[]),
            "IPv4-mapped peers match IPv4 ranges"
        );
        assert!(is_allowed(&from("192.0.2.9"), &[], &own));
        assert!(!is_allowed(&from("192.0.3.9"), &global, &own));
        assert!(!is_allowed(&from("not-an-ip"), &global, &own));
        assert!(!is_allowed(&from(""), &global, &own));
    }
}
