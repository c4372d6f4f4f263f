//! `orb mcp serve` driven by the official MCP Python SDK's client (PyPI `mcp`, installed by
//! `scripts/mcp-client install`): every tool listed with its input schema and called, a
//! request followed to completion on the mock provider, resources and the prompt read, and a
//! viewer kept to the read-only tools.

use serde_json::{json, Value};

use crate::support::{repo_root, HfSite};

/// What the client saw, given `plan` (where the server is, the calls, a template to follow).
fn client(site: &HfSite, plan: Value) -> crate::support::Run {
    let python = repo_root().join("target/mcp-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `scripts/mcp-client install` (scripts/test does)",
        python.display()
    );
    site.run(
        std::process::Command::new(python)
            .arg(repo_root().join("tests/tools/mcp-client.py"))
            .arg(plan.to_string()),
        &[],
    )
}

/// What the client saw of `orb mcp serve --role role` on `site`, given `calls` and a template
/// to follow a request of.
fn drive(site: &HfSite, role: &str, calls: Value, follow: Option<&str>) -> Value {
    let root = site.path();
    let plan = json!({
        "command": [root.join("install/bin/orb"), "mcp", "serve", "--role", role],
        "env": {
            "PATH": "/usr/bin:/bin",
            "HF_PROVIDER_NAME": "mockinst",
            "HF_PROVIDER_CONFDIR": root.join("conf"),
            "HF_PROVIDER_WORKDIR": root.join("work"),
            "HF_PROVIDER_LOGDIR": root.join("log"),
        },
        "calls": calls,
        "follow": follow,
    });
    let run = client(site, plan);
    run.expect_code(0);
    run.json()
}

fn site() -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 1}}]},
            "logging": {"level": "debug"}
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
        ]}),
    )
}

/// The text answer of the call of `tool` in what the client `seen`, as JSON.
fn called<'a>(seen: &'a Value, tool: &str) -> &'a Value {
    &seen["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == tool)
        .unwrap_or_else(|| panic!("{tool} not called: {seen}"))[1]
}

/// The JSON of a successful answer: its text, which says what its structured content does.
fn json_of(answer: &Value) -> Value {
    assert_eq!(answer["error"], false, "{answer}");
    let text: Value = serde_json::from_str(answer["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        text, answer["structured"],
        "the text and the structured content agree"
    );
    text
}

#[test]
fn an_agent_lists_calls_every_tool_and_follows_a_request_to_completion() {
    let site = site();
    let seen = drive(
        &site,
        "operator",
        json!([
            ["list_templates", {}],
            ["show_template", {"template_id": "Small"}],
            ["validate_template", {"template_id": "Small"}],
            ["provider_health", {}],
            ["request_machines", {"template_id": "Small", "count": 1}],
            ["list_requests", {"status": "running"}],
            ["list_machines", {}],
            ["show_template", {"template_id": "Nothing"}],
        ]),
        Some("Small"),
    );
    // The server names itself, not the SDK it is built on.
    assert_eq!(
        seen["server"],
        json!({"name": "orb", "version": env!("CARGO_PKG_VERSION")}),
        "{seen}"
    );
    let tools = seen["tools"].as_object().unwrap();
    for tool in [
        "list_templates",
        "show_template",
        "validate_template",
        "request_machines",
        "request_status",
        "return_machines",
        "cancel_request",
        "list_requests",
        "list_machines",
        "provider_health",
    ] {
        assert!(tools.contains_key(tool), "{tool}: {seen}");
    }
    // Each input is described by a JSON schema.
    assert_eq!(
        tools["request_machines"]["properties"]["count"]["type"], "integer",
        "{seen}"
    );
    // Each output too, every field documented; the SDK checked every answer against it.
    for (tool, schema) in seen["outputs"].as_object().unwrap() {
        assert_eq!(schema["type"], "object", "{tool}: {schema}");
        let fields = schema["properties"].as_object().unwrap();
        assert!(!fields.is_empty(), "{tool}: {schema}");
        for (field, about) in fields {
            assert!(
                about["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{tool}.{field} is not documented: {schema}"
            );
        }
    }
    assert_eq!(seen["outputs"].as_object().unwrap().len(), 10, "{seen}");
    assert_eq!(
        json_of(called(&seen, "list_templates"))["templates"][0]["templateId"],
        "Small"
    );
    assert_eq!(
        json_of(called(&seen, "show_template"))["templateId"],
        "Small"
    );
    assert_eq!(json_of(called(&seen, "validate_template"))["valid"], true);
    assert_eq!(json_of(called(&seen, "provider_health"))["healthy"], true);
    let asked = json_of(called(&seen, "request_machines"));
    assert!(
        asked["requestId"].as_str().unwrap().starts_with("req-"),
        "{asked}"
    );
    // An error is the tool's answer, for the agent to read.
    let missing = &seen["calls"][7][1];
    assert_eq!(missing["error"], true, "{missing}");
    assert!(missing["text"].as_str().unwrap().contains("does not exist"));

    // The followed request completed, with its machines; its resource says the same.
    assert_eq!(seen["followed"]["status"], "complete", "{seen}");
    assert_eq!(seen["followed"]["machines"].as_array().unwrap().len(), 2);
    assert_eq!(seen["resource"]["requests"][0]["status"], "complete");
    assert!(seen["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "orb://templates"));
    assert_eq!(seen["templates"]["templates"][0]["templateId"], "Small");
    assert_eq!(seen["prompts"], json!(["provision_and_wait"]));
    assert!(seen["prompt"]
        .as_str()
        .unwrap()
        .contains("3 machines of the template Small"));

    // Return what was made, then cancel: through the tools too.
    let listed = site
        .orb(&["machines", "list", "--format", "json"])
        .expect_code(0)
        .json();
    let machines: Vec<Value> = listed["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].clone())
        .collect();
    let seen = drive(
        &site,
        "operator",
        json!([["return_machines", {"machines": machines}], ["cancel_request", {"request_id": "req-none"}]]),
        None,
    );
    let returned = json_of(called(&seen, "return_machines"));
    assert_eq!(returned["terminating"], 3, "{returned}");
    assert_eq!(returned["failed"], json!([]), "{returned}");
    assert_eq!(called(&seen, "cancel_request")["error"], true);
}

#[test]
fn a_viewer_gets_the_read_only_tools_alone() {
    let site = site();
    let seen = drive(
        &site,
        "viewer",
        json!([["list_templates", {}], ["request_machines", {"template_id": "Small", "count": 1}]]),
        None,
    );
    let tools = seen["tools"].as_object().unwrap();
    assert!(tools.contains_key("list_requests"), "{seen}");
    for acting in ["request_machines", "return_machines", "cancel_request"] {
        assert!(!tools.contains_key(acting), "{acting}: {seen}");
    }
    assert_eq!(called(&seen, "list_templates")["error"], false);
    let refused = called(&seen, "request_machines");
    assert_eq!(refused["error"], true, "{refused}");
    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"], json!([]), "nothing was requested");
}

/// `orb serve` answers MCP at `/mcp` over streamable HTTP, behind its authorization: no token is
/// refused, a viewer's token gets the read-only tools, an operator's follows a request to its
/// end.
#[test]
fn orb_serve_answers_mcp_over_http_as_each_token_allows() {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 1}}]},
            "server": {"auth": {"enabled": true, "tokens": [
                {"token": "viewer-secret-that-is-32-bytes-long!!", "role": "viewer"},
                {"token": "operator-secret-that-is-32-bytes-long", "role": "operator"}
            ]}},
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
        ]}),
    );
    let server = crate::server::Server::start(&site);
    let url = format!("{}/mcp", server.address());
    let over_http = |token: Option<&str>, calls: Value, follow: Option<&str>| {
        client(
            &site,
            json!({"url": url, "token": token, "calls": calls, "follow": follow}),
        )
    };
    let refused = over_http(None, json!([]), None);
    assert_ne!(refused.code, 0, "no token, no session");
    let (code, body) = server.call(
        "POST",
        "/mcp",
        Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        None,
    );
    assert_eq!(code, 401, "{body}");

    let viewer = over_http(
        Some("viewer-secret-that-is-32-bytes-long!!"),
        json!([["request_machines", {"template_id": "Small", "count": 1}]]),
        None,
    );
    viewer.expect_code(0);
    let seen = viewer.json();
    assert!(
        !seen["tools"]
            .as_object()
            .unwrap()
            .contains_key("request_machines"),
        "{seen}"
    );
    assert_eq!(called(&seen, "request_machines")["error"], true, "{seen}");

    let operator = over_http(
        Some("operator-secret-that-is-32-bytes-long"),
        json!([["list_templates", {}]]),
        Some("Small"),
    );
    operator.expect_code(0);
    let seen = operator.json();
    assert_eq!(seen["followed"]["status"], "complete", "{seen}");
    assert_eq!(seen["followed"]["machines"].as_array().unwrap().len(), 2);
}
