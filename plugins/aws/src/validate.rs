//! Template validation against the account: images, subnets, security groups, roles and
//! instance types, every problem at once.

use orb_plugin_api::Template;

use crate::context::Ctx;
use crate::errors::sdk_error;
use crate::template::AwsTemplate;

/// Every problem of `template` in this account, at once (empty when it is valid).
pub async fn validate(ctx: &Ctx<'_>, template: &Template) -> Vec<String> {
    let t = match AwsTemplate::parse(template, ctx.config) {
        Ok(t) => t,
        Err(problems) => return problems,
    };
    let id = &t.template_id;
    let ec2 = &ctx.clients.ec2;
    let mut problems = Vec::new();
    if let Some(lt) = &t.launch_template_id {
        match ec2
            .describe_launch_templates()
            .launch_template_ids(lt)
            .send()
            .await
        {
            Ok(out) if out.launch_templates().is_empty() => problems.push(format!(
                "template '{id}': launch template {lt} does not exist"
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!(
                "template '{id}': launch template {lt}: {}",
                sdk_error("DescribeLaunchTemplates", e).message().to_owned()
            )),
        }
    }
    if t.launch_template_id.is_none() {
        match crate::image::resolve(ctx, &t.image).await {
            Ok(image) => match ec2.describe_images().image_ids(&image).send().await {
                Ok(out) if out.images().is_empty() => {
                    problems.push(format!("template '{id}': image {image} does not exist"))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!(
                    "template '{id}': image {image}: {}",
                    sdk_error("DescribeImages", e).message().to_owned()
                )),
            },
            Err(e) => problems.push(format!(
                "template '{id}': imageId {}: {}",
                t.image, e.message
            )),
        }
    }
    let types: Vec<String> = t.offered_types().map(|(n, _)| n.clone()).collect();
    match crate::instance_types::describe(ctx, &types).await {
        Ok(known) => {
            for name in types
                .iter()
                .filter(|n| !known.iter().any(|k| &k.name == *n))
            {
                problems.push(format!(
                    "template '{id}': instance type {name} does not exist in {}",
                    ctx.clients.region
                ));
            }
        }
        Err(e) => problems.push(format!(
            "template '{id}': instance types {types:?}: {}",
            e.message
        )),
    }
    if !t.subnets.is_empty() {
        if let Err(e) = ec2
            .describe_subnets()
            .set_subnet_ids(Some(t.subnets.clone()))
            .send()
            .await
        {
            problems.push(format!(
                "template '{id}': subnets {:?}: {}",
                t.subnets,
                sdk_error("DescribeSubnets", e).message().to_owned()
            ));
        }
    }
    if !t.security_groups.is_empty() {
        if let Err(e) = ec2
            .describe_security_groups()
            .set_group_ids(Some(t.security_groups.clone()))
            .send()
            .await
        {
            problems.push(format!(
                "template '{id}': security groups {:?}: {}",
                t.security_groups,
                sdk_error("DescribeSecurityGroups", e).message().to_owned()
            ));
        }
    }
    if let Some(role) = &t.fleet_role {
        if !(role.starts_with("arn:aws") && role.contains(":role/")) {
            problems.push(format!("template '{id}': fleetRole '{role}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"));
        }
    }
    problems
}
