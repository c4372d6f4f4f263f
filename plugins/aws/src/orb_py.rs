//! The Python ORB's AWS settings (orb-py 1.8.5's `AWSProviderConfig`), so that an ORB provider
//! configuration loads unchanged. Before the strict parse of [`crate::config::AwsConfig`], the
//! keys orb has a feature for are moved onto orb's own, and the others are taken out and noted
//! as accepted without effect. A key neither defines stays an error.

use orb_plugin_api::ConfigNote;
use serde_json::{Map, Value};

use crate::template::Api;

/// Top-level keys of ORB's that orb accepts without acting on them, and why.
const IGNORED: &[(&str, &str)] = &[
    (
        "provider_type",
        "the instance's `type` names the provider type",
    ),
    (
        "service_role_spot_fleet",
        "Spot Fleet requests name their role by `fleet_role` or the template's `fleetRole`",
    ),
    (
        "tagging",
        "orb tags every resource in the call that creates it, so a tag that fails fails that call",
    ),
    ("batch_sizes", "orb sizes each batch to the API's own limit"),
    ("naming", "orb checks resource ids by AWS's own prefixes"),
    (
        "storage",
        "orb keeps its state in the store named by `storage`",
    ),
    (
        "credential_file",
        "use `profile`, or AWS_SHARED_CREDENTIALS_FILE for another credentials file",
    ),
    ("key_file", "orb does not read key pair files"),
    ("proxy_host", "set HTTPS_PROXY for the process instead"),
    ("proxy_port", "set HTTPS_PROXY for the process instead"),
    (
        "instance_pending_timeout_sec",
        "a request's deadline is `request.default_timeout`",
    ),
    (
        "describe_request_retry_attempts",
        "status reads are retried like every call, by `max_retries`",
    ),
    (
        "describe_request_interval",
        "status reads are retried like every call, by `max_retries`",
    ),
    // Documented by the Python ORB as environment variables (`ORB_AWS_RETRY_MODE`...).
    (
        "retry_mode",
        "orb retries with exponential backoff and jitter, and paces calls itself (`pacing`)",
    ),
    (
        "sts_endpoint_url",
        "set AWS_ENDPOINT_URL_STS, or `endpoint_url` for every service",
    ),
    (
        "subnet_ids",
        "name subnets in the templates (`subnetIds`) or their defaults",
    ),
    (
        "security_group_ids",
        "name security groups in the templates (`securityGroupIds`) or their defaults",
    ),
    (
        "key_name",
        "name the key pair in the templates (`keyName`) or their defaults",
    ),
    (
        "instance_type",
        "name the type in the templates (`vmType`) or their defaults",
    ),
    (
        "image_id",
        "name the image in the templates (`imageId`) or their defaults",
    ),
];

/// ORB's names of orb's keys, moved when orb's own is not set.
const RENAMED: &[(&str, &str)] = &[
    ("aws_connect_timeout", "connect_timeout_secs"),
    ("connect_timeout", "connect_timeout_secs"),
    ("read_timeout", "operation_timeout_secs"),
];

/// Keys of ORB's `launch_template` section that orb accepts without acting on them.
const LAUNCH_TEMPLATE_IGNORED: &[&str] = &[
    "naming_strategy",
    "version_strategy",
    "reuse_existing",
    "cleanup_old_versions",
    "max_versions_per_template",
    "on_update_failure",
    "do_not_override",
];

/// The handlers of ORB's `handlers.capabilities`, by the names orb's `handlers` uses too.
const HANDLERS: &[&str] = &["ec2_fleet", "spot_fleet", "asg", "run_instances"];

/// Rewrites ORB's keys in an instance's `config` into orb's, in place; the notes name what was
/// accepted without effect. Values of the wrong type are left for the strict parse to refuse.
pub fn translate(config: &mut Value) -> Result<Vec<ConfigNote>, String> {
    let mut notes = Vec::new();
    let Some(object) = config.as_object_mut() else {
        return Ok(notes);
    };
    for (key, reason) in IGNORED {
        if object.remove(*key).is_some() {
            notes.push(note(key, reason));
        }
    }
    retries(object);
    renamed(object);
    if let Some(Value::Object(template)) = object.get_mut("launch_template") {
        for key in LAUNCH_TEMPLATE_IGNORED {
            if template.remove(*key).is_some() {
                notes.push(note(
                    &format!("launch_template.{key}"),
                    "orb makes one launch template per request (or per template with \
                     `create_per_request: false`) and deletes it with the request",
                ));
            }
        }
    }
    if let Some(Value::Object(handlers)) = object.get_mut("handlers") {
        capabilities(handlers);
        default_handler(handlers)?;
    }
    Ok(notes)
}

fn note(key: &str, reason: &str) -> ConfigNote {
    ConfigNote {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// ORB's `request_retry_attempts` (retries after the first attempt) is orb's `max_retries`,
/// unless that, or its ORB name `aws_max_retries`, is set too.
fn retries(object: &mut Map<String, Value>) {
    if let Some(attempts) = object.remove("request_retry_attempts") {
        if !object.contains_key("max_retries") && !object.contains_key("aws_max_retries") {
            object.insert("max_retries".into(), attempts);
        }
    }
}

/// ORB's `aws_connect_timeout` and `connect_timeout` (seconds) are orb's
/// `connect_timeout_secs`, its `read_timeout` orb's `operation_timeout_secs`; its older
/// `aws_connection_timeout` and `connection_timeout_ms` are milliseconds, as in ORB.
fn renamed(object: &mut Map<String, Value>) {
    for (theirs, ours) in RENAMED {
        if let Some(value) = object.remove(*theirs) {
            object.entry(*ours).or_insert(value);
        }
    }
    let millis = ["aws_connection_timeout", "connection_timeout_ms"]
        .iter()
        .filter_map(|key| object.remove(*key))
        .next();
    let value = match millis {
        Some(Value::Number(ms)) => match ms.as_f64() {
            Some(ms) if ms >= 0.0 => Value::from((ms / 1000.0).ceil() as u64),
            _ => Value::Number(ms),
        },
        Some(other) => other,
        None => return,
    };
    object.entry("connect_timeout_secs").or_insert(value);
}

/// ORB's `handlers.capabilities.<handler>: bool` enables or disables a handler whose own entry
/// (`handlers.<handler>`, which wins, as in ORB) is not given.
fn capabilities(handlers: &mut Map<String, Value>) {
    let Some(Value::Object(capabilities)) = handlers.remove("capabilities") else {
        return;
    };
    for (name, enabled) in capabilities {
        if HANDLERS.contains(&name.as_str()) {
            handlers.entry(name).or_insert(enabled);
        } else {
            // Not a handler of ORB's either: left for the strict parse to name.
            handlers.insert(format!("capabilities.{name}"), enabled);
        }
    }
}

/// ORB's `handlers.defaults.default_handler` (`EC2Fleet`, `SpotFleet`, `ASG`, `RunInstances`)
/// is the handler preferred when a template names no `providerApi`: first in orb's
/// `preferred_order`.
fn default_handler(handlers: &mut Map<String, Value>) -> Result<(), String> {
    let Some(Value::Object(mut defaults)) = handlers.remove("defaults") else {
        return Ok(());
    };
    if let Some(Value::String(handler)) = defaults.remove("default_handler") {
        if Api::parse(&handler).is_none() {
            return Err(format!(
                "handlers.defaults.default_handler '{handler}' is not one of EC2Fleet, SpotFleet, ASG, RunInstances"
            ));
        }
        let order = handlers
            .entry("preferred_order")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(order) = order {
            order.retain(|h| h.as_str() != Some(handler.as_str()));
            order.insert(0, Value::String(handler));
        }
    }
    for (key, value) in defaults {
        handlers.insert(format!("defaults.{key}"), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AwsConfig;
    use serde_json::json;

    fn load(mut config: Value) -> (Result<AwsConfig, String>, Vec<String>) {
        match translate(&mut config) {
            Ok(notes) => (
                serde_json::from_value(config).map_err(|e| e.to_string()),
                notes.into_iter().map(|n| n.key).collect(),
            ),
            Err(e) => (Err(e), Vec::new()),
        }
    }

    /// Every field of ORB 1.8.5's `AWSProviderConfig`, as ORB's own defaults write them.
    #[test]
    fn every_field_orb_defines_loads() {
        let (config, notes) = load(json!({
            "provider_type": "aws",
            "profile": "default",
            "role_arn": null,
            "access_key_id": null,
            "secret_access_key": null,
            "session_token": null,
            "region": "us-east-1",
            "endpoint_url": null,
            "aws_max_retries": 3,
            "aws_read_timeout": 30,
            "service_role_spot_fleet": "AWSServiceRoleForEC2SpotFleet",
            "handlers": {
                "capabilities": {"ec2_fleet": true, "spot_fleet": true, "asg": false, "run_instances": true},
                "defaults": {"default_handler": "RunInstances"},
                "ec2_fleet": true
            },
            "launch_template": {
                "create_per_request": true,
                "naming_strategy": "request_based",
                "version_strategy": "incremental",
                "reuse_existing": true,
                "cleanup_old_versions": false,
                "max_versions_per_template": 10,
                "on_update_failure": "fail",
                "do_not_override": false
            },
            "tagging": {"on_tag_failure": "warn"},
            "batch_sizes": {"terminate_instances": 25, "describe_instances": 25},
            "naming": {"patterns": {}},
            "storage": {"dynamodb": {"table_prefix": "hostfactory"}},
            "credential_file": null,
            "key_file": null,
            "proxy_host": null,
            "proxy_port": null,
            "aws_connect_timeout": 10,
            "request_retry_attempts": 0,
            "instance_pending_timeout_sec": 180,
            "describe_request_retry_attempts": 0,
            "describe_request_interval": 0
        }));
        let config = config.expect("ORB's configuration loads");
        // Mapped: retries (aws_max_retries wins over request_retry_attempts), the connect
        // timeout, the handler switches and the default handler.
        assert_eq!(config.max_retries(), 3);
        assert_eq!(config.connect_timeout_secs, Some(10));
        assert!(!config.handlers.asg.enabled());
        assert!(config.handlers.ec2_fleet.enabled());
        assert_eq!(config.handlers.preferred_order, ["RunInstances"]);
        for key in [
            "batch_sizes",
            "tagging",
            "naming",
            "storage",
            "service_role_spot_fleet",
            "launch_template.on_update_failure",
            "instance_pending_timeout_sec",
        ] {
            assert!(notes.iter().any(|n| n == key), "{key} is noted: {notes:?}");
        }
        assert!(
            !notes.iter().any(|n| n == "aws_connect_timeout"),
            "mapped, not ignored"
        );
    }

    #[test]
    fn orbs_retry_attempts_and_millisecond_timeouts_map_onto_orbs_keys() {
        let (config, notes) =
            load(json!({"request_retry_attempts": 5, "connection_timeout_ms": 2500}));
        let config = config.unwrap();
        assert_eq!(config.max_retries(), 5);
        assert_eq!(config.connect_timeout_secs, Some(3));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_handlers_own_entry_wins_over_its_capability() {
        let (config, _) = load(json!({"handlers": {
            "capabilities": {"spot_fleet": false}, "spot_fleet": true,
            "defaults": {"default_handler": "ASG"}, "preferred_order": ["EC2Fleet", "ASG"]
        }}));
        let config = config.unwrap();
        assert!(config.handlers.spot_fleet.enabled());
        assert_eq!(config.handlers.preferred_order, ["ASG", "EC2Fleet"]);
    }

    #[test]
    fn keys_neither_defines_stay_errors() {
        for bad in [
            json!({"regoin": "us-east-1"}),
            json!({"handlers": {"capabilities": {"lambda": true}}}),
            json!({"handlers": {"defaults": {"default_hander": "ASG"}}}),
            json!({"handlers": {"defaults": {"default_handler": "Lambda"}}}),
            json!({"handlers": {"ec2_flet": true}}),
        ] {
            let (config, _) = load(bad.clone());
            assert!(config.is_err(), "{bad} is refused");
        }
    }
}
