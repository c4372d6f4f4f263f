//! Requests whose provisioning process died.
//!
//! A request is stored before the provider is called. If the process dies before storing the
//! provider's answer, the request is left `accepted`; when it also died before printing the
//! request id, nobody will ever ask for that request, and the machines it launched are orphans.
//! Host Factory's periodic calls sweep such requests: they are finished (the provider's
//! idempotency makes the second provision safe), then their machines are kept on record or
//! terminated, as `request.orphans` says. A request cancelled while its provisioning process
//! died is undone instead.

use orb_plugin_api::Template;

use super::owner::{is_abandoned, this_process};
use super::{Broker, BrokerError, MachineSpec};
use crate::config::OrphanPolicy;
use crate::domain::{now, Phase, Request, RequestKind, RequestStatus};
use crate::storage::{RequestFilter, StoreError};

impl Broker {
    /// Finishes provisioning a request left `accepted` by a process that died, or undoes it
    /// when it was cancelled meanwhile.
    pub(super) async fn resume_if_abandoned(&self, request: &mut Request, now: i64) {
        let cancelled_in_flight = request.phase == Phase::Cancelled && request.owner.is_some();
        let accepted = request.phase == Phase::Accepted && !request.status.is_terminal();
        if request.kind != RequestKind::Acquire
            || !(cancelled_in_flight || accepted)
            || !is_abandoned(request.owner.as_deref(), request.updated_at, now)
        {
            return;
        }
        if cancelled_in_flight {
            match self.undo_interrupted(request.clone()).await {
                Ok(undone) => *request = undone.request,
                Err(e) => {
                    tracing::warn!(request_id = %request.request_id, error = %e, "could not undo the interrupted, cancelled request")
                }
            }
            return;
        }
        tracing::warn!(request_id = %request.request_id, owner = ?request.owner, "finishing a request whose provisioning was interrupted");
        request.owner = Some(this_process());
        request.updated_at = now;
        let template = stored_template(request);
        let resumed = match (template, self.instance(&request.provider_instance)) {
            (Some(template), Ok(instance)) => {
                let instance = instance.clone();
                match self.store.update_request(request) {
                    Ok(()) => self.provision(request, &instance, template).await,
                    Err(e) => Err(e.into()),
                }
            }
            (None, _) => Err(BrokerError::Config(
                "the request's template was not stored".into(),
            )),
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = resumed {
            tracing::warn!(request_id = %request.request_id, error = %e, "could not finish the interrupted request");
        }
    }

    /// Finishes every abandoned request but those in `asked` (their caller knows them), and
    /// applies the orphan policy to their machines.
    pub(super) async fn sweep_abandoned(&self, asked: &[String]) -> Result<(), BrokerError> {
        let now = now();
        let cancelled_in_flight = self.store.list_requests(&RequestFilter {
            kind: Some(RequestKind::Acquire),
            phase: Some(Phase::Cancelled),
            owned: true,
            ..Default::default()
        })?;
        for mut request in cancelled_in_flight
            .into_iter()
            .filter(|r| !asked.contains(&r.request_id))
        {
            self.resume_if_abandoned(&mut request, now).await;
        }
        let abandoned = self.store.list_requests(&RequestFilter {
            kind: Some(RequestKind::Acquire),
            status: Some(RequestStatus::Running),
            phase: Some(Phase::Accepted),
            ..Default::default()
        })?;
        for mut request in abandoned {
            if asked.contains(&request.request_id)
                || !is_abandoned(request.owner.as_deref(), request.updated_at, now)
            {
                continue;
            }
            self.resume_if_abandoned(&mut request, now).await;
            if self.config.request.orphans != OrphanPolicy::Terminate {
                continue;
            }
            let machines: Vec<MachineSpec> = self
                .store
                .machines_of_request(&request.request_id)?
                .into_iter()
                .filter(|m| !m.state.is_gone())
                .map(|m| MachineSpec {
                    machine_id: Some(m.machine_id),
                    name: m.name,
                })
                .collect();
            let count = machines.len();
            if count > 0 {
                self.return_machines(&machines).await?;
            }
            let mut settled = self
                .store
                .get_request(&request.request_id)?
                .unwrap_or(request);
            settled.status = RequestStatus::CompleteWithError;
            settled.message = format!(
                "abandoned before its id reached the caller; its {count} machines were terminated (request.orphans = terminate)"
            );
            settled.updated_at = now;
            match self.store.update_request(&settled) {
                // Cancelled meanwhile: the cancellation terminates them.
                Err(StoreError::Cancelled(_)) => continue,
                other => other?,
            }
            tracing::warn!(request_id = %settled.request_id, machines = count, "orphaned machines terminated");
        }
        Ok(())
    }
}

/// The merged template stored with a request, to provision it again after a crash.
pub(super) fn stored_template(request: &Request) -> Option<Template> {
    request
        .template
        .clone()
        .and_then(|t| serde_json::from_value(t).ok())
}
