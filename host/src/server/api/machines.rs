//! Machines: requested, returned, listed and shown.

use super::*;

#[derive(Deserialize, ToSchema)]
pub(super) struct MachineRequestBody {
    #[serde(alias = "templateId")]
    template_id: String,
    #[serde(alias = "machineCount", alias = "machine_count")]
    count: i64,
}

/// A request accepted over HTTP, provisioned in the background.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AcceptedRequest {
    /// The request id, to poll.
    request_id: String,
    /// `running`.
    status: &'static str,
    /// What was done with it (the Python ORB's answer carries it).
    message: &'static str,
}

/// Accepts a request (202) and provisions it in the background, answering once the provider
/// has taken it or after `server.accept_wait_seconds`, whichever comes first.
#[utoipa::path(post, path = "/api/v1/machines/request", tag = "machines", security(("bearer" = [])),
    request_body = MachineRequestBody,
    responses((status = 202, description = "Accepted; its provision taken by the provider, or going on in the background", body = AcceptedRequest), (status = 400, description = "Bad input", body = ErrorBody)))]
pub(super) async fn request_machines(
    State(s): State<AppState>,
    Json(body): Json<MachineRequestBody>,
) -> ApiResult {
    let (mut request, template, instance) = s
        .broker()
        .accept_request(&body.template_id, body.count)
        .await?;
    let id = request.request_id.clone();
    let broker = s.broker();
    let provision = tokio::spawn(async move {
        if let Err(e) = broker.provision(&mut request, &instance, template).await {
            tracing::warn!(request_id = %request.request_id, error = %e, "provisioning failed");
        }
    });
    // Past the wait the provision goes on by itself: dropping its handle does not stop it.
    let wait = Duration::from_secs(s.config.server.accept_wait_seconds);
    if !wait.is_zero() {
        let _ = tokio::time::timeout(wait, provision).await;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedRequest {
            request_id: id,
            status: "running",
            message: "Request submitted for processing",
        }),
    )
        .into_response())
}

/// A machine named by its id or its name (Host Factory's form).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReturnedMachine {
    #[serde(alias = "machineId")]
    machine_id: Option<String>,
    name: Option<String>,
}

/// Which machines to return: exactly one of `machineIds` (or `machines`), `requestId` (every
/// machine of that acquire request not yet returned) and `allMachines` (every machine not yet
/// returned, with `force: true` to confirm), the last two narrowed by `providerName` and
/// `providerType`. camelCase or snake_case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReturnBody {
    #[serde(default, alias = "machineIds")]
    machine_ids: Vec<String>,
    #[serde(default)]
    machines: Vec<ReturnedMachine>,
    #[serde(default, alias = "requestId")]
    request_id: Option<String>,
    #[serde(default, alias = "allMachines")]
    all_machines: bool,
    #[serde(default)]
    force: bool,
    #[serde(default, alias = "providerName")]
    provider_name: Option<String>,
    #[serde(default, alias = "providerType")]
    provider_type: Option<String>,
}

impl ReturnBody {
    /// The machines the body names, checked; none when a request or `allMachines` finds none
    /// left to return.
    fn machines(self, s: &AppState) -> Result<Vec<MachineSpec>, ApiError> {
        let invalid =
            |message: &str| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, &["body"], message);
        let named = !self.machine_ids.is_empty() || !self.machines.is_empty();
        let forms = [named, self.request_id.is_some(), self.all_machines];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(invalid(
                "give exactly one of machineIds, requestId, or allMachines with force: true",
            ));
        }
        if named {
            if self.provider_name.is_some() || self.provider_type.is_some() {
                return Err(invalid(
                    "providerName and providerType narrow requestId or allMachines, not named machines",
                ));
            }
            let ids = self.machine_ids.into_iter().map(|id| MachineSpec {
                machine_id: Some(id),
                name: None,
            });
            let named = self.machines.into_iter().map(|m| MachineSpec {
                machine_id: m.machine_id,
                name: m.name,
            });
            return Ok(ids.chain(named).collect());
        }
        if self.all_machines && !self.force {
            return Err(invalid(
                "allMachines returns every machine orb holds: set force: true to confirm",
            ));
        }
        Ok(s.broker().unreturned(Unreturned {
            request_id: self.request_id,
            provider_instance: self.provider_name,
            provider_type: self.provider_type,
        })?)
    }
}

/// Returns machines: their termination is asked for before the answer, and a return request
/// follows them until they are gone. Answers 200, as the Python ORB does, with `requestId` null
/// when a request or `allMachines` found nothing left to return.
#[utoipa::path(post, path = "/api/v1/machines/return", tag = "machines", security(("bearer" = [])),
    request_body = ReturnBody,
    responses((status = 200, description = "The return request", body = ReturnAnswer), (status = 404, description = "requestId names no request", body = ErrorBody), (status = 422, description = "Not one of the body's three forms", body = ErrorBody)))]
pub(super) async fn return_machines(
    State(s): State<AppState>,
    Json(body): Json<ReturnBody>,
) -> ApiResult {
    let specs = body.machines(&s)?;
    if specs.is_empty() {
        return Ok(Json(ReturnAnswer::nothing()).into_response());
    }
    let (request, summary) = s.broker().return_machines(&specs).await?;
    Ok(Json(ReturnAnswer::of(&request.request_id, &summary)).into_response())
}

/// The Python ORB's filters of a machine listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MachineQuery {
    /// Machines of this acquire request.
    request_id: Option<String>,
    /// Machines in this state (`pending`, `running`, `terminated`...).
    status: Option<String>,
    /// Machines of this provider instance.
    provider_name: Option<String>,
    /// Machines of requests served by instances of this provider type.
    provider_type: Option<String>,
    /// Machines whose id, name or address holds this text (any case).
    q: Option<String>,
}

/// A page of machines, newest first.
#[derive(Serialize, ToSchema)]
pub(super) struct MachinePage {
    /// The machines of this page.
    machines: Vec<MachineSummary>,
    #[serde(flatten)]
    page: PageInfo,
}

/// Stored machines, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/machines/", tag = "machines", security(("bearer" = [])), params(MachineQuery, PageQuery, ("filter_expressions" = Option<Vec<String>>, Query, description = "The Python ORB's filter expressions over the listed items' fields (KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX, KEY!~REGEX), the key repeated; ANDed")),
    responses((status = 200, description = "A page of stored machines, newest first", body = MachinePage), (status = 422, description = "A filter or page out of range", body = ErrorBody)))]
pub(super) async fn list_machines(
    State(s): State<AppState>,
    Query(q): Query<MachineQuery>,
    Query(page): Query<PageQuery>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult {
    let page = page.page()?;
    let filters = filters_of(&pairs, &crate::selection::fields_of::<MachineSummary>())?;
    if let Some(state) = &q.status {
        let known = serde_json::from_value::<MachineState>(Value::String(state.clone()))
            .is_ok_and(|known| known.as_str() == state);
        if !known {
            return Err(ApiError::invalid(
                StatusCode::UNPROCESSABLE_ENTITY,
                &["query", "status"],
                format!("'{state}' is not a machine state"),
            ));
        }
    }
    let filter = MachineFilter {
        request_id: q.request_id,
        state: q.status,
        provider_instance: q.provider_name,
        provider_type: q.provider_type,
        search: q.q,
        limit: Some(page.limit),
        offset: page.offset,
        ..Default::default()
    };
    let broker = s.broker();
    let store = broker.store();
    let (machines, total) = crate::selection::page(
        &filters,
        page.limit,
        page.offset,
        |limit, offset| {
            store.list_machines(&MachineFilter {
                limit,
                offset,
                ..filter.clone()
            })
        },
        || store.count_machines(&filter),
        |m| to_json(&MachineSummary::from(m)),
    )
    .map_err(BrokerError::from)?;
    Ok(Json(MachinePage {
        page: PageInfo::of(page, machines.len(), total),
        machines: machines.iter().map(MachineSummary::from).collect(),
    })
    .into_response())
}

/// One stored machine.
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}", tag = "machines", security(("bearer" = [])),
    params(("machine_id" = String, Path, description = "Machine id")),
    responses((status = 200, description = "The machine", body = MachineSummary), (status = 404, description = "No such machine", body = ErrorBody)))]
pub(super) async fn show_machine(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(MachineSummary::from(&stored_machine(&s.broker(), &id)?)).into_response())
}

/// One machine, refreshed from its provider first, whether its request is finished or not.
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}/status", tag = "machines", security(("bearer" = [])),
    params(("machine_id" = String, Path, description = "Machine id")),
    responses((status = 200, description = "The machine, as its provider reports it now", body = MachineSummary), (status = 404, description = "No such machine", body = ErrorBody)))]
pub(super) async fn sync_machine(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let broker = s.broker();
    let machine = stored_machine(&broker, &id)?;
    let refreshed = broker.refresh_machines(vec![machine]).await?;
    Ok(Json(MachineSummary::from(&refreshed[0])).into_response())
}

/// The stored machine `id`; 404 when there is none.
fn stored_machine(
    broker: &crate::broker::Broker,
    id: &str,
) -> Result<crate::domain::MachineRecord, ApiError> {
    broker
        .store()
        .get_machine(id)
        .map_err(BrokerError::from)?
        .ok_or_else(|| ApiError::not_found(format!("machine '{id}' does not exist")))
}

/// `?purge=true`, which the Python ORB requires of a machine's deletion.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PurgeQuery {
    /// Must be true: the only deletion there is deletes the row for good.
    #[serde(default)]
    purge: bool,
}

/// What a purge deleted.
#[derive(Serialize, ToSchema)]
pub(super) struct PurgedRow {
    /// The id deleted.
    id: String,
    /// `purged`.
    status: &'static str,
}

impl PurgedRow {
    /// The answer of the purge of `id`.
    pub(super) fn answer(id: String) -> ApiResult {
        Ok(Json(PurgedRow {
            id,
            status: "purged",
        })
        .into_response())
    }
}

/// Deletes a gone machine's row for good (admin, `?purge=true`); a machine that is up is
/// refused (409): return it first.
#[utoipa::path(delete, path = "/api/v1/machines/{machine_id}", tag = "machines", security(("bearer" = [])),
    params(("machine_id" = String, Path, description = "Machine id"), PurgeQuery),
    responses((status = 200, description = "Deleted", body = PurgedRow), (status = 404, description = "No such machine", body = ErrorBody), (status = 409, description = "The machine is not gone", body = ErrorBody), (status = 422, description = "purge=true missing", body = ErrorBody)))]
pub(super) async fn purge_machine(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PurgeQuery>,
) -> ApiResult {
    // A machine that does not exist is not found, asked with purge or not (as ORB's SDKs'
    // contract tests read it).
    let broker = s.broker();
    stored_machine(&broker, &id)?;
    if !q.purge {
        return Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", "purge"],
            "a machine's row is only deleted for good: pass purge=true (to give a machine back, return it)",
        ));
    }
    broker.purge_machine(&id)?;
    PurgedRow::answer(id)
}

/// A machine's time series: orb keeps none (its broker-wide figures are at `/metrics`), so
/// every series is empty, as the Python ORB's answer is.
#[derive(Serialize, ToSchema)]
pub(super) struct MachineMetrics {
    /// The machine.
    machine_id: String,
    /// The range asked for.
    range: String,
    /// `cpu`, `memory` and `network`, each empty.
    series: BTreeMap<&'static str, Vec<Value>>,
}

/// The machine's time series, empty: orb keeps none per machine.
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}/metrics", tag = "machines", security(("bearer" = [])),
    params(("machine_id" = String, Path, description = "Machine id"), ("range" = Option<String>, Query, description = "Accepted: 1h unless given")),
    responses((status = 200, description = "Empty series", body = MachineMetrics), (status = 404, description = "No such machine", body = ErrorBody)))]
pub(super) async fn machine_metrics(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let machine = stored_machine(&s.broker(), &id)?;
    Ok(Json(MachineMetrics {
        machine_id: machine.machine_id,
        range: q.get("range").cloned().unwrap_or_else(|| "1h".into()),
        series: ["cpu", "memory", "network"]
            .into_iter()
            .map(|k| (k, Vec::new()))
            .collect(),
    })
    .into_response())
}
