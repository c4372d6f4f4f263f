//! Template fields in one dialect: Host Factory's camelCase.
//!
//! Templates files use Host Factory's names (`templateId`, `vmType`, `subnetIds`...), while
//! the Python ORB's template defaults use its internal snake_case names (`subnet_ids`,
//! `machine_types`...). Both are accepted; keys are normalised before merging.

use serde_json::{Map, Value};

/// The Python ORB's internal names whose Host Factory name is not their camelCase form.
const ALIASES: &[(&str, &str)] = &[
    ("template_id", "templateId"),
    ("max_machines", "maxNumber"),
    ("max_instances", "maxNumber"),
    ("machine_image", "imageId"),
    ("image_id", "imageId"),
    ("instance_type", "vmType"),
    ("machine_type", "vmType"),
    // The Python ORB's REST API names (TemplateCreateRequest).
    ("instanceType", "vmType"),
    ("machineType", "vmType"),
    ("machine_types", "vmTypes"),
    ("machine_types_ondemand", "vmTypesOnDemand"),
    ("machine_types_priority", "vmTypesPriority"),
    ("machine_ssh_key", "keyName"),
    ("subnet_id", "subnetIds"),
    ("subnet_ids", "subnetIds"),
    ("subnetId", "subnetIds"),
    ("max_price", "maxSpotPrice"),
    ("machine_role", "instanceProfile"),
    ("machine_bootstrap", "userDataScript"),
    ("machine_disk_size_gb", "rootDeviceVolumeSize"),
    ("machine_disk_type", "volumeType"),
    ("tags", "instanceTags"),
];

/// Template keys orb itself reads, in Host Factory's dialect; a key one slip away from one of
/// these (or from a name the aliases map to) is an error, not a provider-specific key.
const HOST_KEYS: &[&str] = &[
    "templateId",
    "maxNumber",
    "providerApi",
    "attributes",
    "priceType",
    "vmType",
    "vmTypes",
    "imageId",
    "subnetIds",
    "securityGroupIds",
    "keyName",
    "instanceTags",
];

/// The known key `key` (in Host Factory's dialect) is most likely a slip for, if any.
pub fn misspelt(key: &str) -> Option<&'static str> {
    let known: Vec<&'static str> = HOST_KEYS
        .iter()
        .copied()
        .chain(ALIASES.iter().map(|(_, to)| *to))
        .collect();
    orb_plugin_api::likely_meant(key, &known)
}

/// The Host Factory name of a template key.
pub fn hf_key(key: &str) -> String {
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == key) {
        return (*to).to_owned();
    }
    if !key.contains('_') {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `fields` with every key in Host Factory's dialect, and `subnetIds` always a list (IBM's
/// `subnetId` may be one id or a comma-separated string).
pub fn normalize(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in fields {
        let key = hf_key(key);
        let value = if key == "subnetIds" {
            subnet_list(value)
        } else {
            value.clone()
        };
        out.insert(key, value);
    }
    out
}

fn subnet_list(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::Array(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orb_internal_names_become_host_factory_names() {
        assert_eq!(hf_key("subnet_ids"), "subnetIds");
        assert_eq!(hf_key("security_group_ids"), "securityGroupIds");
        assert_eq!(hf_key("machine_types"), "vmTypes");
        assert_eq!(hf_key("allocation_strategy"), "allocationStrategy");
        assert_eq!(hf_key("vmType"), "vmType");
    }

    #[test]
    fn subnets_become_a_list() {
        let fields = json!({"subnetId": "subnet-a, subnet-b"});
        let out = normalize(fields.as_object().unwrap());
        assert_eq!(out["subnetIds"], json!(["subnet-a", "subnet-b"]));
    }
}
