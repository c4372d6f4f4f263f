//! The routes under `/api/v1` (camelCase and snake_case bodies accepted) and the probes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

/// Where the documentation page reads the API's document, without a token.
pub const DOCS_DOCUMENT: &str = "/docs/openapi.json";

use super::error::ApiError;
use super::health::{ProvidersHealth, ServiceHealth};
use super::reload::ReloadOutcome;
use super::{auth, rate_limit, AppState};
use crate::broker::{BrokerError, MachineSpec, Unreturned};
use std::collections::BTreeMap;

use crate::config::{ProviderInstanceConfig, Role};
use crate::domain::{RequestKind, RequestStatus};
use crate::hostfactory::output::{
    self, MachineStatusView, MissingRequest, RequestEntry, RequestStatusView, StatusAnswer,
    TemplatesAnswer,
};
use crate::storage::{MachineFilter, RequestFilter};
use crate::views::{
    to_json, CancelAnswer, MachineProblem, MachineSummary, ProviderList, ProviderSummary,
    RequestSummary, ReturnAnswer, TemplateProblems, TemplateView,
};
use orb_plugin_api::MachineState;

/// Holds a service's request (MCP's, which reads its body itself) to the body limit every
/// route has (`server.max_request_size`): 413 beyond it, as anywhere else. The other routes
/// read theirs through extractors, which the router's `DefaultBodyLimit` bounds.
async fn limit_service_body(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if !request.uri().path().starts_with("/mcp") {
        return Ok(next.run(request).await);
    }
    let limit = state.config.server.max_request_size;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the body is over {limit} bytes (server.max_request_size)"),
        )
    })?;
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    Ok(next.run(request).await)
}

/// Every route.
pub fn router(state: AppState) -> Router {
    // The Python ORB serves these at a trailing slash and redirects the bare path; orb
    // answers both, so no client need follow a redirect.
    let collections: [(&str, MethodRouter<AppState>); 7] = [
        ("/templates", get(list_templates).post(create_template)),
        ("/machines", get(list_machines)),
        ("/requests", get(list_requests)),
        ("/providers", get(list_providers)),
        ("/me", get(current_user)),
        ("/config", get(full_config)),
        ("/events", get(stream_events)),
    ];
    let mut api = Router::new()
        .route(
            "/templates/{template_id}",
            get(show_template)
                .put(update_template)
                .delete(delete_template),
        )
        .route("/templates/refresh", post(refresh_templates))
        .route("/templates/generate", post(generate_templates))
        .route("/templates/validate", post(validate_template))
        .route("/machines/request", post(request_machines))
        .route("/machines/return", post(return_machines))
        .route(
            "/machines/{machine_id}",
            get(show_machine).delete(purge_machine),
        )
        .route("/machines/{machine_id}/status", get(sync_machine))
        .route("/machines/{machine_id}/metrics", get(machine_metrics))
        .route("/requests/return", get(list_returns))
        .route("/requests/status", post(batch_status))
        .route(
            "/requests/{request_id}",
            get(get_request).delete(cancel_request),
        )
        .route("/requests/{request_id}/status", get(request_status))
        .route("/requests/{request_id}/stream", get(stream_request))
        .route("/requests/{request_id}/purge", post(purge_request))
        .route("/requests/{request_id}/timeline", get(request_timeline))
        .route("/providers/health", get(provider_health))
        .route("/providers/schemas", get(provider_schemas))
        .route("/providers/{name}/schema", get(provider_schema))
        .route("/system/dashboard", get(dashboard))
        .route("/observability/telemetry", get(telemetry))
        .route("/config/sources", get(config_sources))
        .route("/config/validate", post(validate_config))
        .route("/config/save", post(save_config))
        .route("/config/{key}", get(config_value).put(set_config_value))
        .route("/admin/reload-config", post(reload_config))
        .route("/admin/database/cleanup", post(cleanup_database))
        .route("/admin/database/wipe", post(wipe_database))
        .route("/admin/init", post(init_orb));
    for (path, methods) in collections {
        api = api
            .route(&format!("{path}/"), methods.clone())
            .route(path, methods);
    }
    // What the server tells about itself: behind a token when auth is on, unless
    // `server.auth.public_paths` names it.
    let mut described = Router::new();
    let mut public = Router::new()
        .route("/health", get(health))
        .route("/info", get(service_info))
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
    // Swagger UI, its assets in the binary: the page and the document it reads hold no data,
    // so a browser opens them without a token; its Authorize button takes one for the calls.
    let docs = SwaggerUi::new("/docs")
        .url(DOCS_DOCUMENT, ApiDoc::openapi())
        .config(SwaggerConfig::from(DOCS_DOCUMENT));
    public = public.merge(docs);
    let mcp_state = state.clone();
    let mcp_stop = tokio_util::sync::CancellationToken::new();
    let mut stopping = state.stopping.clone();
    let cancel = mcp_stop.clone();
    tokio::spawn(async move {
        while !*stopping.borrow() {
            if stopping.changed().await.is_err() {
                break;
            }
        }
        cancel.cancel();
    });
    let guarded = Router::new()
        .nest("/api/v1", api)
        .merge(described)
        .nest_service(
            "/mcp",
            crate::mcp::http_service(move || mcp_state.broker(), mcp_stop),
        )
        .layer(from_fn_with_state(state.clone(), auth::authorize))
        .layer(from_fn_with_state(state.clone(), limit_service_body));
    Router::new()
        .merge(guarded)
        .merge(public)
        .merge(super::console::router())
        .layer(from_fn_with_state(state.clone(), super::dialect::speak))
        .layer(from_fn_with_state(state.clone(), rate_limit::limit))
        .layer(from_fn_with_state(state.clone(), auth::check_host))
        .layer(axum::middleware::from_fn(auth::refuse_cross_site))
        .layer(DefaultBodyLimit::max(state.config.server.max_request_size))
        .layer(axum::middleware::from_fn(super::error::json_errors))
        // Gzip for callers that accept it (the console's browser does); never for event
        // streams, whose events must leave as they happen.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .with_state(state)
}

mod admin;
mod config;
mod events;
mod filters;
mod machines;
mod paging;
mod probes;
mod providers;
mod requests;
mod service;
mod templates;

use admin::*;
use config::*;
use events::*;
use filters::filters_of;
use machines::*;
use paging::{PageInfo, PageQuery};
use probes::*;
use providers::*;
use requests::*;
use service::*;
use templates::*;

type ApiResult = Result<axum::response::Response, ApiError>;

/// The error shape every failure answers with: the Python ORB's envelope.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the shape `ApiError` writes
struct ErrorBody {
    /// Always `false`.
    success: bool,
    /// `{"code": "...", "message": "...", "details": {"loc": [...]} | null}`.
    error: Value,
    /// When it was answered (RFC 3339).
    timestamp: String,
    /// Quote it when reporting a problem: the server's log carries it.
    correlation_id: String,
    /// On a 422 only: `[{"loc": [...], "msg": "...", "type": "value_error"}]`, as FastAPI
    /// (so the Python ORB) answers.
    detail: Option<Vec<Value>>,
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
        list_templates, show_template, validate_template, create_template, update_template,
        delete_template, refresh_templates, generate_templates, request_machines, return_machines, list_machines,
        show_machine, sync_machine, purge_machine, machine_metrics, list_requests, list_returns,
        get_request, request_status, stream_request, cancel_request, purge_request,
        request_timeline, batch_status, list_providers, provider_health, provider_schemas,
        provider_schema, current_user, dashboard, telemetry, full_config, config_sources,
        config_value, validate_config, set_config_value, save_config, health, service_info,
        livez, readyz, metrics, reload_config, cleanup_database, wipe_database, init_orb, stream_events
    ),
    components(schemas(
        MachineRequestBody, ReturnBody, ReturnedMachine, BatchBody, ErrorBody, TemplateView,
        MachineSummary, RequestPage, ListedRequest, PageInfo, CancelAnswer, ReturnAnswer,
        MachineProblem, ProviderList, ProviderSummary, StatusAnswer, RequestEntry, RequestStatusView,
        MissingRequest, MachineStatusView, ProvidersHealth, ServiceHealth, Probe, TemplatesAnswer,
        TemplateProblems, AcceptedRequest, ReloadOutcome, TemplateChanged, MachinePage, PurgedRow,
        MachineMetrics, Timeline, TimelineEvent, Attempt, Column, CurrentUser, Dashboard, Telemetry,
        ServiceInfo, ConfigSources, ConfigValidity, CleanupBody, WipeBody, PurgeAnswer, Columns,
        ColumnsByInstance, MachinesAt, RecentChange, ConfigTree, ConfigValue, GenerateBody, GeneratedTemplates, InitBody, Initialised
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
