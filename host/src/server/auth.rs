//! Bearer-token authentication with roles (viewer < operator < admin), tokens compared in
//! constant time. Reads need viewer, changes need operator.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::error::ApiError;
use super::AppState;
use crate::config::{AuthConfig, JwtConfig, Role};

/// The role `token` grants, if any: a configured token, or a valid unexpired HS256 JWT.
fn role_of(auth: &AuthConfig, token: &str) -> Option<Role> {
    // Compare against every token, so timing reveals neither which matched nor where.
    let mut found = None;
    for t in &auth.tokens {
        if bool::from(t.token.as_bytes().ct_eq(token.as_bytes())) {
            found = Some(t.role);
        }
    }
    found.or_else(|| jwt_role(auth.jwt.as_ref()?, token))
}

#[derive(serde::Deserialize)]
struct Claims {
    #[serde(default)]
    role: Option<Role>,
}

/// The role of a valid JWT (viewer when it names none).
fn jwt_role(jwt: &JwtConfig, token: &str) -> Option<Role> {
    let mut validation = Validation::new(Algorithm::HS256);
    if let Some(issuer) = &jwt.issuer {
        validation.set_issuer(&[issuer]);
    }
    let key = DecodingKey::from_secret(jwt.secret.as_bytes());
    match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
        Ok(data) => Some(data.claims.role.unwrap_or(Role::Viewer)),
        Err(e) => {
            tracing::debug!(error = %e, "bearer token refused");
            None
        }
    }
}

/// The role a request needs.
fn required(method: &Method) -> Role {
    if method == Method::GET || method == Method::HEAD {
        Role::Viewer
    } else {
        Role::Operator
    }
}

/// Refuses callers without a valid token (401) or with too low a role (403); logs an audit line
/// for every change.
pub async fn authorize(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let auth = &state.config.server.auth;
    let role = if auth.enabled {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "a bearer token is required: Authorization: Bearer <token>",
                )
            })?;
        role_of(auth, token).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "the bearer token is not valid",
            )
        })?
    } else {
        Role::Admin
    };
    let needed = required(request.method());
    if role < needed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "{} {} needs the {needed:?} role",
                request.method(),
                request.uri().path()
            )
            .to_lowercase(),
        ));
    }
    if needed >= Role::Operator {
        tracing::info!(target: "orb::audit", method = %request.method(), path = %request.uri().path(), role = ?role, "audit");
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenConfig;

    #[test]
    fn tokens_grant_their_role_and_others_nothing() {
        let auth = AuthConfig {
            enabled: true,
            tokens: vec![
                TokenConfig {
                    token: "view-token".into(),
                    role: Role::Viewer,
                },
                TokenConfig {
                    token: "ops-token".into(),
                    role: Role::Operator,
                },
            ],
            jwt: None,
            extra: Default::default(),
        };
        assert_eq!(role_of(&auth, "ops-token"), Some(Role::Operator));
        assert_eq!(role_of(&auth, "view-token"), Some(Role::Viewer));
        assert_eq!(role_of(&auth, "ops-toke"), None);
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(required(&Method::POST), Role::Operator);
    }
}
