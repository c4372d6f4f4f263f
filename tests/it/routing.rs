//! Many provider instances behind one Host Factory provider: each machine is returned,
//! refreshed and terminated through the instance that made it.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::HfSite;

/// A site with two mock instances: `mockinst` (Host Factory's) and `mockslow`, whose machines
/// take a minute to shut down.
fn two_instances() -> HfSite {
    let templates = json!({"templates": [
        {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
    ]});
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [
                {"name": "mockinst", "type": "mock", "config": {"pending_seconds": 0, "shutdown_seconds": 0}},
                {"name": "mockslow", "type": "mock", "config": {"pending_seconds": 0, "shutdown_seconds": 60}}
            ]},
            "logging": {"level": "debug"}
        }),
        templates.clone(),
    );
    std::fs::write(
        site.path().join("conf/templates.json"),
        templates.to_string(),
    )
    .unwrap();
    site
}

/// One machine of `Small` through the instance Host Factory's `HF_PROVIDER_NAME` names.
fn machine_from(site: &HfSite, instance: &str) -> String {
    let env = [("HF_PROVIDER_NAME", instance)];
    let asked = site
        .run(
            Command::new(site.path().join("install/bin/orb")).args([
                "machines", "request", "Small", "1", "--wait", "--format", "json",
            ]),
            &env,
        )
        .expect_code(0)
        .json();
    asked["requests"][0]["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn shown(site: &HfSite, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    site.orb(&all).expect_code(0).json()
}

/// A return of machines of two instances asks each instance about its own machines: one still
/// shutting down in its cloud is not taken for gone because another instance does not know it.
#[test]
fn a_return_across_instances_follows_each_machine_in_its_own_cloud() {
    let site = two_instances();
    let fast = machine_from(&site, "mockinst");
    let slow = machine_from(&site, "mockslow");
    let returned = site
        .call(
            "requestReturnMachines",
            &json!({"machines": [{"name": fast, "machineId": fast}, {"name": slow, "machineId": slow}]}),
        )
        .expect_code(0)
        .json();
    let ret = returned["requestId"].as_str().unwrap().to_owned();
    let status = shown(&site, &["requests", "show", &ret]);
    assert_eq!(
        status["requests"][0]["status"], "running",
        "mockslow's machine still shuts down: {status}"
    );
    let slow_machine = shown(&site, &["machines", "show", &slow]);
    assert_eq!(slow_machine["status"], "shutting-down", "{slow_machine}");
    let fast_machine = shown(&site, &["machines", "show", &fast]);
    assert_eq!(fast_machine["status"], "terminated", "{fast_machine}");
}

/// Three mock instances (`a` first by priority, `b` of weight 3) behind pools of each policy,
/// the templates shared by all.
fn pools(extra: Value) -> HfSite {
    let templates = json!({"templates": [
        {"templateId": "Small", "maxNumber": 500, "vmType": "m5.large", "imageId": "img"}
    ]});
    let instance = |name: &str, priority: i64, weight: u32| {
        json!({"name": name, "type": "mock", "priority": priority, "weight": weight,
            "config": {"pending_seconds": 0}})
    };
    let pool = |policy: &str| json!({"instances": ["a", "b", "c"], "policy": policy});
    let mut config = json!({
        "provider": {
            "providers": [instance("a", 1, 1), instance("b", 2, 3), instance("c", 3, 1)],
            "pools": {
                "first": pool("priority"), "turns": pool("round_robin"),
                "weights": pool("WEIGHTED_ROUND_ROBIN"), "emptiest": pool("least_loaded"),
                "any": pool("random"),
                "split": {"instances": ["a", "b", "c"], "spread": true}
            }
        },
        "logging": {"level": "debug"}
    });
    crate::support::merge(&mut config, extra);
    let site = HfSite::with_config(config, templates.clone());
    std::fs::write(
        site.path().join("conf/templates.json"),
        templates.to_string(),
    )
    .unwrap();
    site
}

/// The instance that served a request for `count` machines through Host Factory's provider
/// `pool`.
fn served_by(site: &HfSite, pool: &str, count: u32) -> String {
    let env = [("HF_PROVIDER_NAME", pool)];
    let asked = site
        .run(
            Command::new(site.path().join("install/bin/orb")).args([
                "machines",
                "request",
                "Small",
                &count.to_string(),
                "--format",
                "json",
            ]),
            &env,
        )
        .expect_code(0)
        .json();
    let id = asked["requestId"].as_str().unwrap().to_owned();
    shown(site, &["requests", "show", &id])["requests"][0]["providerName"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn each_policy_chooses_as_it_says_over_a_sequence_of_requests() {
    let site = pools(json!({}));
    let sequence = |pool: &str, n: usize| -> Vec<String> {
        (0..n).map(|_| served_by(&site, pool, 1)).collect()
    };
    assert_eq!(sequence("first", 3), ["a", "a", "a"]);
    assert_eq!(sequence("turns", 6), ["a", "b", "c", "a", "b", "c"]);
    // Weights 1, 3 and 1: b takes three turns in five.
    assert_eq!(sequence("weights", 5), ["a", "b", "b", "b", "c"]);
    // a holds 3 + 1 + 2 machines, b 2 + 3, c 2 + 1: c is emptiest, then it fills.
    let emptiest = served_by(&site, "emptiest", 4);
    assert_eq!(emptiest, "c");
    assert_eq!(served_by(&site, "emptiest", 1), "b");
    let any: std::collections::BTreeSet<String> = sequence("any", 30).into_iter().collect();
    assert_eq!(any.len(), 3, "random reaches every instance: {any:?}");
}

#[test]
fn least_loaded_picks_the_most_room_under_each_instances_cap() {
    let site = pools(json!({"provider": {"providers": [
        {"name": "a", "type": "mock", "priority": 1, "max_machines": 3, "config": {}},
        {"name": "b", "type": "mock", "priority": 2, "max_machines": 10, "config": {}},
        {"name": "c", "type": "mock", "priority": 3, "max_machines": 4, "config": {}}
    ]}}));
    // Room 3, 10, 4: b; then 3, 8, 4: b; then 3, 6, 4; then 3, 4, 4 (b first of equals).
    let served: Vec<String> = (0..4).map(|_| served_by(&site, "emptiest", 2)).collect();
    assert_eq!(served, ["b", "b", "b", "b"]);
    // Room 3, 2, 4: c.
    assert_eq!(served_by(&site, "emptiest", 1), "c");
}

/// The circuit breaker's state is in the store: separate processes count the failures, see
/// it open, skip the instance, and try it again after the cool-down.
#[test]
fn an_instance_that_keeps_failing_is_skipped_by_every_process_until_its_cool_down() {
    let breaker = json!({"circuit_breaker": {"failure_threshold": 2, "recovery_timeout": 5}});
    let site = pools(json!({"provider": breaker.clone()}));
    let config_file = site.path().join("conf/config.json");
    let healthy: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_file).unwrap()).unwrap();
    let mut down = healthy.clone();
    down["provider"]["providers"][0]["config"]["unavailable"] = json!(true);
    std::fs::write(&config_file, down.to_string()).unwrap();
    let env = [("HF_PROVIDER_NAME", "first")];
    let request = || {
        site.run(
            Command::new(site.path().join("install/bin/orb"))
                .args(["machines", "request", "Small", "1", "--format", "json"]),
            &env,
        )
    };
    // a fails twice (b takes the requests), and its circuit opens.
    for _ in 0..2 {
        let served = request();
        served.expect_code(0);
        assert!(
            served.stdout.contains("simulated outage"),
            "{}",
            served.stdout
        );
    }
    let listed = shown(&site, &["providers", "list"]);
    let a = &listed["providers"][0];
    assert_eq!(
        (a["name"].as_str(), a["circuit"].as_str()),
        (Some("a"), Some("open")),
        "{listed}"
    );
    // Open: skipped, not even asked; b serves.
    let skipped = request();
    skipped.expect_code(0);
    assert!(!skipped.stdout.contains("outage"), "{}", skipped.stdout);
    assert_eq!(served_by(&site, "first", 1), "b");
    // After the cool-down, a is tried again; it works now, and its circuit closes.
    std::fs::write(&config_file, healthy.to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5100));
    assert_eq!(
        shown(&site, &["providers", "list"])["providers"][0]["circuit"],
        "half_open"
    );
    assert_eq!(served_by(&site, "first", 1), "a");
    assert_eq!(
        shown(&site, &["providers", "list"])["providers"][0]["circuit"],
        "closed"
    );
}

/// The machines a mock instance's cloud holds, by id: whether each is being terminated.
fn cloud(site: &HfSite, instance: &str) -> std::collections::BTreeMap<String, bool> {
    let text = std::fs::read_to_string(site.path().join(format!("work/mock-{instance}.json")))
        .unwrap_or_else(|_| "{}".into());
    let state: Value = serde_json::from_str(&text).unwrap();
    state["machines"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, v)| (id.clone(), !v["terminate_at"].is_null()))
                .collect()
        })
        .unwrap_or_default()
}

/// Two instances behind the pool `first`: `a` has room for half of what it is asked, and is
/// asked `top_ups` more times before what it lacks fails over.
fn half_full(pending_seconds: u32, top_ups: u32) -> HfSite {
    pools(
        json!({"request": {"fulfillment_max_retries": top_ups}, "provider": {"providers": [
            {"name": "a", "type": "mock", "priority": 1,
                "config": {"fulfil_ratio": 0.5, "pending_seconds": pending_seconds}},
            {"name": "b", "type": "mock", "priority": 2, "config": {"pending_seconds": pending_seconds}},
            {"name": "c", "type": "mock", "priority": 3, "enabled": false, "config": {}}
        ]}}),
    )
}

/// Asks the pool `first` for `count` machines through Host Factory's script; the request id.
fn hf_request(site: &HfSite, count: u32) -> String {
    let file =
        site.input_file(&json!({"template": {"templateId": "Small", "machineCount": count}}));
    let asked = site
        .run(
            Command::new(site.path().join("install/scripts/requestMachines.sh"))
                .args(["-f", file.to_str().unwrap()]),
            &[("HF_PROVIDER_NAME", "first")],
        )
        .expect_code(0)
        .json();
    asked["requestId"].as_str().unwrap().to_owned()
}

/// getRequestStatus through Host Factory's script.
fn hf_status(site: &HfSite, id: &str) -> Value {
    let file = site.input_file(&json!({"requests": [{"requestId": id}]}));
    site.run(
        Command::new(site.path().join("install/scripts/getRequestStatus.sh"))
            .args(["-f", file.to_str().unwrap()]),
        &[("HF_PROVIDER_NAME", "first")],
    )
    .expect_code(0)
    .json()["requests"][0]
        .clone()
}

#[test]
fn what_one_instance_cannot_provide_goes_to_the_next_and_returns_through_each() {
    let site = half_full(0, 0);
    let id = hf_request(&site, 4);
    let done = hf_status(&site, &id);
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["machines"].as_array().unwrap().len(), 4, "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.contains("a: 2 of 4") && message.contains("b: 2 of 2"),
        "where the machines came from: {message}"
    );
    let (in_a, in_b) = (cloud(&site, "a"), cloud(&site, "b"));
    assert_eq!((in_a.len(), in_b.len()), (2, 2));

    // A return of all four terminates each in its own cloud.
    let machines: Vec<Value> = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    let file = site.input_file(&json!({"machines": machines}));
    let back = site
        .run(
            Command::new(site.path().join("install/scripts/requestReturnMachines.sh"))
                .args(["-f", file.to_str().unwrap()]),
            &[("HF_PROVIDER_NAME", "first")],
        )
        .expect_code(0)
        .json();
    let gone = hf_status(&site, back["requestId"].as_str().unwrap());
    assert_eq!(gone["status"], "complete", "{gone}");
    assert!(
        cloud(&site, "a").values().all(|t| *t),
        "{:?}",
        cloud(&site, "a")
    );
    assert!(
        cloud(&site, "b").values().all(|t| *t),
        "{:?}",
        cloud(&site, "b")
    );
}

#[test]
fn an_outage_fails_over_and_a_cancel_reaches_every_instance_asked() {
    // a is down: b takes the whole request.
    let site = pools(json!({"provider": {"providers": [
        {"name": "a", "type": "mock", "priority": 1, "config": {"unavailable": true}},
        {"name": "b", "type": "mock", "priority": 2, "config": {}},
        {"name": "c", "type": "mock", "priority": 3, "enabled": false, "config": {}}
    ]}}));
    let id = hf_request(&site, 2);
    let done = hf_status(&site, &id);
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(cloud(&site, "b").len(), 2);
    assert!(
        done["message"].as_str().unwrap().contains("a: 0 of 2"),
        "{done}"
    );

    // A request still pending on two instances, cancelled: both release their machines.
    let site = half_full(60, 0);
    let id = hf_request(&site, 4);
    assert_eq!(hf_status(&site, &id)["status"], "running");
    site.orb(&["requests", "cancel", &id]).expect_code(0);
    let (in_a, in_b) = (cloud(&site, "a"), cloud(&site, "b"));
    assert_eq!((in_a.len(), in_b.len()), (2, 2));
    assert!(
        in_a.values().chain(in_b.values()).all(|t| *t),
        "{in_a:?} {in_b:?}"
    );
}

#[test]
fn a_pool_lists_what_any_of_its_instances_serves() {
    let site = pools(json!({}));
    std::fs::remove_file(site.path().join("conf/templates.json")).unwrap();
    for (instance, id) in [("a", "OnlyA"), ("b", "OnlyB")] {
        std::fs::write(
            site.path().join(format!("conf/{instance}_templates.json")),
            json!({"templates": [{"templateId": id, "maxNumber": 5, "vmType": "m5.large", "imageId": "img"}]})
                .to_string(),
        )
        .unwrap();
    }
    let listed = site
        .run(
            &mut Command::new(site.path().join("install/scripts/getAvailableTemplates.sh")),
            &[("HF_PROVIDER_NAME", "first")],
        )
        .expect_code(0)
        .json();
    let ids: Vec<&str> = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["templateId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["OnlyA", "OnlyB"], "{listed}");
    // A request for b's template goes to b.
    let env = [("HF_PROVIDER_NAME", "first")];
    let asked = site
        .run(
            Command::new(site.path().join("install/bin/orb"))
                .args(["machines", "request", "OnlyB", "1", "--format", "json"]),
            &env,
        )
        .expect_code(0)
        .json();
    let id = asked["requestId"].as_str().unwrap();
    assert_eq!(
        shown(&site, &["requests", "show", id])["requests"][0]["providerName"],
        "b"
    );
}

/// The server's background health check counts in the circuits too: an instance that fails
/// it is skipped by every process, before any request fails on it.
#[test]
fn a_failing_health_check_opens_the_circuit_for_every_process() {
    let site = pools(json!({
        "provider": {
            "providers": [
                {"name": "a", "type": "mock", "priority": 1, "config": {"unavailable": true}},
                {"name": "b", "type": "mock", "priority": 2, "config": {}},
                {"name": "c", "type": "mock", "priority": 3, "enabled": false, "config": {}}
            ],
            "circuit_breaker": {"failure_threshold": 2, "recovery_timeout": 600}
        },
        "server": {"health_interval_seconds": 1}
    }));
    let _server = crate::server::Server::start(&site);
    let started = std::time::Instant::now();
    loop {
        let listed = shown(&site, &["providers", "list"]);
        if listed["providers"][0]["circuit"] == "open" {
            assert_eq!(listed["providers"][1]["circuit"], "closed", "{listed}");
            break;
        }
        assert!(started.elapsed().as_secs() < 20, "never opened: {listed}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    // A request is not even tried on a.
    let env = [("HF_PROVIDER_NAME", "first")];
    let served = site.run(
        Command::new(site.path().join("install/bin/orb"))
            .args(["machines", "request", "Small", "1", "--format", "json"]),
        &env,
    );
    served.expect_code(0);
    assert!(!served.stdout.contains("outage"), "{}", served.stdout);
}

/// A pool that spreads splits each request across its instances by weight (1, 3 and 1).
#[test]
fn a_spreading_pool_splits_a_request_by_weight() {
    let site = pools(json!({}));
    let env = [("HF_PROVIDER_NAME", "split")];
    let asked = site
        .run(
            Command::new(site.path().join("install/bin/orb"))
                .args(["machines", "request", "Small", "10", "--format", "json"]),
            &env,
        )
        .expect_code(0)
        .json();
    let message = asked["message"].as_str().unwrap();
    assert!(
        message.contains("a: 2 of 2, b: 6 of 6, c: 2 of 2"),
        "{message}"
    );
    let counts: Vec<usize> = ["a", "b", "c"]
        .iter()
        .map(|i| cloud(&site, i).len())
        .collect();
    assert_eq!(counts, [2, 6, 2]);
    let id = asked["requestId"].as_str().unwrap();
    let status = shown(&site, &["requests", "show", id]);
    assert_eq!(status["requests"][0]["status"], "complete", "{status}");
    assert_eq!(
        status["requests"][0]["machines"].as_array().unwrap().len(),
        10,
        "{status}"
    );
}

/// A synchronous shortfall is topped up on the same instance first: `a` gives half of what it
/// is asked each time (2 of 4, then 1 of 2, then none of 1), and only the last machine fails
/// over.
#[test]
fn a_shortfall_is_topped_up_on_the_same_instance_before_it_fails_over() {
    let site = half_full(0, 3);
    let id = hf_request(&site, 4);
    let done = hf_status(&site, &id);
    assert_eq!(done["status"], "complete", "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.contains("a: 3 of 4") && message.contains("b: 1 of 1"),
        "{message}"
    );
    assert_eq!((cloud(&site, "a").len(), cloud(&site, "b").len()), (3, 1));
    assert_eq!(done["machines"].as_array().unwrap().len(), 4, "{done}");
}

/// Starts a request for 2 machines of `Small` through the pool `first`, and kills its process
/// (SIGKILL) as soon as instance b has made a machine for it, before b answers. Returns the
/// request's id.
fn killed_while_b_answers(site: &HfSite) -> String {
    let mut command = Command::new(site.path().join("install/bin/orb"));
    command.args(["machines", "request", "Small", "2", "--format", "json"]);
    let mut child = site
        .command(&mut command, &[("HF_PROVIDER_NAME", "first")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state_b = site.path().join("work/mock-b.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let request_id = loop {
        let made: Value = std::fs::read_to_string(&state_b)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if let Some(m) = made["machines"].as_object().and_then(|m| m.values().next()) {
            break m["request_id"].as_str().unwrap().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "b never made a machine"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    request_id
}

/// The request `id` once the next calls have finished and refreshed it, with the ids of its
/// machines; every machine up in any instance's cloud must belong to a request orb holds.
fn settled_and_nothing_untracked(
    site: &HfSite,
    id: &str,
) -> (Value, std::collections::BTreeSet<String>) {
    let mut request = Value::Null;
    for _ in 0..20 {
        request = shown(site, &["requests", "show", id])["requests"][0].clone();
        if request["status"] != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let ids = |r: &Value| -> Vec<String> {
        r["machines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["machineId"].as_str().unwrap().to_owned())
            .collect()
    };
    let mine = ids(&request).into_iter().collect();
    let listed = shown(site, &["machines", "list"]);
    let held: std::collections::BTreeSet<String> = listed["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machineId"].as_str().unwrap().to_owned())
        .collect();
    for instance in ["a", "b", "c"] {
        for (machine, terminating) in cloud(site, instance) {
            assert!(
                terminating || held.contains(&machine),
                "{machine} of {instance} is up and orb does not hold it: {request}"
            );
        }
    }
    (request, mine)
}

/// A process killed while an instance it failed over to is still answering leaves that
/// instance among the request's (pledged before it was asked), so the machines it made are
/// never lost: here the request's own instance, asked again by the run that finishes the
/// request, answers the whole request at once (its answer is idempotent, and no longer short),
/// so the other instance is not asked again; the request stays running until a refresh has
/// found what that instance made, and counts it.
#[test]
fn machines_made_by_a_failover_whose_process_was_killed_are_found_and_counted() {
    let site = pools(json!({"provider": {"providers": [
        {"name": "a", "type": "mock", "priority": 1,
            "config": {"pending_seconds": 0, "fulfil_ratio": 0.5}},
        {"name": "b", "type": "mock", "priority": 2,
            "config": {"pending_seconds": 0, "answer_delay_ms": 5000}},
        {"name": "c", "type": "mock", "priority": 3, "config": {"pending_seconds": 0}}
    ]}}));
    // a made 1 of 2; b made the other and had not answered when the process died.
    let id = killed_while_b_answers(&site);
    let (request, mine) = settled_and_nothing_untracked(&site, &id);
    assert_eq!(request["status"], "complete", "{request}");
    assert_eq!(mine.len(), 2, "{request}");
    assert!(cloud(&site, "c").is_empty(), "c was never asked");
}

/// An instance that a killed process failed over to is asked again by the run that finishes
/// the request even when its circuit has opened meanwhile, and by a process whose
/// `HF_PROVIDER_NAME` names no pool it is in: it answers with what it made (idempotently),
/// which skipping it would have left running untracked, and no third instance is asked for
/// machines already made.
#[test]
fn a_pledged_instance_is_asked_again_whatever_its_circuit() {
    let breaker = json!({"failure_threshold": 1, "recovery_timeout": 600});
    let site = pools(
        json!({"provider": {"circuit_breaker": breaker, "providers": [
            {"name": "a", "type": "mock", "priority": 1,
                "config": {"pending_seconds": 0, "unavailable": true}},
            {"name": "b", "type": "mock", "priority": 2,
                "config": {"pending_seconds": 0, "answer_delay_ms": 5000}},
            {"name": "c", "type": "mock", "priority": 3, "config": {"pending_seconds": 0}}
        ]}}),
    );
    // a refused the whole request; b made both machines and had not answered.
    let id = killed_while_b_answers(&site);
    // Meanwhile b's circuit opened, as another process's failures there would open it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    rusqlite::Connection::open(site.path().join("work/orb.db"))
        .unwrap()
        .execute(
            "INSERT OR REPLACE INTO circuits (provider_instance, failures, opened_at) VALUES ('b', 1, ?1)",
            [now],
        )
        .unwrap();
    let circuits = shown(&site, &["providers", "list"]);
    assert_eq!(circuits["providers"][1]["circuit"], "open", "{circuits}");

    let (request, mine) = settled_and_nothing_untracked(&site, &id);
    assert_eq!(request["status"], "complete", "{request}");
    let made_by_b: std::collections::BTreeSet<String> = cloud(&site, "b").into_keys().collect();
    assert_eq!(mine, made_by_b, "the request holds what b made: {request}");
    assert!(cloud(&site, "c").is_empty(), "c was never asked");
}

/// `orb providers health` counts what it finds in the circuits, as `orb serve`'s checks do: an
/// instance the CLI finds unhealthy twice is skipped by the next request.
#[test]
fn the_clis_health_check_counts_in_the_circuits() {
    let breaker = json!({"failure_threshold": 2, "recovery_timeout": 600});
    let site = pools(json!({"provider": {"circuit_breaker": breaker}}));
    let config_file = site.path().join("conf/config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_file).unwrap()).unwrap();
    config["provider"]["providers"][0]["config"]["unavailable"] = json!(true);
    std::fs::write(&config_file, config.to_string()).unwrap();
    for _ in 0..2 {
        site.orb(&["providers", "health", "--format", "json"])
            .expect_code(1);
    }
    let listed = shown(&site, &["providers", "list"]);
    assert_eq!(listed["providers"][0]["circuit"], "open", "{listed}");
    assert_eq!(listed["providers"][1]["circuit"], "closed", "{listed}");
    assert_eq!(served_by(&site, "first", 1), "b");
}

#[test]
fn every_template_in_scope_is_listed_with_its_instance() {
    let site = pools(json!({}));
    // A template only instance `c` serves: requestable, so listed, with its instance.
    std::fs::write(
        site.path().join("conf/c_templates.json"),
        json!({"templates": [{"templateId": "OnlyC", "maxNumber": 5, "vmType": "m5.large", "imageId": "img"}]})
            .to_string(),
    )
    .unwrap();
    let listed = shown(&site, &["templates", "list"]);
    let only_c: Vec<&Value> = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["templateId"] == "OnlyC")
        .collect();
    assert_eq!(only_c.len(), 1, "{listed}");
    assert_eq!(only_c[0]["providerName"], "c", "{listed}");
    let hf = site
        .call_args("getAvailableTemplates", &[])
        .expect_code(0)
        .json();
    assert!(hf.to_string().contains("OnlyC"), "{hf}");
    // One instance's.
    let of_a = shown(&site, &["templates", "list", "--provider", "a"]);
    assert!(!of_a.to_string().contains("OnlyC"), "{of_a}");
    assert!(of_a.to_string().contains("Small"), "{of_a}");
    let unknown = site.orb(&["templates", "list", "--provider", "zz"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
}
