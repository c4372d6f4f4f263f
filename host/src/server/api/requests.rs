//! Requests: listed, their status read, streamed, cancelled.

use super::*;

/// The Python ORB's filters of a request listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestQuery {
    /// `running`, `complete` or `complete_with_error`.
    status: Option<String>,
    /// Requests of this template.
    template_id: Option<String>,
    /// `acquire` or `return`.
    request_type: Option<String>,
    /// Requests served by this provider instance.
    provider_name: Option<String>,
    /// Requests served by instances of this provider type.
    provider_type: Option<String>,
    /// Requests whose id, template or message holds this text (any case).
    q: Option<String>,
}

/// A request as listings show it: its status and machines, as `getRequestStatus` answers,
/// with its kind, template and age.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListedRequest {
    #[serde(flatten)]
    status: RequestStatusView,
    /// `acquire` or `return`.
    kind: &'static str,
    /// The template of an acquire.
    template_id: Option<String>,
    /// When it was made (RFC 3339).
    created_at: String,
}

/// A page of requests, newest first.
#[derive(Serialize, ToSchema)]
pub(super) struct RequestPage {
    /// The requests of this page.
    requests: Vec<ListedRequest>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The page `page` of the requests `q` (of `kind`, when given) names.
pub(super) async fn requests(
    s: &AppState,
    q: RequestQuery,
    page: PageQuery,
    pairs: &[(String, String)],
    kind: Option<RequestKind>,
) -> ApiResult {
    let page = page.page()?;
    let filters = filters_of(pairs, &crate::selection::fields_of::<RequestSummary>())?;
    let invalid = |parameter: &str, message: String| {
        ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", parameter],
            message,
        )
    };
    let status = q
        .status
        .as_deref()
        .map(|v| {
            RequestStatus::parse(v).ok_or_else(|| {
                invalid(
                    "status",
                    format!("'{v}' is not running, complete or complete_with_error"),
                )
            })
        })
        .transpose()?;
    let asked = q
        .request_type
        .as_deref()
        .map(|v| {
            RequestKind::parse(v)
                .ok_or_else(|| invalid("request_type", format!("'{v}' is not acquire or return")))
        })
        .transpose()?;
    if let (Some(kind), Some(asked)) = (kind, asked) {
        if kind != asked {
            return Err(invalid(
                "request_type",
                format!("this listing holds {} requests only", kind.as_str()),
            ));
        }
    }
    let filter = RequestFilter {
        kind: kind.or(asked),
        status,
        template_id: q.template_id,
        provider_instance: q.provider_name,
        provider_type: q.provider_type,
        search: q.q,
        limit: Some(page.limit),
        offset: page.offset,
        ..Default::default()
    };
    let broker = s.broker();
    let store = broker.store();
    let (listed, total) = crate::selection::page(
        &filters,
        page.limit,
        page.offset,
        |limit, offset| {
            store.list_requests(&RequestFilter {
                limit,
                offset,
                ..filter.clone()
            })
        },
        || store.count_requests(&filter),
        |r| to_json(&RequestSummary::from(r)),
    )
    .map_err(BrokerError::from)?;
    let ids: Vec<String> = listed.iter().map(|r| r.request_id.clone()).collect();
    let views = broker.stored_status(&ids).await?;
    let mut requests = Vec::with_capacity(listed.len());
    for (request, view) in listed.iter().zip(output::request_status(&views).requests) {
        // A request deleted between the listing and its status read is left out.
        if let RequestEntry::Found(status) = view {
            requests.push(ListedRequest {
                status: *status,
                kind: request.kind.as_str(),
                template_id: request.template_id.clone(),
                created_at: crate::views::time(request.created_at),
            });
        }
    }
    let page = PageInfo::of(page, requests.len(), total);
    Ok(Json(RequestPage { requests, page }).into_response())
}

/// Stored requests, newest first, a page at a time, each with its machines.
#[utoipa::path(get, path = "/api/v1/requests/", tag = "requests", security(("bearer" = [])), params(RequestQuery, PageQuery, ("filter_expressions" = Option<Vec<String>>, Query, description = "The Python ORB's filter expressions over the listed items' fields (KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX, KEY!~REGEX), the key repeated; ANDed")),
    responses((status = 200, description = "A page of stored requests, newest first", body = RequestPage), (status = 422, description = "A filter or page out of range", body = ErrorBody)))]
pub(super) async fn list_requests(
    State(s): State<AppState>,
    Query(q): Query<RequestQuery>,
    Query(page): Query<PageQuery>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult {
    requests(&s, q, page, &pairs, None).await
}

/// Return requests, newest first, a page at a time, each with its machines.
#[utoipa::path(get, path = "/api/v1/requests/return", tag = "requests", security(("bearer" = [])), params(RequestQuery, PageQuery, ("filter_expressions" = Option<Vec<String>>, Query, description = "The Python ORB's filter expressions over the listed items' fields (KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX, KEY!~REGEX), the key repeated; ANDed")),
    responses((status = 200, description = "A page of return requests, newest first", body = RequestPage), (status = 422, description = "A filter or page out of range", body = ErrorBody)))]
pub(super) async fn list_returns(
    State(s): State<AppState>,
    Query(q): Query<RequestQuery>,
    Query(page): Query<PageQuery>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult {
    requests(&s, q, page, &pairs, Some(RequestKind::Return)).await
}

/// A request and its machines, from the database, wrapped as `{"requests": [...]}` as
/// `/status` answers (the Python ORB's `getRequest`).
#[utoipa::path(get, path = "/api/v1/requests/{request_id}", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Request id"), ("verbose" = Option<bool>, Query, description = "Accepted, as the Python ORB's clients send it; every answer holds every field"), ("long" = Option<bool>, Query, description = "Accepted, likewise")),
    responses((status = 200, description = "The request and its machines, from the database", body = StatusAnswer), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn get_request(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    one_status(&s, id).await
}

/// `{"requests": [...]}` of the request `id`; 404 when there is none.
async fn one_status(s: &AppState, id: String) -> ApiResult {
    let views = s.broker().stored_status(std::slice::from_ref(&id)).await?;
    if views[0].request.is_none() {
        return Err(ApiError::not_found(format!(
            "request '{id}' does not exist"
        )));
    }
    Ok(Json(output::request_status(&views)).into_response())
}

/// A request's status, from the database: never waits on the cloud. Wrapped as
/// `{"requests": [...]}`, like the batch and Host Factory's getRequestStatus (and the Python
/// ORB's answer, which its SDKs read).
#[utoipa::path(get, path = "/api/v1/requests/{request_id}/status", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Request id"), ("verbose" = Option<bool>, Query, description = "Accepted, as the Python ORB's clients send it; every answer holds every field"), ("long" = Option<bool>, Query, description = "Accepted, likewise")),
    responses((status = 200, description = "The request and its machines, from the database", body = StatusAnswer), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn request_status(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    one_status(&s, id).await
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
#[utoipa::path(delete, path = "/api/v1/requests/{request_id}", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Acquire request id"), CancelQuery),
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
/// done (event `complete`) or the server stops, then the stream ends.
#[utoipa::path(get, path = "/api/v1/requests/{request_id}/stream", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Server-sent events `status`, then `complete`", content_type = "text/event-stream", body = String), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn stream_request(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let dialect = crate::server::dialect::of_call(&s, &headers)?;
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
        let (broker, id, mut stopping) = (s.broker(), id.clone(), s.stopping.clone());
        async move {
            let last = last?;
            loop {
                // A stopping server ends the stream, which would hold up its graceful stop.
                if *stopping.borrow() {
                    return None;
                }
                let views = broker.stored_status(std::slice::from_ref(&id)).await.ok()?;
                let mut status = to_json(&output::request_status(&views).requests.swap_remove(0));
                let done = status["status"] != "running";
                dialect.apply(&mut status);
                let text = status.to_string();
                if text != last {
                    let event = Event::default()
                        .event(if done { "complete" } else { "status" })
                        .data(text.clone());
                    return Some((Ok(event), (!done).then_some(text)));
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopping.changed() => return None,
                }
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

/// Deletes a finished request's row and its machines' for good (admin); refused (409) while it
/// runs or while a machine of it is up.
#[utoipa::path(post, path = "/api/v1/requests/{request_id}/purge", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Deleted", body = PurgedRow), (status = 404, description = "No such request", body = ErrorBody), (status = 409, description = "Running, or a machine of it is up", body = ErrorBody)))]
pub(super) async fn purge_request(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.broker().purge_request(&id)?;
    PurgedRow::answer(id)
}

/// One moment of a request's life.
#[derive(Serialize, ToSchema)]
pub(super) struct TimelineEvent {
    /// When (RFC 3339).
    at: String,
    /// `created`, `machine_launched`, `machine_returned`, `completed`...
    event: &'static str,
    /// What it concerns (a machine id, a return request id), or the request's message.
    detail: String,
}

/// One provider instance an acquire asked, when it failed over or was spread.
#[derive(Serialize, ToSchema)]
pub(super) struct Attempt {
    /// The provider instance asked.
    instance: String,
    /// How many machines it was asked for.
    asked: u32,
    /// How many it took on.
    got: u32,
    /// Why it did not take the rest.
    error: Option<String>,
}

/// A request's life, oldest first.
#[derive(Serialize, ToSchema)]
pub(super) struct Timeline {
    /// The request.
    request_id: String,
    /// What happened to it, from the times orb keeps.
    events: Vec<TimelineEvent>,
    /// Each provider instance asked, in order, when more than its own was; else empty.
    attempts: Vec<Attempt>,
}

/// A request's life, from the times orb keeps of it and of its machines: made, each machine
/// launched, each return of them, each machine gone, and its end.
#[utoipa::path(get, path = "/api/v1/requests/{request_id}/timeline", tag = "requests", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "Request id")),
    responses((status = 200, description = "Its events, oldest first", body = Timeline), (status = 404, description = "No such request", body = ErrorBody)))]
pub(super) async fn request_timeline(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult {
    let broker = s.broker();
    let store = broker.store();
    let request = store
        .get_request(&id)
        .map_err(BrokerError::from)?
        .ok_or_else(|| ApiError::not_found(format!("request '{id}' does not exist")))?;
    let mut events: Vec<(i64, &'static str, String)> = vec![(
        request.created_at,
        "created",
        request.kind.as_str().to_owned(),
    )];
    let machines = match request.kind {
        RequestKind::Acquire => store.machines_of_request(&id),
        RequestKind::Return => store.list_machines(&MachineFilter {
            return_request_id: Some(id.clone()),
            ..Default::default()
        }),
    }
    .map_err(BrokerError::from)?;
    for m in &machines {
        if let Some(launched) = m.launch_time {
            events.push((launched, "machine_launched", m.machine_id.clone()));
        }
        if let Some(ret) = m.return_request_id.as_ref().filter(|r| **r != id) {
            if let Some(r) = store.get_request(ret).map_err(BrokerError::from)? {
                events.push((
                    r.created_at,
                    "machine_returned",
                    format!("{} by {ret}", m.machine_id),
                ));
            }
        }
        if m.state.is_gone() {
            events.push((m.updated_at, "machine_gone", m.machine_id.clone()));
        }
    }
    if request.status.is_terminal() {
        events.push((request.updated_at, "completed", request.message.clone()));
    }
    events.sort_by_key(|(at, _, _)| *at);
    let attempts = request
        .placements
        .iter()
        .map(|p| Attempt {
            instance: p.instance.clone(),
            asked: p.asked,
            got: p.got,
            error: p.error.clone(),
        })
        .collect();
    Ok(Json(Timeline {
        request_id: id,
        attempts,
        events: events
            .into_iter()
            .map(|(at, event, detail)| TimelineEvent {
                at: crate::views::time(at),
                event,
                detail,
            })
            .collect(),
    })
    .into_response())
}
