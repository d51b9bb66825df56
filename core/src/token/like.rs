//! `--like EXAMPLE`: infer a key shape from one real key, so the decoy has
//! the same prefix, separators, alphabet and length and cannot be told apart.

use super::alphabet::{self, Alphabet};
use super::{Checksum, KeyShape};
use crate::error::{Error, Result};

/// Infers the shape of `example`, part by part.
///
/// The prefix is the leading run of short alphabetic words each followed by a
/// separator (`sk_live_`, `ghp_`, `xoxb-`), plus a literal glued to a body of
/// a narrower alphabet (`dapi` + hex). Each separator-delimited part of the
/// rest keeps its own alphabet class (digits, hex, base32, base62) and
/// length. The identity takes the last digits: the last part, widened over the
/// parts before it of the same (or a narrower) alphabet when it alone is too
/// short. `checksum` adds a checksum tail the format carries (the last
/// characters of the last part).
pub fn infer_with(example: &str, checksum: Option<Checksum>) -> Result<KeyShape> {
    let example = example.trim();
    if example.is_empty() || !example.is_ascii() || example.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(Error::Invalid(
            "--like needs one key of printable ASCII characters, such as sk_live_51HqLy…".into(),
        ));
    }
    let bytes = example.as_bytes();
    let mut prefix_end = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let word = i - start;
        if word == 0 || word > 8 || i >= bytes.len() || !alphabet::is_separator(bytes[i]) {
            break;
        }
        i += 1;
        prefix_end = i;
    }
    // A literal head some vendors put right after the prefix: modern Stripe
    // keys are `sk_live_51…`, and a decoy without it stands out.
    if let Some((_, head)) = VENDOR_HEADS.iter().find(|(p, _)| *p == &example[..prefix_end])
        && example[prefix_end..].starts_with(head)
    {
        prefix_end += head.len();
    }
    let (mut prefix, mut body) = example.split_at(prefix_end);
    if body
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || alphabet::is_separator(b)))
    {
        return Err(Error::Invalid(format!(
            "cannot tell the alphabet of {body:?}; give --alphabet and --length instead"
        )));
    }
    // A literal glued to a body of a narrower alphabet: `dapi` + hex.
    let first_len = body.bytes().position(alphabet::is_separator).unwrap_or(body.len());
    if let Some(whole) = Alphabet::infer(&body.as_bytes()[..first_len]) {
        let mut best: Option<(usize, Alphabet)> = None;
        for k in 1..=8.min(first_len.saturating_sub(16)) {
            if !body.as_bytes()[..k].iter().all(u8::is_ascii_alphabetic) {
                break;
            }
            if let Some(rest) = Alphabet::infer(&body.as_bytes()[k..first_len])
                && rest != whole
                && rest.is_subset_of(whole)
                && best.is_none_or(|(_, b)| rest.radix() < b.radix())
            {
                best = Some((k, rest));
            }
        }
        if let Some((k, _)) = best {
            prefix = &example[..prefix_end + k];
            body = &example[prefix_end + k..];
        }
    }
    let layout: String = body
        .bytes()
        .map(|b| if alphabet::is_separator(b) { b as char } else { '*' })
        .collect();
    let parts: Vec<&str> = body
        .split(|c: char| alphabet::is_separator(c as u8))
        .filter(|p| !p.is_empty())
        .collect();
    let mut groups: Vec<Alphabet> = parts
        .iter()
        .map(|p| Alphabet::infer(p.as_bytes()).unwrap_or(Alphabet::Base62))
        .collect();
    let Some(&last) = groups.last() else {
        return Err(Error::Invalid(
            "--like needs an example with a body after its prefix".into(),
        ));
    };
    // The identity takes the last part, widened over the parts before it
    // while it is too short: a part of a narrower alphabet joins the carrier
    // (digits before hex), and a part of a wider one widens the carrier
    // (`…-Q7mZ-bcde`: a short last group looks hex only by chance).
    let room_of = |carrier: Alphabet, len: usize| {
        let w = match checksum {
            Some(Checksum::Crc32) => carrier.crc32_width(),
            None => 0,
        };
        (len.saturating_sub(w), carrier.identity_len(), w)
    };
    let mut carrier = last;
    let mut span = parts.len() - 1;
    let mut len = parts[span].len();
    while span > 0 && room_of(carrier, len).0 < room_of(carrier, len).1 {
        let g = groups[span - 1];
        if !g.is_subset_of(carrier) {
            if !carrier.is_subset_of(g) {
                break;
            }
            carrier = g;
        }
        span -= 1;
        len += parts[span].len();
    }
    for g in &mut groups[span..] {
        *g = carrier;
    }
    let (room, m, w) = room_of(carrier, len);
    let shape = KeyShape {
        prefix: prefix.to_string(),
        alphabet: carrier,
        layout,
        groups: if groups.iter().all(|g| *g == carrier) {
            Vec::new()
        } else {
            groups
        },
        checksum,
    };
    if room < m {
        return Err(Error::Invalid(format!(
            "the example's last part{} holds {room} {carrier} characters{}, too few to carry the token's id and tag; \
             the minimum is {m}",
            if shape.layout.contains(|c| c != '*') {
                " (with the parts of its alphabet before it)"
            } else {
                ""
            },
            if w > 0 { " before the checksum" } else { "" },
        )));
    }
    shape.validate()?;
    Ok(shape)
}

/// Vendor prefixes whose keys go on with a fixed head, kept literal when the
/// example has it.
const VENDOR_HEADS: &[(&str, &str)] = &[
    ("sk_live_", "51"),
    ("sk_test_", "51"),
    ("rk_live_", "51"),
    ("rk_test_", "51"),
    ("pk_live_", "51"),
    ("pk_test_", "51"),
];

/// [`infer_with`] without a checksum.
pub fn infer(example: &str) -> Result<KeyShape> {
    infer_with(example, None)
}

/// The shape of a random-looking string without the minimum length a
/// carrier needs (for JWT claims that only have to look right).
pub fn infer_loose(value: &str) -> Option<KeyShape> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let alphabet = Alphabet::infer(value.as_bytes())?;
    let layout = if alphabet == Alphabet::Base64url {
        "*".repeat(value.len())
    } else {
        value
            .bytes()
            .map(|b| if alphabet::is_separator(b) { b as char } else { '*' })
            .collect()
    };
    Some(KeyShape {
        prefix: String::new(),
        alphabet,
        layout,
        groups: Vec::new(),
        checksum: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_like() {
        let s = infer("sk_live_51HqLyjWDarjtT1zdp7dcXYZab").unwrap();
        assert_eq!(s.prefix, "sk_live_51");
        assert_eq!(s.alphabet, Alphabet::Base62);
        assert_eq!(s.digits(), 24);
        // Without the head, the whole body is random.
        assert_eq!(infer("sk_live_4eHqLyjWDarjtT1zdp7dcXYZab").unwrap().prefix, "sk_live_");
    }

    #[test]
    fn separators_keep_their_place() {
        let s = infer("xoxb-2f8e9a7c4b1d-3e6f9a2b5c8d-0a1b2c3d4e5f6a7b").unwrap();
        assert_eq!(s.prefix, "xoxb-");
        assert_eq!(s.alphabet, Alphabet::Hex);
        assert_eq!(s.layout, "************-************-****************");
    }

    #[test]
    fn too_short_example_names_minimum() {
        let err = infer("AKIAIOSFODNN7EXAMPLE").unwrap_err().to_string();
        assert!(err.contains("minimum is 26"), "{err}");
    }

    #[test]
    fn short_last_group_that_looks_hex_widens_to_the_groups_before() {
        let example = "Q7mZx-9Kd3R-2pWx8-TnVaL-bcde";
        let s = infer(example).unwrap();
        assert_eq!(s.alphabet, Alphabet::Base62);
        assert_eq!(s.layout, "*****-*****-*****-*****-****");
        let key = crate::key::SigningKey::from_secret(&[7u8; 32]).unwrap();
        let t = crate::token::mint(
            &key,
            &crate::token::MintSpec::Key(s),
            "like",
            "",
            "",
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(t.token.len(), example.len());
        assert!(
            crate::token::recognise(&key, t.token.as_bytes()).is_some(),
            "{}",
            t.token
        );
    }

    #[test]
    fn rejects_non_ascii() {
        assert!(infer("sk_live_ü").is_err());
        assert!(infer("").is_err());
    }
}
