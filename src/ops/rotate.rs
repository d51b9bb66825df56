//! Rotation: a replacement token of the same kind, shape and metadata, the
//! old one retired (its hits still alert: a leaked copy is still out there),
//! and the planted file updated in place.

use crate::domain::key::SigningKey;
use crate::domain::token::{self, MintSpec, Placement, TokenKind, TokenRecord, TokenState};
use crate::error::{Error, Result};
use crate::store::TokenStore;

/// Default maximum age before `list` suggests rotating a token.
pub const DEFAULT_MAX_AGE_DAYS: i64 = 90;

/// Mints the replacement of `old`: same kind, shape or issuer, label,
/// location, memo and per-token allowlist; linked back to `old`.
pub fn successor(key: &SigningKey, old: &TokenRecord, now: time::OffsetDateTime) -> Result<TokenRecord> {
    let spec = match (old.kind, &old.shape, &old.issuer) {
        (TokenKind::Key, Some(shape), _) => MintSpec::Key(shape.clone()),
        (TokenKind::Jwt, _, _) if old.jwt_shape.is_some() => {
            MintSpec::JwtShaped(old.jwt_shape.clone().expect("checked"))
        }
        (TokenKind::Jwt, _, issuer) => MintSpec::Jwt {
            issuer: issuer.clone().unwrap_or_else(|| token::DEFAULT_ISSUER.to_string()),
        },
        // AWS makes the key: rotation is an IAM user and key of the stack
        // backend (`ops::aws_keys`), never a mint here.
        (TokenKind::AwsKey, _, _) => {
            return Err(Error::Invalid(format!(
                "token {} is an AWS access key: AWS makes its twin; rotate it on the stack backend (--backend aws)",
                old.id
            )));
        }
        (TokenKind::Key, None, _) => {
            return Err(Error::Invalid(format!(
                "token {} has no recorded shape, so a twin cannot be minted; mint a replacement with `honeytoken mint --like {}`",
                old.id, old.token
            )));
        }
    };
    let mut new = token::mint(key, &spec, &old.label, &old.location, &old.memo, now)?;
    new.replaces = Some(old.id.clone());
    new.allow = old.allow.clone();
    // A credential file's twin points at the same server.
    new.file = old.file.clone();
    Ok(new)
}

/// Replaces every occurrence of `old` in `content` with `new`; the number
/// replaced, or an error when there is none.
pub fn swap_token(content: &str, old: &str, new: &str) -> Result<(String, usize)> {
    let n = content.matches(old).count();
    if n == 0 {
        return Err(Error::Invalid(
            "the file does not contain the old token; nothing was changed".into(),
        ));
    }
    Ok((content.replace(old, new), n))
}

/// The outcome of [`rotate`].
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The old token, now retired.
    pub old: TokenRecord,
    /// Its replacement.
    pub new: TokenRecord,
}

/// Rotates token `id` in the store. `file` (path as given, variable) records
/// where the replacement is planted. The replacement is stored before the
/// old token is retired, so a failure in between leaves both alerting.
pub async fn rotate(
    store: &dyn TokenStore,
    key: &SigningKey,
    id: &str,
    file: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<Rotation> {
    let mut old = store.get(id).await?.ok_or_else(|| Error::NotFound(id.to_string()))?;
    if let Some(next) = &old.replaced_by {
        return Err(Error::Invalid(format!(
            "token {id} was already replaced by {next}; rotate {next} instead"
        )));
    }
    let mut new = successor(key, &old, now)?;
    if let Some(path) = file {
        let var = old
            .placements
            .iter()
            .rev()
            .find(|p| p.path == path)
            .map(|p| p.var.clone())
            .unwrap_or_default();
        new.placements.push(Placement {
            path: path.to_string(),
            var,
            planted_at: crate::domain::time::rfc3339(now),
        });
    }
    store.create(&new).await?;
    old.state = TokenState::Retired;
    old.replaced_by = Some(new.id.clone());
    store.update(&old).await?;
    Ok(Rotation { old, new })
}

/// Whole days since `created_at` (None when it does not parse).
pub fn age_days(created_at: &str, now: time::OffsetDateTime) -> Option<i64> {
    crate::domain::time::parse(created_at).map(|t| (now - t).whole_days())
}

/// What `list` says about rotating a token.
pub fn rotation_hint(t: &TokenRecord, max_age_days: i64, now: time::OffsetDateTime) -> String {
    match t.state {
        TokenState::Retired => match &t.replaced_by {
            Some(n) => format!("replaced by {n}"),
            None => "retired".into(),
        },
        TokenState::Disabled => "-".into(),
        TokenState::Active => match age_days(&t.created_at, now) {
            Some(d) if d >= max_age_days => format!("rotate now ({d}d old, max {max_age_days}d)"),
            Some(d) => format!("due in {}d", max_age_days - d),
            None => "?".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{Alphabet, KeyShape, recognise};
    use crate::store::memory::MemoryStore;

    fn key() -> SigningKey {
        SigningKey::from_secret(&[4u8; 32]).unwrap()
    }

    #[tokio::test]
    async fn rotation_mints_a_twin_and_links_both_ways() {
        let (k, store) = (key(), MemoryStore::new());
        let now = time::OffsetDateTime::now_utc();
        let shape = crate::domain::token::like::infer("acme_live_4eC3-9HqL-yjWD-arjt-T1zd-p7dc-XYZa-bcdQ").unwrap();
        let mut old = token::mint(&k, &MintSpec::Key(shape.clone()), "payments", "repo/.env", "memo", now).unwrap();
        old.placements.push(Placement {
            path: "repo/.env".into(),
            var: "ACME_API_KEY".into(),
            planted_at: "t".into(),
        });
        old.allow
            .push(crate::domain::allow::AllowEntry::new("10.0.0.0/8", "ci").unwrap());
        store.create(&old).await.unwrap();

        let r = rotate(&store, &k, &old.id, Some("repo/.env"), now).await.unwrap();
        assert_ne!(r.new.token, old.token);
        assert_eq!(r.new.shape.as_ref(), Some(&shape));
        assert_eq!(r.new.token.len(), old.token.len());
        assert_eq!(
            (r.new.label.as_str(), r.new.location.as_str(), r.new.memo.as_str()),
            ("payments", "repo/.env", "memo")
        );
        assert_eq!(r.new.placements[0].var, "ACME_API_KEY");
        assert_eq!(r.new.allow, old.allow);
        assert_eq!(recognise(&k, r.new.token.as_bytes()).unwrap().token_id, r.new.id);
        let stored_old = store.get(&old.id).await.unwrap().unwrap();
        assert_eq!(stored_old.state, TokenState::Retired);
        assert_eq!(stored_old.replaced_by.as_deref(), Some(r.new.id.as_str()));
        assert_eq!(
            store.get(&r.new.id).await.unwrap().unwrap().replaces.as_deref(),
            Some(old.id.as_str())
        );

        let e = rotate(&store, &k, &old.id, None, now).await.unwrap_err().to_string();
        assert!(e.contains("already replaced"), "{e}");
        assert!(matches!(
            rotate(&store, &k, "nope", None, now).await,
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn jwt_twin_keeps_its_issuer() {
        let k = key();
        let now = time::OffsetDateTime::now_utc();
        let old = token::mint(
            &k,
            &MintSpec::Jwt {
                issuer: "https://auth.acme.test".into(),
            },
            "l",
            "loc",
            "",
            now,
        )
        .unwrap();
        let new = successor(&k, &old, now).unwrap();
        assert_eq!(new.kind, TokenKind::Jwt);
        assert_eq!(new.issuer.as_deref(), Some("https://auth.acme.test"));
        assert_ne!(new.id, old.id);
    }

    #[test]
    fn swap_is_exact_and_refuses_a_file_without_the_token() {
        let (s, n) = swap_token("# x\nK=old-token\nJ=old-token # again\n", "old-token", "new-token").unwrap();
        assert_eq!((s.as_str(), n), ("# x\nK=new-token\nJ=new-token # again\n", 2));
        assert!(swap_token("K=other", "old-token", "n").is_err());
    }

    #[test]
    fn hints_follow_age_and_state() {
        let k = key();
        let now = time::OffsetDateTime::now_utc();
        let shape = KeyShape::plain("p_", Alphabet::Base62, 32).unwrap();
        let mut t = token::mint(&k, &MintSpec::Key(shape), "l", "", "", now - time::Duration::days(100)).unwrap();
        assert_eq!(rotation_hint(&t, 90, now), "rotate now (100d old, max 90d)");
        assert_eq!(rotation_hint(&t, 120, now), "due in 20d");
        t.state = TokenState::Retired;
        t.replaced_by = Some("abc".into());
        assert_eq!(rotation_hint(&t, 90, now), "replaced by abc");
    }
}
