//! Opening the state store the configuration names: SQLite on a local disk (the default), or
//! PostgreSQL for state that several hosts share.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::BrokerError;
use crate::app::App;
use crate::config::StorageConfig;
use crate::storage::{
    network_filesystem, Offloaded, PostgresOptions, PostgresStore, PostgresTls, SqliteStore, Store,
    StoreError,
};

/// Connections a PostgreSQL store opens unless `storage.pool_size` says otherwise.
const DEFAULT_POOL_SIZE: u32 = 8;

/// Opens the store `app`'s configuration names.
pub fn open(app: &App) -> Result<Arc<dyn Store>, BrokerError> {
    let storage = &app.loaded.config.storage;
    if storage.is_postgres() {
        let options = postgres_options(storage, &app.paths.config_dir)?;
        return Ok(Arc::new(Offloaded(PostgresStore::open(&options)?)));
    }
    if storage.backend() == "json" {
        tracing::warn!(
            "storage strategy 'json' is the Python ORB's; orb keeps its state in SQLite"
        );
    }
    let path = database_path(app);
    if let Some(filesystem) = network_filesystem(&path) {
        if !storage.allow_network_filesystem {
            return Err(StoreError::NetworkFilesystem {
                path: path.display().to_string(),
                filesystem,
            }
            .into());
        }
        tracing::warn!(path = %path.display(), filesystem, "the state database is on a network file system (storage.allow_network_filesystem): only one host may open it");
    }
    Ok(Arc::new(Offloaded(SqliteStore::open(&path)?)))
}

/// Which store `app`'s configuration names, for people: the backend, and SQLite's file (never
/// PostgreSQL's URL, which may hold a password).
pub fn describe(app: &App) -> String {
    if app.loaded.config.storage.is_postgres() {
        "postgresql".into()
    } else {
        format!("sqlite {}", database_path(app).display())
    }
}

/// The SQLite database file: `storage.path`, relative to the work directory.
fn database_path(app: &App) -> PathBuf {
    match &app.loaded.config.storage.path {
        Some(path) if path.is_absolute() => path.clone(),
        Some(path) => app.paths.work_dir.join(path),
        None => app.paths.work_dir.join("orb.db"),
    }
}

/// How to reach PostgreSQL: the URL from `storage.url` or the file `storage.url_file` names.
fn postgres_options(
    storage: &StorageConfig,
    config_dir: &Path,
) -> Result<PostgresOptions, BrokerError> {
    let url = match (&storage.url, &storage.url_file) {
        (Some(url), _) => url.clone(),
        (None, Some(file)) => {
            let file = config_dir.join(file);
            std::fs::read_to_string(&file)
                .map_err(|e| {
                    BrokerError::Config(format!(
                        "storage.url_file {}: cannot read it: {e}",
                        file.display()
                    ))
                })?
                .trim()
                .to_owned()
        }
        (None, None) => {
            return Err(BrokerError::Config(
                "storage: type postgresql needs url or url_file".into(),
            ))
        }
    };
    let tls = match storage.tls.as_deref() {
        Some("verify-full") => PostgresTls::VerifyFull {
            ca_file: storage.tls_ca_file.as_ref().map(|f| config_dir.join(f)),
        },
        _ => PostgresTls::Disable,
    };
    Ok(PostgresOptions {
        url,
        pool_size: storage.pool_size.unwrap_or(DEFAULT_POOL_SIZE) as usize,
        tls,
    })
}
