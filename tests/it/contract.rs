//! The contract test kit of `orb-plugin-api` against the real libraries: the mock, the
//! separately built fixture (against today's interface and against the frozen 1.0.0 release),
//! and the AWS plugin on moto, each loaded as the host loads it.

use std::path::Path;

use orb_plugin_api::contract::{check, Subject};
use orb_plugin_api::ffi::{LogRecord, LogSink};
use orb_plugin_api::{host, Template};
use serde_json::{json, Value};

use crate::support::{aws_plugin, external_plugin, frozen_plugin, mock_plugin, Moto};

extern "C" fn discard(_: &LogRecord<'_>) {}

/// Loads `library`, builds a provider of `provider_type` from `config`, and runs every check
/// with `template`; fails with the violations.
fn keeps_the_contract(
    library: &Path,
    provider_type: &str,
    config: Value,
    template: Value,
    unknown_machine_id: &str,
) {
    let work = tempfile::tempdir().unwrap();
    let loaded = host::load(library, LogSink(discard), 1).expect("the library loads");
    let provider = loaded
        .new_provider(provider_type, "contract", &config.to_string(), work.path())
        .expect("the provider builds");
    let template: Template = serde_json::from_value(template).unwrap();
    let mut subject = Subject::new(&provider, template);
    subject.unknown_machine_id = unknown_machine_id.to_owned();
    let violations = check(&subject);
    assert!(
        violations.is_empty(),
        "{} breaks the contract: {violations:#?}",
        library.display()
    );
}

#[test]
fn the_mock_keeps_the_contract() {
    keeps_the_contract(
        &mock_plugin(),
        "mock",
        json!({}),
        json!({"templateId": "T", "vmType": "m5.large", "imageId": "img"}),
        "mock-unknown",
    );
}

#[test]
fn the_separately_built_fixture_keeps_the_contract_on_both_interface_releases() {
    for library in [external_plugin(), frozen_plugin()] {
        keeps_the_contract(
            library,
            "external",
            json!({}),
            json!({"templateId": "T"}),
            "none-0",
        );
    }
}

#[test]
fn the_aws_plugin_keeps_the_contract_on_moto() {
    let moto = Moto::start();
    let s = &moto.seed;
    keeps_the_contract(
        &aws_plugin(),
        "aws",
        moto.provider_config(),
        json!({
            "templateId": "Contract", "providerApi": "RunInstances", "vmType": "t3.medium",
            "imageId": s["image"], "subnetIds": s["subnets"]
        }),
        "i-0123456789abcdef0",
    );
}
