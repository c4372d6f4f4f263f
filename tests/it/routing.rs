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
                "any": pool("random")
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
    let breaker = json!({"circuit_breaker": {"failure_threshold": 2, "recovery_timeout": 2}});
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
    for _ in 0..2 {
        let failed = request();
        failed.expect_code(1);
        assert!(
            failed.stderr.contains("simulated outage"),
            "{}",
            failed.stderr
        );
    }
    let listed = shown(&site, &["providers", "list"]);
    let a = &listed["providers"][0];
    assert_eq!(
        (a["name"].as_str(), a["circuit"].as_str()),
        (Some("a"), Some("open")),
        "{listed}"
    );
    // Open: skipped; b serves.
    assert_eq!(served_by(&site, "first", 1), "b");
    // After the cool-down, a is tried again; it works now, and its circuit closes.
    std::fs::write(&config_file, healthy.to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
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
