//! `orb plugins ...`: the provider libraries in the plugins directory.

use serde_json::{json, Value};

use super::CommandOutput;
use crate::app::App;

/// `orb plugins list`: every library, loaded or refused. Fails when any was refused.
pub fn list(app: &App) -> CommandOutput {
    let factory = app.factory();
    let set = factory.plugins();
    let plugins: Vec<Value> = set
        .plugins
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "version": p.version,
                "interfaceVersion": p.interface_version,
                "providerTypes": p.provider_types,
                "path": p.path,
            })
        })
        .collect();
    let refused: Vec<Value> = set
        .failures
        .iter()
        .map(|e| json!({"error": e.to_string()}))
        .collect();
    CommandOutput {
        success: refused.is_empty(),
        value: json!({
            "pluginsDir": app.paths.plugins_dir,
            "hostInterfaceVersion": orb_plugin_api::INTERFACE_VERSION,
            "plugins": plugins,
            "refused": refused,
        }),
    }
}
