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
