//! Terminating machines: grouped by the resource that owns them (a fleet, a group, or none)
//! and released through its handler.

use std::collections::{BTreeMap, HashMap};

use orb_plugin_api::{
    Machine, MachineFailure, MachineState, ProviderError, TerminateRequest, TerminateResult,
};

use crate::context::Ctx;
use crate::handlers;
use crate::instances::{by_ids, to_machine};
use crate::template::Api;

/// Terminates the machines `request` names, each through the handler of the resource that
/// owns it, so that nothing replaces them.
pub async fn terminate(
    ctx: &Ctx<'_>,
    request: TerminateRequest,
) -> Result<TerminateResult, ProviderError> {
    let ids: Vec<String> = request
        .machines
        .iter()
        .map(|m| m.machine_id.clone())
        .collect();
    let known: HashMap<String, Machine> = by_ids(&ctx.clients.ec2, &ids)
        .await?
        .iter()
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_owned(),
                to_machine(i),
            )
        })
        .collect();
    let mut result = TerminateResult::default();
    // Group by resource (a fleet, a group) and request. Instances of no fleet or group need
    // nothing of their launch batch: they all go together, 1,000 per TerminateInstances.
    let mut groups: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
    for target in &request.machines {
        match known.get(&target.machine_id) {
            Some(m) if !m.state.is_gone() && m.state != MachineState::ShuttingDown => {
                let resource = m
                    .resource_id
                    .clone()
                    .or(target.resource_id.clone())
                    .unwrap_or_default();
                let request_id = m.request_id.clone().or(target.request_id.clone());
                let key = match handlers::owner_of(&resource) {
                    Api::RunInstances => (String::new(), None),
                    _ => (resource, request_id),
                };
                groups
                    .entry(key)
                    .or_default()
                    .push(target.machine_id.clone());
            }
            Some(m) if m.state == MachineState::ShuttingDown => {
                result.terminating.push(target.machine_id.clone())
            }
            _ => result.already_gone.push(target.machine_id.clone()),
        }
    }
    for ((resource, request_id), machines) in groups {
        match handlers::release(ctx, &resource, request_id.as_deref(), &machines).await {
            Ok(()) => result.terminating.extend(machines),
            Err(e) => result
                .failed
                .extend(machines.into_iter().map(|machine_id| MachineFailure {
                    machine_id,
                    message: e.message.clone(),
                })),
        }
    }
    Ok(result)
}
