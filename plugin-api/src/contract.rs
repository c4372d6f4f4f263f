//! The contract test kit (feature `contract`): what every provider must do, checked against a
//! real provider object, in-process ([`crate::host::in_process`]) or loaded from its library.
//!
//! ```ignore
//! let provider = orb_plugin_api::host::in_process(Box::new(Acme::new()), "acme", "test");
//! let violations = orb_plugin_api::contract::check(&Subject::new(&provider, template));
//! assert!(violations.is_empty(), "{violations:#?}");
//! ```
//!
//! Each check provisions what it needs under a request id of its own and terminates it again.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::host::ProviderObject;
use crate::operations::op;
use crate::{
    tags, CancelRequest, ErrorKind, Machine, MachineRef, MachineState, ProviderError,
    ProvisionRequest, StatusQuery, Template, TerminateRequest,
};

/// The provider under test and what the kit needs to know of it.
pub struct Subject<'a> {
    /// The provider.
    pub provider: &'a ProviderObject,
    /// A template it provisions from.
    pub template: Template,
    /// An id in the provider's format that names no machine.
    pub unknown_machine_id: String,
}

impl<'a> Subject<'a> {
    /// `provider`, provisioning from `template`, with `orb-contract-unknown` as unknown id.
    pub fn new(provider: &'a ProviderObject, template: Template) -> Self {
        Subject {
            provider,
            template,
            unknown_machine_id: "orb-contract-unknown".into(),
        }
    }
}

/// A check the provider failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check's name.
    pub check: &'static str,
    /// What went wrong.
    pub problem: String,
}

type Check = fn(&Subject<'_>) -> Result<(), String>;

/// Every check, by name.
const CHECKS: &[(&str, Check)] = &[
    (
        "provision is idempotent per request id",
        idempotent_provision,
    ),
    ("machines carry the request's tag", tagged_machines),
    ("an unknown machine is absent from status", unknown_absent),
    (
        "terminating a gone machine reports it gone",
        gone_reported_gone,
    ),
    ("cancelling twice is safe", cancel_twice),
    ("errors carry the right kind", error_kinds),
];

/// Runs every check; empty when the provider keeps the contract.
pub fn check(subject: &Subject<'_>) -> Vec<Violation> {
    CHECKS
        .iter()
        .filter_map(|(name, check)| {
            check(subject).err().map(|problem| Violation {
                check: name,
                problem,
            })
        })
        .collect()
}

fn failed(what: &str) -> impl Fn(ProviderError) -> String + '_ {
    move |e| format!("{what} failed: {e}")
}

/// A request id no other run uses.
fn request_id(check: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("contract-{check}-{nanos}")
}

fn provision(s: &Subject<'_>, request_id: &str, count: u32) -> Result<Vec<Machine>, String> {
    let request = ProvisionRequest {
        request_id: request_id.to_owned(),
        template: s.template.clone(),
        count,
        attempt: 0,
    };
    s.provider
        .call::<op::ProvisionMachines>(&request)
        .map(|r| r.machines)
        .map_err(failed("provision_machines"))
}

/// The machines of `request_id` (found by request and by `known` ids) that are not gone.
fn live(s: &Subject<'_>, request_id: &str, known: &[String]) -> Result<Vec<Machine>, String> {
    let query = StatusQuery {
        request_ids: vec![request_id.to_owned()],
        resource_ids: Vec::new(),
        machine_ids: known.to_vec(),
    };
    let found = s
        .provider
        .call::<op::MachineStatus>(&query)
        .map_err(failed("machine_status"))?;
    Ok(found
        .machines
        .into_iter()
        .filter(|m| !m.state.is_gone())
        .collect())
}

/// Terminates `machines`, ignoring the answer: the check's clean-up.
fn clean_up(s: &Subject<'_>, request_id: &str, machines: &[Machine]) {
    if machines.is_empty() {
        return;
    }
    let _ = s.provider.call::<op::TerminateMachines>(&TerminateRequest {
        request_id: format!("{request_id}-cleanup"),
        machines: machines
            .iter()
            .map(|m| MachineRef {
                machine_id: m.machine_id.clone(),
                request_id: Some(request_id.to_owned()),
                resource_id: m.resource_id.clone(),
            })
            .collect(),
    });
}

fn ids(machines: &[Machine]) -> Vec<String> {
    machines.iter().map(|m| m.machine_id.clone()).collect()
}

fn idempotent_provision(s: &Subject<'_>) -> Result<(), String> {
    let id = request_id("idempotent");
    let first = provision(s, &id, 2)?;
    let second = provision(s, &id, 2)?;
    let mut known = ids(&first);
    known.extend(ids(&second));
    known.sort();
    known.dedup();
    let found = live(s, &id, &known)?;
    clean_up(s, &id, &found);
    let first_ids: BTreeSet<String> = ids(&first).into_iter().collect();
    let found_ids: BTreeSet<String> = ids(&found).into_iter().collect();
    if found_ids.len() > 2 {
        return Err(format!(
            "two provisions of one request for 2 machines made {}: {found_ids:?}",
            found_ids.len()
        ));
    }
    match second
        .iter()
        .find(|m| !first_ids.contains(&m.machine_id) && !found_ids.contains(&m.machine_id))
    {
        Some(m) => Err(format!(
            "the second provision answered machine {} that the first did not make",
            m.machine_id
        )),
        None => Ok(()),
    }
}

fn tagged_machines(s: &Subject<'_>) -> Result<(), String> {
    let id = request_id("tagged");
    let made = provision(s, &id, 1)?;
    let found = live(s, &id, &ids(&made))?;
    clean_up(s, &id, &found);
    if found.is_empty() {
        return Err("status finds no machine of a request just provisioned".into());
    }
    match found
        .iter()
        .find(|m| m.tags.get(tags::REQUEST) != Some(&id))
    {
        Some(m) => Err(format!(
            "machine {} has tags {:?}, without {}={id}",
            m.machine_id,
            m.tags,
            tags::REQUEST
        )),
        None => Ok(()),
    }
}

fn unknown_absent(s: &Subject<'_>) -> Result<(), String> {
    let found = s
        .provider
        .call::<op::MachineStatus>(&StatusQuery {
            machine_ids: vec![s.unknown_machine_id.clone()],
            ..Default::default()
        })
        .map_err(failed("machine_status of an unknown machine"))?;
    match found
        .machines
        .iter()
        .find(|m| m.machine_id == s.unknown_machine_id)
    {
        Some(m) => Err(format!(
            "status reports the unknown machine as {:?}",
            m.state
        )),
        None => Ok(()),
    }
}

fn gone_reported_gone(s: &Subject<'_>) -> Result<(), String> {
    let done = s
        .provider
        .call::<op::TerminateMachines>(&TerminateRequest {
            request_id: request_id("gone"),
            machines: vec![MachineRef {
                machine_id: s.unknown_machine_id.clone(),
                request_id: None,
                resource_id: None,
            }],
        })
        .map_err(failed("terminate_machines of a gone machine"))?;
    if done.already_gone.contains(&s.unknown_machine_id) {
        Ok(())
    } else {
        Err(format!(
            "terminating a machine that does not exist answered {done:?}, not alreadyGone"
        ))
    }
}

fn cancel_twice(s: &Subject<'_>) -> Result<(), String> {
    let id = request_id("cancel");
    let made = provision(s, &id, 1)?;
    let cancel = CancelRequest {
        request_id: id.clone(),
        resource_ids: Vec::new(),
        machine_ids: ids(&made),
    };
    for attempt in ["first", "second"] {
        s.provider
            .call::<op::CancelRequest>(&cancel)
            .map_err(|e| format!("the {attempt} cancel failed: {e}"))?;
    }
    let left = live(s, &id, &ids(&made))?;
    match left
        .iter()
        .find(|m| matches!(m.state, MachineState::Pending | MachineState::Running))
    {
        Some(m) => {
            clean_up(s, &id, &left);
            Err(format!(
                "machine {} is still {:?} after two cancels",
                m.machine_id, m.state
            ))
        }
        None => Ok(()),
    }
}

fn error_kinds(s: &Subject<'_>) -> Result<(), String> {
    let kind = |operation: &str, input: &str| match s.provider.call_json(operation, input) {
        Ok(answer) => Err(format!("{operation}({input}) succeeded: {answer}")),
        Err(e) => Ok(e.kind),
    };
    let unreadable = kind("provision_machines", "{not json")?;
    if unreadable != ErrorKind::Protocol {
        return Err(format!(
            "unreadable input answered {unreadable}, not {}",
            ErrorKind::Protocol
        ));
    }
    let unknown = kind("no_such_operation", "null")?;
    if unknown != ErrorKind::Unsupported {
        return Err(format!(
            "an unknown operation answered {unknown}, not {}",
            ErrorKind::Unsupported
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Provider, ProvisionResult, StatusResult, TerminateResult};

    /// A provider that forgets nothing but breaks two rules: it makes new machines on every
    /// provision and reports unknown machines as running.
    struct Careless;

    impl Provider for Careless {
        fn provision_machines(
            &self,
            r: ProvisionRequest,
        ) -> Result<ProvisionResult, ProviderError> {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            Ok(ProvisionResult::started(
                (0..r.count)
                    .map(|n| Machine::new(format!("m-{nanos}-{n}"), MachineState::Running))
                    .collect(),
            ))
        }
        fn terminate_machines(
            &self,
            r: TerminateRequest,
        ) -> Result<crate::TerminateResult, ProviderError> {
            Ok(TerminateResult::terminating(r.machine_ids()))
        }
        fn machine_status(&self, q: StatusQuery) -> Result<StatusResult, ProviderError> {
            Ok(StatusResult {
                machines: q
                    .machine_ids
                    .iter()
                    .map(|id| Machine::new(id, MachineState::Running))
                    .collect(),
            })
        }
    }

    #[test]
    fn a_careless_provider_breaks_the_contract_where_it_is_careless() {
        let provider = crate::host::in_process(Box::new(Careless), "careless", "t");
        let template: Template =
            serde_json::from_value(serde_json::json!({"templateId": "t"})).unwrap();
        let broken: Vec<&str> = check(&Subject::new(&provider, template))
            .iter()
            .map(|v| v.check)
            .collect();
        assert_eq!(
            broken,
            [
                "provision is idempotent per request id",
                "machines carry the request's tag",
                "an unknown machine is absent from status",
                "terminating a gone machine reports it gone",
                "cancelling twice is safe",
            ]
        );
    }
}
