//! Reloading `orb serve` without a restart (SIGHUP, or `POST /api/v1/admin/reload-config`).
//!
//! A reload reads the configuration again and the plugins directory (new and changed
//! libraries are loaded from private snapshots; nothing is unloaded), builds and initialises
//! every enabled provider instance of the new configuration, and only then replaces the broker
//! that serves new calls. Calls in flight keep the broker, and so the provider instances, they
//! started with. A configuration that does not load, or an instance that cannot be built,
//! leaves the running broker in place; the error goes to the log and to `/readyz`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::broker::Broker;
use crate::plugins::LoadOptions;

/// The broker serving new calls, replaced whole by each successful reload.
pub struct Live {
    config_file: Option<PathBuf>,
    snapshots: tempfile::TempDir,
    current: RwLock<Arc<Broker>>,
    last: RwLock<Option<ReloadOutcome>>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// How the last reload ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReloadOutcome {
    /// `reloaded` or `failed` (the running configuration was kept).
    pub status: &'static str,
    /// When (RFC 3339).
    pub at: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The provider instances serving after it.
    pub providers: Vec<String>,
    /// The libraries refused by the plugins directory's checks, with why.
    pub refused: Vec<String>,
}

impl Live {
    /// Opens the broker `app` describes, loading each library from a private snapshot, in a
    /// new directory under `<work dir>/plugin-snapshots` (not the temporary directory, which
    /// hardened hosts mount without exec), removed on exit.
    pub fn open(app: &App, config_file: Option<&Path>) -> anyhow::Result<Live> {
        let parent = app.paths.work_dir.join("plugin-snapshots");
        let snapshots = std::fs::create_dir_all(&parent)
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix("serve-")
                    .tempdir_in(&parent)
            })
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot make a directory for plugin snapshots in {}: {e}",
                    parent.display()
                )
            })?;
        let factory = app.factory_loading_all(&snapshot_options(app, snapshots.path()));
        let broker = Broker::open_with(app, factory)?;
        Ok(Live {
            config_file: config_file.map(Path::to_path_buf),
            snapshots,
            current: RwLock::new(Arc::new(broker)),
            last: RwLock::new(None),
            one_at_a_time: tokio::sync::Mutex::new(()),
        })
    }

    /// The broker serving new calls.
    pub fn broker(&self) -> Arc<Broker> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// How the last reload ended; `None` before the first.
    pub fn last_reload(&self) -> Option<ReloadOutcome> {
        self.last.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads the configuration and the plugins directory; keeps the running broker when the
    /// new one cannot serve.
    pub async fn reload(&self) -> ReloadOutcome {
        let _turn = self.one_at_a_time.lock().await;
        let outcome = match self.prepare().await {
            Ok(broker) => {
                let outcome = ReloadOutcome {
                    status: "reloaded",
                    at: crate::views::time(crate::domain::now()),
                    error: None,
                    providers: enabled(&broker),
                    refused: refused(&broker),
                };
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(broker);
                tracing::info!(providers = ?outcome.providers, refused = ?outcome.refused, "configuration and plugins reloaded");
                outcome
            }
            Err(error) => {
                let running = self.broker();
                tracing::error!(error = %error, "reload failed; the running configuration stays");
                ReloadOutcome {
                    status: "failed",
                    at: crate::views::time(crate::domain::now()),
                    error: Some(error),
                    providers: enabled(&running),
                    refused: refused(&running),
                }
            }
        };
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(outcome.clone());
        outcome
    }

    /// Loads the configuration as a reload would, without applying it: the keys it accepts
    /// without effect, or why it does not load.
    pub fn check_configuration(&self) -> Result<Vec<String>, String> {
        let app = App::configure(self.config_file.as_deref())
            .map_err(|e| format!("the configuration does not load: {e:#}"))?;
        Ok(crate::config::without_effect(&app.loaded.config)
            .into_iter()
            .map(|(key, why)| format!("{key} has no effect: {why}"))
            .collect())
    }

    /// The broker of the configuration and plugins as they are now, every enabled provider
    /// instance built and initialised.
    async fn prepare(&self) -> Result<Broker, String> {
        let app = App::configure(self.config_file.as_deref())
            .map_err(|e| format!("the configuration does not load: {e:#}"))?;
        let running = self.broker();
        let plugins = running.plugins().reload(
            &app.paths.plugins_dir,
            &snapshot_options(&app, self.snapshots.path()),
        );
        let factory = crate::providers::ProviderFactory::new(
            plugins,
            &app.paths.work_dir,
            app.loaded.config.provider.call_timeouts,
        );
        let broker = running.reconfigured(&app, factory);
        for instance in app.loaded.config.provider.enabled() {
            broker
                .provider(instance)
                .await
                .map_err(|e| format!("provider instance '{}': {e}", instance.name))?;
        }
        Ok(broker)
    }
}

fn snapshot_options(app: &App, dir: &Path) -> LoadOptions {
    LoadOptions {
        snapshot: Some(dir.to_path_buf()),
        ..app.plugin_options()
    }
}

fn enabled(broker: &Broker) -> Vec<String> {
    broker
        .config()
        .provider
        .enabled()
        .map(|p| p.name.clone())
        .collect()
}

fn refused(broker: &Broker) -> Vec<String> {
    broker
        .plugins()
        .failures
        .iter()
        .map(ToString::to_string)
        .collect()
}
