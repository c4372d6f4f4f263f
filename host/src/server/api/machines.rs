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
}

/// Accepts a request (202) and provisions it in the background.
#[utoipa::path(post, path = "/api/v1/machines/request", tag = "machines", security(("bearer" = [])),
    request_body = MachineRequestBody,
    responses((status = 202, description = "Accepted; provisioned in the background", body = AcceptedRequest), (status = 400, description = "Bad input", body = ErrorBody)))]
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
pub(super) struct ReturnedMachine {
    #[serde(alias = "machineId")]
    machine_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ReturnBody {
    #[serde(default, alias = "machineIds")]
    machine_ids: Vec<String>,
    #[serde(default)]
    machines: Vec<ReturnedMachine>,
}
#[utoipa::path(post, path = "/api/v1/machines/return", tag = "machines", security(("bearer" = [])),
    request_body = ReturnBody,
    responses((status = 202, description = "The return request", body = ReturnAnswer), (status = 400, description = "Bad input", body = ErrorBody)))]
pub(super) async fn return_machines(
    State(s): State<AppState>,
    Json(body): Json<ReturnBody>,
) -> ApiResult {
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
pub(super) struct MachineQuery {
    request_id: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}
#[utoipa::path(get, path = "/api/v1/machines/", tag = "machines", security(("bearer" = [])), params(MachineQuery),
    responses((status = 200, description = "Stored machines, newest first", body = MachineList)))]
pub(super) async fn list_machines(
    State(s): State<AppState>,
    Query(q): Query<MachineQuery>,
) -> ApiResult {
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
pub(super) async fn show_machine(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let machine = s
        .broker()
        .store()
        .get_machine(&id)
        .map_err(crate::broker::BrokerError::from)?
        .ok_or_else(|| ApiError::not_found(format!("machine '{id}' does not exist")))?;
    Ok(Json(MachineSummary::from(&machine)).into_response())
}
