//! JWT decoys checked as an attacker's credential-sorting script would
//! (issue 14, part 1): 1,000 minted with defaults and 1,000 with `--like`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use honeytoken_core::key::SigningKey;
use honeytoken_core::token::{self, MintSpec, jwt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

const N: usize = 1000;
const LABEL: &str = "payments-repo";
const LOCATION: &str = "github.com/acme/payments/.env";

/// Fields of a JSON object in order.
type Fields = Vec<(String, Value)>;

/// Header and claims in the order they appear in the token, and the signature length.
fn decode(t: &str) -> (Fields, Fields, usize) {
    let mut it = t.split('.');
    let obj = |s: &str| -> Vec<(String, Value)> {
        let raw = URL_SAFE_NO_PAD.decode(s).unwrap();
        // Key order as sent: scan the object's top-level keys with a streaming parser.
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let mut keys: Vec<(usize, String)> = v
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (key_position(&text, k), k.clone()))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| (k.clone(), v[&k].clone())).collect()
    };
    let h = obj(it.next().unwrap());
    let c = obj(it.next().unwrap());
    let sig = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap().len();
    (h, c, sig)
}

/// Where `"k"` appears as a key (followed by optional spaces and a colon).
fn key_position(text: &str, k: &str) -> usize {
    let quoted = Value::String(k.to_string()).to_string();
    text.match_indices(&quoted)
        .map(|(i, _)| i)
        .find(|i| text[i + quoted.len()..].trim_start().starts_with(':'))
        .unwrap()
}

fn looks_like_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// RFC 4122: a known version nibble and the variant bits 10.
fn valid_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b[14], b'1'..=b'8') && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

fn hashes() -> Vec<String> {
    [b"".as_slice(), LABEL.as_bytes(), LOCATION.as_bytes()]
        .iter()
        .flat_map(|x| [hex::encode(Sha256::digest(x)), hex::encode(&Sha256::digest(x)[..16])])
        .collect()
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The checks every batch must pass; `allowed_constant` are the claims the
/// operator chose.
fn attacker_checks(k: &SigningKey, tokens: &[(String, String)], allowed_constant: &[&str]) {
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let bad_hashes = hashes();
    for (id, t) in tokens {
        let r = token::recognise(k, t.as_bytes()).expect("recognised");
        assert_eq!(&r.token_id, id);
        assert!(r.jwt.as_ref().unwrap().signature_valid);
        assert!(!t.contains(LABEL));
        let (_, claims, _) = decode(t);
        let names: Vec<&String> = claims.iter().map(|(k, _)| k).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_ne!(names, sorted, "claim order is a sort: {names:?}");
        for (name, v) in &claims {
            values.entry(name.clone()).or_default().insert(v.to_string());
            let mut ss = Vec::new();
            strings(v, &mut ss);
            for s in ss {
                assert!(s != LABEL && s != LOCATION && !s.contains(LABEL), "{name}: {s}");
                assert!(
                    !bad_hashes.iter().any(|h| s.eq_ignore_ascii_case(h)),
                    "{name} is a guessable hash"
                );
                if looks_like_uuid(&s) {
                    assert!(valid_uuid(&s), "{name}: {s} is not an RFC 4122 UUID");
                }
            }
        }
    }
    for (name, vs) in &values {
        if !allowed_constant.contains(&name.as_str()) {
            assert!(vs.len() > 1, "claim {name} is constant across {} tokens", tokens.len());
        }
    }
}

fn mint_all(k: &SigningKey, spec: &MintSpec) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    (0..N)
        .map(|_| {
            let r = token::mint(k, spec, LABEL, LOCATION, "", now).unwrap();
            (r.id, r.token)
        })
        .collect()
}

#[test]
fn default_jwts_give_nothing_away() {
    let k = SigningKey::from_secret(b"attacker-test-signing-key-0123456789").unwrap();
    let spec = MintSpec::JwtShaped(Box::new(jwt::JwtShape::standard(
        "https://id.acme.io/realms/prod",
        Some("orders-api"),
    )));
    let tokens = mint_all(&k, &spec);
    // The operator's issuer and audience, and what Keycloak itself writes
    // the same in every access token of a realm.
    attacker_checks(
        &k,
        &tokens,
        &[
            "iss",
            "aud",
            "typ",
            "acr",
            "realm_access",
            "resource_access",
            "email_verified",
        ],
    );
    // Lifetimes vary too, and none is a round year.
    let lifetimes: BTreeSet<i64> = tokens
        .iter()
        .map(|(_, t)| {
            let (_, c, _) = decode(t);
            let get = |n: &str| c.iter().find(|(k, _)| k == n).unwrap().1.as_i64().unwrap();
            get("exp") - get("iat")
        })
        .collect();
    assert!(lifetimes.len() > 3, "{lifetimes:?}");
}

fn b64(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// The shape of one value as a scanner would see it.
fn value_shape(v: &Value) -> String {
    match v {
        Value::String(s) if looks_like_uuid(s) => "uuid".into(),
        Value::String(s) if s.contains('@') => format!("email@{}", s.split('@').nth(1).unwrap()),
        Value::String(s) if s.starts_with("http") || s.contains(' ') => format!("literal:{s}"),
        Value::String(s) => {
            // Length, and per position: separator/literal kept, digit class.
            let class: String = s
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { '*' } else { c })
                .collect();
            format!("str:{class}")
        }
        Value::Number(n) => format!("num:{}", n.to_string().len()),
        other => format!("literal:{other}"),
    }
}

#[test]
fn like_jwts_mirror_their_example_field_by_field() {
    let header = r#"{"alg":"RS256","typ":"at+jwt","kid":"Ab3dK9xQ7mN2pL5v"}"#;
    let payload = r#"{"iss":"https://id.acme.io/","sub":"auth0|64f1c2a9b8e7d60012345678","aud":["https://api.acme.io","https://id.acme.io/userinfo"],"iat":1764000000,"exp":1764086400,"scope":"openid profile read:orders","jti":"f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b","client_id":"Xk9aQ3pL7mN2bV5cR8tY1wE4uI6oP0sD","sid":"7d1c9f0e-2b3a-4c5d-8e6f-a0b1c2d3e4f5","org_id":"org_7Hq2Lm9PzX4vB8nK","email":"jane.doe@acme.io"}"#;
    let example = format!(
        "{}.{}.{}",
        b64(header),
        b64(payload),
        URL_SAFE_NO_PAD.encode([0x5au8; 256])
    );
    let like = jwt::infer_like(&example, None, None).unwrap();
    let k = SigningKey::from_secret(b"attacker-test-signing-key-0123456789").unwrap();
    let tokens = mint_all(&k, &MintSpec::JwtShaped(Box::new(like.shape)));
    // Copied from the operator's own example: issuer, audience, scopes, client and org ids.
    attacker_checks(&k, &tokens, &["iss", "aud", "scope", "client_id", "org_id"]);
    let (eh, ec, esig) = decode(&example);
    for (_, t) in &tokens {
        let (h, c, sig) = decode(t);
        assert_eq!(h, eh, "header (alg, typ, kid) mirrored");
        assert_eq!(sig, esig, "RS256-sized signature");
        assert_eq!(
            c.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ec.iter().map(|(k, _)| k).collect::<Vec<_>>()
        );
        for ((name, v), (_, ev)) in c.iter().zip(&ec) {
            assert_eq!(value_shape(v), value_shape(ev), "{name}: {v} vs {ev}");
        }
        let get = |c: &[(String, Value)], n: &str| c.iter().find(|(k, _)| k == n).unwrap().1.as_i64().unwrap();
        assert_eq!(get(&c, "exp") - get(&c, "iat"), 86_400);
    }
}

#[test]
fn like_a_keycloak_token_keeps_its_header_bytes_and_session_state_equal_to_sid() {
    // Keycloak writes its header with spaces around the colons.
    let header = r#"{"alg" : "RS256","typ" : "JWT","kid" : "Qx2v8ZtL0cWm4Jr7YpN1bHs6KdF3gTaE9uVoXiRlMeC"}"#;
    let payload = r#"{"exp":1764003600,"iat":1764003300,"auth_time":1764003290,"jti":"0b6c1c5e-8a4c-4a8e-9d2f-3f4e5a6b7c8d","iss":"https://id.acme.io/realms/prod","aud":"account","sub":"5f3a2b1c-9d8e-4f7a-8b6c-5d4e3f2a1b0c","typ":"Bearer","azp":"orders-web","session_state":"7d1c9f0e-2b3a-4c5d-8e6f-a0b1c2d3e4f5","scope":"openid email profile","sid":"7d1c9f0e-2b3a-4c5d-8e6f-a0b1c2d3e4f5","email_verified":true}"#;
    let example = format!(
        "{}.{}.{}",
        b64(header),
        b64(payload),
        URL_SAFE_NO_PAD.encode([0x5au8; 256])
    );
    let like = jwt::infer_like(&example, None, None).unwrap();
    let k = SigningKey::from_secret(b"attacker-test-signing-key-0123456789").unwrap();
    let spec = MintSpec::JwtShaped(Box::new(like.shape));
    let tokens = (0..200)
        .map(|_| {
            let r = token::mint(&k, &spec, LABEL, LOCATION, "", time::OffsetDateTime::now_utc()).unwrap();
            (r.id, r.token)
        })
        .collect::<Vec<_>>();
    let example_head = example.split('.').next().unwrap();
    let mut sids = BTreeSet::new();
    for (_, t) in &tokens {
        assert_eq!(
            t.split('.').next().unwrap(),
            example_head,
            "header bytes as the issuer wrote them"
        );
        let (_, c, _) = decode(t);
        let get = |n: &str| c.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("sid"), get("session_state"), "{t}");
        sids.insert(get("sid").to_string());
    }
    assert!(sids.len() > 190, "sid is drawn per token");
    attacker_checks(&k, &tokens, &["iss", "aud", "typ", "azp", "scope", "email_verified"]);
}
