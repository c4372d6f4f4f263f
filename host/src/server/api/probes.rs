//! What the server tells about itself: liveness, readiness, health and metrics.

use super::*;

/// A probe's answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Probe {
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
pub(super) async fn livez() -> Json<Probe> {
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
pub(super) async fn health(State(s): State<AppState>) -> ApiResult {
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
pub(super) async fn metrics(State(s): State<AppState>) -> ApiResult {
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
    let mut machines: BTreeMap<String, u64> = BTreeMap::new();
    for (_, state, n) in store
        .machine_counts()
        .map_err(crate::broker::BrokerError::from)?
    {
        *machines.entry(state).or_default() += n;
    }
    let machines: Vec<(String, u64)> = machines.into_iter().collect();
    let samples = broker.provider_metrics().await;
    let circuits = broker.circuit_states()?;
    let page = crate::metrics::render(&replica, &requests, &machines, &circuits, &samples);
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
pub(super) async fn readyz(State(s): State<AppState>) -> ApiResult {
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
