//! Health reports of provider instances, as `orb providers health`, `/health` and
//! `/api/v1/providers/health` show them.

use orb_plugin_api::operations::op;
use std::future::Future;

use orb_plugin_api::{HealthCheck, HealthStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ProviderInstanceConfig;
use crate::plugins::ProviderHandle;

/// The health of every instance checked.
#[derive(Debug, Clone, Serialize, ToSchema, schemars::JsonSchema)]
pub struct HealthReport {
    /// In configuration order.
    pub providers: Vec<InstanceHealth>,
}

/// One instance's health.
#[derive(Debug, Clone, Serialize, ToSchema, schemars::JsonSchema)]
pub struct InstanceHealth {
    /// The instance's name.
    pub name: String,
    /// Its provider type.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: &'static str,
    /// What the provider checked, each with its status, latency and detail.
    #[schema(value_type = Vec<Object>)]
    #[schemars(with = "Vec<CheckShape>")]
    pub checks: Vec<HealthCheck>,
    /// Why the instance could not be checked.
    pub error: Option<String>,
}

/// A [`HealthCheck`] as answered: its shape, for the MCP tools' output schemas (the plugin
/// interface's types carry none).
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // only its schema is used
struct CheckShape {
    /// What was checked (`ec2`, `sts`, `state-file`...).
    name: String,
    /// `healthy`, `degraded` or `unhealthy`.
    status: String,
    /// How long the check took.
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    /// Details, or the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// Health-checks every instance at once. `provider` yields an instance's provider, built and
/// initialised, or why there is none. Returns whether no instance is unhealthy, and the report.
pub async fn report<'a, F, Fut>(
    instances: &[&'a ProviderInstanceConfig],
    provider: F,
) -> (bool, HealthReport)
where
    F: Fn(&'a ProviderInstanceConfig) -> Fut,
    Fut: Future<Output = Result<ProviderHandle, String>>,
{
    let checks = instances.iter().map(|instance| {
        let built = provider(instance);
        async move { check(instance, built.await).await }
    });
    let reports = futures_util::future::join_all(checks).await;
    let healthy = reports
        .iter()
        .all(|r| r.status != HealthStatus::Unhealthy.as_str());
    (healthy, HealthReport { providers: reports })
}

async fn check(
    instance: &ProviderInstanceConfig,
    provider: Result<ProviderHandle, String>,
) -> InstanceHealth {
    let unhealthy = |error: String| InstanceHealth {
        name: instance.name.clone(),
        provider_type: instance.provider_type.clone(),
        status: HealthStatus::Unhealthy.as_str(),
        checks: Vec::new(),
        error: Some(error),
    };
    let provider = match provider {
        Ok(p) => p,
        Err(e) => return unhealthy(e),
    };
    match provider.call::<op::HealthCheck>(&()).await {
        Ok(report) => InstanceHealth {
            name: instance.name.clone(),
            provider_type: instance.provider_type.clone(),
            status: report.status.as_str(),
            checks: report.checks,
            error: None,
        },
        Err(e) => unhealthy(e.to_string()),
    }
}
