//! Provider instances: listed, and their health as last checked.

use super::*;

#[utoipa::path(get, path = "/api/v1/providers/", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Configured provider instances", body = ProviderList)))]
pub(super) async fn list_providers(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    Ok(Json(ProviderList::of(
        &broker.config().provider.providers,
        broker.plugins(),
        &broker.circuit_states()?,
    ))
    .into_response())
}
#[utoipa::path(get, path = "/api/v1/providers/health", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Health of every enabled instance, as last checked in the background (`checkedAt`)", body = ProvidersHealth)))]
pub(super) async fn provider_health(State(s): State<AppState>) -> ApiResult {
    let answer = s.health.borrow().providers();
    Ok(Json(answer).into_response())
}

/// A column a console shows for one kind of resource.
#[derive(Serialize, ToSchema)]
pub(super) struct Column {
    /// `machines`, `requests` or `templates`.
    resource: &'static str,
    /// The field of the API's answer it shows.
    key: &'static str,
    /// Its heading.
    label: &'static str,
    /// `string`, `number` or `time`.
    kind: &'static str,
}

/// The columns of orb's answers, which are the same for every provider: what a provider knows
/// of a machine beyond them is in its tags.
const COLUMNS: &[(&str, &str, &str, &str)] = &[
    ("machines", "machineId", "Machine", "string"),
    ("machines", "name", "Name", "string"),
    ("machines", "status", "State", "string"),
    ("machines", "instanceType", "Instance type", "string"),
    ("machines", "privateIpAddress", "Private address", "string"),
    ("machines", "launchTime", "Launched", "time"),
    ("requests", "requestId", "Request", "string"),
    ("requests", "status", "Status", "string"),
    ("requests", "templateId", "Template", "string"),
    ("requests", "createdAt", "Created", "time"),
    ("templates", "templateId", "Template", "string"),
    ("templates", "providerApi", "Handler", "string"),
    ("templates", "maxNumber", "Most machines", "number"),
];

/// The columns of one provider instance.
#[derive(Serialize, ToSchema)]
pub(super) struct Columns(Vec<Column>);

/// Each provider instance's columns, by its name.
#[derive(Serialize, ToSchema)]
pub(super) struct ColumnsByInstance(BTreeMap<String, Columns>);

fn columns() -> Columns {
    Columns(
        COLUMNS
            .iter()
            .map(|&(resource, key, label, kind)| Column {
                resource,
                key,
                label,
                kind,
            })
            .collect(),
    )
}

/// The columns of every configured provider instance, by name.
#[utoipa::path(get, path = "/api/v1/providers/schemas", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Each instance's columns, by name", body = ColumnsByInstance)))]
pub(super) async fn provider_schemas(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    let all = broker
        .config()
        .provider
        .providers
        .iter()
        .map(|p| (p.name.clone(), columns()))
        .collect();
    Ok(Json(ColumnsByInstance(all)).into_response())
}

/// The columns of the provider instance `name`.
#[utoipa::path(get, path = "/api/v1/providers/{name}/schema", tag = "providers", security(("bearer" = [])),
    params(("name" = String, Path, description = "Provider instance name")),
    responses((status = 200, description = "Its columns", body = Columns), (status = 404, description = "No such instance", body = ErrorBody)))]
pub(super) async fn provider_schema(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult {
    s.broker()
        .instance(&name)
        .map_err(|_| ApiError::not_found(format!("no provider instance is named '{name}'")))?;
    Ok(Json(columns()).into_response())
}
