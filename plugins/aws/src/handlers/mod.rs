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

/// Releases machines of one resource through the handler that owns it.
pub async fn release(ctx: &Ctx<'_>, release: &Release<'_>) -> Result<(), ProviderError> {
    match owner_of(release.resource_id) {
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
