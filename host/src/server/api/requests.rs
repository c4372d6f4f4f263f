//! Requests: listed, their status read, streamed, cancelled.

use super::*;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestQuery {
    status: Option<String>,
    template_id: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn requests(
    s: &AppState,
    q: RequestQuery,
    kind: Option<RequestKind>,
) -> ApiResult {
    let list = s
        .broker()
        .store()
        .list_requests(&RequestFilter {
            kind,
            status: q.status.as_deref().and_then(RequestStatus::parse),
            template_id: q.template_id,
            limit: q.limit,
            phase: None,
            owned: false,
        })
        .map_err(crate::broker::BrokerError::from)?;
    Ok(Json(RequestList::of(&list)).into_response())
}
#[utoipa::path(get, path = "/api/v1/requests/", tag = "requests", security(("bearer" = [])), params(RequestQuery),
    responses((status = 200, description = "Stored requests, newest first", body = RequestList)))]
pub(super) async fn list_requests(
    State(s): State<AppState>,
    Query(q): Query<RequestQuery>,
) -> ApiResult {
    requests(&s, q, None).await
}
#[utoipa::path(get, path = "/api/v1/requests/return", tag = "requests", security(("bearer" = [])), params(RequestQuery),
    responses((status = 200, description = "Return requests, newest first", body = RequestList)))]
pub(super) async fn list_returns(
    State(s): State<AppState>,
    Query(q): Query<RequestQuery>,
) -> ApiResult {
    requests(&s, q, Some(RequestKind::Return)).await
}

/// A request's status, from the database: never waits on the cloud. Wrapped as
/// `{"requests": [...]}`, like the batch and Host Factory's getRequestStatus (and the Python
/// ORB's answer, which its SDKs read).
#[utoipa::path(get, path = "/api/v1/requests/{id}/status", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request and its machines, from the database", body = StatusAnswer), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn request_status(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let views = s.broker().stored_status(std::slice::from_ref(&id)).await?;
    if views[0].request.is_none() {
        return Err(ApiError::not_found(format!(
            "request '{id}' does not exist"
        )));
    }
    Ok(Json(output::request_status(&views)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CancelQuery {
    /// Why, kept in the request's message.
    reason: Option<String>,
}

/// Cancels an acquire request that is still running: what was made for it is released and its
/// machines are terminated, tracked by the return request named in the answer. A provision
/// still in flight (`inFlight`) undoes what it made when the provider answers. Cancelling a
/// cancelled request again retries a release that failed.
#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Acquire request id"), CancelQuery),
    responses((status = 200, description = "The request, cancelled", body = CancelAnswer), (status = 404, description = "No such request", body = ErrorBody), (status = 409, description = "A return request, or a finished request", body = ErrorBody)))]
pub(super) async fn cancel_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CancelQuery>,
) -> ApiResult {
    let cancelled = s.broker().cancel_request(&id, q.reason.as_deref()).await?;
    Ok(Json(CancelAnswer::from(&cancelled)).into_response())
}

/// Server-sent events: the request's status (event `status`) each time it changes, until it is
/// done (event `complete`), then the stream ends.
#[utoipa::path(get, path = "/api/v1/requests/{id}/stream", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Server-sent events `status`, then `complete`", content_type = "text/event-stream", body = String), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn stream_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if s.broker().stored_status(std::slice::from_ref(&id)).await?[0]
        .request
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "request '{id}' does not exist"
        )));
    }
    let interval = Duration::from_secs(s.config.server.reconcile_interval_seconds.clamp(1, 5));
    let events = futures_util::stream::unfold(Some(String::new()), move |last| {
        let (broker, id) = (s.broker(), id.clone());
        async move {
            let last = last?;
            loop {
                let views = broker.stored_status(std::slice::from_ref(&id)).await.ok()?;
                let status = to_json(&output::request_status(&views).requests.swap_remove(0));
                let text = status.to_string();
                if text != last {
                    let done = status["status"] != "running";
                    let event = Event::default()
                        .event(if done { "complete" } else { "status" })
                        .data(text.clone());
                    return Some((Ok(event), (!done).then_some(text)));
                }
                tokio::time::sleep(interval).await;
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct BatchBody {
    #[serde(alias = "requestIds")]
    request_ids: Vec<String>,
}
#[utoipa::path(post, path = "/api/v1/requests/status", tag = "requests", security(("bearer" = [])),
    request_body = BatchBody,
    responses((status = 200, description = "Each request and its machines", body = StatusAnswer)))]
pub(super) async fn batch_status(
    State(s): State<AppState>,
    Json(body): Json<BatchBody>,
) -> ApiResult {
    let views = s.broker().stored_status(&body.request_ids).await?;
    Ok(Json(output::request_status(&views)).into_response())
}
