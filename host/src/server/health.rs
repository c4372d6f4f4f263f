//! Provider health for the probes. A background loop checks every enabled provider instance
//! every `server.health_interval_seconds` and keeps the last answer, so `/health` and
//! `/api/v1/providers/health` never call a provider: an anonymous caller cannot make orb call
//! the cloud, however often it asks.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::broker::Broker;

/// The last check.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Whether no enabled instance is unhealthy.
    pub healthy: bool,
    /// The report: `{"providers": [...]}`.
    pub report: Value,
    /// When it was checked (seconds since the epoch).
    pub checked_at: i64,
}

/// Checks now.
pub async fn check(broker: &Broker) -> Checked {
    let (healthy, report) = broker.provider_health().await;
    Checked {
        healthy,
        report,
        checked_at: crate::domain::now(),
    }
}

/// Checks again every `interval`, publishing each answer, until `stop` changes.
pub async fn run(
    broker: Arc<Broker>,
    interval: Duration,
    latest: watch::Sender<Checked>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        let checked = check(&broker).await;
        if !checked.healthy {
            tracing::warn!(report = %checked.report, "a provider is unhealthy");
        }
        latest.send_replace(checked);
    }
}
