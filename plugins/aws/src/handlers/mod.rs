//! The four ways to provision, each a module that owns everything about its resource kind,
//! behind one trait and in the same order: provision, release machines, delete on cancel.
//! This module only declares them and dispatches to the one a template or resource names.

pub mod asg;
mod ec2_fleet;
mod run_instances;
mod shared;
mod spot_fleet;

use orb_plugin_api::{ProviderError, ProvisionResult};

use crate::cancel::Released;
use crate::context::{Ctx, Plan};
use crate::template::Api;

pub use asg::Asg;
pub use ec2_fleet::Ec2Fleet;
pub use run_instances::RunInstances;
pub use spot_fleet::SpotFleet;

/// A way to provision.
pub trait Handler {
    /// What would stop `plan` from being provisioned, found without making anything: the
    /// create calls run dry (AWS's `DryRun`). Nothing when it would go through.
    async fn check(&self, ctx: &Ctx<'_>, plan: &Plan) -> Vec<String>;

    /// Starts provisioning `plan`.
    async fn provision(&self, ctx: &Ctx<'_>, plan: &Plan)
        -> Result<ProvisionResult, ProviderError>;

    /// Terminates the machines of `release`, so that exactly those go and nothing replaces
    /// them; deletes the resource when they are the last of it.
    async fn release(&self, ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError>;

    /// Deletes the resources `ids` of a cancelled request, with their instances, noting each
    /// in `released`. A resource already gone is released.
    async fn delete_on_cancel(
        &self,
        ctx: &Ctx<'_>,
        ids: Vec<String>,
        released: &mut Released,
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

/// What would stop `plan`, through the handler of its template's API.
pub async fn check(ctx: &Ctx<'_>, plan: &Plan) -> Vec<String> {
    match plan.template.api {
        Api::RunInstances => RunInstances.check(ctx, plan).await,
        Api::Ec2Fleet => Ec2Fleet.check(ctx, plan).await,
        Api::SpotFleet => SpotFleet.check(ctx, plan).await,
        Api::Asg => Asg.check(ctx, plan).await,
    }
}

/// The handler of a resource whose id has a form AWS assigns: EC2 Fleet's `fleet-…`, Spot
/// Fleet's `sfr-…` and a launch's reservation `r-…` (or none). An Auto Scaling group has a name,
/// any name (orb's `orb-<request>`, the Python ORB's bare request id): `None` for such an id,
/// whose kind only the cloud can tell (the group's members, the `aws:autoscaling:groupName`
/// tag).
pub fn of_aws_id(resource_id: &str) -> Option<Api> {
    if resource_id.starts_with("fleet-") {
        Some(Api::Ec2Fleet)
    } else if resource_id.starts_with("sfr-") {
        Some(Api::SpotFleet)
    } else if resource_id.is_empty() || resource_id.starts_with("r-") {
        Some(Api::RunInstances)
    } else {
        None
    }
}

/// The handler that may own a resource: by its AWS id, else an Auto Scaling group, which
/// the calls that follow confirm (a group that does not exist is no group).
pub fn owner_of(resource_id: &str) -> Api {
    of_aws_id(resource_id).unwrap_or(Api::Asg)
}

/// Machines to release, all of one resource.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    /// The resource (a fleet, a group; empty for instances of none).
    pub resource_id: &'a str,
    /// The request that made it, when known.
    pub request_id: Option<&'a str>,
    /// The machines to terminate.
    pub machines: &'a [String],
    /// How many of the resource's live instances stay, when the return's lookup listed them
    /// all; `None` makes the handler ask the cloud.
    pub staying: Option<usize>,
}

/// Releases machines of one resource through the handler of its kind, `owner`.
pub async fn release(
    ctx: &Ctx<'_>,
    owner: Api,
    release: &Release<'_>,
) -> Result<(), ProviderError> {
    match owner {
        Api::RunInstances => RunInstances.release(ctx, release).await,
        Api::Ec2Fleet => Ec2Fleet.release(ctx, release).await,
        Api::SpotFleet => SpotFleet.release(ctx, release).await,
        Api::Asg => Asg.release(ctx, release).await,
    }
}

/// Deletes the resources of a cancelled request that the handler of `api` owns.
pub async fn delete_on_cancel(
    api: Api,
    ctx: &Ctx<'_>,
    ids: Vec<String>,
    released: &mut Released,
) -> Result<(), ProviderError> {
    match api {
        Api::RunInstances => RunInstances.delete_on_cancel(ctx, ids, released).await,
        Api::Ec2Fleet => Ec2Fleet.delete_on_cancel(ctx, ids, released).await,
        Api::SpotFleet => SpotFleet.delete_on_cancel(ctx, ids, released).await,
        Api::Asg => Asg.delete_on_cancel(ctx, ids, released).await,
    }
}

pub use shared::{clean_up_launch_templates, terminate};
