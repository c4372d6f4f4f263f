//! The `attributes` Host Factory schedules with: `type`, `ncpus`, `ncores`, `nram`, as
//! `["Type", "value"]` string pairs.
//!
//! A template's own attributes are reported as written (plain values are turned into typed
//! pairs). Missing ones are derived from the real vCPUs and memory of the template's instance
//! type, as its provider describes it.

use std::collections::HashMap;

use orb_plugin_api::{InstanceTypeInfo, Template};
use serde_json::{json, Map, Value};

/// The instance type a template's attributes describe: `vmType`, else the first of `vmTypes`.
pub fn instance_type_of(template: &Template) -> Option<String> {
    template.str_field("vmType").map(str::to_owned).or_else(|| {
        template
            .fields
            .get("vmTypes")
            .and_then(Value::as_object)
            .and_then(|types| types.keys().next().cloned())
    })
}

/// A value as Host Factory's typed pair.
fn typed(value: &Value) -> Value {
    match value {
        Value::Array(pair) if pair.len() == 2 && pair.iter().all(Value::is_string) => value.clone(),
        Value::Number(n) => json!(["Numeric", n.to_string()]),
        Value::Bool(b) => json!(["Boolean", if *b { "1" } else { "0" }]),
        Value::String(s) => json!(["String", s]),
        other => json!(["String", other.to_string()]),
    }
}

/// The attributes to report for `template`, given what its provider knows of instance types.
/// Returns them and, when something had to be guessed, a warning.
pub fn hf_attributes(
    template: &Template,
    types: &HashMap<String, InstanceTypeInfo>,
) -> (Value, Option<String>) {
    let mut attrs: Map<String, Value> = template
        .fields
        .get("attributes")
        .and_then(Value::as_object)
        .map(|own| own.iter().map(|(k, v)| (k.clone(), typed(v))).collect())
        .unwrap_or_default();
    let needs = ["type", "ncpus", "ncores", "nram"]
        .iter()
        .any(|k| !attrs.contains_key(*k));
    if !needs {
        return (Value::Object(attrs), None);
    }
    let info = instance_type_of(template).and_then(|t| types.get(&t));
    let mut warning = None;
    let (arch, vcpus, cores, memory) = match info {
        Some(info) => (
            match info.architecture.as_deref() {
                Some("arm64") => "ARM64",
                _ => "X86_64",
            },
            info.vcpus,
            info.cores.unwrap_or(info.vcpus),
            info.memory_mib,
        ),
        None => {
            warning = Some(format!(
                "template '{}': the provider does not know instance type {:?}; reporting 1 CPU and 1024 MiB unless the template sets attributes",
                template.template_id,
                instance_type_of(template)
            ));
            ("X86_64", 1, 1, 1024)
        }
    };
    attrs
        .entry("type")
        .or_insert_with(|| json!(["String", arch]));
    attrs
        .entry("ncpus")
        .or_insert_with(|| json!(["Numeric", vcpus.to_string()]));
    attrs
        .entry("ncores")
        .or_insert_with(|| json!(["Numeric", cores.to_string()]));
    attrs
        .entry("nram")
        .or_insert_with(|| json!(["Numeric", memory.to_string()]));
    (Value::Object(attrs), warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(value: Value) -> Template {
        serde_json::from_value(value).unwrap()
    }

    fn types() -> HashMap<String, InstanceTypeInfo> {
        HashMap::from([(
            "m5.xlarge".to_owned(),
            InstanceTypeInfo {
                name: "m5.xlarge".into(),
                vcpus: 4,
                cores: Some(2),
                memory_mib: 16384,
                architecture: Some("x86_64".into()),
            },
        )])
    }

    #[test]
    fn attributes_derive_from_the_real_instance_type() {
        let t = template(json!({"templateId": "t", "vmTypes": {"m5.xlarge": 1}}));
        let (attrs, warning) = hf_attributes(&t, &types());
        assert_eq!(attrs["ncpus"], json!(["Numeric", "4"]));
        assert_eq!(attrs["ncores"], json!(["Numeric", "2"]));
        assert_eq!(attrs["nram"], json!(["Numeric", "16384"]));
        assert_eq!(attrs["type"], json!(["String", "X86_64"]));
        assert!(warning.is_none());
    }

    #[test]
    fn the_templates_own_attributes_win_and_plain_values_are_typed() {
        let t = template(json!({
            "templateId": "t", "vmType": "m5.xlarge",
            "attributes": {"ncpus": 8, "nram": ["Numeric", "32768"], "gpu": true}
        }));
        let (attrs, _) = hf_attributes(&t, &types());
        assert_eq!(attrs["ncpus"], json!(["Numeric", "8"]));
        assert_eq!(attrs["nram"], json!(["Numeric", "32768"]));
        assert_eq!(attrs["gpu"], json!(["Boolean", "1"]));
        assert_eq!(attrs["ncores"], json!(["Numeric", "2"]));
    }

    #[test]
    fn an_unknown_type_is_warned_about() {
        let t = template(json!({"templateId": "t", "vmType": "zz.tiny"}));
        let (attrs, warning) = hf_attributes(&t, &types());
        assert_eq!(attrs["ncpus"], json!(["Numeric", "1"]));
        assert!(warning.unwrap().contains("zz.tiny"));
    }
}
