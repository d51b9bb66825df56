//! Who is behind a hit: geolocation and network owner from MaxMind DB files
//! (GeoLite2-City / GeoLite2-ASN or the commercial equivalents).
//!
//! Each database is read into memory once per process; lookups are pure
//! memory reads. Anything unknown or unparseable yields `None`, never an error.

pub mod cloudfront;

use maxminddb::{Reader, geoip2};
use std::net::IpAddr;
use std::path::Path;

use crate::error::{Error, Result};
use crate::hit::{Asn, Geo};

/// Geolocation and ASN lookups.
#[derive(Default)]
pub struct Enricher {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher").field("city", &self.city.is_some()).field("asn", &self.asn.is_some()).finish()
    }
}

fn open(path: &Path) -> Result<Reader<Vec<u8>>> {
    Reader::open_readfile(path).map_err(|e| {
        Error::Config(format!("cannot read the MaxMind database {}: {e}", path.display()))
    })
}

impl Enricher {
    /// Opens whichever databases are given.
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Self> {
        Ok(Enricher { city: city.map(open).transpose()?, asn: asn.map(open).transpose()? })
    }

    /// From `HONEYTOKEN_GEOIP_CITY` / `HONEYTOKEN_GEOIP_ASN`; `None` when neither is set.
    pub fn from_env() -> Result<Option<Self>> {
        let city = std::env::var_os("HONEYTOKEN_GEOIP_CITY").filter(|v| !v.is_empty());
        let asn = std::env::var_os("HONEYTOKEN_GEOIP_ASN").filter(|v| !v.is_empty());
        if city.is_none() && asn.is_none() {
            return Ok(None);
        }
        Self::open(city.as_deref().map(Path::new), asn.as_deref().map(Path::new)).map(Some)
    }

    /// For long-running functions (the decoy Lambda): like [`Enricher::from_env`]
    /// but never fails. A configured file that is missing or unreadable (say the
    /// template's default path under `/opt` with no layer attached) is logged once
    /// and skipped, so hits are still recorded, with null geo or asn.
    pub fn from_env_or_absent() -> Option<Self> {
        let load = |var: &str| -> Option<Reader<Vec<u8>>> {
            let path = std::env::var_os(var).filter(|v| !v.is_empty())?;
            match open(Path::new(&path)) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(event = "geoip_unavailable", variable = var, error = %e, "enrichment disabled for this database");
                    None
                }
            }
        };
        let e = Enricher { city: load("HONEYTOKEN_GEOIP_CITY"), asn: load("HONEYTOKEN_GEOIP_ASN") };
        (e.city.is_some() || e.asn.is_some()).then_some(e)
    }

    /// Looks up an address given as text; `(None, None)` when it does not parse
    /// or is not in the databases.
    pub fn lookup(&self, ip: &str) -> (Option<Geo>, Option<Asn>) {
        let Ok(ip) = ip.trim().parse::<IpAddr>() else {
            return (None, None);
        };
        (self.geo(ip), self.asn(ip))
    }

    fn geo(&self, ip: IpAddr) -> Option<Geo> {
        let c: geoip2::City = self.city.as_ref()?.lookup(ip).ok()??;
        let en = |names: Option<std::collections::BTreeMap<&str, &str>>| {
            names.and_then(|n| n.get("en").map(|s| s.to_string()))
        };
        let country = c.country.as_ref();
        let geo = Geo {
            country_code: country.and_then(|c| c.iso_code).map(str::to_string),
            country: en(country.and_then(|c| c.names.clone())),
            city: en(c.city.and_then(|c| c.names)),
            latitude: c.location.as_ref().and_then(|l| l.latitude),
            longitude: c.location.as_ref().and_then(|l| l.longitude),
        };
        (geo.country_code.is_some() || geo.city.is_some() || geo.latitude.is_some()).then_some(geo)
    }

    fn asn(&self, ip: IpAddr) -> Option<Asn> {
        let a: geoip2::Asn = self.asn.as_ref()?.lookup(ip).ok()??;
        Some(Asn { number: a.autonomous_system_number?, org: a.autonomous_system_organization.map(str::to_string) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> Enricher {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip");
        Enricher::open(Some(&d.join("GeoLite2-City-Test.mmdb")), Some(&d.join("GeoLite2-ASN-Test.mmdb"))).unwrap()
    }

    #[test]
    fn known_addresses_resolve() {
        let e = fixtures();
        let (geo, _) = e.lookup("81.2.69.142");
        let geo = geo.unwrap();
        assert_eq!(geo.country_code.as_deref(), Some("GB"));
        assert_eq!(geo.city.as_deref(), Some("London"));
        assert_eq!(e.lookup("89.160.20.112").0.unwrap().country_code.as_deref(), Some("SE"));
        let asn = e.lookup("1.0.0.1").1.unwrap();
        assert_eq!((asn.number, asn.org.as_deref()), (15169, Some("Google Inc.")));
    }

    #[test]
    fn unknown_and_garbage_are_null() {
        let e = fixtures();
        assert_eq!(e.lookup("127.0.0.1"), (None, None));
        assert_eq!(e.lookup("not-an-ip\u{1b}"), (None, None));
        assert_eq!(Enricher::default().lookup("81.2.69.142"), (None, None));
    }
}
