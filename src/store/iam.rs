//! Decoy AWS keys' users in IAM: [`IamUsers`] over the AWS SDK's IAM client.
//! The operator's policy for these calls, limited to the decoy path, is in
//! docs/aws-keys.md.

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::{AccessKey, IamUsers, KeyLastUsed};
use crate::error::{Error, Result};

/// IAM through the SDK client.
#[derive(Debug, Clone)]
pub struct Iam {
    client: Client,
}

impl Iam {
    /// Over `client`.
    pub fn new(client: Client) -> Self {
        Iam { client }
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default()
        .to_string()
}

fn iam_error<E, R>(what: &str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let hint = match code(&e).as_str() {
        "AccessDenied" | "AccessDeniedException" => {
            "; the caller needs the operator policy of docs/aws-keys.md (IAM on the decoy path)"
        }
        "LimitExceeded" => "; IAM allows 5,000 users per account and 2 access keys per user",
        _ => "",
    };
    Error::Store(format!("IAM {what}: {}{hint}", DisplayErrorContext(&e)))
}

#[async_trait]
impl IamUsers for Iam {
    async fn create_user(&self, path: &str, name: &str) -> Result<()> {
        match self.client.create_user().path(path).user_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "EntityAlreadyExists" => Err(Error::Conflict(name.to_string())),
            Err(e) => Err(iam_error("CreateUser", e)),
        }
    }

    async fn add_to_group(&self, user: &str, group: &str) -> Result<()> {
        self.client
            .add_user_to_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map_err(|e| iam_error("AddUserToGroup", e))?;
        Ok(())
    }

    async fn create_access_key(&self, user: &str) -> Result<AccessKey> {
        let out = self
            .client
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| iam_error("CreateAccessKey", e))?;
        let k = out
            .access_key()
            .ok_or_else(|| Error::Store("IAM CreateAccessKey returned no key".into()))?;
        Ok(AccessKey {
            id: k.access_key_id().to_string(),
            secret: k.secret_access_key().to_string(),
        })
    }

    async fn access_key_last_used(&self, key_id: &str) -> Result<Option<KeyLastUsed>> {
        let out = match self
            .client
            .get_access_key_last_used()
            .access_key_id(key_id)
            .send()
            .await
        {
            Ok(o) => o,
            // A key deleted since (retire): nothing more to learn of it.
            Err(e) if code(&e) == "NoSuchEntity" => return Ok(None),
            Err(e) => return Err(iam_error("GetAccessKeyLastUsed", e)),
        };
        // LastUsedDate is null, and ServiceName and Region "N/A", for a key
        // never used ("AccessKeyLastUsed", IAM API reference).
        let Some(used) = out.access_key_last_used() else {
            return Ok(None);
        };
        let Some(date) = used.last_used_date() else {
            return Ok(None);
        };
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(date.secs()) * 1_000_000_000 + i128::from(date.subsec_nanos()),
        )
        .map_err(|e| Error::Store(format!("IAM GetAccessKeyLastUsed: a date out of range: {e}")))?;
        let named = |s: &str| if s == "N/A" { String::new() } else { s.to_string() };
        Ok(Some(KeyLastUsed {
            at: at.into(),
            service: named(used.service_name()),
            region: named(used.region()),
        }))
    }

    async fn delete_user(&self, user: &str) -> Result<()> {
        // A user with keys or group memberships cannot be deleted (DeleteUser,
        // IAM API reference): remove those first.
        let keys = match self.client.list_access_keys().user_name(user).send().await {
            Ok(k) => k,
            Err(e) if code(&e) == "NoSuchEntity" => return Ok(()),
            Err(e) => return Err(iam_error("ListAccessKeys", e)),
        };
        for k in keys.access_key_metadata() {
            if let Some(id) = k.access_key_id() {
                self.client
                    .delete_access_key()
                    .user_name(user)
                    .access_key_id(id)
                    .send()
                    .await
                    .map_err(|e| iam_error("DeleteAccessKey", e))?;
            }
        }
        let groups = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| iam_error("ListGroupsForUser", e))?;
        for g in groups.groups() {
            self.client
                .remove_user_from_group()
                .user_name(user)
                .group_name(g.group_name())
                .send()
                .await
                .map_err(|e| iam_error("RemoveUserFromGroup", e))?;
        }
        match self.client.delete_user().user_name(user).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "NoSuchEntity" => Ok(()),
            Err(e) => Err(iam_error("DeleteUser", e)),
        }
    }
}
