//! The background loop: requests accepted over HTTP are refreshed from their providers here, so
//! status reads never wait on the cloud. One pass refreshes every running request at once (one
//! provider status call per provider instance).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::broker::Broker;
use crate::domain::RequestStatus;
use crate::storage::RequestFilter;

/// Refreshes the running requests every `interval` until `stop` changes.
pub async fn run(broker: Arc<Broker>, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = pass(&broker).await {
            tracing::warn!(error = %e, "reconcile pass failed");
        }
    }
}

async fn pass(broker: &Broker) -> Result<(), crate::broker::BrokerError> {
    let running: Vec<String> = broker
        .store()
        .list_requests(&RequestFilter {
            status: Some(RequestStatus::Running),
            ..Default::default()
        })?
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    if !running.is_empty() {
        tracing::debug!(requests = running.len(), "reconciling");
        broker.request_status(&running).await?;
    }
    Ok(())
}
