//! Launch templates for EC2 Fleet, Spot Fleet and Auto Scaling groups.
//!
//! A request launches from the template's own launch template (`launchTemplateId`) as it is,
//! or from a new version of it holding the settings the template gives beside it (and orb's
//! tags); or from one made for it: named after the request. Both are made with a client token
//! derived from the request id, so a retried or resumed provision finds the one it made.
//! Templates made for a request are deleted with its last machine; versions of an operator's
//! template stay, described with the request id.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, Filter, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType, Tag,
    VolumeType,
};
use orb_plugin_api::{ErrorKind, ProviderError};

use crate::context::{Ctx, Plan};
use crate::errors::sdk_error;

/// The launch template a request launches from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplateRef {
    /// Its id; its name, in a dry run (the template orb would make does not exist).
    pub id: String,
    /// The version to launch.
    pub version: String,
    /// Whether `id` is the name of a template orb would make.
    pub by_name: bool,
}

impl LaunchTemplateRef {
    /// An existing template, at `version`.
    fn existing(id: String, version: String) -> Self {
        LaunchTemplateRef {
            id,
            version,
            by_name: false,
        }
    }

    /// Its id, unless it is named.
    pub fn template_id(&self) -> Option<String> {
        (!self.by_name).then(|| self.id.clone())
    }

    /// Its name, when it is named.
    pub fn template_name(&self) -> Option<String> {
        self.by_name.then(|| self.id.clone())
    }
}

/// The launch template a dry run of `plan` names, and what stops making it: the operator's
/// own, when the template names one and gives nothing beside it; else the one orb would make,
/// by name, after a dry run of its creation.
pub async fn check(ctx: &Ctx<'_>, plan: &Plan) -> (LaunchTemplateRef, Vec<String>) {
    let t = &plan.template;
    if let (Some(id), false) = (&t.launch_template_id, t.overrides_launch_template) {
        let version = t
            .launch_template_version
            .clone()
            .unwrap_or_else(|| "$Latest".into());
        return (LaunchTemplateRef::existing(id.clone(), version), Vec::new());
    }
    let name = name_for(plan, ctx);
    let made = ctx
        .clients
        .ec2
        .create_launch_template()
        .dry_run(true)
        .launch_template_name(&name)
        .launch_template_data(data_of(plan))
        .tag_specifications(crate::instances::tag_spec(
            ResourceType::LaunchTemplate,
            &plan.tags,
        ))
        .send()
        .await;
    let problems = crate::errors::dry_run("CreateLaunchTemplate", made)
        .into_iter()
        .collect();
    let named = LaunchTemplateRef {
        id: name,
        version: "$Latest".into(),
        by_name: true,
    };
    (named, problems)
}

/// Whether `problem`, found by a fleet's dry run that names `lt`, is only that `lt` does not
/// exist yet because orb makes it with the request: its creation has a dry run of its own.
pub fn not_made_yet(lt: &LaunchTemplateRef, problem: &str) -> bool {
    lt.by_name && problem.contains("InvalidLaunchTemplateName.NotFound") && problem.contains(&lt.id)
}

/// The name of the launch template made for one request.
fn request_template_name(request_id: &str) -> String {
    format!("orb-{request_id}")
}

/// The name of the launch template `plan` launches from, when orb makes it.
fn name_for(plan: &Plan, ctx: &Ctx<'_>) -> String {
    if ctx.config.launch_template.create_per_request {
        request_template_name(&plan.request_id)
    } else {
        format!("orb-{}-{}", ctx.instance, plan.template.template_id)
    }
}

/// The launch template for `plan`: the template's own (`launchTemplateId`), at its version,
/// or at a new version of it holding what the template gives beside it; else one made for
/// it.
pub async fn for_request(ctx: &Ctx<'_>, plan: &Plan) -> Result<LaunchTemplateRef, ProviderError> {
    let t = &plan.template;
    if let Some(id) = &t.launch_template_id {
        let version = t
            .launch_template_version
            .clone()
            .unwrap_or_else(|| "$Latest".into());
        if !t.overrides_launch_template {
            return Ok(LaunchTemplateRef::existing(id.clone(), version));
        }
        return new_version(ctx, plan, id, &version).await;
    }
    let name = name_for(plan, ctx);
    if let Some(id) = find(ctx, &name).await? {
        return Ok(LaunchTemplateRef::existing(id, "$Latest".into()));
    }
    let data = data_of(plan);
    let created = ctx
        .clients
        .ec2
        .create_launch_template()
        .launch_template_name(&name)
        .client_token(format!("{}-lt", plan.request_id))
        .launch_template_data(data)
        .tag_specifications(crate::instances::tag_spec(
            ResourceType::LaunchTemplate,
            &plan.tags,
        ))
        .send()
        .await;
    match created {
        Ok(out) => Ok(LaunchTemplateRef::existing(
            out.launch_template()
                .and_then(|lt| lt.launch_template_id())
                .unwrap_or_default()
                .to_owned(),
            "$Latest".into(),
        )),
        Err(e) => {
            let error = sdk_error("CreateLaunchTemplate", e);
            // Made concurrently by another process for the same request: use it.
            if error.already_exists() {
                if let Some(id) = find(ctx, &name).await? {
                    return Ok(LaunchTemplateRef::existing(id, "$Latest".into()));
                }
            }
            Err(error.into())
        }
    }
}

/// The launch settings the template gives, with orb's tags on instances and volumes.
fn data_of(plan: &Plan) -> RequestLaunchTemplateData {
    let t = &plan.template;
    let instance_tags: Vec<Tag> = plan
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let mut data = RequestLaunchTemplateData::builder()
        .set_image_id((!plan.image_id.is_empty()).then(|| plan.image_id.clone()))
        .set_key_name(t.key_name.clone())
        .set_security_group_ids((!t.security_groups.is_empty()).then(|| t.security_groups.clone()))
        .set_user_data(
            t.user_data
                .as_ref()
                .map(|u| aws_smithy_types::base64::encode(u.as_bytes())),
        )
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(instance_tags.clone()))
                .build(),
        )
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Volume)
                .set_tags(Some(instance_tags))
                .build(),
        );
    if let Some(profile) = &t.instance_profile {
        let spec = LaunchTemplateIamInstanceProfileSpecificationRequest::builder();
        data = data.iam_instance_profile(if profile.starts_with("arn:") {
            spec.arn(profile).build()
        } else {
            spec.name(profile).build()
        });
    }
    if t.root_volume_gb.is_some() || t.volume_type.is_some() || t.iops.is_some() {
        data = data.block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/xvda")
                .ebs(
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .set_volume_size(t.root_volume_gb)
                        .set_volume_type(t.volume_type.as_deref().map(VolumeType::from))
                        .set_iops(t.iops)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        );
    }
    data.build()
}

/// A new version of the operator's launch template `id`, from `source`, holding what the
/// template gives beside it and orb's tags; made once per request (its client token).
async fn new_version(
    ctx: &Ctx<'_>,
    plan: &Plan,
    id: &str,
    source: &str,
) -> Result<LaunchTemplateRef, ProviderError> {
    let out = ctx
        .clients
        .ec2
        .create_launch_template_version()
        .launch_template_id(id)
        .source_version(source)
        .client_token(format!("{}-ltv", plan.request_id))
        .version_description(format!("orb {}", plan.request_id))
        .launch_template_data(data_of(plan))
        .send()
        .await
        .map_err(|e| sdk_error("CreateLaunchTemplateVersion", e))?;
    let version = out
        .launch_template_version()
        .and_then(|v| v.version_number())
        .ok_or_else(|| ProviderError::internal("CreateLaunchTemplateVersion named no version"))?;
    tracing::info!(launch_template = %id, version, "launch template version made for the request");
    Ok(LaunchTemplateRef::existing(
        id.to_owned(),
        version.to_string(),
    ))
}

async fn find(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>, ProviderError> {
    let out = ctx
        .clients
        .ec2
        .describe_launch_templates()
        .filters(
            Filter::builder()
                .name("launch-template-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("DescribeLaunchTemplates", e))?;
    Ok(out
        .launch_templates()
        .first()
        .and_then(|lt| lt.launch_template_id())
        .map(str::to_owned))
}

/// Deletes the launch template made for `request_id` (none when templates are shared), by its
/// name: one call, and a template already gone is deleted.
pub async fn delete_for_request(ctx: &Ctx<'_>, request_id: &str) -> Result<(), ProviderError> {
    if !ctx.config.launch_template.create_per_request {
        return Ok(());
    }
    let name = request_template_name(request_id);
    match ctx
        .clients
        .ec2
        .delete_launch_template()
        .launch_template_name(&name)
        .send()
        .await
    {
        Ok(_) => {
            tracing::info!(launch_template = %name, request_id, "launch template deleted");
            Ok(())
        }
        Err(e) => {
            let error = sdk_error("DeleteLaunchTemplate", e);
            if error.kind == ErrorKind::NotFound {
                Ok(())
            } else {
                Err(error.into())
            }
        }
    }
}

/// A root volume mapping for RunInstances, when the template sizes it.
pub fn root_volume(t: &crate::template::AwsTemplate) -> Option<BlockDeviceMapping> {
    (t.root_volume_gb.is_some() || t.volume_type.is_some() || t.iops.is_some()).then(|| {
        BlockDeviceMapping::builder()
            .device_name("/dev/xvda")
            .ebs(
                aws_sdk_ec2::types::EbsBlockDevice::builder()
                    .set_volume_size(t.root_volume_gb)
                    .set_volume_type(t.volume_type.as_deref().map(VolumeType::from))
                    .set_iops(t.iops)
                    .delete_on_termination(true)
                    .build(),
            )
            .build()
    })
}
