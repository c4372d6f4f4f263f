//! Auto Scaling groups: a launch template and a group sized to the request across the
//! template's subnets, named after the request (the name is the idempotency token: a provision
//! that finds the group made already, its process having died, asks for nothing more).
//!
//! Return: the group's members are read first (one call for up to 100 groups). A return of
//! every member force-deletes the group, which terminates them, and deletes the launch
//! template. Otherwise they are detached with a decrement of the desired capacity, 20 per call
//! (the API's limit), so the group neither kills another instance nor replaces them, and then
//! terminated 1,000 per call.

use aws_sdk_autoscaling::types::{
    AutoScalingGroup, InstancesDistribution, LaunchTemplate, LaunchTemplateOverrides,
    LaunchTemplateSpecification, LifecycleState, MixedInstancesPolicy, Tag,
};
use orb_plugin_api::{ErrorKind, Machine, MachineState, ProviderError, ProvisionResult};

use super::{Handler, Release};
use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::errors::sdk_error;
use crate::launch_template::{self, for_request};
use crate::template::Price;

/// Most group names per `DescribeAutoScalingGroups` call.
const GROUPS_PER_CALL: usize = 100;
/// Most instances per `DetachInstances` call.
const DETACH_PER_CALL: usize = 20;

/// The Auto Scaling group handler.
pub struct Asg;

/// The group made for a request.
pub fn group_name(request_id: &str) -> String {
    format!("orb-{request_id}")
}

impl Handler for Asg {
    /// AWS's CreateAutoScalingGroup has no dry run: the launch template's creation runs dry,
    /// and the group's name is checked free (a describe, which also checks Auto Scaling
    /// answers); the group's own permission is not checked.
    async fn check(&self, ctx: &Ctx<'_>, plan: &Plan) -> Vec<String> {
        let (_, mut problems) = launch_template::check(ctx, plan).await;
        let name = group_name(&plan.request_id);
        match group(ctx, &name).await {
            Ok(None) => {}
            Ok(Some(_)) => problems.push(format!("the group {name} exists already")),
            Err(e) => problems.push(e.message),
        }
        problems
    }

    async fn provision(
        &self,
        ctx: &Ctx<'_>,
        plan: &Plan,
    ) -> Result<ProvisionResult, ProviderError> {
        let t = &plan.template;
        let name = group_name(&plan.request_id);
        // A provision resumed after its process died may find the group already made: it is
        // the request's, and is not asked for again (AWS would refuse a second group of the
        // name; an endpoint that replaced it instead would launch the machines twice).
        if group(ctx, &name).await?.is_some() {
            tracing::info!(group = %name, "auto scaling group made before: resumed");
            return Ok(ProvisionResult {
                resource_ids: vec![name],
                ..Default::default()
            });
        }
        let lt = for_request(ctx, plan).await?;
        let spec = LaunchTemplateSpecification::builder()
            .set_launch_template_id(lt.template_id())
            .set_launch_template_name(lt.template_name())
            .version(&lt.version)
            .build();
        let mut call = ctx
            .clients
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&name)
            .min_size(0)
            .max_size(plan.count as i32)
            .desired_capacity(plan.count as i32)
            .vpc_zone_identifier(t.subnets.join(","))
            .new_instances_protected_from_scale_in(true)
            .set_context(t.context.clone());
        for (key, value) in &plan.tags {
            call = call.tags(
                Tag::builder()
                    .resource_id(&name)
                    .resource_type("auto-scaling-group")
                    .key(key)
                    .value(value)
                    .propagate_at_launch(true)
                    .build(),
            );
        }
        // The instance types go in the policy's overrides, even for one type on demand: AWS
        // refuses a group whose launch template names no instance type (orb's names none).
        call = call.mixed_instances_policy(
            MixedInstancesPolicy::builder()
                .launch_template(
                    LaunchTemplate::builder()
                        .launch_template_specification(spec)
                        .set_overrides(Some(match &t.requirements {
                            Some(r) => vec![LaunchTemplateOverrides::builder()
                                .instance_requirements(crate::requirements::for_auto_scaling(r))
                                .build()],
                            None => t
                                .offered_types()
                                .map(|(vm_type, weight)| {
                                    LaunchTemplateOverrides::builder()
                                        .instance_type(vm_type)
                                        .weighted_capacity(format!(
                                            "{}",
                                            weight.round().max(1.0) as i64
                                        ))
                                        .build()
                                })
                                .collect(),
                        }))
                        .build(),
                )
                .instances_distribution(
                    InstancesDistribution::builder()
                        .on_demand_base_capacity(0)
                        .on_demand_percentage_above_base_capacity(match t.price {
                            Price::OnDemand => 100,
                            Price::Spot => 0,
                            Price::Heterogeneous => t.percent_on_demand as i32,
                        })
                        .set_spot_allocation_strategy(
                            t.allocation_strategy.as_deref().map(hyphenated),
                        )
                        .set_on_demand_allocation_strategy(
                            t.allocation_strategy_on_demand.as_deref().map(hyphenated),
                        )
                        .set_spot_max_price(t.max_spot_price.clone())
                        .build(),
                )
                .build(),
        );
        if let Err(e) = call.send().await {
            let error = sdk_error("CreateAutoScalingGroup", e);
            // Made already for this request (a retried or resumed provision): that is the group.
            if !error.already_exists() {
                return Err(error.into());
            }
        }
        tracing::info!(group = %name, units = plan.count, "auto scaling group created");
        Ok(ProvisionResult {
            resource_ids: vec![name],
            ..Default::default()
        })
    }

    async fn release(&self, ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError> {
        let Release {
            resource_id: group,
            request_id,
            machines,
            staying,
        } = *release;
        let asg = &ctx.clients.autoscaling;
        if staying == Some(0) {
            // Returning the whole group: the forced delete terminates its instances. One that
            // a status poll still finds running later is terminated again by the broker.
            asg.delete_auto_scaling_group()
                .auto_scaling_group_name(group)
                .force_delete(true)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteAutoScalingGroup", e))?;
            tracing::info!(group, "auto scaling group deleted with its instances");
            if let Some(request_id) = request_id {
                super::clean_up_launch_templates(ctx, request_id).await;
            }
            return Ok(());
        }
        // Part of the group: detach the machines with a lower desired capacity, 20 per call (the
        // API's limit), so the group neither kills another instance nor replaces them; then
        // terminate them 1,000 per call.
        for chunk in machines.chunks(DETACH_PER_CALL) {
            let detached = asg
                .detach_instances()
                .auto_scaling_group_name(group)
                .set_instance_ids(Some(chunk.to_vec()))
                .should_decrement_desired_capacity(true)
                .send()
                .await;
            if let Err(e) = detached {
                let error = sdk_error("DetachInstances", e);
                if error.kind != ErrorKind::Validation {
                    return Err(error.into());
                }
                // Some have left the group already: each of the others on its own.
                tracing::debug!(group, error = %error, "detaching one by one");
                leave_one_by_one(ctx, chunk).await?;
            }
        }
        super::terminate(ctx, machines).await?;
        let empty = staying.is_none()
            && self::group(ctx, group)
                .await?
                .is_none_or(|g| g.desired_capacity() == Some(0));
        if empty {
            let deleted = asg
                .delete_auto_scaling_group()
                .auto_scaling_group_name(group)
                .force_delete(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("DeleteAutoScalingGroup", e));
            super::shared::retire(ctx, "auto scaling group", group, request_id, deleted).await;
        }
        Ok(())
    }

    /// Force-deletes Auto Scaling groups (the resource id is the group's name); a group that no
    /// longer exists is released.
    async fn delete_on_cancel(
        &self,
        ctx: &Ctx<'_>,
        ids: Vec<String>,
        released: &mut Released,
    ) -> Result<(), ProviderError> {
        for name in ids {
            let deleted = ctx
                .clients
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(&name)
                .force_delete(true)
                .send()
                .await;
            match deleted {
                Ok(_) => released.done.push(name),
                Err(e) => {
                    let error = sdk_error("DeleteAutoScalingGroup", e);
                    if error.kind == ErrorKind::NotFound {
                        released.done.push(name);
                    } else if error.retryable {
                        return Err(error.into());
                    } else {
                        released
                            .refused
                            .push(format!("Auto Scaling group {name} ({})", error.message()));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Terminates each of `machines` with a decrement of its group's desired capacity; one no
/// longer in the group is left to the termination that follows.
async fn leave_one_by_one(ctx: &Ctx<'_>, machines: &[String]) -> Result<(), ProviderError> {
    for id in machines {
        if let Err(e) = ctx
            .clients
            .autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(true)
            .send()
            .await
        {
            let error = sdk_error("TerminateInstanceInAutoScalingGroup", e);
            if !(error.kind == ErrorKind::Validation || error.kind == ErrorKind::NotFound) {
                return Err(error.into());
            }
            tracing::debug!(instance = %id, error = %error, "instance already left the group");
        }
    }
    Ok(())
}

/// The group `name`, when it exists.
async fn group(ctx: &Ctx<'_>, name: &str) -> Result<Option<AutoScalingGroup>, ProviderError> {
    Ok(ctx
        .clients
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeAutoScalingGroups", e))?
        .auto_scaling_groups()
        .first()
        .cloned())
}

/// The members of `groups`, read as machines of their group.
pub async fn members(ctx: &Ctx<'_>, groups: &[String]) -> Result<Vec<Machine>, ProviderError> {
    let mut machines = Vec::new();
    for chunk in groups.chunks(GROUPS_PER_CALL) {
        let mut pages = ctx
            .clients
            .autoscaling
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names(Some(chunk.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("DescribeAutoScalingGroups", e))?;
            for g in page.auto_scaling_groups() {
                let name = g.auto_scaling_group_name().unwrap_or_default();
                machines.extend(g.instances().iter().map(|i| {
                    let mut m = Machine::new(
                        i.instance_id().unwrap_or_default(),
                        member_state(i.lifecycle_state()),
                    );
                    m.resource_id = Some(name.to_owned());
                    m
                }));
            }
        }
    }
    Ok(machines)
}

/// A group member's state, from its lifecycle state.
fn member_state(state: Option<&LifecycleState>) -> MachineState {
    match state.map(|s| s.as_str()).unwrap_or_default() {
        s if s.starts_with("Pending") => MachineState::Pending,
        s if s.starts_with("Terminat") => MachineState::ShuttingDown,
        "" => MachineState::Unknown,
        _ => MachineState::Running,
    }
}

/// `lowestPrice` → `lowest-price`: Auto Scaling's spelling of allocation strategies.
fn hyphenated(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_are_hyphenated() {
        assert_eq!(hyphenated("lowestPrice"), "lowest-price");
        assert_eq!(hyphenated("capacityOptimized"), "capacity-optimized");
    }
}
