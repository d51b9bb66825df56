//! `serve --hit-log FILE`: every hit appended as one Elastic Common Schema
//! line (see [`crate::domain::alert::ecs`]) for Filebeat, Vector or a
//! Splunk forwarder to ship.
//!
//! The decoy calls the listener on its request path, so the listener only
//! queues: a thread of its own appends the lines (one `write` per line, the
//! file opened with `O_APPEND` and mode 0600). A full queue drops the line,
//! never the hit (it is in the store; `honeytoken hits --format ecs` writes
//! the same line later), and counts it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::domain::HitListener;
use crate::domain::alert::ecs;
use crate::domain::hit::Hit;
use crate::error::{Error, Result};

/// Lines queued before new ones are dropped.
pub const QUEUE: usize = 10_000;

/// An open hit log.
pub struct HitLog {
    path: PathBuf,
    tx: Option<SyncSender<String>>,
    writer: Option<JoinHandle<u64>>,
    dropped: Arc<AtomicU64>,
}

/// Opens `path` for appending (created with mode 0600; an existing file is
/// narrowed to 0600: hits name where tokens were planted).
pub fn open_private(path: &Path) -> Result<File> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut o = OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(f)
}

impl HitLog {
    /// Opens the log and starts its writer thread.
    pub fn open(path: &Path) -> Result<HitLog> {
        let mut file = open_private(path)?;
        let (tx, rx) = sync_channel::<String>(QUEUE);
        let shown = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("hit-log".into())
            .spawn(move || {
                let mut failed = 0u64;
                for line in rx {
                    if let Err(e) = file.write_all(line.as_bytes()) {
                        if failed == 0 {
                            eprintln!(
                                "HIT LOG FAILING: {shown}: {e}; hits are stored (`honeytoken hits --format ecs`)"
                            );
                        }
                        failed += 1;
                    }
                }
                let _ = file.flush();
                failed
            })
            .map_err(|e| Error::Config(format!("cannot start the hit log writer: {e}")))?;
        Ok(HitLog {
            path: path.to_path_buf(),
            tx: Some(tx),
            writer: Some(writer),
            dropped: Arc::default(),
        })
    }

    /// The listener to give [`crate::decoy::Decoy::with_hit_log`].
    pub fn listener(&self) -> HitListener {
        let tx = self.tx.clone();
        let dropped = self.dropped.clone();
        Arc::new(move |hit: &Hit, _stored: crate::domain::Stored| {
            let Some(tx) = &tx else { return };
            if tx.try_send(ecs::line(hit)).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        })
    }

    /// Waits for every queued line to be written, once every listener is
    /// dropped; returns the lines not written (dropped or failed).
    pub fn finish(mut self) -> u64 {
        self.tx.take();
        let failed = self.writer.take().and_then(|w| w.join().ok()).unwrap_or(0);
        let lost = failed + self.dropped.load(Ordering::Relaxed);
        if lost > 0 {
            eprintln!(
                "hit log {}: {lost} line(s) not written; `honeytoken hits --format ecs` has every hit",
                self.path.display()
            );
        }
        lost
    }
}

/// The decoy Lambda's hit log: each hit as one ECS line on stdout, which
/// Lambda sends to the function's log group as one log event. The line's
/// `event.dataset` ([`ecs::DATASET`]) is what a subscription filter selects
/// (`{ $.event.dataset = "honeytoken.hit" }`), so exactly these lines go on
/// to Firehose, Splunk or OpenSearch. One `write` per line, so concurrent
/// writers cannot interleave.
pub fn stdout_listener() -> HitListener {
    Arc::new(|hit: &Hit, _stored: crate::domain::Stored| {
        let line = ecs::line(hit);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use honeytoken_core::testkit::hit_at;

    #[test]
    fn appends_one_ecs_line_per_hit_to_a_private_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hits.ndjson");
        std::fs::write(&p, "earlier line\n").unwrap();
        let log = HitLog::open(&p).unwrap();
        let l = log.listener();
        for i in 0..3 {
            l(&hit_at("tok", "203.0.113.9", i, 0), crate::domain::Stored::Yes);
        }
        drop(l);
        assert_eq!(log.finish(), 0);
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "appended, the earlier line kept");
        assert_eq!(lines[0], "earlier line");
        for (i, l) in lines[1..].iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["event"]["dataset"], ecs::DATASET);
            assert_eq!(
                v["honeytoken"]["hit_id"],
                hit_at("tok", "203.0.113.9", i as i64, 0).hit_id
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
