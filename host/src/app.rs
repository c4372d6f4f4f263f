//! What every command starts from: the environment, the configuration, the directories, and
//! logging.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::{find_config_file, load, Env, LoadedConfig, Paths, ProviderInstanceConfig};
use crate::logging::{self, parse_level, Sink};
use crate::plugins::{load_plugins, load_plugins_cached, FilePolicy, LoadOptions};
use crate::providers::ProviderFactory;

/// The loaded context of one `orb` invocation.
#[derive(Debug)]
pub struct App {
    /// The environment, captured at start.
    pub env: Env,
    /// The effective configuration.
    pub loaded: LoadedConfig,
    /// The resolved directories.
    pub paths: Paths,
}

impl App {
    /// Loads the configuration (from `config_file` when given) and starts logging, at
    /// `log_level` when given.
    pub fn start(config_file: Option<&Path>, log_level: Option<&str>) -> anyhow::Result<App> {
        let app = App::configure(config_file)?;
        app.start_logging(log_level)?;
        tracing::debug!(config_file = ?app.loaded.file, paths = ?app.paths, "configuration loaded");
        Ok(app)
    }

    /// Loads the configuration (from `config_file` when given), without touching logging:
    /// what a reload reads again.
    pub fn configure(config_file: Option<&Path>) -> anyhow::Result<App> {
        let env = Env::from_process();
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let file = find_config_file(config_file, &env, exe_dir.as_deref())?;
        let loaded = load(file.as_deref(), &env)?;
        let paths = Paths::resolve(&loaded, &env, exe_dir.as_deref());
        Ok(App { env, loaded, paths })
    }

    fn start_logging(&self, log_level: Option<&str>) -> anyhow::Result<()> {
        let (loaded, paths) = (&self.loaded, &self.paths);
        let logging_config = &loaded.config.logging;
        let level_name = log_level.unwrap_or(&logging_config.level);
        let level = parse_level(level_name).with_context(|| {
            format!("'{level_name}' is not a log level (error, warn, info, debug, trace)")
        })?;
        let log_file: Option<PathBuf> = logging_config
            .file_path
            .clone()
            .or_else(|| paths.log_dir.as_ref().map(|d| d.join("orb.log")));
        let sink = match (&log_file, logging_config.console_enabled) {
            (Some(file), _) => Sink::File {
                path: file,
                max_size: logging_config.max_size,
                backups: logging_config.backup_count,
            },
            (None, true) => Sink::Stderr,
            (None, false) => Sink::Off,
        };
        logging::init(level, logging_config.format == "json", sink).with_context(|| {
            format!(
                "cannot open the log file {}",
                log_file.unwrap_or_default().display()
            )
        })?;
        Ok(())
    }

    /// How plugin libraries are checked (`plugins.allow_insecure`, `plugins.checksums`),
    /// loaded in place.
    pub fn plugin_options(&self) -> LoadOptions {
        let plugins = &self.loaded.config.plugins;
        LoadOptions {
            files: FilePolicy {
                allow_insecure: plugins.allow_insecure,
                checksums: plugins.checksums.clone(),
            },
            snapshot: None,
        }
    }

    /// A factory over the plugins directory that loads only the libraries whose types it
    /// builds (the others are known from `<work dir>/plugins-cache.json`): what a call needs.
    pub fn factory(&self) -> ProviderFactory {
        let cache = self.paths.work_dir.join("plugins-cache.json");
        self.factory_over(load_plugins_cached(
            &self.paths.plugins_dir,
            &self.plugin_options(),
            &cache,
        ))
    }

    /// A factory over every library of the plugins directory, each loaded now with `options`:
    /// what a listing of the plugins, and a server, need.
    pub fn factory_loading_all(&self, options: &LoadOptions) -> ProviderFactory {
        self.factory_over(load_plugins(&self.paths.plugins_dir, options))
    }

    fn factory_over(&self, plugins: crate::plugins::PluginSet) -> ProviderFactory {
        ProviderFactory::new(
            plugins,
            &self.paths.work_dir,
            self.loaded.config.provider.call_timeouts,
        )
    }

    /// The enabled provider instances, or the one named `name` (enabled or not).
    pub fn instances(&self, name: Option<&str>) -> anyhow::Result<Vec<&ProviderInstanceConfig>> {
        let all = &self.loaded.config.provider.providers;
        match name {
            Some(name) => all
                .iter()
                .find(|p| p.name == name)
                .map(|p| vec![p])
                .with_context(|| {
                    format!(
                        "no provider instance is named '{name}'; configured: {}",
                        all.iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            None => Ok(self.loaded.config.provider.enabled().collect()),
        }
    }
}
