//! The steps the handlers share: terminating instances, counting released capacity, retiring
//! an empty resource, the overrides of a fleet, and capacity shortfalls.

use orb_plugin_api::{ErrorKind, Failure, ProviderError};

use crate::context::Ctx;
use crate::errors::{sdk_error, AwsError};
use crate::template::AwsTemplate;

/// Terminates instances, 1,000 per call.
pub async fn terminate(ctx: &Ctx<'_>, ids: &[String]) -> Result<(), ProviderError> {
    for chunk in ids.chunks(1000) {
        ctx.clients
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("TerminateInstances", e))?;
    }
    Ok(())
}

/// Deletes the launch templates made for `request_id` once its resource is gone; a template
/// left behind is logged, not a failed return.
pub async fn clean_up_launch_templates(ctx: &Ctx<'_>, request_id: &str) {
    if let Err(e) = crate::launch_template::delete_for_request(ctx, request_id).await {
        tracing::warn!(request_id, error = %e, "launch templates of the request could not be deleted");
    }
}

/// The capacity units `machines` account for, given the `(instance type, weight)` pairs of
/// their fleet's overrides: their count when every weight is 1, else the sum of their types'
/// weights (one `DescribeInstances` to learn the types).
pub async fn released_units(
    ctx: &Ctx<'_>,
    weights: Vec<(String, f64)>,
    machines: &[String],
) -> Result<i32, ProviderError> {
    if weights.iter().all(|(_, w)| *w == 1.0) {
        return Ok(machines.len() as i32);
    }
    let instances = crate::instances::by_ids(&ctx.clients.ec2, machines).await?;
    let units: f64 = instances
        .iter()
        .map(|i| {
            let it = i.instance_type().map(|t| t.as_str()).unwrap_or_default();
            weights
                .iter()
                .find(|(name, _)| name == it)
                .map(|(_, w)| *w)
                .unwrap_or(1.0)
        })
        .sum();
    Ok(units.round() as i32)
}

/// How many of a resource's `active` instances are not among the `released` ones.
pub fn remaining<'a>(active: impl Iterator<Item = &'a str>, released: &[String]) -> usize {
    active
        .filter(|id| !released.iter().any(|r| r == id))
        .count()
}

/// Whether the cloud took the deletion of `resource` with its instances: `outcome` says if
/// the answer named it. A refusal is logged; the caller then terminates the machines itself.
pub fn deleted_with_instances(what: &str, resource: &str, outcome: Result<bool, AwsError>) -> bool {
    match outcome {
        Ok(taken) => taken,
        Err(e) => {
            tracing::warn!(resource, error = %e, "the {what} could not be deleted with its instances; terminating them");
            false
        }
    }
}

/// Finishes an empty resource: `deleted` is the outcome of deleting it (its machines are gone
/// already, so a failure is logged, not a failed return); then the request's launch templates.
pub async fn retire(
    ctx: &Ctx<'_>,
    what: &str,
    resource: &str,
    request_id: Option<&str>,
    deleted: Result<(), AwsError>,
) {
    match deleted {
        Ok(()) => tracing::info!(resource, "{what} deleted"),
        Err(e) => tracing::warn!(resource, error = %e, "the empty {what} could not be deleted"),
    }
    if let Some(request_id) = request_id {
        clean_up_launch_templates(ctx, request_id).await;
    }
}

/// The template's subnets, or one "none" (the account's default) when it names none.
pub fn subnets_or_none(t: &AwsTemplate) -> Vec<Option<&str>> {
    if t.subnets.is_empty() {
        vec![None]
    } else {
        t.subnets.iter().map(|s| Some(s.as_str())).collect()
    }
}

/// Every instance type × subnet of a template, with the type's weight: the overrides of a
/// fleet. A template without subnets gives one pair per type, with no subnet.
pub fn type_subnet_pairs(t: &AwsTemplate) -> Vec<(&str, Option<&str>, f64)> {
    let subnets = subnets_or_none(t);
    t.offered_types()
        .flat_map(|(vm_type, weight)| {
            subnets
                .iter()
                .map(move |subnet| (vm_type.as_str(), *subnet, *weight))
        })
        .collect()
}

/// Capacity that could not be provisioned because of `error`.
pub fn shortfall(count: u32, error: &AwsError) -> Failure {
    Failure {
        count,
        kind: error.kind,
        code: error.code.clone(),
        message: error.message().to_owned(),
    }
}

/// Whether a provision error only means less capacity than asked (so the request goes on with
/// what it got), rather than a failure of the request.
pub fn is_shortfall(error: &AwsError) -> bool {
    matches!(error.kind, ErrorKind::Capacity | ErrorKind::Limit)
}
