//! Spot Fleet: `RequestSpotFleet` with the fleet role, the allocation strategy and weighted
//! types, from a launch template. The request's client token is the request id.
//!
//! Return: a `maintain` request's target capacity is lowered first, with no-termination, then
//! exactly the returned instances are terminated; an empty request is cancelled and its launch
//! template deleted.

use aws_sdk_ec2::operation::request_spot_fleet::builders::RequestSpotFleetFluentBuilder;
use aws_sdk_ec2::types::{
    AllocationStrategy, ExcessCapacityTerminationPolicy, FleetLaunchTemplateSpecification,
    FleetType as AwsFleetType, LaunchTemplateConfig, LaunchTemplateOverrides,
    OnDemandAllocationStrategy, ResourceType, SpotFleetRequestConfigData,
};
use orb_plugin_api::{ProviderError, ProvisionResult};

use super::shared::{
    deleted_with_instances, released_units, remaining, retire, subnets_or_none, terminate,
    type_subnet_pairs,
};
use super::{Handler, Release};
use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::errors::{dry_run, sdk_error};
use crate::instances::tag_spec;
use crate::launch_template::{self, for_request, LaunchTemplateRef};
use crate::template::FleetType;

/// The Spot Fleet handler.
pub struct SpotFleet;

fn strategy(name: Option<&str>) -> AllocationStrategy {
    match name
        .map(|n| n.to_ascii_lowercase().replace(['-', '_'], ""))
        .as_deref()
    {
        Some("capacityoptimized") => AllocationStrategy::CapacityOptimized,
        Some("capacityoptimizedprioritized") => AllocationStrategy::CapacityOptimizedPrioritized,
        Some("diversified") => AllocationStrategy::Diversified,
        Some("pricecapacityoptimized") => AllocationStrategy::PriceCapacityOptimized,
        _ => AllocationStrategy::LowestPrice,
    }
}

/// The RequestSpotFleet call of `plan`, launching from `lt`.
fn request_call(
    ctx: &Ctx<'_>,
    plan: &Plan,
    lt: &LaunchTemplateRef,
) -> RequestSpotFleetFluentBuilder {
    let t = &plan.template;
    let overrides: Vec<LaunchTemplateOverrides> = match &t.requirements {
        Some(r) => subnets_or_none(t)
            .into_iter()
            .map(|subnet| {
                LaunchTemplateOverrides::builder()
                    .set_subnet_id(subnet.map(str::to_owned))
                    .instance_requirements(crate::requirements::for_spot_fleet(r))
                    .build()
            })
            .collect(),
        None => type_subnet_pairs(t)
            .into_iter()
            .map(|(vm_type, subnet, weight)| {
                LaunchTemplateOverrides::builder()
                    .instance_type(vm_type.into())
                    .set_subnet_id(subnet.map(str::to_owned))
                    .weighted_capacity(weight)
                    .set_priority(t.priority_of(vm_type))
                    .build()
            })
            .collect(),
    };
    let config = SpotFleetRequestConfigData::builder()
        .iam_fleet_role(t.fleet_role.clone().unwrap_or_default())
        .target_capacity(plan.count as i32)
        .on_demand_target_capacity(t.on_demand_units(plan.count) as i32)
        .allocation_strategy(strategy(t.allocation_strategy.as_deref()))
        .set_on_demand_allocation_strategy(t.allocation_strategy_on_demand.as_deref().map(|name| {
            match name.to_ascii_lowercase().as_str() {
                "prioritized" => OnDemandAllocationStrategy::Prioritized,
                _ => OnDemandAllocationStrategy::LowestPrice,
            }
        }))
        .set_spot_price(t.max_spot_price.clone())
        .client_token(plan.token(""))
        .r#type(if t.fleet_type == FleetType::Maintain {
            AwsFleetType::Maintain
        } else {
            AwsFleetType::Request
        })
        .excess_capacity_termination_policy(ExcessCapacityTerminationPolicy::NoTermination)
        .launch_template_configs(
            LaunchTemplateConfig::builder()
                .launch_template_specification(
                    FleetLaunchTemplateSpecification::builder()
                        .set_launch_template_id(lt.template_id())
                        .set_launch_template_name(lt.template_name())
                        .version(&lt.version)
                        .build(),
                )
                .set_overrides(Some(overrides))
                .build(),
        )
        .tag_specifications(tag_spec(ResourceType::SpotFleetRequest, &plan.tags))
        .set_context(t.context.clone())
        .set_valid_until(t.valid_until())
        .build();
    ctx.clients
        .ec2
        .request_spot_fleet()
        .spot_fleet_request_config(config)
}

impl Handler for SpotFleet {
    async fn check(&self, ctx: &Ctx<'_>, plan: &Plan) -> Vec<String> {
        let (lt, mut problems) = launch_template::check(ctx, plan).await;
        let requested = request_call(ctx, plan, &lt).dry_run(true).send().await;
        problems.extend(
            dry_run("RequestSpotFleet", requested)
                .filter(|p| !launch_template::not_made_yet(&lt, p)),
        );
        problems
    }

    async fn provision(
        &self,
        ctx: &Ctx<'_>,
        plan: &Plan,
    ) -> Result<ProvisionResult, ProviderError> {
        let lt = for_request(ctx, plan).await?;
        let out = request_call(ctx, plan, &lt)
            .send()
            .await
            .map_err(|e| sdk_error("RequestSpotFleet", e))?;
        let id = out.spot_fleet_request_id().unwrap_or_default().to_owned();
        tracing::info!(spot_fleet_request_id = %id, units = plan.count, "spot fleet requested");
        Ok(ProvisionResult {
            resource_ids: vec![id],
            ..Default::default()
        })
    }

    async fn release(&self, ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError> {
        let Release {
            resource_id: request,
            request_id,
            machines,
            staying,
        } = *release;
        let ec2 = &ctx.clients.ec2;
        if staying == Some(0) && cancel_with_instances(ctx, request).await {
            // The last of the fleet: cancelling it with its instances terminates them.
            retire(ctx, "spot fleet request", request, request_id, Ok(())).await;
            return Ok(());
        }
        let described = ec2
            .describe_spot_fleet_requests()
            .spot_fleet_request_ids(request)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSpotFleetRequests", e))?;
        let config = described
            .spot_fleet_request_configs()
            .first()
            .and_then(|c| c.spot_fleet_request_config());
        if let Some(config) = config.filter(|c| c.r#type() == Some(&AwsFleetType::Maintain)) {
            let weights = config
                .launch_template_configs()
                .iter()
                .flat_map(|c| c.overrides())
                .filter_map(|o| {
                    Some((
                        o.instance_type()?.as_str().to_owned(),
                        o.weighted_capacity().unwrap_or(1.0),
                    ))
                })
                .collect();
            let released = released_units(ctx, weights, machines).await?;
            let lowered = (config.target_capacity().unwrap_or(0) - released).max(0);
            ec2.modify_spot_fleet_request()
                .spot_fleet_request_id(request)
                .target_capacity(lowered)
                .excess_capacity_termination_policy(ExcessCapacityTerminationPolicy::NoTermination)
                .send()
                .await
                .map_err(|e| sdk_error("ModifySpotFleetRequest", e))?;
        }
        terminate(ctx, machines).await?;
        let left = match staying {
            Some(left) => left,
            None => {
                let active = ec2
                    .describe_spot_fleet_instances()
                    .spot_fleet_request_id(request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeSpotFleetInstances", e))?;
                remaining(
                    active
                        .active_instances()
                        .iter()
                        .filter_map(|i| i.instance_id()),
                    machines,
                )
            }
        };
        if left == 0 {
            let cancelled = ec2
                .cancel_spot_fleet_requests()
                .spot_fleet_request_ids(request)
                .terminate_instances(false)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("CancelSpotFleetRequests", e));
            retire(ctx, "spot fleet request", request, request_id, cancelled).await;
        }
        Ok(())
    }

    /// Cancels Spot Fleet requests with their instances.
    async fn delete_on_cancel(
        &self,
        ctx: &Ctx<'_>,
        ids: Vec<String>,
        released: &mut Released,
    ) -> Result<(), ProviderError> {
        if ids.is_empty() {
            return Ok(());
        }
        let out = ctx
            .clients
            .ec2
            .cancel_spot_fleet_requests()
            .set_spot_fleet_request_ids(Some(ids))
            .terminate_instances(true)
            .send()
            .await
            .map_err(|e| sdk_error("CancelSpotFleetRequests", e))?;
        released.take(
            "Spot Fleet request",
            "fleetRequestIdDoesNotExist",
            out.successful_fleet_requests()
                .iter()
                .filter_map(|f| f.spot_fleet_request_id()),
            out.unsuccessful_fleet_requests().iter().map(|f| {
                let error = f.error();
                (
                    f.spot_fleet_request_id().unwrap_or_default(),
                    error.and_then(|e| e.code()).map(|c| c.as_str()),
                    error.and_then(|e| e.message()),
                )
            }),
        );
        Ok(())
    }
}

/// Cancels a spot fleet request with its instances; whether the cloud took it (else the caller
/// terminates the machines itself).
async fn cancel_with_instances(ctx: &Ctx<'_>, request: &str) -> bool {
    let outcome = ctx
        .clients
        .ec2
        .cancel_spot_fleet_requests()
        .spot_fleet_request_ids(request)
        .terminate_instances(true)
        .send()
        .await
        .map(|out| {
            out.successful_fleet_requests()
                .iter()
                .any(|f| f.spot_fleet_request_id() == Some(request))
        })
        .map_err(|e| sdk_error("CancelSpotFleetRequests", e));
    deleted_with_instances("spot fleet request", request, outcome)
}
