//! `--like` over a table of real-world formats (issue 14, part 2): each
//! output keeps the literal prefix, and every separator-delimited part keeps
//! its own length and alphabet class; a named checksum is valid; every
//! decoy is recognised; too-small examples name the minimum.

use honeytoken_core::key::SigningKey;
use honeytoken_core::token::{self, Alphabet, Checksum, MintSpec, like};

/// (example, expected literal prefix, checksum)
const FORMATS: &[(&str, &str, Option<Checksum>)] = &[
    (
        "xoxb-2638117236512-4021436198245-q7ZbR2mK9xLpW4vN8tYc3HdE",
        "xoxb-",
        None,
    ),
    ("dapi0123456789abcdef0123456789abcdef", "dapi", None),
    (
        "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",
        "ghp_",
        Some(Checksum::Crc32),
    ),
    ("npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "npm_", None),
    ("sk_live_51HqLyjWDarjtT1zdp7dcXYZab", "sk_live_51", None),
    ("3f2a9c1e-7b4d-4e8a-9f0c-1d2e3f4a5b6c", "", None),
    (
        "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",
        "SG.",
        None,
    ),
    ("A1B2C3D4-E5F60718-293A4B5C-6D7E8F90", "", None),
    ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "", None),
    ("1234567890123456789012345678901234567890", "", None),
    ("SK0123456789abcdef0123456789abcdef", "SK", None),
    ("key-0123456789abcdef0123456789abcdef", "key-", None),
    ("shpat_0123456789abcdef0123456789abcdef", "shpat_", None),
    ("hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "hf_", None),
    (
        "dp.st.prd.Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz5",
        "dp.st.prd.",
        None,
    ),
    (
        "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "xapp-",
        None,
    ),
    ("pk_test_TYooMQauvdEDq54NiTphI7jx", "pk_test_", None),
    ("lin_api_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0", "lin_api_", None),
    ("1234-5678-9012-3456-7890-1234-5678-9012-3456-7890", "", None),
    ("abcdefghijklmnopqrstuvwxyz234567abcd", "", None),
    (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV",
        "github_pat_",
        None,
    ),
    (
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "npm_",
        Some(Checksum::Crc32),
    ),
];

fn parts(s: &str) -> Vec<&str> {
    s.split(['-', '_', '.']).collect()
}

fn class(part: &str) -> Alphabet {
    Alphabet::infer(part.as_bytes()).unwrap()
}

#[test]
fn like_keeps_every_part_of_twenty_formats() {
    assert!(FORMATS.len() >= 20);
    let k = SigningKey::from_secret(b"like-formats-test-signing-key-0123456789").unwrap();
    let now = time::OffsetDateTime::now_utc();
    for (example, prefix, checksum) in FORMATS {
        let shape = like::infer_with(example, *checksum).unwrap_or_else(|e| panic!("{example}: {e}"));
        assert_eq!(&shape.prefix, prefix, "{example}");
        for _ in 0..50 {
            let rec = token::mint(&k, &MintSpec::Key(shape.clone()), "l", "", "", now).unwrap();
            let t = rec.token.as_str();
            assert_eq!(t.len(), example.len(), "{example} -> {t}");
            let (tb, eb) = (&t[prefix.len()..], &example[prefix.len()..]);
            assert!(t.starts_with(prefix), "{example} -> {t}");
            let (tp, ep) = (parts(tb), parts(eb));
            assert_eq!(tp.len(), ep.len(), "{example} -> {t}");
            for (d, e) in tp.iter().zip(&ep) {
                assert_eq!(d.len(), e.len(), "{example} -> {t}: part {d} vs {e}");
                let want = class(e);
                assert!(
                    d.bytes().all(|b| want.chars().contains(&b)),
                    "{example} -> {t}: part {d} is not {want} like {e}"
                );
            }
            if checksum.is_some() {
                let a = shape.alphabet;
                assert!(token::strip_crc32(a, t.as_bytes()).is_some(), "{t}: CRC32 tail invalid");
            }
            let r = token::recognise(&k, t.as_bytes()).unwrap_or_else(|| panic!("{example} -> {t} not recognised"));
            assert_eq!(r.token_id, rec.id);
        }
    }
}

#[test]
fn issue_examples_keep_digits_and_the_glued_prefix() {
    let s = like::infer("xoxb-2638117236512-4021436198245-q7ZbR2mK9xLpW4vN8tYc3HdE").unwrap();
    assert_eq!(s.groups, [Alphabet::Digits, Alphabet::Digits, Alphabet::Base62]);
    let s = like::infer("dapi0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!((s.prefix.as_str(), s.alphabet), ("dapi", Alphabet::Hex));
}

#[test]
fn github_checksum_matches_the_published_token_layout() {
    // 30 random base62 characters, then the CRC32 of those 30 in 6 base62 digits.
    let body = "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO";
    let tail = Alphabet::Base62.encode_fixed(token::crc32(body.as_bytes()) as u64, 6);
    let t = format!("ghp_{body}{}", String::from_utf8(tail).unwrap());
    assert!(token::strip_crc32(Alphabet::Base62, t.as_bytes()).is_some());
    assert_eq!(
        token::crc32(b"123456789"),
        0xCBF4_3926,
        "the standard CRC-32 check value"
    );
}

#[test]
fn too_small_examples_name_the_minimum() {
    for (example, min) in [
        ("glpat-AbCdEfGhIjKlMnOpQrSt", "22"),
        ("AKIAIOSFODNN7EXAMPLE", "26"),
        ("abc-123", ""),
    ] {
        let err = like::infer(example).unwrap_err().to_string();
        assert!(err.contains("minimum is") && err.contains(min), "{example}: {err}");
    }
    let err = like::infer_with("ghp_wWPw5k4aXcaT4fNP0Ucn", Some(Checksum::Crc32))
        .unwrap_err()
        .to_string();
    assert!(err.contains("minimum is 22") && err.contains("checksum"), "{err}");
}
