//! The embedded store: one SQLite file in the data directory (WAL mode,
//! full fsync on commit, so a hit acknowledged is a hit on disk).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{HitQuery, HitStore, TokenStore, apply_limit};
use crate::error::{Error, Result};
use crate::hit::Hit;
use crate::token::TokenRecord;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hits (
    hit_id TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hits_by_time ON hits(received_at);
CREATE INDEX IF NOT EXISTS hits_by_token ON hits(token_id, received_at);
CREATE INDEX IF NOT EXISTS hits_by_ip ON hits(source_ip, received_at);
";

/// Tokens and hits in one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(Error::store)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| open_error(path, e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(Error::store)?;
        conn.execute_batch(SCHEMA).map_err(|e| open_error(path, e))?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| Error::Store("database lock poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| Error::Store(format!("database task failed: {e}")))?
    }
}

fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Store(format!(
        "cannot open the database {}: {e}; check that the data directory is writable (--data-dir)",
        path.display()
    ))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(Error::store)
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Store(format!("corrupt record: {e}")))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create(&self, token: &TokenRecord) -> Result<()> {
        let (id, created, doc) = (token.id.clone(), token.created_at.clone(), json(token)?);
        self.with(move |c| {
            match c.execute("INSERT INTO tokens (id, created_at, doc) VALUES (?1, ?2, ?3)", params![id, created, doc]) {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    Err(Error::Conflict(id))
                }
                Err(e) => Err(Error::store(e)),
            }
        })
        .await
    }

    async fn update(&self, token: &TokenRecord) -> Result<()> {
        let (id, doc) = (token.id.clone(), json(token)?);
        self.with(move |c| {
            let n = c.execute("UPDATE tokens SET doc = ?2 WHERE id = ?1", params![id, doc]).map_err(Error::store)?;
            if n == 0 { Err(Error::NotFound(id)) } else { Ok(()) }
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<TokenRecord>> {
        let id = id.to_string();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM tokens WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(Error::store)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn list(&self) -> Result<Vec<TokenRecord>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT doc FROM tokens ORDER BY created_at, id").map_err(Error::store)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(Error::store)?;
            rows.map(|r| from_json(&r.map_err(Error::store)?)).collect()
        })
        .await
    }
}

#[async_trait]
impl HitStore for SqliteStore {
    async fn put(&self, hit: &Hit) -> Result<()> {
        let doc = json(hit)?;
        let h = (hit.hit_id.clone(), hit.token_id.clone(), hit.received_at.clone(), hit.source_ip.clone());
        self.with(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO hits (hit_id, token_id, received_at, source_ip, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![h.0, h.1, h.2, h.3, doc],
            )
            .map_err(Error::store)?;
            Ok(())
        })
        .await
    }

    async fn query(&self, q: &HitQuery) -> Result<Vec<Hit>> {
        let q = q.clone();
        self.with(move |c| {
            let mut sql = String::from("SELECT doc FROM hits WHERE 1=1");
            let mut args: Vec<String> = Vec::new();
            if let Some(t) = &q.token_id {
                args.push(t.clone());
                sql.push_str(&format!(" AND token_id = ?{}", args.len()));
            }
            if let Some(s) = &q.since {
                args.push(s.clone());
                sql.push_str(&format!(" AND received_at >= ?{}", args.len()));
            }
            if let Some(ip) = &q.source_ip {
                args.push(ip.clone());
                sql.push_str(&format!(" AND source_ip = ?{}", args.len()));
            }
            sql.push_str(" ORDER BY received_at DESC, hit_id DESC");
            if let Some(n) = q.limit {
                sql.push_str(&format!(" LIMIT {n}"));
            }
            let mut st = c.prepare(&sql).map_err(Error::store)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(0))
                .map_err(Error::store)?;
            let hits: Result<Vec<Hit>> = rows.map(|r| from_json(&r.map_err(Error::store)?)).collect();
            Ok(apply_limit(hits?, None))
        })
        .await
    }
}
