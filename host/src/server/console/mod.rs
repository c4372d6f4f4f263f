//! The web console at `/ui`: one page, its script and its style sheet, all in the binary. The
//! page itself holds nothing secret and is served to anyone; everything it shows comes from
//! the API, with the bearer token the operator signs in with (kept in the tab's session
//! storage, sent only in the `Authorization` header).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// What the console's pages may load and reach: their own scripts, styles and API, nothing
/// inline, nothing from elsewhere, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The console's files: (path under `/ui/`, content type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("assets/icon.svg")),
];

/// The console's routes: `/ui` (redirected to `/ui/`) and its files.
pub fn router() -> Router<AppState> {
    let mut router = Router::new().route("/ui", get(|| async { Redirect::permanent("/ui/") }));
    for (path, content_type, body) in ASSETS {
        router = router.route(
            &format!("/ui/{path}"),
            get(move || async move { asset(content_type, body) }),
        );
    }
    router
}

/// One file, with the headers that keep the console's pages to themselves.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // The files change with the binary: asked again, and answered from memory.
        (header::CACHE_CONTROL, "no-cache"),
    ]
    .map(|(name, value)| (name, HeaderValue::from_static(value)));
    (StatusCode::OK, headers, body).into_response()
}
