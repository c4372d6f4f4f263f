//! What the service says of itself and of its caller: `/info`, `/api/v1/me/`, the dashboard's
//! counts and the telemetry status, as the Python ORB's clients and console read them.

use axum::Extension;

use super::*;
use crate::server::auth::Caller;

/// The service, its version and what it is.
#[derive(Serialize, ToSchema)]
pub(super) struct ServiceInfo {
    /// `orb`.
    service: &'static str,
    /// orb's version.
    version: &'static str,
    /// What it is.
    description: &'static str,
    /// The provider interface the host serves.
    plugin_interface: &'static str,
}

/// The service and its version; nothing of its authentication.
#[utoipa::path(get, path = "/info", tag = "probes",
    responses((status = 200, description = "The service", body = ServiceInfo)))]
pub(super) async fn service_info() -> Json<ServiceInfo> {
    Json(ServiceInfo {
        service: "orb",
        version: env!("CARGO_PKG_VERSION"),
        description: "orb, the resource broker: provisions, tracks and returns cloud machines",
        plugin_interface: orb_plugin_api::INTERFACE_VERSION,
    })
}

/// The caller, as its token says.
#[derive(Serialize, ToSchema)]
pub(super) struct CurrentUser {
    /// Whether a token identified the caller (false when authentication is off).
    authenticated: bool,
    /// `viewer`, `operator` or `admin` (admin when authentication is off).
    #[schema(value_type = String)]
    role: Role,
    /// What the role may do.
    permissions: Vec<&'static str>,
}

/// Who the caller is and what it may do.
#[utoipa::path(get, path = "/api/v1/me/", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = CurrentUser), (status = 401, description = "No valid token", body = ErrorBody)))]
pub(super) async fn current_user(Extension(caller): Extension<Caller>) -> Json<CurrentUser> {
    let mut permissions = vec!["read"];
    if caller.role >= Role::Operator {
        permissions.extend(["request_machines", "return_machines", "cancel_request"]);
    }
    if caller.role >= Role::Admin {
        permissions.extend([
            "manage_templates",
            "manage_configuration",
            "purge",
            "administer",
        ]);
    }
    Json(CurrentUser {
        authenticated: caller.authenticated,
        role: caller.role,
        permissions,
    })
}

/// Counts for a dashboard.
#[derive(Serialize, ToSchema)]
pub(super) struct Dashboard {
    /// Requests by kind, then status.
    requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// Machines by state.
    machines: BTreeMap<String, u64>,
    /// Templates the serving instance offers.
    templates: usize,
    /// Configured provider instances.
    providers: usize,
}

/// Requests by kind and status, machines by state, templates and providers, counted.
#[utoipa::path(get, path = "/api/v1/system/dashboard", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "The counts", body = Dashboard)))]
pub(super) async fn dashboard(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    let store = broker.store();
    let mut requests: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (kind, status, n) in store.request_counts().map_err(BrokerError::from)? {
        requests.entry(kind).or_default().insert(status, n);
    }
    let machines = store
        .machine_counts()
        .map_err(BrokerError::from)?
        .into_iter()
        .collect();
    let templates = broker
        .catalog(broker.default_instance()?)
        .await?
        .templates
        .len();
    Ok(Json(Dashboard {
        requests,
        machines,
        templates,
        providers: broker.config().provider.providers.len(),
    })
    .into_response())
}

/// What orb exports for observation.
#[derive(Serialize, ToSchema)]
pub(super) struct Telemetry {
    /// Whether OpenTelemetry exporters run: never, orb exports Prometheus text at `/metrics`.
    enabled: bool,
    /// The service's name in what it exports.
    service_name: &'static str,
    /// Metric exporters.
    metric_exporters: Vec<&'static str>,
    /// Trace exporters: none.
    trace_exporters: Vec<&'static str>,
}

/// The telemetry orb exports: Prometheus text at `/metrics`, no OpenTelemetry.
#[utoipa::path(get, path = "/api/v1/observability/telemetry", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "The telemetry status", body = Telemetry)))]
pub(super) async fn telemetry() -> Json<Telemetry> {
    Json(Telemetry {
        enabled: false,
        service_name: "orb",
        metric_exporters: vec!["prometheus: GET /metrics"],
        trace_exporters: Vec::new(),
    })
}
