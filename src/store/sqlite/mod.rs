//! The embedded store: one SQLite file in the data directory (WAL mode,
//! full fsync on commit, so a hit acknowledged is a hit on disk).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Durability, HitQuery, HitStore, Kept, TokenStore, apply_limit, codec};
use crate::domain::flood::FloodRule;
use crate::domain::hit::Hit;
use crate::domain::token::TokenRecord;
use crate::error::{Error, ErrorKind, Result};
pub use writer::WriterReport;
use writer::{Ack, Job};

mod allow;
mod writer;

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
///
/// Hit writes go through one writer thread ([`writer`]) that commits
/// whatever has queued up in a single transaction (group commit): under
/// load many hits share one fsync, and no caller is answered before the
/// commit (or the spool append) that holds its hit.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    writer: std::sync::mpsc::SyncSender<(Job, Ack)>,
    writer_thread: Arc<Mutex<Option<std::thread::JoinHandle<WriterReport>>>>,
    path: PathBuf,
}

/// How the serving process opens the store.
#[derive(Debug, Clone, Default)]
pub struct HitWriterOptions {
    /// fsync per commit, or leave it to the OS.
    pub durability: Durability,
    /// Spool file for hits the database cannot take at once. Only the one
    /// process that serves should have one.
    pub spool: Option<PathBuf>,
}

/// Makes `path` private (0600) if it exists and is more open than that.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        _ => Ok(()),
    }
}

/// Creates the database file 0600 before SQLite opens it: SQLite gives the
/// `-wal` and `-shm` files the database file's permissions.
fn create_private(path: &Path) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        make_private(&p).map_err(|e| Error::Io {
            path: p.display().to_string(),
            source: e,
        })?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with full
    /// durability and no spool (every process but the server).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, &HitWriterOptions::default())
    }

    /// Opens the database with the given hit writer options.
    pub fn open_with(path: &Path, opts: &HitWriterOptions) -> Result<Self> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| open_error(path, e))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql_error)?;
        conn.execute_batch(SCHEMA).map_err(|e| open_error(path, e))?;
        conn.execute_batch(writer::SCHEMA).map_err(|e| open_error(path, e))?;
        widen_fractions(&conn).map_err(|e| open_error(path, e))?;
        let wconn = Connection::open(path).map_err(|e| open_error(path, e))?;
        // With a spool to fall back on, wait for the write lock only briefly.
        let busy = if opts.spool.is_some() {
            writer::SPOOL_BUSY
        } else {
            std::time::Duration::from_secs(10)
        };
        wconn.busy_timeout(busy).map_err(sql_error)?;
        // WAL with synchronous=NORMAL: a commit is in the OS's hands, not
        // fsynced; it survives a crash of the process (SQLite docs, "WAL mode").
        let sync = match opts.durability {
            Durability::Full => "FULL",
            Durability::Os => "NORMAL",
        };
        wconn.pragma_update(None, "synchronous", sync).map_err(sql_error)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Job, Ack)>(4 * writer::MAX_BATCH);
        let w = writer::Writer::new(wconn, opts.spool.clone(), opts.durability);
        let handle = std::thread::Builder::new()
            .name("hit-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| Error::Store(format!("cannot start the hit writer: {e}")))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            writer: tx,
            writer_thread: Arc::new(Mutex::new(Some(handle))),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the writer thread's handle: join it (on a blocking thread)
    /// after every handle on the store is dropped, to wait until every hit
    /// is written and the spool drained. `None` if already taken.
    pub fn take_writer(&self) -> Option<std::thread::JoinHandle<WriterReport>> {
        self.writer_thread.lock().ok()?.take()
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

    async fn send(&self, job: Job) -> Result<Kept> {
        let (ack, done) = tokio::sync::oneshot::channel();
        let stopped = || Error::Store("the hit writer has stopped".into());
        match self.writer.try_send((job, ack)) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(item)) => {
                // The queue is bounded; when full, wait on a pool thread, not the runtime.
                let writer = self.writer.clone();
                tokio::task::spawn_blocking(move || writer.send(item).map_err(|_| ()))
                    .await
                    .map_err(|e| Error::Store(format!("hit writer task: {e}")))?
                    .map_err(|_| stopped())?;
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        done.await.map_err(|_| stopped())?
    }
}

/// Rewrites, once per database, the `received_at` column of hits stored
/// before every time was written with three fraction digits (`.5Z`, `.82Z`):
/// the column is compared as text for `--since` and sorts every query, and
/// `.5Z` sorts after `.52Z`. The JSON document keeps its text; it is read as
/// a time, whatever its width.
fn widen_fractions(c: &Connection) -> rusqlite::Result<()> {
    const NAME: &str = "received_at-three-fraction-digits";
    c.execute_batch("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)")?;
    let done: Option<String> = c
        .query_row("SELECT name FROM migrations WHERE name = ?1", params![NAME], |r| {
            r.get(0)
        })
        .optional()?;
    if done.is_some() {
        return Ok(());
    }
    let tx = c.unchecked_transaction()?;
    {
        let mut read = tx.prepare("SELECT hit_id, received_at FROM hits WHERE length(received_at) <> 24")?;
        let rows: Vec<(String, String)> = read
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut write = tx.prepare("UPDATE hits SET received_at = ?2 WHERE hit_id = ?1")?;
        for (id, at) in rows {
            // An unreadable time is left as it is: its document fails to
            // decode anyway, with a message naming it.
            if let Some(t) = crate::domain::time::Timestamp::parse(&at) {
                write.execute(params![id, t.to_string()])?;
            }
        }
    }
    tx.execute("INSERT INTO migrations (name) VALUES (?1)", params![NAME])?;
    tx.commit()
}

fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Store(format!(
        "cannot open the database {}: {e}; check that the data directory is writable (--data-dir)",
        path.display()
    ))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create(&self, token: &TokenRecord) -> Result<()> {
        let (id, created, doc) = (
            token.id.clone(),
            token.created_at.clone(),
            codec::encode("token record", token)?,
        );
        self.with(move |c| {
            match c.execute(
                "INSERT INTO tokens (id, created_at, doc) VALUES (?1, ?2, ?3)",
                params![id, created, doc],
            ) {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    Err(Error::Conflict(id))
                }
                Err(e) => Err(sql_error(e)),
            }
        })
        .await
    }

    async fn update(&self, token: &TokenRecord) -> Result<()> {
        let (id, doc) = (token.id.clone(), codec::encode("token record", token)?);
        self.with(move |c| {
            let n = c
                .execute("UPDATE tokens SET doc = ?2 WHERE id = ?1", params![id, doc])
                .map_err(sql_error)?;
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
                .map_err(sql_error)?;
            doc.map(|d| codec::decode("token record", &d)).transpose()
        })
        .await
    }

    async fn list(&self) -> Result<Vec<TokenRecord>> {
        self.with(|c| {
            let mut st = c
                .prepare("SELECT doc FROM tokens ORDER BY created_at, id")
                .map_err(sql_error)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(sql_error)?;
            rows.map(|r| codec::decode("token record", &r.map_err(sql_error)?))
                .collect()
        })
        .await
    }
}

#[async_trait]
impl HitStore for SqliteStore {
    async fn put(&self, hit: &Hit) -> Result<()> {
        // Serialise here, in parallel; the one writer thread only inserts.
        // Spooled is durable too: it reaches the database when it can.
        self.send(Job::new(hit, None)?).await.map(|_| ())
    }

    async fn put_kept(&self, hit: &Hit) -> Result<Kept> {
        self.send(Job::new(hit, None)?).await
    }

    async fn record(&self, hit: &Hit, rule: &FloodRule) -> Result<Kept> {
        self.send(Job::new(hit, Some(rule))?).await
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
                args.push(s.to_string());
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
            let mut st = c.prepare(&sql).map_err(sql_error)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(0))
                .map_err(sql_error)?;
            let hits: Result<Vec<Hit>> = rows.map(|r| codec::decode("hit", &r.map_err(sql_error)?)).collect();
            Ok(apply_limit(hits?, None))
        })
        .await
    }
}

/// The one mapping of SQLite errors: the cause kept as the source; a busy
/// or locked database (another process holds the write lock) is a throttle
/// a caller may retry, a constraint violation a conflict.
pub(crate) fn sql_error(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let kind = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ErrorKind::Throttled,
        Some(ErrorCode::ConstraintViolation) => ErrorKind::Conflict,
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => ErrorKind::Denied,
        _ => ErrorKind::Other,
    };
    let hint = match kind {
        ErrorKind::Throttled => "; another process holds the database (a backup, an sqlite3 shell?)",
        ErrorKind::Denied => "; check the data directory's permissions",
        _ => "",
    };
    Error::backend("SQLite", kind, e.to_string(), hint, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{MintSpec, TokenState, mint};
    use crate::store::HitQuery;

    fn hit(token: &str, ip: &str, at: &str) -> Hit {
        Hit {
            user_agent: "ua".into(),
            path: "/".into(),
            label: "l".into(),
            ..Hit::sample(token, ip, at)
        }
    }

    #[tokio::test]
    async fn tokens_round_trip_and_conflict() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&d.path().join("db")).unwrap();
        let key = crate::domain::key::SigningKey::from_secret(&[1u8; 32]).unwrap();
        let t = mint(
            &key,
            &MintSpec::Jwt { issuer: "i".into() },
            "a",
            "b",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        s.create(&t).await.unwrap();
        assert!(matches!(s.create(&t).await, Err(Error::Conflict(_))));
        assert_eq!(s.get(&t.id).await.unwrap().as_ref(), Some(&t));
        let t2 = crate::store::set_state(&s, &t.id, TokenState::Disabled).await.unwrap();
        assert_eq!(s.get(&t.id).await.unwrap().unwrap().state, TokenState::Disabled);
        assert_eq!(s.list().await.unwrap(), vec![t2]);
        assert!(matches!(
            crate::store::set_state(&s, "nope", TokenState::Active).await,
            Err(Error::NotFound(_))
        ));
    }

    /// Hits written before times had three fraction digits come back in
    /// time order, and `since` compares them as times, once the database
    /// is opened by this version.
    #[tokio::test]
    async fn hits_stored_with_short_fractions_are_ordered_as_times() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("db");
        let old = [
            ("h1", "2026-11-28T12:00:00.5Z"),
            ("h2", "2026-11-28T12:00:00.52Z"),
            ("h3", "2026-11-28T12:00:00.082Z"),
            ("h4", "2026-11-28T12:00:01Z"),
        ];
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA).unwrap();
            for (id, at) in old {
                let mut h = hit("a", "10.0.0.1", "2026-11-28T12:00:00.000Z");
                h.hit_id = id.into();
                // The document as the old formatter wrote it.
                let doc = codec::encode("hit", &h)
                    .unwrap()
                    .replace("2026-11-28T12:00:00.000Z", at);
                c.execute(
                    "INSERT INTO hits (hit_id, token_id, received_at, source_ip, doc) VALUES (?1, 'a', ?2, '10.0.0.1', ?3)",
                    params![id, at, doc],
                )
                .unwrap();
            }
        }
        let s = SqliteStore::open(&path).unwrap();
        let ids = |hs: Vec<Hit>| hs.into_iter().map(|h| h.hit_id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.query(&HitQuery::default()).await.unwrap()),
            ["h3", "h1", "h2", "h4"],
            "oldest first, as times"
        );
        let since = HitQuery {
            since: Some("2026-11-28T12:00:00.510Z".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(ids(s.query(&since).await.unwrap()), ["h2", "h4"]);
        let newest = HitQuery {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(s.query(&newest).await.unwrap()), ["h2", "h4"]);
        drop(s);
        // Opening again finds the column rewritten and does not redo it.
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(ids(s.query(&since).await.unwrap()), ["h2", "h4"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hits_are_all_committed_and_filtered() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&d.path().join("db")).unwrap();
        let mut tasks = Vec::new();
        for i in 0..600 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let at = format!("2026-11-{:02}T00:00:00.000Z", 1 + i % 28);
                s.put(&hit(
                    if i % 2 == 0 { "a" } else { "b" },
                    &format!("10.0.0.{}", i % 3),
                    &at,
                ))
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // A second handle on the same file sees every committed hit.
        let s2 = SqliteStore::open(&d.path().join("db")).unwrap();
        assert_eq!(s2.query(&HitQuery::default()).await.unwrap().len(), 600);
        let q = HitQuery {
            token_id: Some("a".into()),
            since: Some("2026-11-15T00:00:00.000Z".parse().unwrap()),
            ..Default::default()
        };
        let got = s2.query(&q).await.unwrap();
        assert!(
            got.iter()
                .all(|h| h.token_id == "a" && h.received_at.to_string().as_str() >= "2026-11-15")
        );
        assert!(!got.is_empty() && got.len() < 300);
        assert!(
            got.windows(2).all(|w| w[0].received_at <= w[1].received_at),
            "oldest first"
        );
        let ip = HitQuery {
            source_ip: Some("10.0.0.1".into()),
            limit: Some(7),
            ..Default::default()
        };
        assert_eq!(s2.query(&ip).await.unwrap().len(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_flood_rule_counts_exactly_in_one_record_per_source_and_bucket() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&d.path().join("db")).unwrap();
        let rule = FloodRule {
            whole: 2,
            bucket: std::time::Duration::from_secs(3600),
        };
        let mut tasks = Vec::new();
        for i in 0..50u32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut h = hit(
                    "t",
                    if i % 5 == 0 { "10.0.0.2" } else { "10.0.0.1" },
                    "2026-11-28T10:00:00.000Z",
                );
                h.path = format!("/p{}", i % 20);
                h.headers.insert("x-big".into(), "x".repeat(1000));
                s.record(&h, &rule).await
            }));
        }
        let mut counted = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Kept::Whole => {}
                Kept::Counted { .. } => counted += 1,
                Kept::Spooled => panic!("nothing to spool"),
            }
        }
        assert_eq!(counted, 46);
        let all = s.query(&HitQuery::default()).await.unwrap();
        assert_eq!(all.len(), 6, "2 whole + 1 counter per source");
        assert_eq!(all.iter().map(|h| h.count).sum::<u64>(), 50);
        let c = all
            .iter()
            .find(|h| h.source_ip == "10.0.0.1" && h.flood.is_some())
            .unwrap();
        assert_eq!(c.count, 38);
        assert!(c.headers.is_empty());
        assert_eq!(c.flood.as_ref().unwrap().paths.len(), crate::domain::flood::MAX_SAMPLES);
    }

    #[tokio::test]
    async fn a_cached_flood_counter_is_read_again_when_another_writer_moved_it() {
        // Two stores on one file: two writers, as two `serve` processes would be.
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (
            SqliteStore::open(&d.path().join("db")).unwrap(),
            SqliteStore::open(&d.path().join("db")).unwrap(),
        );
        let rule = FloodRule {
            whole: 2,
            bucket: std::time::Duration::from_secs(3600),
        };
        let h = |n: u32| Hit {
            path: format!("/p{n}"),
            ..hit("t", "10.0.0.1", "2026-11-28T10:00:00.000Z")
        };
        for n in 0..3 {
            a.record(&h(n), &rule).await.unwrap();
        }
        for n in 3..6 {
            b.record(&h(n), &rule).await.unwrap();
        }
        // `a` cached its counter at 1; `b` has moved it to 4 since.
        assert_eq!(a.record(&h(6), &rule).await.unwrap(), Kept::Counted { count: 5 });
        let all = a.query(&HitQuery::default()).await.unwrap();
        assert_eq!(all.iter().map(|h| h.count).sum::<u64>(), 7);
        let c = all.iter().find(|h| h.flood.is_some()).unwrap();
        assert_eq!(c.flood.as_ref().unwrap().paths, ["/p2", "/p3", "/p4", "/p5", "/p6"]);
    }
}
