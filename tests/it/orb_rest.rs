//! `orb serve` against what the Python ORB's clients expect of its REST API: the six-step
//! parity scenario every one of ORB 1.8.5's SDKs runs, the OpenAPI document ORB's own server
//! makes (the real `orb-py[api]` the suite installs, `scripts/orb-py-openapi.py`), and the
//! shapes its answers have.

use std::time::Duration;

use serde_json::{json, Value};

use crate::server::Server;
use crate::support::{repo_root, HfSite};

/// The OpenAPI document the Python ORB 1.8.5's server makes.
fn orb_openapi() -> Value {
    let python = repo_root().join("target/orb-py-venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(repo_root().join("scripts/orb-py-openapi.py"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): run `scripts/orb-py install` (scripts/test does)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ORB's document is JSON")
}

/// The parity scenario of ORB 1.8.5's SDKs (`sdk/parity/scenario.json` of its repository), step
/// by step: the call, and the status and shape each answer must have.
fn orb_scenario() -> Vec<Value> {
    let accepted = json!([200, 201, 202]);
    vec![
        json!({"name": "health_check", "http_method": "GET", "http_path": "/health",
            "expected": {"http_status": 200, "status_shape": {"type": "object",
                "required_fields": ["status"], "status_must_be_one_of": ["healthy", "degraded"]}}}),
        json!({"name": "list_templates", "http_method": "GET", "http_path": "/api/v1/templates/",
            "expected": {"http_status": 200, "status_shape": {"type": "object",
                "required_fields": ["templates"], "templates_type": "array"}}}),
        json!({"name": "request_machines", "http_method": "POST",
            "http_path": "/api/v1/machines/request", "inputs": {"count": 1},
            "expected": {"http_status": accepted, "response_shape": {"type": "object",
                "required_fields_one_of": [["requestId"], ["request_id"]]}}}),
        json!({"name": "poll_request_status", "http_method": "GET",
            "http_path": "/api/v1/requests/{request_id}/status",
            "expected": {"http_status": 200, "response_shape": {"type": "object",
                "required_fields_one_of": [["status"], ["requests"]]}}}),
        json!({"name": "return_machines", "http_method": "POST",
            "http_path": "/api/v1/machines/return",
            "expected": {"http_status": accepted, "response_shape": {"type": "object"}}}),
        json!({"name": "list_requests", "http_method": "GET", "http_path": "/api/v1/requests/",
            "expected": {"http_status": 200, "response_shape": {"type": "object",
                "required_fields_one_of": [["requests"], ["data"]]}}}),
    ]
}

/// A server on the mock provider with one template, answering at ORB's pace: a request is
/// answered once the provider has taken it (the default `server.accept_wait_seconds`).
fn site() -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 0.2, "latency_ms": 50}}]},
            "server": {"reconcile_interval_seconds": 1},
            "logging": {"level": "debug"}
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
        ]}),
    )
}

/// Whether `status` is one of the step's expected HTTP statuses.
fn status_expected(expected: &Value, status: u16) -> bool {
    match expected {
        Value::Array(list) => list.iter().any(|s| s.as_u64() == Some(u64::from(status))),
        one => one.as_u64() == Some(u64::from(status)),
    }
}

/// Checks `body` against a step's `response_shape` (or `status_shape`); the problems.
fn shape_problems(shape: &Value, body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if shape["type"] == "object" && !body.is_object() {
        problems.push(format!("not an object: {body}"));
    }
    for field in shape["required_fields"].as_array().into_iter().flatten() {
        if body.get(field.as_str().unwrap()).is_none() {
            problems.push(format!("no {field} in {body}"));
        }
    }
    if let Some(alternatives) = shape["required_fields_one_of"].as_array() {
        let any = alternatives.iter().any(|fields| {
            fields
                .as_array()
                .unwrap()
                .iter()
                .all(|f| body.get(f.as_str().unwrap()).is_some())
        });
        if !any {
            problems.push(format!("none of {alternatives:?} in {body}"));
        }
    }
    if let Some(allowed) = shape["status_must_be_one_of"].as_array() {
        if !allowed.contains(&body["status"]) {
            problems.push(format!(
                "status {} is not one of {allowed:?}",
                body["status"]
            ));
        }
    }
    if shape["templates_type"] == "array" && !body["templates"].is_array() {
        problems.push(format!("templates is not an array: {body}"));
    }
    problems
}

/// One of two spellings of a field of `value`.
fn either<'a>(value: &'a Value, camel: &str, snake: &str) -> &'a Value {
    value.get(camel).unwrap_or(&value[snake])
}

/// Runs ORB's six-step scenario on `server` with bodies in snake_case (`snake`, as ORB's Python
/// SDK sends them) or camelCase (its Go, TypeScript, Java, Kotlin and C# SDKs): each step's
/// status and shape, its bindings, no step skipped, and the return after a single poll.
fn run_scenario(server: &Server, snake: bool) {
    let steps = orb_scenario();
    let (mut template_id, mut request_id, mut machine_id) = (None, None, None);
    for step in &steps {
        let name = step["name"].as_str().unwrap();
        let path = step["http_path"]
            .as_str()
            .unwrap()
            .replace("{request_id}", request_id.as_deref().unwrap_or(""));
        let body = match name {
            "request_machines" => {
                let template = template_id.clone().expect("step 2 bound a template");
                Some(if snake {
                    json!({"template_id": template, "count": step["inputs"]["count"]})
                } else {
                    json!({"templateId": template, "count": step["inputs"]["count"]})
                })
            }
            "return_machines" => {
                let machine = machine_id
                    .clone()
                    .expect("the single poll of step 4 named a machine: step 5 is not skipped");
                Some(if snake {
                    json!({"machine_ids": [machine]})
                } else {
                    json!({"machineIds": [machine]})
                })
            }
            _ => None,
        };
        let method = step["http_method"].as_str().unwrap();
        let (status, answer) = server.call(method, &path, body, None);
        let expected = &step["expected"];
        assert!(
            status_expected(&expected["http_status"], status),
            "step {name}: {method} {path} answered {status}: {answer}"
        );
        let shape = expected
            .get("response_shape")
            .or(expected.get("status_shape"))
            .unwrap();
        let problems = shape_problems(shape, &answer);
        assert!(problems.is_empty(), "step {name}: {problems:?}");
        match name {
            "list_templates" => {
                let first = &answer["templates"][0];
                template_id = either(first, "templateId", "template_id")
                    .as_str()
                    .map(str::to_owned);
            }
            "request_machines" => {
                request_id = either(&answer, "requestId", "request_id")
                    .as_str()
                    .map(str::to_owned);
                assert!(request_id.is_some(), "no request id: {answer}");
            }
            "poll_request_status" => {
                let machine = &answer["requests"][0]["machines"][0];
                machine_id = either(machine, "machineId", "machine_id")
                    .as_str()
                    .map(str::to_owned);
            }
            _ => {}
        }
    }
}

#[test]
fn orbs_parity_scenario_passes_with_every_sdks_bodies() {
    let site = site();
    let server = Server::start(&site);
    run_scenario(&server, true);
    run_scenario(&server, false);
}

#[test]
fn collections_answer_with_and_without_the_trailing_slash() {
    let site = site();
    let server = Server::start(&site);
    for collection in ["templates", "machines", "requests", "providers"] {
        let (slash, with) = server.get(&format!("/api/v1/{collection}/"));
        let (bare, without) = server.get(&format!("/api/v1/{collection}"));
        assert_eq!((slash, bare), (200, 200), "{collection}");
        assert_eq!(with, without, "{collection}");
    }
}

/// Asks for `count` machines of `Small` and waits until they run; their ids.
fn running_request(server: &Server, count: u32) -> (String, Vec<String>) {
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"template_id": "Small", "count": count}),
    );
    assert_eq!(code, 202, "{accepted}");
    assert_eq!(accepted["message"], "Request submitted for processing");
    let id = accepted["requestId"].as_str().unwrap().to_owned();
    let done = server.settle(&id);
    assert_eq!(done["status"], "complete", "{done}");
    let machines = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].as_str().unwrap().to_owned())
        .collect();
    (id, machines)
}

/// Whether the answer is a 422 in ORB's shape whose `detail` names `location`.
fn refused_at(answer: &(u16, Value), location: &[&str]) -> bool {
    let (code, body) = answer;
    *code == 422
        && body["success"] == false
        && body["error"]["code"].is_string()
        && body["timestamp"].is_string()
        && body["correlation_id"].is_string()
        && body["detail"][0]["loc"] == json!(location)
        && body["detail"][0]["msg"].is_string()
}

#[test]
fn returns_take_orbs_three_forms_and_refuse_anything_else() {
    let site = site();
    let server = Server::start(&site);
    let (first, first_machines) = running_request(&server, 2);
    running_request(&server, 1);

    // Not one form, two forms, an unknown field, allMachines unconfirmed: refused, nothing done.
    for body in [
        json!({}),
        json!({"machineIds": [first_machines[0]], "requestId": first}),
        json!({"machineIds": [first_machines[0]], "machineIdz": []}),
        json!({"allMachines": true}),
        json!({"machineIds": [first_machines[0]], "providerName": "mockinst"}),
    ] {
        let answer = server.post("/api/v1/machines/return", body.clone());
        assert!(refused_at(&answer, &["body"]), "{body}: {answer:?}");
    }
    assert_eq!(
        server.get("/api/v1/requests/return").1["requests"],
        json!([]),
        "a refused return does nothing"
    );
    let (code, missing) = server.post(
        "/api/v1/machines/return",
        json!({"requestId": "req-00000000-0000-0000-0000-000000000000"}),
    );
    assert_eq!((code, &missing["error"]["code"]), (404, &json!("NotFound")));

    // requestId: every machine of that request, and only those.
    let (code, returned) = server.post("/api/v1/machines/return", json!({"request_id": first}));
    assert_eq!(code, 200, "{returned}");
    assert_eq!(returned["terminating"], 2, "{returned}");
    assert!(returned["message"]
        .as_str()
        .unwrap()
        .contains("2 terminating"));
    let ret = returned["requestId"].as_str().unwrap().to_owned();
    let gone = server.settle(&ret);
    let mut named: Vec<&str> = gone["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut expected: Vec<&str> = first_machines.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(named, expected);

    // allMachines with force: what is left (the other request's machine), narrowed by type.
    let (code, none) = server.post(
        "/api/v1/machines/return",
        json!({"allMachines": true, "force": true, "providerType": "aws"}),
    );
    assert_eq!((code, &none["requestId"]), (200, &Value::Null), "{none}");
    let (code, rest) = server.post(
        "/api/v1/machines/return",
        json!({"all_machines": true, "force": true, "provider_type": "mock"}),
    );
    assert_eq!((code, &rest["terminating"]), (200, &json!(1)), "{rest}");
    let (_, again) = server.post(
        "/api/v1/machines/return",
        json!({"allMachines": true, "force": true}),
    );
    assert_eq!(again["requestId"], Value::Null, "nothing is left: {again}");
}

#[test]
fn listings_page_and_filter_as_orb_does() {
    let site = site();
    let server = Server::start(&site);
    let ids: Vec<String> = (0..3).map(|_| running_request(&server, 1).0).collect();

    // Pages of two: newest first, by offset or by the cursor the first page gave.
    let (code, first) = server.get("/api/v1/requests/?limit=2");
    assert_eq!(code, 200, "{first}");
    assert_eq!(
        (first["count"].clone(), first["total_count"].clone()),
        (json!(2), json!(3))
    );
    let listed: Vec<&str> = first["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    // Each listed request has its machines, as a list.
    assert_eq!(
        first["requests"][0]["machines"].as_array().unwrap().len(),
        1
    );
    assert_eq!(first["requests"][0]["kind"], "acquire");
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = server.get(&format!("/api/v1/requests?limit=2&cursor={cursor}"));
    assert_eq!(second["requests"][0]["requestId"], ids[0].as_str());
    assert_eq!(second["next_cursor"], Value::Null);
    let (_, skipped) = server.get("/api/v1/requests/?limit=2&offset=2");
    assert_eq!(skipped["requests"], second["requests"]);

    // Filters: by text, by type, by provider; machines likewise.
    let fragment = &ids[1][4..12];
    let (_, found) = server.get(&format!("/api/v1/requests/?q={}", fragment.to_uppercase()));
    assert_eq!(found["total_count"], 1, "{found}");
    assert_eq!(
        server.get("/api/v1/requests/?request_type=return").1["total_count"],
        0
    );
    assert_eq!(
        server.get("/api/v1/requests/?provider_name=other").1["total_count"],
        0
    );
    assert_eq!(
        server.get("/api/v1/requests/?provider_type=mock").1["total_count"],
        3
    );
    let (_, machines) = server.get("/api/v1/machines/?limit=1&status=running");
    assert_eq!(
        (machines["count"].clone(), machines["total_count"].clone()),
        (json!(1), json!(3))
    );
    assert_eq!(
        server.get("/api/v1/machines/?provider_type=aws").1["total_count"],
        0
    );
    let (_, templates) = server.get("/api/v1/templates/?limit=1&q=sma");
    assert_eq!(templates["total_count"], 1, "{templates}");
    assert_eq!(
        server.get("/api/v1/templates/?provider_api=EC2Fleet").1["total_count"],
        0
    );

    // Out of range: refused in ORB's validation shape, naming the parameter.
    for (path, parameter) in [
        ("/api/v1/requests/?limit=0", "limit"),
        ("/api/v1/requests/?limit=1001", "limit"),
        ("/api/v1/requests/?cursor=bogus", "cursor"),
        ("/api/v1/requests/?status=done", "status"),
        (
            "/api/v1/requests/return?request_type=acquire",
            "request_type",
        ),
        ("/api/v1/machines/?status=exploded", "status"),
    ] {
        let answer = server.get(path);
        assert!(
            refused_at(&answer, &["query", parameter]),
            "{path}: {answer:?}"
        );
    }
}

#[test]
fn a_request_reads_alone_as_orbs_get_request_does() {
    let site = site();
    let server = Server::start(&site);
    let (id, _) = running_request(&server, 1);
    let (code, alone) = server.get(&format!("/api/v1/requests/{id}?verbose=true"));
    assert_eq!(code, 200, "{alone}");
    let (_, status) = server.get(&format!("/api/v1/requests/{id}/status?long=true"));
    assert_eq!(alone, status);
    assert_eq!(alone["requests"][0]["requestId"], id.as_str());
    let (code, missing) = server.get("/api/v1/requests/req-00000000-0000-0000-0000-000000000000");
    assert_eq!(code, 404);
    assert_eq!(missing["success"], false);
    assert_eq!(missing["error"]["code"], "NotFound");
    assert!(missing["timestamp"].is_string() && missing["correlation_id"].is_string());
    // The framework's own rejections have the same envelope: a body of the wrong type.
    let answer = server.post(
        "/api/v1/machines/request",
        json!({"template_id": 7, "count": 1}),
    );
    assert!(refused_at(&answer, &["body"]), "{answer:?}");
}

#[test]
fn orbs_operations_are_in_orbs_openapi_document_with_its_parameter_names() {
    let site = site();
    let server = Server::start(&site);
    let (code, ours) = server.get("/openapi.json");
    assert_eq!(code, 200);
    let theirs = orb_openapi();
    let mut missing = Vec::new();
    for (path, operations) in theirs["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let operation = format!("{} {path}", method.to_uppercase());
            if ours["paths"][path].get(method).is_none() {
                missing.push(operation);
            }
        }
    }
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "ORB's operations orb's document lacks"
    );
    // Swagger UI over the document, from the binary.
    let page = server.text("/docs/");
    assert!(page.contains("swagger-ui"), "{page}");
    let initializer = server.text("/docs/swagger-initializer.js");
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}

#[test]
fn templates_are_added_changed_and_removed_in_the_templates_file() {
    let site = site();
    let server = Server::start(&site);
    let file = site.path().join("conf/mockinstprov_templates.json");
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap() };

    // The Python ORB's names are taken and written in Host Factory's.
    let (code, created) = server.post(
        "/api/v1/templates/",
        json!({"template_id": "Big", "machineType": "m5.4xlarge", "image_id": "img", "maxNumber": 3}),
    );
    assert_eq!(
        (code, &created["status"]),
        (200, &json!("created")),
        "{created}"
    );
    let written = read();
    assert_eq!(
        written["templates"][1],
        json!({"templateId": "Big", "vmType": "m5.4xlarge", "imageId": "img", "maxNumber": 3})
    );
    assert_eq!(
        server.get("/api/v1/templates/Big").1["vmType"],
        "m5.4xlarge"
    );

    // Refused, nothing written: an id that exists, a template with problems, a renaming.
    let (code, _) = server.post(
        "/api/v1/templates/",
        json!({"templateId": "Big", "imageId": "img"}),
    );
    assert_eq!(code, 409);
    let answer = server.post(
        "/api/v1/templates/",
        json!({"templateId": "bad id", "maxNumber": -7, "imageId": "img"}),
    );
    assert!(refused_at(&answer, &["body"]), "{answer:?}");
    assert!(
        answer.1["detail"].as_array().unwrap().len() >= 2,
        "every problem: {answer:?}"
    );
    let answer = server.call(
        "PUT",
        "/api/v1/templates/Big",
        Some(json!({"templateId": "Other"})),
        None,
    );
    assert!(refused_at(&answer, &["body"]), "{answer:?}");
    assert_eq!(read(), written, "a refused change writes nothing");

    // Changed (a null removes a key), then removed.
    let (code, updated) = server.call(
        "PUT",
        "/api/v1/templates/Big",
        Some(json!({"maxNumber": 5, "machineType": null, "vmType": "m5.large"})),
        None,
    );
    assert_eq!(
        (code, &updated["status"]),
        (200, &json!("updated")),
        "{updated}"
    );
    assert_eq!(
        read()["templates"][1],
        json!({"templateId": "Big", "imageId": "img", "maxNumber": 5, "vmType": "m5.large"})
    );
    let (code, deleted) = server.delete("/api/v1/templates/Big");
    assert_eq!(
        (code, &deleted["status"]),
        (200, &json!("deleted")),
        "{deleted}"
    );
    assert_eq!(read()["templates"].as_array().unwrap().len(), 1);
    assert_eq!(server.delete("/api/v1/templates/Big").0, 404);
    let (code, refreshed) = server.post("/api/v1/templates/refresh", json!({}));
    assert_eq!((code, refreshed["total_count"].clone()), (200, json!(1)));
}

#[test]
fn admin_operations_need_the_admin_role() {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock", "config": {}}]},
            "server": {"auth": {"enabled": true, "tokens": [
                {"token": "operator-secret-that-is-32-bytes-long", "role": "operator"},
                {"token": "admin-secret-that-is-32-bytes-long-too", "role": "admin"}
            ]}},
        }),
        json!({"templates": [{"templateId": "Small", "maxNumber": 5, "vmType": "m5.large", "imageId": "img"}]}),
    );
    let server = Server::start(&site);
    let operator = Some("operator-secret-that-is-32-bytes-long");
    let admin = Some("admin-secret-that-is-32-bytes-long-too");
    for (method, path, body) in [
        (
            "POST",
            "/api/v1/templates/",
            Some(json!({"templateId": "X", "imageId": "i"})),
        ),
        ("DELETE", "/api/v1/templates/Small", None),
        ("GET", "/api/v1/config/", None),
        ("POST", "/api/v1/requests/req-1/purge", None),
        ("DELETE", "/api/v1/machines/i-1?purge=true", None),
        (
            "POST",
            "/api/v1/admin/database/wipe",
            Some(json!({"confirm": "WIPE"})),
        ),
    ] {
        let (code, body) = server.call(method, path, body, operator);
        assert_eq!(
            (code, &body["error"]["code"]),
            (403, &json!("Forbidden")),
            "{method} {path}"
        );
    }
    let (_, me) = server.call("GET", "/api/v1/me/", None, operator);
    assert_eq!(
        (me["role"].clone(), me["authenticated"].clone()),
        (json!("operator"), json!(true))
    );
    assert!(
        !me["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("purge")),
        "{me}"
    );
    let (code, me) = server.call("GET", "/api/v1/me", None, admin);
    assert_eq!((code, me["role"].clone()), (200, json!("admin")));
    assert_eq!(server.call("GET", "/api/v1/me/", None, None).0, 401);
    // The configuration, to the admin, with its secrets hidden.
    let (code, config) = server.call("GET", "/api/v1/config/", None, admin);
    assert_eq!(code, 200, "{config}");
    let shown = config.to_string();
    assert!(
        !shown.contains("admin-secret-that-is-32-bytes-long-too"),
        "{shown}"
    );
    let (code, port) = server.call("GET", "/api/v1/config/server.auth.enabled", None, admin);
    assert_eq!((code, port["value"].clone()), (200, json!(true)));
    assert_eq!(
        server
            .call("GET", "/api/v1/config/server.nope", None, admin)
            .0,
        404
    );
    let (code, edit) = server.call(
        "PUT",
        "/api/v1/config/server.port",
        Some(json!({"value": 1})),
        admin,
    );
    assert_eq!(
        (code, &edit["error"]["code"]),
        (409, &json!("ConfigurationInFile"))
    );
    let (code, valid) = server.call("POST", "/api/v1/config/validate", None, admin);
    assert_eq!(
        (code, valid["valid"].clone()),
        (200, json!(true)),
        "{valid}"
    );
    let sources = server.call("GET", "/api/v1/config/sources", None, admin).1;
    assert!(
        sources["config_file"]
            .as_str()
            .unwrap()
            .ends_with("conf/config.json"),
        "{sources}"
    );
    // A configuration file broken on disk is found by validate, and changes nothing running.
    std::fs::write(site.path().join("conf/config.json"), "{").unwrap();
    let (_, invalid) = server.call("POST", "/api/v1/config/validate", None, admin);
    assert_eq!(invalid["valid"], false, "{invalid}");
    assert_eq!(server.call("GET", "/api/v1/me/", None, admin).0, 200);
}

#[test]
fn purges_and_clean_ups_never_forget_a_machine_that_is_up() {
    let site = site();
    let server = Server::start(&site);
    let (id, machines) = running_request(&server, 2);
    // Finished, but its machines run: kept.
    let (code, refused) = server.post(&format!("/api/v1/requests/{id}/purge"), json!({}));
    assert_eq!(
        (code, &refused["error"]["code"]),
        (409, &json!("Conflict")),
        "{refused}"
    );
    assert_eq!(
        server
            .delete(&format!("/api/v1/machines/{}?purge=true", machines[0]))
            .0,
        409
    );
    let answer = server.delete(&format!("/api/v1/machines/{}", machines[0]));
    assert!(refused_at(&answer, &["query", "purge"]), "{answer:?}");
    // ORB's TypeScript SDK purges without the flag and expects a machine that does not
    // exist to be not found.
    let (code, missing) = server.delete("/api/v1/machines/nonexistent-machine-id");
    assert_eq!(
        (code, &missing["error"]["code"]),
        (404, &json!("NotFound")),
        "{missing}"
    );
    let answer = server.post("/api/v1/admin/database/wipe", json!({"confirm": "wipe"}));
    assert!(refused_at(&answer, &["body", "confirm"]), "{answer:?}");
    let (code, wiped) = server.post("/api/v1/admin/database/wipe", json!({"confirm": "WIPE"}));
    assert_eq!(
        (
            code,
            wiped["deleted_requests"].clone(),
            wiped["kept_requests"].clone()
        ),
        (200, json!(0), json!(1)),
        "{wiped}"
    );

    // The timeline tells what happened, in order.
    let timeline = server.get(&format!("/api/v1/requests/{id}/timeline")).1;
    let events: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"created"), "{timeline}");
    assert_eq!(
        events.iter().filter(|e| **e == "machine_launched").count(),
        2,
        "{timeline}"
    );
    assert!(events.contains(&"completed"), "{timeline}");

    // Returned and gone: the clean-up takes the request, its return and their machines.
    let (_, returned) = server.post("/api/v1/machines/return", json!({"requestId": id}));
    let ret = returned["requestId"].as_str().unwrap().to_owned();
    assert_eq!(server.settle(&ret)["status"], "complete");
    let synced = server
        .get(&format!("/api/v1/machines/{}/status", machines[1]))
        .1;
    assert_eq!(synced["status"], "terminated", "{synced}");
    let timeline = server.get(&format!("/api/v1/requests/{id}/timeline")).1;
    assert!(
        timeline.to_string().contains("machine_returned"),
        "{timeline}"
    );
    let answer = server.post(
        "/api/v1/admin/database/cleanup",
        json!({"confirm": "CLEANUP", "request_statuses": ["running"]}),
    );
    assert!(refused_at(&answer, &["body"]), "{answer:?}");
    let (code, cleaned) = server.post(
        "/api/v1/admin/database/cleanup",
        json!({"confirm": "CLEANUP", "request_statuses": ["complete", "complete_with_error"]}),
    );
    assert_eq!(
        (code, cleaned["deleted_requests"].clone()),
        (200, json!(2)),
        "{cleaned}"
    );
    assert_eq!(server.get(&format!("/api/v1/requests/{id}")).0, 404);
    assert_eq!(
        server.get(&format!("/api/v1/machines/{}", machines[0])).0,
        404
    );
    assert_eq!(
        server
            .post(&format!("/api/v1/requests/{id}/purge"), json!({}))
            .0,
        404
    );
}

/// A machine's status sync asks its provider even when its request finished long ago: a
/// machine terminated behind orb's back shows as terminated.
#[test]
fn a_machine_sync_asks_the_cloud_whatever_its_request() {
    let site = site();
    let server = Server::start(&site);
    let (_, machines) = running_request(&server, 1);
    // Terminated in the cloud, without orb: the mock cloud's own state says so.
    let cloud_file = site.path().join("work/mock-mockinst.json");
    let mut cloud: Value =
        serde_json::from_str(&std::fs::read_to_string(&cloud_file).unwrap()).unwrap();
    cloud["machines"][&machines[0]]["terminate_at"] = json!(1.0);
    std::fs::write(&cloud_file, cloud.to_string()).unwrap();
    let stored = server.get(&format!("/api/v1/machines/{}", machines[0])).1;
    assert_eq!(stored["status"], "running", "{stored}");
    let synced = server
        .get(&format!("/api/v1/machines/{}/status", machines[0]))
        .1;
    assert_eq!(synced["status"], "terminated", "{synced}");
    let stored = server.get(&format!("/api/v1/machines/{}", machines[0])).1;
    assert_eq!(stored["status"], "terminated", "kept: {stored}");
}

#[test]
fn the_service_tells_what_it_is_and_counts_what_it_holds() {
    let site = site();
    let server = Server::start(&site);
    let (_, machines) = running_request(&server, 1);
    let (code, info) = server.get("/info");
    assert_eq!((code, info["service"].clone()), (200, json!("orb")));
    let dashboard = server.get("/api/v1/system/dashboard").1;
    assert_eq!(
        dashboard["requests"]["acquire"]["complete"], 1,
        "{dashboard}"
    );
    assert_eq!(dashboard["machines"]["running"], 1, "{dashboard}");
    assert_eq!(
        dashboard["machines_by_provider"],
        json!({"mockinst": {"running": 1}}),
        "{dashboard}"
    );
    // Over the last day, in 48 points, the newest now: the machine is alive at the last.
    let over_time = dashboard["machines_over_time"].as_array().unwrap();
    assert_eq!(over_time.len(), 48, "{dashboard}");
    assert_eq!(over_time[47]["machines"], 1, "{dashboard}");
    assert_eq!(over_time[0]["machines"], 0, "{dashboard}");
    let changes = dashboard["recent_changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["type"] == "machine" && c["id"] == machines[0]),
        "{dashboard}"
    );
    assert!(
        changes
            .windows(2)
            .all(|w| w[0]["seq"].as_i64() > w[1]["seq"].as_i64()),
        "newest first: {dashboard}"
    );
    for hours in ["0", "169", "x"] {
        let (code, refused) = server.get(&format!("/api/v1/system/dashboard?hours={hours}"));
        assert!(
            code == 422 || code == 400,
            "hours={hours}: {code} {refused}"
        );
    }
    assert_eq!(server.get("/api/v1/system/dashboard?hours=1").0, 200);
    let providers = server.get("/api/v1/providers/").1;
    assert_eq!(
        providers["providers"][0]["interface"],
        orb_plugin_api::INTERFACE_VERSION,
        "{providers}"
    );
    assert_eq!(
        (
            dashboard["templates"].clone(),
            dashboard["providers"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(
        server.get("/api/v1/observability/telemetry").1["enabled"],
        false
    );
    let schemas = server.get("/api/v1/providers/schemas").1;
    assert!(
        schemas["mockinst"].as_array().unwrap().len() > 3,
        "{schemas}"
    );
    assert_eq!(
        server.get("/api/v1/providers/mockinst/schema").1,
        schemas["mockinst"]
    );
    assert_eq!(server.get("/api/v1/providers/nope/schema").0, 404);
    let metrics = server
        .get(&format!("/api/v1/machines/{}/metrics", machines[0]))
        .1;
    assert_eq!(metrics["series"]["cpu"], json!([]), "{metrics}");
}

/// The events of `request_id` among `events`: `(event, status or state, seq)`.
fn of_request(
    events: &[(String, Value, Option<String>)],
    request_id: &str,
) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|(_, data, _)| data["id"] == request_id)
        .map(|(event, data, _)| (event.clone(), data["data"]["status"].to_string()))
        .collect()
}

#[test]
fn every_change_streams_in_order_and_replays_from_a_number() {
    let site = site();
    let server = Server::start(&site);
    let (id, machines) = running_request(&server, 1);

    // Replayed from the start: the request made and changed, its machine made and changed,
    // each event numbered, in order, its SSE id its number, and each carrying the row as it is
    // now.
    let done = |events: &[(String, Value, Option<String>)]| {
        let count = |kind: &str, of: &str| {
            events
                .iter()
                .filter(|(e, d, _)| e == kind && d["id"] == of)
                .count()
        };
        count("request", &id) >= 2 && count("machine", &machines[0]) >= 2
    };
    let all = server.events_until("/api/v1/events/?since_seq=0", &[], done);
    let seqs: Vec<i64> = all
        .iter()
        .map(|(_, d, _)| d["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(all
        .iter()
        .all(|(_, d, sse_id)| sse_id.as_deref() == Some(&d["seq"].to_string())));
    let states: Vec<&Value> = all
        .iter()
        .filter(|(e, d, _)| e == "machine" && d["id"] == machines[0].as_str())
        .map(|(_, d, _)| &d["data"]["status"])
        .collect();
    assert!(!states.is_empty(), "{all:?}");
    assert_eq!(
        of_request(&all, &id).first().map(|(e, _)| e.as_str()),
        Some("request")
    );

    // From a number, or the Last-Event-ID of a reconnecting EventSource: only what follows.
    let second = seqs[1];
    let after = server.events_until(&format!("/api/v1/events/?since_seq={second}"), &[], |e| {
        !e.is_empty()
    });
    assert_eq!(after[0].1["seq"], seqs[2]);
    let resumed = server.events_until(
        "/api/v1/events/",
        &[("Last-Event-ID", &second.to_string())],
        |e| !e.is_empty(),
    );
    assert_eq!(resumed[0].1["seq"], seqs[2]);
    // Only machines.
    let only = server.events_until("/api/v1/events/?since_seq=0&type=machines", &[], |e| {
        e.len() >= 2
    });
    assert!(only.iter().all(|(e, _, _)| e == "machine"), "{only:?}");
    assert!(refused_at(
        &server.get("/api/v1/events/?type=templates"),
        &["query", "type"]
    ));

    // Live: a stream opened now sees a request made after it.
    let live = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            server.events_until("/api/v1/events/", &[], |events| {
                events
                    .iter()
                    .any(|(e, d, _)| e == "request" && d["data"]["status"] == "complete")
            })
        });
        std::thread::sleep(Duration::from_millis(1500));
        let (newer, _) = running_request(&server, 1);
        (reader.join().unwrap(), newer)
    });
    let (events, newer) = live;
    assert!(
        events.iter().all(|(_, d, _)| d["id"] != id.as_str()),
        "only what came after"
    );
    assert!(!of_request(&events, &newer).is_empty(), "{events:?}");
}

/// An event stream never ends by itself, nor does a running request's: SIGTERM waits for
/// neither.
#[test]
fn open_streams_do_not_hold_up_a_graceful_stop() {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 600}}]},
        }),
        json!({"templates": [{"templateId": "Slow", "maxNumber": 5, "vmType": "m5.large", "imageId": "img"}]}),
    );
    let server = Server::start(&site);
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": "Slow", "count": 1}),
    );
    assert_eq!(code, 202, "{accepted}");
    let running = format!(
        "/api/v1/requests/{}/stream",
        accepted["requestId"].as_str().unwrap()
    );
    std::thread::scope(|scope| {
        for path in ["/api/v1/events/", running.as_str()] {
            let address = server.address().to_owned();
            scope.spawn(move || {
                use std::io::{Read, Write};
                let mut stream =
                    std::net::TcpStream::connect(address.trim_start_matches("http://")).unwrap();
                write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(server.terminate(), Some(0));
    });
}

#[test]
fn the_default_dialect_answers_in_snake_case_and_host_factory_in_camel_case() {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 0.2, "latency_ms": 50}}]},
            "scheduler": {"type": "default"},
        }),
        json!({"templates": [{"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img",
            "instanceTags": {"CostCentre": "hpc"}}]}),
    );
    let server = Server::start(&site);
    // ORB's scenario, as its Python SDK drives a `default` ORB.
    run_scenario(&server, true);
    let (_, listed) = server.get("/api/v1/requests/");
    let first = &listed["requests"][0];
    assert!(
        first["request_id"].is_string() && first.get("requestId").is_none(),
        "{first}"
    );
    assert!(first["machines"][0]["machine_id"].is_string(), "{first}");
    let (_, templates) = server.get("/api/v1/templates/");
    assert_eq!(
        templates["templates"][0]["template_id"], "Small",
        "{templates}"
    );
    assert_eq!(
        templates["templates"][0]["instance_tags"],
        json!({"CostCentre": "hpc"}),
        "the operator's own names stay"
    );
    // A call may ask for the other dialect.
    let (_, camel) = server.get_with("/api/v1/requests/", &[("X-ORB-Scheduler", "hostfactory")]);
    assert!(camel["requests"][0]["requestId"].is_string(), "{camel}");
    let (code, refused) = server.get_with("/api/v1/requests/", &[("X-ORB-Scheduler", "symphony")]);
    assert_eq!(code, 422, "{refused}");
    // Server-sent events too, each as the call asks.
    let snake = server.events_until("/api/v1/events/?since_seq=0&type=request", &[], |e| {
        !e.is_empty()
    });
    assert!(snake[0].1["data"]["request_id"].is_string(), "{snake:?}");
    let camel = server.events_until(
        "/api/v1/events/?since_seq=0&type=request",
        &[("X-ORB-Scheduler", "hf")],
        |e| !e.is_empty(),
    );
    assert!(camel[0].1["data"]["requestId"].is_string(), "{camel:?}");
    // The CLI speaks it too; Host Factory's calls stay in camelCase.
    let cli = site.orb(&["requests", "list", "--format", "json"]).json();
    assert!(cli["requests"][0]["request_id"].is_string(), "{cli}");
    let hf = site.call_args("getAvailableTemplates", &[]).json();
    assert_eq!(hf["templates"][0]["templateId"], "Small", "{hf}");
}

#[test]
fn example_templates_are_written_once_and_replaced_when_forced() {
    let site = site();
    let server = Server::start(&site);
    let (code, generated) = server.post("/api/v1/templates/generate", json!({}));
    assert_eq!(code, 200, "{generated}");
    assert_eq!(
        generated["written"].as_array().unwrap().len(),
        3,
        "{generated}"
    );
    let (_, listed) = server.get("/api/v1/templates/");
    assert_eq!(
        listed["total_count"], 4,
        "the examples beside the site's own: {listed}"
    );
    // Again: kept; forced: replaced; another instance: refused.
    let (_, again) = server.post(
        "/api/v1/templates/generate",
        json!({"provider_specific": false}),
    );
    assert_eq!(again["kept"].as_array().unwrap().len(), 3, "{again}");
    let (_, forced) = server.post("/api/v1/templates/generate", json!({"force": true}));
    assert_eq!(forced["replaced"].as_array().unwrap().len(), 3, "{forced}");
    let answer = server.post(
        "/api/v1/templates/generate",
        json!({"provider": "elsewhere"}),
    );
    assert!(refused_at(&answer, &["body", "provider"]), "{answer:?}");
    // An API the provider has no examples of is refused, nothing written.
    let (code, none) = server.post(
        "/api/v1/templates/generate",
        json!({"provider_api": "EC2Fleet"}),
    );
    assert_eq!(code, 400, "the mock has no EC2Fleet examples: {none}");
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'EC2Fleet'"),
        "{none}"
    );
    // init: confirmed, then the directories and the examples, kept as they are.
    let answer = server.post("/api/v1/admin/init", json!({}));
    assert!(refused_at(&answer, &["body", "confirm"]), "{answer:?}");
    let (code, init) = server.post("/api/v1/admin/init", json!({"confirm": "INIT"}));
    assert_eq!(code, 200, "{init}");
    assert_eq!(
        init["templates"]["kept"].as_array().unwrap().len(),
        3,
        "{init}"
    );
    assert!(
        init["work_dir"].as_str().unwrap().ends_with("work"),
        "{init}"
    );
}

/// ORB's clients filter listings with `filter_expressions`: taken as the CLI's `--filter`,
/// before the page; a field the items lack, or an operator there is not, is refused (422).
#[test]
fn filter_expressions_select_before_the_page_and_bad_ones_are_refused() {
    let site = site();
    let server = Server::start(&site);
    let (first, machines) = running_request(&server, 2);
    let (second, _) = running_request(&server, 1);
    let (code, small) = server.get(
        "/api/v1/requests/?filter_expressions=templateId%3DSmall&filter_expressions=machines%21%3D1",
    );
    assert_eq!(code, 200, "{small}");
    let ids: Vec<&str> = small["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str()], "{small}");
    assert_eq!(small["total_count"], 1, "{small}");
    assert_ne!(first, second);
    let (code, named) = server.get(&format!(
        "/api/v1/machines/?filter_expressions=machineId%3D{}&limit=5",
        machines[0]
    ));
    assert_eq!(code, 200, "{named}");
    assert_eq!(named["machines"].as_array().unwrap().len(), 1, "{named}");
    let (code, none) = server.get("/api/v1/templates/?filter_expressions=templateId%21%3DSmall");
    assert_eq!(code, 200, "{none}");
    assert_eq!(none["templates"], json!([]), "{none}");
    for bad in [
        "/api/v1/requests/?filter_expressions=nosuchfield%3D1",
        "/api/v1/machines/?filter_expressions=status%3D%3Drunning",
        "/api/v1/templates/?filter_expressions=nosuchfield%3D1",
    ] {
        let answer = server.get(bad);
        assert_eq!(answer.0, 422, "{bad}: {answer:?}");
        assert!(
            refused_at(&answer, &["query", "filter_expressions"]),
            "{bad}: {answer:?}"
        );
    }
}
