//! `orb providers ...`: the configured provider instances.

use orb_plugin_api::HealthStatus;
use serde_json::{json, Value};

use super::{App, Outcome};
use crate::config::ProviderInstanceConfig;
use crate::providers::ProviderFactory;

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
    let mut tasks = tokio::task::JoinSet::new();
    for (index, instance) in instances.into_iter().enumerate() {
        let (factory, instance) = (factory.clone(), instance.clone());
        tasks.spawn(async move { (index, check(&factory, &instance).await) });
    }
    let mut reports: Vec<(usize, Value)> = tasks.join_all().await;
    reports.sort_by_key(|(index, _)| *index);
    let reports: Vec<Value> = reports.into_iter().map(|(_, report)| report).collect();
    let success = reports.iter().all(|r| r["status"] != "unhealthy");
    Ok(Outcome {
        success,
        value: json!({ "providers": reports }),
    })
}

async fn check(factory: &ProviderFactory, instance: &ProviderInstanceConfig) -> Value {
    let unhealthy = |error: String| {
        json!({
            "name": instance.name,
            "type": instance.provider_type,
            "status": HealthStatus::Unhealthy.as_str(),
            "checks": [],
            "error": error,
        })
    };
    let provider = match factory.build(instance).await {
        Ok(p) => p,
        Err(e) => return unhealthy(e.to_string()),
    };
    if let Err(e) = provider.initialize().await {
        return unhealthy(e.to_string());
    }
    match provider.health_check().await {
        Ok(report) => json!({
            "name": instance.name,
            "type": instance.provider_type,
            "status": report.status.as_str(),
            "checks": report.checks,
            "error": null,
        }),
        Err(e) => unhealthy(e.to_string()),
    }
}
