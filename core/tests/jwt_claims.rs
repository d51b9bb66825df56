//! The default JWT's claims and `--like`'s identity claims, checked over
//! hundreds of mints as someone comparing the decoy with real tokens would
//! (issue 24, item 2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use honeytoken_core::key::SigningKey;
use honeytoken_core::token::{self, MintSpec, jwt};
use serde_json::Value;
use std::collections::BTreeSet;

const N: usize = 500;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_secret(&[seed; 32]).unwrap()
}

/// The header's raw text and the claims in order.
fn decode(t: &str) -> (String, Vec<(String, Value)>) {
    let mut it = t.split('.');
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<(usize, String)> = v
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (text.find(&format!("{}:", Value::String(k.clone()))).unwrap(), k.clone()))
        .collect();
    keys.sort();
    (
        header,
        keys.into_iter().map(|(_, k)| (k.clone(), v[&k].clone())).collect(),
    )
}

fn get<'a>(c: &'a [(String, Value)], n: &str) -> &'a Value {
    &c.iter().find(|(k, _)| k == n).unwrap_or_else(|| panic!("no {n}")).1
}

fn mint_default(k: &SigningKey, n: usize) -> Vec<String> {
    let spec = MintSpec::JwtShaped(Box::new(jwt::JwtShape::standard(token::DEFAULT_ISSUER, None)));
    let now = time::OffsetDateTime::now_utc();
    (0..n)
        .map(|_| {
            let r = token::mint(k, &spec, "l", "loc", "", now).unwrap();
            assert!(
                token::recognise(k, r.token.as_bytes())
                    .unwrap()
                    .jwt
                    .unwrap()
                    .signature_valid
            );
            r.token
        })
        .collect()
}

/// Keycloak 21-24's access token for a user through a client with the
/// default client scopes: every claim, in Keycloak's order, with its values'
/// kinds; header as Keycloak's JWSBuilder writes it.
#[test]
fn default_claim_set_is_keycloaks_access_token_whole() {
    let k = key(3);
    let mut realm_access = BTreeSet::new();
    for t in mint_default(&k, N) {
        let (header, c) = decode(&t);
        assert!(
            header.starts_with(r#"{"alg":"HS256","typ" : "JWT","kid" : ""#),
            "{header}"
        );
        let names: Vec<&str> = c.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "exp",
                "iat",
                "auth_time",
                "jti",
                "iss",
                "aud",
                "sub",
                "typ",
                "azp",
                "session_state",
                "acr",
                "realm_access",
                "resource_access",
                "scope",
                "sid",
                "email_verified",
                "name",
                "preferred_username",
                "given_name",
                "family_name",
                "email"
            ]
        );
        assert_eq!(get(&c, "typ"), "Bearer");
        assert_eq!(get(&c, "aud"), "account");
        assert_eq!(get(&c, "sid"), get(&c, "session_state"));
        let roles = get(&c, "realm_access")["roles"].as_array().unwrap();
        assert!(roles.iter().any(|r| r.as_str().unwrap().starts_with("default-roles-")));
        realm_access.insert(get(&c, "realm_access").to_string());
        // One person: the name is the given and family names, the email at
        // the issuer's organisation.
        let (given, family) = (
            get(&c, "given_name").as_str().unwrap(),
            get(&c, "family_name").as_str().unwrap(),
        );
        assert_eq!(get(&c, "name").as_str().unwrap(), format!("{given} {family}"));
        let email = get(&c, "email").as_str().unwrap();
        let (local, domain) = email.split_once('@').unwrap();
        assert!(
            local.contains(&family.to_ascii_lowercase()) || local.starts_with(&given.to_ascii_lowercase()),
            "{email}"
        );
        let iss = get(&c, "iss").as_str().unwrap();
        assert!(iss.contains(&format!(".{domain}/")), "{iss} vs {email}");
    }
    // Keycloak writes a realm's roles in one order in all its tokens.
    assert_eq!(realm_access.len(), 1, "{realm_access:?}");
}

/// No issuer shared between installations; one issuer per installation.
#[test]
fn issuer_is_per_installation() {
    let mut issuers = BTreeSet::new();
    for seed in 0..40u8 {
        let k = key(seed);
        let per: BTreeSet<String> = mint_default(&k, 5)
            .iter()
            .map(|t| get(&decode(t).1, "iss").as_str().unwrap().to_string())
            .collect();
        assert_eq!(per.len(), 1, "{per:?}");
        let iss = per.into_iter().next().unwrap();
        assert!(iss.starts_with("https://") && iss.contains("/realms/"), "{iss}");
        assert_ne!(iss, "https://auth.internal");
        issuers.insert(iss);
    }
    assert!(issuers.len() >= 38, "{} issuers over 40 installations", issuers.len());
    // An issuer the operator gives is used as given.
    let spec = MintSpec::JwtShaped(Box::new(jwt::JwtShape::standard("https://sso.acme.io/realms/x", None)));
    let r = token::mint(&key(1), &spec, "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(get(&decode(&r.token).1, "iss"), "https://sso.acme.io/realms/x");
}

/// azp, scope and lifetimes spread wide; lifetimes are not whole days.
#[test]
fn azp_scope_and_lifetimes_are_widely_drawn() {
    let tokens = mint_default(&key(5), N);
    let mut azp = BTreeSet::new();
    let mut scope = BTreeSet::new();
    let mut life = BTreeSet::new();
    let mut whole_days = 0;
    for t in &tokens {
        let c = decode(t).1;
        azp.insert(get(&c, "azp").as_str().unwrap().to_string());
        scope.insert(get(&c, "scope").as_str().unwrap().to_string());
        let l = get(&c, "exp").as_i64().unwrap() - get(&c, "iat").as_i64().unwrap();
        assert!((1800..=90 * 86400).contains(&l), "{l}");
        if l % 86400 == 0 {
            whole_days += 1;
        }
        life.insert(l);
    }
    // Before: 12 clients, 8 scopes, 7 lifetimes, all whole days.
    assert!(azp.len() > 150, "{} client ids", azp.len());
    assert!(scope.len() > 40, "{} scopes", scope.len());
    assert!(life.len() > 400, "{} lifetimes", life.len());
    assert!(whole_days < 10, "{whole_days} whole-day lifetimes");
}

fn b64(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// `--like` never copies a real person's identity claims: one fake person
/// per token, email at the example's domain matching the name.
#[test]
fn like_derives_one_fake_identity() {
    let h = r#"{"alg":"RS256","typ" : "JWT","kid" : "Yk1c2lT3yLsnD0nSpDnPJa2Qx7JqYQ0cZZt0bM9Tf8k"}"#;
    let p = r#"{"exp":1764003600,"iat":1764003300,"jti":"0b6c1c5e-8a4c-4a8e-9d2f-3f4e5a6b7c8d","iss":"https://id.acme.io/realms/prod","sub":"5f3a2b1c-9d8e-4f7a-8b6c-5d4e3f2a1b0c","typ":"Bearer","azp":"orders-web","sid":"7d1c9f0e-2b3a-4c5d-8e6f-a0b1c2d3e4f5","email_verified":true,"name":"Grace Hopperton","preferred_username":"ghopperton","given_name":"Grace","family_name":"Hopperton","email":"grace.hopperton@acme.io"}"#;
    let example = format!("{}.{}.{}", b64(h), b64(p), URL_SAFE_NO_PAD.encode([5u8; 256]));
    let like = jwt::infer_like(&example, None, None).unwrap();
    let k = key(7);
    let spec = MintSpec::JwtShaped(Box::new(like.shape));
    let now = time::OffsetDateTime::now_utc();
    let mut names = BTreeSet::new();
    for _ in 0..N {
        let r = token::mint(&k, &spec, "l", "", "", now).unwrap();
        assert!(!r.token.contains("Hopperton") && !r.token.contains("hopperton"));
        let c = decode(&r.token).1;
        let s = |n: &str| get(&c, n).as_str().unwrap().to_string();
        assert!(!s("name").contains("Grace") || s("family_name") != "Hopperton");
        assert_eq!(s("name"), format!("{} {}", s("given_name"), s("family_name")));
        let (local, domain) = s("email")
            .split_once('@')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap();
        assert_eq!(domain, "acme.io");
        let (g, f) = (
            s("given_name").to_ascii_lowercase(),
            s("family_name").to_ascii_lowercase(),
        );
        assert!(local.contains(&f) || local.starts_with(&g), "{local} for {g} {f}");
        let user = s("preferred_username");
        assert!(user.contains(&f) || user.starts_with(&g), "{user} for {g} {f}");
        names.insert(s("name"));
    }
    assert!(names.len() > 300, "{} names over {N}", names.len());
}

/// `--like` with an Auth0 access token, which has no claim with room for
/// the id and tag: the claims are exactly the example's (no added `jti`),
/// the identity rides in the RSA signature's bytes, and an edit or a changed
/// `alg` is still recognised and reported as tampered.
#[test]
fn like_auth0_carries_the_identity_in_the_signature() {
    let h = r#"{"alg":"RS256","typ":"JWT","kid":"Qz3bXn1Kq9Lw2cVt8Rm4Y"}"#;
    let p = r#"{"iss":"https://login.acme.io/","sub":"auth0|64f1c2a9b8e7d60012345678","aud":["https://api.acme.io","https://login.acme.io/userinfo"],"iat":1764000000,"exp":1764086400,"scope":"openid profile read:orders","azp":"Xk9aQ3pL7mN2bV5cR8tY1wE4uI6oP0sD","permissions":["read:orders"]}"#;
    let example = format!("{}.{}.{}", b64(h), b64(p), URL_SAFE_NO_PAD.encode([5u8; 256]));
    let like = jwt::infer_like(&example, None, None).unwrap();
    assert!(like.warnings.is_empty(), "{:?}", like.warnings);
    let k = key(9);
    let spec = MintSpec::JwtShaped(Box::new(like.shape));
    let now = time::OffsetDateTime::now_utc();
    let want: Vec<String> = decode(&example).1.into_iter().map(|(k, _)| k).collect();
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for _ in 0..300 {
        let r = token::mint(&k, &spec, "l", "", "", now).unwrap();
        let t = r.token;
        let names: Vec<String> = decode(&t).1.into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, want);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts[0], b64(h));
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(sig.len(), 256);
        sigs.push(sig);
        let seen = token::recognise(&k, t.as_bytes()).expect("recognised");
        assert_eq!(seen.token_id, r.id);
        let j = seen.jwt.unwrap();
        assert!(j.signature_valid);
        assert_eq!(j.version, 3);
        assert!(token::recognise(&key(10), t.as_bytes()).is_none());
        // An edited payload: still ours, no longer untouched.
        let mut claims: serde_json::Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims.insert("scope".into(), Value::String("admin".into()));
        let edited = format!("{}.{}.{}", parts[0], b64(&Value::Object(claims).to_string()), parts[2]);
        let seen = token::recognise(&k, edited.as_bytes()).expect("edited still recognised");
        assert_eq!(seen.token_id, r.id);
        assert!(!seen.jwt.unwrap().signature_valid);
        let none = format!("{}.{}.{}", b64(r#"{"alg":"none"}"#), parts[1], parts[2]);
        assert!(
            !token::recognise(&k, none.as_bytes())
                .unwrap()
                .jwt
                .unwrap()
                .signature_valid
        );
    }
    // No byte of the signature is fixed across tokens.
    for i in 0..256 {
        let distinct: BTreeSet<u8> = sigs.iter().map(|s| s[i]).collect();
        assert!(
            distinct.len() > 100,
            "signature byte {i} takes {} values",
            distinct.len()
        );
    }
}

/// A default shape stored by a record before issue 24 (no lifetime range,
/// no Keycloak header, the old fixed issuer) still reads, mints and is
/// recognised: rotation re-mints from stored shapes.
#[test]
fn shape_stored_before_issue_24_still_mints() {
    let stored = r#"{"header":[["alg",{"kind":"fixed","value":"HS256"}],["typ",{"kind":"fixed","value":"JWT"}],["kid",{"kind":"deployment_kid"}]],"claims":[["exp",{"kind":"expiry"}],["iat",{"kind":"issued_at"}],["auth_time",{"kind":"time_offset","min":-3600,"max":-5}],["jti",{"kind":"uuid"}],["iss",{"kind":"fixed","value":"https://auth.internal"}],["sub",{"kind":"uuid"}],["azp",{"kind":"one_of","values":["web-app","cli"]}],["sid",{"kind":"uuid"}],["scope",{"kind":"one_of","values":["openid profile"]}]],"carrier":"jti","metadata":"sid","lifetimes":[604800,1209600],"sig_len":32}"#;
    let shape: jwt::JwtShape = serde_json::from_str(stored).unwrap();
    let k = key(11);
    let r = token::mint(
        &k,
        &MintSpec::JwtShaped(Box::new(shape)),
        "l",
        "loc",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let (header, c) = decode(&r.token);
    assert!(header.starts_with(r#"{"alg":"HS256","typ":"JWT","kid":""#), "{header}");
    assert_eq!(get(&c, "iss"), "https://auth.internal");
    let l = get(&c, "exp").as_i64().unwrap() - get(&c, "iat").as_i64().unwrap();
    assert!(l == 604800 || l == 1209600);
    let seen = token::recognise(&k, r.token.as_bytes()).unwrap();
    assert_eq!(seen.token_id, r.id);
    assert_eq!(seen.jwt.as_ref().unwrap().version, 2);
    assert!(seen.jwt.unwrap().signature_valid);
}

/// The record names the issuer the default token shows, so `tokens` and
/// rotation see the installation's issuer rather than an empty one.
#[test]
fn record_names_the_installation_issuer() {
    let k = key(12);
    for spec in [
        MintSpec::JwtShaped(Box::new(jwt::JwtShape::standard(token::DEFAULT_ISSUER, None))),
        MintSpec::Jwt {
            issuer: token::DEFAULT_ISSUER.into(),
        },
    ] {
        let r = token::mint(&k, &spec, "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
        let iss = get(&decode(&r.token).1, "iss").as_str().unwrap().to_string();
        assert_eq!(r.issuer.as_deref(), Some(iss.as_str()));
        assert_eq!(iss, token::claims::installation(&k).issuer);
    }
}
