//! Property tests: every minted token is recognised; random strings of the
//! same shape are not.

use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{self, Alphabet, KeyShape, MintSpec, recognise};
use proptest::prelude::*;
use rand::Rng;

fn key() -> SigningKey {
    SigningKey::from_secret(b"property-test-signing-key-0123456789").unwrap()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn alphabet() -> impl Strategy<Value = Alphabet> {
    prop::sample::select(Alphabet::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn minted_keys_are_recognised(a in alphabet(), extra in 0usize..40, prefix in "[a-z]{0,6}_?") {
        let k = key();
        let shape = KeyShape::plain(&prefix, a, a.identity_len() + extra).unwrap();
        let rec = token::mint(&k, &MintSpec::Key(shape), "p", "", "", now()).unwrap();
        let r = recognise(&k, rec.token.as_bytes());
        prop_assert_eq!(r.map(|r| r.token_id), Some(rec.id));
    }

    #[test]
    fn minted_jwts_are_recognised(label in "[ -~]{1,40}", location in "[ -~]{0,40}") {
        let k = key();
        let rec = token::mint(&k, &MintSpec::Jwt { issuer: "https://auth.internal".into() }, &label, &location, "", now()).unwrap();
        let r = recognise(&k, rec.token.as_bytes()).expect("recognised");
        prop_assert_eq!(r.token_id, rec.id);
        prop_assert!(r.jwt.unwrap().signature_valid);
    }

    #[test]
    fn like_tokens_keep_shape_and_are_recognised(groups in prop::collection::vec(4usize..12, 2..5), sep in "[-_]") {
        let body: Vec<String> = groups.iter().map(|n| "a1B2c3D4e5F6".chars().cycle().take(*n).collect()).collect();
        let example = format!("tok{sep}{}", body.join(&sep));
        let shape = match token::like::infer(&example) {
            Ok(s) => s,
            Err(e) => { prop_assert!(e.to_string().contains("minimum")); return Ok(()); }
        };
        let k = key();
        let rec = token::mint(&k, &MintSpec::Key(shape), "l", "", "", now()).unwrap();
        prop_assert_eq!(rec.token.len(), example.len());
        for (a, b) in rec.token.bytes().zip(example.bytes()) {
            prop_assert_eq!(a == b'-' || a == b'_', b == b'-' || b == b'_');
        }
        prop_assert!(recognise(&k, rec.token.as_bytes()).is_some());
    }
}

/// One million random strings shaped exactly like minted tokens (same
/// prefix, alphabet and length, spread over every alphabet) are not recognised.
#[test]
fn a_million_random_lookalikes_are_not_recognised() {
    let k = key();
    let mut rng = rand::rng();
    let per = 1_000_000 / Alphabet::ALL.len() + 1;
    let mut false_positives = 0;
    for a in Alphabet::ALL {
        let shape = KeyShape::plain("sk_live_", a, a.identity_len() + 4).unwrap();
        let real = token::mint(&k, &MintSpec::Key(shape), "x", "", "", now()).unwrap();
        assert!(recognise(&k, real.token.as_bytes()).is_some());
        let chars = a.chars();
        let mut buf = real.token.clone().into_bytes();
        for _ in 0..per {
            for b in &mut buf[8..] {
                *b = chars[rng.random_range(0..chars.len())];
            }
            if recognise(&k, &buf).is_some() {
                false_positives += 1;
            }
        }
    }
    assert_eq!(false_positives, 0);
}
