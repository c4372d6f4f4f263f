//! Requests whose owning process died.
//!
//! A request is stored before the provider is called. If the process dies before storing the
//! provider's answer, the request is left `accepted`. The next call (or the server's reconcile
//! loop) takes it over, in one conditional write so that only one process does, and finishes
//! it: an acquire is provisioned again (the provider's idempotency makes that safe), a return
//! terminates what it claims. A request cancelled while its provisioning process died is
//! undone instead. A request whose takers keep dying is given up after [`MAX_TAKE_OVERS`]
//! attempts: it settles as failed, and what its provider may have made is released.
//!
//! When an abandoned acquire's process also died before printing the request id, nobody will
//! ever ask for it, and its machines are orphans: `request.orphans` says whether they are kept
//! on record, or the request is cancelled, which releases every resource the provider made for
//! it (instances, fleets, groups, launch templates).

use super::owner::this_process;
use super::steps::stored_template;
use super::{Broker, BrokerError};
use crate::config::OrphanPolicy;
use crate::domain::{now, Phase, Request, RequestKind, RequestStatus};
use crate::storage::{Cancellation, RequestFilter};

/// How many times a request is taken over from a process that died before it is given up.
pub const MAX_TAKE_OVERS: u32 = 3;

impl Broker {
    /// Takes over and finishes a request whose owning process died: provisions an acquire,
    /// terminates what a return claims, undoes a cancelled acquire. Failures are logged: the
    /// request stays for a later call, and the caller's other requests are served.
    pub(super) async fn resume_if_abandoned(&self, request: &mut Request, now: i64) {
        let cancelled_in_flight = request.phase == Phase::Cancelled && request.owner.is_some();
        let accepted = request.phase == Phase::Accepted && !request.status.is_terminal();
        if !(cancelled_in_flight || accepted)
            || !self.abandoned(request.owner.as_deref(), request.updated_at, now)
        {
            return;
        }
        let taken = self.store.take_over(
            &request.request_id,
            request.owner.as_deref(),
            request.phase,
            &this_process(),
            now,
        );
        match taken {
            Ok(Some(taken)) => *request = taken,
            // Another process took it first, or it moved on: show it as it is now.
            Ok(None) => {
                if let Ok(Some(current)) = self.store.get_request(&request.request_id) {
                    *request = current;
                }
                return;
            }
            Err(e) => {
                tracing::warn!(request_id = %request.request_id, error = %e, "could not take over the interrupted request");
                return;
            }
        }
        tracing::warn!(request_id = %request.request_id, attempt = request.attempts, "taking over a request whose process was interrupted");
        let finished = if request.attempts > MAX_TAKE_OVERS {
            self.give_up(request).await
        } else if request.kind == RequestKind::Return {
            self.terminate_claimed(request).await.map(|_| ())
        } else if cancelled_in_flight {
            self.undo_interrupted(request.clone()).await.map(|_| ())
        } else {
            self.resume_provision(request).await
        };
        if let Err(e) = finished {
            tracing::warn!(request_id = %request.request_id, error = %e, "could not finish the interrupted request; a later call tries again");
        }
        if let Ok(Some(current)) = self.store.get_request(&request.request_id) {
            *request = current;
        }
    }

    async fn resume_provision(&self, request: &mut Request) -> Result<(), BrokerError> {
        tracing::warn!(request_id = %request.request_id, "finishing a request whose provisioning was interrupted");
        let template = stored_template(request)
            .ok_or_else(|| BrokerError::Config("the request's template was not stored".into()))?;
        let instance = self.instance(&request.provider_instance)?.clone();
        self.provision(request, &instance, template).await
    }

    /// Settles a request whose takers kept dying as failed. An acquire is cancelled, so that
    /// its provider releases what it may have made; a return records the failure of what it
    /// claims.
    async fn give_up(&self, request: &mut Request) -> Result<(), BrokerError> {
        let why = format!(
            "given up after {MAX_TAKE_OVERS} attempts to finish it were interrupted (each process that tried it died)"
        );
        tracing::error!(request_id = %request.request_id, "{why}");
        if request.kind == RequestKind::Return {
            let claimed = self.store.list_machines(&crate::storage::MachineFilter {
                return_request_id: Some(request.request_id.clone()),
                ..Default::default()
            })?;
            let errors: Vec<(String, String)> = claimed
                .into_iter()
                .filter(|m| !m.state.is_gone())
                .map(|m| (m.machine_id, why.clone()))
                .collect();
            self.store
                .submit_return(&request.request_id, &[], &errors, now())?;
            return Ok(());
        }
        // This process took it over, so it holds it and releases what is tagged with it.
        let cancelled =
            match self
                .store
                .cancel_request(&request.request_id, &why, &this_process(), now())?
            {
                Cancellation::Stored(r) | Cancellation::Taken(r) => r,
                Cancellation::Unknown | Cancellation::Refused(_) => return Ok(()),
            };
        self.undo(cancelled).await.map(|_| ())
    }

    /// Finishes every abandoned request but those in `asked` (their caller knows them), and
    /// applies the orphan policy to abandoned acquires.
    pub(super) async fn sweep_abandoned(&self, asked: &[String]) -> Result<(), BrokerError> {
        let now = now();
        let mut abandoned = self.store.list_requests(&RequestFilter {
            phase: Some(Phase::Cancelled),
            owned: true,
            ..Default::default()
        })?;
        abandoned.extend(self.store.list_requests(&RequestFilter {
            status: Some(RequestStatus::Running),
            phase: Some(Phase::Accepted),
            ..Default::default()
        })?);
        for mut request in abandoned {
            if asked.contains(&request.request_id)
                || !self.abandoned(request.owner.as_deref(), request.updated_at, now)
            {
                continue;
            }
            let orphaned = request.kind == RequestKind::Acquire
                && request.phase == Phase::Accepted
                && self.config.request.orphans == OrphanPolicy::Terminate;
            if orphaned {
                let message = "abandoned before its id reached the caller; cancelled, and what it made released (request.orphans = terminate)";
                match self.store.cancel_request(
                    &request.request_id,
                    message,
                    &this_process(),
                    now,
                )? {
                    Cancellation::Stored(r) | Cancellation::Taken(r) => request = r,
                    Cancellation::Unknown | Cancellation::Refused(_) => continue,
                }
                tracing::warn!(request_id = %request.request_id, "orphaned request cancelled");
            }
            self.resume_if_abandoned(&mut request, now).await;
        }
        Ok(())
    }
}
