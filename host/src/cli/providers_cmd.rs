//! `orb providers ...`: the configured provider instances.

use super::CommandOutput;
use crate::app::App;
use crate::providers::health;
use crate::views::ProviderList;
use orb_plugin_api::operations::op;

/// `orb providers list`: every configured instance, the plugin that offers its type, and its
/// circuit breaker.
pub fn list(app: &App) -> anyhow::Result<CommandOutput> {
    let broker = crate::broker::Broker::open(app)?;
    Ok(CommandOutput::of(ProviderList::of(
        &app.loaded.config.provider.providers,
        app.factory().plugins(),
        &broker.circuit_states()?,
    )))
}

/// `orb providers health`: builds, initialises and health-checks every enabled instance (or
/// the one named), all at once; what it finds counts in their circuits, as `orb serve`'s
/// checks do (unless the database cannot be opened, which does not stop the check). Fails
/// when any is unhealthy.
pub async fn health(app: &App, name: Option<&str>) -> anyhow::Result<CommandOutput> {
    let instances = app.instances(name)?;
    let factory = app.factory();
    let (success, value) = health::report(&instances, |instance| {
        let factory = factory.clone();
        async move {
            let provider = factory.build(instance).await.map_err(|e| e.to_string())?;
            provider
                .call::<op::Initialize>(&())
                .await
                .map_err(|e| e.to_string())?;
            Ok(provider)
        }
    })
    .await;
    match crate::broker::Broker::open(app) {
        Ok(broker) => broker.count_health(&value),
        Err(e) => tracing::warn!(error = %e, "the health check is not counted in the circuits"),
    }
    Ok(CommandOutput {
        success,
        value: crate::views::to_json(&value),
    })
}

/// `orb providers infrastructure`: what the default instance (or the one named) can place
/// machines in.
pub async fn infrastructure(app: &App, name: Option<&str>) -> anyhow::Result<CommandOutput> {
    let broker = crate::broker::Broker::open(app)?;
    let instance = match name {
        Some(name) => broker.instance(name)?,
        None => broker.default_instance()?,
    };
    let provider = broker.provider(instance).await?;
    let found = provider.call::<op::DescribeInfrastructure>(&()).await?;
    Ok(CommandOutput {
        success: true,
        value: serde_json::json!({
            "provider": instance.name,
            "resources": crate::views::to_json(&found.resources),
        }),
    })
}
