//! What the account offers for setting up templates: `describe_infrastructure` (VPCs, subnets,
//! security groups) and `discover_infrastructure` (those, with subnets' free addresses, and key
//! pairs, Amazon's image parameters, the instance types offered in each zone and the Spot
//! Fleet role). Each list is read with the API's paginator, so its size is the cloud's,
//! bounded by the pages AWS returns.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{LocationType, Tag};
use orb_plugin_api::{Discovered, Discovery, Infrastructure, ProviderError};
use serde_json::json;

use crate::context::Ctx;
use crate::errors::sdk_error;

/// Amazon's image parameters (SSM) for Amazon Linux, the images templates start from.
pub const IMAGE_PARAMETERS: [&str; 3] = [
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
];

/// The Spot Fleet role AWS's console creates, when the configuration names none.
const SPOT_FLEET_ROLE: &str = "aws-ec2-spot-fleet-tagging-role";

/// The `Name` tag among `tags`.
fn name_of(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value().map(str::to_owned))
}

/// Every VPC, subnet and security group of the region.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Infrastructure, ProviderError> {
    Ok(Infrastructure {
        resources: networks(ctx)
            .await?
            .into_iter()
            .map(|d| d.resource)
            .collect(),
    })
}

/// What [`describe`] describes, with the details, and the rest of what templates name.
pub async fn discover(ctx: &Ctx<'_>) -> Result<Discovery, ProviderError> {
    let mut resources = networks(ctx).await?;
    resources.extend(key_pairs(ctx).await?);
    resources.extend(images(ctx).await);
    resources.extend(instance_types(ctx).await?);
    let mut role = Discovered::new("fleet_role", &fleet_role(ctx).await?);
    role.details.insert(
        "source".into(),
        json!(match ctx.config.fleet_role {
            Some(_) => "the instance's fleet_role",
            None => "AWS's default name in this account (orb does not read IAM)",
        }),
    );
    resources.push(role);
    Ok(Discovery { resources })
}

/// The Spot Fleet role: the instance's `fleet_role`, else AWS's default in this account.
pub async fn fleet_role(ctx: &Ctx<'_>) -> Result<String, ProviderError> {
    if let Some(role) = &ctx.config.fleet_role {
        return Ok(role.clone());
    }
    let account = ctx
        .clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_error("GetCallerIdentity", e))?;
    Ok(format!(
        "arn:aws:iam::{}:role/{SPOT_FLEET_ROLE}",
        account.account().unwrap_or_default()
    ))
}

/// VPCs, subnets (with their free addresses) and security groups.
async fn networks(ctx: &Ctx<'_>) -> Result<Vec<Discovered>, ProviderError> {
    let ec2 = &ctx.clients.ec2;
    let mut resources = Vec::new();
    let mut vpcs = ec2.describe_vpcs().into_paginator().send();
    while let Some(page) = vpcs.next().await {
        let page = page.map_err(|e| sdk_error("DescribeVpcs", e))?;
        for vpc in page.vpcs() {
            let mut found = Discovered::new("network", vpc.vpc_id().unwrap_or_default());
            found.resource.name = name_of(vpc.tags());
            found.resource.cidr = vpc.cidr_block().map(str::to_owned);
            found.resource.is_default = vpc.is_default().unwrap_or(false);
            resources.push(found);
        }
    }
    let mut subnets = ec2.describe_subnets().into_paginator().send();
    while let Some(page) = subnets.next().await {
        let page = page.map_err(|e| sdk_error("DescribeSubnets", e))?;
        for subnet in page.subnets() {
            let mut found = Discovered::new("subnet", subnet.subnet_id().unwrap_or_default());
            found.resource.name = name_of(subnet.tags());
            found.resource.network = subnet.vpc_id().map(str::to_owned);
            found.resource.zone = subnet.availability_zone().map(str::to_owned);
            found.resource.cidr = subnet.cidr_block().map(str::to_owned);
            found.resource.is_default = subnet.default_for_az().unwrap_or(false);
            if let Some(free) = subnet.available_ip_address_count() {
                found.details.insert("freeAddresses".into(), json!(free));
            }
            resources.push(found);
        }
    }
    let mut groups = ec2.describe_security_groups().into_paginator().send();
    while let Some(page) = groups.next().await {
        let page = page.map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
        for group in page.security_groups() {
            let mut found = Discovered::new("security_group", group.group_id().unwrap_or_default());
            found.resource.name = group.group_name().map(str::to_owned);
            found.resource.network = group.vpc_id().map(str::to_owned);
            found.resource.is_default = group.group_name() == Some("default");
            resources.push(found);
        }
    }
    Ok(resources)
}

/// Key pairs, by name (what templates' `keyName` says).
async fn key_pairs(ctx: &Ctx<'_>) -> Result<Vec<Discovered>, ProviderError> {
    let out = ctx
        .clients
        .ec2
        .describe_key_pairs()
        .send()
        .await
        .map_err(|e| sdk_error("DescribeKeyPairs", e))?;
    Ok(out
        .key_pairs()
        .iter()
        .filter_map(|k| {
            let mut found = Discovered::new("key_pair", k.key_name()?);
            found.resource.name = k.key_pair_id().map(str::to_owned);
            if let Some(kind) = k.key_type() {
                found.details.insert("type".into(), json!(kind.as_str()));
            }
            Some(found)
        })
        .collect())
}

/// Amazon's image parameters that resolve in this region, each with the image it names now.
/// A region or account without SSM access has none: that is not an error of the discovery.
async fn images(ctx: &Ctx<'_>) -> Vec<Discovered> {
    let out = ctx
        .clients
        .ssm
        .get_parameters()
        .set_names(Some(
            IMAGE_PARAMETERS.iter().map(|p| p.to_string()).collect(),
        ))
        .send()
        .await;
    match out {
        Ok(out) => out
            .parameters()
            .iter()
            .filter_map(|p| {
                let mut found = Discovered::new("image", p.name()?);
                found
                    .details
                    .insert("imageId".into(), json!(p.value().unwrap_or_default()));
                Some(found)
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %sdk_error("GetParameters", e).message(), "image parameters not read");
            Vec::new()
        }
    }
}

/// The instance types offered in the region's zones, each with the zones that offer it.
async fn instance_types(ctx: &Ctx<'_>) -> Result<Vec<Discovered>, ProviderError> {
    Ok(zones_offering(ctx, &[])
        .await?
        .into_iter()
        .map(|(kind, in_zones)| {
            let mut found = Discovered::new("instance_type", &kind);
            found.details.insert("zones".into(), json!(in_zones));
            found
        })
        .collect())
}

/// The zones of the region that offer each of `types` (every type the region offers when
/// `types` is empty), sorted.
pub async fn zones_offering(
    ctx: &Ctx<'_>,
    types: &[String],
) -> Result<BTreeMap<String, Vec<String>>, ProviderError> {
    let mut zones: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut call = ctx
        .clients
        .ec2
        .describe_instance_type_offerings()
        .location_type(LocationType::AvailabilityZone);
    if !types.is_empty() {
        call = call.filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-type")
                .set_values(Some(types.to_vec()))
                .build(),
        );
    }
    let mut offerings = call.into_paginator().send();
    while let Some(page) = offerings.next().await {
        let page = page.map_err(|e| sdk_error("DescribeInstanceTypeOfferings", e))?;
        for offering in page.instance_type_offerings() {
            if let (Some(kind), Some(zone)) = (offering.instance_type(), offering.location()) {
                zones
                    .entry(kind.as_str().to_owned())
                    .or_default()
                    .push(zone.to_owned());
            }
        }
    }
    for in_zones in zones.values_mut() {
        in_zones.sort();
        in_zones.dedup();
    }
    Ok(zones)
}
