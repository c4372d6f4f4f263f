//! The command line as a person at a terminal (and their scripts) expects it: completions,
//! manual pages, exit codes, output that a closed pipe does not crash, `--format` honoured
//! everywhere, on the real binary and the mock provider.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::HfSite;

fn site() -> HfSite {
    slow_site(0)
}

/// A site whose mock machines take `pending_seconds` to start, with one template, `Small`.
fn slow_site(pending_seconds: u32) -> HfSite {
    HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": pending_seconds}}]},
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
        ]}),
    )
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line_itself() {
    let site = site();
    for (shell, marker) in [
        ("bash", "complete -F _orb"),
        ("zsh", "#compdef orb"),
        ("fish", "complete -c orb"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = site.orb(&["completions", shell]);
        run.expect_code(0);
        assert!(
            run.stdout.contains(marker),
            "{shell}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        // Every command is offered.
        assert!(run.stdout.contains("migrate"), "{shell}");
    }
    site.orb(&["completions", "tcsh"]).expect_code(2);

    let page = site.orb(&["man"]);
    page.expect_code(0);
    assert!(page.stdout.contains(".TH orb 1"), "{}", page.stdout);
    let dir = tempfile::tempdir().unwrap();
    let written = site
        .orb(&[
            "man",
            "--dir",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ])
        .expect_code(0)
        .json();
    let count = written["written"].as_array().unwrap().len();
    assert!(count > 20, "{written}");
    let request = std::fs::read_to_string(dir.path().join("orb-machines-request.1")).unwrap();
    assert!(request.contains("orb\\-machines\\-request"), "{request}");
    assert!(request.contains("template"), "{request}");
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let site = site();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = site
        .command(
            Command::new(site.path().join("install/bin/orb")).args(["completions", "bash"]),
            &[],
        )
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn host_factory_calls_answer_in_the_format_asked_for() {
    let site = site();
    let json = site
        .call_args("getAvailableTemplates", &[])
        .expect_code(0)
        .json();
    assert_eq!(json["templates"][0]["templateId"], "Small");
    let yaml = site.orb(&["hostfactory", "getAvailableTemplates", "--format", "yaml"]);
    yaml.expect_code(0);
    assert!(yaml.stdout.contains("templateId: Small"), "{}", yaml.stdout);
}

#[test]
fn an_interrupted_wait_exits_130_and_the_request_goes_on() {
    let site = slow_site(30);
    let child = site
        .command(
            Command::new(site.path().join("install/bin/orb")).args([
                "machines", "request", "Small", "1", "--wait", "--format", "json",
            ]),
            &[],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted once the request is stored.
    let started = std::time::Instant::now();
    loop {
        let listed = site.orb(&["requests", "list", "--format", "json"]).json();
        if !listed["requests"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "never stored");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"][0]["status"], "running", "{listed}");
}

#[test]
fn the_log_file_rotates_by_size_under_parallel_processes() {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"pending_seconds": 0}}]},
            "logging": {"level": "debug", "max_size": 4000, "backup_count": 2},
        }),
        json!({"templates": [
            {"templateId": "Small", "maxNumber": 50, "vmType": "m5.large", "imageId": "img"}
        ]}),
    );
    let children: Vec<_> = (0..24)
        .map(|_| {
            site.command(
                Command::new(site.path().join("install/bin/orb")).args([
                    "templates",
                    "list",
                    "--format",
                    "json",
                ]),
                &[],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let log = site.path().join("log/orb.log");
    let size = |n: &str| {
        std::fs::metadata(format!("{}{n}", log.display()))
            .map(|m| m.len())
            .ok()
    };
    for n in ["", ".1", ".2"] {
        let len = size(n).unwrap_or_else(|| panic!("orb.log{n} missing"));
        // A file ends at the line that would take it past its size.
        assert!(len > 0 && len <= 4000, "orb.log{n}: {len} bytes");
    }
    assert_eq!(size(".3"), None, "only two older files are kept");
}

#[test]
fn templates_are_added_changed_and_deleted_in_their_file_checked_first() {
    let site = site();
    let file = site.path().join("conf/mockinstprov_templates.json");
    let templates_file = || std::fs::read_to_string(&file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("big.json");
    std::fs::write(
        &new,
        r#"{"templateId": "Big", "maxNumber": 5, "vmType": "m5.4xlarge", "imageId": "img"}"#,
    )
    .unwrap();
    let added = site
        .orb(&[
            "templates",
            "add",
            new.to_str().unwrap(),
            "--format",
            "json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(added["action"], "added", "{added}");
    let before = templates_file();
    let written: serde_json::Value = serde_json::from_str(&before).unwrap();
    let ids: Vec<_> = written["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["templateId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Small", "Big"], "the file's order is kept");

    // Its id exists: refused, nothing written.
    let again = site.orb(&["templates", "add", new.to_str().unwrap()]);
    again.expect_code(1);
    assert!(again.stderr.contains("exists"), "{}", again.stderr);
    // A change that leaves it without an instance type: refused with the problem.
    let bad = site.orb(&["templates", "update", "Big", "--unset", "vmType"]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("vmType"), "{}", bad.stderr);
    assert_eq!(templates_file(), before);

    site.orb(&[
        "templates",
        "update",
        "Big",
        "--set",
        "maxNumber=20",
        "--set",
        "imageId=img-2",
    ])
    .expect_code(0);
    let shown = site
        .orb(&["templates", "show", "Big", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(shown["maxNumber"], 20, "{shown}");
    assert_eq!(shown["imageId"], "img-2", "{shown}");

    site.orb(&["templates", "delete", "Big"]).expect_code(0);
    site.orb(&["templates", "show", "Big"]).expect_code(1);
    site.orb(&["templates", "delete", "Big"]).expect_code(1);
}

/// The checks of `orb doctor` on `site` with `env`, by name: (status, detail, fix).
fn doctor(site: &HfSite, env: &[(&str, &str)]) -> (i32, Vec<serde_json::Value>) {
    let run = site.run(
        Command::new(site.path().join("install/bin/orb")).args(["doctor", "--format", "json"]),
        env,
    );
    let checks = run.json()["checks"].as_array().unwrap().clone();
    (run.code, checks)
}

fn check<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"))
}

#[test]
fn doctor_checks_each_part_and_names_a_fix_for_each_failure() {
    let site = site();
    let (code, checks) = doctor(&site, &[]);
    assert_eq!(code, 0, "{checks:#?}");
    for name in [
        "configuration",
        "plugins",
        "provider type mock",
        "database",
        "host factory environment",
        "host factory scripts",
    ] {
        assert_eq!(check(&checks, name)["status"], "ok", "{name}: {checks:#?}");
    }
    assert!(
        check(&checks, "host factory scripts")["detail"]
            .as_str()
            .unwrap()
            .contains("answers 1 templates"),
        "{checks:#?}"
    );
    assert!(
        checks.iter().any(|c| c["check"]
            .as_str()
            .unwrap()
            .starts_with("provider mockinst")),
        "{checks:#?}"
    );

    // Host Factory's own name for the provider, none of the configuration's: the default
    // instance serves, and doctor says so.
    let (_, checks) = doctor(&site, &[("HF_PROVIDER_NAME", "elsewhere")]);
    let environment = check(&checks, "host factory environment");
    assert_eq!(environment["status"], "warn", "{checks:#?}");
    assert!(environment["detail"]
        .as_str()
        .unwrap()
        .contains("elsewhere"));

    // A script that is not executable, and a slip of the configured provider's name.
    let script = site.path().join("install/scripts/getRequestStatus.sh");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, checks) = doctor(&site, &[("HF_PROVIDER_NAME", "mockinstt")]);
    assert_eq!(code, 1, "{checks:#?}");
    let scripts = check(&checks, "host factory scripts");
    assert_eq!(scripts["status"], "fail");
    assert!(scripts["detail"]
        .as_str()
        .unwrap()
        .contains("getRequestStatus.sh"));
    assert!(!scripts["fix"].as_str().unwrap().is_empty());
    let environment = check(&checks, "host factory environment");
    assert_eq!(environment["status"], "fail");
    assert!(environment["detail"]
        .as_str()
        .unwrap()
        .contains("did you mean 'mockinst'"));

    // A configuration that does not load is the first check's failure, not a crash.
    std::fs::write(site.path().join("conf/config.json"), "{ not json").unwrap();
    let (code, checks) = doctor(&site, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        check(&checks, "configuration")["status"],
        "fail",
        "{checks:#?}"
    );
}

#[test]
fn watch_follows_running_requests_until_they_end_in_plain_lines_off_a_terminal() {
    let site = slow_site(2);
    let asked = site
        .orb(&["machines", "request", "Small", "2", "--format", "json"])
        .expect_code(0)
        .json();
    let id = asked["requests"][0]["requestId"]
        .as_str()
        .unwrap_or_else(|| asked["requestId"].as_str().unwrap())
        .to_owned();
    let watched = site.orb(&["requests", "watch", "--interval", "1", "--format", "json"]);
    watched.expect_code(0);
    let answer = watched.json();
    assert_eq!(answer["requests"][0]["requestId"], id.as_str(), "{answer}");
    assert_eq!(answer["requests"][0]["status"], "complete", "{answer}");
    // Progress went to stderr, as lines: no bar, colour or cursor movement.
    assert!(watched.stderr.contains("running 2/2"), "{}", watched.stderr);
    assert!(watched.stderr.contains("pending"), "{}", watched.stderr);
    // By purchase option and zone: the mock places machines in its two zones in turn.
    assert!(
        watched
            .stderr
            .contains("(ondemand 2; mock-1a 1, mock-1b 1)"),
        "{}",
        watched.stderr
    );
    assert!(!watched.stderr.contains('\u{1b}'), "{}", watched.stderr);

    // Nothing running: nothing to follow.
    let idle = site
        .orb(&["requests", "watch", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(idle["requests"], json!([]));
    site.orb(&["requests", "watch", "req-none"]).expect_code(1);
}

#[test]
fn machines_stop_and_start_through_their_provider_and_a_stop_is_confirmed() {
    let site = site();
    let asked = site
        .orb(&[
            "machines", "request", "Small", "1", "--wait", "--format", "json",
        ])
        .expect_code(0)
        .json();
    let machine = asked["requests"][0]["machines"][0]["machineId"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = |site: &HfSite| {
        site.orb(&["machines", "show", &machine, "--format", "json"])
            .expect_code(0)
            .json()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Host Factory would return a stopped machine: a stop is confirmed.
    let unconfirmed = site.orb(&["machines", "stop", &machine]);
    unconfirmed.expect_code(1);
    assert!(
        unconfirmed.stderr.contains("--force"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(state(&site), "running");

    let stopped = site
        .orb(&[
            "machines", "stop", &machine, "i-nobody", "--force", "--format", "json",
        ])
        .json();
    let outcomes = stopped["machines"].as_array().unwrap();
    assert_eq!(outcomes[0]["machine"], "i-nobody", "{stopped}");
    assert_eq!(outcomes[0]["result"], "refused", "{stopped}");
    assert_eq!(outcomes[1]["result"], "stopping", "{stopped}");
    assert!(matches!(state(&site).as_str(), "stopping" | "stopped"));

    let begun = std::time::Instant::now();
    while state(&site) != "stopped" {
        assert!(begun.elapsed().as_secs() < 10, "never stopped");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let started = site
        .orb(&["machines", "start", &machine, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(started["machines"][0]["result"], "starting", "{started}");
    assert!(matches!(state(&site).as_str(), "pending" | "running"));
}

#[test]
fn a_dry_run_checks_a_request_and_a_return_and_does_nothing() {
    let site = site();
    let checked = site
        .orb(&[
            "machines",
            "request",
            "Small",
            "2",
            "--dry-run",
            "--format",
            "json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(checked["dryRun"], true, "{checked}");
    assert_eq!(checked["wouldSucceed"], true, "{checked}");
    let listed = site.orb(&["requests", "list", "--format", "json"]).json();
    assert_eq!(listed["requests"], json!([]), "nothing stored");
    let cloud = site.path().join("work/mock-mockinst.json");
    let launched = || {
        std::fs::read_to_string(&cloud)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or(0, |c| c["machines"].as_object().map_or(0, |m| m.len()))
    };
    assert_eq!(launched(), 0, "nothing launched");
    // The host's own checks come first.
    site.orb(&["machines", "request", "Small", "0", "--dry-run"])
        .expect_code(1);
    site.orb(&["machines", "request", "Nothing", "1", "--dry-run"])
        .expect_code(1);
    // The request's admission: above maxNumber (50), refused as the request would be.
    let over = site.orb(&[
        "machines",
        "request",
        "Small",
        "51",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(over.code, 1, "{over:?}");
    let over = over.json();
    assert_eq!(over["wouldSucceed"], false, "{over}");
    assert!(
        over["problems"][0]
            .as_str()
            .unwrap()
            .contains("maxNumber is 50"),
        "{over}"
    );

    let asked = site
        .orb(&[
            "machines", "request", "Small", "1", "--wait", "--format", "json",
        ])
        .expect_code(0)
        .json();
    let machine = asked["requests"][0]["machines"][0]["machineId"]
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
    let shown = site
        .orb(&["machines", "show", &machine, "--format", "json"])
        .json();
    assert_eq!(shown["status"], "running", "not returned: {shown}");
    assert!(shown["returnRequestId"].is_null(), "{shown}");
    let refused = site.orb(&[
        "machines",
        "return",
        "i-nobody",
        "--dry-run",
        "--format",
        "json",
    ]);
    refused.expect_code(1);
    assert!(
        refused.json()["problems"][0]
            .as_str()
            .unwrap()
            .contains("not a machine of orb's"),
        "{}",
        refused.stdout
    );
}

#[test]
fn on_a_terminal_watch_draws_bars_unless_no_color_is_set() {
    let site = slow_site(2);
    let on_terminal = |no_color: bool| {
        let asked = site
            .orb(&["machines", "request", "Small", "1", "--format", "json"])
            .expect_code(0)
            .json();
        let id = asked["requestId"].as_str().unwrap().to_owned();
        let mut command = Command::new("python3");
        command
            .arg(crate::support::repo_root().join("tests/tools/answer-on-a-terminal.py"))
            .args([
                "[]",
                site.path().join("install/bin/orb").to_str().unwrap(),
                "requests",
                "watch",
                &id,
                "--interval",
                "1",
            ]);
        let mut env = vec![("TERM", "xterm")];
        if no_color {
            env.push(("NO_COLOR", "1"));
        }
        let shown = site.run(&mut command, &env).json();
        assert_eq!(shown["code"], 0, "{shown}");
        shown["output"].as_str().unwrap().to_owned()
    };
    let bars = on_terminal(false);
    assert!(bars.contains("] 1/1"), "a bar: {bars}");
    assert!(bars.contains('\u{1b}'), "drawn in place: {bars}");
    let plain = on_terminal(true);
    assert!(!plain.contains("] 1/1"), "no bar: {plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "no colour or cursor movement: {plain}"
    );
    assert!(plain.contains("running 1/1"), "{plain}");
}
