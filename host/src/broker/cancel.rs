//! Cancelling an acquire request: `DELETE /api/v1/requests/{id}`, `orb requests cancel`.
//!
//! The cancellation is stored first, in one transaction that no later writer can undo (see
//! [`Phase::Cancelled`]). Then the provider releases what was made for the request (fleets,
//! groups, launch templates) and terminates its machines, and a return request tracks their
//! termination. A provision still in flight when the cancellation lands cannot store its
//! answer: it undoes what it made instead, when the provider answers. One whose process died
//! is redone (the provider's idempotency finds what the first call made) and undone.

use orb_plugin_api::CancelRequest;

use super::owner::{is_abandoned, this_process};
use super::retry::with_retries;
use super::steps::stored_template;
use super::{Broker, BrokerError};
use crate::domain::{now, MachineRecord, Phase, Request, RequestKind, ReturnItem};
use crate::storage::Cancellation;

/// Appended to a cancelled request's message while its resources are not released.
const NOT_RELEASED: &str = "; releasing its resources failed: ";

/// What a cancellation did.
#[derive(Debug, Clone)]
pub struct CancelReport {
    /// The request, as stored now.
    pub request: Request,
    /// The return request tracking the termination of its machines, when some were running.
    pub return_request_id: Option<String>,
    /// Machines now terminating.
    pub terminating: usize,
    /// Cloud resources deleted or cancelled.
    pub released: Vec<String>,
    /// Whether its provision is still in flight; it undoes what it made when it ends.
    pub in_flight: bool,
}

impl CancelReport {
    /// A cancellation stored while another process works on the request: that process
    /// releases what it made.
    fn in_flight(request: Request) -> Self {
        CancelReport {
            request,
            return_request_id: None,
            terminating: 0,
            released: Vec::new(),
            in_flight: true,
        }
    }
}

impl Broker {
    /// Cancels the acquire request `request_id`. Cancelling a cancelled request again retries
    /// releasing its resources. A finished request cannot be cancelled: its machines are
    /// returned instead.
    pub async fn cancel_request(
        &self,
        request_id: &str,
        reason: Option<&str>,
    ) -> Result<CancelReport, BrokerError> {
        let message = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(reason) => format!("cancelled: {reason}"),
            None => "cancelled".to_owned(),
        };
        let now = now();
        let request = match self.store.cancel_request(request_id, &message, now)? {
            Cancellation::Unknown => {
                return Err(BrokerError::NotFound(format!(
                    "request '{request_id}' does not exist"
                )))
            }
            Cancellation::Refused(r) if r.kind == RequestKind::Return => {
                return Err(BrokerError::Conflict(format!(
                    "'{request_id}' is a return request; only acquire requests can be cancelled"
                )))
            }
            Cancellation::Refused(r) => {
                return Err(BrokerError::Conflict(format!(
                    "request '{request_id}' is already {}; return its machines instead (POST /api/v1/machines/return, or orb machines return)",
                    r.status.as_str()
                )))
            }
            Cancellation::Stored(r) => r,
        };
        tracing::info!(request_id, message, "request cancelled");
        match &request.owner {
            Some(owner) if !is_abandoned(Some(owner), request.updated_at, now) => {
                Ok(CancelReport::in_flight(request))
            }
            Some(owner) => {
                let taken = self.store.take_over(
                    request_id,
                    Some(owner),
                    Phase::Cancelled,
                    &this_process(),
                    now,
                )?;
                match taken {
                    Some(taken) => self.undo_interrupted(taken).await,
                    // Another process took it over first, and undoes it.
                    None => Ok(CancelReport::in_flight(request)),
                }
            }
            // Nobody holds it: this process does while it releases, so that a kill midway
            // leaves it to the sweep rather than unreleased.
            None => match self.store.take_over(
                request_id,
                None,
                Phase::Cancelled,
                &this_process(),
                now,
            )? {
                Some(taken) => self.undo(taken).await,
                None => Ok(CancelReport::in_flight(request)),
            },
        }
    }

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
            match self.call_provision(&request, &instance, template).await {
                Ok(made) => request.resource_ids = made.resource_ids,
                Err(e) => {
                    tracing::warn!(request_id = %request.request_id, error = %e, "the interrupted provision could not be redone; undoing what is tagged with the request")
                }
            }
        }
        self.store.update_request(&request)?;
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
        self.store.update_request(&cancelled)?;
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
        let call = CancelRequest {
            request_id: request.request_id.clone(),
            resource_ids: request.resource_ids.clone(),
            machine_ids: self
                .store
                .machines_of_request(&request.request_id)?
                .into_iter()
                .map(|m| m.machine_id)
                .collect(),
        };
        let answer = match self.provider_named(&request.provider_instance).await {
            Ok(provider) => with_retries("cancel_request", || provider.cancel_request(&call))
                .await
                .map_err(BrokerError::from),
            Err(e) => Err(e),
        };
        let now = now();
        let result = match answer {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(request_id = %request.request_id, error = %e, "the cancelled request's resources were not released; cancel it again to retry");
                request.message =
                    format!("{cancelled_as}{NOT_RELEASED}{e}; cancel it again to retry");
                request.owner = None;
                request.updated_at = now;
                self.store.update_request(&request)?;
                return Err(e);
            }
        };
        let mut records = Vec::with_capacity(result.terminating.len());
        for machine in &result.terminating {
            records.push(match self.store.get_machine(&machine.machine_id)? {
                Some(mut record) => {
                    record.refresh(machine, now);
                    record
                }
                None => MachineRecord::of_request(machine, &request, now),
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
        self.store.update_request(&request)?;
        tracing::info!(
            request_id = %request.request_id,
            terminating = records.len(),
            released = ?result.released,
            return_request_id = ?return_request_id,
            "cancelled request undone"
        );
        Ok(CancelReport {
            request,
            return_request_id,
            terminating: records.len(),
            released: result.released,
            in_flight: false,
        })
    }
}
