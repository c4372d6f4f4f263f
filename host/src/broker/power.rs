//! Stopping and starting machines (`orb machines stop|start`), where their provider can.
//!
//! Only machines of orb's that are up and not being returned are touched; each is asked of the
//! provider instance that made it. Host Factory counts a stopped machine as one the cloud took
//! back (`getReturnRequests` lists it, and Host Factory then returns it), so a stop must be
//! confirmed by the caller.

use std::collections::BTreeMap;

use orb_plugin_api::operations::op;
use orb_plugin_api::{MachineRef, PowerRequest};
use serde::Serialize;

use super::{Broker, BrokerError};
use crate::domain::MachineRecord;

/// Stop or start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Stop, keeping the machine.
    Stop,
    /// Start a stopped machine.
    Start,
}

/// What became of one machine named.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerOutcome {
    /// The machine, as named.
    pub machine: String,
    /// `stopping`, `starting`, `failed` or `refused`.
    pub result: &'static str,
    /// Why, when it failed or was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Broker {
    /// Stops or starts the machines `names` (ids or host names): each of orb's, up and not
    /// being returned, through its own provider instance. A stop needs `confirmed`.
    pub async fn power(
        &self,
        power: Power,
        names: &[String],
        confirmed: bool,
    ) -> Result<Vec<PowerOutcome>, BrokerError> {
        if power == Power::Stop && !confirmed {
            return Err(BrokerError::BadInput(
                "Host Factory counts a stopped machine as one the cloud took back: \
                 getReturnRequests lists it and Host Factory returns it. Stop only machines \
                 Host Factory does not hold; --force to stop them"
                    .into(),
            ));
        }
        let mut outcomes = Vec::with_capacity(names.len());
        let mut by_instance: BTreeMap<String, Vec<(String, MachineRecord)>> = BTreeMap::new();
        for name in names {
            let record = match self.store.get_machine(name)? {
                Some(r) => Some(r),
                None => self.store.find_machine_by_name(name)?,
            };
            let refused = match &record {
                None => Some("not orb's: no machine of orb's has this id or host name"),
                Some(r) if r.return_request_id.is_some() => Some("being returned"),
                Some(r) if r.state.is_gone() => Some("gone"),
                Some(_) => None,
            };
            match (refused, record) {
                (None, Some(record)) => by_instance
                    .entry(record.provider_instance.clone())
                    .or_default()
                    .push((name.clone(), record)),
                (why, _) => outcomes.push(PowerOutcome {
                    machine: name.clone(),
                    result: "refused",
                    message: why.map(str::to_owned),
                }),
            }
        }
        let mut acted_on = Vec::new();
        for (instance, machines) in by_instance {
            let request = PowerRequest {
                machines: machines
                    .iter()
                    .map(|(_, m)| MachineRef {
                        machine_id: m.machine_id.clone(),
                        request_id: Some(m.request_id.clone()),
                        resource_id: m.resource_id.clone(),
                    })
                    .collect(),
            };
            let provider = self.provider_named(&instance).await?;
            let answer = match power {
                Power::Stop => provider.call::<op::StopMachines>(&request).await?,
                Power::Start => provider.call::<op::StartMachines>(&request).await?,
            };
            for (name, record) in machines {
                let failed = answer
                    .failed
                    .iter()
                    .find(|f| f.machine_id == record.machine_id);
                outcomes.push(
                    match (failed, answer.changed.contains(&record.machine_id)) {
                        (Some(f), _) => PowerOutcome {
                            machine: name,
                            result: "failed",
                            message: Some(f.message.clone()),
                        },
                        (None, true) => PowerOutcome {
                            machine: name,
                            result: match power {
                                Power::Stop => "stopping",
                                Power::Start => "starting",
                            },
                            message: None,
                        },
                        (None, false) => PowerOutcome {
                            machine: name,
                            result: "failed",
                            message: Some("the provider did not say it acted on it".into()),
                        },
                    },
                );
                acted_on.push(record);
            }
        }
        // What the providers report now goes to the store.
        if !acted_on.is_empty() {
            self.refresh_machines(acted_on).await?;
        }
        Ok(outcomes)
    }
}
