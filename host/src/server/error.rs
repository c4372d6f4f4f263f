//! The API's one error shape, the Python ORB's envelope:
//! `{"success": false, "error": {"code", "message", "details"}, "timestamp", "correlation_id"}`,
//! plus, on a 422, FastAPI's `"detail": [{"loc", "msg", "type"}]` that ORB's clients read.
//! Handlers' errors have it, and through [`json_errors`] so does what the framework answers by
//! itself (malformed or oversized bodies, wrong content types, unknown routes and methods).

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::broker::BrokerError;

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Where in the call the problem is (`["body", "machineIds"]`), for a 422's `detail`.
    location: Vec<String>,
    /// Each problem, for a 422's `detail` (the message alone when empty).
    problems: Vec<String>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            location: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NotFound", what)
    }

    /// A call whose input is not valid, at `location` (`["query", "limit"]`).
    pub fn invalid(status: StatusCode, location: &[&str], message: impl Into<String>) -> Self {
        ApiError {
            location: location.iter().map(|l| (*l).to_owned()).collect(),
            ..ApiError::new(status, "ValidationError", message)
        }
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        let status = match &e {
            BrokerError::BadInput(_) => StatusCode::BAD_REQUEST,
            BrokerError::NotFound(_) => StatusCode::NOT_FOUND,
            BrokerError::Invalid(problems) => {
                return ApiError {
                    problems: problems.clone(),
                    ..ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, &["body"], e.to_string())
                }
            }
            BrokerError::Conflict(_) => StatusCode::CONFLICT,
            BrokerError::Provider(p) if p.retryable() => StatusCode::SERVICE_UNAVAILABLE,
            BrokerError::Provider(_) => StatusCode::BAD_GATEWAY,
            BrokerError::Factory(_) | BrokerError::Config(_) => StatusCode::SERVICE_UNAVAILABLE,
            BrokerError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.kind(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let correlation_id = uuid::Uuid::new_v4().to_string();
        if self.status.is_server_error() {
            tracing::error!(correlation_id, code = self.code, error = %self.message, "request failed");
        }
        let details = (!self.location.is_empty()).then(|| json!({"loc": self.location}));
        let mut body = json!({
            "success": false,
            "error": {"code": self.code, "message": self.message, "details": details},
            "timestamp": crate::views::time(crate::domain::now()),
            "correlation_id": correlation_id,
        });
        if self.status == StatusCode::UNPROCESSABLE_ENTITY {
            let location = if self.location.is_empty() {
                vec!["body".to_owned()]
            } else {
                self.location
            };
            let problems = if self.problems.is_empty() {
                vec![body["error"]["message"].clone()]
            } else {
                self.problems.into_iter().map(Value::String).collect()
            };
            body["detail"] = problems
                .into_iter()
                .map(|msg| json!({"loc": location, "msg": msg, "type": "value_error"}))
                .collect();
        }
        (self.status, Json::<Value>(body)).into_response()
    }
}

/// The most of a framework answer's text that becomes an error message.
const MAX_MESSAGE: usize = 1024;

/// The error code of a status the framework answers by itself.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "PayloadTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        s if s.is_server_error() => "Internal",
        _ => "BadInput",
    }
}

/// Gives every error answer that is not yet JSON the API's error shape, keeping its status
/// and headers (`Allow`, `Retry-After`); the framework's text becomes the message.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let route = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_MESSAGE).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = match (text.is_empty(), status) {
        (false, _) => text,
        (true, StatusCode::NOT_FOUND) => format!("no route {route:.200}; see /openapi.json"),
        (true, StatusCode::METHOD_NOT_ALLOWED) => format!(
            "{route:.200} is not allowed; allowed: {}",
            parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
        ),
        (true, _) => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut answer = ApiError::new(status, code_of(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}
