//! The API's one error shape: `{"error": {"code", "message"}, "correlation_id"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::broker::BrokerError;

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NotFound", what)
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        let status = match &e {
            BrokerError::BadInput(_) => StatusCode::BAD_REQUEST,
            BrokerError::NotFound(_) => StatusCode::NOT_FOUND,
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
        let body = json!({
            "error": {"code": self.code, "message": self.message},
            "correlation_id": correlation_id,
        });
        (self.status, Json(body)).into_response()
    }
}
