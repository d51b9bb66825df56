//! The global allowlist in the embedded database: one small table, created
//! on first use so databases made before it existed keep working.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::sql_error;
use crate::domain::allow::AllowEntry;
use crate::error::Result;
use crate::store::AllowStore;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS allowlist (
    cidr TEXT PRIMARY KEY,
    note TEXT NOT NULL,
    added_at TEXT NOT NULL
)";

fn ensure(c: &Connection) -> Result<()> {
    c.execute_batch(SCHEMA).map_err(sql_error)
}

#[async_trait]
impl AllowStore for SqliteStore {
    async fn allow_add(&self, entry: &AllowEntry) -> Result<()> {
        let e = entry.clone();
        self.with(move |c| {
            ensure(c)?;
            c.execute(
                "INSERT INTO allowlist (cidr, note, added_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(cidr) DO UPDATE SET note = excluded.note",
                params![e.cidr, e.note, e.added_at],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }

    async fn allow_remove(&self, cidr: &str) -> Result<bool> {
        let cidr = cidr.to_string();
        self.with(move |c| {
            ensure(c)?;
            let n = c
                .execute("DELETE FROM allowlist WHERE cidr = ?1", params![cidr])
                .map_err(sql_error)?;
            Ok(n > 0)
        })
        .await
    }

    async fn allow_list(&self) -> Result<Vec<AllowEntry>> {
        self.with(|c| {
            // A read must not write (not even CREATE TABLE IF NOT EXISTS):
            // the decoy reads this on every hit, and a write would wait for
            // a write lock another process may hold.
            let exists: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'allowlist'",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql_error)?;
            if exists == 0 {
                return Ok(Vec::new());
            }
            let mut st = c
                .prepare("SELECT cidr, note, added_at FROM allowlist ORDER BY cidr")
                .map_err(sql_error)?;
            let rows = st
                .query_map([], |r| {
                    Ok(AllowEntry {
                        cidr: r.get(0)?,
                        note: r.get(1)?,
                        added_at: r.get(2)?,
                    })
                })
                .map_err(sql_error)?;
            rows.map(|r| r.map_err(sql_error)).collect()
        })
        .await
    }
}

const MARKS_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS test_marks (
    nonce TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
)";

#[async_trait]
impl crate::store::MarkStore for SqliteStore {
    async fn claim_mark(&self, nonce: &str, expires_unix: i64) -> Result<bool> {
        let nonce = nonce.to_string();
        self.with(move |c| {
            c.execute_batch(MARKS_SCHEMA).map_err(sql_error)?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            c.execute("DELETE FROM test_marks WHERE expires < ?1", params![now])
                .map_err(sql_error)?;
            // The primary key makes this a conditional write: of any number of
            // processes sharing the database, one inserts the row.
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO test_marks (nonce, expires) VALUES (?1, ?2)",
                    params![nonce, expires_unix],
                )
                .map_err(sql_error)?;
            Ok(n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_list_remove_round_trip_across_handles() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db");
        let a = SqliteStore::open(&path).unwrap();
        assert!(a.allow_list().await.unwrap().is_empty());
        a.allow_add(&AllowEntry::new("10.0.0.0/8", "office").unwrap())
            .await
            .unwrap();
        a.allow_add(&AllowEntry::new("192.0.2.1", "scanner").unwrap())
            .await
            .unwrap();
        a.allow_add(&AllowEntry::new("10.0.0.0/8", "office vpn").unwrap())
            .await
            .unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let got = b.allow_list().await.unwrap();
        assert_eq!(
            got.iter()
                .map(|e| (e.cidr.as_str(), e.note.as_str()))
                .collect::<Vec<_>>(),
            vec![("10.0.0.0/8", "office vpn"), ("192.0.2.1/32", "scanner")]
        );
        assert!(b.allow_remove("10.0.0.0/8").await.unwrap());
        assert!(!b.allow_remove("10.0.0.0/8").await.unwrap());
        assert_eq!(a.allow_list().await.unwrap().len(), 1);
    }
}
