//! `orb requests ...`: acquire and return requests.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{App, Outcome};
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::output;
use crate::storage::RequestFilter;

/// Seconds since the epoch as an RFC 3339 time.
pub fn time(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64))
        .to_string()
}

/// `orb requests list`: stored requests, newest first.
pub fn list(app: &App, filter: &RequestFilter) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let rows: Vec<Value> = broker
        .store()
        .list_requests(filter)?
        .into_iter()
        .map(|r| {
            json!({
                "requestId": r.request_id,
                "kind": r.kind.as_str(),
                "status": r.status.as_str(),
                "templateId": r.template_id,
                "machines": r.requested,
                "providerName": r.provider_instance,
                "createdAt": time(r.created_at),
                "message": r.message,
            })
        })
        .collect();
    Ok(Outcome {
        value: json!({ "requests": rows }),
        success: true,
    })
}

/// `orb requests show ID...`: requests and their machines, refreshed from the providers (the
/// same as Host Factory's getRequestStatus). Fails when an id names no request.
pub async fn show(app: &App, ids: &[String]) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let views = broker.request_status(ids).await?;
    Ok(Outcome {
        success: views.iter().all(|v| v.request.is_some()),
        value: output::request_status(&views),
    })
}
