//! Every character position of a minted key is uniform over its alphabet
//! (issue 24, item 3): no position may betray a decoy, as base62's first
//! identity digit once did (never `t`-`z`) and the digits' (never 7-9).
//!
//! For every alphabet, `MINTS` keys with a body of `identity_len() + 2`
//! characters are counted per (position, character). Under uniformity a
//! count is Binomial(MINTS, 1/radix); the test accepts each count within
//! `[lo, hi]`, where each tail outside has probability at most
//! `1e-6 / (2 · cells)`, `cells` being the number of (position, character)
//! pairs over all alphabets. By the union bound a correct implementation
//! fails a run with probability at most the sum of those tails, which the
//! test computes exactly from the binomial distribution and asserts to be
//! below one in a million: 7.4e-7 with 6,000 mints per alphabet over 6,314
//! cells (base62 counts may range over [41, 165] around a mean of 96.8,
//! base64url's over [39, 161], digits' over [457, 754] around 600). A
//! character that never occurs at a position (`lo` is at least 39 for every
//! alphabet) fails it: with the encoding before issue 24, base62's `t` at 22
//! characters from the end occurred 0 times in 6,000.

use honeytoken_core::key::SigningKey;
use honeytoken_core::token::{self, Alphabet, KeyShape, MintSpec, like};

const MINTS: usize = 6000;
const FALSE_FAILURE: f64 = 1e-6;

/// ln(k!) for k in 0..=n.
fn ln_factorials(n: usize) -> Vec<f64> {
    let mut v = vec![0.0f64; n + 1];
    for k in 1..=n {
        v[k] = v[k - 1] + (k as f64).ln();
    }
    v
}

/// P(X = k) for k in 0..=n, X ~ Binomial(n, p).
fn binomial_pmf(n: usize, p: f64) -> Vec<f64> {
    let lf = ln_factorials(n);
    (0..=n)
        .map(|k| (lf[n] - lf[k] - lf[n - k] + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp())
        .collect()
}

/// The acceptance interval [lo, hi] with each tail at most `alpha`, and the
/// two tails' exact probabilities summed.
fn interval(n: usize, radix: u32, alpha: f64) -> (usize, usize, f64) {
    let pmf = binomial_pmf(n, 1.0 / radix as f64);
    let (mut lo, mut below) = (0, 0.0);
    while below + pmf[lo] <= alpha {
        below += pmf[lo];
        lo += 1;
    }
    let (mut hi, mut above) = (n, 0.0);
    while above + pmf[hi] <= alpha {
        above += pmf[hi];
        hi -= 1;
    }
    (lo, hi, below + above)
}

#[test]
fn every_position_of_every_alphabet_is_uniform() {
    let k = SigningKey::from_secret(b"uniform-digits-test-key-0123456789ab").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let len = |a: Alphabet| a.identity_len() + 2;
    let cells: usize = Alphabet::ALL.iter().map(|a| len(*a) * a.radix() as usize).sum();
    let alpha = FALSE_FAILURE / (2.0 * cells as f64);
    let mut odds = 0.0;
    for a in Alphabet::ALL {
        let (lo, hi, tails) = interval(MINTS, a.radix(), alpha);
        odds += tails * (len(a) * a.radix() as usize) as f64;
        assert!(lo >= 1, "{a}: the test could not see a missing character");
        let shape = KeyShape::plain("ht_", a, len(a)).unwrap();
        let spec = MintSpec::Key(shape);
        let mut counts = vec![vec![0usize; a.radix() as usize]; len(a)];
        for _ in 0..MINTS {
            let t = token::mint(&k, &spec, "u", "", "", now).unwrap().token;
            for (pos, b) in t.as_bytes()[3..].iter().enumerate() {
                let d = a.chars().iter().position(|c| c == b).unwrap();
                counts[pos][d] += 1;
            }
        }
        for (pos, row) in counts.iter().enumerate() {
            for (d, &c) in row.iter().enumerate() {
                assert!(
                    (lo..=hi).contains(&c),
                    "{a}: character {:?} at position {pos} of {} ({} from the end) occurs {c} times in {MINTS}; \
                     a uniform position gives {lo}..={hi}",
                    a.chars()[d] as char,
                    len(a),
                    len(a) - pos,
                );
            }
        }
        eprintln!(
            "{a}: {MINTS} mints, each count in [{lo}, {hi}], mean {:.1}",
            MINTS as f64 / a.radix() as f64
        );
    }
    eprintln!("{cells} cells; false-failure odds of this run at most {odds:.3e}");
    assert!(odds < FALSE_FAILURE, "{odds}");
}

#[test]
fn like_a_modern_stripe_key_keeps_its_51_head() {
    let example = format!(
        "sk_live_51{}",
        "Nf3kQ9xLmP2vR7tZ8bW4cY6dH1jS5gK0aE".repeat(3).get(..97).unwrap()
    );
    let shape = like::infer(&example).unwrap();
    assert_eq!(shape.prefix, "sk_live_51");
    let k = SigningKey::from_secret(b"uniform-digits-test-key-0123456789ab").unwrap();
    let now = time::OffsetDateTime::now_utc();
    for _ in 0..200 {
        let rec = token::mint(&k, &MintSpec::Key(shape.clone()), "u", "", "", now).unwrap();
        assert!(rec.token.starts_with("sk_live_51"), "{}", rec.token);
        assert_eq!(rec.token.len(), example.len());
        assert_eq!(token::recognise(&k, rec.token.as_bytes()).unwrap().token_id, rec.id);
    }
}

#[test]
fn keys_minted_before_the_change_are_still_recognised() {
    let f: serde_json::Value = serde_json::from_str(include_str!("fixtures/legacy_shaped_v2.json")).unwrap();
    let k = SigningKey::from_secret(f["signing_key"].as_str().unwrap().as_bytes()).unwrap();
    for name in ["base62", "digits"] {
        let t = &f["tokens"][name];
        let r = token::recognise(&k, t["token"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(r.token_id, t["token_id"].as_str().unwrap(), "{name}");
    }
}
