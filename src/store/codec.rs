//! The one JSON form of what stores keep as documents (a token record, a
//! hit, an alert, a throttle window's last hit), and the one error mapping
//! for it: a record that does not decode is named (`corrupt hit: ...`), with
//! the parser's error kept as the source, whichever store held it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};

/// `v` as a stored JSON document; `what` names it in the error (`hit`,
/// `token record`, ...). Failing here is a bug (a map with non-string keys),
/// not bad data, but it is an error rather than a panic all the same.
pub fn encode<T: Serialize + ?Sized>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| Error::backend("store", ErrorKind::Other, format!("cannot encode {what}: {e}"), "", e))
}

/// A stored JSON document back as a `T`; a document that does not decode
/// is reported as a corrupt `what`.
pub fn decode<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::backend("store", ErrorKind::Other, format!("corrupt {what}: {e}"), "", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::Hit;
    use std::error::Error as _;

    #[test]
    fn a_record_round_trips_and_a_corrupt_one_is_named_with_its_cause() {
        let h = honeytoken_core::testkit::hit_at("tok", "203.0.113.1", 0, 0);
        let text = encode("hit", &h).unwrap();
        assert_eq!(decode::<Hit>("hit", &text).unwrap(), h);
        let e = decode::<Hit>("hit", "{\"token_id\": 3").unwrap_err();
        assert!(e.to_string().starts_with("store: corrupt hit: "), "{e}");
        assert!(e.source().is_some(), "the parser's error is kept");
    }
}
