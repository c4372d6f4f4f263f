//! `example_templates`: a template for each enabled handler and way of paying, on the
//! account's default network (else its first), with Amazon Linux 2023 named by AWS's public SSM
//! parameter, so that it stays current. Valid as written: validate them with
//! `orb templates validate`, or run them.

use orb_plugin_api::{InfrastructureResource, ProviderError, Template};
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::template::Api;

/// Amazon Linux 2023 for x86-64, as AWS publishes it.
const IMAGE: &str =
    "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// Two instance types of the same size, so that a fleet has a choice.
fn two_types() -> Value {
    json!({"t3.medium": 1, "t3a.medium": 1})
}

/// The instance types an example's fields name.
fn types_of(extra: &Value) -> Vec<String> {
    match (extra.get("vmType"), extra.get("vmTypes")) {
        (Some(Value::String(t)), _) => vec![t.clone()],
        (_, Some(Value::Object(types))) => types.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The examples: `(templateId, handler, what it adds to the base)`.
fn examples(fleet_role: &str) -> Vec<(&'static str, Api, Value)> {
    vec![
        (
            "RunInstances-OnDemand",
            Api::RunInstances,
            json!({"vmType": "t3.medium", "priceType": "ondemand"}),
        ),
        (
            "RunInstances-Spot",
            Api::RunInstances,
            json!({"vmType": "t3.medium", "priceType": "spot"}),
        ),
        (
            "EC2Fleet-Instant-OnDemand",
            Api::Ec2Fleet,
            json!({"fleetType": "instant", "vmTypes": two_types(), "priceType": "ondemand"}),
        ),
        (
            "EC2Fleet-Request-Spot",
            Api::Ec2Fleet,
            json!({"fleetType": "request", "vmTypes": two_types(), "priceType": "spot",
                   "allocationStrategy": "priceCapacityOptimized"}),
        ),
        (
            "EC2Fleet-Maintain-Mixed",
            Api::Ec2Fleet,
            json!({"fleetType": "maintain", "vmTypes": two_types(), "priceType": "heterogeneous",
                   "percentOnDemand": 50}),
        ),
        (
            "SpotFleet-Request-Spot",
            Api::SpotFleet,
            json!({"fleetType": "request", "vmTypes": two_types(), "priceType": "spot",
                   "fleetRole": fleet_role}),
        ),
        (
            "SpotFleet-Request-Mixed",
            Api::SpotFleet,
            json!({"fleetType": "request", "vmTypes": two_types(), "priceType": "heterogeneous",
                   "percentOnDemand": 50, "fleetRole": fleet_role}),
        ),
        (
            "ASG-OnDemand",
            Api::Asg,
            json!({"vmType": "t3.medium", "priceType": "ondemand"}),
        ),
        (
            "ASG-Spot",
            Api::Asg,
            json!({"vmTypes": two_types(), "priceType": "spot"}),
        ),
        (
            "ASG-Mixed",
            Api::Asg,
            json!({"vmTypes": two_types(), "priceType": "heterogeneous", "percentOnDemand": 50}),
        ),
    ]
}

/// The example templates of the enabled handlers on the account's network.
pub async fn templates(ctx: &Ctx<'_>) -> Result<Vec<Template>, ProviderError> {
    let found = crate::infrastructure::describe(ctx).await?.resources;
    let of_kind = |kind: &'static str| found.iter().filter(move |r| r.kind == kind);
    let network = of_kind("network")
        .find(|n| n.is_default)
        .or_else(|| of_kind("network").next())
        .ok_or_else(|| ProviderError::validation("the account has no VPC to place machines in"))?;
    let in_network =
        |r: &&InfrastructureResource| r.network.as_deref() == Some(network.id.as_str());
    let subnets: Vec<(&str, Option<&str>)> = of_kind("subnet")
        .filter(in_network)
        .map(|s| (s.id.as_str(), s.zone.as_deref()))
        .collect();
    let group = of_kind("security_group").find(in_network);
    if subnets.is_empty() {
        return Err(ProviderError::validation(format!(
            "VPC {} has no subnet to place machines in",
            network.id
        )));
    }
    let fleet_role = crate::infrastructure::fleet_role(ctx).await?;
    let chosen: Vec<(&'static str, Api, Value)> = examples(&fleet_role)
        .into_iter()
        .filter(|(_, api, _)| api.enabled(ctx.config))
        .collect();
    // Each example on the subnets whose zone offers every one of its types: a subnet in a zone
    // without them would fail each launch placed there.
    let mut types: Vec<String> = chosen
        .iter()
        .flat_map(|(.., extra)| types_of(extra))
        .collect();
    types.sort();
    types.dedup();
    let offered = crate::infrastructure::zones_offering(ctx, &types).await?;
    let mut base = json!({"maxNumber": 10, "imageId": IMAGE});
    if let Some(group) = group {
        base["securityGroupIds"] = json!([group.id]);
    }
    chosen
        .into_iter()
        .filter_map(|(id, api, extra)| {
            let placed: Vec<&str> = subnets
                .iter()
                .filter(|(_, zone)| {
                    types_of(&extra).iter().all(|t| {
                        zone.is_some_and(|z| {
                            offered.get(t).is_some_and(|zs| zs.iter().any(|o| o == z))
                        })
                    })
                })
                .map(|(subnet, _)| *subnet)
                .collect();
            if placed.is_empty() {
                tracing::warn!(
                    template = id,
                    "no subnet's zone offers its instance types: not written"
                );
                return None;
            }
            Some((id, api, extra, placed))
        })
        .map(|(id, api, extra, placed)| {
            let mut fields = base.clone();
            fields["subnetIds"] = json!(placed);
            fields["templateId"] = json!(id);
            fields["providerApi"] = json!(api.name());
            for (key, value) in extra.as_object().into_iter().flatten() {
                fields[key] = value.clone();
            }
            serde_json::from_value(fields)
                .map_err(|e| ProviderError::internal(format!("example template {id}: {e}")))
        })
        .collect()
}
