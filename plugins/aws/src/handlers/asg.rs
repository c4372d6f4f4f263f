//! Auto Scaling groups: a launch template and a group sized to the request across the
//! template's subnets, named after the request (the name is the idempotency token: a second
//! create finds the group).
//!
//! Return: `TerminateInstanceInAutoScalingGroup` with decrement for each returned instance, so
//! the group does not replace it; an empty group is deleted with its launch template. A return
//! of every machine of the group deletes the group, then terminates them in one call.

use aws_sdk_autoscaling::types::{
    InstancesDistribution, LaunchTemplate, LaunchTemplateOverrides, LaunchTemplateSpecification,
    MixedInstancesPolicy, Tag,
};
use orb_plugin_api::{ErrorKind, ProviderError, ProvisionResult};

use super::Handler;
use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::errors::sdk_error;
use crate::launch_template::for_request;
use crate::template::Price;

/// The Auto Scaling group handler.
pub struct Asg;

/// The group made for a request.
pub fn group_name(request_id: &str) -> String {
    format!("orb-{request_id}")
}

impl Handler for Asg {
    async fn provision(
        &self,
        ctx: &Ctx<'_>,
        plan: &Plan,
    ) -> Result<ProvisionResult, ProviderError> {
        let t = &plan.template;
        let lt = for_request(ctx, plan).await?;
        let name = group_name(&plan.request_id);
        let spec = LaunchTemplateSpecification::builder()
            .launch_template_id(&lt.id)
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
            .new_instances_protected_from_scale_in(true);
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
        let mixed = t.vm_types.len() > 1 || t.price != Price::OnDemand;
        call = if mixed {
            call.mixed_instances_policy(
                MixedInstancesPolicy::builder()
                    .launch_template(
                        LaunchTemplate::builder()
                            .launch_template_specification(spec)
                            .set_overrides(Some(
                                t.vm_types
                                    .iter()
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
                            ))
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
                            .set_spot_max_price(t.max_spot_price.clone())
                            .build(),
                    )
                    .build(),
            )
        } else {
            call.launch_template(spec)
        };
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

    async fn release(
        &self,
        ctx: &Ctx<'_>,
        group: &str,
        request_id: Option<&str>,
        machines: &[String],
    ) -> Result<(), ProviderError> {
        let asg = &ctx.clients.autoscaling;
        let describe = || async {
            asg.describe_auto_scaling_groups()
                .auto_scaling_group_names(group)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeAutoScalingGroups", e))
        };
        let before = describe().await?;
        let members: Vec<&str> = before
            .auto_scaling_groups()
            .first()
            .map(|g| {
                g.instances()
                    .iter()
                    .filter_map(|i| i.instance_id())
                    .collect()
            })
            .unwrap_or_default();
        // Returning the whole group: delete it, then terminate its instances in one call.
        let whole_group =
            !members.is_empty() && members.iter().all(|m| machines.iter().any(|r| r == m));
        if whole_group {
            asg.delete_auto_scaling_group()
                .auto_scaling_group_name(group)
                .force_delete(true)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteAutoScalingGroup", e))?;
            // Deleting the group first means nothing replaces the instances terminated next.
            super::terminate(ctx, machines).await?;
            tracing::info!(group, "auto scaling group deleted with its instances");
            if let Some(request_id) = request_id {
                super::clean_up_launch_templates(ctx, request_id).await;
            }
            return Ok(());
        }
        let empty = {
            for id in machines {
                if let Err(e) = asg
                    .terminate_instance_in_auto_scaling_group()
                    .instance_id(id)
                    .should_decrement_desired_capacity(true)
                    .send()
                    .await
                {
                    let error = sdk_error("TerminateInstanceInAutoScalingGroup", e);
                    // No longer in the group (already terminating): nothing to do for it.
                    if !(error.kind == ErrorKind::Validation || error.kind == ErrorKind::NotFound) {
                        return Err(error.into());
                    }
                    tracing::debug!(instance = %id, error = %error, "instance already left the group");
                }
            }
            describe()
                .await?
                .auto_scaling_groups()
                .first()
                .is_none_or(|g| g.desired_capacity() == Some(0))
        };
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
