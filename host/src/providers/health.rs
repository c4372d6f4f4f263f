//! Health reports of provider instances, as `orb providers health`, `/health` and
//! `/api/v1/providers/health` show them.

use std::future::Future;

use orb_plugin_api::HealthStatus;
use serde_json::{json, Value};

use crate::config::ProviderInstanceConfig;
use crate::plugins::ProviderHandle;

/// Health-checks every instance at once. `provider` yields an instance's provider, built and
/// initialised, or why there is none. Returns whether no instance is unhealthy, and the report.
pub async fn report<'a, F, Fut>(
    instances: &[&'a ProviderInstanceConfig],
    provider: F,
) -> (bool, Value)
where
    F: Fn(&'a ProviderInstanceConfig) -> Fut,
    Fut: Future<Output = Result<ProviderHandle, String>>,
{
    let checks = instances.iter().map(|instance| {
        let built = provider(instance);
        async move { check(instance, built.await).await }
    });
    let reports = futures_util::future::join_all(checks).await;
    let healthy = reports.iter().all(|r| r["status"] != "unhealthy");
    (healthy, json!({ "providers": reports }))
}

async fn check(
    instance: &ProviderInstanceConfig,
    provider: Result<ProviderHandle, String>,
) -> Value {
    let unhealthy = |error: String| {
        json!({
            "name": instance.name,
            "type": instance.provider_type,
            "status": HealthStatus::Unhealthy.as_str(),
            "checks": [],
            "error": error,
        })
    };
    let provider = match provider {
        Ok(p) => p,
        Err(e) => return unhealthy(e),
    };
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
