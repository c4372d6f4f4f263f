//! RunInstances: batches of at most `max_instances_per_call`, on demand or spot, with a client
//! token per batch derived from the request id; from the operator's launch template when the
//! template names one.

use aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder;
use aws_sdk_ec2::types::{
    IamInstanceProfileSpecification, InstanceMarketOptionsRequest, InstanceType,
    LaunchTemplateSpecification, MarketType, ResourceType, SpotMarketOptions,
};
use orb_plugin_api::{ProviderError, ProvisionResult};

use super::shared::{is_shortfall, shortfall, terminate};
use super::{Handler, Release};
use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::errors::{dry_run, sdk_error};
use crate::instances::{tag_spec, to_machine};
use crate::launch_template::root_volume;
use crate::template::Price;

/// The RunInstances handler.
pub struct RunInstances;

/// The RunInstances call of batch number `batch` (of `size` instances) of `plan`.
fn batch_call(ctx: &Ctx<'_>, plan: &Plan, batch: usize, size: u32) -> RunInstancesFluentBuilder {
    let settings = ctx.config.handlers.run_instances.settings();
    let t = &plan.template;
    let instance_type = InstanceType::from(t.vm_types[0].0.as_str());
    let subnet = (!t.subnets.is_empty()).then(|| t.subnets[batch % t.subnets.len()].clone());
    let mut call = ctx
        .clients
        .ec2
        .run_instances()
        .client_token(plan.token(&format!("-{batch}")))
        // From the operator's launch template when the template names one (at its version),
        // with the template's own fields over it, as EC2 Fleet and Auto Scaling launch.
        .set_launch_template(t.launch_template_id.as_ref().map(|id| {
            LaunchTemplateSpecification::builder()
                .launch_template_id(id)
                .version(
                    t.launch_template_version
                        .clone()
                        .unwrap_or_else(|| "$Latest".into()),
                )
                .build()
        }))
        .set_image_id((!plan.image_id.is_empty()).then(|| plan.image_id.clone()))
        .instance_type(instance_type.clone())
        .min_count(if settings.allow_partial {
            1
        } else {
            size as i32
        })
        .max_count(size as i32)
        .set_subnet_id(subnet)
        .set_security_group_ids((!t.security_groups.is_empty()).then(|| t.security_groups.clone()))
        .set_key_name(t.key_name.clone())
        .set_user_data(
            t.user_data
                .as_ref()
                .map(|u| aws_smithy_types::base64::encode(u.as_bytes())),
        )
        .tag_specifications(tag_spec(ResourceType::Instance, &plan.tags))
        .tag_specifications(tag_spec(ResourceType::Volume, &plan.tags));
    if let Some(profile) = &t.instance_profile {
        let spec = IamInstanceProfileSpecification::builder();
        call = call.iam_instance_profile(if profile.starts_with("arn:") {
            spec.arn(profile).build()
        } else {
            spec.name(profile).build()
        });
    }
    if let Some(volume) = root_volume(t) {
        call = call.block_device_mappings(volume);
    }
    if t.price == Price::Spot {
        call = call.instance_market_options(
            InstanceMarketOptionsRequest::builder()
                .market_type(MarketType::Spot)
                .spot_options(
                    SpotMarketOptions::builder()
                        .set_max_price(t.max_spot_price.clone())
                        .build(),
                )
                .build(),
        );
    }
    call
}

impl Handler for RunInstances {
    async fn check(&self, ctx: &Ctx<'_>, plan: &Plan) -> Vec<String> {
        let per_call = ctx
            .config
            .handlers
            .run_instances
            .settings()
            .max_instances_per_call;
        let size = plan.count.min(per_call.max(1));
        let launched = batch_call(ctx, plan, 0, size).dry_run(true).send().await;
        dry_run("RunInstances", launched).into_iter().collect()
    }

    async fn provision(
        &self,
        ctx: &Ctx<'_>,
        plan: &Plan,
    ) -> Result<ProvisionResult, ProviderError> {
        let settings = ctx.config.handlers.run_instances.settings();
        let per_call = settings.max_instances_per_call.max(1);
        let mut result = ProvisionResult::default();
        let mut launched = 0u32;
        let mut batch = 0usize;
        while launched < plan.count {
            let size = (plan.count - launched).min(per_call);
            let call = batch_call(ctx, plan, batch, size);
            match call.send().await {
                Ok(out) => {
                    let got = out.instances().len() as u32;
                    let reservation = out.reservation_id().map(str::to_owned);
                    result.resource_ids.extend(reservation.clone());
                    result.machines.extend(out.instances().iter().map(|i| {
                        let mut m = to_machine(i);
                        m.resource_id = m.resource_id.or(reservation.clone());
                        m
                    }));
                    launched += got;
                    if got < size {
                        result.failures.push(orb_plugin_api::Failure {
                            count: size - got,
                            kind: orb_plugin_api::ErrorKind::Capacity,
                            code: None,
                            message: format!("RunInstances launched {got} of {size}"),
                        });
                        launched += size - got;
                    }
                }
                Err(e) => {
                    let error = sdk_error("RunInstances", e);
                    if result.machines.is_empty() && !is_shortfall(&error) {
                        return Err(error.into());
                    }
                    // Keep what was launched; the rest is a shortfall.
                    result
                        .failures
                        .push(shortfall(plan.count - launched, &error));
                    break;
                }
            }
            batch += 1;
        }
        Ok(result)
    }

    async fn release(&self, ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError> {
        terminate(ctx, release.machines).await
    }

    /// Instances are the only thing RunInstances makes; the cancel terminates them by tag.
    async fn delete_on_cancel(
        &self,
        _ctx: &Ctx<'_>,
        _ids: Vec<String>,
        _released: &mut Released,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
}
