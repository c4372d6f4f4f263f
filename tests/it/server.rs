//! Service mode: the real `orb serve` on a loopback port, driven through HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{aws_plugin, external_plugin, HfSite, Moto};

/// A running `orb serve`; killed when dropped.
pub(crate) struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Server {
    pub(crate) fn start(site: &HfSite) -> Server {
        Self::spawn(site, None, &[])
    }

    /// Starts the server with `env` added to the site's environment.
    pub(crate) fn start_with(site: &HfSite, env: &[(&str, &str)]) -> Server {
        Self::spawn(site, None, env)
    }

    /// Starts the server as if on the host `name`: in a UTS namespace of its own (`unshare(1)`)
    /// whose host name is `name`, so that the other processes cannot ask their kernel whether
    /// it is alive and must go by what it keeps in the shared store.
    pub(crate) fn start_on_host(site: &HfSite, name: &str) -> Server {
        Self::spawn(site, Some(name), &[])
    }

    fn spawn(site: &HfSite, host: Option<&str>, env: &[(&str, &str)]) -> Server {
        let orb = site.path().join("install/bin/orb");
        let mut cmd = match host {
            None => Command::new(orb),
            Some(name) => {
                let mut cmd = Command::new("/usr/bin/unshare");
                cmd.args([
                    "--uts",
                    "--",
                    "/bin/sh",
                    "-c",
                    r#"hostname "$0" && exec "$@""#,
                ])
                .arg(name)
                .arg(orb);
                cmd
            }
        };
        cmd.args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = site
            .command(&mut cmd, env)
            .spawn()
            .expect("orb serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("orb serve prints its address");
        let listening: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        Server {
            child,
            base: listening["listening"].as_str().unwrap().to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// `(status, body)` of a call, with `token` as bearer token when given.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut response = match (method, body) {
            ("GET", _) => {
                let get = || {
                    let mut r = self.agent.get(&url);
                    if let Some(a) = &auth {
                        r = r.header("Authorization", a);
                    }
                    r.call()
                };
                // A pooled keep-alive connection can close as it is reused (seen under heavy
                // load, the server alive); a GET is retried once on another, as HTTP allows
                // for idempotent calls.
                match get() {
                    Err(ureq::Error::Io(e)) => {
                        eprintln!("GET {path}: {e}; retried on another connection");
                        get()
                    }
                    answered => answered,
                }
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (method, body) => {
                let mut r = match method {
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.post(&url),
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send_json(body.unwrap_or(json!({})))
            }
        }
        .expect("the server answers");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_json::<Value>()
            .unwrap_or(Value::Null);
        (status, body)
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn address(&self) -> &str {
        &self.base
    }

    /// `(status, body)` of a GET with `headers`.
    pub(crate) fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().expect("the server answers");
        let body = response
            .body_mut()
            .read_json::<Value>()
            .unwrap_or(Value::Null);
        (response.status().as_u16(), body)
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, None)
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body), None)
    }

    /// Asks for `count` machines of template `Small`; returns the request id.
    fn request(&self, count: u32) -> String {
        let (code, accepted) = self.post(
            "/api/v1/machines/request",
            json!({"templateId": "Small", "machineCount": count}),
        );
        assert_eq!(code, 202, "{accepted}");
        accepted["requestId"].as_str().unwrap().to_owned()
    }

    /// Asks for a reload and checks it is refused (422) with a message containing `why`.
    fn reload_refused(&self, why: &str) {
        let (code, refused) = self.post("/api/v1/admin/reload-config", json!({}));
        assert_eq!(code, 422, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{refused}");
    }

    pub(crate) fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None, None)
    }

    /// The stored machines of a request.
    fn machines_of(&self, request_id: &str) -> Vec<Value> {
        let (code, body) = self.get(&format!("/api/v1/machines/?request_id={request_id}"));
        assert_eq!(code, 200, "{body}");
        body["machines"].as_array().unwrap().clone()
    }

    /// The body of a plain-text page.
    pub(crate) fn text(&self, path: &str) -> String {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 200);
        response.body_mut().read_to_string().expect("a text body")
    }

    /// The `(event, data)` pairs of a server-sent-events stream, read until it ends.
    fn stream(&self, path: &str) -> Vec<(String, Value)> {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .expect("the server answers");
        let text = response
            .body_mut()
            .read_to_string()
            .expect("the stream ends");
        let mut events = Vec::new();
        let mut event = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                events.push((
                    event.clone(),
                    serde_json::from_str(data).expect("JSON data"),
                ));
            }
        }
        events
    }

    /// The `(event, data, id)` of a stream that does not end, read until `enough` holds of
    /// what was read (at most 30 s), with `headers` sent.
    pub(crate) fn events_until(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        enough: impl Fn(&[(String, Value, Option<String>)]) -> bool,
    ) -> Vec<(String, Value, Option<String>)> {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().expect("the server answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let reader = BufReader::new(response.body_mut().as_reader());
        let started = Instant::now();
        let (mut events, mut event, mut id) = (Vec::new(), String::new(), None);
        for line in reader.lines() {
            let line = line.expect("the stream reads");
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_owned();
            } else if let Some(value) = line.strip_prefix("id: ") {
                id = Some(value.to_owned());
            } else if let Some(data) = line.strip_prefix("data: ") {
                let data = serde_json::from_str(data).expect("JSON data");
                events.push((std::mem::take(&mut event), data, id.take()));
                if enough(&events) {
                    return events;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not enough events: {events:?}"
            );
        }
        panic!("the stream ended: {events:?}");
    }

    /// Polls a request's status until it is done.
    pub(crate) fn settle(&self, request_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let (code, answer) = self.get(&format!("/api/v1/requests/{request_id}/status"));
            assert_eq!(code, 200, "{answer}");
            assert_eq!(
                answer["requests"].as_array().map(Vec::len),
                Some(1),
                "{answer}"
            );
            let status = answer["requests"][0].clone();
            if status["status"] != "running" {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never settled: {status}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Sends SIGTERM and returns the exit code.
    pub(crate) fn terminate(mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "orb serve did not stop"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Server {
    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mock_site(mock: Value, server: Value) -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock", "config": mock}]},
            "server": server,
            "logging": {"level": "debug"}
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 10, "vmType": "m5.large", "imageId": "img"}
        ]}),
    )
}

#[test]
fn the_api_drives_requests_and_returns_to_completion() {
    let site = mock_site(
        json!({"pending_seconds": 1}),
        json!({"reconcile_interval_seconds": 1}),
    );
    let server = Server::start(&site);
    assert_eq!(server.get("/livez").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
    let (code, health) = server.get("/health");
    assert_eq!(
        (code, &health["status"]),
        (200, &json!("healthy")),
        "{health}"
    );

    let (code, templates) = server.get("/api/v1/templates/");
    assert_eq!(code, 200);
    assert_eq!(templates["templates"][0]["templateId"], "Small");
    assert_eq!(
        server.get("/api/v1/templates/Small").1["attributes"]["ncpus"],
        json!(["Numeric", "2"])
    );
    let (code, missing) = server.get("/api/v1/templates/Nope");
    assert_eq!(code, 404);
    assert_eq!(missing["error"]["code"], "NotFound");
    assert!(missing["correlation_id"].is_string());

    // camelCase and snake_case bodies.
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": "Small", "machineCount": 2}),
    );
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["requestId"].as_str().unwrap().to_owned();
    let done = server.settle(&id);
    assert_eq!(done["status"], "complete", "{done}");
    let (code, second) = server.post(
        "/api/v1/machines/request",
        json!({"template_id": "Small", "count": 1}),
    );
    assert_eq!(code, 202, "{second}");
    let (code, bad) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": "Small", "machineCount": 0}),
    );
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("BadInput")),
        "{bad}"
    );

    // The stream of a finished request ends at once with its terminal state.
    let events = server.stream(&format!("/api/v1/requests/{id}/stream"));
    assert_eq!(
        events
            .last()
            .map(|(e, d)| (e.as_str(), d["status"].clone())),
        Some(("complete", json!("complete")))
    );
    assert_eq!(server.get("/api/v1/requests/req-nope/stream").0, 404);

    // Templates are validated through the provider, all problems at once.
    let (code, report) = server.post("/api/v1/templates/validate", json!({"templateId": "Small"}));
    assert_eq!((code, &report["valid"]), (200, &json!(true)), "{report}");
    let (_, report) = server.post(
        "/api/v1/templates/validate",
        json!({"templateId": "bad id", "maxNumber": -7}),
    );
    assert_eq!(report["valid"], false);
    assert!(
        report["problems"].as_array().unwrap().len() >= 3,
        "{report}"
    );

    let machines = server.get(&format!("/api/v1/machines/?request_id={id}")).1;
    let ids: Vec<String> = machines["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        server.get(&format!("/api/v1/machines/{}", ids[0])).1["status"],
        "running"
    );
    assert_eq!(server.get("/api/v1/machines/m-nope").0, 404);

    let (code, returned) = server.post("/api/v1/machines/return", json!({"machineIds": ids}));
    assert_eq!(code, 200, "{returned}");
    let gone = server.settle(returned["requestId"].as_str().unwrap());
    assert_eq!(gone["status"], "complete", "{gone}");
    let returns = server.get("/api/v1/requests/return").1;
    assert_eq!(returns["requests"].as_array().unwrap().len(), 1);
    let batch = server
        .post(
            "/api/v1/requests/status",
            json!({"requestIds": [id, "req-nope"]}),
        )
        .1;
    assert_eq!(batch["requests"][0]["status"], "complete");
    assert_eq!(batch["requests"][1]["status"], "complete_with_error");
    assert_eq!(
        server.get("/api/v1/requests/?status=complete").1["requests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Listings use the plugins the server loaded at start: no library is loaded again.
    for _ in 0..3 {
        assert_eq!(
            server.get("/api/v1/providers/").1["providers"][0]["name"],
            "mockinst"
        );
    }
    assert_eq!(
        site.log().matches("plugin library loaded").count(),
        1,
        "{}",
        site.log()
    );
    assert_eq!(
        server.get("/api/v1/providers/health").1["providers"][0]["status"],
        "healthy"
    );

    // Health probes reuse the server's provider instance instead of building their own.
    for _ in 0..3 {
        assert_eq!(server.get("/health").0, 200);
    }
    assert_eq!(
        site.log().matches("provider instance built").count(),
        1,
        "one provider instance per server"
    );

    // The CLI works on the same database while the server runs.
    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"].as_array().unwrap().len(), 3);
}

#[test]
fn callers_without_a_valid_token_or_role_are_refused() {
    let site = mock_site(
        json!({}),
        json!({"auth": {"enabled": true, "tokens": [
            {"token": "viewer-secret-that-is-32-bytes-long", "role": "viewer"},
            {"token": "operator-secret-that-is-32-bytes-long", "role": "operator"}
        ]}}),
    );
    let server = Server::start(&site);
    let request = json!({"templateId": "Small", "machineCount": 1});
    let (code, body) = server.call("GET", "/api/v1/requests/", None, None);
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (401, Some("Unauthorized"))
    );
    assert_eq!(
        server
            .call("GET", "/api/v1/requests/", None, Some("wrong"))
            .0,
        401
    );
    assert_eq!(
        server
            .call(
                "GET",
                "/api/v1/requests/",
                None,
                Some("viewer-secret-that-is-32-bytes-long")
            )
            .0,
        200
    );
    let (code, body) = server.call(
        "POST",
        "/api/v1/machines/request",
        Some(request.clone()),
        Some("viewer-secret-that-is-32-bytes-long"),
    );
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (403, Some("Forbidden")),
        "{body}"
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/api/v1/machines/request",
                Some(request),
                Some("operator-secret-that-is-32-bytes-long")
            )
            .0,
        202
    );
    assert_eq!(
        server
            .call(
                "DELETE",
                "/api/v1/requests/req-x",
                None,
                Some("viewer-secret-that-is-32-bytes-long")
            )
            .0,
        403,
        "cancelling needs the operator role"
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/api/v1/admin/reload-config",
                Some(json!({})),
                Some("operator-secret-that-is-32-bytes-long")
            )
            .0,
        403,
        "reloading needs the admin role"
    );
    // Probes need no token.
    assert_eq!(server.get("/livez").0, 200);
    assert!(
        site.log().contains("orb::audit"),
        "mutating calls are audited"
    );
    assert!(
        !site.log().contains("operator-secret-that-is-32-bytes-long"),
        "tokens never reach the log"
    );
}

/// Polls until `check` holds of the request's stored machines (at most 30 s).
fn wait_for_machines(
    server: &Server,
    request_id: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    until(
        "the machines",
        Duration::from_secs(30),
        || server.machines_of(request_id),
        |m| check(m),
    )
}

/// Probes every 200 ms until `done` holds of the answer (at most `limit`), and returns it.
fn until<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    probe: impl Fn() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let started = Instant::now();
    loop {
        let answer = probe();
        if done(&answer) {
            return answer;
        }
        assert!(
            started.elapsed() < limit,
            "{what} never reached the expected state: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn states(machines: &[Value]) -> Vec<&str> {
    machines
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_running_request_is_cancelled_and_its_machines_terminated() {
    let site = mock_site(
        json!({"pending_seconds": 300}),
        json!({"reconcile_interval_seconds": 1}),
    );
    let server = Server::start(&site);
    let id = server.request(2);
    wait_for_machines(&server, &id, |m| m.len() == 2);

    let (code, cancelled) = server.delete(&format!(
        "/api/v1/requests/{id}?reason=no%20longer%20needed"
    ));
    assert_eq!(code, 200, "{cancelled}");
    assert_eq!(cancelled["cancelled"], true);
    assert_eq!(cancelled["inFlight"], false);
    assert_eq!(cancelled["status"], "complete_with_error");
    assert_eq!(cancelled["message"], "cancelled: no longer needed");
    assert_eq!(cancelled["terminating"], 2, "{cancelled}");
    let ret = cancelled["returnRequestId"].as_str().unwrap().to_owned();
    assert!(ret.starts_with("ret-"), "{cancelled}");

    // The request stays cancelled while the reconcile loop runs; the return request follows
    // its machines until they are gone.
    assert_eq!(server.settle(&ret)["status"], "complete");
    let status = server.get(&format!("/api/v1/requests/{id}/status")).1["requests"][0].clone();
    assert_eq!(status["status"], "complete_with_error", "{status}");
    assert_eq!(status["message"], "cancelled: no longer needed");
    assert_eq!(
        states(&server.machines_of(&id)),
        ["terminated", "terminated"]
    );

    // Cancelling again is harmless; what cannot be cancelled says why.
    let (code, again) = server.delete(&format!("/api/v1/requests/{id}"));
    assert_eq!(
        (code, &again["returnRequestId"]),
        (200, &Value::Null),
        "{again}"
    );
    assert_eq!(again["message"], "cancelled: no longer needed");
    let (code, body) = server.delete("/api/v1/requests/req-nope");
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (404, Some("NotFound"))
    );
    let (code, body) = server.delete(&format!("/api/v1/requests/{ret}"));
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (409, Some("Conflict")),
        "{body}"
    );
    assert!(site.log().contains("orb::audit"));
}

#[test]
fn a_cancel_during_provisioning_undoes_what_the_provision_made() {
    // Every provider call takes 1.5 s: the cancel lands while the provision is in flight.
    let site = mock_site(
        json!({"pending_seconds": 300, "latency_ms": 1500}),
        // The answer comes at once, so that the cancel meets the provision in flight.
        json!({"reconcile_interval_seconds": 1, "accept_wait_seconds": 0}),
    );
    let server = Server::start(&site);
    let id = server.request(2);
    let (code, cancelled) = server.delete(&format!("/api/v1/requests/{id}"));
    assert_eq!(code, 200, "{cancelled}");
    assert_eq!(cancelled["inFlight"], true, "{cancelled}");
    assert_eq!(cancelled["status"], "complete_with_error");

    // When the provider answers, the provision finds the request cancelled and undoes it.
    let machines = wait_for_machines(&server, &id, |m| {
        m.len() == 2 && m.iter().all(|m| m["returnRequestId"].is_string())
    });
    assert!(
        states(&machines)
            .iter()
            .all(|s| ["shutting-down", "terminated"].contains(s)),
        "{machines:?}"
    );
    let status = server.get(&format!("/api/v1/requests/{id}/status")).1["requests"][0].clone();
    assert_eq!(status["status"], "complete_with_error", "{status}");
    assert_eq!(status["message"], "cancelled", "{status}");
}

#[test]
fn the_stream_follows_a_request_until_it_is_done() {
    let site = mock_site(
        json!({"pending_seconds": 2}),
        json!({"reconcile_interval_seconds": 1}),
    );
    let server = Server::start(&site);
    let id = server.request(1);
    let events = server.stream(&format!("/api/v1/requests/{id}/stream"));
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert!(names.len() >= 2 && names[0] == "status", "{events:?}");
    assert_eq!(events.first().unwrap().1["status"], "running");
    assert_eq!(names.last(), Some(&"complete"));
    assert_eq!(events.last().unwrap().1["status"], "complete");
}

#[test]
fn signed_tokens_grant_their_role_until_they_expire() {
    let secret = "a-shared-secret-of-at-least-32-bytes!";
    let site = mock_site(
        json!({}),
        json!({"auth": {"enabled": true, "jwt": {"secret": secret, "issuer": "orb-tests"}}}),
    );
    let server = Server::start(&site);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |role: &str, exp: u64, key: &str, iss: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"sub": "tester", "role": role, "exp": exp, "iss": iss}),
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let request = json!({"templateId": "Small", "machineCount": 1});
    let post = |t: &str| {
        server
            .call(
                "POST",
                "/api/v1/machines/request",
                Some(request.clone()),
                Some(t),
            )
            .0
    };
    assert_eq!(
        post(&token("operator", now + 600, secret, "orb-tests")),
        202
    );
    assert_eq!(post(&token("viewer", now + 600, secret, "orb-tests")), 403);
    assert_eq!(
        post(&token("operator", now - 120, secret, "orb-tests")),
        401,
        "expired"
    );
    assert_eq!(
        post(&token(
            "operator",
            now + 600,
            "another-secret-that-is-long-enough!!",
            "orb-tests"
        )),
        401,
        "wrong key"
    );
    assert_eq!(
        post(&token("operator", now + 600, secret, "someone-else")),
        401,
        "wrong issuer"
    );
    let shown = site.orb(&["config", "show", "--format", "json"]).json();
    assert_eq!(shown["server"]["auth"]["jwt"]["secret"], "********");
}

#[test]
fn oversized_bodies_and_clients_over_their_pace_are_refused() {
    let site = mock_site(
        json!({}),
        json!({"max_request_size": 1024, "rate_limit": {"requests_per_minute": 60, "burst": 3}}),
    );
    let server = Server::start(&site);
    let (code, _) = server.post(
        "/api/v1/requests/status",
        json!({"requestIds": ["x".repeat(2000)]}),
    );
    assert_eq!(code, 413);
    // The oversized call spent a token; two more fit in the burst, the next does not.
    assert_eq!(server.get("/api/v1/requests/").0, 200);
    assert_eq!(server.get("/api/v1/requests/").0, 200);
    let (code, body) = server.get("/api/v1/requests/");
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (429, Some("RateLimited")),
        "{body}"
    );
    // Every route is limited, probes too: an anonymous caller cannot flood the server.
    assert_eq!(server.get("/livez").0, 429);
    assert_eq!(server.get("/health").0, 429);
}

#[test]
fn probes_answer_from_the_background_check_and_call_no_provider() {
    let site = mock_site(json!({}), json!({}));
    let server = Server::start(&site);
    for _ in 0..30 {
        let (code, health) = server.get("/health");
        assert_eq!(
            (code, &health["status"]),
            (200, &json!("healthy")),
            "{health}"
        );
        assert!(health["checkedAt"].is_string(), "{health}");
    }
    assert_eq!(
        server.get("/api/v1/providers/health").1["providers"][0]["status"],
        "healthy"
    );
    let metrics = server.text("/metrics");
    let checks: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("orb_provider_calls_total") && l.contains("operation=\"health_check\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    // The check at start; 31 probes called no provider.
    assert_eq!(checks, 1, "{metrics}");
}

#[test]
fn every_error_answer_has_the_json_shape() {
    let site = mock_site(json!({}), json!({"max_request_size": 1024}));
    let server = Server::start(&site);
    let url = |path: &str| format!("{}{path}", server.base);
    let request = url("/api/v1/machines/request");
    let answers = [
        (
            "malformed JSON",
            server
                .agent
                .post(&request)
                .header("Content-Type", "application/json")
                .send("{\"templateId\": "),
        ),
        (
            "wrong content type",
            server
                .agent
                .post(&request)
                .header("Content-Type", "text/plain")
                .send("{}"),
        ),
        (
            "wrong types",
            server
                .agent
                .post(&request)
                .send_json(json!({"templateId": 5, "machineCount": "two"})),
        ),
        (
            "oversized",
            server
                .agent
                .post(&request)
                .send_json(json!({"templateId": "x".repeat(2000), "machineCount": 1})),
        ),
        (
            "unknown route",
            server.agent.get(&url("/api/v1/nothing-here")).call(),
        ),
        ("unknown top route", server.agent.get(&url("/nope")).call()),
        (
            "wrong method",
            server.agent.put(&url("/health")).send_empty(),
        ),
        (
            "bad query",
            server
                .agent
                .get(&url("/api/v1/requests/?limit=many"))
                .call(),
        ),
    ];
    let mut codes = Vec::new();
    for (what, answer) in answers {
        let mut answer = answer.expect("the server answers");
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap();
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text:?}"));
        assert!(
            body["error"]["code"].is_string()
                && !body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                && body["correlation_id"].is_string(),
            "{what}: {body}"
        );
        codes.push((status, body["error"]["code"].as_str().unwrap().to_owned()));
    }
    let expected = [
        (400, "BadInput"),
        (415, "UnsupportedMediaType"),
        (422, "BadInput"),
        (413, "PayloadTooLarge"),
        (404, "NotFound"),
        (404, "NotFound"),
        (405, "MethodNotAllowed"),
        (400, "BadInput"),
    ];
    let expected: Vec<(u16, String)> = expected
        .iter()
        .map(|(s, c)| (*s, (*c).to_owned()))
        .collect();
    assert_eq!(codes, expected);
    // Nothing was stored by any of them.
    assert_eq!(server.get("/api/v1/requests/").1["requests"], json!([]));
}

#[test]
fn generated_bodies_never_break_the_api() {
    let site = mock_site(
        json!({}),
        json!({"rate_limit": {"requests_per_minute": 100000, "burst": 10000}}),
    );
    let server = Server::start(&site);
    const ROUTES: [&str; 4] = [
        "/api/v1/machines/request",
        "/api/v1/machines/return",
        "/api/v1/requests/status",
        "/api/v1/templates/validate",
    ];
    crate::support::check_generated(
        200,
        (0..ROUTES.len(), crate::support::generated_json()),
        |(route, body)| {
            let (code, answer) = server.post(ROUTES[route], body.clone());
            proptest::prop_assert!(
                code < 500,
                "{} {body} answered {code}: {answer}",
                ROUTES[route]
            );
            if code >= 400 {
                proptest::prop_assert!(
                    answer["error"]["code"].is_string(),
                    "{} {body}: {answer}",
                    ROUTES[route]
                );
            }
            Ok(())
        },
    );
    assert_eq!(server.get("/livez").0, 200);
    assert_eq!(server.get("/api/v1/requests/").0, 200);
}

#[test]
fn a_public_address_without_authentication_is_refused() {
    let site = mock_site(json!({}), json!({}));
    let run = site.orb(&["serve", "--host", "0.0.0.0", "--port", "0"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("refusing to listen on 0.0.0.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_stops_the_server_and_a_restarted_one_finishes_the_request() {
    let site = mock_site(
        json!({"latency_ms": 1500}),
        // The answer comes at once, so that SIGTERM meets the provision in flight.
        json!({"reconcile_interval_seconds": 1, "accept_wait_seconds": 0}),
    );
    let server = Server::start(&site);
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": "Small", "machineCount": 2}),
    );
    assert_eq!(code, 202);
    let id = accepted["requestId"].as_str().unwrap().to_owned();
    // Stopped while the provider is still provisioning.
    assert_eq!(server.terminate(), Some(0), "a graceful stop exits 0");
    let restarted = Server::start(&site);
    let done = restarted.settle(&id);
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["machines"].as_array().unwrap().len(), 2);
}

#[test]
fn the_api_drives_a_request_to_completion_on_moto() {
    let moto = Moto::start();
    let s = &moto.seed;
    let site = HfSite::with_plugin(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "aws", "config": moto.provider_config()}]},
            "server": {"reconcile_interval_seconds": 1}
        }),
        json!({"templates": [{"templateId": "Fleet", "providerApi": "EC2Fleet", "fleetType": "request",
            "maxNumber": 10, "vmTypes": {"t3.medium": 1}, "imageId": s["image"], "subnetIds": s["subnets"]}]}),
        &aws_plugin(),
        vec![("AWS_EC2_METADATA_DISABLED".into(), "true".into())],
    );
    let server = Server::start(&site);
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": "Fleet", "machineCount": 3}),
    );
    assert_eq!(code, 202, "{accepted}");
    let done = server.settle(accepted["requestId"].as_str().unwrap());
    assert_eq!(done["status"], "complete", "{done}");
    let ids: Vec<&str> = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].as_str().unwrap())
        .collect();
    let (code, returned) = server.post("/api/v1/machines/return", json!({"machine_ids": ids}));
    assert_eq!(code, 200, "{returned}");
    assert_eq!(
        server.settle(returned["requestId"].as_str().unwrap())["status"],
        "complete"
    );

    let page = server.text("/metrics");
    for expected in [
        "orb_requests{kind=\"acquire\",status=\"complete\"} 1",
        "orb_machines{state=\"terminated\"} 3",
        "orb_provider_calls_total{instance=\"mockinst\",operation=\"provision_machines\",outcome=\"ok\"} 1",
        "orb_aws_api_calls_total{instance=\"mockinst\",operation=\"CreateFleet\",service=\"EC2\"} 1",
    ] {
        assert!(page.contains(expected), "{expected} in:\n{page}");
    }
}

#[test]
fn the_openapi_document_is_valid_and_lists_every_route() {
    let site = mock_site(json!({}), json!({}));
    let server = Server::start(&site);
    let (code, doc) = server.get("/openapi.json");
    assert_eq!(code, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/templates/",
        "/api/v1/templates/{template_id}",
        "/api/v1/templates/validate",
        "/api/v1/machines/request",
        "/api/v1/machines/return",
        "/api/v1/machines/",
        "/api/v1/machines/{machine_id}",
        "/api/v1/requests/",
        "/api/v1/requests/return",
        "/api/v1/requests/status",
        "/api/v1/requests/{request_id}",
        "/api/v1/requests/{request_id}/status",
        "/api/v1/requests/{request_id}/stream",
        "/api/v1/providers/",
        "/api/v1/providers/health",
        "/api/v1/admin/reload-config",
        "/health",
        "/livez",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    assert!(
        doc["paths"]["/api/v1/requests/{request_id}"]
            .get("delete")
            .is_some(),
        "the cancel is documented"
    );
    // Every JSON answer is described by a named schema, not a bare object.
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(schema) = response["content"]["application/json"].get("schema") else {
                    continue;
                };
                assert!(
                    schema.get("$ref").is_some(),
                    "{method} {path} {status} answers an undescribed {schema}"
                );
                let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                assert!(
                    doc["components"]["schemas"].get(name).is_some(),
                    "{name} is not in the components"
                );
            }
        }
    }
    // A real validator of the OpenAPI specification.
    let file = site.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let venv = std::env::var_os("ORB_MOTO_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::support::repo_root().join("target/moto-venv"));
    let out = Command::new(venv.join("bin/python"))
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("the validator runs (scripts/moto install installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The status line and body of a raw `GET path` sent with `Host: host`.
fn raw_get(base: &str, path: &str, host: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let code = answer[9..12].parse().unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn service_mode_opens_no_door() {
    // A token from an unset variable does not become the literal text.
    let site = mock_site(
        json!({}),
        json!({"host": "0.0.0.0", "auth": {"enabled": true, "tokens": [{"token": "$ORB_API_TOKEN", "role": "operator"}]}}),
    );
    let run = site.orb(&["serve", "--port", "0"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("$ORB_API_TOKEN is used in the configuration but not set"),
        "{run:?}"
    );
    // A guessable token is refused.
    let site = mock_site(
        json!({}),
        json!({"auth": {"enabled": true, "tokens": [{"token": "letmein", "role": "operator"}]}}),
    );
    let run = site.orb(&["serve", "--port", "0"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("shorter than 32 bytes"), "{run:?}");

    // On loopback without auth, only loopback host names are answered (no DNS rebinding).
    let site = mock_site(json!({}), json!({}));
    let server = Server::start(&site);
    let (code, body) = raw_get(&server.base, "/api/v1/requests/", "evil.example:8000");
    assert_eq!(code, 421, "{body}");
    assert_eq!(body["error"]["code"], "MisdirectedRequest", "{body}");
    assert_eq!(
        raw_get(&server.base, "/api/v1/requests/", "localhost:8000").0,
        200
    );

    // With auth on, what the server tells of itself needs a token.
    let token = "operator-secret-that-is-32-bytes-long";
    let site = mock_site(
        json!({}),
        json!({"auth": {"enabled": true, "tokens": [{"token": token, "role": "viewer"}]}}),
    );
    let server = Server::start(&site);
    for path in ["/metrics", "/openapi.json"] {
        assert_eq!(server.call("GET", path, None, None).0, 401, "{path}");
        assert_eq!(server.call("GET", path, None, Some(token)).0, 200, "{path}");
    }
    // The 401 of the document says how a browser opens it.
    let (_, refused) = server.call("GET", "/openapi.json", None, None);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/docs"),
        "{refused}"
    );
    // The documentation page and the document it reads hold no data: open without a token.
    assert!(server.text("/docs/").contains("swagger-ui"));
    let (code, document) = server.call("GET", "/docs/openapi.json", None, None);
    assert_eq!(code, 200, "{document}");
    assert!(document["paths"].is_object(), "{document}");
    assert_eq!(server.get("/livez").0, 200);
}

/// Replaces the site's (hard-linked) mock library with a private copy, so that the test may
/// change it, and returns its path.
fn private_mock_library(site: &HfSite) -> std::path::PathBuf {
    let path = site
        .path()
        .join("install/lib/orb/plugins/liborb_provider_mock.so");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Polls `GET path` until `done` holds for its body (at most 20 s).
fn poll(server: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    until(path, Duration::from_secs(20), || server.get(path).1, done)
}

#[test]
fn a_library_overwritten_in_place_changes_nothing_under_a_running_server() {
    let site = mock_site(json!({}), json!({}));
    let library = private_mock_library(&site);
    let server = Server::start(&site);
    let first = server.request(2);
    // Truncated and rewritten in place: a mapped library would take the process down (SIGBUS)
    // on its next call; the server runs a private snapshot.
    std::fs::write(&library, b"half a library").unwrap();
    let second = server.request(1);
    assert_eq!(server.settle(&first)["status"], "complete");
    assert_eq!(server.settle(&second)["status"], "complete");
    let (code, templates) = server.get("/api/v1/templates/");
    assert_eq!(code, 200, "{templates}");
    // A reload now refuses the damaged file and keeps serving with what it runs.
    server.reload_refused("refused before loading");
    let ready = poll(&server, "/readyz", |b| b["reload"]["status"] == "failed");
    assert!(ready["reload"]["error"].is_string(), "{ready}");
    assert_eq!(server.settle(&server.request(1))["status"], "complete");
}

#[test]
fn sighup_loads_a_new_provider_library_and_configuration_without_a_restart() {
    let site = mock_site(json!({}), json!({}));
    let mut server = Server::start(&site);
    let (_, providers) = server.get("/api/v1/providers/");
    assert_eq!(
        providers["providers"].as_array().unwrap().len(),
        1,
        "{providers}"
    );
    let request = server.request(1);

    std::fs::copy(
        external_plugin(),
        site.path()
            .join("install/lib/orb/plugins/liborb_provider_external.so"),
    )
    .unwrap();
    let config = site.path().join("conf/config.json");
    let mut written: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    written["provider"]["providers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "vendor-1", "type": "external", "config": {"greeting": "salut"}}));
    std::fs::write(&config, written.to_string()).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());

    let health = poll(&server, "/api/v1/providers/health", |b| {
        b["providers"].as_array().is_some_and(|p| p.len() == 2)
    });
    let vendor = health["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "vendor-1")
        .unwrap_or_else(|| panic!("{health}"));
    assert_eq!(vendor["status"], "healthy", "{vendor}");
    assert_eq!(vendor["checks"][0]["detail"], "salut", "{vendor}");
    let ready = poll(&server, "/readyz", |b| b["reload"]["status"] == "reloaded");
    assert_eq!(
        ready["reload"]["providers"],
        json!(["mockinst", "vendor-1"])
    );
    // The request made before the reload finishes on the reloaded server.
    assert_eq!(server.settle(&request)["status"], "complete");

    // A configuration that does not load keeps the running one.
    std::fs::write(&config, "{ not json").unwrap();
    server.reload_refused("the configuration does not load");
    let (_, providers) = server.get("/api/v1/providers/");
    assert_eq!(
        providers["providers"].as_array().unwrap().len(),
        2,
        "{providers}"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server still runs"
    );
}

#[test]
fn a_call_in_flight_during_a_reload_finishes_on_the_instance_it_started_on() {
    // Every mock call takes 1.5 s, so the listing is still inside the provider when SIGHUP
    // arrives; the reload builds a new instance beside it.
    let site = mock_site(
        json!({"latency_ms": 1500}),
        // The answer comes at once, so that SIGHUP meets the provision in flight.
        json!({"accept_wait_seconds": 0}),
    );
    let server = Server::start(&site);
    let pid = server.child.id().to_string();
    let (code, templates) = std::thread::scope(|scope| {
        let listing = scope.spawn(|| server.get("/api/v1/templates/"));
        std::thread::sleep(Duration::from_millis(300));
        let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(hup.success());
        listing.join().unwrap()
    });
    assert_eq!(code, 200, "{templates}");
    assert_eq!(templates["templates"][0]["templateId"], "Small");
    let ready = poll(&server, "/readyz", |b| b["reload"]["status"] == "reloaded");
    assert_eq!(ready["reload"]["providers"], json!(["mockinst"]));
    assert_eq!(server.get("/api/v1/templates/").0, 200);
}

/// `/mcp` reads its body itself: it is held to the same size limit as every other route.
#[test]
fn the_mcp_endpoint_has_the_body_limit_of_every_route() {
    let site = mock_site(json!({}), json!({"max_request_size": 1024}));
    let server = Server::start(&site);
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"padding": "x".repeat(4096)}});
    let (code, body) = server.post("/mcp", big);
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (413, Some("PayloadTooLarge")),
        "{body}"
    );
    let (code, body) = server.post(
        "/api/v1/requests/status",
        json!({"requestIds": ["x".repeat(2000)]}),
    );
    assert_eq!(code, 413, "{body}");
}
