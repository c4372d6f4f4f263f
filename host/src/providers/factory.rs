//! The provider factory: builds configured provider instances by type name, each from the
//! plugin library that offers its type, with its own configuration.

use std::path::{Path, PathBuf};

use orb_plugin_api::ProviderError;

use crate::config::{CallTimeouts, ProviderInstanceConfig};
use crate::plugins::{PluginSet, ProviderHandle};

/// A provider instance that could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FactoryError {
    /// No plugin offers the instance's type.
    #[error("no loaded plugin offers provider type '{provider_type}' (instance '{instance}'); loaded types: {available}{refused}; put the plugin's library in the plugins directory")]
    UnknownType {
        /// The instance.
        instance: String,
        /// Its type.
        provider_type: String,
        /// The types on offer.
        available: String,
        /// What was refused, when anything was.
        refused: String,
    },
    /// The library offering the instance's type could not be loaded.
    #[error("provider instance '{instance}' cannot be built: {error}")]
    Load {
        /// The instance.
        instance: String,
        /// Why the library did not load.
        error: crate::plugins::PluginLoadError,
    },
    /// The plugin refused to build the instance.
    #[error("provider instance '{instance}' could not be built: {error}")]
    Construct {
        /// The instance.
        instance: String,
        /// The plugin's error.
        error: ProviderError,
    },
}

/// Builds provider instances from the loaded plugins.
#[derive(Debug, Clone)]
pub struct ProviderFactory {
    plugins: PluginSet,
    work_dir: PathBuf,
    timeouts: CallTimeouts,
}

impl ProviderFactory {
    /// A factory over `plugins`; instances keep their state under `work_dir`, and their
    /// calls may take `timeouts`.
    pub fn new(plugins: PluginSet, work_dir: &Path, timeouts: CallTimeouts) -> Self {
        ProviderFactory {
            plugins,
            work_dir: work_dir.to_path_buf(),
            timeouts,
        }
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &PluginSet {
        &self.plugins
    }

    /// Builds `instance` (on a blocking thread: constructors may build cloud clients).
    pub async fn build(
        &self,
        instance: &ProviderInstanceConfig,
    ) -> Result<ProviderHandle, FactoryError> {
        let plugin = self
            .plugins
            .for_type(&instance.provider_type)
            .ok_or_else(|| FactoryError::UnknownType {
                instance: instance.name.clone(),
                provider_type: instance.provider_type.clone(),
                available: match self.plugins.provider_types() {
                    types if types.is_empty() => "none".to_owned(),
                    types => types.join(", "),
                },
                refused: match self.plugins.failures.as_slice() {
                    [] => String::new(),
                    failures => format!(
                        "; refused: {}",
                        failures
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                },
            })?;
        let plugin = plugin.clone();
        let name = instance.name.clone();
        let provider_type = instance.provider_type.clone();
        let config = instance.config.to_string();
        let work_dir = self.work_dir.clone();
        let (name_c, type_c) = (name.clone(), provider_type.clone());
        // Loading the library (on first use) and the constructor both block.
        let built = tokio::task::spawn_blocking(move || {
            let library = plugin.library().map_err(|error| FactoryError::Load {
                instance: name_c.clone(),
                error,
            })?;
            library
                .new_provider(&type_c, &name_c, &config, &work_dir)
                .map_err(|error| FactoryError::Construct {
                    instance: name_c.clone(),
                    error,
                })
        })
        .await
        .map_err(|e| FactoryError::Construct {
            instance: name.clone(),
            error: ProviderError::internal(format!("the constructor did not complete: {e}")),
        })?;
        let object = built?;
        tracing::debug!(instance = %name, provider_type, "provider instance built");
        Ok(ProviderHandle::new(&name, object, self.timeouts))
    }
}
