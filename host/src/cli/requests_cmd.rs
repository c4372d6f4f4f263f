//! `orb requests ...`: acquire and return requests.

use serde_json::{json, Value};

use super::{App, Outcome};
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::output;
use crate::storage::RequestFilter;

/// `orb requests list`: stored requests, newest first.
pub fn list(app: &App, filter: &RequestFilter) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let rows: Vec<Value> = broker
        .store()
        .list_requests(filter)?
        .into_iter()
        .map(|r| output::stored_request(&r))
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

/// `orb requests cancel ID`: cancels an acquire request; its resources are released and its
/// machines terminated.
pub async fn cancel(
    app: &App,
    request_id: &str,
    reason: Option<&str>,
) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let cancelled = broker.cancel_request(request_id, reason).await?;
    Ok(Outcome {
        value: output::cancelled(&cancelled),
        success: true,
    })
}
