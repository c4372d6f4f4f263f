//! The Symphony Host Factory workflow through the real scripts, the real `orb` binary and the
//! mock provider plugin, with state in SQLite.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{frozen_plugin, repo_root, HfSite, Run, FROZEN_INTERFACE, HF_PROVIDER};

/// Templates modelled on those the Python ORB was recorded with.
fn templates() -> Value {
    json!({"templates": [
        {
            "templateId": "OnDemand-m5", "name": "on-demand m5.xlarge", "providerApi": "RunInstances",
            "maxNumber": 100, "vmType": "m5.xlarge", "imageId": "ami-0fb23f2d720767b7a",
            "subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-1"],
            "keyName": "orb-key", "priceType": "ondemand",
            "instanceTags": "Project=orb;Handler=RunInstances"
        },
        {
            "templateId": "Small", "maxNumber": 2, "vmTypes": {"t3.medium": 1},
            "imageId": "img-1", "priceType": "ondemand"
        },
        {
            "templateId": "Spot", "maxNumber": -1, "vmType": "t3.large", "imageId": "img-1",
            "priceType": "spot"
        },
        {
            "templateId": "Big", "maxNumber": -1, "vmType": "m5.large", "imageId": "img-1",
            "attributes": {"type": ["String", "X86_64"], "ncpus": ["Numeric", "8"], "nram": ["Numeric", "32768"]}
        }
    ]})
}

/// A site whose template defaults carry what ORB's AWS defaults add to every template.
fn site(mock_config: Value) -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {
                "providers": [{"name": "mockinst", "type": "mock", "config": mock_config}],
                "provider_defaults": {"mock": {"template_defaults": {
                    "allocation_strategy": "lowestPrice", "volume_type": "gp3"
                }}}
            },
            "logging": {"level": "debug"}
        }),
        templates(),
    )
}

fn request(site: &HfSite, template: &str, count: i64) -> String {
    let run = site.call(
        "requestMachines",
        &json!({"template": {"templateId": template, "machineCount": count}}),
    );
    let out = run.expect_code(0).json();
    out["requestId"].as_str().expect("a requestId").to_owned()
}

fn status(site: &HfSite, request_id: &str) -> Value {
    let run = site.call(
        "getRequestStatus",
        &json!({"requests": [{"requestId": request_id}]}),
    );
    run.expect_code(0).json()["requests"][0].clone()
}

/// Polls until the request is terminal (at most `limit`).
fn settle(site: &HfSite, request_id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let s = status(site, request_id);
        if s["status"] != "running" {
            return s;
        }
        assert!(started.elapsed() < limit, "request never settled: {s}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The state of every stored machine, as `orb machines list` shows them, newest first.
fn stored_states(site: &HfSite) -> Vec<String> {
    let all = site.orb(&["machines", "list", "--format", "json"]).json();
    all["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_owned())
        .collect()
}

fn machines(status: &Value) -> &Vec<Value> {
    status["machines"].as_array().expect("a machines list")
}

/// The JSON type of a value, with `null` matching anything (ORB prints null for unknowns).
fn same_type(a: &Value, b: &Value) -> bool {
    a.is_null()
        || b.is_null()
        || std::mem::discriminant(a) == std::mem::discriminant(b)
        || (a.is_number() && b.is_number())
}

/// Fails unless `ours` has every key of `orbs`, with the same JSON type.
fn carries_every_field(what: &str, orbs: &Value, ours: &Value) {
    for (key, value) in orbs.as_object().expect("an object") {
        let mine = ours
            .get(key)
            .unwrap_or_else(|| panic!("{what}: ORB's field {key} is missing from {ours}"));
        assert!(
            same_type(value, mine),
            "{what}: field {key} is {mine}, ORB's is {value}"
        );
    }
}

/// The id of an accepted request, checking the answer carries ORB's fields for `call`.
fn accepted_id(run: &Run, call: &str, prefix: &str) -> String {
    let accepted = run.expect_code(0).json();
    carries_every_field(call, &orb_output(&format!("{call}.json")), &accepted);
    let id = accepted["requestId"].as_str().unwrap().to_owned();
    assert!(id.starts_with(prefix), "{id}");
    id
}

fn orb_output(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures/orb-1.8.5").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_full_cycle_through_the_scripts_matches_orbs_outputs() {
    let site = site(json!({"pending_seconds": 1}));

    // getAvailableTemplates, with no input file at all, and with `-f {}` as Host Factory does.
    let listed = site.call_args("getAvailableTemplates", &[]);
    let listed = listed.expect_code(0).json();
    let with_file = site
        .call("getAvailableTemplates", &json!({}))
        .expect_code(0)
        .json();
    assert_eq!(listed, with_file);
    let orb_templates = orb_output("getAvailableTemplates.json");
    carries_every_field("getAvailableTemplates", &orb_templates, &listed);
    let ours = &listed["templates"][0];
    carries_every_field("template", &orb_templates["templates"][0], ours);
    assert_eq!(ours["templateId"], "OnDemand-m5");
    assert_eq!(ours["subnetId"], "subnet-a,subnet-b");
    // Attributes from the instance type's real size, and the template's own when it has them.
    assert_eq!(ours["attributes"]["ncpus"], json!(["Numeric", "4"]));
    assert_eq!(ours["attributes"]["nram"], json!(["Numeric", "16384"]));
    let big = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["templateId"] == "Big")
        .unwrap();
    assert_eq!(big["attributes"]["ncpus"], json!(["Numeric", "8"]));

    // requestMachines
    let run = site.call(
        "requestMachines",
        &json!({"template": {"templateId": "OnDemand-m5", "machineCount": 3}}),
    );
    let request_id = accepted_id(&run, "requestMachines", "req-");

    // getRequestStatus: running while the machines are pending, then complete.
    let first = status(&site, &request_id);
    assert_eq!(first["status"], "running", "{first}");
    assert!(machines(&first).iter().all(|m| m["result"] == "executing"));
    let done = settle(&site, &request_id, Duration::from_secs(20));
    assert_eq!(done["status"], "complete", "{done}");
    let orb_status = orb_output("getRequestStatus.json");
    carries_every_field(
        "getRequestStatus request",
        &orb_status["requests"][0],
        &done,
    );
    let running = machines(&done);
    assert_eq!(running.len(), 3);
    for m in running {
        carries_every_field(
            "getRequestStatus machine",
            &orb_status["requests"][0]["machines"][0],
            m,
        );
        assert_eq!(m["result"], "succeed");
        assert_eq!(m["status"], "running");
        assert!(m["launchtime"].as_i64().unwrap() > 1_700_000_000);
    }
    let names: BTreeSet<&str> = running
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "every machine has its own host name: {names:?}"
    );

    // requestReturnMachines: one by name and id, one by name only.
    let run = site.call(
        "requestReturnMachines",
        &json!({"machines": [
            {"name": running[0]["name"], "machineId": running[0]["machineId"]},
            {"name": running[1]["name"]}
        ]}),
    );
    let return_id = accepted_id(&run, "requestReturnMachines", "ret-");

    let gone = settle(&site, &return_id, Duration::from_secs(20));
    assert_eq!(gone["status"], "complete", "{gone}");
    let orb_return = orb_output("getRequestStatus_return.json");
    carries_every_field("return status", &orb_return["requests"][0], &gone);
    assert_eq!(machines(&gone).len(), 2);
    for m in machines(&gone) {
        carries_every_field(
            "return machine",
            &orb_return["requests"][0]["machines"][0],
            m,
        );
        assert_eq!(m["result"], "succeed");
        assert_eq!(m["status"], "terminated");
        assert_eq!(m["requestId"], request_id.as_str());
    }

    // getReturnRequests: the machines orb returned are not reclaimed by the cloud.
    let reclaims = site.call(
        "getReturnRequests",
        &json!({"machines": running.iter().map(|m| json!({"name": m["name"], "machineId": m["machineId"]})).collect::<Vec<_>>()}),
    );
    let reclaims = reclaims.expect_code(0).json();
    carries_every_field(
        "getReturnRequests",
        &orb_output("getReturnRequests.json"),
        &reclaims,
    );
    assert_eq!(reclaims["requests"], json!([]), "{reclaims}");
}

#[test]
fn partial_fulfilment_completes_with_the_machines_that_started() {
    // The cloud has room for half of what it is asked each time: 2 of 4, then (topped up) 1 of
    // 2, then none of 1; the request completes with the 3 that started.
    let site = site(json!({"fulfil_ratio": 0.5}));
    let id = request(&site, "OnDemand-m5", 4);
    let s = status(&site, &id);
    assert_eq!(s["status"], "complete_with_error", "{s}");
    assert_eq!(machines(&s).len(), 3);
    assert!(machines(&s).iter().all(|m| m["result"] == "succeed"));
    let message = s["message"].as_str().unwrap();
    assert!(message.contains("1 could not be provisioned"), "{message}");
}

#[test]
fn failed_launches_are_reported_per_machine() {
    let site = site(json!({"failure_rate": 1.0}));
    let id = request(&site, "OnDemand-m5", 2);
    let s = status(&site, &id);
    assert_eq!(s["status"], "complete_with_error", "{s}");
    for m in machines(&s) {
        assert_eq!(m["result"], "fail");
        assert!(
            !m["message"].as_str().unwrap().is_empty(),
            "a failed machine says why: {m}"
        );
    }
}

#[test]
fn a_provision_that_fails_outright_is_not_reported_as_submitted() {
    let site = site(json!({"fulfil_ratio": 0.0}));
    let run = site.call(
        "requestMachines",
        &json!({"template": {"templateId": "OnDemand-m5", "machineCount": 2}}),
    );
    let out = run.expect_code(1).json();
    assert!(out.get("requestId").is_none(), "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("no machine could be provisioned"),
        "{out}"
    );
}

#[test]
fn retryable_provider_errors_are_retried_to_success() {
    let site = site(json!({"retryable_errors": 2}));
    let id = request(&site, "OnDemand-m5", 1);
    assert_eq!(status(&site, &id)["status"], "complete");
    assert!(site.log().contains("retrying"), "{}", site.log());
}

#[test]
fn bad_input_is_one_json_message_exit_1_and_changes_nothing() {
    let site = site(json!({}));
    let broken = site.path().join("in/broken.json");
    std::fs::write(&broken, "{\"template\": \n").unwrap();
    let broken = broken.to_str().unwrap().to_owned();
    let missing = site.path().join("in/missing.json");
    let missing = missing.to_str().unwrap().to_owned();
    let request = |template: Value| json!({"template": template});
    let cases: Vec<(&str, Run, &str)> = vec![
        (
            "malformed JSON",
            site.call_args("requestMachines", &["-f", &broken]),
            "not valid JSON",
        ),
        (
            "missing file",
            site.call_args("requestMachines", &["-f", &missing]),
            "cannot read input file",
        ),
        (
            "no file",
            site.call_args("requestMachines", &[]),
            "needs an input file",
        ),
        (
            "no template",
            site.call("requestMachines", &json!({})),
            "templateId",
        ),
        (
            "unknown template",
            site.call(
                "requestMachines",
                &request(json!({"templateId": "Nope", "machineCount": 1})),
            ),
            "does not exist",
        ),
        (
            "zero",
            site.call(
                "requestMachines",
                &request(json!({"templateId": "Small", "machineCount": 0})),
            ),
            "above 0",
        ),
        (
            "negative",
            site.call(
                "requestMachines",
                &request(json!({"templateId": "Small", "machineCount": -3})),
            ),
            "above 0",
        ),
        (
            "non-numeric",
            site.call(
                "requestMachines",
                &request(json!({"templateId": "Small", "machineCount": "many"})),
            ),
            "whole number",
        ),
        (
            "above maxNumber",
            site.call(
                "requestMachines",
                &request(json!({"templateId": "Small", "machineCount": 3})),
            ),
            "maxNumber is 2",
        ),
        (
            "no machines to return",
            site.call("requestReturnMachines", &json!({"machines": []})),
            "no machines to return",
        ),
        (
            "no requests",
            site.call("getRequestStatus", &json!({"requests": []})),
            "names no request",
        ),
    ];
    for (what, run, expected) in &cases {
        let out = run.expect_code(1).json();
        let message = out["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no message in {out}"));
        assert!(message.contains(expected), "{what}: {message}");
        assert_eq!(out["error"], true, "{what}");
    }
    let stored = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(
        stored["requests"],
        json!([]),
        "bad input stored something: {stored}"
    );
}

#[test]
fn returns_are_idempotent_and_gone_machines_succeed() {
    let site = site(json!({"shutdown_seconds": 30}));
    let id = request(&site, "OnDemand-m5", 1);
    let m = machines(&status(&site, &id))[0].clone();
    let spec = json!({"machines": [{"name": m["name"], "machineId": m["machineId"]}]});

    let first = site
        .call("requestReturnMachines", &spec)
        .expect_code(0)
        .json();
    assert_eq!(first["message"], "Terminating 1 machines");
    // The second return of the same machine terminates nothing.
    let second = site
        .call("requestReturnMachines", &spec)
        .expect_code(0)
        .json();
    assert!(
        second["message"]
            .as_str()
            .unwrap()
            .starts_with("No active machines"),
        "{second}"
    );
    assert_eq!(
        site.log().matches("mock machines terminating").count(),
        1,
        "{}",
        site.log()
    );
    // Still shutting down: both returns are running, never terminal while executing.
    let s = status(&site, second["requestId"].as_str().unwrap());
    assert_eq!(s["status"], "running", "{s}");
    assert_eq!(machines(&s)[0]["result"], "executing");
}

#[test]
fn get_return_requests_lists_only_what_the_cloud_reclaims_among_the_input() {
    let site = site(json!({"reclaim_after_seconds": 0}));
    let spot = request(&site, "Spot", 2);
    let ondemand = request(&site, "OnDemand-m5", 1);
    let spot_machines = machines(&status(&site, &spot)).clone();
    let od = machines(&status(&site, &ondemand))[0].clone();

    let reclaims = site
        .call(
            "getReturnRequests",
            &json!({"machines": [
                {"name": spot_machines[0]["name"], "machineId": spot_machines[0]["machineId"]},
                {"name": od["name"], "machineId": od["machineId"]}
            ]}),
        )
        .expect_code(0)
        .json();
    let listed = reclaims["requests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{reclaims}");
    assert_eq!(listed[0]["machine"], spot_machines[0]["name"]);
    let grace = listed[0]["gracePeriod"].as_i64().unwrap();
    assert!(
        (100..=120).contains(&grace),
        "seconds left of the notice: {grace}"
    );

    // Nothing named, nothing listed (and nothing reaped).
    let none = site
        .call("getReturnRequests", &json!({}))
        .expect_code(0)
        .json();
    assert_eq!(none["requests"], json!([]));

    // Input that names no machine is bad input, as in the other four calls.
    for bad in [
        json!({"machines": "bad"}),
        json!({"machines": [{"host": "x"}]}),
    ] {
        let refused = site.call("getReturnRequests", &bad);
        assert_eq!(refused.code, 1, "{bad}: {refused:?}");
        assert_eq!(refused.json()["error"], true, "{refused:?}");
    }
}

#[test]
fn nothing_but_json_reaches_stdout_whatever_the_logging() {
    let site = site(json!({}));
    let script = site.path().join("install/scripts/getAvailableTemplates.sh");
    // No log directory: logs go to stderr, never stdout.
    let mut cmd = Command::new(&script);
    site.command(&mut cmd, &[("ORB_LOGGING__LEVEL", "trace")]);
    cmd.env_remove("HF_PROVIDER_LOGDIR");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert!(value["templates"].is_array());
    assert!(
        !String::from_utf8_lossy(&out.stderr).is_empty(),
        "trace logs went to stderr"
    );
}

#[test]
fn concurrent_invocations_lose_and_duplicate_nothing() {
    let site = site(json!({}));
    let spawn = |script: &str, input: &Value| site.spawn(script, input);
    let requests: Vec<_> = (0..50)
        .map(|_| {
            spawn(
                "requestMachines",
                &json!({"template": {"templateId": "Spot", "machineCount": 1}}),
            )
        })
        .collect();
    let mut ids = BTreeSet::new();
    for child in requests {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&stdout).unwrap();
        ids.insert(v["requestId"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 50, "50 distinct request ids");

    let polls: Vec<_> = ids
        .iter()
        .map(|id| {
            spawn(
                "getRequestStatus",
                &json!({"requests": [{"requestId": id}]}),
            )
        })
        .collect();
    for child in polls {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains("locked"), "{stdout}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["requests"][0]["status"], "complete", "{v}");
    }
    let stored = site.orb(&["requests", "list", "--format", "json"]).json();
    let stored: BTreeSet<String> = stored["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requestId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, ids, "every request stored once");
    let machines = site.orb(&["machines", "list", "--format", "json"]).json();
    assert_eq!(machines["machines"].as_array().unwrap().len(), 50);
}

/// Starts `requestMachines` for 2 machines and kills it (SIGKILL) once the request is stored,
/// while the (slow) provider works: the caller never learns the request id.
fn kill_midway(site: &HfSite) -> String {
    let (mut child, request_id) = start_provision(site);
    child.kill().unwrap();
    child.wait().unwrap();
    request_id
}

/// Starts `requestMachines` for 2 machines in a script process; returns the process and the
/// request id once the request is stored (the provider call is then under way).
fn start_provision(site: &HfSite) -> (std::process::Child, String) {
    let file =
        site.input_file(&json!({"template": {"templateId": "OnDemand-m5", "machineCount": 2}}));
    let script = site.path().join("install/scripts/requestMachines.sh");
    let mut cmd = Command::new(script);
    cmd.args(["-f", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = site.command(&mut cmd, &[]).spawn().unwrap();
    let started = Instant::now();
    let request_id = loop {
        let listed = site.orb(&["requests", "list", "--format", "json"]).json();
        if let Some(r) = listed["requests"].as_array().unwrap().first() {
            break r["requestId"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the request was never stored"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (child, request_id)
}

#[test]
fn a_provision_killed_midway_is_found_and_finished() {
    let site = site(json!({"latency_ms": 1500}));
    let request_id = kill_midway(&site);
    let finished = settle(&site, &request_id, Duration::from_secs(60));
    assert_eq!(finished["status"], "complete", "{finished}");
    assert_eq!(machines(&finished).len(), 2);
    assert!(site
        .log()
        .contains("finishing a request whose provisioning was interrupted"));
    // Provisioned once: the mock cloud holds exactly the two machines.
    let all = site.orb(&["machines", "list", "--format", "json"]).json();
    assert_eq!(all["machines"].as_array().unwrap().len(), 2);
}

#[test]
fn orphans_of_a_killed_provision_are_adopted_or_terminated_by_configuration() {
    for (policy, expected_state) in [("adopt", "running"), ("terminate", "shutting-down")] {
        let site = HfSite::with_config(
            json!({
                "provider": {"providers": [{"name": "mockinst", "type": "mock",
                    "config": {"latency_ms": 1500, "shutdown_seconds": 600}}]},
                "request": {"orphans": policy},
                "logging": {"level": "debug"}
            }),
            templates(),
        );
        let orphaned = kill_midway(&site);
        // Host Factory's next periodic call, about other machines, sweeps the orphan.
        site.call("getReturnRequests", &json!({})).expect_code(0);
        assert_eq!(
            stored_states(&site),
            [expected_state, expected_state],
            "{policy}"
        );
        let listed = site
            .orb(&["requests", "list", "--kind", "acquire", "--format", "json"])
            .json();
        let request = &listed["requests"][0];
        assert_eq!(request["requestId"], orphaned.as_str());
        let expected_status = if policy == "adopt" {
            "complete"
        } else {
            "complete_with_error"
        };
        assert_eq!(request["status"], expected_status, "{policy}: {request}");
    }
}

#[test]
fn the_operator_cli_cancels_a_running_request() {
    let site = site(json!({"pending_seconds": 300}));
    let id = request(&site, "OnDemand-m5", 2);
    let run = site.orb(&[
        "requests",
        "cancel",
        &id,
        "--reason",
        "job finished early",
        "--format",
        "json",
    ]);
    let cancelled = run.expect_code(0).json();
    assert_eq!(cancelled["requestId"], id.as_str());
    assert_eq!(cancelled["status"], "complete_with_error");
    assert_eq!(cancelled["terminating"], 2, "{cancelled}");
    assert!(cancelled["returnRequestId"].is_string(), "{cancelled}");

    // Host Factory sees the request finished, its machines failed (being terminated).
    let s = status(&site, &id);
    assert_eq!(s["status"], "complete_with_error", "{s}");
    assert!(s["message"]
        .as_str()
        .unwrap()
        .contains("cancelled: job finished early"));
    assert!(machines(&s).iter().all(|m| m["result"] == "fail"), "{s}");
    assert_eq!(stored_states(&site), ["shutting-down", "shutting-down"]);

    // A finished request cannot be cancelled, nor can an unknown one: exit 1, and why.
    let ret = cancelled["returnRequestId"].as_str().unwrap();
    let refused = site.orb(&["requests", "cancel", ret]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("only acquire requests"),
        "{}",
        refused.stderr
    );
    let unknown = site.orb(&["requests", "cancel", "req-nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("does not exist"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_cancelled_request_whose_provision_was_killed_is_undone() {
    let site = site(json!({"latency_ms": 1500, "shutdown_seconds": 600}));
    let request_id = kill_midway(&site);
    let cancelled = site
        .orb(&["requests", "cancel", &request_id, "--format", "json"])
        .expect_code(0)
        .json();
    // The dead process's provision is redone (the provider finds what it made) and undone.
    assert_eq!(cancelled["inFlight"], false, "{cancelled}");
    assert_eq!(cancelled["terminating"], 2, "{cancelled}");
    assert!(site
        .log()
        .contains("undoing a cancelled request whose provisioning was interrupted"));
    assert_eq!(stored_states(&site), ["shutting-down", "shutting-down"]);
    assert_eq!(status(&site, &request_id)["status"], "complete_with_error");
}

#[test]
fn a_cancel_whose_provisioning_process_then_dies_is_undone_by_the_next_call() {
    let site = site(json!({"latency_ms": 1500, "shutdown_seconds": 600}));
    let (mut child, request_id) = start_provision(&site);
    let cancelled = site
        .orb(&["requests", "cancel", &request_id, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(cancelled["inFlight"], true, "{cancelled}");
    child.kill().unwrap();
    child.wait().unwrap();
    // Host Factory's next periodic call, about other machines, finds it and undoes it.
    site.call("getReturnRequests", &json!({})).expect_code(0);
    assert!(site
        .log()
        .contains("undoing a cancelled request whose provisioning was interrupted"));
    assert_eq!(stored_states(&site), ["shutting-down", "shutting-down"]);
    assert_eq!(status(&site, &request_id)["status"], "complete_with_error");
}

#[test]
fn a_thousand_machines_are_refreshed_in_one_provider_call() {
    // Pending machines keep the request running, so the status call refreshes them.
    let site = site(json!({"pending_seconds": 300}));
    let id = request(&site, "Spot", 1000);
    let before = site.log().matches("mock machine status queried").count();
    let s = status(&site, &id);
    assert_eq!(machines(&s).len(), 1000);
    let calls = site.log().matches("mock machine status queried").count() - before;
    assert_eq!(calls, 1, "one batched status call, not one per machine");
}

#[test]
fn the_operator_cli_requests_waits_and_returns() {
    let site = site(json!({"pending_seconds": 1}));
    let run = site.orb(&[
        "machines",
        "request",
        "OnDemand-m5",
        "2",
        "--wait",
        "--interval",
        "1",
        "--timeout",
        "30",
        "--format",
        "json",
    ]);
    let done = run.expect_code(0).json();
    assert_eq!(done["requests"][0]["status"], "complete");
    assert!(
        run.stderr.contains("running"),
        "progress on stderr: {}",
        run.stderr
    );
    let names: Vec<String> = machines(&done["requests"][0])
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();

    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"][0]["status"], "complete");
    let templates = site.orb(&["templates", "list", "--format", "json"]).json();
    assert_eq!(templates["templates"].as_array().unwrap().len(), 4);
    let shown = site.orb(&["templates", "show", "Small", "--format", "yaml"]);
    assert!(shown.expect_code(0).stdout.contains("templateId: Small"));

    let mut args = vec!["machines", "return"];
    args.extend(names.iter().map(String::as_str));
    args.extend(["--wait", "--interval", "1", "--format", "json"]);
    let returned = site.orb(&args).expect_code(0).json();
    assert_eq!(returned["requests"][0]["status"], "complete");
    let table = site.orb(&["machines", "list", "--format", "table"]);
    assert!(table.expect_code(0).stdout.contains("terminated"));
}

#[test]
fn templates_validate_reports_every_problem_at_once() {
    let site = HfSite::with_config(
        json!({"provider": {"providers": [{"name": "mockinst", "type": "mock"}]}}),
        json!({"templates": [
            {"templateId": "ok", "vmType": "m5.large", "imageId": "img"},
            {"templateId": "bad id!", "maxNumber": -5, "priceType": "cheap"}
        ]}),
    );
    let run = site.orb(&["templates", "validate", "--format", "json"]);
    let report = run.expect_code(1).json();
    let bad = &report["templates"][1];
    assert_eq!(bad["valid"], false);
    let problems: Vec<&str> = bad["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for expected in ["templateId", "maxNumber", "vmType", "imageId", "priceType"] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} in {problems:?}"
        );
    }
    assert_eq!(report["templates"][0]["valid"], true);
    site.orb(&["templates", "validate", "ok", "--format", "json"])
        .expect_code(0);
}

#[test]
fn ibm_file_names_and_host_factory_variables_alone_are_enough() {
    // IBM's generic `awsprov_templates.json`-style name (`<type>prov_templates.json`) is read.
    let site = HfSite::new(json!({}), json!({"templates": []}));
    std::fs::remove_file(site.path().join("conf/mockinstprov_templates.json")).unwrap();
    std::fs::write(
        site.path().join("conf/mockprov_templates.json"),
        json!({"templates": [{"templateId": "FromIbmFile", "vmType": "m5.large", "imageId": "i"}]})
            .to_string(),
    )
    .unwrap();
    let listed = site
        .call_args("getAvailableTemplates", &[])
        .expect_code(0)
        .json();
    assert_eq!(listed["templates"][0]["templateId"], "FromIbmFile");
}

#[test]
fn a_machine_terminated_outside_orb_is_reclaimed_with_no_grace() {
    let site = site(json!({}));
    let id = request(&site, "OnDemand-m5", 2);
    let ms = machines(&status(&site, &id)).clone();
    // Someone terminates the first machine in the cloud's console: edit the mock cloud.
    let state_file = site.path().join("work/mock-mockinst.json");
    let mut cloud: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let victim = ms[0]["machineId"].as_str().unwrap();
    cloud["machines"][victim]["terminate_at"] = json!(1.0);
    std::fs::write(&state_file, cloud.to_string()).unwrap();

    let input = json!({"machines": ms.iter().map(|m| json!({"name": m["name"], "machineId": m["machineId"]})).collect::<Vec<_>>()});
    let reclaims = site.call("getReturnRequests", &input).expect_code(0).json();
    assert_eq!(
        reclaims["requests"],
        json!([{"machine": ms[0]["name"], "gracePeriod": 0, "machineId": victim}])
    );
}

#[test]
fn every_way_host_factory_names_the_input_file_works() {
    let site = site(json!({}));
    let file = site.input_file(&json!({"template": {"templateId": "Small", "machineCount": 1}}));
    let file = file.to_str().unwrap();
    for args in [
        vec!["-f", file],
        vec!["--f", file],
        vec!["--file", file],
        vec![file],
    ] {
        let out = site
            .call_args("requestMachines", &args)
            .expect_code(0)
            .json();
        assert!(
            out["requestId"].as_str().unwrap().starts_with("req-"),
            "{args:?}: {out}"
        );
        let id = out["requestId"].as_str().unwrap().to_owned();
        // Return it again so the template's maxNumber (2) leaves room for the next form.
        let m = machines(&status(&site, &id))[0].clone();
        site.call(
            "requestReturnMachines",
            &json!({"machines": [{"name": m["name"]}]}),
        )
        .expect_code(0);
    }
}

/// A provider built against the frozen first release of the interface (orb-plugin-api 1.0.0,
/// unpacked from the archive kept in the repository) serves the whole Host Factory flow in
/// today's host; the operation added after it is answered "not supported", naming its versions.
#[test]
fn a_provider_built_against_the_frozen_first_release_serves_the_whole_flow() {
    let site = HfSite::with_plugin(
        json!({"provider": {"providers": [{"name": HF_PROVIDER, "type": "external"}]}}),
        json!({"templates": [{"templateId": "T", "maxNumber": 10, "vmType": "v1", "imageId": "i"}]}),
        frozen_plugin(),
        Vec::new(),
    );
    let listed = site.orb(&["plugins", "list"]).expect_code(0).json();
    assert_eq!(listed["plugins"][0]["interfaceVersion"], FROZEN_INTERFACE);
    assert_ne!(listed["hostInterfaceVersion"], FROZEN_INTERFACE);

    let templates = site
        .call("getAvailableTemplates", &json!({}))
        .expect_code(0)
        .json();
    assert_eq!(templates["templates"][0]["templateId"], "T");
    let run = site.call(
        "requestMachines",
        &json!({"template": {"templateId": "T", "machineCount": 3}}),
    );
    let request_id = accepted_id(&run, "requestMachines", "req-");
    let done = settle(&site, &request_id, Duration::from_secs(20));
    assert_eq!(done["status"], "complete", "{done}");
    let running = machines(&done);
    assert_eq!(running.len(), 3, "{done}");
    let run = site.call(
        "requestReturnMachines",
        &json!({"machines": running.iter().map(|m| json!({"name": m["name"], "machineId": m["machineId"]})).collect::<Vec<_>>()}),
    );
    let return_id = accepted_id(&run, "requestReturnMachines", "ret-");
    let gone = settle(&site, &return_id, Duration::from_secs(20));
    assert_eq!(gone["status"], "complete", "{gone}");
    assert!(
        machines(&gone).iter().all(|m| m["status"] == "terminated"),
        "{gone}"
    );
    let reclaims = site.call("getReturnRequests", &json!({"machines": []}));
    assert_eq!(reclaims.expect_code(0).json()["requests"], json!([]));

    let newer = site.orb(&["providers", "infrastructure"]);
    let message = newer.expect_code(1).stdout.clone() + &newer.stderr;
    assert!(
        message.contains("describe_infrastructure is not supported by provider type 'external' (plugin external-fixture 3.1.4, interface 1.0.0)"),
        "{message}"
    );
}
