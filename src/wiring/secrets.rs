//! Secrets from Secrets Manager (the signing key, the Slack webhook URL, the
//! PagerDuty routing key), so they never sit in a function's plain
//! environment. One read path for all of them.

use crate::error::{Error, Result};

/// The value of a secret: its `SecretString`, or, when that is a JSON
/// object, its `field` (so `{"url": "…"}` and a bare URL both work).
pub async fn read(client: &aws_sdk_secretsmanager::Client, secret_id: &str, field: &str) -> Result<String> {
    let raw = secret_string(client, secret_id).await?;
    value(&raw, field).ok_or_else(|| {
        Error::Config(format!(
            "the secret {secret_id} is empty or has no string field {field:?}"
        ))
    })
}

/// A secret's `SecretString`, with an error that says what to check.
pub async fn secret_string(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<String> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            Error::Config(format!(
                "cannot read the secret {secret_id}: {}; check the ARN and that these credentials may call \
                 secretsmanager:GetSecretValue on it",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| Error::Config(format!("the secret {secret_id} has no SecretString")))
}

/// The secret's value from its text (see [`read`]).
pub fn value(raw: &str, field: &str) -> Option<String> {
    let raw = raw.trim();
    let v = if raw.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(raw)
            .ok()?
            .get(field)?
            .as_str()?
            .trim()
            .to_string()
    } else {
        raw.to_string()
    };
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bare_or_json() {
        assert_eq!(
            super::value(" https://hooks.example/x \n", "url").as_deref(),
            Some("https://hooks.example/x")
        );
        assert_eq!(
            super::value(r#"{"url":"https://h/y"}"#, "url").as_deref(),
            Some("https://h/y")
        );
        assert_eq!(super::value(r#"{"other":"z"}"#, "url"), None);
        assert_eq!(super::value("  ", "url"), None);
    }
}
