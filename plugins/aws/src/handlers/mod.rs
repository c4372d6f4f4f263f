//! The four ways to provision, each a module that owns everything about its resource kind,
//! behind one trait and in the same order: provision, release machines, delete on cancel.
//! This module only declares them and dispatches to the one a template or resource names.

mod asg;
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
