//! A template checked against what a provider discovered in its cloud (`orb infra validate`):
//! every subnet, security group, key pair, instance type and image parameter it names must be
//! there, its security groups in its subnets' network, and its instance types offered in each
//! of its subnets' zones. Keys follow Host Factory's template dialect.

use std::collections::BTreeMap;

use orb_plugin_api::{Discovered, Discovery, Template};
use serde_json::Value;

/// The ids `template` names under `key`: a string, or a list of strings.
fn ids(template: &Template, key: &str) -> Vec<String> {
    match template.fields.get(key) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The instance types `template` names: `vmType`, and the keys of `vmTypes` and
/// `vmTypesOnDemand`.
fn instance_types(template: &Template) -> Vec<String> {
    let mut types = ids(template, "vmType");
    for key in ["vmTypes", "vmTypesOnDemand"] {
        if let Some(Value::Object(weights)) = template.fields.get(key) {
            types.extend(weights.keys().cloned());
        }
    }
    types
}

/// Every problem of `template` against `found`; none when all it names is there.
pub fn problems(template: &Template, found: &Discovery) -> Vec<String> {
    let mut by_kind: BTreeMap<&str, BTreeMap<&str, &Discovered>> = BTreeMap::new();
    for d in &found.resources {
        by_kind
            .entry(d.resource.kind.as_str())
            .or_default()
            .insert(d.resource.id.as_str(), d);
    }
    let of_kind = |kind: &str| by_kind.get(kind);
    let mut problems = Vec::new();
    // What is said of `id` of `kind` (named by `key`) missing: nothing when it is there, or
    // when the provider does not discover that kind (it cannot be checked against then).
    let missing = |kind: &str, key: &str, id: &str| {
        of_kind(kind)
            .is_some_and(|known| !known.contains_key(id))
            .then(|| format!("{key}: {id} is not in the account"))
    };
    let subnets: Vec<&Discovered> = ids(template, "subnetIds")
        .iter()
        .filter_map(|id| {
            let subnet = of_kind("subnet").and_then(|s| s.get(id.as_str())).copied();
            if subnet.is_none() {
                problems.extend(missing("subnet", "subnetIds", id));
            }
            subnet
        })
        .collect();
    for id in ids(template, "securityGroupIds") {
        match of_kind("security_group").and_then(|g| g.get(id.as_str())) {
            None => problems.extend(missing("security_group", "securityGroupIds", &id)),
            Some(group) => {
                if let Some(subnet) = subnets
                    .iter()
                    .find(|s| s.resource.network != group.resource.network)
                {
                    problems.push(format!(
                        "securityGroupIds: {id} is in {}, subnet {} in {}",
                        group.resource.network.as_deref().unwrap_or("no network"),
                        subnet.resource.id,
                        subnet.resource.network.as_deref().unwrap_or("no network"),
                    ));
                }
            }
        }
    }
    for key_name in ids(template, "keyName") {
        problems.extend(missing("key_pair", "keyName", &key_name));
    }
    for kind in instance_types(template) {
        match of_kind("instance_type").and_then(|t| t.get(kind.as_str())) {
            None => problems.extend(missing("instance_type", "instance type", &kind)),
            Some(offered) => {
                let zones: Vec<&str> = offered
                    .details
                    .get("zones")
                    .and_then(Value::as_array)
                    .map_or(Vec::new(), |z| z.iter().filter_map(Value::as_str).collect());
                for subnet in &subnets {
                    match subnet.resource.zone.as_deref() {
                        Some(zone) if !zones.is_empty() && !zones.contains(&zone) => {
                            problems.push(format!(
                                "instance type {kind} is not offered in {zone} (subnet {})",
                                subnet.resource.id
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for image in ids(template, "imageId") {
        let parameter = image.strip_prefix("resolve:ssm:").unwrap_or(&image);
        // Amazon's public parameters are discovered; an operator's own are checked by
        // `orb templates validate`, which resolves them.
        if parameter.starts_with("/aws/service/") {
            problems.extend(missing("image", "imageId", parameter));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn discovered(kind: &str, id: &str, network: Option<&str>, zone: Option<&str>) -> Discovered {
        let mut d = Discovered::new(kind, id);
        d.resource.network = network.map(str::to_owned);
        d.resource.zone = zone.map(str::to_owned);
        d
    }

    fn found() -> Discovery {
        let mut large = discovered("instance_type", "m5.large", None, None);
        large
            .details
            .insert("zones".into(), json!(["us-east-1a", "us-east-1b"]));
        let mut rare = discovered("instance_type", "p5.48xlarge", None, None);
        rare.details.insert("zones".into(), json!(["us-east-1a"]));
        Discovery {
            resources: vec![
                discovered("subnet", "subnet-a", Some("vpc-1"), Some("us-east-1a")),
                discovered("subnet", "subnet-b", Some("vpc-1"), Some("us-east-1b")),
                discovered("security_group", "sg-1", Some("vpc-1"), None),
                discovered("security_group", "sg-2", Some("vpc-2"), None),
                discovered("key_pair", "ops", None, None),
                discovered(
                    "image",
                    "/aws/service/ami-amazon-linux-latest/x",
                    None,
                    None,
                ),
                large,
                rare,
            ],
        }
    }

    fn template(fields: Value) -> Template {
        let mut all = json!({"templateId": "T", "maxNumber": 1});
        all.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        serde_json::from_value(all).unwrap()
    }

    #[test]
    fn what_is_there_passes() {
        let t = template(
            json!({"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-1"],
            "keyName": "ops", "vmTypes": {"m5.large": 1},
            "imageId": "resolve:ssm:/aws/service/ami-amazon-linux-latest/x"}),
        );
        assert_eq!(problems(&t, &found()), Vec::<String>::new());
    }

    #[test]
    fn each_thing_missing_or_misplaced_is_named() {
        let t = template(json!({"subnetIds": ["subnet-a", "subnet-b", "subnet-z"],
            "securityGroupIds": ["sg-2", "sg-9"], "keyName": "nobody",
            "vmType": "p5.48xlarge", "vmTypesOnDemand": {"x9.huge": 1},
            "imageId": "/aws/service/ami-amazon-linux-latest/gone"}));
        let found = problems(&t, &found());
        for expected in [
            "subnetIds: subnet-z is not in the account",
            "securityGroupIds: sg-2 is in vpc-2, subnet subnet-a in vpc-1",
            "securityGroupIds: sg-9 is not in the account",
            "keyName: nobody is not in the account",
            "instance type p5.48xlarge is not offered in us-east-1b (subnet subnet-b)",
            "instance type: x9.huge is not in the account",
            "imageId: /aws/service/ami-amazon-linux-latest/gone is not in the account",
        ] {
            assert!(
                found.iter().any(|p| p == expected),
                "{expected}: {found:#?}"
            );
        }
        assert_eq!(found.len(), 7, "{found:#?}");
    }

    #[test]
    fn kinds_a_provider_does_not_discover_are_not_held_against_it() {
        let t = template(json!({"keyName": "anyone", "imageId": "/aws/service/any"}));
        let only_networks = Discovery {
            resources: vec![discovered("subnet", "subnet-a", Some("vpc-1"), None)],
        };
        assert!(problems(&t, &only_networks).is_empty());
    }
}
