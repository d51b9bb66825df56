//! The one hit writer thread: group commit, the flood rule's counters, and
//! the spool.
//!
//! Every hit goes through here. Whatever has queued up is committed in one
//! transaction (under load many hits share one fsync). Hits under a flood
//! rule are counted per (token, source, bucket) in `flood_counts`, in the
//! same transaction: the first `rule.whole` of a bucket are inserted whole,
//! the rest update the bucket's one counter record (exact count, bounded
//! samples), once per batch however many hits of the bucket it holds.
//!
//! # The spool
//!
//! When the database cannot take a batch at once (its write lock held by a
//! backup or a `sqlite3` shell, a full disk, an I/O error), the batch is
//! appended to an append-only spool file (mode 0600, fsynced under
//! [`Durability::Full`]) and acknowledged as [`Kept::Spooled`]: durable,
//! not yet queryable. While the spool holds anything, new batches go to it
//! too (so hits reach the database in order) and the writer retries,
//! moving the whole spool into the database in one transaction that also
//! records the spool's generation id in `spool_done`; a spool whose
//! generation is recorded there is already in the database and is only
//! deleted. So a crash between that commit and the file's removal never
//! counts a hit twice, and a restart replays a spool left behind.

use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::domain::flood::{FloodKey, FloodRule, FloodSamples, counter_hit};
use crate::domain::hit::Hit;
use crate::error::{Error, Result};
use crate::store::{Durability, Kept, codec};

/// Hits written per transaction at most.
pub const MAX_BATCH: usize = 512;
/// How long the writer waits for the database's write lock when it has a
/// spool to fall back on: short, so a held lock costs a hit a few
/// milliseconds, not the answer's deadline.
pub const SPOOL_BUSY: Duration = Duration::from_millis(5);
/// How often a non-empty spool is retried.
pub const RETRY_EVERY: Duration = Duration::from_millis(250);
/// How long the writer waits for the lock when draining at shutdown.
pub const SHUTDOWN_BUSY: Duration = Duration::from_secs(5);

pub(super) type Ack = tokio::sync::oneshot::Sender<Result<Kept>>;

/// What the writer inserts for one hit: the indexed columns and the JSON
/// document (serialised by the caller, so the one writer thread only
/// inserts), and for a hit under the flood rule, the hit itself.
pub(super) struct Job {
    pub hit_id: String,
    pub token_id: String,
    pub received_at: String,
    pub source_ip: String,
    pub doc: String,
    pub flood: Option<FloodJob>,
}

/// A hit under the flood rule.
pub(super) struct FloodJob {
    pub rule: FloodRule,
    pub key: FloodKey,
    /// The hit without its headers (a counter record keeps none).
    pub hit: Box<Hit>,
}

impl Job {
    pub fn new(hit: &Hit, rule: Option<&FloodRule>) -> Result<Job> {
        Ok(Job {
            hit_id: hit.hit_id.clone(),
            token_id: hit.token_id.clone(),
            received_at: hit.received_at.to_string(),
            source_ip: hit.source_ip.clone(),
            doc: codec::encode("hit", hit)?,
            flood: rule.map(|r| FloodJob {
                rule: *r,
                key: r.key(hit),
                hit: Box::new(hit.without_headers()),
            }),
        })
    }

    /// One spool line: the rule (if any) and the whole hit.
    fn spool_line(&self) -> String {
        let rule = match &self.flood {
            Some(f) => format!("[{},{}]", f.rule.whole, f.rule.bucket.as_millis()),
            None => "null".into(),
        };
        format!("{{\"rule\":{rule},\"hit\":{}}}\n", self.doc)
    }

    fn from_spool_line(line: &str) -> Option<Job> {
        #[derive(serde::Deserialize)]
        struct Line {
            rule: Option<(u64, u64)>,
            hit: Hit,
        }
        // A line that does not decode is torn (a crash mid-write): counted, skipped.
        let l: Line = codec::decode("spool line", line).ok()?;
        let rule = l.rule.map(|(whole, ms)| FloodRule {
            whole,
            bucket: Duration::from_millis(ms),
        });
        Job::new(&l.hit, rule.as_ref()).ok()
    }
}

/// Tables the writer owns (created on open, next to the hits table).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS flood_counts (
    token_id TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    bucket_ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (token_id, source_ip, bucket_ms)
);
CREATE TABLE IF NOT EXISTS spool_done (
    gen TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);
";

/// Counter records the writer wrote last, by bucket, so a flood's next
/// batch does not read and decode its counter back. An entry is trusted
/// only while its count matches the bucket's count in `flood_counts`
/// (a rolled-back batch or another writer makes them differ: then the
/// record is read again), and the cache is emptied past
/// [`COUNTER_CACHE`] entries.
pub(super) type Counters = HashMap<FloodKey, Hit>;
/// Counter records cached at most.
const COUNTER_CACHE: usize = 4096;

/// Applies `jobs` in the open transaction; what became of each.
fn apply(tx: &Connection, jobs: &[&Job], counters: &mut Counters) -> rusqlite::Result<Vec<Kept>> {
    let mut kept = vec![Kept::Whole; jobs.len()];
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO hits (hit_id, token_id, received_at, source_ip, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // Flood jobs by bucket, in arrival order within each.
    let mut buckets: Vec<(&FloodKey, Vec<usize>)> = Vec::new();
    let mut at: HashMap<&FloodKey, usize> = HashMap::new();
    for (i, j) in jobs.iter().enumerate() {
        match &j.flood {
            None => {
                insert.execute(params![j.hit_id, j.token_id, j.received_at, j.source_ip, j.doc])?;
            }
            Some(f) => match at.get(&f.key) {
                Some(&b) => buckets[b].1.push(i),
                None => {
                    at.insert(&f.key, buckets.len());
                    buckets.push((&f.key, vec![i]));
                }
            },
        }
    }
    let mut count = tx.prepare_cached(
        "INSERT INTO flood_counts (token_id, source_ip, bucket_ms, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (token_id, source_ip, bucket_ms) DO UPDATE SET n = n + excluded.n RETURNING n",
    )?;
    for (key, idx) in buckets {
        let k = idx.len() as i64;
        let after: i64 = count.query_row(params![key.token_id, key.source_ip, key.bucket_start_ms, k], |r| {
            r.get(0)
        })?;
        let before = (after - k).max(0) as u64;
        let mut counter: Option<Hit> = None;
        for (n, &i) in idx.iter().enumerate() {
            let j = jobs[i];
            let f = j.flood.as_ref().expect("flood job");
            if f.rule.is_whole(before + n as u64 + 1) {
                insert.execute(params![j.hit_id, j.token_id, j.received_at, j.source_ip, j.doc])?;
                continue;
            }
            let c = match &mut counter {
                Some(c) => c,
                None => {
                    let counted_before = before.saturating_sub(f.rule.whole);
                    let cached = counters.remove(key).filter(|c| c.count == counted_before);
                    let existing = match cached {
                        Some(c) => Some(c),
                        None => tx
                            .prepare_cached("SELECT doc FROM hits WHERE hit_id = ?1")?
                            .query_row(params![key.counter_id()], |r| r.get::<_, String>(0))
                            .optional()?
                            .and_then(|d| codec::decode::<Hit>("flood counter", &d).ok()),
                    };
                    counter.insert(existing.unwrap_or_else(|| counter_hit(&f.hit, key, 0, FloodSamples::default())))
                }
            };
            c.count += 1;
            c.flood.get_or_insert_with(FloodSamples::default).add(&f.hit);
            kept[i] = Kept::Counted { count: c.count };
        }
        if let Some(c) = counter {
            let doc =
                codec::encode("flood counter", &c).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            tx.prepare_cached(
                "INSERT INTO hits (hit_id, token_id, received_at, source_ip, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (hit_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![
                c.hit_id,
                c.token_id,
                c.received_at.to_string(),
                c.source_ip,
                doc
            ])?;
            if counters.len() >= COUNTER_CACHE {
                counters.clear();
            }
            counters.insert(key.clone(), c);
        }
    }
    Ok(kept)
}

/// The spool file and whether it holds hits not yet in the database.
struct Spool {
    path: PathBuf,
    /// Open for appending while the spool holds hits.
    file: Option<fs::File>,
    generation: String,
}

impl Spool {
    fn pending(&self) -> bool {
        self.file.is_some()
    }

    /// Appends `jobs` (creating the file with a fresh generation if needed)
    /// and makes them durable per `durability`.
    fn append(&mut self, jobs: &[&Job], durability: Durability) -> std::io::Result<()> {
        if self.file.is_none() {
            let generation = ulid::Ulid::new().to_string();
            let mut o = fs::OpenOptions::new();
            o.append(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o.open(&self.path)?;
            f.write_all(format!("{{\"spool\":\"{generation}\"}}\n").as_bytes())?;
            if durability == Durability::Full {
                f.sync_all()?;
                // The new file's directory entry must survive a power cut too.
                if let Some(dir) = self.path.parent() {
                    fs::File::open(dir)?.sync_all()?;
                }
            }
            self.generation = generation;
            self.file = Some(f);
        }
        let mut buf = String::new();
        for j in jobs {
            buf.push_str(&j.spool_line());
        }
        let f = self.file.as_mut().expect("spool open");
        // One write of whole lines; a torn last line (crash mid-write) is
        // skipped at replay, and its hit was never acknowledged.
        f.write_all(buf.as_bytes())?;
        if durability == Durability::Full {
            f.sync_data()?;
        }
        Ok(())
    }

    /// Reads the spool: its generation and its hits.
    fn read(&self) -> std::io::Result<(String, Vec<Job>, usize)> {
        let text = fs::read_to_string(&self.path)?;
        let mut lines = text.lines();
        let generation = lines
            .next()
            .and_then(|l| codec::decode::<serde_json::Value>("spool header", l).ok())
            .and_then(|v| v["spool"].as_str().map(str::to_string))
            .unwrap_or_default();
        let mut jobs = Vec::new();
        let mut torn = 0;
        for l in lines.filter(|l| !l.trim().is_empty()) {
            match Job::from_spool_line(l) {
                Some(j) => jobs.push(j),
                None => torn += 1,
            }
        }
        Ok((generation, jobs, torn))
    }
}

pub(super) struct Writer {
    conn: Connection,
    spool: Option<Spool>,
    durability: Durability,
    last_warning: Option<Instant>,
    counters: Counters,
}

/// What the writer left behind when it stopped.
#[derive(Debug, Clone, Default)]
pub struct WriterReport {
    /// Hits still in the spool (replayed at the next start).
    pub left_in_spool: usize,
    /// Hits spooled over the writer's life.
    pub spooled: u64,
    /// Why the spool could not be drained, if it could not.
    pub error: Option<String>,
}

impl Writer {
    pub fn new(conn: Connection, spool: Option<PathBuf>, durability: Durability) -> Writer {
        let mut spool = spool.map(|path| Spool {
            path,
            file: None,
            generation: String::new(),
        });
        // A spool left by an earlier run: open it for appending; the loop
        // moves it into the database first thing.
        if let Some(s) = spool.as_mut()
            && let Ok(meta) = fs::symlink_metadata(&s.path)
            && meta.is_file()
            && let Ok(f) = fs::OpenOptions::new().append(true).open(&s.path)
        {
            s.generation = s.read().map(|r| r.0).unwrap_or_default();
            s.file = Some(f);
        }
        Writer {
            conn,
            spool,
            durability,
            last_warning: None,
            counters: Counters::new(),
        }
    }

    /// Runs until every sender is gone, then drains the spool (or leaves it
    /// for the next start).
    pub fn run(mut self, rx: Receiver<(Job, Ack)>) -> WriterReport {
        let mut report = WriterReport::default();
        loop {
            let pending = self.spool.as_ref().is_some_and(Spool::pending);
            let first = if pending {
                match rx.recv_timeout(RETRY_EVERY) {
                    Ok(x) => Some(x),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(x) => Some(x),
                    Err(_) => break,
                }
            };
            let mut batch: Vec<(Job, Ack)> = first.into_iter().collect();
            while !batch.is_empty() && batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            if pending && let Err(e) = self.drain() {
                self.warn(&e);
            }
            if batch.is_empty() {
                continue;
            }
            let spooled = self.write(&mut batch);
            report.spooled += spooled;
        }
        // Clean shutdown: give the database a little longer to take the spool.
        if self.spool.as_ref().is_some_and(Spool::pending) {
            let _ = self.conn.busy_timeout(SHUTDOWN_BUSY);
            if let Err(e) = self.drain() {
                report.error = Some(e.to_string());
                report.left_in_spool = self
                    .spool
                    .as_ref()
                    .and_then(|s| s.read().ok())
                    .map(|r| r.1.len())
                    .unwrap_or(0);
            }
        }
        report
    }

    fn warn(&mut self, e: &Error) {
        if self.last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            self.last_warning = Some(Instant::now());
            tracing::warn!(error = %e, "hits are waiting in the spool: the database cannot take them yet");
        }
    }

    /// Writes a batch to the database, or to the spool when the database
    /// cannot take it (or the spool already holds hits); answers every
    /// caller. Returns how many were spooled.
    fn write(&mut self, batch: &mut Vec<(Job, Ack)>) -> u64 {
        let jobs: Vec<&Job> = batch.iter().map(|(j, _)| j).collect();
        let pending = self.spool.as_ref().is_some_and(Spool::pending);
        let db_err = if pending {
            None
        } else {
            match self.transaction(&jobs) {
                Ok(kept) => {
                    for ((_, ack), k) in batch.drain(..).zip(kept) {
                        let _ = ack.send(Ok(k));
                    }
                    return 0;
                }
                Err(e) => Some(e),
            }
        };
        let durability = self.durability;
        let result = match self.spool.as_mut() {
            Some(s) => s.append(&jobs, durability).map_err(|e| {
                Error::Store(format!(
                    "the database could not take the hit ({}) and neither could the spool {}: {e}",
                    db_err
                        .as_ref()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "spool pending".into()),
                    s.path.display()
                ))
            }),
            None => Err(db_err.unwrap_or_else(|| Error::Store("the database cannot take hits".into()))),
        };
        let n = batch.len() as u64;
        match result {
            Ok(()) => {
                for (_, ack) in batch.drain(..) {
                    let _ = ack.send(Ok(Kept::Spooled));
                }
                n
            }
            Err(e) => {
                for (_, ack) in batch.drain(..) {
                    let _ = ack.send(Err(Error::Store(e.to_string())));
                }
                0
            }
        }
    }

    fn transaction(&mut self, jobs: &[&Job]) -> Result<Vec<Kept>> {
        self.in_transaction(|c, counters| apply(c, jobs, counters))
    }

    /// Runs `f` in one transaction, committed if it succeeds and rolled
    /// back if anything fails. IMMEDIATE: take the write lock first
    /// (waiting per the busy timeout), rather than upgrade a read snapshot,
    /// which WAL refuses at once without waiting when another writer got
    /// in between. The statements are prepared once: the writer runs one
    /// transaction per batch, and parsing them each time showed in profiles.
    fn in_transaction<T>(&mut self, f: impl FnOnce(&Connection, &mut Counters) -> rusqlite::Result<T>) -> Result<T> {
        let conn = &self.conn;
        let rollback = || conn.prepare_cached("ROLLBACK").and_then(|mut s| s.execute([]));
        // One left open by a rollback that failed earlier.
        if !conn.is_autocommit() {
            let _ = rollback();
        }
        conn.prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
            .map_err(super::sql_error)?;
        let done = f(conn, &mut self.counters)
            .and_then(|t| conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).map(|_| t));
        if done.is_err() {
            if !conn.is_autocommit() {
                let _ = rollback();
            }
            // The cache may hold what was rolled back.
            self.counters.clear();
        }
        done.map_err(super::sql_error)
    }

    /// Moves the spool into the database in one transaction.
    fn drain(&mut self) -> Result<()> {
        let Some(s) = self.spool.as_mut() else { return Ok(()) };
        let io = |e: std::io::Error| Error::Store(format!("spool {}: {e}", s.path.display()));
        let (generation, jobs, torn) = s.read().map_err(io)?;
        let path = s.path.clone();
        self.in_transaction(|tx, counters| {
            let done: bool = tx
                .query_row("SELECT 1 FROM spool_done WHERE gen = ?1", params![generation], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if !done {
                let refs: Vec<&Job> = jobs.iter().collect();
                apply(tx, &refs, counters)?;
                tx.execute(
                    "INSERT OR IGNORE INTO spool_done (gen, done_at) VALUES (?1, ?2)",
                    params![generation, crate::domain::time::Timestamp::now().to_string()],
                )?;
            }
            Ok(())
        })?;
        if torn > 0 {
            tracing::warn!(
                lines = torn,
                "skipped torn lines at the end of the spool (never acknowledged)"
            );
        }
        fs::remove_file(&path).map_err(|e| Error::Store(format!("spool {}: {e}", path.display())))?;
        if let Some(s) = self.spool.as_mut() {
            s.file = None;
        }
        Ok(())
    }
}
