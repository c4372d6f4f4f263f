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
            snake_keys(value);
        }
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
                "attributes": {"nCpus": ["Numeric", "1"]}, "instance_tags": {"CostCentre": "x"}}]})
        );
        let mut same = json!({"requestId": "r"});
        Dialect::HostFactory.apply(&mut same);
        assert_eq!(same, json!({"requestId": "r"}));
    }

    #[test]
    fn the_python_orbs_names_are_read() {
        assert_eq!(Dialect::parse("HF"), Some(Dialect::HostFactory));
        assert_eq!(Dialect::parse("hostfactory"), Some(Dialect::HostFactory));
        assert_eq!(Dialect::parse("Default"), Some(Dialect::Default));
        assert_eq!(Dialect::parse("symphony"), None);
    }
}
