//! The Python ORB's two dialects of its answers, chosen by `scheduler.type`: Host Factory's
//! camelCase (`hostfactory`, the default, and always what the Host Factory calls answer) and
//! its `default` scheduler's snake_case, for the CLI and the REST API (where a request may
//! choose with the `X-ORB-Scheduler` header).
//!
//! orb's views are written once, in camelCase; the `default` dialect renames their keys. The
//! keys under which the operator's own names sit (tags, attributes) keep those names.

use serde_json::{Map, Value};

/// The header a REST call names its dialect with, as the Python ORB reads it.
pub const HEADER: &str = "x-orb-scheduler";

/// Keys whose values are the operator's own names, not orb's: left as they are.
const OPERATORS_NAMES: &[&str] = &["instanceTags", "tags", "attributes", "labels"];

/// A dialect of orb's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Host Factory's camelCase.
    HostFactory,
    /// The Python ORB's `default` scheduler: snake_case.
    Default,
}

impl Dialect {
    /// The dialect `name` names (`hostfactory`, or the Python ORB's `hf`, or `default`, any
    /// case).
    pub fn parse(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "hostfactory" | "hf" => Some(Dialect::HostFactory),
            "default" => Some(Dialect::Default),
            _ => None,
        }
    }

    /// `value` (an answer in Host Factory's dialect) in this dialect.
    pub fn apply(self, value: &mut Value) {
        if self == Dialect::Default {
            orb_content(value);
            snake_keys(value);
        }
    }
}

/// The Python ORB's `default` scheduler prints its own names of what a template and a
/// request hold, beside Host Factory's: each template's `max_instances`, `max_capacity`,
/// `machine_types` and `instance_type`; each request's `machine_ids`, `requested_count`,
/// `successful_count` and `failed_count`. Added in camelCase, before the keys are renamed.
fn orb_content(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("templateId") && map.contains_key("maxNumber") {
                template_content(map);
            }
            if map.contains_key("requestId") && map.get("machines").is_some_and(Value::is_array) {
                request_content(map);
            }
            for (key, v) in map.iter_mut() {
                if !OPERATORS_NAMES.contains(&key.as_str()) {
                    orb_content(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(orb_content),
        _ => {}
    }
}

fn template_content(map: &mut Map<String, Value>) {
    let max = map["maxNumber"].clone();
    map.entry("maxInstances").or_insert_with(|| max.clone());
    map.entry("maxCapacity").or_insert(max);
    let types = match (map.get("vmTypes"), map.get("vmType")) {
        (Some(Value::Object(types)), _) => Some(types.clone()),
        (_, Some(Value::String(one))) => Some(Map::from_iter([(one.clone(), Value::from(1))])),
        _ => None,
    };
    if let Some(types) = types {
        if let Some(first) = types.keys().next() {
            map.entry("instanceType")
                .or_insert_with(|| Value::String(first.clone()));
        }
        map.entry("machineTypes").or_insert(Value::Object(types));
    }
}

fn request_content(map: &mut Map<String, Value>) {
    let machines = map["machines"].as_array().cloned().unwrap_or_default();
    let with = |result: &str| machines.iter().filter(|m| m["result"] == result).count();
    let ids: Vec<Value> = machines
        .iter()
        .filter_map(|m| m.get("machineId").cloned())
        .collect();
    let (succeeded, failed) = (with("succeed"), with("fail"));
    map.entry("machineIds").or_insert(Value::Array(ids));
    map.entry("successfulCount").or_insert(succeeded.into());
    map.entry("failedCount").or_insert(failed.into());
    if let Some(target) = map.get("target_units").cloned() {
        map.entry("requestedCount").or_insert(target);
    }
}

fn snake_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let renamed: Map<String, Value> = std::mem::take(map)
                .into_iter()
                .map(|(key, mut v)| {
                    if !OPERATORS_NAMES.contains(&key.as_str()) {
                        snake_keys(&mut v);
                    }
                    (snake(&key), v)
                })
                .collect();
            *map = renamed;
        }
        Value::Array(items) => items.iter_mut().for_each(snake_keys),
        _ => {}
    }
}

/// `key` in snake_case: `privateIpAddress` is `private_ip_address`.
fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let chars: Vec<char> = key.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let after_lower = i > 0 && !chars[i - 1].is_ascii_uppercase() && chars[i - 1] != '_';
            let before_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let in_run = i > 0 && chars[i - 1].is_ascii_uppercase();
            if after_lower || (in_run && before_lower) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_become_snake_case_and_the_operators_names_stay() {
        for (camel, snake_case) in [
            ("requestId", "request_id"),
            ("privateIpAddress", "private_ip_address"),
            ("resource_ids", "resource_ids"),
            ("launchtime", "launchtime"),
            ("vmTypesOnDemand", "vm_types_on_demand"),
            ("abisInstanceRequirements", "abis_instance_requirements"),
            ("cloudHostID", "cloud_host_id"),
        ] {
            assert_eq!(snake(camel), snake_case);
        }
        let mut answer = json!({"requests": [{"requestId": "r", "machines": [{"machineId": "m"}],
            "attributes": {"nCpus": ["Numeric", "1"]}, "instanceTags": {"CostCentre": "x"}}]});
        Dialect::Default.apply(&mut answer);
        assert_eq!(
            answer,
            json!({"requests": [{"request_id": "r", "machines": [{"machine_id": "m"}],
                "attributes": {"nCpus": ["Numeric", "1"]}, "instance_tags": {"CostCentre": "x"},
                "machine_ids": ["m"], "successful_count": 0, "failed_count": 0}]})
        );
        let mut same = json!({"requestId": "r"});
        Dialect::HostFactory.apply(&mut same);
        assert_eq!(same, json!({"requestId": "r"}));
    }

    #[test]
    fn the_default_dialect_carries_the_python_orbs_content() {
        let mut answer = json!({"templates": [{"templateId": "t", "maxNumber": 4,
            "vmTypes": {"t3.medium": 2, "t3.xlarge": 4}, "imageId": "ami-1"}]});
        Dialect::Default.apply(&mut answer);
        let t = &answer["templates"][0];
        assert_eq!(t["template_id"], "t");
        assert_eq!(t["max_instances"], 4);
        assert_eq!(t["max_capacity"], 4);
        assert_eq!(t["machine_types"], json!({"t3.medium": 2, "t3.xlarge": 4}));
        assert_eq!(t["instance_type"], "t3.medium");
        assert_eq!(t["image_id"], "ami-1");
        let mut answer = json!({"requests": [{"requestId": "r", "status": "complete",
            "target_units": 3, "machines": [{"machineId": "a", "result": "succeed"},
            {"machineId": "b", "result": "fail"}, {"machineId": "c", "result": "succeed"}]}]});
        Dialect::Default.apply(&mut answer);
        let r = &answer["requests"][0];
        assert_eq!(r["machine_ids"], json!(["a", "b", "c"]));
        assert_eq!(
            (
                r["requested_count"].clone(),
                r["successful_count"].clone(),
                r["failed_count"].clone()
            ),
            (json!(3), json!(2), json!(1))
        );
        // Host Factory's dialect is left as it is.
        let mut same = json!({"templateId": "t", "maxNumber": 4, "vmType": "m5.large"});
        Dialect::HostFactory.apply(&mut same);
        assert_eq!(
            same,
            json!({"templateId": "t", "maxNumber": 4, "vmType": "m5.large"})
        );
    }

    #[test]
    fn the_python_orbs_names_are_read() {
        assert_eq!(Dialect::parse("HF"), Some(Dialect::HostFactory));
        assert_eq!(Dialect::parse("hostfactory"), Some(Dialect::HostFactory));
        assert_eq!(Dialect::parse("Default"), Some(Dialect::Default));
        assert_eq!(Dialect::parse("symphony"), None);
    }
}
