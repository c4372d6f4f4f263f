//! Provider instances: listed, and their health as last checked.

use super::*;

#[utoipa::path(get, path = "/api/v1/providers/", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Configured provider instances", body = ProviderList)))]
pub(super) async fn list_providers(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    Ok(Json(ProviderList::of(
        &broker.config().provider.providers,
        broker.plugins(),
    ))
    .into_response())
}
#[utoipa::path(get, path = "/api/v1/providers/health", tag = "providers", security(("bearer" = [])),
    responses((status = 200, description = "Health of every enabled instance, as last checked in the background (`checkedAt`)", body = ProvidersHealth)))]
pub(super) async fn provider_health(State(s): State<AppState>) -> ApiResult {
    let answer = s.health.borrow().providers();
    Ok(Json(answer).into_response())
}
