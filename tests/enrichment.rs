//! Who is behind a hit: geolocation and network owner, stored with the hit by
//! the decoy handler, from MaxMind's public test databases and (only when
//! trusted) CloudFront's viewer headers; and the alert email that shows them.

#[path = "support/aws.rs"]
mod support;

use bytes::Bytes;
use std::path::Path;
use std::sync::Arc;

use honeytoken::decoy::enrich::Enricher;
use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::alert::{Alert, render};
use honeytoken::domain::hit::Hit;
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, TokenRecord, mint};
use honeytoken::store::sqlite::SqliteStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};

fn enricher() -> Arc<Enricher> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip");
    Arc::new(
        Enricher::open(
            Some(&d.join("GeoLite2-City-Test.mmdb")),
            Some(&d.join("GeoLite2-ASN-Test.mmdb")),
        )
        .unwrap(),
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    key: SigningKey,
    token: TokenRecord,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("honeytoken.db")).unwrap());
    let key = SigningKey::from_secret(&[9u8; 32]).unwrap();
    let shape = KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap();
    let token = mint(
        &key,
        &MintSpec::Key(shape),
        "payments",
        "github.com/acme/payments/.env",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    store.create(&token).await.unwrap();
    Setup {
        _dir: dir,
        store,
        key,
        token,
    }
}

fn request(token: &str, extra: &[(&str, &str)]) -> http::Request<Bytes> {
    let mut b = http::Request::builder()
        .uri("/v1/charges")
        .header("authorization", format!("Bearer {token}"))
        .header("user-agent", "curl/8.5.0");
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(Bytes::new()).unwrap()
}

/// Sends one request from `ip` through the handler and reads the stored hit back.
async fn stored_hit(s: &Setup, decoy: &Decoy, ip: &str, extra: &[(&str, &str)]) -> Hit {
    let before = s.store.query(&HitQuery::default()).await.unwrap().len();
    let resp = decoy
        .handle(
            request(&s.token.token, extra),
            RequestMeta {
                source_ip: ip.into(),
                request_id: None,
            },
        )
        .await;
    assert_eq!(resp.status(), 401);
    let hits = s.store.query(&HitQuery::default()).await.unwrap();
    assert_eq!(hits.len(), before + 1, "one hit stored");
    hits.into_iter().max_by(|a, b| a.hit_id.cmp(&b.hit_id)).unwrap()
}

#[tokio::test]
async fn stored_hits_carry_location_and_network() {
    let s = setup().await;
    let decoy = Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()).with_enricher(enricher());

    let london = stored_hit(&s, &decoy, "81.2.69.142", &[]).await;
    let g = london.geo.as_ref().expect("geo for 81.2.69.142");
    assert_eq!(
        (g.country_code.as_deref(), g.city.as_deref()),
        (Some("GB"), Some("London"))
    );
    assert_eq!(g.country.as_deref(), Some("United Kingdom"));
    assert!(g.latitude.is_some() && g.longitude.is_some());

    let se = stored_hit(&s, &decoy, "89.160.20.112", &[]).await;
    assert_eq!(se.geo.unwrap().country_code.as_deref(), Some("SE"));

    let google = stored_hit(&s, &decoy, "1.0.0.1", &[]).await;
    let asn = google.asn.expect("asn for 1.0.0.1");
    assert_eq!((asn.number, asn.org.as_deref()), (15169, Some("Google Inc.")));

    let local = stored_hit(&s, &decoy, "127.0.0.1", &[]).await;
    assert_eq!((local.geo, local.asn), (None, None));

    // The stored JSON says so in the stable field names.
    let v = serde_json::to_value(&london).unwrap();
    assert_eq!(v["geo"]["country_code"], "GB");
    assert_eq!(v["geo"]["city"], "London");
    let v = serde_json::to_value(stored_hit(&s, &decoy, "127.0.0.1", &[]).await).unwrap();
    assert!(v["geo"].is_null() && v["asn"].is_null());
}

const FORGED: &[(&str, &str)] = &[
    ("cloudfront-viewer-address", "81.2.69.142:40000"),
    ("cloudfront-viewer-country", "FR"),
    ("cloudfront-viewer-city", "Paris"),
    ("cloudfront-viewer-latitude", "48.85"),
    ("cloudfront-viewer-longitude", "2.35"),
    ("cloudfront-viewer-asn", "16276"),
];

#[tokio::test]
async fn untrusted_mode_ignores_forged_cloudfront_headers() {
    let s = setup().await;
    // Default: not trusted, with and without MaxMind databases.
    for decoy in [
        Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()),
        Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()).with_enricher(enricher()),
        Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()).with_trusted_cloudfront(false),
    ] {
        let h = stored_hit(&s, &decoy, "127.0.0.1", FORGED).await;
        assert_eq!(
            h.source_ip, "127.0.0.1",
            "the forged viewer address must not replace the peer"
        );
        assert_eq!(
            (h.geo, h.asn),
            (None, None),
            "forged location must not be stored as geo"
        );
        // The headers are still recorded, as the untrusted request headers they are.
        assert_eq!(
            h.headers.get("cloudfront-viewer-country").map(String::as_str),
            Some("FR")
        );
    }
}

#[tokio::test]
async fn trusted_cloudfront_fills_in_where_the_databases_know_nothing() {
    let s = setup().await;
    // Without databases: everything from CloudFront, including the viewer address.
    let cf_only = Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()).with_trusted_cloudfront(true);
    let h = stored_hit(&s, &cf_only, "130.176.0.1", FORGED).await;
    assert_eq!(h.source_ip, "81.2.69.142");
    let g = h.geo.expect("geo from CloudFront");
    assert_eq!(
        (g.country_code.as_deref(), g.city.as_deref()),
        (Some("FR"), Some("Paris"))
    );
    assert_eq!((g.latitude, g.longitude), (Some(48.85), Some(2.35)));
    assert_eq!(h.asn.map(|a| (a.number, a.org)), Some((16276, None)));

    // With databases: the database wins for an address it knows...
    let both = Decoy::new(s.key.clone(), s.store.clone(), s.store.clone())
        .with_enricher(enricher())
        .with_trusted_cloudfront(true);
    let h = stored_hit(&s, &both, "130.176.0.1", FORGED).await;
    let g = h.geo.unwrap();
    assert_eq!(
        (g.country_code.as_deref(), g.city.as_deref()),
        (Some("GB"), Some("London"))
    );
    // ...and CloudFront fills in for one it does not (TEST-NET-3 is in neither test database).
    let unknown = [
        ("cloudfront-viewer-address", "203.0.113.9:5000"),
        ("cloudfront-viewer-country", "de"),
        ("cloudfront-viewer-city", "<b>Berlin</b>"),
    ];
    let h = stored_hit(&s, &both, "130.176.0.1", &unknown).await;
    assert_eq!(h.source_ip, "203.0.113.9");
    let g = h.geo.unwrap();
    assert_eq!(
        (g.country_code.as_deref(), g.city.as_deref()),
        (Some("DE"), Some("<b>Berlin</b>"))
    );
    assert_eq!(h.asn, None);

    // A garbage viewer address keeps the peer address.
    let h = stored_hit(
        &s,
        &both,
        "89.160.20.112",
        &[("cloudfront-viewer-address", "not-an-ip:1")],
    )
    .await;
    assert_eq!(h.source_ip, "89.160.20.112");
    assert_eq!(h.geo.unwrap().country_code.as_deref(), Some("SE"));
}

#[tokio::test]
async fn alert_email_names_location_and_network_when_known() {
    let s = setup().await;
    let decoy = Decoy::new(s.key.clone(), s.store.clone(), s.store.clone()).with_enricher(enricher());
    let london = Alert::for_hit(&stored_hit(&s, &decoy, "81.2.69.142", &[]).await);
    let text = render::email_text(&london);
    assert!(text.contains("Location:     London, United Kingdom\n"), "{text}");
    assert!(!text.contains("Network:"), "no ASN is known for this address: {text}");

    let google = Alert::for_hit(&stored_hit(&s, &decoy, "1.0.0.1", &[]).await);
    let text = render::email_text(&google);
    assert!(text.contains("Network:      AS15169 Google Inc.\n"), "{text}");
    assert!(!text.contains("Location:"), "{text}");

    let local = Alert::for_hit(&stored_hit(&s, &decoy, "127.0.0.1", &[]).await);
    let text = render::email_text(&local);
    assert!(!text.contains("Location:") && !text.contains("Network:"), "{text}");
    assert!(text.contains("Source:       127.0.0.1\n"));
}

use support::tagged;

/// The decoy function reads the variables the library reads, set from the
/// template's parameters; CloudFront trust is off unless asked for; the
/// layer is attached only when one is given.
#[test]
fn template_wires_geolocation_into_the_decoy_function() {
    let t = support::template();
    let p = &t["Parameters"];
    assert_eq!(p["TrustCloudFrontHeaders"]["Default"].as_str(), Some("false"));
    assert_eq!(p["GeoIpLayerArn"]["Default"].as_str(), Some(""));
    for path in ["GeoIpCityPath", "GeoIpAsnPath"] {
        assert!(p[path]["Default"].as_str().unwrap().starts_with("/opt/"), "{path}");
    }
    let f = &t["Resources"]["DecoyFunction"]["Properties"];
    let env = &f["Environment"]["Variables"];
    for (var, param) in [
        (honeytoken::decoy::enrich::CITY_VAR, "GeoIpCityPath"),
        (honeytoken::decoy::enrich::ASN_VAR, "GeoIpAsnPath"),
    ] {
        let (tag, v) = tagged(&env[var]).unwrap_or_else(|| panic!("{var} is not set from a parameter"));
        assert_eq!((tag.as_str(), v.as_str()), ("Ref", Some(param)), "{var}");
    }
    // Trust is the parameter's, except behind the front door, whose origin check earns it.
    let (tag, args) = tagged(&env[honeytoken::decoy::enrich::cloudfront::TRUST_VAR]).expect("conditional trust");
    assert_eq!(tag, "If");
    assert_eq!(args[0].as_str(), Some("UseFrontDoor"));
    assert_eq!(args[1].as_str(), Some("true"));
    assert_eq!(
        tagged(&args[2]).map(|(t, v)| (t, v.as_str())),
        Some(("Ref".to_string(), Some("TrustCloudFrontHeaders")))
    );
    let (tag, args) = tagged(&f["Layers"]).expect("Layers is conditional");
    assert_eq!(tag, "If");
    assert_eq!(args[0].as_str(), Some("HasGeoIpLayer"));
    let (tag, cond) = tagged(&t["Conditions"]["HasGeoIpLayer"]).unwrap();
    assert_eq!(tag, "Not");
    let (tag, eq) = tagged(&cond[0]).unwrap();
    assert_eq!(tag, "Equals");
    assert_eq!(
        tagged(&eq[0]).map(|(t, v)| (t, v.as_str())),
        Some(("Ref".to_string(), Some("GeoIpLayerArn")))
    );
}
