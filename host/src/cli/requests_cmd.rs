//! `orb requests ...`: acquire and return requests.

use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::output;
use crate::storage::RequestFilter;
use serde_json::json;

use super::listing::ListArgs;
use crate::views::{to_json, CancelAnswer, RequestSummary};

/// `orb requests list`: stored requests, newest first, filtered and paged by `list`.
pub fn list(
    app: &App,
    filter: &RequestFilter,
    list: &ListArgs,
) -> Result<CommandOutput, BrokerError> {
    list.check(&super::listing::fields_of::<RequestSummary>())?;
    let broker = Broker::open(app)?;
    let requests = list.items(|limit, offset| {
        let page = broker.store().list_requests(&RequestFilter {
            limit,
            offset,
            ..filter.clone()
        })?;
        Ok::<_, BrokerError>(
            page.iter()
                .map(|r| to_json(&RequestSummary::from(r)))
                .collect(),
        )
    })?;
    Ok(CommandOutput::of(json!({ "requests": requests })))
}

/// `orb requests show ID...`: requests and their machines, refreshed from the providers (the
/// same as Host Factory's getRequestStatus). Fails when an id names no request.
pub async fn show(app: &App, ids: &[String]) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let views = broker.request_status(ids).await?;
    Ok(CommandOutput {
        success: views.iter().all(|v| v.request.is_some()),
        value: crate::views::to_json(&output::request_status(&views)),
    })
}

/// `orb requests watch [ID...]`: follows the requests (the running ones when none are given)
/// until they end.
pub async fn watch(
    app: &App,
    ids: &[String],
    options: super::wait::WaitOptions,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let ids = (!ids.is_empty()).then_some(ids);
    super::wait::follow(&broker, ids, options).await
}

/// `orb requests cancel ID`: cancels an acquire request; its resources are released and its
/// machines terminated.
pub async fn cancel(
    app: &App,
    request_id: &str,
    reason: Option<&str>,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let cancelled = broker.cancel_request(request_id, reason).await?;
    Ok(CommandOutput::of(CancelAnswer::from(&cancelled)))
}
