//! Acquiring machines: `requestMachines`.

use orb_plugin_api::{ErrorKind, Template};

use super::owner::this_process;
use super::{Broker, BrokerError};
use crate::config::ProviderInstanceConfig;
use crate::domain::{
    acquire_outcome, acquire_result, now, MachineRecord, Phase, Request, RequestKind, RequestStatus,
};
use crate::storage::{Admission, StoreError};

impl Broker {
    /// Asks for `count` machines of `template_id`. The request is stored before the provider
    /// is called; the returned request says how provisioning went. A provision that failed
    /// outright is an error (the stored request is settled as failed).
    pub async fn request_machines(
        &self,
        template_id: &str,
        count: i64,
    ) -> Result<Request, BrokerError> {
        let (mut request, template, instance) = self.accept_request(template_id, count).await?;
        self.provision(&mut request, &instance, template).await?;
        Ok(request)
    }

    /// Checks and stores a request for `count` machines of `template_id`, without calling the
    /// provider: [`Broker::provision`] does that next (at once, or in the background).
    pub async fn accept_request(
        &self,
        template_id: &str,
        count: i64,
    ) -> Result<(Request, Template, ProviderInstanceConfig), BrokerError> {
        let count = self.checked_count(count)?;
        let super::routing::Candidate { template, instance } =
            self.first_candidate(template_id).await?;
        let instance = &instance;
        let now = now();
        let request = Request {
            request_id: RequestKind::Acquire.new_id(),
            kind: RequestKind::Acquire,
            provider_instance: instance.name.clone(),
            provider_type: instance.provider_type.clone(),
            template_id: Some(template_id.to_owned()),
            provider_api: template.provider_api.clone(),
            requested: count,
            status: RequestStatus::Running,
            phase: Phase::Accepted,
            message: "provisioning".to_owned(),
            unfulfilled: 0,
            resource_ids: Vec::new(),
            template: Some(serde_json::to_value(&template).expect("templates serialize")),
            owner: Some(this_process()),
            created_at: now,
            updated_at: now,
            deadline_at: now + self.request_timeout(),
            attempts: 0,
            placements: Vec::new(),
            version: 0,
        };
        match self.store.insert_request(&request, cap_of(&template))? {
            Admission::Stored => Ok((request, template, instance.clone())),
            Admission::Full { in_use } => Err(BrokerError::BadInput(over_cap(
                template_id,
                count,
                template.max_number,
                in_use,
            ))),
        }
    }

    /// `count` as a machine count, when one request may ask for it.
    pub(super) fn checked_count(&self, count: i64) -> Result<u32, BrokerError> {
        if count <= 0 {
            return Err(BrokerError::BadInput(format!(
                "machineCount must be a whole number above 0, not {count}"
            )));
        }
        let bound = self.config.request.max_machines_per_request;
        match u32::try_from(count) {
            Ok(count) if count <= bound => Ok(count),
            _ => Err(BrokerError::BadInput(format!(
                "machineCount {count} is above the most one request may ask for ({bound}, request.max_machines_per_request)"
            ))),
        }
    }

    /// Calls the provider for a stored `accepted` request and stores its answer. Also finishes
    /// requests whose provisioning process died. When the request was cancelled while the
    /// provider worked, what the provider made is undone instead.
    pub async fn provision(
        &self,
        request: &mut Request,
        instance: &ProviderInstanceConfig,
        template: Template,
    ) -> Result<(), BrokerError> {
        let answer = match self.provision_across(request, instance, template).await {
            Err(BrokerError::Provider(e)) => Err(e),
            // No provider to call: the request stays `accepted`, for a later call to finish.
            Err(e) => return Err(e),
            Ok(provisioned) => Ok(provisioned),
        };
        let now = now();
        request.phase = Phase::Submitted;
        request.owner = None;
        request.updated_at = now;
        let (result, machines, placements, unasked) = match answer {
            Ok(p) => (p.result, p.machines, p.placements, p.unasked),
            Err(e) => {
                request.status = RequestStatus::CompleteWithError;
                request.message = format!("provisioning failed: {}", e.error.message);
                // The provider may have made something before it failed or stopped answering,
                // or an instance asked before this process's may have: the request is
                // cancelled, and each of its instances releases what is tagged with it.
                let release = !outcome_known(&e.error.kind) || request.instances().nth(1).is_some();
                self.close_failed(request, release, Vec::new()).await?;
                return Err(e.into());
            }
        };
        request.resource_ids = result.resource_ids.clone();
        request.unfulfilled = result.failures.iter().map(|f| f.count).sum();
        request.placements = placements;
        let machines: Vec<MachineRecord> = machines
            .iter()
            .map(|(instance, m)| {
                let mut record = MachineRecord::of_request(m, request, now);
                record.provider_instance = instance.clone();
                record
            })
            .collect();
        // The provider says it could provide nothing: a failure, not a submitted request.
        let nothing = machines.is_empty() && request.unfulfilled >= request.requested;
        if nothing {
            let reasons: Vec<&str> = result.failures.iter().map(|f| f.message.as_str()).collect();
            request.status = RequestStatus::CompleteWithError;
            request.message = format!("no machine could be provisioned: {}", reasons.join("; "));
            // An instance an earlier run asked, and this one did not, may hold machines.
            self.close_failed(request, !unasked.is_empty(), result.resource_ids.clone())
                .await?;
            return Err(BrokerError::Provider(crate::plugins::ProviderCallError {
                instance: instance.name.clone(),
                operation: "provision_machines",
                error: orb_plugin_api::ProviderError::new(
                    result
                        .failures
                        .first()
                        .map(|f| f.kind)
                        .unwrap_or(orb_plugin_api::ErrorKind::Capacity),
                    request.message.clone(),
                ),
            }));
        }
        let results: Vec<_> = machines
            .iter()
            .map(|m| acquire_result(m.state, false))
            .collect();
        let outcome = acquire_outcome(request.requested, &results, request.unfulfilled, false, 0);
        request.status = outcome.status;
        request.message = match &result.message {
            Some(note) => format!("{}; {note}", outcome.message),
            None => outcome.message,
        };
        if !result.failures.is_empty() {
            let reasons: Vec<&str> = result.failures.iter().map(|f| f.message.as_str()).collect();
            request.message = format!("{} ({})", request.message, reasons.join("; "));
        }
        // An instance an earlier, interrupted run asked and this one did not may hold machines
        // of the request: it stays running until a refresh has asked that instance.
        if !unasked.is_empty() {
            request.status = RequestStatus::Running;
            request.message = format!(
                "{}; asking {} what an interrupted provision made there",
                request.message,
                unasked.join(", ")
            );
        }
        self.store_outcome(request, &machines, result.resource_ids)
            .await?;
        tracing::info!(request_id = %request.request_id, machines = machines.len(), status = request.status.as_str(), "provisioned");
        Ok(())
    }

    /// Stores a provision that failed; with `release`, as cancelled and held by this process,
    /// then has each of the request's instances release what is tagged with it (the sweep
    /// finishes that if this process dies).
    async fn close_failed(
        &self,
        request: &mut Request,
        release: bool,
        resource_ids: Vec<String>,
    ) -> Result<(), BrokerError> {
        if release {
            request.phase = Phase::Cancelled;
            request.owner = Some(this_process());
        }
        self.store_outcome(request, &[], resource_ids).await?;
        if release {
            if let Err(undo) = self.undo(request.clone()).await {
                tracing::error!(request_id = %request.request_id, error = %undo, "what the failed provision made could not be released; cancel the request again to retry");
            }
        }
        Ok(())
    }

    /// Stores the outcome of a provision, or, when the request was cancelled meanwhile, undoes
    /// what the provider made (`resource_ids`).
    async fn store_outcome(
        &self,
        request: &mut Request,
        machines: &[MachineRecord],
        resource_ids: Vec<String>,
    ) -> Result<(), BrokerError> {
        match self.store.save_progress(request, machines) {
            Err(StoreError::RequestCancelled(_)) => {
                self.undo_provisioned(request, resource_ids).await?;
                Ok(())
            }
            // Another process took the request over meanwhile (this one was thought dead): it
            // finishes the request, and the provider's idempotency finds what this call made.
            Err(StoreError::Conflict(_)) => {
                tracing::warn!(request_id = %request.request_id, "another process took the request over while it was provisioned; leaving it to that process");
                self.reread(request)
            }
            other => Ok(other?),
        }
    }
}

/// Whether a provision that failed with `kind` is known to have made nothing: a refusal, as
/// opposed to a provider that stopped answering, panicked or answered nonsense.
fn outcome_known(kind: &ErrorKind) -> bool {
    !matches!(
        kind,
        ErrorKind::Unavailable | ErrorKind::Panic | ErrorKind::Protocol | ErrorKind::Internal
    )
}

/// A template's cap, when it has one (`-1` is no limit).
pub(super) fn cap_of(template: &Template) -> Option<u64> {
    u64::try_from(template.max_number).ok()
}

/// Why a request for `count` machines of `template_id` does not fit its cap `max_number`.
pub(super) fn over_cap(template_id: &str, count: u32, max_number: i64, in_use: u64) -> String {
    format!(
        "machineCount {count} is above what template '{template_id}' allows now: maxNumber is {max_number}, {in_use} machines are active or on their way"
    )
}
