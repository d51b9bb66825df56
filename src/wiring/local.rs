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
    Ok(dir)
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
    match fs::read_to_string(path) {
        Ok(s) => return Ok(s),
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
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fs::read_to_string(path).map_err(io),
        Err(e) => Err(io(e)),
    }
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

/// Opens `serve --hit-log FILE` (see [`crate::alerting::hitlog`]).
pub fn hit_log(path: &Path) -> Result<crate::alerting::hitlog::HitLog> {
    crate::alerting::hitlog::HitLog::open(path)
}

/// Opens the local backend: the data directory (`dir`, or the default), its
/// signing key and its SQLite database.
pub fn open(dir: Option<&Path>) -> Result<super::Context> {
    let dir = data_dir(dir)?;
    let key = signing_key(&dir)?;
    let store = std::sync::Arc::new(crate::store::sqlite::SqliteStore::open(&dir.join("honeytoken.db"))?);
    Ok(super::Context {
        tokens: store.clone(),
        hits: store.clone(),
        key,
        data_dir: Some(dir),
        allow: store,
    })
}

/// The alert fan-out of `serve`: the terminal always, a signed webhook when
/// `webhook` is given (its secret from `HONEYTOKEN_WEBHOOK_SECRET`, else
/// `DATA_DIR/webhook.secret`), throttled per (token, source) over `window`.
pub fn fanout(
    ctx: &super::Context,
    webhook: Option<&str>,
    window: std::time::Duration,
) -> Result<crate::alerting::local::Fanout> {
    fanout_with(ctx, webhook, &super::channels::LocalChannels::default(), window)
}

/// [`fanout`] plus the optional Teams, Discord and Splunk HEC channels
/// (see [`super::channels::local`]).
pub fn fanout_with(
    ctx: &super::Context,
    webhook: Option<&str>,
    extra: &super::channels::LocalChannels,
    window: std::time::Duration,
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
    Ok(crate::alerting::local::spawn(
        std::sync::Arc::new(crate::store::memory::MemoryAlertState::new()),
        vec![std::sync::Arc::new(crate::notify::terminal::Terminal)],
        best_effort,
        window,
    ))
}
