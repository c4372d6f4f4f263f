//! Releasing what a cancelled request made: its fleets, groups and launch templates, and its
//! machines, terminated under a return request. The cancel operation, a provision that finds
//! its request cancelled, and the recovery of abandoned requests all end here. The request
//! stays owned by the releasing process until the release is stored, so a process killed
//! midway leaves it to the next call's sweep.

use orb_plugin_api::operations::op;
use orb_plugin_api::CancelRequest;

use super::cancel::CancelReport;
use super::owner::this_process;
use super::retry::with_retries;
use super::steps::stored_template;
use super::{Broker, BrokerError};
use crate::domain::{now, MachineRecord, Phase, Request, RequestKind, ReturnItem};

/// Appended to a cancelled request's message while its resources are not released.
const NOT_RELEASED: &str = "; releasing its resources failed: ";

impl Broker {
    /// Undoes a cancelled request whose provision died in flight, once this process took it
    /// over. The provision is redone first, to learn what the first call made: the provider's
    /// idempotency finds it.
    pub(super) async fn undo_interrupted(
        &self,
        mut request: Request,
    ) -> Result<CancelReport, BrokerError> {
        tracing::warn!(request_id = %request.request_id, "undoing a cancelled request whose provisioning was interrupted");
        let template = stored_template(&request);
        if let Some(template) = template {
            let instance = self.instance(&request.provider_instance)?.clone();
            match self
                .call_provision(&request, &instance, template, request.requested, 0)
                .await
            {
                Ok(made) => request.resource_ids = made.resource_ids,
                Err(e) => {
                    tracing::warn!(request_id = %request.request_id, error = %e, "the interrupted provision could not be redone; undoing what is tagged with the request")
                }
            }
        }
        self.store.update_request(&mut request)?;
        self.undo(request).await
    }

    /// Undoes what a provision made for a request cancelled while the provider worked:
    /// `resource_ids` are what the provider reported.
    pub(super) async fn undo_provisioned(
        &self,
        request: &mut Request,
        resource_ids: Vec<String>,
    ) -> Result<CancelReport, BrokerError> {
        let mut cancelled = self
            .store
            .get_request(&request.request_id)?
            .ok_or_else(|| {
                BrokerError::NotFound(format!("request '{}' vanished", request.request_id))
            })?;
        cancelled.resource_ids = resource_ids;
        cancelled.owner = Some(this_process());
        cancelled.updated_at = now();
        self.store.update_request(&mut cancelled)?;
        *request = cancelled.clone();
        self.undo(cancelled).await
    }

    /// Releases what was made for a cancelled request and terminates its machines; a return
    /// request tracks them. The request stays owned by this process until the release is
    /// stored, so a process killed midway leaves it to the next call's sweep. A failure is
    /// noted in the request's message, to retry by cancelling again.
    pub(super) async fn undo(&self, mut request: Request) -> Result<CancelReport, BrokerError> {
        debug_assert_eq!(request.phase, Phase::Cancelled);
        let cancelled_as = request
            .message
            .split(NOT_RELEASED)
            .next()
            .unwrap_or_default()
            .to_owned();
        // Each instance the request asked releases what it made.
        let known = self.store.machines_of_request(&request.request_id)?;
        let mut answer = Ok(Vec::new());
        let mut released = Vec::new();
        for instance in request.instances() {
            let call = CancelRequest {
                request_id: request.request_id.clone(),
                resource_ids: request.resource_ids_of(instance).to_vec(),
                machine_ids: known
                    .iter()
                    .filter(|m| m.provider_instance == instance)
                    .map(|m| m.machine_id.clone())
                    .collect(),
            };
            let answered = match self.provider_named(instance).await {
                Ok(provider) => with_retries("cancel_request", || {
                    provider.call::<op::CancelRequest>(&call)
                })
                .await
                .map_err(BrokerError::from),
                Err(e) => Err(e),
            };
            match (answered, &mut answer) {
                (Ok(result), Ok(terminating)) => {
                    released.extend(result.released);
                    terminating.extend(
                        result
                            .terminating
                            .into_iter()
                            .map(|m| (instance.to_owned(), m)),
                    );
                }
                (Err(e), Ok(_)) => answer = Err(e),
                (_, Err(_)) => {}
            }
        }
        let now = now();
        let terminating = match answer {
            Ok(terminating) => terminating,
            Err(e) => {
                tracing::error!(request_id = %request.request_id, error = %e, "the cancelled request's resources were not released; cancel it again to retry");
                request.message =
                    format!("{cancelled_as}{NOT_RELEASED}{e}; cancel it again to retry");
                request.owner = None;
                request.updated_at = now;
                self.store.update_request(&mut request)?;
                return Err(e);
            }
        };
        let mut records = Vec::with_capacity(terminating.len());
        for (instance, machine) in &terminating {
            records.push(match self.store.get_machine(&machine.machine_id)? {
                Some(mut record) => {
                    record.refresh(machine, now);
                    record
                }
                None => {
                    let mut record = MachineRecord::of_request(machine, &request, now);
                    record.provider_instance = instance.clone();
                    record
                }
            });
        }
        self.store.upsert_machines(&records)?;
        let unclaimed: Vec<&MachineRecord> = records
            .iter()
            .filter(|m| m.return_request_id.is_none())
            .collect();
        let return_request_id = if unclaimed.is_empty() {
            None
        } else {
            let ret = self.new_return(
                RequestKind::Return.new_id(),
                &request.provider_instance,
                unclaimed.len() as u32,
                now,
            )?;
            let items: Vec<ReturnItem> = unclaimed
                .iter()
                .map(|m| ReturnItem {
                    return_request_id: ret.request_id.clone(),
                    machine_id: Some(m.machine_id.clone()),
                    name: m.name.clone(),
                    error: None,
                })
                .collect();
            self.store.insert_return(&ret, &items)?;
            Some(ret.request_id)
        };
        request.message = cancelled_as;
        request.owner = None;
        request.updated_at = now;
        self.store.update_request(&mut request)?;
        tracing::info!(
            request_id = %request.request_id,
            terminating = records.len(),
            released = ?released,
            return_request_id = ?return_request_id,
            "cancelled request undone"
        );
        Ok(CancelReport {
            request,
            return_request_id,
            terminating: records.len(),
            released,
            in_flight: false,
        })
    }
}
