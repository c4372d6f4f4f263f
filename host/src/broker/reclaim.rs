//! Machines the cloud is taking back by itself: `getReturnRequests`.
//!
//! Only machines the caller names are considered, so an empty or missing list never reports
//! (or reaps) anything. A machine is listed when the cloud announced it will reclaim it (a
//! spot interruption notice: the seconds left of the two minutes), or when it is already
//! gone or going without orb having been asked to return it (grace period 0).

use orb_plugin_api::operations::op;
use std::collections::{BTreeMap, HashMap, HashSet};

use orb_plugin_api::{Machine, StatusQuery};

use super::{Broker, BrokerError, MachineSpec};
use crate::domain::{now, reclaim_grace};

/// A machine the cloud is reclaiming.
#[derive(Debug, Clone, PartialEq)]
pub struct Reclaimed {
    /// Its host name, as the caller knows it.
    pub name: String,
    /// Its id.
    pub machine_id: String,
    /// Seconds before it goes (0: gone).
    pub grace_period: i64,
}

impl Broker {
    /// Those of `specs` the cloud is reclaiming or reclaimed, refreshed from the providers
    /// (one status call per provider instance).
    pub async fn reclaimed(&self, specs: &[MachineSpec]) -> Result<Vec<Reclaimed>, BrokerError> {
        self.sweep_abandoned(&[]).await?;
        let now = now();
        let default_instance = self.default_instance()?.name.clone();
        // Resolve what orb knows; group the ids to ask about by provider instance.
        let mut resolved = Vec::with_capacity(specs.len());
        let mut queries: BTreeMap<String, StatusQuery> = BTreeMap::new();
        for spec in specs {
            let record = match (&spec.machine_id, &spec.name) {
                (Some(id), _) => self.store.get_machine(id)?,
                (None, Some(name)) => self.store.find_machine_by_name(name)?,
                (None, None) => None,
            };
            let machine_id = spec
                .machine_id
                .clone()
                .or_else(|| record.as_ref().map(|r| r.machine_id.clone()));
            if let Some(id) = &machine_id {
                let instance = record
                    .as_ref()
                    .map(|r| r.provider_instance.clone())
                    .unwrap_or_else(|| default_instance.clone());
                queries
                    .entry(instance)
                    .or_default()
                    .machine_ids
                    .push(id.clone());
            }
            resolved.push((spec, machine_id, record));
        }
        let mut reported: HashMap<String, Machine> = HashMap::new();
        let mut asked: HashSet<String> = HashSet::new();
        for (instance_name, query) in queries {
            let provider = self.provider_named(&instance_name).await?;
            let status = provider.call::<op::MachineStatus>(&query).await?;
            asked.extend(query.machine_ids);
            reported.extend(
                status
                    .machines
                    .into_iter()
                    .map(|m| (m.machine_id.clone(), m)),
            );
        }

        let mut out = Vec::new();
        let mut refreshed = Vec::new();
        for (spec, machine_id, record) in resolved {
            let Some(machine_id) = machine_id else {
                continue;
            };
            if !asked.contains(&machine_id) {
                continue;
            }
            let known_name = record.as_ref().and_then(|r| r.name.clone());
            let grace = match (reported.get(&machine_id), record) {
                (Some(m), Some(mut r)) => {
                    r.refresh(m, now);
                    let grace = reclaim_grace(
                        r.state,
                        r.reclaim_notice_at,
                        r.return_request_id.is_some(),
                        now,
                    );
                    refreshed.push(r);
                    grace
                }
                (Some(m), None) => reclaim_grace(m.state, m.reclaim_notice_at, false, now),
                (None, Some(mut r)) => {
                    r.mark_gone(now);
                    let grace = reclaim_grace(r.state, None, r.return_request_id.is_some(), now);
                    refreshed.push(r);
                    grace
                }
                // Named by its id, unknown to orb and to the cloud: gone.
                (None, None) => Some(0),
            };
            if let Some(grace_period) = grace {
                out.push(Reclaimed {
                    name: spec
                        .name
                        .clone()
                        .or(known_name)
                        .unwrap_or_else(|| machine_id.clone()),
                    machine_id,
                    grace_period,
                });
            }
        }
        self.store.upsert_machines(&refreshed)?;
        Ok(out)
    }
}
