//! Sample values for the tests of every crate built on the core (feature
//! `testkit`): one way to make a hit, one way to make a key.

use crate::hit::Hit;
use crate::key::SigningKey;

/// A hit of `token` from `ip`, `secs` after 2026-11-28 12:00 UTC, with a
/// hit id unique per (`secs`, `n`), planted label and location filled in.
pub fn hit_at(token: &str, ip: &str, secs: i64, n: u32) -> Hit {
    let t = time::macros::datetime!(2026-11-28 12:00:00 UTC) + time::Duration::seconds(secs);
    Hit {
        hit_id: format!("01HIT{secs:08}{n:06}"),
        label: "payments-repo".into(),
        location: "github.com/acme/payments/.env".into(),
        ..Hit::sample(token, ip, &crate::time::rfc3339(t))
    }
}

/// A hit of `token` from `ip` at `at`, whose id is a ULID of that time
/// (as the decoy writes it) with `n` as its random part.
pub fn hit_at_time(token: &str, ip: &str, at: time::OffsetDateTime, n: u128) -> Hit {
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    Hit {
        hit_id: ulid::Ulid::from_parts(ms, n).to_string(),
        received_at: at.into(),
        ..Hit::sample(token, ip, "2026-11-28T12:00:00.000Z")
    }
}

/// `data` compressed as an HTTP `Content-Encoding` would carry it: `gzip`,
/// `deflate` (a zlib stream, as RFC 9110 defines it) or `raw-deflate` (what
/// some clients send as `deflate`).
pub fn compressed(coding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let level = flate2::Compression::default();
    let mut out = Vec::new();
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(&mut out, level);
            e.write_all(data).expect("in memory");
            e.finish().expect("in memory");
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(&mut out, level);
            e.write_all(data).expect("in memory");
            e.finish().expect("in memory");
        }
        "raw-deflate" => {
            let mut e = flate2::write::DeflateEncoder::new(&mut out, level);
            e.write_all(data).expect("in memory");
            e.finish().expect("in memory");
        }
        other => panic!("no such coding in the testkit: {other}"),
    }
    out
}

/// One way a client may carry a token past a careless scan, and where the
/// extraction must say it found it.
pub struct Evasion {
    /// What the case is.
    pub name: &'static str,
    /// The request carrying the token.
    pub request: http::Request<Vec<u8>>,
    /// The expected `found_in`.
    pub found_in: &'static str,
}

/// The evasions the extraction's bounds are made for, each carrying `token`
/// (a key of 22 or more characters): the decoy's and the guard's tests run
/// the same list.
pub fn evasions(token: &str) -> Vec<Evasion> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
    let req = || http::Request::builder().method("POST").uri("/v1/charges");
    let done = |b: http::request::Builder, body: Vec<u8>| b.body(body).expect("valid request");
    let mut out = Vec::new();
    let mut case = |name, request, found_in| {
        out.push(Evasion {
            name,
            request,
            found_in,
        })
    };

    let mut b = req();
    for i in 0..4 {
        b = b.header("authorization", format!("Bearer junk{i}"));
    }
    case(
        "the 5th Authorization header",
        done(b.header("authorization", format!("Bearer {token}")), vec![]),
        "authorization",
    );

    let mut b = req();
    for i in 0..4 {
        b = b.header(format!("x-filler-{i}"), "f".repeat(16 * 1024));
    }
    case(
        "X-Api-Key after 4 x 16 KiB of filler headers",
        done(b.header("x-api-key", token), vec![]),
        "x-api-key",
    );

    let mut b = req();
    for i in 0..256 {
        b = b.header(format!("x-h{i}"), "v");
    }
    case(
        "X-Api-Key after 256 small headers",
        done(b.header("x-api-key", token), vec![]),
        "x-api-key",
    );

    let cookie = format!("pad={}; sid={token}", "p".repeat(16 * 1024));
    case(
        "a cookie after 16 KiB of padding",
        done(req().header("cookie", cookie), vec![]),
        "cookie:sid",
    );

    // `~~~` encodes to `fn5+` (`fn5-` URL-safe): both alphabets differ here.
    let creds = format!("~~~:{token}");
    let no_pad = STANDARD_NO_PAD.encode(&creds);
    case(
        "Basic credentials without padding",
        done(req().header("authorization", format!("Basic {no_pad}")), vec![]),
        "authorization",
    );
    let url_safe = URL_SAFE.encode(&creds);
    case(
        "Basic credentials in URL-safe base64",
        done(req().header("authorization", format!("Basic {url_safe}")), vec![]),
        "authorization",
    );

    let bot = http::Request::builder().uri(format!("/bot{token}/sendMessage"));
    case("a bot token in the path", done(bot, vec![]), "path");
    let hook = http::Request::builder().method("POST").uri(format!("/hooks/{token}"));
    case("a webhook URL", done(hook, vec![]), "path");

    let (head, last) = token.split_at(token.len() - 1);
    let escaped = format!("{head}\\u{:04x}", last.as_bytes()[0]);
    let json = format!("{}{{\"api_key\":\"{escaped}\"}}{}", "[".repeat(39), "]".repeat(39));
    let b = req().header("content-type", "application/json");
    case(
        "JSON nested 40 deep, the token's last character escaped",
        done(b, json.into_bytes()),
        "body",
    );

    // Compressible text around the token makes the encoder use Huffman
    // codes, so the token's bytes are not in the stream as sent.
    let body = format!(
        "{{\"note\":\"{}\",\"api_key\":\"{token}\"}}",
        "hello world ".repeat(100)
    );
    for (name, coding, stream) in [
        ("a gzip body", "gzip", "gzip"),
        ("a deflate (zlib) body", "deflate", "deflate"),
        ("a raw deflate body", "deflate", "raw-deflate"),
    ] {
        let b = req()
            .header("content-type", "application/json")
            .header("content-encoding", coding);
        let z = compressed(stream, body.as_bytes());
        assert!(
            !z.windows(token.len()).any(|w| w == token.as_bytes()),
            "{name}: the token is in the stream as sent"
        );
        case(name, done(b, z), "body");
    }
    out
}

/// A signing key made of `byte` repeated: distinct keys for distinct bytes.
pub fn key(byte: u8) -> SigningKey {
    SigningKey::from_secret(&[byte; 32]).expect("32 bytes is a valid key")
}
