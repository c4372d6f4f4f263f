//! `orb providers ...`: the configured provider instances.

use serde_json::{json, Value};

use super::{App, Outcome};
use crate::providers::health;

/// `orb providers list`: every configured instance and the plugin that offers its type.
pub fn list(app: &App) -> Outcome {
    let factory = app.factory();
    let rows: Vec<Value> = app
        .loaded
        .config
        .provider
        .providers
        .iter()
        .map(|p| {
            let plugin = factory.plugins().for_type(&p.provider_type);
            json!({
                "name": p.name,
                "type": p.provider_type,
                "enabled": p.enabled,
                "priority": p.priority,
                "weight": p.weight,
                "plugin": plugin.map(|pl| format!("{} {}", pl.name, pl.version)),
                "status": match (p.enabled, plugin) {
                    (false, _) => "disabled",
                    (true, Some(_)) => "ready",
                    (true, None) => "no plugin offers this type",
                },
            })
        })
        .collect();
    Outcome {
        success: true,
        value: json!({ "providers": rows }),
    }
}

/// `orb providers health`: builds, initialises and health-checks every enabled instance (or
/// the one named), all at once. Fails when any is unhealthy.
pub async fn health(app: &App, name: Option<&str>) -> anyhow::Result<Outcome> {
    let instances = app.instances(name)?;
    let factory = app.factory();
    let (success, value) = health::report(&instances, |instance| {
        let factory = factory.clone();
        async move {
            let provider = factory.build(instance).await.map_err(|e| e.to_string())?;
            provider.initialize().await.map_err(|e| e.to_string())?;
            Ok(provider)
        }
    })
    .await;
    Ok(Outcome { success, value })
}
