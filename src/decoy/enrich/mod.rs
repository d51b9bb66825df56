//! Who is behind a hit: geolocation and network owner from MaxMind DB files
//! (GeoLite2-City / GeoLite2-ASN or the commercial equivalents).
//!
//! Each database is read into memory once per process; lookups are pure
//! memory reads. Anything unknown or unparseable yields `None`, never an error.

pub mod cloudfront;

use maxminddb::{Reader, geoip2};
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::domain::hit::{Asn, Geo};
use crate::error::{Error, Result};

/// The variable naming the City database file (also `serve --geoip-city`).
pub const CITY_VAR: &str = "HONEYTOKEN_GEOIP_CITY";
/// The variable naming the ASN database file (also `serve --geoip-asn`).
pub const ASN_VAR: &str = "HONEYTOKEN_GEOIP_ASN";

/// Geolocation and ASN lookups.
#[derive(Default)]
pub struct Enricher {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("city", &self.city.is_some())
            .field("asn", &self.asn.is_some())
            .finish()
    }
}

fn open(path: &Path) -> Result<Reader<Vec<u8>>> {
    Reader::open_readfile(path)
        .map_err(|e| Error::Config(format!("cannot read the MaxMind database {}: {e}", path.display())))
}

impl Enricher {
    /// Opens whichever databases are given.
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Self> {
        Ok(Enricher {
            city: city.map(open).transpose()?,
            asn: asn.map(open).transpose()?,
        })
    }

    /// From `HONEYTOKEN_GEOIP_CITY` / `HONEYTOKEN_GEOIP_ASN`; `None` when neither is set.
    pub fn from_env() -> Result<Option<Self>> {
        let city = std::env::var_os(CITY_VAR).filter(|v| !v.is_empty());
        let asn = std::env::var_os(ASN_VAR).filter(|v| !v.is_empty());
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
        Self::from_lookup_or_absent(|k| std::env::var_os(k))
    }

    /// [`Enricher::from_env_or_absent`] with the variables read through `get`.
    pub fn from_lookup_or_absent(get: impl Fn(&str) -> Option<OsString>) -> Option<Self> {
        let load = |var: &str| -> Option<Reader<Vec<u8>>> {
            let path = get(var).filter(|v| !v.is_empty())?;
            match open(Path::new(&path)) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(event = "geoip_unavailable", variable = var, error = %e, "enrichment disabled for this database");
                    None
                }
            }
        };
        let e = Enricher {
            city: load(CITY_VAR),
            asn: load(ASN_VAR),
        };
        (e.city.is_some() || e.asn.is_some()).then_some(e)
    }

    /// Whether a database is loaded.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.asn.is_none()
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
        Some(Asn {
            number: a.autonomous_system_number?,
            org: a.autonomous_system_organization.map(str::to_string),
        })
    }
}

/// Sets up a decoy's enrichment from the environment, once per process (the
/// Lambda's cold start): the MaxMind files named by `HONEYTOKEN_GEOIP_CITY` /
/// `HONEYTOKEN_GEOIP_ASN` (missing files are logged and skipped, see
/// [`Enricher::from_env_or_absent`]) and trust in CloudFront's viewer headers
/// from `HONEYTOKEN_TRUST_CLOUDFRONT_HEADERS` (see [`cloudfront::trusted_from_env`]).
pub fn configure_from_env(decoy: crate::decoy::Decoy) -> crate::decoy::Decoy {
    configure_with(decoy, |k| std::env::var_os(k))
}

/// [`configure_from_env`] with the variables read through `get`.
pub fn configure_with(decoy: crate::decoy::Decoy, get: impl Fn(&str) -> Option<OsString>) -> crate::decoy::Decoy {
    let trusted = get(cloudfront::TRUST_VAR).is_some_and(|v| cloudfront::is_true(&v.to_string_lossy()));
    // Never turns trust off: the front door's origin check may have turned it on.
    let decoy = if trusted {
        decoy.with_trusted_cloudfront(true)
    } else {
        decoy
    };
    let enricher = Enricher::from_lookup_or_absent(&get);
    tracing::info!(
        event = "enrichment",
        geoip = enricher.is_some(),
        trust_cloudfront_headers = trusted
    );
    match enricher {
        Some(e) => decoy.with_enricher(Arc::new(e)),
        None => decoy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> Enricher {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip");
        Enricher::open(
            Some(&d.join("GeoLite2-City-Test.mmdb")),
            Some(&d.join("GeoLite2-ASN-Test.mmdb")),
        )
        .unwrap()
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

    mod configure {
        use super::super::*;
        use crate::decoy::{Decoy, RequestMeta};
        use crate::domain::key::SigningKey;
        use crate::domain::token::{Alphabet, KeyShape, MintSpec, mint};
        use crate::store::TokenStore;
        use crate::store::memory::MemoryStore;
        use bytes::Bytes;

        fn fixture(name: &str) -> OsString {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/geoip")
                .join(name)
                .into_os_string()
        }

        /// Records one request from `ip` with forged CloudFront headers on a
        /// decoy configured from `vars`; returns (source_ip, country code).
        async fn record(vars: &[(&str, OsString)], ip: &str) -> (String, Option<String>) {
            let key = SigningKey::from_secret(&[4u8; 32]).unwrap();
            let store = Arc::new(MemoryStore::new());
            let shape = KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap();
            let rec = mint(
                &key,
                &MintSpec::Key(shape),
                "l",
                "",
                "",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            store.create(&rec).await.unwrap();
            let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
            let decoy = configure_with(Decoy::new(key, store.clone(), store), get);
            let req = http::Request::builder()
                .header("authorization", format!("Bearer {}", rec.token))
                .header("cloudfront-viewer-address", "89.160.20.112:1234")
                .header("cloudfront-viewer-country", "FR")
                .body(Bytes::new())
                .unwrap();
            let hits = decoy
                .record(
                    req,
                    RequestMeta {
                        source_ip: ip.into(),
                        request_id: None,
                    },
                )
                .await;
            let h = &hits[0];
            (h.source_ip.clone(), h.geo.as_ref().and_then(|g| g.country_code.clone()))
        }

        #[tokio::test]
        async fn databases_and_trust_come_from_the_variables() {
            let city = ("HONEYTOKEN_GEOIP_CITY", fixture("GeoLite2-City-Test.mmdb"));
            let yes = (cloudfront::TRUST_VAR, OsString::from("true"));
            let no = (cloudfront::TRUST_VAR, OsString::from("false"));
            assert_eq!(
                record(std::slice::from_ref(&city), "81.2.69.142").await,
                ("81.2.69.142".into(), Some("GB".into()))
            );
            assert_eq!(
                record(&[city.clone(), no], "81.2.69.142").await,
                ("81.2.69.142".into(), Some("GB".into()))
            );
            // Trusted: the viewer address replaces the edge's, and is looked up.
            assert_eq!(
                record(&[city, yes.clone()], "81.2.69.142").await,
                ("89.160.20.112".into(), Some("SE".into()))
            );
            // Trusted without databases: CloudFront's own country.
            assert_eq!(
                record(&[yes], "127.0.0.1").await,
                ("89.160.20.112".into(), Some("FR".into()))
            );
        }

        #[tokio::test]
        async fn missing_files_leave_enrichment_absent_not_broken() {
            let vars = [
                ("HONEYTOKEN_GEOIP_CITY", OsString::from("/opt/geoip/no-such-file.mmdb")),
                ("HONEYTOKEN_GEOIP_ASN", fixture("LICENSE-MIT")),
            ];
            assert!(
                Enricher::from_lookup_or_absent(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                    .is_none()
            );
            assert_eq!(record(&vars, "81.2.69.142").await, ("81.2.69.142".into(), None));
            assert_eq!(record(&[], "81.2.69.142").await, ("81.2.69.142".into(), None));
        }
    }
}
