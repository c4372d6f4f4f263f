//! The dialect of each REST answer (see [`crate::dialect`]): the one the call names in its
//! `X-ORB-Scheduler` header, else `scheduler.type`. The configuration routes answer the
//! configuration as it is written, whatever the dialect.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::dialect::{Dialect, HEADER};

/// The most of an answer that is rewritten: far above any page the API answers.
const MAX_ANSWER: usize = 256 << 20;

/// The dialect a call with `headers` asks for: its `X-ORB-Scheduler` header, else
/// `scheduler.type`; a header naming no dialect is refused (422).
pub fn of_call(state: &AppState, headers: &HeaderMap) -> Result<Dialect, ApiError> {
    match headers.get(HEADER).map(|v| v.to_str()) {
        None => Ok(state.config.scheduler.dialect()),
        Some(named) => named.ok().and_then(Dialect::parse).ok_or_else(|| {
            ApiError::invalid(
                StatusCode::UNPROCESSABLE_ENTITY,
                &["header", "X-ORB-Scheduler"],
                "X-ORB-Scheduler must be hostfactory (or hf) or default",
            )
        }),
    }
}

/// Answers in the dialect the call or the configuration names (server-sent events choose
/// theirs as they stream).
pub async fn speak(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let dialect = match of_call(&state, request.headers()) {
        Ok(dialect) => dialect,
        Err(refused) => return refused.into_response(),
    };
    let as_written = request.uri().path().starts_with("/api/v1/config");
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if dialect == Dialect::HostFactory || as_written || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ANSWER).await else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "the answer could not be read to rewrite it",
        )
        .into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    dialect.apply(&mut value);
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
