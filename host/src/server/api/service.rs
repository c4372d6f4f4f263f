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

/// How many points the dashboard's chart of machines over time has.
const CHART_POINTS: usize = 48;

/// How many of the latest changes the dashboard lists.
const RECENT_CHANGES: i64 = 20;

/// The dashboard's window.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DashboardQuery {
    /// How many hours back the chart of machines goes (1 to 168; 24 unless given).
    hours: Option<u32>,
}

/// Counts for a dashboard.
#[derive(Serialize, ToSchema)]
pub(super) struct Dashboard {
    /// Requests by kind, then status.
    requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// Machines by state.
    machines: BTreeMap<String, u64>,
    /// Machines by provider instance, then state.
    machines_by_provider: BTreeMap<String, BTreeMap<String, u64>>,
    /// How many machines were alive at evenly spaced times over the window, oldest first.
    machines_over_time: Vec<MachinesAt>,
    /// The latest changes of requests and machines, newest first.
    recent_changes: Vec<RecentChange>,
    /// Templates the serving instance offers.
    templates: usize,
    /// Configured provider instances.
    providers: usize,
}

/// How many machines were alive at a time.
#[derive(Serialize, ToSchema)]
pub(super) struct MachinesAt {
    /// The time (RFC 3339).
    at: String,
    /// Machines seen by then and not terminated by then.
    machines: u64,
}

/// One change of a request or a machine.
#[derive(Serialize, ToSchema)]
pub(super) struct RecentChange {
    /// Its number, as the event stream numbers it.
    seq: i64,
    /// `request` or `machine`.
    #[serde(rename = "type")]
    kind: String,
    /// The request's or the machine's id.
    id: String,
    /// When it changed (RFC 3339).
    at: String,
}

/// Requests by kind and status, machines by state and by provider instance, machines over time,
/// the latest changes, templates and providers, counted.
#[utoipa::path(get, path = "/api/v1/system/dashboard", tag = "service", security(("bearer" = [])), params(DashboardQuery),
    responses((status = 200, description = "The counts", body = Dashboard), (status = 422, description = "A window out of range", body = ErrorBody)))]
pub(super) async fn dashboard(
    State(s): State<AppState>,
    Query(q): Query<DashboardQuery>,
) -> ApiResult {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", "hours"],
            "hours must be from 1 to 168".to_owned(),
        ));
    }
    let broker = s.broker();
    let store = broker.store();
    let mut requests: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (kind, status, n) in store.request_counts().map_err(BrokerError::from)? {
        requests.entry(kind).or_default().insert(status, n);
    }
    let mut machines: BTreeMap<String, u64> = BTreeMap::new();
    let mut machines_by_provider: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (instance, state, n) in store.machine_counts().map_err(BrokerError::from)? {
        *machines.entry(state.clone()).or_default() += n;
        machines_by_provider
            .entry(instance)
            .or_default()
            .insert(state, n);
    }
    let now = crate::domain::now();
    let step = i64::from(hours) * 3600 / (CHART_POINTS as i64 - 1);
    let times: Vec<i64> = (0..CHART_POINTS as i64)
        .map(|i| now - step * (CHART_POINTS as i64 - 1 - i))
        .collect();
    let alive = store.machines_alive_at(&times).map_err(BrokerError::from)?;
    let machines_over_time = times
        .iter()
        .zip(alive)
        .map(|(t, n)| MachinesAt {
            at: crate::views::time(*t),
            machines: n,
        })
        .collect();
    let (_, newest) = store.event_bounds().map_err(BrokerError::from)?;
    let mut recent_changes: Vec<RecentChange> = store
        .events_after(newest - RECENT_CHANGES, RECENT_CHANGES as u32)
        .map_err(BrokerError::from)?
        .into_iter()
        .map(|c| RecentChange {
            seq: c.seq,
            kind: c.kind,
            id: c.id,
            at: crate::views::time(c.at),
        })
        .collect();
    recent_changes.reverse();
    let templates = broker
        .catalog(broker.default_instance()?)
        .await?
        .templates
        .len();
    Ok(Json(Dashboard {
        requests,
        machines,
        machines_by_provider,
        machines_over_time,
        recent_changes,
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
