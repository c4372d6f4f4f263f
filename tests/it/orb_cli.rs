//! The CLI as the Python ORB's users type it: its spellings of `machines request`, `return`,
//! `show`, `requests status`, and `--filter`, `--limit`, `--offset` and `--output` on the
//! listings, on the real binary and the mock provider.

use serde_json::{json, Value};

use crate::support::HfSite;

fn site() -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 0}}]},
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"},
            {"templateId": "Large", "maxNumber": 50, "vmType": "m5.4xlarge", "imageId": "img"}
        ]}),
    )
}

/// `orb ARGS --format json`, which must succeed; its output.
fn orb(site: &HfSite, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    site.orb(&all).expect_code(0).json()
}

/// The ids of `items` at `key`.
fn ids(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn orbs_spellings_of_requests_and_returns_work() {
    let site = site();
    // Flags or positionals, as ORB takes them; `status` is `show`.
    let small = orb(
        &site,
        &["machines", "request", "-t", "Small", "-c", "2", "--wait"],
    );
    let small_id = small["requests"][0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let large = orb(
        &site,
        &["machines", "request", "Large", "--count", "1", "--wait"],
    );
    let large_id = large["requests"][0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let both = orb(&site, &["requests", "status", &small_id, "-r", &large_id]);
    assert_eq!(
        ids(&both["requests"], "requestId"),
        [small_id.clone(), large_id.clone()]
    );
    let machine = both["requests"][1]["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = orb(&site, &["machines", "show", "-m", &machine]);
    assert_eq!(shown["requestId"], large_id.as_str());
    assert_eq!(
        orb(&site, &["templates", "show", "-t", "Large"])["templateId"],
        "Large"
    );

    // Usage errors exit 2 and do nothing.
    for bad in [
        &["machines", "request", "Small"][..],
        &["machines", "request", "Small", "1", "-t", "Large"],
        &["machines", "return", "--all"],
        &["machines", "return", "-r", &small_id, &machine],
        &["requests", "list", "--filter", "status"],
        &["requests", "list", "--filter", "templateId=~("],
    ] {
        let run = site.orb(bad);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
    }

    // Every machine of a request; then every machine left, confirmed; `terminate` is `return`.
    let returned = orb(&site, &["machines", "return", "-r", &small_id]);
    assert_eq!(returned["terminating"], 2, "{returned}");
    let rest = orb(&site, &["machines", "terminate", "--all", "--force"]);
    assert_eq!(rest["terminating"], 1, "{rest}");
    let none = orb(&site, &["machines", "return", "--all", "--force"]);
    assert_eq!(none["requestId"], Value::Null, "nothing is left: {none}");
}

#[test]
fn listings_filter_page_and_write_to_a_file() {
    let site = site();
    for (template, count) in [("Small", "1"), ("Large", "1"), ("Small", "2")] {
        orb(&site, &["machines", "request", template, count, "--wait"]);
    }
    let small = orb(&site, &["requests", "list", "--filter", "templateId=Small"]);
    assert_eq!(small["requests"].as_array().unwrap().len(), 2, "{small}");
    let anded = orb(
        &site,
        &[
            "requests",
            "list",
            "--filter",
            "template_id~mal",
            "--filter",
            "machines!=1",
        ],
    );
    assert_eq!(anded["requests"].as_array().unwrap().len(), 1, "{anded}");
    assert_eq!(anded["requests"][0]["machines"], 2);
    let paged = orb(
        &site,
        &["requests", "list", "--limit", "1", "--offset", "1"],
    );
    let all = orb(&site, &["requests", "list", "--request-type", "acquire"]);
    assert_eq!(paged["requests"][0], all["requests"][1]);
    let running = orb(
        &site,
        &[
            "machines",
            "list",
            "--filter",
            "status=running",
            "--filter",
            "name=~^ip-",
            "--limit",
            "3",
        ],
    );
    assert_eq!(
        running["machines"].as_array().unwrap().len(),
        3,
        "{running}"
    );
    let none = orb(
        &site,
        &[
            "machines",
            "list",
            "--filter",
            "status!~^(running|pending)$",
        ],
    );
    assert_eq!(none["machines"], json!([]));
    let templates = orb(
        &site,
        &["templates", "list", "--filter", "templateId!=Small"],
    );
    assert_eq!(ids(&templates["templates"], "templateId"), ["Large"]);
    // A field the items do not have, or an operator there is not: an error naming the valid
    // ones, never an empty listing.
    for listing in ["requests", "machines", "templates"] {
        let run = site.orb(&[listing, "list", "--filter", "nosuchfield=1"]);
        assert_eq!(run.code, 1, "{listing}: {run:?}");
        assert!(
            run.stdout.contains("no such field") || run.stderr.contains("no such field"),
            "{run:?}"
        );
    }
    let run = site.orb(&["requests", "list", "--filter", "status==complete"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("KEY=VALUE"), "{run:?}");

    // --output: the file holds what stdout would, and stdout nothing.
    let file = site.path().join("requests.json");
    let run = site.orb(&[
        "requests",
        "list",
        "--format",
        "json",
        "--output",
        file.to_str().unwrap(),
    ]);
    run.expect_code(0);
    assert!(run.stdout.is_empty(), "{run:?}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, all);
}

#[test]
fn the_python_orbs_command_lines_run_unique_prefixes_included() {
    let site = site();
    // As ORB's own CLI tests and its documentation write them.
    let made = orb(
        &site,
        &[
            "machines",
            "request",
            "--template",
            "Small",
            "--count",
            "1",
            "--wait",
        ],
    );
    let id = made["requests"][0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    // argparse takes any unique prefix of a long option; ORB's users type them.
    let short = orb(
        &site,
        &[
            "machines", "request", "--templ", "Large", "--cou", "1", "--wa",
        ],
    );
    assert_eq!(short["requests"][0]["status"], "complete", "{short}");
    let status = orb(&site, &["requests", "status", &id]);
    assert_eq!(status["requests"][0]["requestId"], id.as_str());
    let by_flag = orb(&site, &["requests", "status", "--request-id", &id]);
    assert_eq!(by_flag["requests"][0]["requestId"], id.as_str());
    let listed = orb(&site, &["templates", "list"]);
    assert_eq!(ids(&listed["templates"], "templateId"), ["Small", "Large"]);
    let machine = status["requests"][0]["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    let returned = orb(&site, &["machines", "return", &machine]);
    assert!(returned.to_string().contains("ret-"), "{returned}");
    // A prefix of two options is a usage error that does nothing.
    let before = orb(&site, &["requests", "list"]);
    let ambiguous = site.orb(&["machines", "list", "--f", "status=running"]);
    assert_eq!(ambiguous.code, 2, "{ambiguous:?}");
    assert_eq!(orb(&site, &["requests", "list"]), before);
}

#[test]
fn the_default_dialect_answers_with_the_python_orbs_fields() {
    let site = HfSite::with_config(
        json!({
            "scheduler": {"type": "default"},
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 0}}]},
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmTypes": {"m5.large": 1, "m5.xlarge": 2}, "imageId": "img"}
        ]}),
    );
    let templates = orb(&site, &["templates", "list"]);
    let small = &templates["templates"][0];
    assert_eq!(small["template_id"], "Small", "{small}");
    assert_eq!(small["max_instances"], 50, "{small}");
    assert_eq!(
        small["machine_types"],
        json!({"m5.large": 1, "m5.xlarge": 2})
    );
    assert_eq!(small["instance_type"], "m5.large");
    let made = orb(&site, &["machines", "request", "Small", "2", "--wait"]);
    let request = &made["requests"][0];
    assert_eq!(request["template_id"], "Small", "{request}");
    assert_eq!(request["request_type"], "acquire");
    assert_eq!(request["requested_count"], 2);
    assert_eq!(request["successful_count"], 2);
    assert_eq!(request["failed_count"], 0);
    assert_eq!(request["machine_ids"].as_array().unwrap().len(), 2);
    assert!(
        request["created_at"].as_str().unwrap().ends_with('Z'),
        "{request}"
    );
}

#[test]
fn an_unknown_machine_is_refused_with_why_not_reported_gone() {
    let site = site();
    let run = site.orb(&["machines", "return", "i-doesnotexist", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let answer = run.json();
    assert_eq!(answer["alreadyGone"], 0, "{answer}");
    assert_eq!(
        answer["refused"][0]["machineId"], "i-doesnotexist",
        "{answer}"
    );
    assert!(
        answer["refused"][0]["error"]
            .as_str()
            .unwrap()
            .contains("knows no machine"),
        "{answer}"
    );
    // Host Factory's call, by name alone: the same.
    let hf = site.call(
        "requestReturnMachines",
        &json!({"machines": [{"name": "host-that-never-was"}]}),
    );
    assert_eq!(hf.code, 1, "{hf:?}");
    assert!(hf.stdout.contains("knows no machine"), "{hf:?}");
}

#[test]
fn a_template_without_a_cap_serves_one_machine_and_validate_says_so() {
    let site = HfSite::with_config(
        json!({"provider": {"providers": [{"name": "mockinst", "type": "mock",
            "config": {"pending_seconds": 0}}]}}),
        json!({"templates": [{"templateId": "Uncapped", "vmType": "m5.large", "imageId": "img"}]}),
    );
    let listed = site
        .call_args("getAvailableTemplates", &[])
        .expect_code(0)
        .json();
    assert_eq!(listed["templates"][0]["maxNumber"], 1, "{listed}");
    let refused = site.call(
        "requestMachines",
        &json!({"template": {"templateId": "Uncapped", "machineCount": 2}}),
    );
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.contains("maxNumber is 1"), "{refused:?}");
    let report = orb(&site, &["templates", "validate"]);
    let notes = report["templates"][0]["notes"].to_string();
    assert!(notes.contains("maxNumber is not set"), "{report}");
}

#[test]
fn an_acquire_whose_machines_were_returned_says_so() {
    let site = site();
    let made = orb(&site, &["machines", "request", "Small", "2", "--wait"]);
    let id = made["requests"][0]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        made["requests"][0]["message"], "2 of 2 machines running",
        "{made}"
    );
    let machines: Vec<String> = ids(&made["requests"][0]["machines"], "machineId");
    let mut args = vec!["machines", "return"];
    args.extend(machines.iter().map(String::as_str));
    args.push("--wait");
    orb(&site, &args);
    let after = orb(&site, &["requests", "status", &id]);
    let message = after["requests"][0]["message"].as_str().unwrap();
    assert_eq!(
        message, "2 of 2 machines provisioned; 2 returned since, 0 running",
        "{after}"
    );
}
