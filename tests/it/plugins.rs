//! The plugin host: loading libraries, refusing the wrong ones, surviving panics, logging and
//! configuration layers, all through the real binary.

use serde_json::{json, Value};

use crate::support::{
    build_vendor_crate, bumped_interface_version, external_plugin, incompatible_plugin,
    interface_version, mock_plugin, newer_minor_version, newer_plugin, not_a_plugin, Sandbox,
};

fn mock_instance(name: &str, config: Value) -> Value {
    json!({"name": name, "type": "mock", "config": config})
}

fn providers_config(instances: Vec<Value>) -> Value {
    json!({"provider": {"providers": instances}})
}

fn health_of<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no health entry for {name} in {report}"))
}

#[test]
fn the_mock_plugin_loads_from_a_plugins_directory() {
    let sandbox = Sandbox::with_mock();
    sandbox.write_config(&providers_config(vec![mock_instance("mock-a", json!({}))]));

    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(0).json();
    assert_eq!(listed["refused"], json!([]));
    let plugin = &listed["plugins"][0];
    assert_eq!(plugin["name"], "orb-provider-mock");
    assert_eq!(plugin["providerTypes"], json!(["mock"]));
    assert_eq!(plugin["interfaceVersion"], interface_version());

    let health = sandbox.orb(&["providers", "health"]);
    let health = health.expect_code(0).json();
    assert_eq!(health_of(&health, "mock-a")["status"], "healthy");

    let providers = sandbox.orb(&["providers", "list"]).json();
    assert_eq!(providers["providers"][0]["status"], "ready");
}

#[test]
fn a_separately_built_provider_plugs_into_the_built_host() {
    let sandbox = Sandbox::new();
    sandbox.add_plugin(external_plugin(), "liborb_provider_external.so");
    sandbox.write_config(&providers_config(vec![json!({
        "name": "vendor-1", "type": "external", "config": {"greeting": "bonjour"}
    })]));

    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(0).json();
    assert_eq!(listed["plugins"][0]["name"], "external-fixture");
    assert_eq!(listed["plugins"][0]["version"], "3.1.4");

    let health = sandbox.orb(&["providers", "health"]);
    let health = health.expect_code(0).json();
    let vendor = health_of(&health, "vendor-1");
    assert_eq!(vendor["status"], "healthy");
    assert_eq!(vendor["checks"][0]["detail"], "bonjour");
}

#[test]
fn a_library_built_against_another_interface_version_is_refused() {
    let sandbox = Sandbox::with_mock();
    sandbox.add_plugin(incompatible_plugin(), "liborb_provider_external.so");
    sandbox.write_config(&providers_config(vec![
        mock_instance("mock-a", json!({})),
        json!({"name": "vendor-1", "type": "external"}),
    ]));

    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(1).json();
    let refusal = listed["refused"][0]["error"].as_str().unwrap();
    assert!(refusal.contains("liborb_provider_external.so"), "{refusal}");
    assert!(refusal.contains(&bumped_interface_version()), "{refusal}");
    assert!(refusal.contains(&interface_version()), "{refusal}");
    // The other library still loads, and its provider still works.
    assert_eq!(listed["plugins"][0]["name"], "orb-provider-mock");
    let health = sandbox.orb(&["providers", "health"]).json();
    assert_eq!(health_of(&health, "mock-a")["status"], "healthy");
    let vendor = health_of(&health, "vendor-1");
    assert_eq!(vendor["status"], "unhealthy");
    assert!(vendor["error"]
        .as_str()
        .unwrap()
        .contains("no loaded plugin offers provider type 'external'"));
}

#[test]
fn a_vendor_provider_without_a_cancel_of_its_own_is_cancelled_through_status_and_terminate() {
    let sandbox = Sandbox::new();
    sandbox.add_plugin(external_plugin(), "liborb_provider_external.so");
    sandbox.write_config(&providers_config(vec![
        json!({"name": "vendor-1", "type": "external", "config": {"pending": true}}),
    ]));
    std::fs::write(
        sandbox.path().join("config/templates.json"),
        json!({"templates": [{"templateId": "T", "maxNumber": 5, "vmType": "v1", "imageId": "i"}]})
            .to_string(),
    )
    .unwrap();
    let requested = sandbox
        .orb(&["machines", "request", "T", "2", "--format", "json"])
        .expect_code(0)
        .json();
    let id = requested["requestId"].as_str().unwrap();
    // The host's fallback finds the machines through the provider's status method (by
    // request, and by the ids the host knows) and terminates them.
    let cancelled = sandbox
        .orb(&["requests", "cancel", id, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(cancelled["status"], "complete_with_error", "{cancelled}");
    assert_eq!(cancelled["terminating"], 2, "{cancelled}");
    assert!(cancelled["returnRequestId"].is_string(), "{cancelled}");
}

#[test]
fn libraries_that_are_not_plugins_are_refused() {
    let sandbox = Sandbox::with_mock();
    sandbox.add_plugin(not_a_plugin(), "libnot_a_plugin.so");
    std::fs::write(sandbox.plugins_dir().join("libjunk.so"), "not a library").unwrap();
    std::fs::write(sandbox.plugins_dir().join("README.txt"), "ignored").unwrap();
    sandbox.write_config(&providers_config(vec![mock_instance("mock-a", json!({}))]));

    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(1).json();
    let refused: Vec<&str> = listed["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused
            .iter()
            .any(|e| e.contains("libjunk.so") && e.contains("refused before loading: not an ELF")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|e| e.contains("libnot_a_plugin.so") && e.contains("not an orb provider plugin")),
        "{refused:?}"
    );
    assert_eq!(listed["plugins"].as_array().unwrap().len(), 1);
    let health = sandbox.orb(&["providers", "health"]);
    assert_eq!(
        health_of(&health.expect_code(0).json(), "mock-a")["status"],
        "healthy"
    );
}

#[test]
fn two_libraries_claiming_one_type_keep_the_first() {
    let sandbox = Sandbox::with_mock();
    sandbox.add_plugin(&mock_plugin(), "libzz_second_mock.so");
    sandbox.write_config(&providers_config(vec![mock_instance("mock-a", json!({}))]));
    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(1).json();
    let refusal = listed["refused"][0]["error"].as_str().unwrap();
    assert!(refusal.contains("libzz_second_mock.so"), "{refusal}");
    assert!(
        refusal.contains("provider type 'mock' is already offered by"),
        "{refusal}"
    );
    assert!(refusal.contains("liborb_provider_mock.so"), "{refusal}");
    let health = sandbox.orb(&["providers", "health"]);
    assert_eq!(
        health_of(&health.expect_code(0).json(), "mock-a")["status"],
        "healthy"
    );
}

#[test]
fn a_missing_plugins_directory_is_a_clear_error() {
    let mut sandbox = Sandbox::new();
    sandbox.set_env("ORB_PLUGINS_DIR", "/nonexistent/orb-plugins");
    let listed = sandbox.orb(&["plugins", "list"]);
    let listed = listed.expect_code(1).json();
    let error = listed["refused"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("/nonexistent/orb-plugins does not exist"),
        "{error}"
    );
}

#[test]
fn a_panicking_provider_does_not_take_the_host_down() {
    let sandbox = Sandbox::with_mock();
    sandbox.write_config(&providers_config(vec![
        mock_instance("fragile", json!({"panic_in": ["health_check"]})),
        mock_instance("steady", json!({})),
    ]));
    let run = sandbox.orb(&["providers", "health"]);
    // A clean failure exit, not a crash: the other provider was still checked.
    let report = run.expect_code(1).json();
    let fragile = health_of(&report, "fragile");
    assert_eq!(fragile["status"], "unhealthy");
    let error = fragile["error"].as_str().unwrap();
    assert!(error.contains("panicked in health_check"), "{error}");
    assert!(error.contains("simulated panic"), "{error}");
    assert_eq!(health_of(&report, "steady")["status"], "healthy");
    assert!(!run.stderr.contains("RUST_BACKTRACE"), "{}", run.stderr);
}

#[test]
fn environment_overrides_win_over_the_file() {
    let sandbox = Sandbox::with_mock();
    let mut config = providers_config(vec![mock_instance(
        "mock-a",
        json!({"panic_in": ["health_check"], "latency_ms": 1}),
    )]);
    config["logging"] = json!({"level": "error"});
    sandbox.write_config(&config);

    // The file alone makes the provider panic.
    sandbox.orb(&["providers", "health"]).expect_code(1);

    let env = [
        ("ORB_MOCK_PANIC_IN", "[]"),
        ("ORB_LOGGING__LEVEL", "debug"),
        ("ORB_SERVER__PORT", "9100"),
    ];
    let health = sandbox.orb_env(&["providers", "health"], &env);
    assert_eq!(
        health_of(&health.expect_code(0).json(), "mock-a")["status"],
        "healthy"
    );

    let shown = sandbox.orb_env(&["config", "show"], &env);
    let shown = shown.expect_code(0).json();
    assert_eq!(shown["logging"]["level"], "debug");
    assert_eq!(shown["server"]["port"], 9100);
    assert_eq!(
        shown["provider"]["providers"][0]["config"],
        json!({"panic_in": [], "latency_ms": 1})
    );
}

#[test]
fn plugin_logs_reach_the_host_log_with_the_instance_name() {
    let sandbox = Sandbox::with_mock();
    sandbox.write_config(&providers_config(vec![mock_instance(
        "mock-logged",
        json!({}),
    )]));
    let logs = sandbox.path().join("logs");
    let run = sandbox.orb_env(
        &["providers", "health"],
        &[
            ("ORB_LOGGING__LEVEL", "debug"),
            ("ORB_LOG_DIR", logs.to_str().unwrap()),
        ],
    );
    // stdout stays one JSON document; the log goes to the file.
    run.expect_code(0).json();
    let log = std::fs::read_to_string(logs.join("orb.log")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("mock health checked"))
        .unwrap_or_else(|| panic!("the plugin's event is not in the log:\n{log}"));
    assert!(line.contains("provider=\"mock-logged\""), "{line}");
    assert!(line.contains("DEBUG"), "{line}");
}

#[test]
fn config_show_redacts_secrets() {
    let sandbox = Sandbox::with_mock();
    let mut config = providers_config(vec![json!({
        "name": "aws-1", "type": "aws",
        "config": {"region": "us-east-1", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}
    })]);
    config["server"] = json!({"auth": {"tokens": [{"token": "t0ps3cr3t", "role": "admin"}], "jwt": {"secret": "a-jwt-secret-of-at-least-32-bytes!!"}}});
    sandbox.write_config(&config);
    let run = sandbox.orb(&["config", "show", "--format", "yaml"]);
    run.expect_code(0);
    assert!(!run.stdout.contains("wJalrXUtnFEMI"), "{}", run.stdout);
    assert!(!run.stdout.contains("t0ps3cr3t"), "{}", run.stdout);
    assert!(!run.stdout.contains("a-jwt-secret"), "{}", run.stdout);
    assert!(run.stdout.contains("region: us-east-1"), "{}", run.stdout);
}

#[test]
fn bad_configuration_names_the_key_and_exits_nonzero() {
    let sandbox = Sandbox::with_mock();
    sandbox.write_config(
        &json!({"provider": {"providers": [{"name": "x", "type": "mock", "weight": "heavy"}]}}),
    );
    let run = sandbox.orb(&["config", "show"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("provider.providers[0].weight"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_library_built_against_a_newer_minor_version_is_served_for_what_the_host_knows() {
    let sandbox = Sandbox::new();
    sandbox.add_plugin(newer_plugin(), "liborb_provider_external.so");
    sandbox.write_config(&providers_config(vec![
        json!({"name": "vendor-1", "type": "external", "config": {"greeting": "hej"}}),
    ]));
    std::fs::write(
        sandbox.path().join("config/templates.json"),
        json!({"templates": [{"templateId": "T", "maxNumber": 5, "vmType": "v1", "imageId": "i"}]})
            .to_string(),
    )
    .unwrap();
    let listed = sandbox.orb(&["plugins", "list"]).expect_code(0).json();
    assert_eq!(
        listed["plugins"][0]["interfaceVersion"],
        newer_minor_version()
    );
    let health = sandbox.orb(&["providers", "health"]).expect_code(0).json();
    assert_eq!(health_of(&health, "vendor-1")["checks"][0]["detail"], "hej");
    let requested = sandbox
        .orb(&["machines", "request", "T", "2", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(requested["requestId"].is_string(), "{requested}");
}

#[test]
fn an_operation_added_after_a_provider_was_built_is_answered_by_those_that_offer_it() {
    let sandbox = Sandbox::with_mock();
    sandbox.write_config(&providers_config(vec![mock_instance("mock-a", json!({}))]));
    let found = sandbox
        .orb(&["providers", "infrastructure"])
        .expect_code(0)
        .json();
    assert_eq!(found["provider"], "mock-a");
    let subnets: Vec<&str> = found["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "subnet")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(subnets, ["mock-subnet-a", "mock-subnet-b"]);
}

/// Writes `bytes` into the plugins directory as `name`, with permission bits `mode`.
fn drop_library(sandbox: &Sandbox, name: &str, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let path = sandbox.plugins_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn damaged_foreign_writable_and_unpinned_libraries_are_refused_before_loading() {
    let sandbox = Sandbox::new();
    let good = std::fs::read(mock_plugin()).unwrap();
    drop_library(&sandbox, "liborb_provider_mock.so", &good, 0o755);
    drop_library(&sandbox, "libtruncated.so", &good[..good.len() / 2], 0o755);
    drop_library(&sandbox, "libempty.so", &[], 0o755);
    let mut other_machine = good.clone();
    let foreign: u16 = if cfg!(target_arch = "aarch64") {
        62
    } else {
        183
    };
    other_machine[18..20].copy_from_slice(&foreign.to_le_bytes());
    drop_library(&sandbox, "libforeign.so", &other_machine, 0o755);
    drop_library(&sandbox, "libopen.so", &good, 0o666);
    drop_library(&sandbox, "libpinned.so", &good, 0o755);
    let mut config = providers_config(vec![mock_instance("mock-a", json!({}))]);
    let good_hash = {
        let out = std::process::Command::new("sha256sum")
            .arg(sandbox.plugins_dir().join("liborb_provider_mock.so"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_owned()
    };
    config["plugins"] = json!({"checksums": {
        "liborb_provider_mock.so": good_hash,
        "libpinned.so": "0".repeat(64),
    }});
    sandbox.write_config(&config);

    let verified = sandbox.orb(&["plugins", "verify"]);
    let verified = verified.expect_code(1).json();
    let libraries = verified["libraries"].as_array().unwrap();
    let refusal = |file: &str| -> String {
        let entry = libraries
            .iter()
            .find(|l| l["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} missing from {verified}"));
        assert_eq!(entry["loads"], false, "{entry}");
        entry["refused"].as_str().unwrap().to_owned()
    };
    for (file, reason) in [
        ("libtruncated.so", "truncated"),
        ("libempty.so", "the file is empty"),
        ("libforeign.so", "built for another machine"),
        ("libopen.so", "writable by group or others"),
        ("libpinned.so", "plugins.checksums pins 0000"),
    ] {
        let refused = refusal(file);
        assert!(refused.contains("refused before loading"), "{refused}");
        assert!(refused.contains(reason), "{file}: {refused}");
    }
    let good_entry = libraries
        .iter()
        .find(|l| l["loads"] == true)
        .expect("the good library loads");
    assert_eq!(good_entry["sha256"], good_hash);
    assert_eq!(libraries.len(), 6, "{verified}");

    // Every call still works on the good library, each refusal reported once.
    let health = sandbox.orb(&["providers", "health"]).expect_code(0).json();
    assert_eq!(health_of(&health, "mock-a")["status"], "healthy");
    let listed = sandbox.orb(&["plugins", "list"]).expect_code(1).json();
    assert_eq!(listed["refused"].as_array().unwrap().len(), 5, "{listed}");

    // allow_insecure admits the writable library, which sorts first and so takes the type.
    config["plugins"] = json!({"allow_insecure": true});
    sandbox.write_config(&config);
    let listed = sandbox.orb(&["plugins", "list"]).json();
    let errors = listed["refused"].to_string();
    assert!(!errors.contains("writable"), "{errors}");
    assert!(
        errors.contains("liborb_provider_mock.so: provider type 'mock' is already offered by")
            && errors.contains("libopen.so;"),
        "{errors}"
    );
}

#[test]
fn a_crate_from_orb_plugins_new_builds_out_of_tree_keeps_the_contract_and_loads() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("acme-cloud");
    let created = sandbox
        .orb(&[
            "plugins",
            "new",
            "acme-cloud",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .expect_code(0)
        .json();
    assert_eq!(created["providerType"], "acme-cloud");
    let again = sandbox.orb(&[
        "plugins",
        "new",
        "acme-cloud",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        again.expect_code(1).stderr.contains("already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(
        sandbox.orb(&["plugins", "new", "Not A Name"]).code,
        1,
        "a name that cannot be a crate is refused"
    );
    let lines = std::fs::read_to_string(dir.join("src/lib.rs"))
        .unwrap()
        .lines()
        .count();
    assert!(lines <= 65, "the generated provider has {lines} lines");

    // `cargo test` runs the contract kit against it; then the library loads into orb.
    let library = build_vendor_crate(&dir, "libacme_cloud.so");
    sandbox.add_plugin(&library, "libacme_cloud.so");
    sandbox.write_config(&providers_config(vec![
        json!({"name": "acme-1", "type": "acme-cloud"}),
    ]));
    let listed = sandbox.orb(&["plugins", "list"]).expect_code(0).json();
    assert_eq!(listed["plugins"][0]["name"], "acme-cloud");
    assert_eq!(
        listed["plugins"][0]["interfaceVersion"],
        interface_version()
    );
    let health = sandbox.orb(&["providers", "health"]).expect_code(0).json();
    assert_eq!(health_of(&health, "acme-1")["status"], "healthy");
}

#[test]
fn the_interface_crate_packages_for_publishing_on_its_own() {
    let target = crate::support::profile_dir()
        .parent()
        .unwrap()
        .join("fixtures/package");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "package",
            "-p",
            "orb-plugin-api",
            "--allow-dirty",
            "--no-verify",
            "--quiet",
        ])
        .current_dir(crate::support::repo_root())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = target.join(format!(
        "package/orb-plugin-api-{}.crate",
        interface_version()
    ));
    let listed = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let files = String::from_utf8(listed.stdout).unwrap();
    for file in [
        "README.md",
        "CHANGELOG.md",
        "examples/minimal_provider.rs",
        "src/contract.rs",
        "tests/wire/provision_machines.json",
    ] {
        assert!(
            files.contains(&format!("/{file}\n")),
            "{file} is not packaged: {files}"
        );
    }
}

#[test]
fn a_call_loads_only_the_library_serving_its_instance_and_looks_again_at_changed_files() {
    let sandbox = Sandbox::with_mock();
    sandbox.add_plugin(external_plugin(), "liborb_provider_external.so");
    sandbox.write_config(&providers_config(vec![mock_instance("mock-a", json!({}))]));
    let logs = sandbox.path().join("logs");
    // The libraries one `providers health` call loads, from its debug log.
    let loaded_by_a_call = || -> Vec<String> {
        let _ = std::fs::remove_file(logs.join("orb.log"));
        sandbox
            .orb_env(
                &["providers", "health"],
                &[
                    ("ORB_LOGGING__LEVEL", "debug"),
                    ("ORB_LOG_DIR", logs.to_str().unwrap()),
                ],
            )
            .expect_code(0);
        let log = std::fs::read_to_string(logs.join("orb.log")).unwrap();
        let mut loaded: Vec<String> = log
            .lines()
            .filter(|l| l.contains("plugin library loaded"))
            .map(|l| {
                let file = l.rsplit('/').next().unwrap();
                file.trim_end_matches('"').to_owned()
            })
            .collect();
        loaded.sort();
        loaded
    };
    // The first call looks at every file; later ones load only what they use.
    assert_eq!(
        loaded_by_a_call(),
        ["liborb_provider_external.so", "liborb_provider_mock.so"]
    );
    assert_eq!(loaded_by_a_call(), ["liborb_provider_mock.so"]);
    assert_eq!(loaded_by_a_call(), ["liborb_provider_mock.so"]);
    // A changed file is looked at again, once.
    let external = sandbox.plugins_dir().join("liborb_provider_external.so");
    std::fs::remove_file(&external).unwrap();
    sandbox.add_plugin(external_plugin(), "liborb_provider_external.so");
    assert_eq!(
        loaded_by_a_call(),
        ["liborb_provider_external.so", "liborb_provider_mock.so"]
    );
    assert_eq!(loaded_by_a_call(), ["liborb_provider_mock.so"]);
    // A refused file stays refused, with its reason, without being opened again.
    std::fs::remove_file(&external).unwrap();
    std::fs::write(&external, b"not a library").unwrap();
    sandbox.write_config(&providers_config(vec![
        mock_instance("mock-a", json!({})),
        json!({"name": "vendor-1", "type": "external"}),
    ]));
    for _ in 0..2 {
        let health = sandbox.orb(&["providers", "health"]).expect_code(1).json();
        let error = health_of(&health, "vendor-1")["error"].to_string();
        assert!(
            error.contains("refused before loading: not an ELF"),
            "{error}"
        );
    }
}
