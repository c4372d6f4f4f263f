//! The four ways to provision, each a small module behind one trait: provision a request,
//! release machines of one of its cloud resources.

mod asg;
mod ec2_fleet;
mod run_instances;
mod spot_fleet;

use std::collections::BTreeMap;

use orb_plugin_api::{ErrorKind, Failure, ProviderError, ProvisionResult};

use crate::clients::Clients;
use crate::config::AwsConfig;
use crate::errors::sdk_error;
use crate::template::{Api, AwsTemplate};

pub use asg::Asg;
pub use ec2_fleet::Ec2Fleet;
pub use run_instances::RunInstances;
pub use spot_fleet::SpotFleet;

/// What every handler works with.
pub struct Ctx<'a> {
    /// The clients.
    pub clients: &'a Clients,
    /// The instance's configuration.
    pub config: &'a AwsConfig,
    /// The provider instance's name.
    pub instance: &'a str,
}

/// One request to provision.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The host's request id: the base of every idempotency token.
    pub request_id: String,
    /// The template.
    pub template: AwsTemplate,
    /// Machines (capacity units) asked for.
    pub count: u32,
    /// The AMI, resolved when the template gave an SSM parameter path.
    pub image_id: String,
    /// Tags for everything made for the request.
    pub tags: BTreeMap<String, String>,
}

/// A way to provision.
pub trait Handler {
    /// Starts provisioning `plan`.
    async fn provision(&self, ctx: &Ctx<'_>, plan: &Plan)
        -> Result<ProvisionResult, ProviderError>;

    /// Terminates `machines`, all of the resource `resource_id` (a fleet, a group), so that
    /// exactly those go and nothing replaces them; cleans the resource up when it is empty.
    async fn release(
        &self,
        ctx: &Ctx<'_>,
        resource_id: &str,
        request_id: Option<&str>,
        machines: &[String],
    ) -> Result<(), ProviderError>;
}

/// The handler of a template's API.
pub async fn provision(ctx: &Ctx<'_>, plan: &Plan) -> Result<ProvisionResult, ProviderError> {
    match plan.template.api {
        Api::RunInstances => RunInstances.provision(ctx, plan).await,
        Api::Ec2Fleet => Ec2Fleet.provision(ctx, plan).await,
        Api::SpotFleet => SpotFleet.provision(ctx, plan).await,
        Api::Asg => Asg.provision(ctx, plan).await,
    }
}

/// The handler that owns a resource, from its id.
pub fn owner_of(resource_id: &str) -> Api {
    if resource_id.starts_with("fleet-") {
        Api::Ec2Fleet
    } else if resource_id.starts_with("sfr-") {
        Api::SpotFleet
    } else if resource_id.starts_with("orb-") {
        Api::Asg
    } else {
        Api::RunInstances
    }
}

/// Releases machines of one resource through the handler that owns it.
pub async fn release(
    ctx: &Ctx<'_>,
    resource_id: &str,
    request_id: Option<&str>,
    machines: &[String],
) -> Result<(), ProviderError> {
    match owner_of(resource_id) {
        Api::RunInstances => {
            RunInstances
                .release(ctx, resource_id, request_id, machines)
                .await
        }
        Api::Ec2Fleet => {
            Ec2Fleet
                .release(ctx, resource_id, request_id, machines)
                .await
        }
        Api::SpotFleet => {
            SpotFleet
                .release(ctx, resource_id, request_id, machines)
                .await
        }
        Api::Asg => Asg.release(ctx, resource_id, request_id, machines).await,
    }
}

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

/// Finishes an empty resource: `deleted` is the outcome of deleting it (its machines are gone
/// already, so a failure is logged, not a failed return); then the request's launch templates.
pub async fn retire(
    ctx: &Ctx<'_>,
    what: &str,
    resource: &str,
    request_id: Option<&str>,
    deleted: Result<(), ProviderError>,
) {
    match deleted {
        Ok(()) => tracing::info!(resource, "{what} deleted"),
        Err(e) => tracing::warn!(resource, error = %e, "the empty {what} could not be deleted"),
    }
    if let Some(request_id) = request_id {
        clean_up_launch_templates(ctx, request_id).await;
    }
}

/// Every instance type × subnet of a template, with the type's weight: the overrides of a
/// fleet. A template without subnets gives one pair per type, with no subnet.
pub fn type_subnet_pairs(t: &AwsTemplate) -> Vec<(&str, Option<&str>, f64)> {
    let subnets: Vec<Option<&str>> = if t.subnets.is_empty() {
        vec![None]
    } else {
        t.subnets.iter().map(|s| Some(s.as_str())).collect()
    };
    t.vm_types
        .iter()
        .flat_map(|(vm_type, weight)| {
            subnets
                .iter()
                .map(move |subnet| (vm_type.as_str(), *subnet, *weight))
        })
        .collect()
}

/// Capacity that could not be provisioned because of `error`.
pub fn shortfall(count: u32, error: &ProviderError, code: Option<String>) -> Failure {
    Failure {
        count,
        kind: error.kind,
        code,
        message: error.message.clone(),
    }
}

/// Whether a provision error only means less capacity than asked (so the request goes on with
/// what it got), rather than a failure of the request.
pub fn is_shortfall(error: &ProviderError) -> bool {
    matches!(error.kind, ErrorKind::Capacity | ErrorKind::Limit)
}
