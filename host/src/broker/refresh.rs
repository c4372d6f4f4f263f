//! Request status: `getRequestStatus`.
//!
//! Two steps. The refresh talks to the providers and writes: requests still running are
//! refreshed with one status call per provider instance for every request asked about,
//! whatever their number of machines; a request whose provisioning process died is finished;
//! a request that is done (or past its deadline) is settled and stored. Then the view, which
//! only reads what the refresh left: finished requests are served from the database as they
//! are.

use orb_plugin_api::operations::op;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use orb_plugin_api::{Machine, MachineRef, MachineState, StatusQuery, TerminateRequest};

use super::{Broker, BrokerError};
use crate::domain::{
    acquire_outcome, acquire_result, now, return_outcome, return_result, MachineRecord,
    MachineResult, Phase, Request, RequestKind, ReturnItem,
};
use crate::storage::StoreError;

/// A machine of a request, with its result.
#[derive(Debug, Clone)]
pub struct MachineView {
    /// The machine's id.
    pub machine_id: String,
    /// Its result in the request.
    pub result: MachineResult,
    /// Why it failed, or what it is doing.
    pub message: String,
    /// What orb knows of it (nothing for a machine returned that orb never provisioned).
    pub record: Option<MachineRecord>,
    /// Its state as its provider last reported it, for a machine orb has no record of (one it
    /// left alone as not its own); `None` when the provider does not know it.
    pub reported: Option<MachineState>,
    /// Its host name as the caller named it (return requests), else as known.
    pub name: Option<String>,
}

/// A request and its machines, or an id that names no request.
#[derive(Debug, Clone)]
pub struct RequestView {
    /// The id asked about.
    pub request_id: String,
    /// The request, when it exists.
    pub request: Option<Request>,
    /// Its machines.
    pub machines: Vec<MachineView>,
}

/// What a provider reported for one instance's status query.
type Reported = HashMap<String, Machine>;

/// What the store holds of a request: its machines (acquire), or what it named with what orb
/// knows of each (return).
enum Stored {
    Machines(Vec<MachineRecord>),
    Named(Vec<Named>),
}

impl Stored {
    /// The provider instances whose reports this request's refresh needs: an acquire
    /// request's own; each named machine's, for a return (the request's own for a machine
    /// orb does not know).
    fn instances<'a>(&'a self, request: &'a Request) -> BTreeSet<&'a str> {
        match self {
            Stored::Machines(_) => request.instances().collect(),
            Stored::Named(named) => named
                .iter()
                .filter(|n| n.item.machine_id.is_some())
                .map(|n| n.instance(request))
                .collect(),
        }
    }
}

impl Broker {
    /// The status of each of `request_ids`, in order, refreshed from the providers.
    pub async fn request_status(
        &self,
        request_ids: &[String],
    ) -> Result<Vec<RequestView>, BrokerError> {
        self.sweep_abandoned(request_ids).await?;
        Ok(self.status(request_ids, true).await?.0)
    }

    /// Refreshes every running request at once; returns whether a provider throttled the
    /// refresh (the caller should then wait longer before the next one).
    pub async fn refresh_running(&self) -> Result<bool, BrokerError> {
        let running: Vec<String> = self
            .store
            .list_requests(&crate::storage::RequestFilter {
                status: Some(crate::domain::RequestStatus::Running),
                ..Default::default()
            })?
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        if running.is_empty() {
            return Ok(false);
        }
        self.sweep_abandoned(&running).await?;
        Ok(self.status(&running, true).await?.1)
    }

    /// `records` as their providers report them now (one status call per provider instance,
    /// by machine id), stored. A machine its provider does not report is left as it was.
    /// Unlike [`Broker::request_status`], this also refreshes machines of finished requests.
    pub async fn refresh_machines(
        &self,
        mut records: Vec<MachineRecord>,
    ) -> Result<Vec<MachineRecord>, BrokerError> {
        let mut queries: BTreeMap<String, StatusQuery> = BTreeMap::new();
        for record in &records {
            queries
                .entry(record.provider_instance.clone())
                .or_default()
                .machine_ids
                .push(record.machine_id.clone());
        }
        let now = now();
        for (instance, query) in queries {
            let answer = self
                .provider_named(&instance)
                .await?
                .call::<op::MachineStatus>(&query)
                .await?;
            for machine in answer.machines {
                if let Some(record) = records
                    .iter_mut()
                    .find(|r| r.machine_id == machine.machine_id && r.provider_instance == instance)
                {
                    record.refresh(&machine, now);
                }
            }
        }
        self.store.upsert_machines(&records)?;
        Ok(records)
    }

    /// The status of each of `request_ids`, in order, as stored: no provider is called.
    pub async fn stored_status(
        &self,
        request_ids: &[String],
    ) -> Result<Vec<RequestView>, BrokerError> {
        Ok(self.status(request_ids, false).await?.0)
    }

    /// The views, and whether a provider throttled the refresh.
    async fn status(
        &self,
        request_ids: &[String],
        refresh: bool,
    ) -> Result<(Vec<RequestView>, bool), BrokerError> {
        let now = now();
        let mut requests: Vec<Option<Request>> = Vec::with_capacity(request_ids.len());
        for id in request_ids {
            requests.push(self.store.get_request(id)?);
        }
        if refresh {
            for request in requests.iter_mut().flatten() {
                self.resume_if_abandoned(request, now).await;
            }
        }
        // What the store holds of each request, read once for the query and the views.
        let mut stored = Vec::with_capacity(requests.len());
        for request in &requests {
            stored.push(match request {
                Some(r) if r.kind == RequestKind::Acquire => {
                    Stored::Machines(self.store.machines_of_request(&r.request_id)?)
                }
                Some(r) => {
                    let items = self.store.return_items(&r.request_id)?;
                    let mut named = Vec::with_capacity(items.len());
                    for item in items {
                        let record = match &item.machine_id {
                            Some(id) => self.store.get_machine(id)?,
                            None => None,
                        };
                        let state = record.as_ref().map(|r| r.state);
                        named.push(Named {
                            item,
                            record,
                            state,
                        });
                    }
                    Stored::Named(named)
                }
                None => Stored::Named(Vec::new()),
            });
        }
        let mut reported = HashMap::new();
        let mut throttled = false;
        if refresh {
            let live: Vec<(&Request, &Stored)> = requests
                .iter()
                .zip(&stored)
                .filter_map(|(r, s)| Some((r.as_ref()?, s)))
                .filter(|(r, _)| !r.status.is_terminal() && r.phase == Phase::Submitted)
                .collect();
            (reported, throttled) = self.query_providers(&live).await?;
        }

        let mut views = Vec::with_capacity(request_ids.len());
        for ((id, request), stored) in request_ids.iter().zip(requests).zip(stored) {
            let Some(mut request) = request else {
                views.push(RequestView {
                    request_id: id.clone(),
                    request: None,
                    machines: Vec::new(),
                });
                continue;
            };
            let live =
                refresh && !request.status.is_terminal() && request.phase == Phase::Submitted;
            // What every instance this request needs reported, once all of them answered.
            let reported: Option<Reported> = live
                .then(|| {
                    stored
                        .instances(&request)
                        .into_iter()
                        .map(|instance| reported.get(instance))
                        .collect::<Option<Vec<&Reported>>>()
                })
                .flatten()
                .map(|all| {
                    all.into_iter()
                        .flat_map(|r| r.iter().map(|(id, m)| (id.clone(), m.clone())))
                        .collect()
                });
            let reported = reported.as_ref();
            // Past its deadline a live request settles, whether its provider answered or not.
            let settle = live && (reported.is_some() || now >= request.deadline_at);
            let past_deadline = now >= request.deadline_at;
            let machines = match stored {
                Stored::Machines(mut records) => {
                    if live {
                        self.refresh_acquire(&mut request, &mut records, reported, settle, now)
                            .await?;
                    }
                    acquire_view(records, past_deadline)
                }
                Stored::Named(mut named) => {
                    if live {
                        self.refresh_return(&mut request, &mut named, reported, settle, now)
                            .await?;
                    }
                    return_view(&request, named, past_deadline)
                }
            };
            views.push(RequestView {
                request_id: id.clone(),
                request: Some(request),
                machines,
            });
        }
        Ok((views, throttled))
    }

    /// One status call per provider instance, for every live request at once. Also says
    /// whether a provider throttled its call.
    async fn query_providers(
        &self,
        live: &[(&Request, &Stored)],
    ) -> Result<(HashMap<String, Reported>, bool), BrokerError> {
        let mut queries: BTreeMap<&str, StatusQuery> = BTreeMap::new();
        for (request, stored) in live {
            match stored {
                // Each instance the request asked, about what it made.
                Stored::Machines(records) => {
                    for instance in request.instances() {
                        let query = queries.entry(instance).or_default();
                        query.request_ids.push(request.request_id.clone());
                        query
                            .resource_ids
                            .extend(request.resource_ids_of(instance).iter().cloned());
                        query.machine_ids.extend(
                            records
                                .iter()
                                .filter(|m| m.provider_instance == instance)
                                .map(|m| m.machine_id.clone()),
                        );
                    }
                }
                // Each named machine is asked of the instance that made it.
                Stored::Named(named) => {
                    for n in named {
                        if let Some(id) = &n.item.machine_id {
                            queries
                                .entry(n.instance(request))
                                .or_default()
                                .machine_ids
                                .push(id.clone());
                        }
                    }
                }
            }
        }
        let mut reported = HashMap::new();
        let mut throttled = false;
        for (instance_name, query) in queries {
            let answer = match self.provider_named(instance_name).await {
                Ok(provider) => provider
                    .call::<op::MachineStatus>(&query)
                    .await
                    .map_err(BrokerError::from),
                Err(e) => Err(e),
            };
            match answer {
                Ok(status) => {
                    let machines: Reported = status
                        .machines
                        .into_iter()
                        .map(|m| (m.machine_id.clone(), m))
                        .collect();
                    reported.insert(instance_name.to_owned(), machines);
                }
                // The requests stay as last known; the next call tries again.
                Err(e) => {
                    throttled |= matches!(&e, BrokerError::Provider(p) if p.error.kind == orb_plugin_api::ErrorKind::Throttling);
                    tracing::warn!(instance = instance_name, error = %e, "status refresh failed")
                }
            }
        }
        Ok((reported, throttled))
    }

    /// Refreshes an acquire request's machines from what its provider `reported`, and stores
    /// the request's new state when it is to `settle` (terminating, past the deadline, the
    /// machines that never started).
    async fn refresh_acquire(
        &self,
        request: &mut Request,
        records: &mut Vec<MachineRecord>,
        reported: Option<&Reported>,
        settle: bool,
        now: i64,
    ) -> Result<(), BrokerError> {
        let past_deadline = now >= request.deadline_at;
        if let Some(reported) = reported {
            let known: HashSet<String> = records.iter().map(|m| m.machine_id.clone()).collect();
            for record in records.iter_mut() {
                match reported.get(&record.machine_id) {
                    Some(m) => record.refresh(m, now),
                    None => record.mark_gone(now),
                }
            }
            // Machines an asynchronous fleet launched since the last call.
            records.extend(
                reported
                    .values()
                    .filter(|m| !known.contains(&m.machine_id))
                    .filter(|m| {
                        m.request_id.as_deref() == Some(&request.request_id)
                            || m.resource_id
                                .as_ref()
                                .is_some_and(|r| request.resource_ids.contains(r))
                    })
                    .map(|m| {
                        let mut record = MachineRecord::of_request(m, request, now);
                        // Made by the instance that tagged it, when the request asked several.
                        if let Some(instance) = m.tags.get(orb_plugin_api::tags::PROVIDER) {
                            if request.instances().any(|i| i == instance) {
                                record.provider_instance = instance.clone();
                            }
                        }
                        record
                    }),
            );
        }
        if !settle {
            return Ok(());
        }
        // Those still starting at the deadline: settled as failed, the deadline named.
        let late = match past_deadline {
            true => records
                .iter()
                .filter(|m| matches!(m.state, MachineState::Pending | MachineState::Unknown))
                .count() as u32,
            false => 0,
        };
        if past_deadline {
            self.terminate_stragglers(request, records).await;
        }
        let results: Vec<MachineResult> = records
            .iter()
            .map(|m| acquire_result(m.state, past_deadline))
            .collect();
        let outcome = acquire_outcome(
            request.requested,
            &results,
            request.unfulfilled,
            past_deadline,
            late,
        );
        request.status = outcome.status;
        request.message = outcome.message;
        request.updated_at = now;
        match self.store.save_progress(request, records) {
            // Cancelled, or settled by another process, since it was read: show it as stored.
            Err(StoreError::RequestCancelled(_) | StoreError::Conflict(_)) => self.reread(request),
            other => Ok(other?),
        }
    }

    /// Terminates machines still pending at the deadline, so that a request that settles
    /// without them leaves nothing running behind.
    async fn terminate_stragglers(&self, request: &Request, records: &mut [MachineRecord]) {
        let stragglers: Vec<&mut MachineRecord> = records
            .iter_mut()
            .filter(|m| matches!(m.state, MachineState::Pending | MachineState::Unknown))
            .collect();
        if stragglers.is_empty() {
            return;
        }
        let mut by_instance: BTreeMap<String, Vec<MachineRef>> = BTreeMap::new();
        for m in &stragglers {
            by_instance
                .entry(m.provider_instance.clone())
                .or_default()
                .push(MachineRef {
                    machine_id: m.machine_id.clone(),
                    request_id: Some(request.request_id.clone()),
                    resource_id: m.resource_id.clone(),
                });
        }
        let mut terminated = Ok(());
        for (instance, machines) in by_instance {
            if let Err(e) = self.terminate_for(request, &instance, machines).await {
                terminated = Err(e);
            }
        }
        let timeout = request.deadline_at - request.created_at;
        for m in stragglers {
            m.message = Some(match &terminated {
                Ok(_) => format!("did not start within {timeout} s; terminated"),
                Err(e) => format!("did not start within {timeout} s; terminating it failed: {e}"),
            });
            if terminated.is_ok() {
                m.state = MachineState::ShuttingDown;
            }
        }
    }

    /// Refreshes what a return request named from what its provider `reported`, and stores
    /// the request's new state when it is to `settle`.
    async fn refresh_return(
        &self,
        request: &mut Request,
        named: &mut [Named],
        reported: Option<&Reported>,
        settle: bool,
        now: i64,
    ) -> Result<(), BrokerError> {
        let mut updated = Vec::new();
        if let Some(reported) = reported {
            for n in named.iter_mut() {
                let Some(id) = &n.item.machine_id else {
                    continue;
                };
                // As reported now; `None` when it is gone.
                n.state = reported.get(id).map(|m| m.state);
                if let Some(r) = n.record.as_mut() {
                    match reported.get(id) {
                        Some(m) => r.refresh(m, now),
                        None => r.mark_gone(now),
                    }
                    updated.push(r.clone());
                }
            }
        }
        if settle {
            if reported.is_some() && now - request.created_at >= RETURN_GRACE_SECS {
                self.terminate_again(request, named).await;
            }
            let past_deadline = now >= request.deadline_at;
            let results: Vec<MachineResult> =
                named.iter().map(|n| n.result(past_deadline)).collect();
            let outcome = return_outcome(&results);
            request.status = outcome.status;
            request.message = outcome.message;
            request.updated_at = now;
            match self.store.save_progress(request, &updated) {
                // Settled by another process since it was read: show it as stored.
                Err(StoreError::Conflict(_)) => self.reread(request)?,
                other => other?,
            }
        }
        Ok(())
    }

    /// Terminates `machines` of `request` through the provider `instance` that made them.
    async fn terminate_for(
        &self,
        request: &Request,
        instance: &str,
        machines: Vec<MachineRef>,
    ) -> Result<orb_plugin_api::TerminateResult, BrokerError> {
        let call = TerminateRequest {
            request_id: request.request_id.clone(),
            machines,
        };
        self.provider_named(instance)
            .await?
            .call::<op::TerminateMachines>(&call)
            .await
            .map_err(BrokerError::from)
    }

    /// Terminates again the machines of a return that the cloud still reports up once the
    /// grace has passed: a deletion that should have taken them (an Auto Scaling group's forced
    /// delete, say) left them running, and a machine left running is a bill nobody sees.
    async fn terminate_again(&self, request: &Request, named: &mut [Named]) {
        let up: Vec<&mut Named> = named
            .iter_mut()
            .filter(|n| n.item.error.is_none() && n.item.machine_id.is_some())
            .filter(|n| {
                matches!(
                    n.state,
                    Some(MachineState::Running | MachineState::Pending | MachineState::Unknown)
                )
            })
            .collect();
        if up.is_empty() {
            return;
        }
        // Each machine through the instance that made it.
        let mut by_instance: BTreeMap<String, Vec<MachineRef>> = BTreeMap::new();
        for n in &up {
            if let Some(machine_id) = n.item.machine_id.clone() {
                by_instance
                    .entry(n.instance(request).to_owned())
                    .or_default()
                    .push(MachineRef {
                        machine_id,
                        request_id: n.record.as_ref().map(|r| r.request_id.clone()),
                        resource_id: n.record.as_ref().and_then(|r| r.resource_id.clone()),
                    });
            }
        }
        tracing::warn!(
            request = %request.request_id,
            machines = up.len(),
            "returned machines are still up; terminating them again"
        );
        let mut going: HashSet<String> = HashSet::new();
        for (instance, machines) in by_instance {
            match self.terminate_for(request, &instance, machines).await {
                Ok(result) => {
                    going.extend(result.terminating.into_iter().chain(result.already_gone))
                }
                Err(e) => tracing::warn!(
                    request = %request.request_id,
                    instance,
                    error = %e,
                    "terminating returned machines again failed; the next status call tries again"
                ),
            }
        }
        for n in up {
            if n.item
                .machine_id
                .as_ref()
                .is_some_and(|id| going.contains(id))
            {
                n.state = Some(MachineState::ShuttingDown);
            }
        }
    }
}

/// How long after a return its machines may still be reported up before orb terminates them
/// again, in seconds: a cloud's deletion of a fleet or group takes its instances down a few
/// seconds after it answers.
const RETURN_GRACE_SECS: i64 = 10;

/// A machine a return request named: the item, what orb knows of the machine, and its state
/// (`None` when it is gone).
struct Named {
    item: ReturnItem,
    record: Option<MachineRecord>,
    state: Option<MachineState>,
}

impl Named {
    /// The provider instance that made it: its record's, else the return's.
    fn instance<'a>(&'a self, request: &'a Request) -> &'a str {
        self.record
            .as_ref()
            .map_or(request.provider_instance.as_str(), |r| {
                r.provider_instance.as_str()
            })
    }

    fn result(&self, past_deadline: bool) -> MachineResult {
        match &self.item.error {
            Some(_) => MachineResult::Fail,
            None => return_result(self.state, past_deadline),
        }
    }
}

/// The machines of an acquire request, as the refresh left them.
fn acquire_view(records: Vec<MachineRecord>, past_deadline: bool) -> Vec<MachineView> {
    records
        .into_iter()
        .map(|record| {
            let result = acquire_result(record.state, past_deadline);
            MachineView {
                machine_id: record.machine_id.clone(),
                result,
                message: match result {
                    MachineResult::Fail => record
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("machine is {}", record.state)),
                    _ => String::new(),
                },
                name: record.name.clone(),
                reported: Some(record.state),
                record: Some(record),
            }
        })
        .collect()
}

/// What a return request named, as the refresh left it.
fn return_view(request: &Request, named: Vec<Named>, past_deadline: bool) -> Vec<MachineView> {
    named
        .into_iter()
        .map(|n| {
            let result = n.result(past_deadline);
            let Named {
                item,
                record,
                state,
            } = n;
            MachineView {
                machine_id: item
                    .machine_id
                    .clone()
                    .unwrap_or_else(|| item.name.clone().unwrap_or_default()),
                result,
                message: match (&item.error, result) {
                    (Some(error), _) => error.clone(),
                    (None, MachineResult::Succeed) if record.is_none() => {
                        "not known to this provider; treated as already gone".to_owned()
                    }
                    (None, MachineResult::Succeed) => "terminated".to_owned(),
                    (None, MachineResult::Fail) => format!(
                        "still {} after {} s",
                        state.map(|s| s.as_str()).unwrap_or("unknown"),
                        request.deadline_at - request.created_at
                    ),
                    (None, MachineResult::Executing) => String::new(),
                },
                name: item
                    .name
                    .clone()
                    .or_else(|| record.as_ref().and_then(|r| r.name.clone())),
                record,
                reported: state,
            }
        })
        .collect()
}
