//! `describe_infrastructure`: the account's VPCs, subnets and security groups, for setting up
//! templates. Each list is read with the API's paginator, so its size is the cloud's, bounded
//! by the pages AWS returns.

use aws_sdk_ec2::types::Tag;
use orb_plugin_api::{Infrastructure, InfrastructureResource, ProviderError};

use crate::context::Ctx;
use crate::errors::sdk_error;

/// The `Name` tag among `tags`.
fn name_of(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value().map(str::to_owned))
}

/// A resource of `kind` with the `id`, and nothing else known yet.
fn resource(kind: &str, id: &str) -> InfrastructureResource {
    InfrastructureResource {
        kind: kind.to_owned(),
        id: id.to_owned(),
        name: None,
        network: None,
        zone: None,
        cidr: None,
        is_default: false,
    }
}

/// Every VPC, subnet and security group of the region.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Infrastructure, ProviderError> {
    let ec2 = &ctx.clients.ec2;
    let mut resources = Vec::new();
    let mut vpcs = ec2.describe_vpcs().into_paginator().send();
    while let Some(page) = vpcs.next().await {
        let page = page.map_err(|e| sdk_error("DescribeVpcs", e))?;
        for vpc in page.vpcs() {
            resources.push(InfrastructureResource {
                name: name_of(vpc.tags()),
                cidr: vpc.cidr_block().map(str::to_owned),
                is_default: vpc.is_default().unwrap_or(false),
                ..resource("network", vpc.vpc_id().unwrap_or_default())
            });
        }
    }
    let mut subnets = ec2.describe_subnets().into_paginator().send();
    while let Some(page) = subnets.next().await {
        let page = page.map_err(|e| sdk_error("DescribeSubnets", e))?;
        for subnet in page.subnets() {
            resources.push(InfrastructureResource {
                name: name_of(subnet.tags()),
                network: subnet.vpc_id().map(str::to_owned),
                zone: subnet.availability_zone().map(str::to_owned),
                cidr: subnet.cidr_block().map(str::to_owned),
                is_default: subnet.default_for_az().unwrap_or(false),
                ..resource("subnet", subnet.subnet_id().unwrap_or_default())
            });
        }
    }
    let mut groups = ec2.describe_security_groups().into_paginator().send();
    while let Some(page) = groups.next().await {
        let page = page.map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
        for group in page.security_groups() {
            resources.push(InfrastructureResource {
                name: group.group_name().map(str::to_owned),
                network: group.vpc_id().map(str::to_owned),
                is_default: group.group_name() == Some("default"),
                ..resource("security_group", group.group_id().unwrap_or_default())
            });
        }
    }
    Ok(Infrastructure { resources })
}
