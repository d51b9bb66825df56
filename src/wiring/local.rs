//! Local configuration: the data directory and the signing key in it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::key::SigningKey;
use crate::error::{Error, Result};

/// Environment variable overriding the signing key.
pub const SIGNING_KEY_ENV: &str = "HONEYTOKEN_SIGNING_KEY";

/// The data directory: the flag, else `HONEYTOKEN_DATA_DIR` (handled by clap),
/// else the platform's data directory.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    let dir = match flag {
        Some(d) => d.to_path_buf(),
        None => dirs::data_dir()
            .map(|d| d.join("honeytoken"))
            .ok_or_else(|| Error::Config("no data directory on this platform; pass --data-dir DIR".into()))?,
    };
    create_private_dir(&dir)?;
    check_dir_private(&dir)?;
    Ok(dir)
}

/// Warns about a data directory others can read or enter, and tightens it
/// to 0700 when it is ours (the files in it are 0600 anyway, but their
/// names and sizes are nobody else's business either).
#[cfg(unix)]
fn check_dir_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let m = fs::metadata(dir).map_err(io)?;
    let mode = m.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if m.uid() == effective_uid() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        eprintln!(
            "warning: data directory {} was readable by others (mode {mode:o}); tightened to 700",
            dir.display()
        );
    } else {
        eprintln!(
            "warning: data directory {} (mode {mode:o}) is owned by another user and readable by others; \
             use a private directory (--data-dir)",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_dir_private(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Every file this process creates from now on is private (0600 files,
/// 0700 directories), whichever library creates it (SQLite's `-wal` and
/// `-shm` included).
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask has no preconditions and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Reads a secret file, refusing one that is a symlink, not a regular
/// file, owned by another user, or empty: a key someone else planted or
/// can change is no key. A file others can read is tightened to 0600.
pub fn read_secret_file(path: &Path) -> Result<String> {
    let bad = |why: &str| {
        Error::Config(format!(
            "refusing {}: {why}; remove it (a new one is created) or fix it, or set the secret in the environment",
            path.display()
        ))
    };
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let m = fs::symlink_metadata(path).map_err(io)?;
    if m.file_type().is_symlink() {
        return Err(bad("it is a symbolic link"));
    }
    if !m.is_file() {
        return Err(bad("it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if m.uid() != effective_uid() {
            return Err(bad(&format!("it is owned by uid {}, not by this user", m.uid())));
        }
        if m.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
            eprintln!("warning: {} was readable by others; tightened to 600", path.display());
        }
    }
    let s = fs::read_to_string(path).map_err(io)?;
    if s.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    Ok(s)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io)
}

/// Loads the signing key: `HONEYTOKEN_SIGNING_KEY` if set, else
/// `DIR/signing.key`, created on first use with mode 0600.
pub fn signing_key(dir: &Path) -> Result<SigningKey> {
    if let Some(v) = std::env::var_os(SIGNING_KEY_ENV).filter(|v| !v.is_empty()) {
        let v = v
            .into_string()
            .map_err(|_| Error::Config(format!("{SIGNING_KEY_ENV} is not valid UTF-8")))?;
        return SigningKey::from_secret(v.trim().as_bytes())
            .map_err(|e| Error::Config(format!("{SIGNING_KEY_ENV}: {e}")));
    }
    let path = dir.join("signing.key");
    let secret = read_or_create_secret(&path)?;
    SigningKey::from_secret(secret.trim().as_bytes()).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

/// Reads a secret file, creating it (0600, atomically) with a fresh secret if absent.
pub fn read_or_create_secret(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    match fs::symlink_metadata(path) {
        Ok(_) => return read_secret_file(path),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    let secret = SigningKey::generate_secret();
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(secret)
        }
        // Another process created it first: use theirs, if it passes the checks.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret_file(path),
        Err(e) => Err(io(e)),
    }
}

/// Opens `serve --hit-log FILE` (see [`crate::alerting::hitlog`]).
pub fn hit_log(path: &Path) -> Result<crate::alerting::hitlog::HitLog> {
    crate::alerting::hitlog::HitLog::open(path)
}

/// Opens the local backend: the data directory (`dir`, or the default), its
/// signing key and its SQLite database.
pub fn open(dir: Option<&Path>) -> Result<super::Context> {
    private_umask();
    let dir = data_dir(dir)?;
    let key = signing_key(&dir)?;
    let store = std::sync::Arc::new(crate::store::sqlite::SqliteStore::open(&dir.join("honeytoken.db"))?);
    Ok(super::Context::over(store, key, Some(dir)))
}

/// How long `serve` waits at exit for the hit writer (which itself waits
/// up to 5 s for the database to take the spool).
pub const WRITER_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// What `serve` holds besides the context: the hit writer, to wait for at
/// shutdown until every hit is written and the spool drained.
pub struct ServeStore {
    writer: Option<std::thread::JoinHandle<crate::store::sqlite::WriterReport>>,
}

impl ServeStore {
    /// Waits (on a blocking thread) for the hit writer to finish, once every
    /// handle on the store is gone; says what it left behind.
    pub async fn finish(self) -> Option<String> {
        let h = self.writer?;
        // A connection still open past the shutdown grace keeps a handle on
        // the store; do not wait for it forever (its request was never
        // answered, so nothing it carried was acknowledged).
        let joined = tokio::time::timeout(WRITER_GRACE, tokio::task::spawn_blocking(move || h.join())).await;
        let Ok(joined) = joined else {
            return Some(format!(
                "the hit writer was still busy {}s after the last request; exiting without waiting",
                WRITER_GRACE.as_secs()
            ));
        };
        let r = joined.ok()?.ok()?;
        let mut msg = Vec::new();
        if r.spooled > 0 {
            msg.push(format!("{} hit(s) went through the spool", r.spooled));
        }
        if r.left_in_spool > 0 {
            msg.push(format!(
                "{} hit(s) are still in the spool (the database: {}); they are written at the next start",
                r.left_in_spool,
                r.error.as_deref().unwrap_or("unavailable")
            ));
        }
        (!msg.is_empty()).then(|| msg.join("; "))
    }
}

/// Opens the local backend for `serve`: private files, the hit writer at
/// `durability`, and a spool (`DATA_DIR/hits.spool`) for hits the database
/// cannot take at once, replayed first if an earlier run left one.
pub fn open_for_serve(
    dir: Option<&Path>,
    durability: crate::store::Durability,
) -> Result<(super::Context, ServeStore)> {
    private_umask();
    let dir = data_dir(dir)?;
    let key = signing_key(&dir)?;
    let opts = crate::store::sqlite::HitWriterOptions {
        durability,
        spool: Some(dir.join("hits.spool")),
    };
    let store = std::sync::Arc::new(crate::store::sqlite::SqliteStore::open_with(
        &dir.join("honeytoken.db"),
        &opts,
    )?);
    let writer = store.take_writer();
    Ok((super::Context::over(store, key, Some(dir)), ServeStore { writer }))
}

/// The alert fan-out of `serve`: the terminal always, a signed webhook when
/// `webhook` is given (its secret from `HONEYTOKEN_WEBHOOK_SECRET`, else
/// `DATA_DIR/webhook.secret`), throttled per (token, source) over `window`.
pub fn fanout(
    ctx: &super::Context,
    webhook: Option<&str>,
    window: std::time::Duration,
    channel_queue: usize,
) -> Result<crate::alerting::local::Fanout> {
    fanout_with(
        ctx,
        webhook,
        &super::channels::LocalChannels::default(),
        window,
        channel_queue,
    )
}

/// [`fanout`] plus the optional Teams, Discord and Splunk HEC channels
/// (see [`super::channels::local`]).
pub fn fanout_with(
    ctx: &super::Context,
    webhook: Option<&str>,
    extra: &super::channels::LocalChannels,
    window: std::time::Duration,
    channel_queue: usize,
) -> Result<crate::alerting::local::Fanout> {
    use crate::notify::Notifier;
    let mut best_effort: Vec<std::sync::Arc<dyn Notifier>> =
        super::channels::local(extra, super::channels::print_error())?;
    if let Some(url) = webhook {
        let secret = match std::env::var("HONEYTOKEN_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(s) => s,
            None => {
                let dir = ctx
                    .data_dir
                    .as_ref()
                    .ok_or_else(|| Error::Config("the webhook secret needs a local data directory".into()))?;
                read_or_create_secret(&dir.join("webhook.secret"))?
            }
        };
        best_effort.push(std::sync::Arc::new(crate::notify::webhook::Webhook::new(
            url,
            secret.trim().as_bytes(),
        )?));
    }
    Ok(crate::alerting::local::spawn_with(
        std::sync::Arc::new(crate::store::memory::MemoryAlertState::new()),
        vec![std::sync::Arc::new(crate::notify::terminal::Terminal)],
        best_effort,
        window,
        channel_queue,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_is_private_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("signing.key");
        let a = read_or_create_secret(&p).unwrap();
        let b = read_or_create_secret(&p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
