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

/// A signing key made of `byte` repeated: distinct keys for distinct bytes.
pub fn key(byte: u8) -> SigningKey {
    SigningKey::from_secret(&[byte; 32]).expect("32 bytes is a valid key")
}
