//! EC2 Fleet: `instant`, `request` and `maintain` fleets from a launch template, with an
//! override for every instance type × subnet, weighted types, the on-demand/spot split and
//! allocation strategies. The fleet's client token is the request id.
//!
//! Return: a `maintain` fleet's target capacity is lowered first, with no-termination, and only
//! then are exactly the returned instances terminated, so the fleet neither kills another
//! instance nor replaces the returned ones (the Python ORB's issue #76). A return of the fleet's
//! last live instances deletes the fleet with them in one call, then its launch template.

use aws_sdk_ec2::operation::create_fleet::builders::CreateFleetFluentBuilder;
use aws_sdk_ec2::types::{
    DefaultTargetCapacityType, FleetExcessCapacityTerminationPolicy,
    FleetLaunchTemplateConfigRequest, FleetLaunchTemplateOverridesRequest,
    FleetLaunchTemplateSpecificationRequest, FleetOnDemandAllocationStrategy,
    FleetType as AwsFleetType, OnDemandOptionsRequest, ResourceType, SpotAllocationStrategy,
    SpotOptionsRequest, TargetCapacitySpecificationRequest,
};
use orb_plugin_api::{ErrorKind, Failure, MachineState, ProviderError, ProvisionResult};
use std::collections::HashSet;

use super::shared::{
    deleted_with_instances, released_units, remaining, retire, subnets_or_none, terminate,
    type_subnet_pairs,
};
use super::{Handler, Release};
use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::errors::{classify_code, dry_run, sdk_error};
use crate::instances::{by_ids, by_requests, tag_spec, to_machine};
use crate::launch_template::{self, for_request, LaunchTemplateRef};
use crate::template::{AwsTemplate, FleetType};

/// The EC2 Fleet handler.
pub struct Ec2Fleet;

/// The spot allocation strategy a template names (Host Factory's camelCase or AWS's names).
pub fn spot_strategy(name: Option<&str>) -> SpotAllocationStrategy {
    match name
        .map(|n| n.to_ascii_lowercase().replace(['-', '_'], ""))
        .as_deref()
    {
        Some("capacityoptimized") => SpotAllocationStrategy::CapacityOptimized,
        Some("capacityoptimizedprioritized") => {
            SpotAllocationStrategy::CapacityOptimizedPrioritized
        }
        Some("diversified") => SpotAllocationStrategy::Diversified,
        Some("pricecapacityoptimized") => SpotAllocationStrategy::PriceCapacityOptimized,
        _ => SpotAllocationStrategy::LowestPrice,
    }
}

fn on_demand_strategy(name: Option<&str>) -> FleetOnDemandAllocationStrategy {
    match name.map(str::to_ascii_lowercase).as_deref() {
        Some("prioritized") => FleetOnDemandAllocationStrategy::Prioritized,
        _ => FleetOnDemandAllocationStrategy::LowestPrice,
    }
}

/// One override per instance type × subnet, with the type's weight; or, when the template
/// gives requirements instead of types, one per subnet with them.
fn overrides(t: &AwsTemplate) -> Vec<FleetLaunchTemplateOverridesRequest> {
    if let Some(r) = &t.requirements {
        return subnets_or_none(t)
            .into_iter()
            .map(|subnet| {
                FleetLaunchTemplateOverridesRequest::builder()
                    .set_subnet_id(subnet.map(str::to_owned))
                    .instance_requirements(crate::requirements::for_ec2_fleet(r))
                    .build()
            })
            .collect();
    }
    type_subnet_pairs(t)
        .into_iter()
        .map(|(vm_type, subnet, weight)| {
            FleetLaunchTemplateOverridesRequest::builder()
                .instance_type(vm_type.into())
                .set_subnet_id(subnet.map(str::to_owned))
                .weighted_capacity(weight)
                .set_priority(t.priority_of(vm_type))
                .build()
        })
        .collect()
}

/// The CreateFleet call of `plan`, launching from `lt`.
fn create_call(ctx: &Ctx<'_>, plan: &Plan, lt: &LaunchTemplateRef) -> CreateFleetFluentBuilder {
    let t = &plan.template;
    let on_demand = t.on_demand_units(plan.count) as i32;
    let total = plan.count as i32;
    let kind = match t.fleet_type {
        FleetType::Instant => AwsFleetType::Instant,
        FleetType::Request => AwsFleetType::Request,
        FleetType::Maintain => AwsFleetType::Maintain,
    };
    let mut call = ctx
        .clients
        .ec2
        .create_fleet()
        .client_token(plan.token(""))
        .r#type(kind)
        .launch_template_configs(
            FleetLaunchTemplateConfigRequest::builder()
                .launch_template_specification(
                    FleetLaunchTemplateSpecificationRequest::builder()
                        .set_launch_template_id(lt.template_id())
                        .set_launch_template_name(lt.template_name())
                        .version(&lt.version)
                        .build(),
                )
                .set_overrides(Some(overrides(t)))
                .build(),
        )
        .target_capacity_specification(
            TargetCapacitySpecificationRequest::builder()
                .total_target_capacity(total)
                .on_demand_target_capacity(on_demand)
                .spot_target_capacity(total - on_demand)
                .default_target_capacity_type(if on_demand > 0 {
                    DefaultTargetCapacityType::OnDemand
                } else {
                    DefaultTargetCapacityType::Spot
                })
                .build(),
        )
        .on_demand_options(
            OnDemandOptionsRequest::builder()
                .allocation_strategy(on_demand_strategy(
                    t.allocation_strategy_on_demand.as_deref(),
                ))
                .build(),
        )
        .spot_options(
            SpotOptionsRequest::builder()
                .allocation_strategy(spot_strategy(t.allocation_strategy.as_deref()))
                .set_max_total_price(t.max_spot_price.clone())
                .build(),
        )
        .tag_specifications(tag_spec(ResourceType::Fleet, &plan.tags))
        .set_context(t.context.clone());
    if t.fleet_type != FleetType::Instant {
        call = call
            .excess_capacity_termination_policy(FleetExcessCapacityTerminationPolicy::NoTermination)
            .set_valid_until(t.valid_until());
    }
    call
}

impl Handler for Ec2Fleet {
    async fn check(&self, ctx: &Ctx<'_>, plan: &Plan) -> Vec<String> {
        let (lt, mut problems) = launch_template::check(ctx, plan).await;
        let created = create_call(ctx, plan, &lt).dry_run(true).send().await;
        problems.extend(
            dry_run("CreateFleet", created).filter(|p| !launch_template::not_made_yet(&lt, p)),
        );
        problems
    }

    async fn provision(
        &self,
        ctx: &Ctx<'_>,
        plan: &Plan,
    ) -> Result<ProvisionResult, ProviderError> {
        let t = &plan.template;
        let lt = for_request(ctx, plan).await?;
        let out = create_call(ctx, plan, &lt)
            .send()
            .await
            .map_err(|e| sdk_error("CreateFleet", e))?;
        let fleet_id = out.fleet_id().unwrap_or_default().to_owned();
        let mut result = ProvisionResult {
            resource_ids: vec![fleet_id.clone()],
            ..Default::default()
        };
        if t.fleet_type == FleetType::Instant {
            let ids: Vec<String> = out
                .instances()
                .iter()
                .flat_map(|i| i.instance_ids().iter().cloned())
                .collect();
            result.machines = by_ids(&ctx.clients.ec2, &ids)
                .await?
                .iter()
                .map(to_machine)
                .collect();
            let launched: f64 = result
                .machines
                .iter()
                .map(|m| weight_of(t, m.instance_type.as_deref()))
                .sum();
            let missing = (f64::from(plan.count) - launched).max(0.0).ceil() as u32;
            if missing > 0 {
                let error = out.errors().first();
                let code = error.and_then(|e| e.error_code()).map(str::to_owned);
                result.failures.push(Failure {
                    count: missing,
                    kind: code
                        .as_deref()
                        .map(classify_code)
                        .unwrap_or(ErrorKind::Capacity),
                    message: error
                        .and_then(|e| e.error_message())
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            format!(
                                "the instant fleet launched {launched} of {} units",
                                plan.count
                            )
                        }),
                    code,
                });
            }
        }
        tracing::info!(
            fleet_id,
            fleet_type = t.fleet_type.as_str(),
            units = plan.count,
            "EC2 fleet created"
        );
        Ok(result)
    }

    async fn release(&self, ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError> {
        let Release {
            resource_id: fleet_id,
            request_id,
            machines,
            staying,
        } = *release;
        let ec2 = &ctx.clients.ec2;
        if staying == Some(0) && delete_with_instances(ctx, fleet_id).await {
            // The last of the fleet: deleting it with its instances terminates them.
            retire(ctx, "EC2 fleet", fleet_id, request_id, Ok(())).await;
            return Ok(());
        }
        let fleets = ec2
            .describe_fleets()
            .fleet_ids(fleet_id)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeFleets", e))?;
        let Some(fleet) = fleets.fleets().first() else {
            return terminate(ctx, machines).await;
        };
        if fleet.r#type() == Some(&AwsFleetType::Maintain) {
            // Lower the target first, without termination: the fleet then neither picks another
            // instance to kill nor replaces the ones terminated next.
            let target = fleet
                .target_capacity_specification()
                .and_then(|t| t.total_target_capacity())
                .unwrap_or(0);
            let weights = fleet
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
            let lowered = (target - released).max(0);
            ec2.modify_fleet()
                .fleet_id(fleet_id)
                .target_capacity_specification(
                    TargetCapacitySpecificationRequest::builder()
                        .total_target_capacity(lowered)
                        .build(),
                )
                .excess_capacity_termination_policy(
                    FleetExcessCapacityTerminationPolicy::NoTermination,
                )
                .send()
                .await
                .map_err(|e| sdk_error("ModifyFleet", e))?;
        }
        terminate(ctx, machines).await?;
        let left = match staying {
            Some(left) => left,
            None => others_left(ctx, fleet, request_id, machines).await?,
        };
        if left == 0 {
            let deleted = ec2
                .delete_fleets()
                .fleet_ids(fleet_id)
                // An instant fleet can only be deleted with its instances (all returned already).
                .terminate_instances(fleet.r#type() == Some(&AwsFleetType::Instant))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("DeleteFleets", e));
            retire(ctx, "EC2 fleet", fleet_id, request_id, deleted).await;
        }
        Ok(())
    }

    /// Deletes EC2 fleets with their instances.
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
            .delete_fleets()
            .set_fleet_ids(Some(ids))
            .terminate_instances(true)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteFleets", e))?;
        released.take(
            "EC2 fleet",
            "fleetIdDoesNotExist",
            out.successful_fleet_deletions()
                .iter()
                .filter_map(|f| f.fleet_id()),
            out.unsuccessful_fleet_deletions().iter().map(|f| {
                let error = f.error();
                (
                    f.fleet_id().unwrap_or_default(),
                    error.and_then(|e| e.code()).map(|c| c.as_str()),
                    error.and_then(|e| e.message()),
                )
            }),
        );
        Ok(())
    }
}

fn weight_of(t: &AwsTemplate, instance_type: Option<&str>) -> f64 {
    instance_type
        .and_then(|it| t.offered_types().find(|(name, _)| name == it))
        .map(|(_, w)| *w)
        .unwrap_or(1.0)
}

/// Deletes a fleet with its instances; whether the cloud took the deletion (else the caller
/// terminates the machines itself).
async fn delete_with_instances(ctx: &Ctx<'_>, fleet_id: &str) -> bool {
    let outcome = ctx
        .clients
        .ec2
        .delete_fleets()
        .fleet_ids(fleet_id)
        .terminate_instances(true)
        .send()
        .await
        .map(|out| {
            out.successful_fleet_deletions()
                .iter()
                .any(|f| f.fleet_id() == Some(fleet_id))
        })
        .map_err(|e| sdk_error("DeleteFleets", e));
    deleted_with_instances("EC2 fleet", fleet_id, outcome)
}

/// How many live instances of `fleet` stay after `machines` go, asked of the cloud.
async fn others_left(
    ctx: &Ctx<'_>,
    fleet: &aws_sdk_ec2::types::FleetData,
    request_id: Option<&str>,
    machines: &[String],
) -> Result<usize, ProviderError> {
    let ec2 = &ctx.clients.ec2;
    if fleet.r#type() == Some(&AwsFleetType::Instant) {
        // DescribeFleetInstances does not serve instant fleets. The fleet is the request's
        // (its client token is the request id), so its other instances are the request's:
        // found by orb's request tag. Without a request id the fleet is kept.
        return Ok(match request_id {
            None => usize::MAX,
            Some(request_id) => {
                let going: HashSet<&str> = machines.iter().map(String::as_str).collect();
                by_requests(ec2, &[request_id.to_owned()])
                    .await?
                    .iter()
                    .map(to_machine)
                    .filter(|m| !going.contains(m.machine_id.as_str()))
                    .filter(|m| !m.state.is_gone() && m.state != MachineState::ShuttingDown)
                    .count()
            }
        });
    }
    let fleet_id = fleet.fleet_id().unwrap_or_default();
    let active = ec2
        .describe_fleet_instances()
        .fleet_id(fleet_id)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeFleetInstances", e))?;
    Ok(remaining(
        active
            .active_instances()
            .iter()
            .filter_map(|i| i.instance_id()),
        machines,
    ))
}
