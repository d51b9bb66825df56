//! Realistic values for JWT claims: the per-installation issuer, client ids,
//! scope strings, lifetimes and one consistent fake identity per token.
//!
//! Everything a real issuer keeps constant for a deployment (its URL, realm,
//! realm roles) is derived from the signing key, so it is the same for every
//! token of an installation and differs between installations; everything a
//! real issuer varies per user or per client is drawn per token from wide
//! distributions (thousands of client ids, hundreds of scope sets, a
//! continuum of lifetimes, tens of thousands of names).

use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::key::SigningKey;

const SUBDOMAINS: &[&str] = &[
    "sso", "auth", "id", "login", "keycloak", "iam", "accounts", "identity", "idp", "kc", "signin", "oidc",
];
const NAME_HEADS: &[&str] = &[
    "acme", "north", "blue", "bright", "cloud", "data", "river", "stone", "peak", "swift", "nova", "pixel", "iron",
    "green", "silver", "orbit", "harbor", "summit", "lumen", "vertex", "cedar", "maple", "atlas", "polar", "quant",
    "terra", "zen", "echo", "alpine", "coral", "delta", "ember", "fjord", "granite", "helix", "indigo",
];
const NAME_TAILS: &[&str] = &[
    "labs", "works", "soft", "systems", "tech", "ware", "logic", "line", "base", "flow", "grid", "point", "stack",
    "bridge", "scale", "metrics", "pay", "health", "bank", "cart", "ly", "hub", "forge", "mind", "path", "io",
];
const TLDS: &[&str] = &[
    "com", "io", "net", "dev", "co", "cloud", "tech", "app", "de", "co.uk", "eu", "org",
];
const REALMS: &[&str] = &[
    "prod",
    "production",
    "internal",
    "employees",
    "corp",
    "staff",
    "main",
    "platform",
    "services",
    "customers",
    "apps",
    "company",
    "workforce",
    "backend",
    "api",
];

/// The deployment's identity provider, derived from the signing key: a
/// realistic Keycloak issuer (`https://HOST/realms/REALM`; Keycloak before 17
/// served under `/auth`), the organisation's domain, and the realm name.
#[derive(Debug, Clone, PartialEq)]
pub struct Installation {
    /// `iss`.
    pub issuer: String,
    /// The domain users' email addresses are at.
    pub domain: String,
    /// The Keycloak realm.
    pub realm: String,
}

/// The [`Installation`] of a signing key: the same for every token minted
/// with it, unrelated between keys.
pub fn installation(key: &SigningKey) -> Installation {
    let m = key.mac("jwt-installation", b"");
    let pick = |i: usize, list: &[&'static str]| list[u16::from_be_bytes([m[i], m[i + 1]]) as usize % list.len()];
    let org = format!("{}{}", pick(0, NAME_HEADS), pick(2, NAME_TAILS));
    let domain = format!("{org}.{}", pick(4, TLDS));
    let host = format!("{}.{domain}", pick(6, SUBDOMAINS));
    let realm = if m[8].is_multiple_of(5) {
        org.clone()
    } else {
        pick(10, REALMS).to_string()
    };
    let base = if m[12].is_multiple_of(4) {
        "/auth/realms/"
    } else {
        "/realms/"
    };
    Installation {
        issuer: format!("https://{host}{base}{realm}"),
        domain,
        realm,
    }
}

/// Keycloak's realm roles of a user with the defaults: `offline_access`,
/// `uma_authorization` and `default-roles-REALM` (Keycloak 13+). Keycloak
/// serialises a hash set, whose order depends on the names but is the same
/// in every token of a realm: the order is drawn once per installation.
pub fn realm_access(key: &SigningKey) -> Value {
    use rand::SeedableRng;
    let realm = installation(key).realm;
    let mut roles = vec![
        "offline_access".to_string(),
        "uma_authorization".to_string(),
        format!("default-roles-{realm}"),
    ];
    let mut order = rand::rngs::StdRng::from_seed(key.mac("jwt-realm-roles", b""));
    roles.shuffle(&mut order);
    json!({ "roles": roles })
}

const APPS: &[&str] = &[
    "web",
    "admin",
    "frontend",
    "mobile",
    "gateway",
    "dashboard",
    "backoffice",
    "cli",
    "portal",
    "tools",
    "billing",
    "orders",
    "checkout",
    "inventory",
    "search",
    "analytics",
    "bi",
    "crm",
    "support",
    "payments",
    "catalog",
    "shipping",
    "notifications",
    "accounts",
    "profile",
    "partner",
    "merchant",
    "ops",
    "console",
    "grafana",
    "jenkins",
    "argocd",
    "vault",
    "gitlab",
    "wiki",
    "kibana",
    "sonar",
    "harbor",
    "airflow",
    "superset",
    "metabase",
    "backstage",
];
const APP_KINDS: &[&str] = &[
    "app",
    "ui",
    "api",
    "service",
    "client",
    "spa",
    "web",
    "backend",
    "svc",
    "bff",
    "portal",
    "console",
    "ios",
    "android",
    "desktop",
    "worker",
    "sync",
    "batch",
    "cron",
    "integration",
];
const ENVS: &[&str] = &["prod", "production", "live", "staging", "internal", "v2", "eu", "us"];

/// A client id as operators name them in Keycloak (`orders-api`,
/// `billing_service`, `grafana`, `checkout-web-prod`): thousands of values.
pub fn client_id(rng: &mut impl Rng) -> String {
    let app = APPS[rng.random_range(0..APPS.len())];
    let kind = APP_KINDS[rng.random_range(0..APP_KINDS.len())];
    let sep = if rng.random_bool(0.85) { "-" } else { "_" };
    match rng.random_range(0..10) {
        0 | 1 => app.to_string(),
        2..=6 => format!("{app}{sep}{kind}"),
        7 => format!("{app}{sep}{kind}{sep}{}", ENVS[rng.random_range(0..ENVS.len())]),
        8 => {
            let other = APPS[rng.random_range(0..APPS.len())];
            format!("{app}{sep}{other}{sep}{kind}")
        }
        _ => format!("{}{sep}{app}", ENVS[rng.random_range(0..ENVS.len())]),
    }
}

/// A `scope` claim as Keycloak writes it: the client's default scopes and
/// whichever optional ones were requested, space-separated.
pub fn scope(rng: &mut impl Rng) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (name, p) in [
        ("openid", 0.8),
        ("email", 0.9),
        ("profile", 0.9),
        ("offline_access", 0.15),
        ("phone", 0.08),
        ("address", 0.06),
        ("microprofile-jwt", 0.05),
        ("organization", 0.04),
        ("basic", 0.1),
    ] {
        if rng.random_bool(p) {
            parts.push(name.to_string());
        }
    }
    // Client scopes of the operator's own APIs.
    let custom = rng.random_range(0..=4usize).saturating_sub(2);
    for _ in 0..custom {
        let api = APPS[rng.random_range(0..APPS.len())];
        let verb = ["read", "write", "admin", "manage", "view"][rng.random_range(0..5)];
        let sep = [":", ".", "-", "_"][rng.random_range(0..4)];
        parts.push(format!("{api}{sep}{verb}"));
    }
    if parts.is_empty() {
        parts.push("profile".into());
    }
    // Keycloak joins a set, so the order is not fixed.
    parts.shuffle(rng);
    parts.join(" ")
}

/// A lifetime log-uniform in `min..=max` seconds, in whole minutes as
/// lifespans are configured (Keycloak's admin console takes minutes, hours
/// or days), so no particular value stands out.
pub fn lifetime(min: i64, max: i64, rng: &mut impl Rng) -> i64 {
    let (lo, hi) = ((min.max(60)) as f64, (max.max(min).max(60)) as f64);
    let l = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
    ((l / 60.0).round() as i64 * 60).clamp(min.max(1), max.max(min).max(1))
}

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Lisa",
    "Anthony",
    "Nancy",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Michelle",
    "Joshua",
    "Amanda",
    "Kevin",
    "Melissa",
    "Brian",
    "Stephanie",
    "George",
    "Rebecca",
    "Timothy",
    "Laura",
    "Ryan",
    "Helen",
    "Jacob",
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Lea",
    "Mateo",
    "Lucia",
    "Hugo",
    "Chloe",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Arjun",
    "Priya",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Omar",
    "Fatima",
    "Ivan",
    "Olga",
    "Pierre",
    "Camille",
    "Marco",
    "Giulia",
    "Sven",
    "Ingrid",
    "Kofi",
    "Amara",
    "Diego",
    "Sofia",
    "Nikolai",
    "Elena",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Dubois",
    "Moreau",
    "Laurent",
    "Rossi",
    "Russo",
    "Ferrari",
    "Bianchi",
    "Novak",
    "Kowalski",
    "Nowak",
    "Ivanov",
    "Petrov",
    "Sato",
    "Suzuki",
    "Tanaka",
    "Kim",
    "Park",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Singh",
    "Patel",
    "Kumar",
    "Sharma",
    "Khan",
    "Ali",
    "Hansen",
    "Johansson",
    "Larsen",
    "Jensen",
    "Silva",
    "Santos",
    "Costa",
    "Mensah",
    "Okafor",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
    "Cohen",
    "Levi",
    "Novotny",
    "Horvat",
    "Popescu",
    "Nagy",
    "Yilmaz",
];

/// One fake person: every identity claim of a token is derived from it, so
/// name, username and email agree with each other.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// First name.
    pub given: String,
    /// Last name.
    pub family: String,
    /// Login name (`jsmith`, `john.smith`).
    pub username: String,
    /// Local part of the email address.
    pub local: String,
}

impl Person {
    /// Draws a person.
    pub fn draw(rng: &mut impl Rng) -> Person {
        let given = GIVEN[rng.random_range(0..GIVEN.len())].to_string();
        let family = FAMILY[rng.random_range(0..FAMILY.len())].to_string();
        let (g, f) = (given.to_ascii_lowercase(), family.to_ascii_lowercase());
        let initial = &g[..1];
        let local = match rng.random_range(0..10) {
            0..=4 => format!("{g}.{f}"),
            5 | 6 => format!("{initial}{f}"),
            7 => format!("{initial}.{f}"),
            8 => format!("{g}_{f}"),
            _ => format!("{g}{}", &f[..1]),
        };
        // Clashes get a number, as directories hand them out.
        let local = if rng.random_bool(0.1) {
            format!("{local}{}", rng.random_range(1..100))
        } else {
            local
        };
        let username = match rng.random_range(0..4) {
            0 | 1 => local.clone(),
            2 => format!("{initial}{f}"),
            _ => format!("{g}.{f}"),
        };
        Person {
            given,
            family,
            username,
            local,
        }
    }

    /// The value of identity claim `field` (`name`, `given`, `family`,
    /// `username`, `email`), emails at `domain`.
    pub fn field(&self, field: &str, domain: &str) -> String {
        match field {
            "given" => self.given.clone(),
            "family" => self.family.clone(),
            "username" => self.username.clone(),
            "email" => format!("{}@{domain}", self.local),
            _ => format!("{} {}", self.given, self.family),
        }
    }
}

/// The [`Person`] field an identity claim of an example token holds, if it
/// is one (`name`, `preferred_username`, `upn`, …): such values are never
/// copied, since they would plant a real person's details in a decoy.
pub fn identity_field(claim: &str, value: &str) -> Option<&'static str> {
    let email_like = value.contains('@');
    Some(match claim {
        "name" | "nickname" | "display_name" | "displayName" => "name",
        "given_name" | "first_name" | "firstName" => "given",
        "family_name" | "last_name" | "lastName" => "family",
        "email" | "upn" | "unique_name" | "preferred_username" | "username" | "login" | "mail" | "user_name"
            if email_like =>
        {
            "email"
        }
        "preferred_username" | "username" | "login" | "user_name" => "username",
        _ => return None,
    })
}
