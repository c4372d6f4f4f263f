//! Provider health for the probes. A background loop checks every enabled provider instance
//! every `server.health_interval_seconds` and keeps the last answer, so `/health` and
//! `/api/v1/providers/health` never call a provider: an anonymous caller cannot make orb call
//! the cloud, however often it asks.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::reload::Live;
use crate::broker::Broker;
use crate::providers::health::{HealthReport, InstanceHealth};
use crate::views::time;

/// The last check.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Whether no enabled instance is unhealthy.
    pub healthy: bool,
    /// The report.
    pub report: HealthReport,
    /// When it was checked (seconds since the epoch).
    pub checked_at: i64,
}

/// `GET /api/v1/providers/health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersHealth {
    /// Every enabled instance.
    pub providers: Vec<InstanceHealth>,
    /// When they were checked (RFC 3339).
    pub checked_at: String,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    /// `orb`.
    pub service: &'static str,
    /// orb's version.
    pub version: &'static str,
    /// `healthy` or `unhealthy`.
    pub status: &'static str,
    /// Every enabled instance.
    pub checks: Vec<InstanceHealth>,
    /// When they were checked (RFC 3339).
    pub checked_at: String,
}

impl Checked {
    /// The answer of `/api/v1/providers/health`.
    pub fn providers(&self) -> ProvidersHealth {
        ProvidersHealth {
            providers: self.report.providers.clone(),
            checked_at: time(self.checked_at),
        }
    }

    /// The answer of `/health`.
    pub fn service(&self) -> ServiceHealth {
        ServiceHealth {
            service: "orb",
            version: env!("CARGO_PKG_VERSION"),
            status: if self.healthy { "healthy" } else { "unhealthy" },
            checks: self.report.providers.clone(),
            checked_at: time(self.checked_at),
        }
    }
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
    live: Arc<Live>,
    interval: Duration,
    latest: Arc<watch::Sender<Checked>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        let checked = check(&live.broker()).await;
        if !checked.healthy {
            tracing::warn!(report = ?checked.report, "a provider is unhealthy");
        }
        latest.send_replace(checked);
    }
}
