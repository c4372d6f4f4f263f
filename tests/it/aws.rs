//! The AWS provider plugin through the `orb` binary and the Host Factory scripts, against the
//! moto emulator on a loopback port. What moto lacks (`ModifyFleet`) and what it cannot be made
//! to do (throttle) is tested with the AWS SDK's own test utilities in the plugin's unit tests.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{aws_plugin, repo_root, HfSite, Moto};

/// A site whose provider instance `mockinst` is an `aws` instance reaching `moto`.
pub(crate) fn site(moto: &Moto, extra_config: Value, templates: Value) -> HfSite {
    let mut config = moto.provider_config();
    crate::support::merge(&mut config, extra_config);
    HfSite::with_plugin(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "aws", "config": config}]},
            "logging": {"level": "debug"}
        }),
        templates,
        &aws_plugin(),
        vec![("AWS_EC2_METADATA_DISABLED".into(), "true".into())],
    )
}

/// The seeded fields every template shares; the image is given as its SSM parameter path.
fn base(moto: &Moto, template_id: &str, api: &str) -> Value {
    let s = &moto.seed;
    json!({
        "templateId": template_id, "providerApi": api, "maxNumber": -1,
        "imageId": s["image_parameter"], "subnetIds": s["subnets"],
        "securityGroupIds": [s["security_group"]], "keyName": s["key_name"],
        "instanceTags": "Project=orb-tests"
    })
}

fn templates(moto: &Moto) -> Value {
    let with = |mut t: Value, extra: Value| {
        crate::support::merge(&mut t, extra);
        t
    };
    json!({"templates": [
        with(base(moto, "RunInstances", "RunInstances"), json!({"vmType": "t3.medium"})),
        with(base(moto, "FleetInstant", "EC2Fleet"), json!({"fleetType": "instant", "vmTypes": {"t3.medium": 1, "t3.large": 1}})),
        with(base(moto, "FleetRequest", "EC2Fleet"), json!({"fleetType": "request", "vmTypes": {"t3.medium": 1}})),
        with(base(moto, "Group", "ASG"), json!({"vmTypes": {"t3.medium": 1}})),
        with(base(moto, "Spot", "SpotFleet"), json!({"fleetType": "request", "priceType": "spot", "fleetRole": moto.seed["fleet_role"], "vmTypes": {"t3.medium": 1}})),
    ]})
}

fn request(site: &HfSite, template: &str, count: u32) -> String {
    let out = site
        .call(
            "requestMachines",
            &json!({"template": {"templateId": template, "machineCount": count}}),
        )
        .expect_code(0)
        .json();
    out["requestId"].as_str().unwrap().to_owned()
}

fn settle(site: &HfSite, request_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let s = status_of(site, request_id)["requests"][0].clone();
        if s["status"] != "running" {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never settled: {s}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// getRequestStatus of one request.
fn status_of(site: &HfSite, request_id: &str) -> Value {
    site.call(
        "getRequestStatus",
        &json!({"requests": [{"requestId": request_id}]}),
    )
    .expect_code(0)
    .json()
}

/// How many AWS calls the site's orb has made so far.
fn aws_calls(site: &HfSite) -> usize {
    // The call log's lines alone name an `operation` (its answers and waits name an `api`).
    site.log()
        .lines()
        .filter(|l| l.contains("aws call") && l.contains("operation="))
        .count()
}

/// Host Factory's whole cycle on `template`: `count` machines asked for and running, then
/// returned and gone.
fn cycle(site: &HfSite, template: &str, count: u32) {
    let id = request(site, template, count);
    let done = settle(site, &id);
    assert_eq!(done["status"], "complete", "{template}: {done}");
    let machines: Vec<Value> = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    assert_eq!(machines.len(), count as usize, "{template}: {done}");
    let returned = site
        .call("requestReturnMachines", &json!({"machines": machines}))
        .expect_code(0)
        .json();
    let gone = settle(site, returned["requestId"].as_str().unwrap());
    assert_eq!(gone["status"], "complete", "{template}: {gone}");
}

fn inspect(moto: &Moto) -> Value {
    moto.python(&repo_root().join("scripts/moto-inspect.py"), &[])
}

#[test]
fn every_handler_runs_the_whole_host_factory_cycle_and_cleans_up() {
    let moto = Moto::start();
    let site = site(
        &moto,
        json!({"handlers": {"run_instances": {"allow_partial": false}}}),
        templates(&moto),
    );
    let listed = site
        .call_args("getAvailableTemplates", &[])
        .expect_code(0)
        .json();
    // Attributes from the instance type as EC2 describes it.
    assert_eq!(
        listed["templates"][0]["attributes"]["nram"],
        json!(["Numeric", "4096"])
    );

    for template in [
        "RunInstances",
        "FleetInstant",
        "FleetRequest",
        "Group",
        "Spot",
    ] {
        let id = request(&site, template, 3);
        let done = settle(&site, &id);
        assert_eq!(done["status"], "complete", "{template}: {done}");
        let machines = done["machines"].as_array().unwrap().clone();
        assert_eq!(machines.len(), 3, "{template}: {done}");
        let names: BTreeSet<&str> = machines
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names.len(),
            3,
            "{template}: every machine has its own name: {names:?}"
        );
        assert!(
            names.iter().all(|n| n.ends_with(".ec2.internal")),
            "{template}: DNS names: {names:?}"
        );
        for m in &machines {
            let tags: Value = serde_json::from_str(m["instanceTags"].as_str().unwrap()).unwrap();
            assert_eq!(tags["orb:request-id"], id.as_str(), "{template}");
            assert_eq!(tags["orb:template-id"], template);
            assert_eq!(tags["orb:provider-instance"], "mockinst");
            assert_eq!(tags["Project"], "orb-tests");
        }

        let before = aws_calls(&site);
        let returned = site
            .call(
                "requestReturnMachines",
                &json!({"machines": machines.iter().map(|m| json!({"name": m["name"], "machineId": m["machineId"]})).collect::<Vec<_>>()}),
            )
            .expect_code(0)
            .json();
        // The lookup, then the deletion of the resource with its instances and of its launch
        // template. The emulator's forced delete of a group leaves its instances (protected
        // from scale-in) running: the status polls below find them and terminate them again.
        let bound = match template {
            "RunInstances" => 2,
            _ => 3,
        };
        let made = aws_calls(&site) - before;
        assert!(
            made <= bound,
            "{template}: the return made {made} AWS calls:\n{}",
            site.log()
        );
        let gone = settle(&site, returned["requestId"].as_str().unwrap());
        assert_eq!(gone["status"], "complete", "{template}: {gone}");
        if template == "Group" {
            assert!(
                site.log()
                    .contains("returned machines are still up; terminating them again"),
                "the group's instances the emulator left running: {}",
                site.log()
            );
        }
        assert!(gone["machines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "terminated"));
    }

    // Every fleet, group and launch template made for a request went with its machines.
    let state = inspect(&moto);
    assert!(
        state["instances"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s == "terminated"),
        "{state}"
    );
    assert!(
        state["fleets"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.as_str().unwrap().starts_with("deleted")),
        "{state}"
    );
    assert!(
        state["spot_fleets"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.as_str().unwrap().starts_with("cancelled")),
        "{state}"
    );
    assert_eq!(state["groups"], json!([]), "{state}");
    assert_eq!(state["launch_templates"], json!([]), "{state}");
}

#[test]
fn cancelling_releases_every_handlers_resources_and_terminates_the_machines() {
    let moto = Moto::start();
    let mut templates = templates(&moto);
    let mut maintain = base(&moto, "FleetMaintain", "EC2Fleet");
    crate::support::merge(
        &mut maintain,
        json!({"fleetType": "maintain", "vmTypes": {"t3.medium": 1}}),
    );
    templates["templates"]
        .as_array_mut()
        .unwrap()
        .push(maintain);
    let site = site(
        &moto,
        json!({"handlers": {"run_instances": {"allow_partial": false}}}),
        templates,
    );
    for (template, resource_prefix) in [
        ("RunInstances", None),
        ("FleetRequest", Some("fleet-")),
        ("FleetMaintain", Some("fleet-")),
        ("Group", Some("orb-")),
        ("Spot", Some("sfr-")),
    ] {
        let id = request(&site, template, 2);
        let cancelled = site
            .orb(&["requests", "cancel", &id, "--format", "json"])
            .expect_code(0)
            .json();
        assert_eq!(
            cancelled["status"], "complete_with_error",
            "{template}: {cancelled}"
        );
        assert_eq!(cancelled["terminating"], 2, "{template}: {cancelled}");
        let released: Vec<&str> = cancelled["releasedResources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        match resource_prefix {
            Some(prefix) => assert!(
                released.len() == 1 && released[0].starts_with(prefix),
                "{template}: {cancelled}"
            ),
            None => assert!(released.is_empty(), "{template}: {cancelled}"),
        }
        // The return request follows the machines until they are gone.
        let gone = settle(&site, cancelled["returnRequestId"].as_str().unwrap());
        assert_eq!(gone["status"], "complete", "{template}: {gone}");
    }

    // Nothing made for the cancelled requests is left: no instance, fleet, group or template.
    let state = inspect(&moto);
    let all_are = |what: &str, prefix: &str| {
        state[what]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.as_str().unwrap().starts_with(prefix))
    };
    assert!(all_are("instances", "terminated"), "{state}");
    assert!(all_are("fleets", "deleted"), "{state}");
    assert!(all_are("spot_fleets", "cancelled"), "{state}");
    assert_eq!(state["groups"], json!([]), "{state}");
    assert_eq!(state["launch_templates"], json!([]), "{state}");
}

#[test]
fn a_run_instances_shortfall_is_topped_up_on_the_same_instance() {
    // RunInstances with MinCount 1 may launch fewer than asked; moto always launches MinCount:
    // 1 of 3, then each top-up (its own client token) 1 more.
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let id = request(&site, "RunInstances", 3);
    let done = settle(&site, &id);
    assert_eq!(done["status"], "complete", "{done}");
    let machines = done["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 3, "{done}");
    assert!(machines.iter().all(|m| m["result"] == "succeed"), "{done}");
    let launched = inspect(&moto)["instances"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| *s == "running")
        .count();
    assert_eq!(launched, 3, "no more than asked");
}

#[test]
fn the_status_of_500_machines_costs_at_most_two_describe_instances_calls() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let id = request(&site, "FleetRequest", 500);
    let calls = |log: &str| log.matches("operation=\\\"DescribeInstances\\\"").count();
    let before = calls(&site.log());
    let status = status_of(&site, &id);
    assert_eq!(
        status["requests"][0]["machines"].as_array().unwrap().len(),
        500
    );
    let made = calls(&site.log()) - before;
    assert!(
        (1..=2).contains(&made),
        "{made} DescribeInstances calls for 500 machines"
    );
}

#[test]
fn returning_some_machines_of_a_group_detaches_and_terminates_them_in_three_calls() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let id = request(&site, "Group", 4);
    let done = settle(&site, &id);
    let machines = done["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 4, "{done}");
    let returned: Vec<Value> = machines[..2]
        .iter()
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    let before = aws_calls(&site);
    site.call("requestReturnMachines", &json!({"machines": returned}))
        .expect_code(0);
    let log = site.log();
    let made = aws_calls(&site) - before;
    assert!(made <= 3, "the return made {made} AWS calls:\n{log}");
    assert!(
        !log.contains("TerminateInstanceInAutoScalingGroup"),
        "{log}"
    );
    // Exactly the two returned went, and nothing replaced them.
    let state = inspect(&moto);
    let gone: BTreeSet<&str> = state["instances"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| *s != "running" && *s != "pending")
        .map(|(id, _)| id.as_str())
        .collect();
    let asked: BTreeSet<&str> = machines[..2]
        .iter()
        .map(|m| m["machineId"].as_str().unwrap())
        .collect();
    assert_eq!(gone, asked, "{state}");
    assert_eq!(state["instances"].as_object().unwrap().len(), 4, "{state}");
    let status = status_of(&site, &id);
    let running = status["requests"][0]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "running")
        .count();
    assert_eq!(running, 2, "{status}");
    assert_eq!(state["groups"].as_array().unwrap().len(), 1, "{state}");
}

#[test]
fn parallel_processes_draw_from_one_bucket_per_api_and_wait_their_turn() {
    let moto = Moto::start();
    let site = site(
        &moto,
        json!({"pacing": {"read": {"burst": 1, "per_second": 1}}}),
        templates(&moto),
    );
    let id = request(&site, "RunInstances", 1);
    let poll = json!({"requests": [{"requestId": id}]});
    // Four status polls at once, from four processes: one DescribeInstances each, one token a
    // second, so the second waits about a second, the third two, the fourth three.
    let polls: Vec<_> = (0..4)
        .map(|_| site.spawn("getRequestStatus", &poll))
        .collect();
    for p in polls {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let log = site.log();
    let waits: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("aws call paced") && l.contains("DescribeInstances"))
        .filter_map(|l| {
            l.split("waited_ms=")
                .nth(1)?
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(waits.len() >= 3, "{waits:?}\n{log}");
    assert!(waits.iter().sum::<u64>() >= 3000, "{waits:?}\n{log}");
    // Writes have a bucket of their own: the RunInstances before did not wait.
    assert!(
        !log.lines()
            .any(|l| l.contains("aws call paced") && l.contains("RunInstances")),
        "{log}"
    );
}

#[test]
fn returning_run_instances_machines_of_many_batches_takes_one_terminate_call() {
    let moto = Moto::start();
    let site = site(
        &moto,
        json!({"handlers": {"run_instances": {"max_instances_per_call": 5, "allow_partial": false}}}),
        templates(&moto),
    );
    let id = request(&site, "RunInstances", 12);
    let status = status_of(&site, &id);
    let machines: Vec<Value> = status["requests"][0]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"machineId": m["machineId"], "name": m["name"]}))
        .collect();
    assert_eq!(machines.len(), 12);
    let calls = |log: &str, op: &str| log.matches(&format!("operation=\\\"{op}\\\"")).count();
    let (terminates, describes) = (
        calls(&site.log(), "TerminateInstances"),
        calls(&site.log(), "DescribeInstances"),
    );
    site.call("requestReturnMachines", &json!({"machines": machines}))
        .expect_code(0);
    // Three launch batches, one return: one DescribeInstances and one TerminateInstances.
    assert_eq!(calls(&site.log(), "TerminateInstances") - terminates, 1);
    assert_eq!(calls(&site.log(), "DescribeInstances") - describes, 1);
}

#[test]
fn bad_templates_are_reported_all_at_once() {
    let moto = Moto::start();
    let s = &moto.seed;
    let site = site(
        &moto,
        json!({}),
        json!({"templates": [
            {"templateId": "good", "providerApi": "RunInstances", "vmType": "t3.medium",
             "imageId": s["image_parameter"], "subnetIds": s["subnets"]},
            {"templateId": "bad", "providerApi": "EC2Fleet", "vmType": "t3.gigantic",
             "imageId": "ami-00000000000000000", "subnetIds": ["subnet-00000000"],
             "securityGroupIds": ["sg-00000000"]},
            {"templateId": "spot", "providerApi": "SpotFleet", "vmType": "t3.medium",
             "imageId": "/no/such/parameter", "subnetIds": s["subnets"], "fleetRole": "not-a-role"}
        ]}),
    );
    let report = site
        .orb(&["templates", "validate", "--format", "json"])
        .expect_code(1)
        .json();
    let problems = |i: usize| -> Vec<String> {
        report["templates"][i]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(report["templates"][0]["valid"], true, "{report}");
    let bad = problems(1);
    for expected in [
        "ami-00000000000000000",
        "t3.gigantic",
        "subnet-00000000",
        "sg-00000000",
    ] {
        assert!(
            bad.iter().any(|p| p.contains(expected)),
            "{expected} in {bad:?}"
        );
    }
    let spot = problems(2);
    for expected in ["/no/such/parameter", "not-a-role"] {
        assert!(
            spot.iter().any(|p| p.contains(expected)),
            "{expected} in {spot:?}"
        );
    }
}

#[test]
fn missing_credentials_are_a_clear_failure() {
    let moto = Moto::start();
    let site = HfSite::with_plugin(
        json!({"provider": {"providers": [{"name": "mockinst", "type": "aws",
            "config": {"region": "us-east-1", "endpoint_url": moto.endpoint}}]}}),
        templates(&moto),
        &aws_plugin(),
        vec![("AWS_EC2_METADATA_DISABLED".into(), "true".into())],
    );
    let health = site
        .orb(&["providers", "health", "--format", "json"])
        .expect_code(1)
        .json();
    let report = &health["providers"][0];
    assert_eq!(report["status"], "unhealthy", "{report}");
    let text = report.to_string().to_lowercase();
    assert!(text.contains("credentials"), "{report}");

    let run = site.call(
        "requestMachines",
        &json!({"template": {"templateId": "RunInstances", "machineCount": 1}}),
    );
    let out = run.expect_code(1).json();
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("credentials"),
        "{out}"
    );
}

#[test]
fn health_reports_ec2_autoscaling_and_the_account_of_the_assumed_role() {
    let moto = Moto::start();
    let site = site(
        &moto,
        json!({"role_arn": "arn:aws:iam::123456789012:role/orb-broker"}),
        templates(&moto),
    );
    let health = site
        .orb(&["providers", "health", "--format", "json"])
        .expect_code(0)
        .json();
    let checks = health["providers"][0]["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ec2", "autoscaling", "sts", "clock"]);
    assert!(checks[..3]
        .iter()
        .all(|c| c["status"] == "healthy" && c["latencyMs"].is_number()));
    assert!(checks[2]["detail"]
        .as_str()
        .unwrap()
        .contains("123456789012"));
    // The emulator's clock is this machine's: no skew to speak of.
    assert_eq!(checks[3]["status"], "healthy", "{}", checks[3]);
    assert!(
        checks[3]["detail"]
            .as_str()
            .unwrap()
            .ends_with(" s from the cloud's time"),
        "{}",
        checks[3]
    );

    // orb doctor shows the same checks, one line each.
    let doctor = site
        .orb(&["doctor", "--format", "json"])
        .expect_code(0)
        .json();
    let lines: Vec<&str> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert!(lines.iter().any(|l| l.ends_with(": clock")), "{doctor}");
    assert!(lines.iter().any(|l| l.ends_with(": sts")), "{doctor}");
}

#[test]
fn instances_terminated_outside_orb_are_reported_for_draining() {
    let moto = Moto::start();
    let site = site(
        &moto,
        json!({"handlers": {"run_instances": {"allow_partial": false}}}),
        templates(&moto),
    );
    let id = request(&site, "RunInstances", 2);
    let machines = settle(&site, &id)["machines"].as_array().unwrap().clone();
    let victim = machines[0]["machineId"].as_str().unwrap();
    moto.python(
        &repo_root().join("tests/fixtures/moto/terminate.py"),
        &[victim],
    );

    let input = json!({"machines": machines.iter().map(|m| json!({"name": m["name"], "machineId": m["machineId"]})).collect::<Vec<_>>()});
    let reclaims = site.call("getReturnRequests", &input).expect_code(0).json();
    assert_eq!(
        reclaims["requests"],
        json!([{"machine": machines[0]["name"], "gracePeriod": 0, "machineId": victim}]),
        "{reclaims}"
    );
}

#[test]
fn the_infrastructure_is_described_from_the_account() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let found = site
        .orb(&["providers", "infrastructure"])
        .expect_code(0)
        .json();
    let of_kind = |kind: &str| -> BTreeSet<String> {
        found["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for subnet in moto.seed["subnets"].as_array().unwrap() {
        assert!(
            of_kind("subnet").contains(subnet.as_str().unwrap()),
            "{found}"
        );
    }
    let group = moto.seed["security_group"].as_str().unwrap();
    assert!(of_kind("security_group").contains(group), "{found}");
    assert!(!of_kind("network").is_empty(), "{found}");
    let subnet = found["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "subnet")
        .unwrap();
    assert!(
        subnet["zone"].is_string() && subnet["network"].is_string(),
        "{subnet}"
    );
}

/// `orb infra discover` finds what templates name, `show` reads it back without the cloud, and
/// `validate` checks templates against it.
#[test]
fn the_account_is_discovered_kept_and_templates_are_checked_against_it() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let found = site
        .orb(&["infra", "discover", "--all", "--format", "json"])
        .expect_code(0)
        .json();
    let resources = found["resources"].as_array().unwrap();
    let of_kind =
        |kind: &str| -> Vec<&Value> { resources.iter().filter(|r| r["kind"] == kind).collect() };
    let subnet = moto.seed["subnets"][0].as_str().unwrap();
    let subnet = of_kind("subnet")
        .into_iter()
        .find(|s| s["id"] == subnet)
        .unwrap_or_else(|| panic!("{found}"));
    assert!(
        subnet["details"]["freeAddresses"].as_u64().unwrap() > 0,
        "{subnet}"
    );
    let key = moto.seed["key_name"].as_str().unwrap();
    assert!(
        of_kind("key_pair").iter().any(|k| k["id"] == key),
        "{found}"
    );
    assert!(
        of_kind("image").iter().any(|i| i["id"]
            == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
            && i["details"]["imageId"]
                .as_str()
                .unwrap()
                .starts_with("ami-")),
        "{found}"
    );
    let medium = of_kind("instance_type")
        .into_iter()
        .find(|t| t["id"] == "t3.medium")
        .unwrap_or_else(|| panic!("{found}"));
    assert!(
        medium["details"]["zones"].as_array().unwrap().len() > 1,
        "{medium}"
    );
    assert!(
        of_kind("fleet_role")[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::"),
        "{found}"
    );
    assert!(found["counts"]["subnet"].as_u64().unwrap() >= 2, "{found}");

    // Kept: shown again as found, without asking the cloud.
    let calls = aws_calls(&site);
    let shown = site
        .orb(&["infra", "show", "--all", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(shown["resources"], found["resources"]);
    assert_eq!(aws_calls(&site), calls, "show asked the cloud");
    // Without --all, the region's instance types are counted, not listed.
    let summary = site
        .orb(&["infra", "show", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(
        found["counts"]["instance_type"].as_u64().unwrap() > 50,
        "{summary}"
    );
    assert!(
        !summary["resources"]
            .to_string()
            .contains("\"instance_type\""),
        "{summary}"
    );
    assert!(
        summary["notListed"]
            .as_str()
            .unwrap()
            .contains("instance_type"),
        "{summary}"
    );
    assert_eq!(summary["counts"], found["counts"]);

    // The templates served pass; a file naming what the account lacks does not.
    let valid = site
        .orb(&["infra", "validate", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(valid["templates"].as_array().unwrap().len() >= 5, "{valid}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("templates.json");
    let mut wrong = base(&moto, "Wrong", "EC2Fleet");
    crate::support::merge(
        &mut wrong,
        json!({"vmTypes": {"x9.nothing": 1}, "keyName": "nobody",
            "subnetIds": ["subnet-00000000"]}),
    );
    std::fs::write(&file, json!({"templates": [wrong]}).to_string()).unwrap();
    let checked = site.orb(&[
        "infra",
        "validate",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    checked.expect_code(1);
    let problems = checked.json()["templates"][0]["problems"].clone();
    for expected in [
        "instance type: x9.nothing is not in the account",
        "keyName: nobody is not in the account",
        "subnetIds: subnet-00000000 is not in the account",
    ] {
        assert!(
            problems.as_array().unwrap().iter().any(|p| p == expected),
            "{expected}: {problems}"
        );
    }
}

#[test]
fn instance_type_facts_are_asked_of_the_cloud_once_for_every_process() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let described = || {
        site.log()
            .lines()
            .filter(|l| l.contains("operation=\\\"DescribeInstanceTypes"))
            .count()
    };
    site.call("getAvailableTemplates", &json!({}))
        .expect_code(0);
    assert_eq!(described(), 1, "the first listing asks the cloud");
    for _ in 0..3 {
        let listed = site
            .call("getAvailableTemplates", &json!({}))
            .expect_code(0)
            .json();
        let first = &listed["templates"][0];
        assert_eq!(first["attributes"]["ncpus"][0], "Numeric", "{first}");
    }
    assert_eq!(described(), 1, "later processes read the stored facts");
}

/// The Python ORB's AWS provider settings (every field of orb-py 1.8.5's `AWSProviderConfig`)
/// and the variables its documentation lists load unchanged: the keys orb has a feature for
/// act, the others are noted by `orb config show`, and a Host Factory request goes through.
#[test]
fn an_orb_aws_configuration_and_its_variables_load_unchanged() {
    let moto = Moto::start();
    let mut config = moto.provider_config();
    crate::support::merge(
        &mut config,
        json!({
            "provider_type": "aws", "profile": null, "role_arn": null, "session_token": null,
            "aws_max_retries": 2, "aws_read_timeout": 30, "aws_connect_timeout": 10,
            "request_retry_attempts": 0,
            "service_role_spot_fleet": "AWSServiceRoleForEC2SpotFleet",
            "handlers": {
                "capabilities": {"ec2_fleet": true, "spot_fleet": true, "asg": false, "run_instances": true},
                "defaults": {"default_handler": "RunInstances"}
            },
            "launch_template": {
                "create_per_request": true, "naming_strategy": "request_based",
                "version_strategy": "incremental", "reuse_existing": true,
                "cleanup_old_versions": false, "max_versions_per_template": 10,
                "on_update_failure": "fail", "do_not_override": false
            },
            "tagging": {"on_tag_failure": "warn"},
            "batch_sizes": {"terminate_instances": 25, "describe_instances": 25},
            "naming": {}, "storage": {"dynamodb": {"table_prefix": "hostfactory"}},
            "credential_file": null, "key_file": null, "proxy_host": null, "proxy_port": null,
            "instance_pending_timeout_sec": 180, "describe_request_retry_attempts": 0,
            "describe_request_interval": 0
        }),
    );
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let site = HfSite::with_plugin(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "aws", "config": config}]},
            "logging": {"level": "debug"}
        }),
        templates(&moto),
        &aws_plugin(),
        env(&[
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("ORB_AWS_TAGGING__ON_TAG_FAILURE", "fail"),
            ("ORB_AWS_CONNECT_TIMEOUT", "60"),
            ("ORB_AWS_RETRY_MODE", "adaptive"),
            ("ORB_LOG_CONSOLE_ENABLED", "True"),
            ("ORB_REQUEST_TIMEOUT", "900"),
        ]),
    );

    let shown = site.orb(&["config", "show", "--format", "json"]);
    let config = shown.expect_code(0).json();
    assert_eq!(config["request"]["default_timeout"], 900, "{config}");
    let noted = |key: &str| {
        shown
            .stderr
            .contains(&format!("provider.providers[0].config.{key} has no effect"))
    };
    for key in [
        "batch_sizes",
        "tagging",
        "naming",
        "storage",
        "service_role_spot_fleet",
        "launch_template.naming_strategy",
        "instance_pending_timeout_sec",
        "retry_mode",
    ] {
        assert!(noted(key), "{key} is noted:\n{}", shown.stderr);
    }
    for mapped in ["aws_connect_timeout", "request_retry_attempts", "handlers"] {
        assert!(!noted(mapped), "{mapped} is acted on:\n{}", shown.stderr);
    }
    assert!(
        site.log()
            .contains("accepted the Python ORB's settings that orb does not act on"),
        "logged once"
    );

    // `handlers.capabilities.asg: false` disables the handler, as it would in ORB.
    let refused = site
        .call(
            "requestMachines",
            &json!({"template": {"templateId": "Group", "machineCount": 1}}),
        )
        .expect_code(1)
        .json();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("ASG handler is disabled"),
        "{refused}"
    );
    let id = request(&site, "RunInstances", 1);
    assert_eq!(settle(&site, &id)["status"], "complete");
}

#[test]
fn generated_examples_are_valid_as_written_and_each_runs_the_host_factory_cycle() {
    let moto = Moto::start();
    // RunInstances without partial fulfilment: the emulator launches MinCount instances.
    let site = site(
        &moto,
        json!({"fleet_role": moto.seed["fleet_role"],
            "handlers": {"run_instances": {"allow_partial": false}}}),
        json!({"templates": []}),
    );
    // An API the provider has no examples of: an error naming those it has; nothing written.
    let templates_file = site.path().join("conf/mockinstprov_templates.json");
    let before = std::fs::read_to_string(&templates_file).unwrap();
    let refused = site.orb(&["templates", "generate", "--provider-api", "Nope"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("'Nope'") && said.contains("EC2Fleet"),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(&templates_file).unwrap(), before);
    let generated = site
        .orb(&["templates", "generate", "--format", "json"])
        .expect_code(0)
        .json();
    let written: Vec<String> = generated["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    // A template per handler and way of paying (RunInstances has no mix).
    let mut ways: Vec<&str> = written.iter().map(String::as_str).collect();
    ways.sort();
    assert_eq!(
        ways,
        [
            "ASG-Mixed",
            "ASG-OnDemand",
            "ASG-Spot",
            "EC2Fleet-Instant-OnDemand",
            "EC2Fleet-Maintain-Mixed",
            "EC2Fleet-Request-Spot",
            "RunInstances-OnDemand",
            "RunInstances-Spot",
            "SpotFleet-Request-Mixed",
            "SpotFleet-Request-Spot",
        ],
        "{generated}"
    );
    // Written once: a second run keeps them.
    let again = site
        .orb(&["templates", "generate", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(again["kept"].as_array().unwrap().len(), 10, "{again}");
    site.orb(&["templates", "validate"]).expect_code(0);
    // Each on the subnets whose zone offers its types: they pass the network's own check.
    let checked = site.orb(&["infra", "validate", "--format", "json"]);
    assert_eq!(checked.code, 0, "{checked:?}");

    // Two machines each: for one machine of a group half on demand, the emulator rounds both
    // halves down and launches none (AWS launches one).
    for template in &written {
        cycle(&site, template, 2);
    }
}

/// Attribute-based selection on a group, the whole Host Factory cycle (the emulator does not
/// take requirements in a fleet's overrides: those calls are pinned by the plugin's replay
/// tests).
#[test]
fn a_group_chosen_by_instance_requirements_runs_the_host_factory_cycle() {
    let moto = Moto::start();
    let mut template = base(&moto, "ByRequirements", "ASG");
    crate::support::merge(
        &mut template,
        json!({"abisInstanceRequirements": {"VCpuCount": {"Min": 2, "Max": 4},
            "MemoryMiB": {"Min": 4096}}}),
    );
    let site = site(&moto, json!({}), json!({"templates": [template]}));
    site.orb(&["templates", "validate"]).expect_code(0);
    cycle(&site, "ByRequirements", 2);
}

/// The Python ORB's `vmTypesOnDemand` on a mix of spot and on demand: the whole Host Factory
/// cycle on an instant fleet and on a group (the replay tests pin the overrides they make).
#[test]
fn on_demand_instance_types_of_a_mix_run_the_host_factory_cycle() {
    let moto = Moto::start();
    let mixed = |id: &str, api: &str| {
        let mut t = base(&moto, id, api);
        crate::support::merge(
            &mut t,
            json!({"fleetType": "instant", "priceType": "heterogeneous", "percentOnDemand": 50,
                "vmTypes": {"t3.medium": 1}, "vmTypesOnDemand": {"t3.large": 1}}),
        );
        if api == "ASG" {
            t.as_object_mut().unwrap().remove("fleetType");
        }
        t
    };
    let templates = json!({"templates": [mixed("MixFleet", "EC2Fleet"), mixed("MixGroup", "ASG")]});
    let site = site(&moto, json!({}), templates);
    site.orb(&["templates", "validate"]).expect_code(0);
    for template in ["MixFleet", "MixGroup"] {
        cycle(&site, template, 2);
    }
}

#[test]
fn settings_beside_an_operators_launch_template_launch_from_a_new_version_of_it() {
    let moto = Moto::start();
    let script = repo_root().join("tests/tools/launch-template.py");
    let made = moto.python(
        &script,
        &["make", "operators", moto.seed["image"].as_str().unwrap()],
    );
    let id = made["id"].as_str().unwrap();
    let s = &moto.seed;
    // The image is given beside the key too: the emulator does not carry a source version's
    // settings into a new version, as AWS does.
    let template = json!({"templateId": "Theirs", "providerApi": "EC2Fleet", "maxNumber": -1,
        "fleetType": "instant", "vmType": "t3.medium", "subnetIds": s["subnets"],
        "launchTemplateId": id, "launchTemplateVersion": "1", "keyName": s["key_name"],
        "imageId": s["image"]});
    let site = site(&moto, json!({}), json!({"templates": [template]}));
    cycle(&site, "Theirs", 2);
    let versions = moto.python(&script, &["versions", id]);
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
}

/// `orb init` from flags: the instance built and checked against the account, then a
/// configuration and the example templates written, which `orb doctor` passes and Host Factory
/// can serve; never over files that exist without `--force`, nothing when the credentials fail.
#[test]
fn init_writes_a_configuration_that_works_and_replaces_nothing_unasked() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), json!({"templates": []}));
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--provider-type",
            "aws",
            "--region",
            "us-east-1",
            "--credentials",
            "environment",
            "--endpoint-url",
            &moto.endpoint,
            "--dir",
            conf.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        site.run(
            std::process::Command::new(site.path().join("install/bin/orb")).args(&args),
            &[
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
            ],
        )
    };
    let written = init(&[]);
    written.expect_code(0);
    let answer = written.json();
    assert_eq!(answer["provider"], "aws-us-east-1", "{answer}");
    assert_eq!(
        answer["templates"].as_array().unwrap().len(),
        10,
        "{answer}"
    );
    assert!(answer["found"]["subnets"].as_u64().unwrap() > 0, "{answer}");
    assert!(
        answer["next"].as_str().unwrap().contains("orb doctor"),
        "{answer}"
    );
    let config = std::fs::read_to_string(conf.join("config.json")).unwrap();
    assert!(
        !config.contains("testing"),
        "no secret is written: {config}"
    );

    // The written configuration works as it is.
    let config_file = conf.join("config.json");
    let with_config = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--config",
            config_file.to_str().unwrap(),
            "--format",
            "json",
        ]);
        site.run(
            std::process::Command::new(site.path().join("install/bin/orb")).args(&all),
            &[
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("HF_PROVIDER_CONFDIR", conf.to_str().unwrap()),
                ("HF_PROVIDER_NAME", "aws-us-east-1"),
            ],
        )
    };
    with_config(&["doctor"]).expect_code(0);
    with_config(&["templates", "validate"]).expect_code(0);

    // Again: refused, nothing changed; with --force, replaced.
    let before = std::fs::read_to_string(&config_file).unwrap();
    let again = init(&[]);
    again.expect_code(1);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    init(&["--force"]).expect_code(0);

    // A run killed after the templates and before the configuration: the next run, without
    // --force, finishes it; a templates file edited by hand is not replaced.
    std::fs::remove_file(&config_file).unwrap();
    init(&[]).expect_code(0);
    assert!(config_file.exists());
    let templates_file = conf.join("awsprov_templates.json");
    let mut edited: Value =
        serde_json::from_str(&std::fs::read_to_string(&templates_file).unwrap()).unwrap();
    edited["templates"][0]["maxNumber"] = json!(7);
    std::fs::write(&templates_file, edited.to_string()).unwrap();
    std::fs::remove_file(&config_file).unwrap();
    let refused = init(&[]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("awsprov_templates.json"),
        "{}",
        refused.stderr
    );
    assert!(!config_file.exists(), "nothing was written");
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&templates_file).unwrap()).unwrap(),
        edited
    );
    init(&["--force"]).expect_code(0);

    // Credentials that do not work: nothing written.
    let elsewhere = dir.path().join("elsewhere");
    let failed = site.run(
        std::process::Command::new(site.path().join("install/bin/orb")).args([
            "init",
            "--credentials",
            "profile",
            "--profile",
            "nobody",
            "--endpoint-url",
            &moto.endpoint,
            "--dir",
            elsewhere.to_str().unwrap(),
        ]),
        &[
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ],
    );
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("nothing was written"),
        "{}",
        failed.stderr
    );
    assert!(!elsewhere.exists());
    assert_eq!(
        std::fs::read_to_string(&config_file).unwrap().len(),
        before.len()
    );
}

/// `orb init` on a terminal asks what its flags do not say, and takes the defaults offered.
#[test]
fn init_asks_on_a_terminal() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), json!({"templates": []}));
    let dir = tempfile::tempdir().unwrap();
    let answers = json!([
        ["Provider type", "\r"],
        ["Region", "\r"],
        ["Credentials from", "\r"]
    ]);
    let mut command = std::process::Command::new("python3");
    command
        .arg(repo_root().join("tests/tools/answer-on-a-terminal.py"))
        .args([
            answers.to_string().as_str(),
            site.path().join("install/bin/orb").to_str().unwrap(),
            "init",
            "--endpoint-url",
            &moto.endpoint,
            "--dir",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ]);
    let run = site.run(
        &mut command,
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("TERM", "xterm"),
        ],
    );
    let answer = run.json();
    assert_eq!(answer["code"], 0, "{answer}");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    let instance = &config["provider"]["providers"][0];
    assert_eq!(instance["name"], "aws-us-east-1", "{config}");
    assert_eq!(instance["config"]["region"], "us-east-1", "{config}");
    assert!(dir.path().join("awsprov_templates.json").is_file());
}

/// `orb machines stop|start` on AWS: StopInstances and StartInstances for a machine of its
/// own, and a refusal for a member of an Auto Scaling group (the group would replace it).
#[test]
fn machines_stop_and_start_on_aws_and_group_members_are_refused() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let done = settle(&site, &request(&site, "RunInstances", 1));
    let machine = done["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Its zone, as EC2 places it, is kept.
    let shown = site
        .orb(&["machines", "show", &machine, "--format", "json"])
        .json();
    assert!(
        shown["zone"].as_str().unwrap().starts_with("us-east-1"),
        "{shown}"
    );
    let stopped = site
        .orb(&["machines", "stop", &machine, "--force", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(stopped["machines"][0]["result"], "stopping", "{stopped}");
    assert_eq!(inspect(&moto)["instances"][&machine], "stopped");
    let started = site
        .orb(&["machines", "start", &machine, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(started["machines"][0]["result"], "starting", "{started}");
    assert_eq!(inspect(&moto)["instances"][&machine], "running");

    let grouped = settle(&site, &request(&site, "Group", 1));
    let member = grouped["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = site.orb(&["machines", "stop", &member, "--force", "--format", "json"]);
    refused.expect_code(1);
    let outcome = &refused.json()["machines"][0];
    assert_eq!(outcome["result"], "failed", "{outcome}");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("Auto Scaling group"),
        "{outcome}"
    );
    assert_eq!(inspect(&moto)["instances"][&member], "running");
}

/// `--dry-run` on AWS: RunInstances, the launch template and CreateFleet, and then
/// TerminateInstances, run dry against the emulator; nothing is made, stored or terminated.
#[test]
fn dry_runs_on_aws_make_nothing() {
    let moto = Moto::start();
    let site = site(&moto, json!({}), templates(&moto));
    let before = inspect(&moto);
    for template in ["RunInstances", "FleetInstant", "Spot", "Group"] {
        let checked = site
            .orb(&[
                "machines",
                "request",
                template,
                "2",
                "--dry-run",
                "--format",
                "json",
            ])
            .expect_code(0)
            .json();
        assert_eq!(checked["wouldSucceed"], true, "{template}: {checked}");
    }
    assert_eq!(inspect(&moto), before, "a dry run made something");
    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"], json!([]));
    let dry_calls = site
        .log()
        .lines()
        .filter(|l| l.contains("aws call") && l.contains("operation="))
        .count();
    assert!(dry_calls >= 3, "the cloud was asked: {dry_calls} calls");

    let done = settle(&site, &request(&site, "RunInstances", 1));
    let machine = done["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    let checked = site
        .orb(&[
            "machines",
            "return",
            &machine,
            "--dry-run",
            "--format",
            "json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(checked["wouldSucceed"], true, "{checked}");
    assert_eq!(inspect(&moto)["instances"][&machine], "running");
}

/// Two AWS instances on two emulators behind one pool: requests take turns between them, one
/// return takes machines of both (each terminated in its own cloud), and an instance that
/// cannot be reached fails over to the other.
#[test]
fn two_clouds_behind_one_pool_share_requests_returns_and_outages() {
    let (east, west) = (Moto::start(), Moto::start());
    let instance = |name: &str, moto: &Moto, priority: i64| {
        let mut config = moto.provider_config();
        crate::support::merge(&mut config, json!({"max_retries": 1}));
        json!({"name": name, "type": "aws", "priority": priority, "config": config})
    };
    let fleet = |moto: &Moto| {
        let mut t = base(moto, "Fleet", "EC2Fleet");
        crate::support::merge(
            &mut t,
            json!({"fleetType": "instant", "vmTypes": {"t3.medium": 1}, "providerName": "both"}),
        );
        t
    };
    // Each instance reads its own templates file, on its own network.
    let site = HfSite::with_plugin(
        json!({
            "provider": {
                "providers": [instance("east", &east, 1), instance("west", &west, 2)],
                "pools": {"both": {"instances": ["east", "west"], "policy": "round_robin"}}
            },
            "logging": {"level": "debug"}
        }),
        json!({"templates": []}),
        &aws_plugin(),
        vec![
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("HF_PROVIDER_NAME".into(), "both".into()),
        ],
    );
    for (name, moto) in [("east", &east), ("west", &west)] {
        std::fs::write(
            site.path().join(format!("conf/{name}_templates.json")),
            json!({"templates": [fleet(moto)]}).to_string(),
        )
        .unwrap();
    }
    let first = settle(&site, &request(&site, "Fleet", 1));
    let second = settle(&site, &request(&site, "Fleet", 1));
    let servers: Vec<&str> = [&first, &second]
        .iter()
        .map(|r| r["providerName"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["east", "west"], "turns");
    let machines: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|r| r["machines"].as_array().unwrap().clone())
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    let back = site
        .call("requestReturnMachines", &json!({"machines": machines}))
        .expect_code(0)
        .json();
    let gone = settle(&site, back["requestId"].as_str().unwrap());
    assert_eq!(gone["status"], "complete", "{gone}");
    for (moto, done) in [(&east, &first), (&west, &second)] {
        let id = done["machines"][0]["machineId"].as_str().unwrap();
        assert_eq!(inspect(moto)["instances"][id], "terminated", "{id}");
    }

    // East cannot be reached: its turn fails over to west, in the same request.
    let config_file = site.path().join("conf/config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_file).unwrap()).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    config["provider"]["providers"][0]["config"]["endpoint_url"] = json!(dead);
    std::fs::write(&config_file, config.to_string()).unwrap();
    let failed_over = settle(&site, &request(&site, "Fleet", 1));
    assert_eq!(failed_over["status"], "complete", "{failed_over}");
    let message = failed_over["message"].as_str().unwrap();
    assert!(
        message.contains("east: 0 of 1") && message.contains("west: 1 of 1"),
        "{message}"
    );
    let id = failed_over["machines"][0]["machineId"].as_str().unwrap();
    assert_eq!(inspect(&west)["instances"][id], "running");

    // East back, first by priority, but without the EC2 Fleet handler: it does not offer the
    // template's API, and west takes the request.
    config["provider"]["pools"]["both"]["policy"] = json!("priority");
    config["provider"]["providers"][0]["config"]["endpoint_url"] = json!(east.endpoint);
    config["provider"]["providers"][0]["config"]["handlers"] = json!({"ec2_fleet": false});
    std::fs::write(&config_file, config.to_string()).unwrap();
    let elsewhere = settle(&site, &request(&site, "Fleet", 1));
    assert_eq!(elsewhere["status"], "complete", "{elsewhere}");
    let message = elsewhere["message"].as_str().unwrap();
    assert!(message.contains("handler is disabled"), "{message}");
    assert!(message.contains("west: 1 of 1"), "{message}");
}

/// RunInstances launches from the operator's launch template (its image, at its version),
/// as EC2 Fleet and Auto Scaling do; validate checks the launch template exists.
#[test]
fn run_instances_launches_from_the_operators_launch_template() {
    let moto = Moto::start();
    let script = repo_root().join("tests/tools/launch-template.py");
    let image = moto.seed["image"].as_str().unwrap();
    let made = moto.python(&script, &["make", "operators-ri", image]);
    let id = made["id"].as_str().unwrap();
    // No image beside it, and no default image: the launch template's is the only one.
    let site = site(
        &moto,
        json!({"default_image_id": ""}),
        json!({"templates": [
            {"templateId": "FromLt", "providerApi": "RunInstances", "maxNumber": 5,
             "vmType": "t3.medium", "launchTemplateId": id, "launchTemplateVersion": "1"},
            {"templateId": "NoSuchLt", "providerApi": "RunInstances", "maxNumber": 5,
             "vmType": "t3.medium", "launchTemplateId": "lt-0123456789abcdef0"}
        ]}),
    );
    let checked = site
        .orb(&["templates", "validate", "--format", "json"])
        .json();
    let problems = checked["templates"].to_string();
    assert!(
        problems.contains("lt-0123456789abcdef0 does not exist"),
        "{checked}"
    );
    let request_id = request(&site, "FromLt", 1);
    let done = settle(&site, &request_id);
    assert_eq!(done["status"], "complete", "{done}");
    let machine = done["machines"][0]["machineId"].as_str().unwrap();
    let launched = moto.python(&script, &["instances"]);
    assert_eq!(launched[machine]["image"], image, "{launched}");
    assert_eq!(launched[machine]["lt"], id, "{launched}");
}

/// A profile that does not exist, or no credentials at all, is said in those words by every
/// call and by doctor, never as the SDK's last attempt (the instance metadata service).
#[test]
fn a_missing_profile_or_no_credentials_is_named_as_such() {
    let moto = Moto::start();
    let none = json!({"access_key_id": null, "secret_access_key": null});
    let mut nope = none.clone();
    nope["profile"] = json!("nope");
    for (config, expected) in [
        (nope, "profile 'nope' not found in"),
        (none, "no credentials found: set AWS_ACCESS_KEY_ID"),
    ] {
        let site = site(&moto, config, templates(&moto));
        let call = site.call(
            "requestMachines",
            &json!({"template": {"templateId": "RunInstances", "machineCount": 1}}),
        );
        assert_eq!(call.code, 1, "{call:?}");
        assert!(call.stdout.contains(expected), "{expected}: {call:?}");
        assert!(!call.stdout.contains("IMDS"), "{call:?}");
        let doctor = site.orb(&["doctor", "--format", "json"]);
        assert_eq!(doctor.code, 1, "{doctor:?}");
        assert!(doctor.stdout.contains(expected), "{expected}: {doctor:?}");
    }
}
