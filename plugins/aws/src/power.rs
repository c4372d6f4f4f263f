//! Stopping and starting instances (`stop_machines`, `start_machines`), 1,000 per call. A
//! member of an Auto Scaling group is refused: the group would replace it.

use orb_plugin_api::{MachineFailure, PowerRequest, PowerResult, ProviderError};

use crate::context::Ctx;
use crate::errors::sdk_error;
use crate::handlers::owner_of;
use crate::template::Api;

/// The most instances one StopInstances or StartInstances call names.
const PER_CALL: usize = 1000;

/// Stop or start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// StopInstances.
    Stop,
    /// StartInstances.
    Start,
}

/// Stops or starts the instances `request` names.
pub async fn power(
    ctx: &Ctx<'_>,
    power: Power,
    request: &PowerRequest,
) -> Result<PowerResult, ProviderError> {
    let mut result = PowerResult::default();
    let mut ids = Vec::new();
    for m in &request.machines {
        match m.resource_id.as_deref().map(owner_of) {
            Some(Api::Asg) => result.failed.push(MachineFailure {
                machine_id: m.machine_id.clone(),
                message: "a member of an Auto Scaling group: the group would replace it \
                          stopped; return it instead"
                    .into(),
            }),
            _ => ids.push(m.machine_id.clone()),
        }
    }
    for batch in ids.chunks(PER_CALL) {
        let ec2 = &ctx.clients.ec2;
        let answered = match power {
            Power::Stop => ec2
                .stop_instances()
                .set_instance_ids(Some(batch.to_vec()))
                .send()
                .await
                .map(|out| {
                    out.stopping_instances()
                        .iter()
                        .filter_map(|c| c.instance_id().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| sdk_error("StopInstances", e)),
            Power::Start => ec2
                .start_instances()
                .set_instance_ids(Some(batch.to_vec()))
                .send()
                .await
                .map(|out| {
                    out.starting_instances()
                        .iter()
                        .filter_map(|c| c.instance_id().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| sdk_error("StartInstances", e)),
        };
        match answered {
            Ok(changed) => result.changed.extend(changed),
            // AWS refuses the whole call for one instance it cannot act on: each is failed
            // with its message.
            Err(e) => result.failed.extend(batch.iter().map(|id| MachineFailure {
                machine_id: id.clone(),
                message: e.message().to_owned(),
            })),
        }
    }
    Ok(result)
}
