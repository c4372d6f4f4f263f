//! The configuration over HTTP (admin): read whole, by key or by source, and validated as a
//! reload would load it. It is changed in its file, then reloaded (SIGHUP or
//! `POST /api/v1/admin/reload-config`): the Python ORB's in-memory edits, which a reload undoes,
//! are refused with that advice.

use super::*;
use crate::config::redact;

/// A configuration tree, secrets redacted.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub(super) struct ConfigTree(Value);

/// One value of the configuration.
#[derive(Serialize, ToSchema)]
pub(super) struct ConfigValue {
    /// The dotted key.
    key: String,
    /// Its value, secrets redacted.
    #[schema(value_type = Object)]
    value: Value,
}

/// The configuration in effect, secrets redacted.
fn effective(s: &AppState) -> Value {
    let mut value = to_json(s.broker().config());
    redact(&mut value);
    value
}

/// Which configuration to read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SourceQuery {
    /// `file`: the file as written, secrets redacted; else the configuration in effect.
    source: Option<String>,
}

/// The configuration in effect (or the file as written, `?source=file`), secrets redacted.
#[utoipa::path(get, path = "/api/v1/config/", tag = "config", security(("bearer" = [])), params(SourceQuery),
    responses((status = 200, description = "The configuration", body = ConfigTree), (status = 422, description = "An unknown source", body = ErrorBody)))]
pub(super) async fn full_config(
    State(s): State<AppState>,
    Query(q): Query<SourceQuery>,
) -> ApiResult {
    match q.source.as_deref() {
        None | Some("effective") => Ok(Json(ConfigTree(effective(&s))).into_response()),
        Some("file") => {
            let broker = s.broker();
            let mut value = match broker.config_file() {
                None => Value::Object(Default::default()),
                Some(file) => std::fs::read_to_string(file)
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .ok_or_else(|| {
                        BrokerError::Config(format!("{} cannot be read as JSON", file.display()))
                    })?,
            };
            redact(&mut value);
            Ok(Json(ConfigTree(value)).into_response())
        }
        Some(other) => Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", "source"],
            format!("'{other}' is not a source: file or effective"),
        )),
    }
}

/// Where the configuration comes from.
#[derive(Serialize, ToSchema)]
pub(super) struct ConfigSources {
    /// The configuration file read, if any.
    config_file: Option<String>,
    /// The configuration directory (templates files, the systemd environment file).
    config_dir: String,
    /// `ORB_` variables of the server's environment that set configuration, by name only.
    environment: Vec<String>,
}

/// The configuration file, directory and variables in effect.
#[utoipa::path(get, path = "/api/v1/config/sources", tag = "config", security(("bearer" = [])),
    responses((status = 200, description = "The sources", body = ConfigSources)))]
pub(super) async fn config_sources(State(s): State<AppState>) -> Json<ConfigSources> {
    let broker = s.broker();
    let mut environment: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("ORB_"))
        .collect();
    environment.sort();
    Json(ConfigSources {
        config_file: broker.config_file().map(|f| f.display().to_string()),
        config_dir: broker.paths().config_dir.display().to_string(),
        environment,
    })
}

/// One value of the configuration in effect, by its dotted key (`server.port`), secrets
/// redacted.
#[utoipa::path(get, path = "/api/v1/config/{key}", tag = "config", security(("bearer" = [])),
    params(("key" = String, Path, description = "A dotted key: server.port")),
    responses((status = 200, description = "The key and its value", body = ConfigValue), (status = 404, description = "No such key", body = ErrorBody)))]
pub(super) async fn config_value(State(s): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let config = effective(&s);
    let value = key
        .split('.')
        .try_fold(&config, |v, part| match v {
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => v.get(part),
        })
        .ok_or_else(|| ApiError::not_found(format!("the configuration has no key '{key}'")))?;
    Ok(Json(ConfigValue {
        value: value.clone(),
        key,
    })
    .into_response())
}

/// Whether the configuration file as it is now would load.
#[derive(Serialize, ToSchema)]
pub(super) struct ConfigValidity {
    /// Whether it loads.
    valid: bool,
    /// Why not.
    errors: Vec<String>,
    /// Keys accepted that change nothing (the Python ORB's), with why.
    notes: Vec<String>,
}

/// Loads the configuration as a reload would, without applying it: whether it would load.
#[utoipa::path(post, path = "/api/v1/config/validate", tag = "config", security(("bearer" = [])),
    responses((status = 200, description = "Whether it loads, and why not", body = ConfigValidity)))]
pub(super) async fn validate_config(State(s): State<AppState>) -> Json<ConfigValidity> {
    let answer = match s.live.check_configuration() {
        Ok(notes) => ConfigValidity {
            valid: true,
            errors: Vec::new(),
            notes,
        },
        Err(error) => ConfigValidity {
            valid: false,
            errors: vec![error],
            notes: Vec::new(),
        },
    };
    Json(answer)
}

/// The Python ORB's in-memory configuration edits: refused (409). orb's configuration is its
/// file: edit it, then reload (SIGHUP, or `POST /api/v1/admin/reload-config`), so what runs is
/// always what a restart would run.
#[utoipa::path(put, path = "/api/v1/config/{key}", tag = "config", security(("bearer" = [])),
    params(("key" = String, Path, description = "A dotted key")),
    responses((status = 409, description = "Refused: edit the file and reload", body = ErrorBody)))]
pub(super) async fn set_config_value(Path(key): Path<String>) -> ApiError {
    in_file_only(&format!("'{key}' is set"))
}

/// The Python ORB's save of in-memory edits: refused (409), as there are none to save.
#[utoipa::path(post, path = "/api/v1/config/save", tag = "config", security(("bearer" = [])),
    responses((status = 409, description = "Refused: edit the file and reload", body = ErrorBody)))]
pub(super) async fn save_config() -> ApiError {
    in_file_only("changes are saved")
}

fn in_file_only(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "ConfigurationInFile",
        format!(
            "orb's configuration lives in its file, where {what}: edit config.json, check it with \
             POST /api/v1/config/validate, then reload (SIGHUP or POST /api/v1/admin/reload-config)"
        ),
    )
}
