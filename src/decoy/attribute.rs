//! What a recognised token's record says about its hit, one definition for
//! the decoy and the guard: the token's state, label and location; orphan
//! (a valid tag the store does not know); tampered (a JWT whose signature
//! fails or whose claims changed since minting, naming them); ignored (an
//! allowlisted source, global or the token's own).

use ipnet::IpNet;

use crate::domain::hit::Hit;
use crate::domain::token::jwt::{self, JwtInspection};
use crate::store::TokenStore;

/// Fills `hit`'s token facts from its record, read through `tokens`. A
/// store that cannot be asked leaves the hit a hit (not an orphan): record
/// what is known rather than lose it.
///
/// A suspicious request ([`Hit::is_suspicious`]) has no token to look up:
/// only the global allowlist applies, and its label stays the one that says
/// what was skipped.
pub async fn attribute(tokens: &dyn TokenStore, global_allow: &[IpNet], hit: &mut Hit, seen: Option<&JwtInspection>) {
    if hit.is_suspicious() {
        hit.ignored = crate::domain::allow::is_allowed(hit, global_allow, &[]);
        return;
    }
    let (record, lookup_failed) = match tokens.get(&hit.token_id).await {
        Ok(rec) => (rec, false),
        Err(e) => {
            tracing::error!(event = "token_lookup_failed", token_id = %hit.token_id, error = %e);
            (None, true)
        }
    };
    (hit.tampered, hit.tampered_claims) = match (seen, &record) {
        (Some(seen), Some(rec)) => {
            let changes = jwt::changes(&rec.token, seen);
            (!seen.signature_valid || !changes.is_empty(), changes)
        }
        (Some(seen), None) => (!seen.signature_valid, Vec::new()),
        (None, _) => (false, Vec::new()),
    };
    hit.orphan = record.is_none() && !lookup_failed;
    hit.ignored = crate::domain::allow::is_allowed(
        hit,
        global_allow,
        record.as_ref().map(|t| t.allow.as_slice()).unwrap_or_default(),
    );
    hit.token_state = record.as_ref().map(|t| t.state);
    hit.label = record.as_ref().map(|t| t.label.clone()).unwrap_or_default();
    hit.location = record.as_ref().map(|t| t.location.clone()).unwrap_or_default();
}
