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

/// Which finished requests to delete: the Python ORB's body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CleanupBody {
    /// Must be `CLEANUP`.
    #[serde(default)]
    confirm: String,
    /// `complete` and/or `complete_with_error`.
    #[serde(default)]
    request_statuses: Vec<String>,
    /// Only those last changed at least this many days ago.
    older_than_days: Option<u32>,
    /// Must be true (the default): a request's machine rows go with it.
    #[serde(default = "yes")]
    include_machines: bool,
}

fn yes() -> bool {
    true
}

/// Deletes finished requests of the given statuses (older than `older_than_days`), with their
/// machines (admin; `confirm: "CLEANUP"`); those with a machine still up are kept and counted.
#[utoipa::path(post, path = "/api/v1/admin/database/cleanup", tag = "admin", security(("bearer" = [])),
    request_body = CleanupBody,
    responses((status = 200, description = "What was deleted and kept", body = PurgeAnswer), (status = 422, description = "Not confirmed, or a status that is not finished", body = ErrorBody)))]
pub(super) async fn cleanup_database(
    State(s): State<AppState>,
    Json(body): Json<CleanupBody>,
) -> ApiResult {
    confirmed(&body.confirm, "CLEANUP")?;
    let invalid =
        |message: String| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, &["body"], message);
    if !body.include_machines {
        return Err(invalid(
            "include_machines must be true: a request's machine rows go with it".into(),
        ));
    }
    if body.request_statuses.is_empty() {
        return Err(invalid(
            "name the request_statuses to delete: complete, complete_with_error".into(),
        ));
    }
    let statuses = body
        .request_statuses
        .iter()
        .map(|name| match RequestStatus::parse(name) {
            Some(s) if s.is_terminal() => Ok(s),
            _ => Err(invalid(format!(
                "'{name}' is not a finished status: complete or complete_with_error"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let before = body
        .older_than_days
        .map(|days| crate::domain::now() - i64::from(days) * 86_400);
    let purged = s.broker().purge_finished(&statuses, before)?;
    Ok(Json(PurgeAnswer::of(purged)).into_response())
}

/// `{"confirm": "WIPE"}`.
#[derive(Deserialize, ToSchema)]
pub(super) struct WipeBody {
    /// Must be `WIPE`.
    #[serde(default)]
    confirm: String,
}

/// Deletes every finished request with its machines (admin; `confirm: "WIPE"`). Unlike the
/// Python ORB, it never forgets a machine that is up: what is still running stays, counted as
/// kept.
#[utoipa::path(post, path = "/api/v1/admin/database/wipe", tag = "admin", security(("bearer" = [])),
    request_body = WipeBody,
    responses((status = 200, description = "What was deleted and kept", body = PurgeAnswer), (status = 422, description = "Not confirmed", body = ErrorBody)))]
pub(super) async fn wipe_database(
    State(s): State<AppState>,
    Json(body): Json<WipeBody>,
) -> ApiResult {
    confirmed(&body.confirm, "WIPE")?;
    let finished = [RequestStatus::Complete, RequestStatus::CompleteWithError];
    let purged = s.broker().purge_finished(&finished, None)?;
    Ok(Json(PurgeAnswer::of(purged)).into_response())
}

/// What a bulk deletion did.
#[derive(Serialize, ToSchema)]
pub(super) struct PurgeAnswer {
    /// Requests deleted, with their machines.
    deleted_requests: u64,
    /// Requests that matched but stay: a machine of theirs is up, or a process holds them.
    kept_requests: u64,
    /// In a sentence.
    message: String,
}

impl PurgeAnswer {
    fn of(purged: crate::broker::Purged) -> Self {
        PurgeAnswer {
            message: format!(
                "{} requests deleted with their machines; {} kept, as a machine of theirs is still up",
                purged.requests, purged.kept
            ),
            deleted_requests: purged.requests,
            kept_requests: purged.kept,
        }
    }
}

/// Refuses (422) unless `given` is `word`.
fn confirmed(given: &str, word: &str) -> Result<(), ApiError> {
    if given == word {
        Ok(())
    } else {
        Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["body", "confirm"],
            format!("confirm with \"confirm\": \"{word}\""),
        ))
    }
}

/// The Python ORB's `InitBody`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InitBody {
    /// Must be `INIT`.
    #[serde(default)]
    confirm: String,
    /// Replace example templates whose ids are in the templates file already.
    #[serde(default)]
    force: bool,
    /// Write the provider's example templates (the default).
    #[serde(default = "yes")]
    generate_templates: bool,
}

/// What initialising did.
#[derive(Serialize, ToSchema)]
pub(super) struct Initialised {
    /// The configuration directory (templates files).
    config_dir: String,
    /// The work directory (state, provider files).
    work_dir: String,
    /// The log directory, when one is set.
    log_dir: Option<String>,
    /// The example templates written, when asked.
    templates: Option<GeneratedTemplates>,
}

/// Makes the configuration, work and log directories where missing and, unless told not to,
/// writes the provider's example templates (admin; `confirm: "INIT"`). The configuration file
/// is the operator's: `orb serve` already runs on it.
#[utoipa::path(post, path = "/api/v1/admin/init", tag = "admin", security(("bearer" = [])),
    request_body = InitBody,
    responses((status = 200, description = "The directories, and the templates written", body = Initialised), (status = 422, description = "Not confirmed", body = ErrorBody)))]
pub(super) async fn init_orb(State(s): State<AppState>, Json(body): Json<InitBody>) -> ApiResult {
    confirmed(&body.confirm, "INIT")?;
    let broker = s.broker();
    let paths = broker.paths();
    for dir in [
        Some(&paths.config_dir),
        Some(&paths.work_dir),
        paths.log_dir.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            BrokerError::Config(format!("cannot make the directory {}: {e}", dir.display()))
        })?;
    }
    let templates = match body.generate_templates {
        true => Some(broker.generate_templates(None, body.force).await?.into()),
        false => None,
    };
    Ok(Json(Initialised {
        config_dir: paths.config_dir.display().to_string(),
        work_dir: paths.work_dir.display().to_string(),
        log_dir: paths.log_dir.as_ref().map(|d| d.display().to_string()),
        templates,
    })
    .into_response())
}
