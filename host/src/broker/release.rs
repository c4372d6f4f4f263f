//! Returning machines: `requestReturnMachines`.
//!
//! A return only terminates machines that are orb's: those its state knows, and those the
//! cloud reports with orb's tags for a request orb knows (they are adopted first). Anything
//! else named is refused, with the reason, and the rest of the return goes on.
//!
//! The return request is stored `accepted`, owned by this process, together with its claim on
//! the machines, before any provider is called; it is submitted once the providers answered.
//! A process that dies in between leaves a request that the next call (or the server's
//! reconcile loop) takes over and finishes, as it does for acquire requests.

use orb_plugin_api::operations::op;
use std::collections::HashSet;

use super::owner::this_process;
use super::{Broker, BrokerError};
use crate::domain::{now, MachineRecord, Phase, Request, RequestKind, ReturnItem};
use crate::storage::MachineFilter;

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
    /// Machines that are not orb's, and were left alone, with the reason.
    pub refused: Vec<(String, String)>,
}

/// Why a machine named by a name orb has no machine of is left alone.
const UNKNOWN: &str =
    "orb knows no machine of this id or name (check it with `orb machines list`); left alone";

/// Why a named machine is left alone.
const NOT_ORBS: &str = "not orb's: no request of orb's launched it (it has no record and no orb:request-id tag of a known request); left alone";

/// Which machines a return takes when it names none: those of an acquire request, or every
/// one, narrowed to a provider instance or type; in each case only those neither gone nor
/// being returned.
#[derive(Debug, Default)]
pub struct Unreturned {
    /// Only machines of this acquire request.
    pub request_id: Option<String>,
    /// Only machines of this provider instance.
    pub provider_instance: Option<String>,
    /// Only machines of requests served by instances of this provider type.
    pub provider_type: Option<String>,
}

impl Broker {
    /// The machines `which` names, to return; an error when it names a request that does not
    /// exist or is not an acquire request.
    pub fn unreturned(&self, which: Unreturned) -> Result<Vec<MachineSpec>, BrokerError> {
        if let Some(id) = &which.request_id {
            match self.store.get_request(id)? {
                None => {
                    return Err(BrokerError::NotFound(format!(
                        "request '{id}' does not exist"
                    )))
                }
                Some(r) if r.kind != RequestKind::Acquire => {
                    return Err(BrokerError::Invalid(vec![format!(
                        "'{id}' is a return request: name an acquire request"
                    )]))
                }
                Some(_) => {}
            }
        }
        let machines = self.store.list_machines(&MachineFilter {
            request_id: which.request_id,
            provider_instance: which.provider_instance,
            provider_type: which.provider_type,
            unreturned: true,
            ..Default::default()
        })?;
        Ok(machines
            .into_iter()
            .map(|m| MachineSpec {
                machine_id: Some(m.machine_id),
                name: None,
            })
            .collect())
    }

    /// The machines `names` names, each an id when the store knows a machine of that id, else
    /// a host name.
    pub fn specs_of(&self, names: &[String]) -> Vec<MachineSpec> {
        names
            .iter()
            .map(|m| match self.store.get_machine(m) {
                Ok(Some(_)) => MachineSpec {
                    machine_id: Some(m.clone()),
                    name: None,
                },
                _ => MachineSpec {
                    machine_id: None,
                    name: Some(m.clone()),
                },
            })
            .collect()
    }

    /// Returns the named machines: stores a return request naming them and claiming those of
    /// orb's that are neither gone nor being returned, then asks their providers to terminate
    /// them. A machine named twice is returned once.
    pub async fn return_machines(
        &self,
        specs: &[MachineSpec],
    ) -> Result<(Request, ReturnSummary), BrokerError> {
        if specs.is_empty() {
            return Err(BrokerError::BadInput(
                "no machines to return: give at least one machine with a name or machineId".into(),
            ));
        }
        if let Some(i) = specs
            .iter()
            .position(|s| s.machine_id.is_none() && s.name.is_none())
        {
            return Err(BrokerError::BadInput(format!(
                "machines[{i}] has neither a name nor a machineId"
            )));
        }
        self.sweep_abandoned(&[]).await?;
        let default_instance = self.default_instance()?.clone();
        let now = now();
        let request_id = RequestKind::Return.new_id();

        // What orb knows of each named machine, each machine once.
        let mut seen = HashSet::new();
        let mut named: Vec<(&MachineSpec, Option<MachineRecord>)> = Vec::new();
        for spec in specs {
            let record = match (&spec.machine_id, &spec.name) {
                (Some(id), _) => self.store.get_machine(id)?,
                (None, Some(name)) => self.store.find_machine_by_name(name)?,
                (None, None) => None,
            };
            let key = spec
                .machine_id
                .clone()
                .or_else(|| record.as_ref().map(|r| r.machine_id.clone()))
                .or_else(|| spec.name.clone());
            if seen.insert(key) {
                named.push((spec, record));
            }
        }
        let unknown: Vec<String> = named
            .iter()
            .filter(|(_, record)| record.is_none())
            .filter_map(|(spec, _)| spec.machine_id.clone())
            .collect();
        let adopted = self.adopt_tagged(&default_instance.name, &unknown).await?;

        let mut summary = ReturnSummary::default();
        let mut items = Vec::with_capacity(named.len());
        for (spec, record) in named {
            let record = record.or_else(|| {
                let id = spec.machine_id.as_ref()?;
                adopted.iter().find(|m| &m.machine_id == id).cloned()
            });
            let machine_id = spec
                .machine_id
                .clone()
                .or_else(|| record.as_ref().map(|r| r.machine_id.clone()));
            let error = match (&record, &machine_id, &spec.name) {
                (None, Some(id), _) => {
                    tracing::warn!(machine_id = %id, request_id = %request_id, "{NOT_ORBS}");
                    summary.refused.push((id.clone(), NOT_ORBS.to_owned()));
                    Some(NOT_ORBS.to_owned())
                }
                (None, None, Some(name)) => {
                    tracing::warn!(name = %name, request_id = %request_id, "{UNKNOWN}");
                    summary.refused.push((name.clone(), UNKNOWN.to_owned()));
                    Some(UNKNOWN.to_owned())
                }
                _ => None,
            };
            items.push(ReturnItem {
                return_request_id: request_id.clone(),
                machine_id,
                name: spec
                    .name
                    .clone()
                    .or_else(|| record.as_ref().and_then(|r| r.name.clone())),
                error,
            });
        }
        let provider_instance = default_instance.name.clone();
        let mut request =
            self.new_return(request_id, &provider_instance, items.len() as u32, now)?;
        request.phase = Phase::Accepted;
        request.owner = Some(this_process());
        let claimed = self.store.insert_return(&request, &items)?;
        summary.already_gone = items.len() - claimed.len() - summary.refused.len();
        let done = self.terminate_claimed(&request).await?;
        summary.terminating = done.terminating;
        summary.already_gone += done.already_gone;
        summary.failed = done.failed;
        tracing::info!(request_id = %request.request_id, terminating = summary.terminating, already_gone = summary.already_gone, failed = summary.failed.len(), refused = summary.refused.len(), "return requested");
        Ok((request, summary))
    }

    /// Those of `machine_ids` (unknown to the store) that `instance`'s provider reports with
    /// orb's tags for an acquire request of that instance orb knows, stored as that request's.
    async fn adopt_tagged(
        &self,
        instance: &str,
        machine_ids: &[String],
    ) -> Result<Vec<MachineRecord>, BrokerError> {
        if machine_ids.is_empty() {
            return Ok(Vec::new());
        }
        let provider = self.provider_named(instance).await?;
        let query = orb_plugin_api::StatusQuery {
            machine_ids: machine_ids.to_vec(),
            ..Default::default()
        };
        let reported = provider.call::<op::MachineStatus>(&query).await?.machines;
        let now = now();
        let mut adopted = Vec::new();
        for machine in reported
            .iter()
            .filter(|m| machine_ids.contains(&m.machine_id) && !m.state.is_gone())
        {
            let Some(request_id) = &machine.request_id else {
                continue;
            };
            match self.store.get_request(request_id)? {
                Some(r) if r.kind == RequestKind::Acquire && r.provider_instance == instance => {
                    adopted.push(MachineRecord::of_request(machine, &r, now));
                }
                _ => {}
            }
        }
        self.store.upsert_machines(&adopted)?;
        Ok(adopted)
    }
}
