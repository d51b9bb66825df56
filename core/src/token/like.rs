//! `--like EXAMPLE`: infer a key shape from one real key, so the decoy has
//! the same prefix, separators, alphabet and length and cannot be told apart.

use super::KeyShape;
use super::alphabet::{self, Alphabet};
use crate::error::{Error, Result};

/// Infers the shape of `example`.
///
/// The prefix is the leading run of short alphabetic words each followed by a
/// separator (`sk_live_`, `ghp_`, `xoxb-`); the rest is the body, whose
/// separators keep their positions and whose digits set the alphabet.
pub fn infer(example: &str) -> Result<KeyShape> {
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
    let (prefix, body) = example.split_at(prefix_end);
    let alphabet = Alphabet::infer(body.as_bytes()).ok_or_else(|| {
        Error::Invalid(format!(
            "cannot tell the alphabet of {body:?}; give --alphabet and --length instead"
        ))
    })?;
    let layout: String = if alphabet == Alphabet::Base64url {
        "*".repeat(body.len())
    } else {
        body.bytes()
            .map(|b| if alphabet::is_separator(b) { b as char } else { '*' })
            .collect()
    };
    let shape = KeyShape {
        prefix: prefix.to_string(),
        alphabet,
        layout,
    };
    shape.validate()?;
    Ok(shape)
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_like() {
        let s = infer("sk_live_51HqLyjWDarjtT1zdp7dcXYZab").unwrap();
        assert_eq!(s.prefix, "sk_live_");
        assert_eq!(s.alphabet, Alphabet::Base62);
        assert_eq!(s.digits(), 26);
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
    fn rejects_non_ascii() {
        assert!(infer("sk_live_ü").is_err());
        assert!(infer("").is_err());
    }
}
