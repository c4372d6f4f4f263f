//! The steps several operations share: provisioning a stored request, opening a return
//! request and terminating what it claims, and reading the template stored with a request.
//! Each operation's own file (acquire, cancel, release, orphans, refresh) calls these and no
//! other file's helpers.

use orb_plugin_api::operations::op;
use std::collections::BTreeMap;

use orb_plugin_api::{MachineRef, ProvisionRequest, ProvisionResult, Template, TerminateRequest};

use super::retry::with_retries;
use super::{Broker, BrokerError, ReturnSummary};
use crate::config::ProviderInstanceConfig;
use crate::domain::{now, Phase, Request, RequestKind, RequestStatus};
use crate::storage::MachineFilter;

impl Broker {
    /// Asks the provider of `instance` to provision `count` machines of a stored request (a
    /// top-up of it when `attempt` is above 0), retrying what may succeed on retry.
    pub(super) async fn call_provision(
        &self,
        request: &Request,
        instance: &ProviderInstanceConfig,
        template: Template,
        count: u32,
        attempt: u32,
    ) -> Result<ProvisionResult, BrokerError> {
        let provider = self.provider(instance).await?;
        let call = ProvisionRequest {
            request_id: request.request_id.clone(),
            template,
            count,
            attempt,
        };
        Ok(with_retries("provision_machines", || {
            provider.call::<op::ProvisionMachines>(&call)
        })
        .await?)
    }

    /// Asks the providers to terminate what the stored return `request` claims and is not gone
    /// yet, then submits the request with what they did.
    pub(super) async fn terminate_claimed(
        &self,
        request: &Request,
    ) -> Result<ReturnSummary, BrokerError> {
        let claimed = self.store.list_machines(&MachineFilter {
            return_request_id: Some(request.request_id.clone()),
            ..Default::default()
        })?;
        // Per provider instance: the machines to terminate.
        let mut targets: BTreeMap<String, Vec<MachineRef>> = BTreeMap::new();
        let mut summary = ReturnSummary::default();
        for m in claimed {
            if m.state.is_gone() {
                summary.already_gone += 1;
                continue;
            }
            targets
                .entry(m.provider_instance.clone())
                .or_default()
                .push(MachineRef {
                    machine_id: m.machine_id,
                    request_id: Some(m.request_id),
                    resource_id: m.resource_id,
                });
        }
        let mut terminating = Vec::new();
        for (instance_name, machines) in targets {
            let call = TerminateRequest {
                request_id: request.request_id.clone(),
                machines,
            };
            let answer = match self.provider_named(&instance_name).await {
                Ok(provider) => with_retries("terminate_machines", || {
                    provider.call::<op::TerminateMachines>(&call)
                })
                .await
                .map_err(BrokerError::from),
                Err(e) => Err(e),
            };
            match answer {
                Ok(result) => {
                    summary.already_gone += result.already_gone.len();
                    summary
                        .failed
                        .extend(result.failed.into_iter().map(|f| (f.machine_id, f.message)));
                    terminating.extend(result.terminating);
                }
                Err(e) => summary.failed.extend(
                    call.machines
                        .into_iter()
                        .map(|m| (m.machine_id, format!("termination failed: {e}"))),
                ),
            }
        }
        summary.terminating = terminating.len();
        self.store
            .submit_return(&request.request_id, &terminating, &summary.failed, now())?;
        Ok(summary)
    }

    /// A new return request `request_id` for `count` machines of `provider_instance`, not
    /// stored yet: submitted, owned by no process.
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
            attempts: 0,
            placements: Vec::new(),
            version: 0,
        })
    }
}

/// The merged template stored with a request, to provision it again after a crash.
pub(super) fn stored_template(request: &Request) -> Option<Template> {
    request
        .template
        .clone()
        .and_then(|t| serde_json::from_value(t).ok())
}
