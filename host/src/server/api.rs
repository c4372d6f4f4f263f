//! The routes under `/api/v1` (camelCase and snake_case bodies accepted) and the probes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use super::error::ApiError;
use super::health::{ProvidersHealth, ServiceHealth};
use super::reload::ReloadOutcome;
use super::{auth, rate_limit, AppState};
use crate::broker::MachineSpec;
use crate::domain::{RequestKind, RequestStatus};
use crate::hostfactory::output::{
    self, MachineStatusView, MissingRequest, RequestEntry, RequestStatusView, StatusAnswer,
    TemplatesAnswer,
};
use crate::storage::{MachineFilter, RequestFilter};
use crate::views::{
    to_json, CancelAnswer, MachineList, MachineProblem, MachineSummary, ProviderList,
    ProviderSummary, RequestList, RequestSummary, ReturnAnswer, TemplateProblems, TemplateView,
};

/// Every route.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/templates/", get(list_templates))
        .route("/templates/{id}", get(show_template))
        .route("/templates/validate", post(validate_template))
        .route("/machines/", get(list_machines))
        .route("/machines/request", post(request_machines))
        .route("/machines/return", post(return_machines))
        .route("/machines/{id}", get(show_machine))
        .route("/requests/", get(list_requests))
        .route("/requests/return", get(list_returns))
        .route("/requests/status", post(batch_status))
        .route("/requests/{id}", delete(cancel_request))
        .route("/requests/{id}/status", get(request_status))
        .route("/requests/{id}/stream", get(stream_request))
        .route("/providers/", get(list_providers))
        .route("/providers/health", get(provider_health))
        .route("/admin/reload-config", post(reload_config));
    // What the server tells about itself: behind a token when auth is on, unless
    // `server.auth.public_paths` names it.
    let mut described = Router::new();
    let mut public = Router::new()
        .route("/health", get(health))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz));
    let public_paths = &state.config.server.auth.public_paths;
    for (path, route) in [
        ("/openapi.json", get(|| async { Json(ApiDoc::openapi()) })),
        ("/metrics", get(metrics)),
    ] {
        if public_paths.iter().any(|p| p == path) {
            public = public.route(path, route);
        } else {
            described = described.route(path, route);
        }
    }
    let guarded = Router::new()
        .nest("/api/v1", api)
        .merge(described)
        .layer(from_fn_with_state(state.clone(), auth::authorize));
    Router::new()
        .merge(guarded)
        .merge(public)
        .layer(from_fn_with_state(state.clone(), rate_limit::limit))
        .layer(from_fn_with_state(state.clone(), auth::check_host))
        .layer(DefaultBodyLimit::max(state.config.server.max_request_size))
        .layer(axum::middleware::from_fn(super::error::json_errors))
        .with_state(state)
}

type ApiResult = Result<axum::response::Response, ApiError>;

/// The error shape every failure answers with.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the shape `ApiError` writes
struct ErrorBody {
    /// `{"code": "...", "message": "..."}`.
    error: Value,
    /// Quote it when reporting a problem: the server's log carries it.
    correlation_id: String,
}

/// Bearer tokens (`server.auth.tokens`) or HS256 JSON Web Tokens (`server.auth.jwt`).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document, generated from the routes' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "orb", description = "The orb resource broker's HTTP API."),
    paths(
        list_templates, show_template, validate_template, request_machines, return_machines,
        list_machines, show_machine, list_requests, list_returns, request_status, stream_request,
        cancel_request,
        batch_status, list_providers, provider_health, health, livez, readyz, metrics,
        reload_config
    ),
    components(schemas(
        MachineRequestBody, ReturnBody, ReturnedMachine, BatchBody, ErrorBody, TemplateView,
        MachineList, MachineSummary, RequestList, RequestSummary, CancelAnswer, ReturnAnswer,
        MachineProblem, ProviderList, ProviderSummary, StatusAnswer, RequestEntry, RequestStatusView,
        MissingRequest, MachineStatusView, ProvidersHealth, ServiceHealth, Probe, TemplatesAnswer,
        TemplateProblems, AcceptedRequest, ReloadOutcome
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
#[utoipa::path(get, path = "/api/v1/templates/", tag = "templates", security(("bearer" = [])),
    responses((status = 200, description = "The templates, with their attributes", body = TemplatesAnswer)))]
async fn list_templates(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    let (templates, instance) = broker.templates_with_attributes().await?;
    let list: Vec<TemplateView> = templates
        .iter()
        .map(|(t, a)| TemplateView::of(t, a.clone(), &instance.provider_type))
        .collect();
    Ok(Json(output::templates(list)).into_response())
}
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates", security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateView), (status = 404, description = "No such template", body = ErrorBody)))]
async fn show_template(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let broker = s.broker();
    let (templates, instance) = broker.templates_with_attributes().await?;
    let (t, a) = templates
        .iter()
        .find(|(t, _)| t.template_id == id)
        .ok_or_else(|| ApiError::not_found(format!("template '{id}' does not exist")))?;
    Ok(Json(TemplateView::of(t, a.clone(), &instance.provider_type)).into_response())
}

/// Every problem of the template in the body, or of the stored template it names
/// (`{"templateId": ...}` alone).
#[utoipa::path(post, path = "/api/v1/templates/validate", tag = "templates", security(("bearer" = [])),
    request_body(content = Object, description = "A template, or `{\"templateId\": ...}` naming a stored one"),
    responses((status = 200, description = "Every problem, at once", body = TemplateProblems)))]
async fn validate_template(State(s): State<AppState>, Json(body): Json<Value>) -> ApiResult {
    let only_id = body.as_object().is_some_and(|o| o.len() == 1);
    let template: orb_plugin_api::Template =
        match (only_id, body.get("templateId").or(body.get("template_id"))) {
            (true, Some(Value::String(id))) => s.broker().template(id).await?.0,
            _ => serde_json::from_value(body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "BadInput",
                    format!("not a template: {e}"),
                )
            })?,
        };
    let problems = s.broker().validate_template(&template).await?;
    Ok(Json(TemplateProblems::of(&template.template_id, problems)).into_response())
}

#[derive(Deserialize, ToSchema)]
struct MachineRequestBody {
    #[serde(alias = "templateId")]
    template_id: String,
    #[serde(alias = "machineCount", alias = "machine_count")]
    count: i64,
}

/// A request accepted over HTTP, provisioned in the background.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AcceptedRequest {
    /// The request id, to poll.
    request_id: String,
    /// `running`.
    status: &'static str,
}

/// Accepts a request (202) and provisions it in the background.
#[utoipa::path(post, path = "/api/v1/machines/request", tag = "machines", security(("bearer" = [])),
    request_body = MachineRequestBody,
    responses((status = 202, description = "Accepted; provisioned in the background", body = AcceptedRequest), (status = 400, description = "Bad input", body = ErrorBody)))]
async fn request_machines(
    State(s): State<AppState>,
    Json(body): Json<MachineRequestBody>,
) -> ApiResult {
    let (mut request, template, instance) = s
        .broker()
        .accept_request(&body.template_id, body.count)
        .await?;
    let id = request.request_id.clone();
    let broker = s.broker();
    tokio::spawn(async move {
        if let Err(e) = broker.provision(&mut request, &instance, template).await {
            tracing::warn!(request_id = %request.request_id, error = %e, "provisioning failed");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedRequest {
            request_id: id,
            status: "running",
        }),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
struct ReturnedMachine {
    #[serde(alias = "machineId")]
    machine_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct ReturnBody {
    #[serde(default, alias = "machineIds")]
    machine_ids: Vec<String>,
    #[serde(default)]
    machines: Vec<ReturnedMachine>,
}
#[utoipa::path(post, path = "/api/v1/machines/return", tag = "machines", security(("bearer" = [])),
    request_body = ReturnBody,
    responses((status = 202, description = "The return request", body = ReturnAnswer), (status = 400, description = "Bad input", body = ErrorBody)))]
async fn return_machines(State(s): State<AppState>, Json(body): Json<ReturnBody>) -> ApiResult {
    let specs: Vec<MachineSpec> = body
        .machine_ids
        .into_iter()
        .map(|id| MachineSpec {
            machine_id: Some(id),
            name: None,
        })
        .chain(body.machines.into_iter().map(|m| MachineSpec {
            machine_id: m.machine_id,
            name: m.name,
        }))
        .collect();
    let (request, summary) = s.broker().return_machines(&specs).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReturnAnswer::of(&request.request_id, &summary)),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MachineQuery {
    request_id: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}
#[utoipa::path(get, path = "/api/v1/machines/", tag = "machines", security(("bearer" = [])), params(MachineQuery),
    responses((status = 200, description = "Stored machines, newest first", body = MachineList)))]
async fn list_machines(State(s): State<AppState>, Query(q): Query<MachineQuery>) -> ApiResult {
    let machines = s
        .broker()
        .store()
        .list_machines(&MachineFilter {
            request_id: q.request_id,
            state: q.status,
            limit: q.limit,
            ..Default::default()
        })
        .map_err(crate::broker::BrokerError::from)?;
    Ok(Json(MachineList::of(&machines)).into_response())
}
#[utoipa::path(get, path = "/api/v1/machines/{id}", tag = "machines", security(("bearer" = [])),
    params(("id" = String, Path, description = "Machine id")),
    responses((status = 200, description = "The machine", body = MachineSummary), (status = 404, description = "No such machine", body = ErrorBody)))]
async fn show_machine(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let machine = s
        .broker()
        .store()
        .get_machine(&id)
        .map_err(crate::broker::BrokerError::from)?
        .ok_or_else(|| ApiError::not_found(format!("machine '{id}' does not exist")))?;
    Ok(Json(MachineSummary::from(&machine)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RequestQuery {
    status: Option<String>,
    template_id: Option<String>,
    limit: Option<u32>,
}

async fn requests(s: &AppState, q: RequestQuery, kind: Option<RequestKind>) -> ApiResult {
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
async fn list_requests(State(s): State<AppState>, Query(q): Query<RequestQuery>) -> ApiResult {
    requests(&s, q, None).await
}
#[utoipa::path(get, path = "/api/v1/requests/return", tag = "requests", security(("bearer" = [])), params(RequestQuery),
    responses((status = 200, description = "Return requests, newest first", body = RequestList)))]
async fn list_returns(State(s): State<AppState>, Query(q): Query<RequestQuery>) -> ApiResult {
    requests(&s, q, Some(RequestKind::Return)).await
}

/// A request's status, from the database: never waits on the cloud. Wrapped as
/// `{"requests": [...]}`, like the batch and Host Factory's getRequestStatus (and the Python
/// ORB's answer, which its SDKs read).
#[utoipa::path(get, path = "/api/v1/requests/{id}/status", tag = "requests", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request and its machines, from the database", body = StatusAnswer), (status = 404, description = "No such request", body = ErrorBody)))]
async fn request_status(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
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
struct CancelQuery {
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
async fn cancel_request(
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
async fn stream_request(
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
struct BatchBody {
    #[serde(alias = "requestIds")]
    request_ids: Vec<String>,
}
#[utoipa::path(post, path = "/api/v1/requests/status", tag = "requests", security(("bearer" = [])),
    request_body = BatchBody,
    responses((status = 200, description = "Each request and its machines", body = StatusAnswer)))]
async fn batch_status(State(s): State<AppState>, Json(body): Json<BatchBody>) -> ApiResult {
    let views = s.broker().stored_status(&body.request_ids).await?;
    Ok(Json(output::request_status(&views)).into_response())
}
#[utoipa::path(get, path = "/api/v1/providers/", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Configured provider instances", body = ProviderList)))]
async fn list_providers(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    Ok(Json(ProviderList::of(
        &broker.config().provider.providers,
        broker.plugins(),
    ))
    .into_response())
}
#[utoipa::path(get, path = "/api/v1/providers/health", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Health of every enabled instance, as last checked in the background (`checkedAt`)", body = ProvidersHealth)))]
async fn provider_health(State(s): State<AppState>) -> ApiResult {
    let answer = s.health.borrow().providers();
    Ok(Json(answer).into_response())
}

/// A probe's answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Probe {
    /// `alive` or `ready`.
    status: &'static str,
    /// Whether this replica holds the leader lease, so runs the reconcile loop (`/readyz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<bool>,
    /// How long the readiness query took (`/readyz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    database_latency_ms: Option<f64>,
    /// How the last reload ended (`/readyz`, once the server has reloaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    reload: Option<ReloadOutcome>,
}

/// 200 while the process serves.
#[utoipa::path(get, path = "/livez", tag = "probes", responses((status = 200, description = "Alive", body = Probe)))]
async fn livez() -> Json<Probe> {
    Json(Probe {
        status: "alive",
        leader: None,
        database_latency_ms: None,
        reload: None,
    })
}

/// 200 when every provider was healthy at the last background check, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "probes",
    responses((status = 200, description = "Every provider is healthy", body = ServiceHealth), (status = 503, description = "A provider is unhealthy", body = ServiceHealth)))]
async fn health(State(s): State<AppState>) -> ApiResult {
    let (healthy, answer) = {
        let checked = s.health.borrow();
        (checked.healthy, checked.service())
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(answer)).into_response())
}

/// Prometheus text: requests by status, machines by state, provider calls and latencies, and
/// each provider's own counters (AWS API calls by operation).
#[utoipa::path(get, path = "/metrics", tag = "probes",
    responses((status = 200, description = "Prometheus text", content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    let store = broker.store();
    let asked = std::time::Instant::now();
    let requests = store
        .request_counts()
        .map_err(crate::broker::BrokerError::from)?;
    let replica = crate::metrics::Replica {
        leader: s.leadership.is_leader(),
        database_latency: asked.elapsed(),
    };
    let machines = store
        .machine_counts()
        .map_err(crate::broker::BrokerError::from)?;
    let samples = broker.provider_metrics().await;
    let page = crate::metrics::render(&replica, &requests, &machines, &samples);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        page,
    )
        .into_response())
}

/// 200 when the database answers, with whether this replica leads and how long the database
/// took; names how the last reload ended (a failed reload leaves the running configuration
/// serving).
#[utoipa::path(get, path = "/readyz", tag = "probes",
    responses((status = 200, description = "The database answers", body = Probe), (status = 503, description = "Not ready", body = ErrorBody)))]
async fn readyz(State(s): State<AppState>) -> ApiResult {
    let asked = std::time::Instant::now();
    s.broker()
        .store()
        .list_requests(&RequestFilter {
            limit: Some(1),
            ..Default::default()
        })
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NotReady", e.to_string()))?;
    Ok(Json(Probe {
        status: "ready",
        leader: Some(s.leadership.is_leader()),
        database_latency_ms: Some(asked.elapsed().as_secs_f64() * 1000.0),
        reload: s.live.last_reload(),
    })
    .into_response())
}

/// Reloads the configuration and the plugins directory, as SIGHUP does: new and changed
/// libraries are loaded, provider instances rebuilt, calls in flight finish where they
/// started. A configuration or library that cannot serve leaves the running one in place.
#[utoipa::path(post, path = "/api/v1/admin/reload-config", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "Reloaded", body = ReloadOutcome), (status = 422, description = "Not reloaded: the running configuration stays", body = ErrorBody)))]
async fn reload_config(State(s): State<AppState>) -> ApiResult {
    let outcome = s.live.reload().await;
    match &outcome.error {
        None => Ok(Json(outcome).into_response()),
        Some(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ReloadFailed",
            format!("not reloaded, the running configuration stays: {error}"),
        )),
    }
}
