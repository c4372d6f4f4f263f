//! What an operator trusts orb with, tried with Host Factory's habits: many script processes
//! at once, processes killed at any moment, and input nobody checked. Through the real scripts,
//! the real binary and the mock provider plugin, with state in SQLite.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{HfSite, Run};

/// Templates: `Capped` allows 3 machines, `Open` any number.
fn templates() -> Value {
    json!({"templates": [
        {"templateId": "Capped", "maxNumber": 3, "vmType": "m5.large", "imageId": "img-1"},
        {"templateId": "Open", "maxNumber": -1, "vmType": "m5.large", "imageId": "img-1"}
    ]})
}

pub(crate) fn site(mock_config: Value) -> HfSite {
    site_with(mock_config, json!({}))
}

/// A site with `extra` merged into its configuration.
fn site_with(mock_config: Value, extra: Value) -> HfSite {
    let mut config = json!({
        "provider": {"providers": [{"name": "mockinst", "type": "mock", "config": mock_config}]},
        "logging": {"level": "debug"}
    });
    crate::support::merge(&mut config, extra);
    HfSite::with_config(config, templates())
}

fn request(site: &HfSite, template: &str, count: i64) -> Run {
    site.call(
        "requestMachines",
        &json!({"template": {"templateId": template, "machineCount": count}}),
    )
}

fn request_id(run: &Run) -> String {
    run.expect_code(0).json()["requestId"]
        .as_str()
        .expect("a requestId")
        .to_owned()
}

fn status(site: &HfSite, request_id: &str) -> Value {
    site.call(
        "getRequestStatus",
        &json!({"requests": [{"requestId": request_id}]}),
    )
    .expect_code(0)
    .json()["requests"][0]
        .clone()
}

/// The mock cloud's machines, by id (none before its first launch).
pub(crate) fn cloud(site: &HfSite) -> BTreeMap<String, Value> {
    let path = site.path().join("work/mock-mockinst.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let state: Value = serde_json::from_str(&text).unwrap();
    state["machines"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Adds a machine to the mock cloud that no request of orb's launched.
fn add_foreign_machine(site: &HfSite, machine_id: &str) {
    let path = site.path().join("work/mock-mockinst.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["machines"][machine_id] = json!({
        "machine_id": machine_id, "request_id": "someone-elses", "name": "db-primary",
        "private_ip": "10.9.9.9", "instance_type": "m5.large", "price_type": "ondemand",
        "launched_at": 0.0, "failed": false, "terminate_at": null, "tags": {}
    });
    std::fs::write(&path, state.to_string()).unwrap();
}

/// The stored machines, as `orb machines list` shows them.
pub(crate) fn stored(site: &HfSite) -> Vec<Value> {
    site.orb(&["machines", "list", "--format", "json"]).json()["machines"]
        .as_array()
        .unwrap()
        .clone()
}

/// The stored requests of `kind`.
pub(crate) fn stored_requests(site: &HfSite, kind: &str) -> Vec<Value> {
    site.orb(&["requests", "list", "--kind", kind, "--format", "json"])
        .json()["requests"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits until `condition` holds (at most 30 s).
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_return_leaves_alone_what_orb_never_launched_and_names_a_machine_once() {
    let site = site(json!({"shutdown_seconds": 60}));
    let id = request_id(&request(&site, "Open", 1));
    let mine = status(&site, &id)["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    add_foreign_machine(&site, "m-foreign");

    // Only the foreign machine: refused, exit 1, nothing terminated.
    let only = site.call(
        "requestReturnMachines",
        &json!({"machines": [{"name": "db-primary", "machineId": "m-foreign"}]}),
    );
    assert_eq!(only.code, 1, "{}", only.stdout);
    assert!(only.stdout.contains("not orb's"), "{}", only.stdout);
    // With one of orb's, named three times: that one is returned once, the foreign one is
    // listed as left alone.
    let spec = json!({"machines": [
        {"machineId": mine}, {"machineId": "m-foreign"}, {"machineId": mine}, {"machineId": mine}
    ]});
    let mixed = site
        .call("requestReturnMachines", &spec)
        .expect_code(0)
        .json();
    assert_eq!(
        mixed["message"], "Terminating 1 machines; 1 left alone, not orb's: m-foreign",
        "{mixed}"
    );
    let cloud = cloud(&site);
    assert!(cloud["m-foreign"]["terminate_at"].is_null(), "{cloud:?}");
    assert!(!cloud[&mine]["terminate_at"].is_null(), "{cloud:?}");
    assert!(site.log().contains("not orb's"), "the refusal is logged");

    let ret = status(&site, mixed["requestId"].as_str().unwrap());
    let results: Vec<(&str, &str)> = ret["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["machineId"].as_str().unwrap(),
                m["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [(mine.as_str(), "executing"), ("m-foreign", "fail")],
        "{ret}"
    );
    // The machine left alone is shown as it is, running, with why it was left alone.
    let foreign = &ret["machines"][1];
    assert_eq!(foreign["status"], "running", "{ret}");
    assert!(
        foreign["message"].as_str().unwrap().contains("not orb's"),
        "{ret}"
    );
}

#[test]
fn the_cap_holds_under_parallel_requests() {
    let site = site(json!({"pending_seconds": 60}));
    let children: Vec<Child> = (0..20)
        .map(|_| {
            site.spawn(
                "requestMachines",
                &json!({"template": {"templateId": "Capped", "machineCount": 1}}),
            )
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    let accepted = runs.iter().filter(|r| r.code == 0).count();
    assert_eq!(accepted, 3, "{runs:#?}");
    for refused in runs.iter().filter(|r| r.code != 0) {
        assert!(refused.stdout.contains("maxNumber is 3"), "{refused:?}");
    }
    assert_eq!(stored(&site).len(), 3);
    assert_eq!(cloud(&site).len(), 3);
    // Still pending, the three count: even a sequential request is refused.
    assert_eq!(request(&site, "Capped", 1).code, 1);
}

#[test]
fn an_absurd_machine_count_is_refused_and_stops_nothing() {
    let site = site(json!({}));
    let ok = request_id(&request(&site, "Open", 1));
    for count in [4294967295_i64, 1001] {
        let run = request(&site, "Open", count);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stdout.contains("request.max_machines_per_request"),
            "{run:?}"
        );
    }
    assert_eq!(stored_requests(&site, "acquire").len(), 1, "nothing stored");
    assert_eq!(status(&site, &ok)["status"], "complete");
    // The bound is the operator's to set.
    let small = site_with(
        json!({}),
        json!({"request": {"max_machines_per_request": 2}}),
    );
    assert_eq!(request(&small, "Open", 3).code, 1);
    request_id(&request(&small, "Open", 2));
}

/// Starts a script and kills it (SIGKILL) once `stored` holds, while the slow provider works.
/// From now on every provider call takes 1.5 s.
fn slow_down(site: &HfSite) {
    let file = site.path().join("conf/config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    config["provider"]["providers"][0]["config"]["latency_ms"] = json!(1500);
    std::fs::write(&file, config.to_string()).unwrap();
}

fn kill_when(mut child: Child, what: &str, stored: impl FnMut() -> bool) {
    wait_until(what, stored);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_return_killed_before_the_terminate_is_finished_by_the_next_call() {
    let site = site(json!({"shutdown_seconds": 60}));
    let id = request_id(&request(&site, "Open", 2));
    let machines: Vec<Value> = status(&site, &id)["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"machineId": m["machineId"], "name": m["name"]}))
        .collect();
    // The return is killed while its terminate is under way.
    slow_down(&site);
    let child = site.spawn("requestReturnMachines", &json!({"machines": machines}));
    kill_when(child, "the return is stored", || {
        !stored_requests(&site, "return").is_empty()
    });
    assert!(
        cloud(&site).values().all(|m| m["terminate_at"].is_null()),
        "killed before the terminate"
    );
    let ret = stored_requests(&site, "return")[0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Host Factory polls the return: the poll takes it over and terminates the machines.
    let polled = status(&site, &ret);
    assert_eq!(polled["status"], "running", "{polled}");
    assert!(
        cloud(&site).values().all(|m| !m["terminate_at"].is_null()),
        "the next call terminated them"
    );
    assert!(
        site.log().contains("taking over a request"),
        "{}",
        site.log()
    );
    // A second return of the same machines finds them being returned: nothing twice.
    let again = site
        .call("requestReturnMachines", &json!({"machines": machines}))
        .expect_code(0)
        .json();
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .starts_with("No active machines"),
        "{again}"
    );
}

#[test]
fn a_request_whose_takers_keep_dying_is_given_up_and_released() {
    let site = site(json!({"latency_ms": 1500}));
    let child = site.spawn(
        "requestMachines",
        &json!({"template": {"templateId": "Open", "machineCount": 2}}),
    );
    kill_when(child, "the request is stored", || {
        !stored_requests(&site, "acquire").is_empty()
    });
    let id = stored_requests(&site, "acquire")[0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every process that takes it over dies too.
    for _ in 0..3 {
        let child = site.spawn(
            "getRequestStatus",
            &json!({"requests": [{"requestId": id}]}),
        );
        std::thread::sleep(Duration::from_millis(700));
        let mut child = child;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let settled = status(&site, &id);
    assert_eq!(settled["status"], "complete_with_error", "{settled}");
    assert!(
        settled["message"].as_str().unwrap().contains("given up"),
        "{settled}"
    );
    // Whatever an interrupted attempt launched is being terminated.
    assert!(
        cloud(&site).values().all(|m| !m["terminate_at"].is_null()),
        "{:?}",
        cloud(&site)
    );
    // And it stops nothing: a new request is served.
    request_id(&request(&site, "Open", 1));
}

#[test]
fn a_cancel_killed_before_the_release_is_finished_by_the_next_call() {
    let site = site(json!({"pending_seconds": 600}));
    let id = request_id(&request(&site, "Open", 2));
    assert_eq!(cloud(&site).len(), 2);
    slow_down(&site);
    let mut cancel = Command::new(site.path().join("install/bin/orb"));
    cancel
        .args(["requests", "cancel", &id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = site.command(&mut cancel, &[]).spawn().unwrap();
    kill_when(child, "the cancellation is stored", || {
        stored_requests(&site, "acquire")[0]["status"] != "running"
    });
    assert!(
        cloud(&site).values().all(|m| m["terminate_at"].is_null()),
        "killed before the release"
    );
    // The next call that sweeps finishes the release.
    site.call("getReturnRequests", &json!({"machines": []}))
        .expect_code(0);
    assert!(
        cloud(&site).values().all(|m| !m["terminate_at"].is_null()),
        "{:?}\n{}",
        cloud(&site),
        site.log()
    );
}

#[test]
fn fifty_parallel_calls_of_every_kind_lose_nothing_and_hold_the_cap() {
    let site = site(json!({"pending_seconds": 0.5}));
    // Some machines to return and poll.
    let first: Vec<String> = (0..3)
        .map(|_| request_id(&request(&site, "Capped", 1)))
        .collect();
    let mut known = Vec::new();
    for id in &first {
        for m in status(&site, id)["machines"].as_array().unwrap() {
            known.push(json!({"machineId": m["machineId"], "name": m["name"]}));
        }
    }
    let mut children = Vec::new();
    for i in 0..50 {
        let (script, input) = match i % 5 {
            0 => (
                "requestMachines",
                json!({"template": {"templateId": "Capped", "machineCount": 1}}),
            ),
            1 => (
                "getRequestStatus",
                json!({"requests": first.iter().map(|id| json!({"requestId": id})).collect::<Vec<_>>()}),
            ),
            2 => (
                "requestReturnMachines",
                json!({"machines": [known[i % known.len()].clone()]}),
            ),
            3 => ("getReturnRequests", json!({"machines": known})),
            _ => ("getAvailableTemplates", json!({})),
        };
        children.push((script, site.spawn(script, &input)));
    }
    let mut accepted = 0;
    for (script, child) in children {
        let run = finish(child);
        assert!(!run.stdout.contains("locked"), "{script}: {run:?}");
        let out = run.json();
        match (script, run.code) {
            ("requestMachines", 0) => accepted += 1,
            ("requestMachines", 1) => {
                assert!(
                    out["message"].as_str().unwrap().contains("maxNumber"),
                    "{out}"
                )
            }
            (_, 0) => {}
            _ => panic!("{script} failed: {run:?}"),
        }
    }
    // Every machine orb launched is on record, once; none beyond the cap is active.
    let records = stored(&site);
    let ids: BTreeSet<&str> = records
        .iter()
        .map(|m| m["machineId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), records.len(), "no machine stored twice");
    let in_cloud: BTreeSet<String> = cloud(&site).into_keys().collect();
    assert_eq!(
        in_cloud,
        ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>()
    );
    let active = records
        .iter()
        .filter(|m| m["returnRequestId"].is_null())
        .filter(|m| !matches!(m["status"].as_str(), Some("terminated" | "failed")))
        .count();
    assert!(
        active <= 3,
        "{active} active machines on a cap of 3 ({accepted} accepted)"
    );
    // Every machine named by a return is claimed, whatever refreshes ran beside the returns.
    for m in &known {
        let record = records
            .iter()
            .find(|r| r["machineId"] == m["machineId"])
            .unwrap();
        assert!(!record["returnRequestId"].is_null(), "claim kept: {record}");
    }
}

#[test]
fn files_and_typos_fail_loudly_from_every_call() {
    // A templates file that is not JSON: every call that serves templates names the file,
    // the line and the column.
    let site = site(json!({}));
    let file = site.path().join("conf/mockinstprov_templates.json");
    std::fs::write(
        &file,
        "{\"templates\": [\n  {\"templateId\": \"Open\",}\n]}",
    )
    .unwrap();
    for run in [
        site.call_args("getAvailableTemplates", &[]),
        request(&site, "Open", 1),
    ] {
        assert_eq!(run.code, 1, "{run:?}");
        let message = run.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("mockinstprov_templates.json"), "{message}");
        assert!(message.contains("line 2 column"), "{message}");
    }

    // A misspelt template key does not make the template unlimited.
    std::fs::write(
        &file,
        json!({"templates": [{"templateId": "Open", "maxNumbr": 1, "vmType": "m5.large", "imageId": "i"}]})
            .to_string(),
    )
    .unwrap();
    let run = request(&site, "Open", 5);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("'maxNumbr' (did you mean 'maxNumber'?)"),
        "{run:?}"
    );

    // A misspelt configuration key is an error naming the key and the one meant.
    let typo = site_with(json!({}), json!({"server": {"auth": {"enable": true}}}));
    let run = typo.call_args("getAvailableTemplates", &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("server.auth.enable: unknown key; did you mean 'enabled'?"),
        "{run:?}"
    );

    // Any other key orb does not know is an error too, but the Python ORB's keys load.
    let unknown = site_with(
        json!({}),
        json!({"server": {"colour": "blue"}, "request": {"max_machines": 5}}),
    );
    let run = unknown.call_args("getAvailableTemplates", &[]);
    assert_eq!(run.code, 1, "{run:?}");
    for named in [
        "server.colour: unknown key",
        "request.max_machines: unknown key",
    ] {
        assert!(run.stdout.contains(named), "{run:?}");
    }
    let orb_py = site_with(
        json!({}),
        json!({"version": "2.0.0", "environment": "production",
               "scheduler": {"config_root": "$ORB_CONFIG_DIR"},
               "server": {"workers": 2, "docs_enabled": false},
               "request": {"default_grace_period": 300},
               "storage": {"json_strategy": {"base_path": "data"}}}),
    );
    orb_py
        .call_args("getAvailableTemplates", &[])
        .expect_code(0);
    // `orb config show` says which of them change nothing, beside a configuration that loads.
    let shown = orb_py.orb(&["config", "show", "--format", "json"]);
    assert_eq!(shown.json()["server"]["workers"], 2);
    assert!(
        shown
            .stderr
            .contains("note: server.workers has no effect: a key of the Python ORB's"),
        "{shown:?}"
    );

    // A provider name that names no instance is an error listing the configured ones.
    let run = site.run(
        &mut Command::new(site.path().join("install/scripts/getAvailableTemplates.sh")),
        &[("HF_PROVIDER_NAME", "mockinstt")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("HF_PROVIDER_NAME 'mockinstt' names no configured provider instance; configured: mockinst"),
        "{run:?}"
    );
}

#[test]
fn a_provider_that_stops_answering_times_out_and_the_deadline_settles_the_request() {
    let site = site_with(
        json!({"latency_ms": 1500, "pending_seconds": 600}),
        json!({
            "provider": {"call_timeouts": {"machine_status": 1}},
            "request": {"default_timeout": 2}
        }),
    );
    let id = request_id(&request(&site, "Open", 1));
    std::thread::sleep(Duration::from_secs(2));
    let settled = status(&site, &id);
    assert_eq!(settled["status"], "complete_with_error", "{settled}");
    // Its message names the deadline, not a failure of the machine.
    let message = settled["message"].as_str().unwrap();
    assert!(
        message.contains("did not start before the deadline"),
        "{settled}"
    );
    assert!(!message.contains("failed"), "{settled}");
    assert!(
        site.log().contains("no answer within 1 s"),
        "{}",
        site.log()
    );
    // The machine that never started within the deadline is being terminated.
    assert!(
        cloud(&site).values().all(|m| !m["terminate_at"].is_null()),
        "{:?}",
        cloud(&site)
    );
}

#[test]
fn generated_input_never_panics_a_host_factory_call() {
    use proptest::prelude::*;
    const CALLS: [&str; 5] = [
        "getAvailableTemplates",
        "requestMachines",
        "getRequestStatus",
        "requestReturnMachines",
        "getReturnRequests",
    ];
    let site = site(json!({}));
    let text = prop_oneof![
        3 => crate::support::generated_json().prop_map(|v| v.to_string()),
        1 => "\\PC{0,64}",
    ];
    crate::support::check_generated(60, (0..CALLS.len(), text), |(call, text)| {
        let file = site.path().join("in/generated.json");
        std::fs::write(&file, &text).unwrap();
        let run = site.call_args(CALLS[call], &["-f", file.to_str().unwrap()]);
        prop_assert!(
            run.code == 0 || run.code == 1,
            "{} exited {} on {text}: {}",
            CALLS[call],
            run.code,
            run.stderr
        );
        prop_assert!(
            serde_json::from_str::<Value>(&run.stdout).is_ok(),
            "{} printed no JSON on {text}: {:?}",
            CALLS[call],
            run.stdout
        );
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        Ok(())
    });
    // Whatever was fed, the broker serves the next call.
    let id = request_id(&request(&site, "Open", 1));
    assert_eq!(status(&site, &id)["status"], "complete");
}

/// A provision call that times out is not asked again beside itself: one call, and the caller
/// has its answer within the call's timeout, not after a round of retries.
#[test]
fn a_timed_out_provision_is_not_retried_beside_itself() {
    let site = site_with(
        json!({"answer_delay_ms": 4000}),
        json!({"provider": {"call_timeouts": {"provision_machines": 1}}}),
    );
    let answered = request(&site, "Open", 1);
    let log = site.log();
    let calls = log.matches("mock machines launched").count();
    assert_eq!(calls, 1, "{answered:?}\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("retrying") && l.contains("provision_machines")),
        "{log}"
    );
    assert!(log.contains("no answer within 1 s"), "{log}");
    // The call failed (Host Factory asks again later); what the provider launched meanwhile
    // is not left running behind it.
    assert_eq!(answered.code, 1, "{answered:?}");
    let started = std::time::Instant::now();
    while cloud(&site).values().any(|m| m["terminate_at"].is_null()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            cloud(&site)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
