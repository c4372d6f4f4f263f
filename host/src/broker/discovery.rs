//! What a provider instance discovered in its cloud (`orb infra discover`), kept in the work
//! directory (`infrastructure/<instance>.json`, written whole and renamed into place) so that
//! `orb infra show` and `orb infra validate` read it without asking the cloud again.

use std::path::PathBuf;

use orb_plugin_api::operations::op;
use orb_plugin_api::Discovery;
use serde::{Deserialize, Serialize};

use super::{Broker, BrokerError};
use crate::config::ProviderInstanceConfig;

/// A discovery, with when and for which instance it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedDiscovery {
    /// The provider instance.
    pub provider: String,
    /// When (seconds since the epoch).
    pub discovered_at: i64,
    /// What was found.
    #[serde(flatten)]
    pub found: Discovery,
}

/// The largest saved discovery read back: far above what a region holds.
const MAX_SAVED: u64 = 64 << 20;

impl Broker {
    /// Where the discovery of `instance` is kept.
    fn discovery_file(&self, instance: &ProviderInstanceConfig) -> PathBuf {
        self.paths
            .work_dir
            .join("infrastructure")
            .join(format!("{}.json", instance.name))
    }

    /// Asks the provider of `instance` what its cloud offers, and keeps the answer.
    pub async fn discover(
        &self,
        instance: &ProviderInstanceConfig,
    ) -> Result<SavedDiscovery, BrokerError> {
        let found = self
            .provider(instance)
            .await?
            .call::<op::DiscoverInfrastructure>(&())
            .await?;
        let saved = SavedDiscovery {
            provider: instance.name.clone(),
            discovered_at: crate::domain::now(),
            found,
        };
        let file = self.discovery_file(instance);
        let write = || -> std::io::Result<()> {
            let dir = file.parent().expect("the file is in a directory");
            std::fs::create_dir_all(dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(dir)?;
            serde_json::to_writer_pretty(&mut temp, &saved)?;
            temp.persist(&file).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| {
            BrokerError::Config(format!(
                "cannot keep the discovery in {}: {e}",
                file.display()
            ))
        })?;
        Ok(saved)
    }

    /// The discovery of `instance` kept by the last `discover`, if any.
    pub fn saved_discovery(
        &self,
        instance: &ProviderInstanceConfig,
    ) -> Result<Option<SavedDiscovery>, BrokerError> {
        let file = self.discovery_file(instance);
        let unreadable = |why: String| {
            BrokerError::Config(format!(
                "{} cannot be read ({why}): run `orb infra discover` again",
                file.display()
            ))
        };
        match std::fs::metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(e.to_string())),
            Ok(m) if m.len() > MAX_SAVED => return Err(unreadable(format!("{} bytes", m.len()))),
            Ok(_) => {}
        }
        let text = std::fs::read_to_string(&file).map_err(|e| unreadable(e.to_string()))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| unreadable(e.to_string()))
    }
}
