//! Deleting finished requests and gone machines from the state, one at a time or in bulk. A
//! purge never makes orb forget a machine it must still return: a request goes only once it
//! is finished and every machine it made (or returns) is gone, in one transaction with that
//! check (see [`crate::storage::Store::purge_request`]).

use serde::Serialize;

use super::{Broker, BrokerError};
use crate::domain::RequestStatus;
use crate::storage::RequestFilter;

/// How many requests a bulk purge reads at a time.
const PAGE: u32 = 500;

/// What a bulk purge did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Purged {
    /// Requests deleted, with their machines.
    pub requests: u64,
    /// Requests that matched but stay: a machine of theirs is still up, or a process holds
    /// them.
    pub kept: u64,
}

impl Broker {
    /// Deletes the request `request_id` and its machines; refused while it runs or while a
    /// machine of it is up.
    pub fn purge_request(&self, request_id: &str) -> Result<(), BrokerError> {
        let request = self.store.get_request(request_id)?.ok_or_else(|| {
            BrokerError::NotFound(format!("request '{request_id}' does not exist"))
        })?;
        if request.status == RequestStatus::Running {
            return Err(BrokerError::Conflict(format!(
                "request '{request_id}' is running: cancel it, or wait until it is done"
            )));
        }
        if !self.store.purge_request(request_id)? {
            return Err(BrokerError::Conflict(format!(
                "request '{request_id}' still has machines that are up, or a process is still \
                 releasing it: return them first (orb never forgets a machine it must return)"
            )));
        }
        tracing::info!(target: "orb::audit", request_id, "request purged");
        Ok(())
    }

    /// Deletes the machine `machine_id`; refused unless it is gone.
    pub fn purge_machine(&self, machine_id: &str) -> Result<(), BrokerError> {
        let machine = self.store.get_machine(machine_id)?.ok_or_else(|| {
            BrokerError::NotFound(format!("machine '{machine_id}' does not exist"))
        })?;
        if !self.store.purge_machine(machine_id)? {
            return Err(BrokerError::Conflict(format!(
                "machine '{machine_id}' is {}: return it first (only gone machines are purged)",
                machine.state
            )));
        }
        tracing::info!(target: "orb::audit", machine_id, "machine purged");
        Ok(())
    }

    /// Deletes every finished request in `statuses` last changed before `changed_before`
    /// (seconds since the epoch; any time when `None`), with its machines, keeping those whose
    /// machines are still up.
    pub fn purge_finished(
        &self,
        statuses: &[RequestStatus],
        changed_before: Option<i64>,
    ) -> Result<Purged, BrokerError> {
        let mut purged = Purged::default();
        for status in statuses {
            if !status.is_terminal() {
                return Err(BrokerError::BadInput(format!(
                    "only finished requests are purged, not {} ones",
                    status.as_str()
                )));
            }
            let mut offset = 0;
            loop {
                let page = self.store.list_requests(&RequestFilter {
                    status: Some(*status),
                    limit: Some(PAGE),
                    offset,
                    ..Default::default()
                })?;
                if page.is_empty() {
                    break;
                }
                for request in &page {
                    if changed_before.is_some_and(|t| request.updated_at >= t) {
                        offset += 1;
                    } else if self.store.purge_request(&request.request_id)? {
                        purged.requests += 1;
                    } else {
                        purged.kept += 1;
                        offset += 1;
                    }
                }
            }
        }
        tracing::info!(target: "orb::audit", purged = purged.requests, kept = purged.kept, "finished requests purged");
        Ok(purged)
    }
}
