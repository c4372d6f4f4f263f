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
use crate::config::{AuthConfig, Role};

/// The role `token` grants, if any: a configured token, a valid unexpired HS256 JWT, or a
/// token the Python ORB minted (`strategy: bearer_token`).
fn role_of(auth: &AuthConfig, token: &str) -> Option<Role> {
    // Compare against every token, so timing reveals neither which matched nor where.
    let mut found = None;
    for t in &auth.tokens {
        if bool::from(t.token.as_bytes().ct_eq(token.as_bytes())) {
            found = Some(t.role);
        }
    }
    found
        .or_else(|| {
            let jwt = auth.jwt.as_ref()?;
            let key = Key {
                secret: &jwt.secret,
                algorithm: Algorithm::HS256,
                issuer: jwt.issuer.as_deref(),
                leeway: jwt.leeway_seconds,
            };
            jwt_role(&key, token)
        })
        .or_else(|| {
            let orb = auth.orb_bearer_tokens()?;
            let key = Key {
                secret: &orb.secret_key,
                algorithm: orb_algorithm(&orb.algorithm)?,
                issuer: None,
                leeway: 0,
            };
            jwt_role(&key, token)
        })
}

/// How a JSON Web Token is checked.
struct Key<'a> {
    secret: &'a str,
    algorithm: Algorithm,
    /// The `iss` required, if any.
    issuer: Option<&'a str>,
    /// Seconds of clock difference allowed.
    leeway: u64,
}

/// The algorithm of the Python ORB's `bearer_token.algorithm`, if orb takes it.
pub fn orb_algorithm(name: &str) -> Option<Algorithm> {
    match name.to_ascii_uppercase().as_str() {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    /// orb's claim: one role.
    #[serde(default)]
    role: Option<Role>,
    /// The Python ORB's claim: a list of roles or groups.
    #[serde(default)]
    roles: Vec<String>,
}

impl Claims {
    /// The role granted: `role`, else the highest the `roles` list names as the Python ORB
    /// reads it (`admin`/`orb-admin`, `operator`/`orb-operator`, anything else a viewer).
    fn role(&self) -> Role {
        self.role.unwrap_or_else(|| {
            self.roles
                .iter()
                .map(|r| match r.to_ascii_lowercase().as_str() {
                    "admin" | "orb-admin" => Role::Admin,
                    "operator" | "orb-operator" => Role::Operator,
                    _ => Role::Viewer,
                })
                .max()
                .unwrap_or(Role::Viewer)
        })
    }
}

/// The role of a valid JWT (viewer when it names none).
fn jwt_role(key: &Key<'_>, token: &str) -> Option<Role> {
    let mut validation = Validation::new(key.algorithm);
    validation.leeway = key.leeway;
    validation.validate_nbf = true;
    if let Some(issuer) = key.issuer {
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
    }
    let decoding = DecodingKey::from_secret(key.secret.as_bytes());
    match jsonwebtoken::decode::<Claims>(token, &decoding, &validation) {
        Ok(data) => Some(data.claims.role()),
        Err(e) => {
            tracing::debug!(error = %e, "bearer token refused");
            None
        }
    }
}

/// Whether a request's `Host` names this server: a loopback name or address, or one of
/// `allowed` (`*` allows any). Refusing other names stops a web page from reaching a loopback
/// server through a DNS name it rebinds to 127.0.0.1.
pub fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(host))
    {
        return true;
    }
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
        return true;
    }
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a request whose `Host` header names another server (421).
pub async fn check_host(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !host_allowed(host, &state.config.server.allowed_hosts) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "MisdirectedRequest",
            format!(
                "this server does not answer to Host '{}'; add it to server.allowed_hosts",
                host.unwrap_or_default()
            ),
        ));
    }
    Ok(next.run(request).await)
}

/// Whether a change may come from where the browser says it does. A browser names where a
/// call comes from in `Sec-Fetch-Site` (which a page cannot set): a change from anywhere but
/// the server's own origin (`same-origin`) or the user's own hand (`none`) is a cross-site
/// request forgery. A browser too old to send it is judged by `Origin`, whose host must be the
/// request's `Host`. Reads, and callers that are not browsers (neither header), pass.
fn same_site(
    method: &Method,
    origin: Option<&str>,
    fetch_site: Option<&str>,
    host: Option<&str>,
) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = fetch_site {
        return site == "same-origin" || site == "none";
    }
    match origin {
        None => true,
        Some(origin) => {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/'));
            origin_host.is_some() && origin_host == host
        }
    }
}

/// Refuses a change sent by a browser from another site's page (403): the console's own calls
/// come from its origin.
pub async fn refuse_cross_site(request: Request, next: Next) -> Result<Response, ApiError> {
    if let Some(refused) = cross_site(&request) {
        return Err(refused);
    }
    Ok(next.run(request).await)
}

/// Why `request` is refused as a cross-site change, if it is.
fn cross_site(request: &Request) -> Option<ApiError> {
    let header =
        |name: header::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok());
    let origin = header(header::ORIGIN);
    if same_site(
        request.method(),
        origin,
        header(header::HeaderName::from_static("sec-fetch-site")),
        header(header::HOST),
    ) {
        return None;
    }
    Some(ApiError::new(
        StatusCode::FORBIDDEN,
        "CrossSiteRequest",
        format!(
            "{} {} came from another site's page ({}); changes are taken from orb's own console and from callers that are not browsers",
            request.method(),
            request.uri().path(),
            origin.unwrap_or("Sec-Fetch-Site: cross-site")
        ),
    ))
}

/// The role a request needs: admin to administer (`/api/v1/admin/`), to read or change the
/// configuration (`/api/v1/config/`), to change templates and to purge stored rows, as the
/// Python ORB requires; else viewer to read (and to validate a template), operator to change.
fn required(method: &Method, path: &str) -> Role {
    // The MCP endpoint is POSTed for reads too: each tool is allowed by the caller's role
    // inside it.
    if path == "/mcp" || path.starts_with("/mcp/") {
        return Role::Viewer;
    }
    // Validating a template changes nothing: a viewer may, as the console's templates page does.
    let reads = method == Method::GET
        || method == Method::HEAD
        || (method == Method::POST && path == "/api/v1/templates/validate");
    let template_change = path.starts_with("/api/v1/templates")
        && !reads
        && !path.ends_with("/validate")
        && !path.ends_with("/refresh");
    let purge = path.ends_with("/purge")
        || (method == Method::DELETE && path.starts_with("/api/v1/machines/"));
    if path.starts_with("/api/v1/admin/")
        || path.starts_with("/api/v1/config")
        || template_change
        || purge
    {
        Role::Admin
    } else if reads {
        Role::Viewer
    } else {
        Role::Operator
    }
}

/// Refuses callers without a valid token (401) or with too low a role (403); logs an audit line
/// for every change.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
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
                let mut why =
                    "a bearer token is required: Authorization: Bearer <token>".to_owned();
                if request.uri().path() == "/openapi.json" {
                    why.push_str(&format!(
                        "; a browser opens the documentation at /docs (its document is at {}), \
                         or list /openapi.json in server.auth.public_paths",
                        super::api::DOCS_DOCUMENT
                    ));
                }
                ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", why)
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
    let needed = required(request.method(), request.uri().path());
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
    request.extensions_mut().insert(Caller {
        role,
        authenticated: auth.enabled,
    });
    // For the MCP server, which keeps what a viewer may not do to itself.
    request.extensions_mut().insert(role);
    Ok(next.run(request).await)
}

/// Who is calling, as authorization found: handed to the routes.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The role the caller's token grants (admin when auth is off).
    pub role: Role,
    /// Whether a token said so (false when auth is off).
    pub authenticated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenConfig;

    #[test]
    fn a_change_from_another_sites_page_is_refused() {
        let host = Some("127.0.0.1:8000");
        let post = Method::POST;
        assert!(same_site(&post, None, None, host), "not a browser");
        assert!(same_site(
            &post,
            Some("http://127.0.0.1:8000"),
            Some("same-origin"),
            host
        ));
        assert!(!same_site(&post, Some("http://evil.example"), None, host));
        assert!(!same_site(&post, Some("http://127.0.0.1:8001"), None, host));
        assert!(!same_site(&post, Some("null"), None, host));
        assert!(!same_site(&Method::DELETE, None, Some("cross-site"), host));
        assert!(!same_site(
            &post,
            Some("http://127.0.0.1:8000"),
            Some("same-site"),
            host
        ));
        assert!(same_site(
            &Method::GET,
            Some("http://evil.example"),
            Some("cross-site"),
            host
        ));
    }

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
            strategy: None,
            bearer_token: None,
            public_paths: Vec::new(),
            extra: Default::default(),
        };
        assert_eq!(role_of(&auth, "ops-token"), Some(Role::Operator));
        assert_eq!(role_of(&auth, "view-token"), Some(Role::Viewer));
        assert_eq!(role_of(&auth, "ops-toke"), None);
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(
            required(&Method::POST, "/api/v1/machines/request"),
            Role::Operator
        );
    }

    #[test]
    fn administration_configuration_template_changes_and_purges_need_the_admin_role() {
        for (method, path) in [
            (Method::POST, "/api/v1/admin/database/wipe"),
            (Method::GET, "/api/v1/config/"),
            (Method::POST, "/api/v1/templates/"),
            (Method::PUT, "/api/v1/templates/t"),
            (Method::DELETE, "/api/v1/templates/t"),
            (Method::DELETE, "/api/v1/machines/i-1"),
            (Method::POST, "/api/v1/requests/req-1/purge"),
        ] {
            assert_eq!(required(&method, path), Role::Admin, "{method} {path}");
        }
        for (method, path, role) in [
            (Method::POST, "/api/v1/templates/validate", Role::Viewer),
            (Method::POST, "/api/v1/templates/refresh", Role::Operator),
            (Method::GET, "/api/v1/templates/", Role::Viewer),
            (Method::DELETE, "/api/v1/requests/req-1", Role::Operator),
        ] {
            assert_eq!(required(&method, path), role, "{method} {path}");
        }
    }

    #[test]
    fn only_loopback_hosts_and_the_allowed_ones_are_answered() {
        let none: Vec<String> = Vec::new();
        for ok in [
            "127.0.0.1:8000",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8000",
            "127.9.9.9",
        ] {
            assert!(host_allowed(Some(ok), &none), "{ok}");
        }
        for bad in ["evil.example:8000", "10.0.0.1", "localhost.evil.example"] {
            assert!(!host_allowed(Some(bad), &none), "{bad}");
        }
        assert!(!host_allowed(None, &none));
        let allowed = vec!["orb.internal".to_owned()];
        assert!(host_allowed(Some("orb.internal:8000"), &allowed));
        assert!(host_allowed(Some("anything"), &["*".to_owned()]));
    }

    fn jwt(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn auth(value: serde_json::Value) -> AuthConfig {
        serde_json::from_value(value).unwrap()
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn jwts_need_the_configured_claims_within_a_small_leeway() {
        let config = auth(serde_json::json!({"enabled": true,
            "jwt": {"secret": SECRET, "issuer": "orb-tests", "leeway_seconds": 5}}));
        let now = now();
        let good =
            jwt(serde_json::json!({"exp": now + 60, "iss": "orb-tests", "role": "operator"}));
        assert_eq!(role_of(&config, &good), Some(Role::Operator));
        let expired = jwt(serde_json::json!({"exp": now - 50, "iss": "orb-tests"}));
        assert_eq!(role_of(&config, &expired), None, "expired 50 s ago");
        let no_issuer = jwt(serde_json::json!({"exp": now + 60}));
        assert_eq!(role_of(&config, &no_issuer), None, "iss is required");
        let early =
            jwt(serde_json::json!({"exp": now + 600, "nbf": now + 300, "iss": "orb-tests"}));
        assert_eq!(role_of(&config, &early), None, "not valid before nbf");
    }

    #[test]
    fn tokens_the_python_orb_minted_keep_their_roles() {
        // As ORB's bearer_token strategy mints them.
        let minted = |roles: serde_json::Value, exp: i64| {
            jwt(
                serde_json::json!({"sub": "ops", "roles": roles, "permissions": [],
                "type": "access", "iat": now(), "exp": exp, "iss": "open-resource-broker"}),
            )
        };
        let orb = serde_json::json!({"enabled": true, "strategy": "bearer_token",
            "bearer_token": {"secret_key": SECRET, "algorithm": "HS256", "token_expiry": 3600}});
        let config = auth(orb.clone());
        let later = now() + 600;
        assert_eq!(
            role_of(&config, &minted(serde_json::json!(["admin"]), later)),
            Some(Role::Admin)
        );
        assert_eq!(
            role_of(
                &config,
                &minted(serde_json::json!(["viewer", "orb-operator"]), later)
            ),
            Some(Role::Operator)
        );
        assert_eq!(
            role_of(&config, &minted(serde_json::json!(["staff"]), later)),
            Some(Role::Viewer)
        );
        assert_eq!(
            role_of(&config, &minted(serde_json::json!(["admin"]), now() - 60)),
            None
        );
        // Another strategy does not take them.
        let mut none = orb;
        none["strategy"] = serde_json::json!("none");
        assert_eq!(
            role_of(&auth(none), &minted(serde_json::json!(["admin"]), later)),
            None
        );
    }
}
