//! `orb plugins ...`: the provider libraries in the plugins directory.

use serde_json::{json, Value};

use super::CommandOutput;
use crate::app::App;
use crate::plugins::sha256_hex;

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

/// `orb plugins verify`: each library file with its SHA-256, and whether it loads or why not.
/// Fails when any is refused.
pub fn verify(app: &App) -> CommandOutput {
    let factory = app.factory();
    let set = factory.plugins();
    let mut files: Vec<Value> = Vec::new();
    for plugin in &set.plugins {
        files.push(json!({
            "path": plugin.path,
            "sha256": std::fs::read(&plugin.path).ok().map(|b| sha256_hex(&b)),
            "loads": true,
            "providerTypes": plugin.provider_types,
        }));
    }
    for failure in &set.failures {
        let path = failure.path();
        files.push(json!({
            "path": path,
            "sha256": path.and_then(|p| std::fs::read(p).ok()).map(|b| sha256_hex(&b)),
            "loads": false,
            "refused": failure.to_string(),
        }));
    }
    CommandOutput {
        success: set.failures.is_empty(),
        value: json!({"pluginsDir": app.paths.plugins_dir, "libraries": files}),
    }
}
