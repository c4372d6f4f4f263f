//! Dry runs of a request and of a return (`--dry-run`): the host's own checks, then the
//! provider's (`check_provision`, `check_terminate`: on AWS, the API's `DryRun`). Nothing is
//! stored and nothing is made, started or terminated.

use std::collections::BTreeMap;

use orb_plugin_api::operations::op;
use orb_plugin_api::{MachineRef, ProvisionRequest, TerminateRequest};
use serde::Serialize;

use super::acquire::{cap_of, over_cap};
use super::{Broker, BrokerError, MachineSpec};
use crate::domain::RequestKind;
use crate::storage::admits;

/// What a dry run found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Always true: nothing was done.
    pub dry_run: bool,
    /// Whether the call would go through.
    pub would_succeed: bool,
    /// What would stop it.
    pub problems: Vec<String>,
    /// What was not checked, and why.
    pub unchecked: Vec<String>,
}

impl DryRun {
    fn of(problems: Vec<String>, unchecked: Vec<String>) -> Self {
        DryRun {
            dry_run: true,
            would_succeed: problems.is_empty(),
            problems,
            unchecked,
        }
    }
}

impl Broker {
    /// A dry run of asking for `count` machines of `template_id`.
    pub async fn check_request(
        &self,
        template_id: &str,
        count: i64,
    ) -> Result<DryRun, BrokerError> {
        let count = self.checked_count(count)?;
        let super::routing::Candidate { template, instance } =
            self.first_candidate(template_id).await?;
        let call = ProvisionRequest {
            request_id: RequestKind::Acquire.new_id(),
            template,
            count,
            attempt: 0,
        };
        let mut problems = Vec::new();
        // The request's own admission rule, on what is in use now.
        let cap = cap_of(&call.template);
        if cap.is_some() {
            let in_use = self.store.template_use(template_id)?;
            if !admits(cap, in_use, count) {
                problems.push(over_cap(
                    template_id,
                    count,
                    call.template.max_number,
                    in_use,
                ));
            }
        }
        problems.extend(
            self.provider(&instance)
                .await?
                .call::<op::CheckProvision>(&call)
                .await?,
        );
        Ok(DryRun::of(
            problems,
            vec![
                "other requests for the template stored before this one: its maxNumber is \
                 checked again when the request is stored"
                    .into(),
            ],
        ))
    }

    /// A dry run of returning the machines `specs` names: each must be orb's and up, and its
    /// provider must be allowed to terminate it.
    pub async fn check_return(&self, specs: &[MachineSpec]) -> Result<DryRun, BrokerError> {
        let mut problems = Vec::new();
        let mut by_instance: BTreeMap<String, Vec<MachineRef>> = BTreeMap::new();
        for spec in specs {
            let named = spec
                .machine_id
                .clone()
                .or(spec.name.clone())
                .unwrap_or_default();
            let record = match (&spec.machine_id, &spec.name) {
                (Some(id), _) => self.store.get_machine(id)?,
                (None, Some(name)) => self.store.find_machine_by_name(name)?,
                (None, None) => None,
            };
            match record {
                None => problems.push(format!("{named}: not a machine of orb's")),
                Some(r) if r.state.is_gone() => problems.push(format!("{named}: gone already")),
                Some(r) if r.return_request_id.is_some() => {
                    problems.push(format!("{named}: being returned already"))
                }
                Some(r) => by_instance
                    .entry(r.provider_instance.clone())
                    .or_default()
                    .push(MachineRef {
                        machine_id: r.machine_id,
                        request_id: Some(r.request_id),
                        resource_id: r.resource_id,
                    }),
            }
        }
        for (instance, machines) in by_instance {
            let call = TerminateRequest {
                request_id: RequestKind::Return.new_id(),
                machines,
            };
            problems.extend(
                self.provider_named(&instance)
                    .await?
                    .call::<op::CheckTerminate>(&call)
                    .await?,
            );
        }
        Ok(DryRun::of(problems, Vec::new()))
    }
}
