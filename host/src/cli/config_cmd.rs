//! `orb config ...`: the effective configuration.

use orb_plugin_api::operations::op;

use crate::config::{redact, without_effect};

use super::CommandOutput;
use crate::app::App;

/// `orb config show`: the effective configuration, every layer applied, secrets redacted. Keys
/// set only for the Python ORB's sake, which change nothing, are noted on stderr, so that the
/// output stays a configuration file: the host's own, and those each enabled provider instance
/// reports of its `config` (the instance is built to ask it; one that cannot be built is noted
/// with the reason).
pub async fn show(app: &App) -> CommandOutput {
    for (key, why) in without_effect(&app.loaded.config) {
        eprintln!("note: {key} has no effect: {why}");
    }
    let factory = app.factory();
    for (i, instance) in app.loaded.config.provider.providers.iter().enumerate() {
        if !instance.enabled {
            continue;
        }
        let prefix = format!("provider.providers[{i}].config");
        let notes = match factory.build(instance).await {
            Ok(provider) => provider
                .call::<op::ConfigNotes>(&())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match notes {
            Ok(notes) => {
                for note in notes {
                    eprintln!("note: {prefix}.{} has no effect: {}", note.key, note.reason);
                }
            }
            Err(e) => eprintln!("note: {prefix} could not be checked: {e}"),
        }
    }
    let mut value = serde_json::to_value(&app.loaded.config).expect("the configuration serializes");
    redact(&mut value);
    CommandOutput {
        success: true,
        value,
    }
}
