//! The process environment, captured once, and the per-provider-type overrides read from it.
//!
//! Capturing the environment in a value (instead of reading `std::env` everywhere) keeps every
//! decision that depends on it testable.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process's environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment holding exactly `vars`.
    #[cfg(test)]
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`, when set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every variable.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The environment-variable prefix of a provider type: `aws` → `ORB_AWS_`.
pub fn provider_type_prefix(provider_type: &str) -> String {
    format!("ORB_{}_", provider_type.to_uppercase().replace('-', "_"))
}

/// The overrides `ORB_<TYPE>_*` variables make to the `config` of every instance of
/// `provider_type`: `ORB_AWS_HANDLERS__EC2_FLEET=true` → `{"handlers": {"ec2_fleet": true}}`.
/// Values that parse as JSON are taken as JSON (numbers, booleans, objects), the rest as
/// strings.
pub fn provider_overrides(env: &Env, provider_type: &str) -> Map<String, Value> {
    let prefix = provider_type_prefix(provider_type);
    let mut patch = Map::new();
    for (name, raw) in env.iter() {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let path: Vec<String> = rest
            .split("__")
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty())
            .collect();
        if path.is_empty() {
            continue;
        }
        insert_path(&mut patch, &path, env_value(raw));
    }
    patch
}

/// A variable's value: JSON where it parses as JSON (numbers, objects), a boolean where it is
/// one of the Python ORB's boolean words in any case (`True`, `yes`, `NO`), else text.
fn env_value(raw: &str) -> Value {
    match super::flag::word_value(raw) {
        Some(on) => Value::Bool(on),
        None => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned())),
    }
}

fn insert_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("path is not empty");
    let mut node = map;
    for key in parents {
        let entry = node
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = entry.as_object_mut().expect("just made an object");
    }
    // A JSON object given for a key merges with the nested keys set beside it.
    match (node.get_mut(last), value) {
        (Some(existing), value) => merge(existing, value),
        (None, value) => {
            node.insert(last.clone(), value);
        }
    }
}

/// Deep-merges `patch` into `base`: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_and_json_values_become_a_patch() {
        let env = Env::from_pairs([
            ("ORB_AWS_REGION", "eu-west-1"),
            ("ORB_AWS_HANDLERS__EC2_FLEET", "Yes"),
            ("ORB_AWS_HANDLERS__SPOT_FLEET", "FALSE"),
            ("ORB_AWS_LAUNCH_TEMPLATE", r#"{"reuse_existing": true}"#),
            ("ORB_AWS_MAX_RETRIES", "5"),
            ("ORB_MOCK_PENDING_SECONDS", "2"),
            ("ORB_LOGGING__LEVEL", "debug"),
        ]);
        assert_eq!(
            Value::Object(provider_overrides(&env, "aws")),
            json!({
                "region": "eu-west-1",
                "handlers": {"ec2_fleet": true, "spot_fleet": false},
                "launch_template": {"reuse_existing": true},
                "max_retries": 5
            })
        );
        assert_eq!(
            Value::Object(provider_overrides(&env, "mock")),
            json!({"pending_seconds": 2})
        );
    }

    #[test]
    fn merge_is_deep_and_arrays_replace() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        merge(&mut base, json!({"a": {"c": [3], "e": 2}}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3], "e": 2}, "d": 1}));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("X", "")]);
        assert_eq!(env.get("X"), None);
    }
}
