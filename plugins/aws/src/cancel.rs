//! Cancelling a request. Its EC2 fleets, Spot Fleet requests and Auto Scaling groups are
//! deleted first, with their instances, so nothing replaces what is terminated next. Then every
//! instance tagged with the request that is still running is terminated: RunInstances batches,
//! and instances a fleet launched that nobody has reported yet. Last, the request's launch
//! templates are deleted.
//!
//! A resource already gone counts as released, so cancelling twice is safe. A resource that
//! cannot be deleted stops the cancel before the tagged instances are terminated (its fleet
//! would replace them); the error is retryable.

use aws_sdk_ec2::types::InstanceStateName;
use orb_plugin_api::{CancelRequest, CancelResult, ErrorKind, MachineState, ProviderError};

use crate::context::Ctx;
use crate::handlers::{clean_up_launch_templates, delete_on_cancel, owner_of, terminate};
use crate::instances::{by_requests, to_machine};
use crate::template::Api;

/// Releases the request's resources and terminates its instances.
pub async fn cancel(ctx: &Ctx<'_>, request: &CancelRequest) -> Result<CancelResult, ProviderError> {
    let of = |api: Api| -> Vec<String> {
        request
            .resource_ids
            .iter()
            .filter(|r| owner_of(r) == api)
            .cloned()
            .collect()
    };
    // The request's instances, found before their fleets go (deleting a fleet may terminate
    // them at once): all of them are the cancel's to report.
    let instances =
        by_requests(&ctx.clients.ec2, std::slice::from_ref(&request.request_id)).await?;
    let live: Vec<_> = instances
        .iter()
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()),
                Some(InstanceStateName::Terminated)
            )
        })
        .collect();

    let mut released = Released::default();
    for api in [Api::Ec2Fleet, Api::SpotFleet, Api::Asg] {
        delete_on_cancel(api, ctx, of(api), &mut released).await?;
    }
    if !released.refused.is_empty() {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            format!(
                "could not release {}; the request's other instances were left as they are: cancel again to retry",
                released.refused.join("; ")
            ),
        )
        .with_retryable(true));
    }

    // What the deletions left running: instances of no fleet, and any a fleet kept.
    let running: Vec<String> = if live.is_empty() {
        Vec::new()
    } else {
        by_requests(&ctx.clients.ec2, std::slice::from_ref(&request.request_id))
            .await?
            .iter()
            .filter(|i| {
                !matches!(
                    i.state().and_then(|s| s.name()),
                    Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
                )
            })
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect()
    };
    terminate(ctx, &running).await?;
    clean_up_launch_templates(ctx, &request.request_id).await;
    let terminating = live
        .into_iter()
        .map(|i| {
            let mut m = to_machine(i);
            m.state = MachineState::ShuttingDown;
            m
        })
        .collect();
    tracing::info!(request_id = %request.request_id, released = ?released.done, terminated = running.len(), "request cancelled");
    Ok(CancelResult {
        terminating,
        released: released.done,
    })
}

/// What deleting a request's resources did.
#[derive(Default)]
pub struct Released {
    /// Resources deleted, or gone already.
    pub done: Vec<String>,
    /// Resources that could not be deleted, each with why.
    pub refused: Vec<String>,
}

impl Released {
    /// Takes the outcome of a batch delete of resources of one kind (`what`): the ids deleted,
    /// and the failures as (id, error code, message). `gone` is the code that means the
    /// resource no longer exists, which counts as deleted.
    pub fn take<'a>(
        &mut self,
        what: &str,
        gone: &str,
        deleted: impl Iterator<Item = &'a str>,
        failed: impl Iterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)>,
    ) {
        self.done.extend(deleted.map(str::to_owned));
        for (id, code, message) in failed {
            if code == Some(gone) {
                self.done.push(id.to_owned());
            } else {
                self.refused.push(format!(
                    "{what} {id} ({}: {})",
                    code.unwrap_or("unknown"),
                    message.unwrap_or_default()
                ));
            }
        }
    }
}
