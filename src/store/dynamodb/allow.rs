//! The global allowlist on DynamoDB: one item in the tokens table, so the
//! decoy reads it with the `GetItem` it already may do and needs no new
//! permission. Writes are read-modify-write guarded by a version number.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{DynamoStore, Item, sdk_error};
use crate::domain::allow::AllowEntry;
use crate::error::{Error, Result};
use crate::store::AllowStore;

/// Id of the allowlist item; token ids are 16 hex digits, so it cannot clash.
pub(super) const ALLOWLIST_ID: &str = "allowlist#global";

/// Attempts of a write that lost a race with another writer.
const ATTEMPTS: usize = 5;

#[derive(Debug, Default, Serialize, Deserialize)]
struct AllowItem {
    id: String,
    version: u64,
    #[serde(default)]
    entries: Vec<AllowEntry>,
}

impl DynamoStore {
    async fn read_allow(&self) -> Result<AllowItem> {
        let r = self
            .client
            .get_item()
            .table_name(&self.tokens_table)
            .key("id", AttributeValue::S(ALLOWLIST_ID.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        match r.item {
            Some(item) => super::decode(item, "allowlist"),
            None => Ok(AllowItem {
                id: ALLOWLIST_ID.into(),
                version: 0,
                entries: Vec::new(),
            }),
        }
    }

    /// Applies `change` to the list; retried when another writer got there first.
    async fn modify_allow(&self, change: impl Fn(&mut Vec<AllowEntry>) -> bool) -> Result<bool> {
        for _ in 0..ATTEMPTS {
            let mut cur = self.read_allow().await?;
            if !change(&mut cur.entries) {
                return Ok(false);
            }
            let old = cur.version;
            cur.version += 1;
            cur.entries.sort_by(|a, b| a.cidr.cmp(&b.cidr));
            let item: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(&cur)
                .map_err(|e| Error::Store(format!("cannot encode the allowlist: {e}")))?;
            let r = self
                .client
                .put_item()
                .table_name(&self.tokens_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(id) OR version = :v")
                .expression_attribute_values(":v", AttributeValue::N(old.to_string()))
                .send()
                .await;
            match r {
                Ok(_) => return Ok(true),
                Err(e) if super::condition_failed(&e) => {
                    continue;
                }
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Err(Error::Store("the allowlist kept changing under us; try again".into()))
    }
}

#[async_trait]
impl AllowStore for DynamoStore {
    async fn allow_add(&self, entry: &AllowEntry) -> Result<()> {
        self.modify_allow(|list| {
            list.retain(|e| e.cidr != entry.cidr);
            list.push(entry.clone());
            true
        })
        .await
        .map(|_| ())
    }

    async fn allow_remove(&self, cidr: &str) -> Result<bool> {
        self.modify_allow(|list| {
            let before = list.len();
            list.retain(|e| e.cidr != cidr);
            list.len() != before
        })
        .await
    }

    async fn allow_list(&self) -> Result<Vec<AllowEntry>> {
        let mut v = self.read_allow().await?.entries;
        v.sort_by(|a, b| a.cidr.cmp(&b.cidr));
        Ok(v)
    }
}
