//! The web console at `/ui`, in a real browser: Debian's headless Chromium driven through
//! WebDriver by tests/tools/console-browser.py (selenium and chromedriver, installed by
//! `scripts/browser install`). An operator signs in, sees a request made elsewhere appear and
//! complete live, requests machines, returns them and cancels a request, each with a
//! confirmation; a viewer, signed in with a JSON Web Token, sees no action and is refused one. Screenshots of every page, at
//! 1280 and 390 pixels wide, are kept under `target/console-screenshots/`.

use serde_json::{json, Value};

use crate::server::Server;
use crate::support::{repo_root, HfSite};

const OPERATOR: &str = "console-operator-token-0123456789abcdef";
const JWT_SECRET: &str = "console-jwt-secret-0123456789abcdef0123";

/// A JSON Web Token granting the viewer role for ten minutes, signed with the server's secret.
fn viewer_jwt() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "console-viewer", "role": "viewer", "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A site whose machines take 15 s to come up: long enough, on a loaded machine, for the
/// browser to catch a request running and cancel it.
fn site(auth: bool) -> HfSite {
    let auth = if auth {
        json!({"enabled": true, "tokens": [{"token": OPERATOR, "role": "operator"}],
            "jwt": {"secret": JWT_SECRET}})
    } else {
        json!({"enabled": false})
    };
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 15}}]},
            "server": {"auth": auth},
            "logging": {"level": "debug"}
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 20, "vmType": "m5.large", "imageId": "img"},
            {"templateId": "Large", "maxNumber": 4, "vmType": "m5.4xlarge", "imageId": "img"}
        ]}),
    )
}

#[test]
fn an_operator_and_a_viewer_use_the_console_in_a_real_browser() {
    let python = repo_root().join("target/browser-venv/bin/python");
    assert!(
        python.exists() && std::path::Path::new("/usr/bin/chromedriver").exists(),
        "the browser is missing: run `scripts/browser install` (scripts/test does)"
    );
    let site = site(true);
    let server = Server::start(&site);
    let screenshots = repo_root().join("target/console-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    // The operator signs in with a bearer token, the viewer with a JSON Web Token.
    let viewer = viewer_jwt();
    let plan = json!({"base": server.address(), "operator": OPERATOR, "viewer": viewer,
        "screenshots": screenshots});
    let run = site.run(
        std::process::Command::new(python)
            .arg(repo_root().join("tests/tools/console-browser.py"))
            .arg(plan.to_string()),
        &[],
    );
    run.expect_code(0);
    let seen: Value = run.json();

    // Signed in for the tab alone: no cookie, nothing kept beyond the session, no token in an
    // address, and forgotten on signing out.
    assert_eq!(seen["token_in_session_storage"], true, "{seen}");
    assert_eq!(seen["token_in_local_storage"], false, "{seen}");
    assert_eq!(seen["cookies"], 0, "{seen}");
    assert_eq!(seen["urls_with_token"], json!([]), "{seen}");
    assert_eq!(seen["token_after_sign_out"], Value::Null, "{seen}");
    // The strict policy held: nothing the pages did was blocked, and nothing failed but the
    // first question, asked before signing in, of who the caller is.
    assert_eq!(seen["operator_violations"], json!([]), "{seen}");
    assert_eq!(seen["viewer_violations"], json!([]), "{seen}");
    let errors = seen["operator_console_errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.as_str().unwrap().contains("/api/v1/me/ ")
                && e.as_str().unwrap().contains("401")),
        "{errors:?}"
    );

    // By keyboard: the heading takes the focus, the header is reached backwards, and the skip
    // link leads back to the page.
    assert_eq!(seen["focused_after_navigation"], "Dashboard", "{seen}");
    let order: Vec<&str> = seen["tab_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "Sign out",
            "Providers",
            "Templates",
            "Machines",
            "Requests",
            "Dashboard",
            "orb",
            "Skip to the page"
        ],
        "{seen}"
    );
    assert_eq!(seen["skip_link_leads_to"], "main", "{seen}");
    assert_eq!(seen["skip_link_kept_the_page"], true, "{seen}");

    // Live: a request made elsewhere appeared running and completed, in place.
    assert!(
        seen["appeared_as"].as_str().unwrap().contains("running"),
        "{seen}"
    );
    assert!(
        seen["completed_as"]
            .as_str()
            .unwrap()
            .contains("complete 2 / 2"),
        "{seen}"
    );
    let outside = seen["appeared_as"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(
        seen["focus_after_redraws"],
        format!("link:#/requests/{outside}"),
        "the focus stayed on the request's link: {seen}"
    );

    // What the operator did, as the server holds it.
    let token = Some(OPERATOR);
    let made = seen["requested_from_console"].as_str().unwrap();
    let (code, status) = server.call("GET", &format!("/api/v1/requests/{made}"), None, token);
    assert_eq!(code, 200);
    assert_eq!(
        status["requests"][0]["machines"].as_array().unwrap().len(),
        3,
        "{status}"
    );
    let returned = seen["returned_by"].as_str().unwrap();
    let (code, ret) = server.call("GET", &format!("/api/v1/requests/{returned}"), None, token);
    assert_eq!(code, 200, "{ret}");
    assert_eq!(
        ret["requests"][0]["machines"].as_array().unwrap().len(),
        3,
        "{ret}"
    );
    let cancelled = seen["cancelled"].as_str().unwrap();
    let (_, cancelled) = server.call("GET", &format!("/api/v1/requests/{cancelled}"), None, token);
    assert!(
        cancelled["requests"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("cancel"),
        "{cancelled}"
    );
    let providers = seen["providers_page"].as_str().unwrap();
    assert!(
        providers.contains("orb-provider-mock")
            && providers.contains(orb_plugin_api::INTERFACE_VERSION),
        "{providers}"
    );

    // A viewer sees no action, and the server refuses one anyway.
    assert_eq!(seen["viewer_header"], "signed in: viewer", "{seen}");
    assert_eq!(seen["viewer_template_actions"], 0, "{seen}");
    assert_eq!(seen["viewer_request_actions"], 0, "{seen}");
    assert_eq!(seen["viewer_machine_checkboxes"], 0, "{seen}");
    assert_eq!(seen["viewer_request_refused"], 403, "{seen}");

    // Neither token reached orb's log.
    let log = site.log();
    assert!(log.contains("audit"), "the log was written");
    assert!(!log.contains(OPERATOR) && !log.contains(&viewer));

    // A screenshot of each page at each width.
    for page in [
        "dashboard",
        "requests",
        "request",
        "templates",
        "machines",
        "providers",
    ] {
        for width in [1280, 390] {
            let png = std::fs::read(screenshots.join(format!("{page}-{width}.png")))
                .unwrap_or_else(|e| panic!("{page}-{width}.png: {e}"));
            assert!(
                png.starts_with(b"\x89PNG") && png.len() > 5_000,
                "{page}-{width}"
            );
        }
    }
}

/// The console's files carry a strict Content-Security-Policy, and a change sent by a browser
/// from another site's page is refused before it reaches the broker (with authentication off,
/// as on a workstation, nothing else would stop it).
#[test]
fn the_console_is_locked_to_its_own_origin() {
    let site = site(false);
    let server = Server::start(&site);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let url = |path: &str| format!("{}{path}", server.address());

    let page = agent.get(&url("/ui")).call().unwrap();
    assert_eq!(page.status().as_u16(), 308);
    assert_eq!(page.headers()["location"], "/ui/");
    for (path, kind) in [
        ("/ui/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ] {
        let answer = agent.get(&url(path)).call().unwrap();
        assert_eq!(answer.status().as_u16(), 200, "{path}");
        let headers = answer.headers();
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("default-src 'none'")
                && policy.contains("script-src 'self'")
                && policy.contains("frame-ancestors 'none'")
                && !policy.contains("unsafe"),
            "{policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }

    let body = r#"{"template_id": "Small", "count": 1}"#;
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        let mut answer = agent
            .post(&url("/api/v1/machines/request"))
            .header("Content-Type", "application/json")
            .header(name, value)
            .send(body)
            .unwrap();
        assert_eq!(answer.status().as_u16(), 403, "{name}: {value}");
        let refused: Value = answer.body_mut().read_json().unwrap();
        assert_eq!(refused["error"]["code"], "CrossSiteRequest", "{refused}");
    }
    let (_, listed) = server.get("/api/v1/requests/");
    assert_eq!(
        listed["total_count"], 0,
        "a refused change made nothing: {listed}"
    );

    // The console's own calls, and callers that are not browsers, go through.
    let same = agent
        .post(&url("/api/v1/machines/request"))
        .header("Content-Type", "application/json")
        .header("Origin", server.address())
        .header("Sec-Fetch-Site", "same-origin")
        .send(body)
        .unwrap();
    assert_eq!(same.status().as_u16(), 202);
    let (code, _) = server.post(
        "/api/v1/machines/request",
        json!({"template_id": "Small", "count": 1}),
    );
    assert_eq!(code, 202);
}

/// Answers are gzipped for callers that accept it, the console's browser among them; an event
/// stream never is, so that its events leave as they happen.
#[test]
fn answers_are_compressed_for_browsers_and_event_streams_are_not() {
    let site = site(false);
    let server = Server::start(&site);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = |path: &str| format!("{}{path}", server.address());
    let plain = agent
        .get(&url("/ui/app.js"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let mut gzipped = agent
        .get(&url("/ui/app.js"))
        .header("Accept-Encoding", "gzip")
        .call()
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let packed = gzipped.body_mut().read_to_vec().unwrap();
    assert!(
        packed.starts_with(&[0x1f, 0x8b]) && packed.len() * 3 < plain.len(),
        "{} bytes gzipped of {}",
        packed.len(),
        plain.len()
    );
    let events = agent
        .get(&url("/api/v1/events/"))
        .header("Accept-Encoding", "gzip")
        .call()
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert!(events.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert!(events.headers().get("content-encoding").is_none());
}
