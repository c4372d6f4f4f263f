//! Cancelling a request through `machine_status` and `terminate_machines`: the host's fallback
//! for a provider without a cancel of its own.

use crate::host::ProviderObject;
use crate::operations::op;
use crate::{
    CancelRequest, CancelResult, MachineRef, MachineState, ProviderError, StatusQuery,
    StatusResult, TerminateRequest, TerminateResult,
};

/// The fallback of [`op::CancelRequest`]: [`cancel_by_terminating`] through `provider`'s own
/// `machine_status` and `terminate_machines`.
pub fn cancel_through_status_and_terminate(
    provider: &ProviderObject,
    request: &CancelRequest,
) -> Result<CancelResult, ProviderError> {
    cancel_by_terminating(
        request,
        |query| provider.call::<op::MachineStatus>(&query),
        |call| provider.call::<op::TerminateMachines>(&call),
    )
}

/// Finds the request's machines with `status` and terminates those not gone with `terminate`.
///
/// Enough for a provider whose machines nothing replaces; a provider with fleets or groups
/// must also delete those, and so implement its own cancel.
pub fn cancel_by_terminating(
    request: &CancelRequest,
    status: impl FnOnce(StatusQuery) -> Result<StatusResult, ProviderError>,
    terminate: impl FnOnce(TerminateRequest) -> Result<TerminateResult, ProviderError>,
) -> Result<CancelResult, ProviderError> {
    let found = status(StatusQuery {
        request_ids: vec![request.request_id.clone()],
        resource_ids: request.resource_ids.clone(),
        machine_ids: request.machine_ids.clone(),
    })?;
    let mut live: Vec<_> = found
        .machines
        .into_iter()
        .filter(|m| !m.state.is_gone())
        .filter(|m| {
            m.request_id.as_deref() == Some(request.request_id.as_str())
                || request.machine_ids.contains(&m.machine_id)
                || m.resource_id
                    .as_ref()
                    .is_some_and(|r| request.resource_ids.contains(r))
        })
        .collect();
    if live.is_empty() {
        return Ok(CancelResult::default());
    }
    let done = terminate(TerminateRequest {
        request_id: request.request_id.clone(),
        machines: live
            .iter()
            .map(|m| MachineRef {
                machine_id: m.machine_id.clone(),
                request_id: Some(request.request_id.clone()),
                resource_id: m.resource_id.clone(),
            })
            .collect(),
    })?;
    live.retain(|m| done.terminating.contains(&m.machine_id));
    for m in &mut live {
        m.state = MachineState::ShuttingDown;
    }
    Ok(CancelResult {
        terminating: live,
        released: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Machine;

    fn machine(id: &str, request: &str, state: MachineState) -> Machine {
        serde_json::from_value(serde_json::json!({
            "machineId": id, "requestId": request, "state": state.as_str()
        }))
        .unwrap()
    }

    #[test]
    fn terminates_only_the_live_machines_of_the_request() {
        let request = CancelRequest {
            request_id: "req-1".into(),
            machine_ids: vec!["m-5".into()],
            ..Default::default()
        };
        let mut asked = None;
        let result = cancel_by_terminating(
            &request,
            |q| {
                assert_eq!(q.request_ids, vec!["req-1".to_owned()]);
                assert_eq!(q.machine_ids, vec!["m-5".to_owned()]);
                let mut untagged = machine("m-5", "", MachineState::Running);
                untagged.request_id = None;
                Ok(StatusResult {
                    machines: vec![
                        untagged,
                        machine("m-1", "req-1", MachineState::Running),
                        machine("m-2", "req-1", MachineState::Terminated),
                        machine("m-3", "req-other", MachineState::Running),
                        machine("m-4", "req-1", MachineState::Pending),
                    ],
                })
            },
            |t| {
                asked = Some(
                    t.machines
                        .iter()
                        .map(|m| m.machine_id.clone())
                        .collect::<Vec<_>>(),
                );
                Ok(TerminateResult {
                    terminating: vec!["m-1".into()],
                    already_gone: vec!["m-4".into()],
                    failed: vec![],
                })
            },
        )
        .unwrap();
        assert_eq!(
            asked.unwrap(),
            vec!["m-5".to_owned(), "m-1".to_owned(), "m-4".to_owned()]
        );
        assert_eq!(result.terminating.len(), 1);
        assert_eq!(result.terminating[0].machine_id, "m-1");
        assert_eq!(result.terminating[0].state, MachineState::ShuttingDown);
    }

    #[test]
    fn nothing_to_terminate_makes_no_terminate_call() {
        let request = CancelRequest {
            request_id: "req-1".into(),
            ..Default::default()
        };
        let result = cancel_by_terminating(
            &request,
            |_| Ok(StatusResult::default()),
            |_| panic!("terminate must not be called"),
        )
        .unwrap();
        assert!(result.terminating.is_empty());
    }
}
