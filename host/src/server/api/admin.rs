//! Administration: reloading the configuration and the plugins directory.

use super::*;

/// Reloads the configuration and the plugins directory, as SIGHUP does: new and changed
/// libraries are loaded, provider instances rebuilt, calls in flight finish where they
/// started. A configuration or library that cannot serve leaves the running one in place.
#[utoipa::path(post, path = "/api/v1/admin/reload-config", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "Reloaded", body = ReloadOutcome), (status = 422, description = "Not reloaded: the running configuration stays", body = ErrorBody)))]
pub(super) async fn reload_config(State(s): State<AppState>) -> ApiResult {
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
