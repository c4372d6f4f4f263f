//! Returning machines: `requestReturnMachines`.

use std::collections::BTreeMap;

use orb_plugin_api::{MachineRef, MachineState, TerminateRequest};

use super::retry::with_retries;
use super::{Broker, BrokerError};
use crate::domain::{now, Phase, Request, RequestKind, RequestStatus, ReturnItem};

/// A machine as a caller names it: by id, by host name, or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineSpec {
    /// The cloud's id.
    pub machine_id: Option<String>,
    /// The host name.
    pub name: Option<String>,
}

/// What a return did at once.
#[derive(Debug, Clone, Default)]
pub struct ReturnSummary {
    /// Machines now terminating.
    pub terminating: usize,
    /// Machines that were gone already, or already being returned.
    pub already_gone: usize,
    /// Machines that could not be terminated, with the reason.
    pub failed: Vec<(String, String)>,
}

impl Broker {
    /// Returns the named machines: stores a return request naming them, then asks their
    /// providers to terminate those not already gone or being returned.
    pub async fn return_machines(
        &self,
        specs: &[MachineSpec],
    ) -> Result<(Request, ReturnSummary), BrokerError> {
        if specs.is_empty() {
            return Err(BrokerError::BadInput(
                "no machines to return: give at least one machine with a name or machineId".into(),
            ));
        }
        let default_instance = self.default_instance()?.clone();
        let now = now();
        let request_id = RequestKind::Return.new_id();
        let mut items = Vec::with_capacity(specs.len());
        // Per provider instance: the machines this request must terminate.
        let mut targets: BTreeMap<String, Vec<MachineRef>> = BTreeMap::new();
        let mut summary = ReturnSummary::default();
        for (i, spec) in specs.iter().enumerate() {
            let record = match (&spec.machine_id, &spec.name) {
                (Some(id), _) => self.store.get_machine(id)?,
                (None, Some(name)) => self.store.find_machine_by_name(name)?,
                (None, None) => {
                    return Err(BrokerError::BadInput(format!(
                        "machines[{i}] has neither a name nor a machineId"
                    )))
                }
            };
            let machine_id = spec
                .machine_id
                .clone()
                .or_else(|| record.as_ref().map(|r| r.machine_id.clone()));
            items.push(ReturnItem {
                return_request_id: request_id.clone(),
                machine_id: machine_id.clone(),
                name: spec
                    .name
                    .clone()
                    .or_else(|| record.as_ref().and_then(|r| r.name.clone())),
                error: None,
            });
            match (&record, machine_id) {
                // Gone, or another return already terminates it: terminate it once.
                (Some(r), _) if r.state.is_gone() || r.return_request_id.is_some() => {
                    summary.already_gone += 1
                }
                (Some(r), Some(id)) => targets
                    .entry(r.provider_instance.clone())
                    .or_default()
                    .push(MachineRef {
                        machine_id: id,
                        request_id: Some(r.request_id.clone()),
                        resource_id: r.resource_id.clone(),
                    }),
                // Not provisioned by orb: the provider decides (an unknown id is gone).
                (None, Some(id)) => targets
                    .entry(default_instance.name.clone())
                    .or_default()
                    .push(MachineRef {
                        machine_id: id,
                        request_id: None,
                        resource_id: None,
                    }),
                // Only a name orb does not know: nothing to terminate.
                (_, None) => summary.already_gone += 1,
            }
        }
        let provider_instance = targets
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| default_instance.name.clone());
        let request = self.new_return(
            request_id.clone(),
            &provider_instance,
            specs.len() as u32,
            now,
        )?;
        self.store.insert_return(&request, &items)?;

        for (instance_name, machines) in targets {
            let call = TerminateRequest {
                request_id: request_id.clone(),
                machines,
            };
            let answer = match self.provider_named(&instance_name).await {
                Ok(provider) => {
                    with_retries("terminate_machines", || provider.terminate_machines(&call))
                        .await
                        .map_err(BrokerError::from)
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok(result) => {
                    summary.terminating += result.terminating.len();
                    summary.already_gone += result.already_gone.len();
                    summary
                        .failed
                        .extend(result.failed.into_iter().map(|f| (f.machine_id, f.message)));
                    self.mark_terminating(&result.terminating, now)?;
                }
                Err(e) => summary.failed.extend(
                    call.machines
                        .into_iter()
                        .map(|m| (m.machine_id, format!("termination failed: {e}"))),
                ),
            }
        }
        if !summary.failed.is_empty() {
            self.store.set_return_errors(&request_id, &summary.failed)?;
        }
        tracing::info!(request_id = %request_id, terminating = summary.terminating, already_gone = summary.already_gone, failed = summary.failed.len(), "return requested");
        Ok((request, summary))
    }

    /// A new return request `request_id` for `count` machines of `provider_instance`, not
    /// stored yet.
    pub(super) fn new_return(
        &self,
        request_id: String,
        provider_instance: &str,
        count: u32,
        now: i64,
    ) -> Result<Request, BrokerError> {
        Ok(Request {
            request_id,
            kind: RequestKind::Return,
            provider_instance: provider_instance.to_owned(),
            provider_type: self.instance(provider_instance)?.provider_type.clone(),
            template_id: None,
            provider_api: None,
            requested: count,
            status: RequestStatus::Running,
            phase: Phase::Submitted,
            message: "terminating".to_owned(),
            unfulfilled: 0,
            resource_ids: Vec::new(),
            template: None,
            owner: None,
            created_at: now,
            updated_at: now,
            deadline_at: now + self.request_timeout(),
        })
    }

    fn mark_terminating(&self, machine_ids: &[String], now: i64) -> Result<(), BrokerError> {
        let mut records = Vec::with_capacity(machine_ids.len());
        for id in machine_ids {
            if let Some(mut r) = self.store.get_machine(id)? {
                if !r.state.is_gone() {
                    r.state = MachineState::ShuttingDown;
                    r.updated_at = now;
                    records.push(r);
                }
            }
        }
        Ok(self.store.upsert_machines(&records)?)
    }
}
