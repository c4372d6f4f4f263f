//! Terminating machines: grouped by the resource that owns them (a fleet, a group, or none)
//! and released through its handler.
//!
//! A return of N machines costs ⌈N/1000⌉ + 2 calls on every handler when it empties the
//! resource: the lookup below (which also counts the resource's other instances), deleting the
//! resource with its instances, and deleting the request's launch template.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use orb_plugin_api::{
    Machine, MachineFailure, MachineRef, MachineState, ProviderError, TerminateRequest,
    TerminateResult,
};

use crate::context::Ctx;
use crate::handlers::{self, Release};
use crate::instances::{by_ids, by_requests, resource_of, to_machine};
use crate::template::Api;

/// The most instances one TerminateInstances call names.
const TERMINATE_PER_CALL: usize = 1000;

/// What would stop terminating the machines `request` names: TerminateInstances run dry,
/// 1,000 at a time (a fleet's or group's own deletion has no dry run).
pub async fn check(ctx: &Ctx<'_>, request: &TerminateRequest) -> Vec<String> {
    let ids: Vec<String> = request
        .machines
        .iter()
        .map(|m| m.machine_id.clone())
        .collect();
    let mut problems = Vec::new();
    for batch in ids.chunks(TERMINATE_PER_CALL) {
        let terminated = ctx
            .clients
            .ec2
            .terminate_instances()
            .dry_run(true)
            .set_instance_ids(Some(batch.to_vec()))
            .send()
            .await;
        problems.extend(crate::errors::dry_run("TerminateInstances", terminated));
    }
    problems
}

/// Terminates the machines `request` names, each through the handler of the resource that
/// owns it, so that nothing replaces them.
pub async fn terminate(
    ctx: &Ctx<'_>,
    request: TerminateRequest,
) -> Result<TerminateResult, ProviderError> {
    let found = Found::look_up(ctx, &request.machines).await?;
    let mut result = TerminateResult::default();
    // Group by resource (a fleet, a group) and request. Instances of no fleet or group need
    // nothing of their launch batch: they all go together, 1,000 per TerminateInstances.
    let mut groups: BTreeMap<(Api, String, Option<String>), Vec<String>> = BTreeMap::new();
    for target in &request.machines {
        match found.machines.get(&target.machine_id) {
            Some(m) if !m.state.is_gone() && m.state != MachineState::ShuttingDown => {
                let resource = m
                    .resource_id
                    .clone()
                    .or(target.resource_id.clone())
                    .unwrap_or_default();
                let request_id = m.request_id.clone().or(target.request_id.clone());
                // A machine outside the group or fleet it names (gone, or it left) is
                // terminated on its own: deleting the resource would not take it.
                let key = match found.kind(&resource) {
                    _ if found.outside(&resource, &target.machine_id) => {
                        (Api::RunInstances, String::new(), None)
                    }
                    Api::RunInstances => (Api::RunInstances, String::new(), None),
                    kind => (kind, resource, request_id),
                };
                groups
                    .entry(key)
                    .or_default()
                    .push(target.machine_id.clone());
            }
            Some(m) if m.state == MachineState::ShuttingDown => {
                result.terminating.push(target.machine_id.clone())
            }
            _ => result.already_gone.push(target.machine_id.clone()),
        }
    }
    for ((kind, resource, request_id), machines) in groups {
        let release = Release {
            resource_id: &resource,
            request_id: request_id.as_deref(),
            staying: found.staying(&resource, &machines),
            machines: &machines,
        };
        match handlers::release(ctx, kind, &release).await {
            Ok(()) => result.terminating.extend(machines),
            Err(e) => result
                .failed
                .extend(machines.into_iter().map(|machine_id| MachineFailure {
                    machine_id,
                    message: e.message.clone(),
                })),
        }
    }
    Ok(result)
}

/// What the cloud says of the machines a return names.
#[derive(Default)]
struct Found {
    /// Each named machine the cloud knows, by id.
    machines: HashMap<String, Machine>,
    /// The live instances of each resource whose instances were all listed (none for a group
    /// that no longer exists).
    live: HashMap<String, HashSet<String>>,
    /// The kind of each resource the cloud named: by an instance's tags, or a group's members.
    kinds: HashMap<String, Api>,
}

impl Found {
    /// Looks the machines up in as few calls as the APIs allow: those orb says belong to a fleet
    /// by their request's tag (a page per 1,000 instances, listing the fleet's other instances
    /// too), those of an Auto Scaling group by the group's members, and the rest by id.
    async fn look_up(ctx: &Ctx<'_>, targets: &[MachineRef]) -> Result<Found, ProviderError> {
        let mut found = Found::default();
        let hinted = |api: Api| {
            targets.iter().filter(move |t| {
                t.resource_id.as_deref().map(handlers::of_aws_id) == Some(Some(api))
                    && t.request_id.is_some()
            })
        };
        // Each request's fleet, as orb knows it: the resource of instances the cloud has not
        // tagged with their fleet (a request makes one fleet).
        let mut fleets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in hinted(Api::Ec2Fleet).chain(hinted(Api::SpotFleet)) {
            if let (Some(request), Some(resource)) = (&t.request_id, &t.resource_id) {
                fleets
                    .entry(request.clone())
                    .or_default()
                    .insert(resource.clone());
            }
        }
        if !fleets.is_empty() {
            let requests: Vec<String> = fleets.keys().cloned().collect();
            for instance in by_requests(&ctx.clients.ec2, &requests).await? {
                found.tagged(&instance);
                let mut machine = to_machine(&instance);
                if machine.resource_id.is_none() {
                    machine.resource_id = machine
                        .request_id
                        .as_ref()
                        .and_then(|r| fleets.get(r))
                        .filter(|known| known.len() == 1)
                        .and_then(|known| known.first().cloned());
                }
                found.note(machine);
            }
        }
        // A resource of no AWS id form may be an Auto Scaling group, orb's or the Python
        // ORB's: the groups that exist answer with their members.
        let groups: BTreeSet<String> = targets
            .iter()
            .filter_map(|t| t.resource_id.clone())
            .filter(|r| handlers::of_aws_id(r).is_none())
            .collect();
        found.groups(ctx, groups).await?;
        let rest: Vec<String> = targets
            .iter()
            .filter(|t| !found.machines.contains_key(&t.machine_id))
            .map(|t| t.machine_id.clone())
            .collect();
        if !rest.is_empty() {
            for instance in by_ids(&ctx.clients.ec2, &rest).await? {
                found.tagged(&instance);
                let machine = to_machine(&instance);
                found.machines.insert(machine.machine_id.clone(), machine);
            }
            // Groups only the instances' tags named: asked too, so that one deleted meanwhile
            // is known to be gone.
            let tagged: BTreeSet<String> = found
                .kinds
                .iter()
                .filter(|(group, kind)| **kind == Api::Asg && !found.live.contains_key(*group))
                .map(|(group, _)| group.clone())
                .collect();
            found.groups(ctx, tagged).await?;
        }
        Ok(found)
    }

    /// Lists the members of `groups`. Every live member of a group that exists is then known;
    /// a group that does not exist (never was, or deleted) has none, so a machine naming it is
    /// terminated on its own.
    async fn groups(
        &mut self,
        ctx: &Ctx<'_>,
        groups: BTreeSet<String>,
    ) -> Result<(), ProviderError> {
        if groups.is_empty() {
            return Ok(());
        }
        let groups: Vec<String> = groups.into_iter().collect();
        for group in &groups {
            self.live.insert(group.clone(), HashSet::new());
        }
        for machine in handlers::asg::members(ctx, &groups).await? {
            if let Some(group) = &machine.resource_id {
                self.kinds.insert(group.clone(), Api::Asg);
            }
            self.note(machine);
        }
        Ok(())
    }

    /// Notes the kind of the resource an instance's tags name.
    fn tagged(&mut self, instance: &aws_sdk_ec2::types::Instance) {
        if let Some((resource, kind)) = resource_of(instance) {
            self.kinds.insert(resource.to_owned(), kind);
        }
    }

    /// The kind of `resource`: as the cloud named it, else by its AWS id. A name the cloud
    /// did not name as a group is none: real groups tag their members and list them.
    fn kind(&self, resource: &str) -> Api {
        self.kinds
            .get(resource)
            .copied()
            .or(handlers::of_aws_id(resource))
            .unwrap_or(Api::RunInstances)
    }

    /// Keeps a machine listed with all of its resource's instances.
    fn note(&mut self, machine: Machine) {
        if let Some(resource) = &machine.resource_id {
            let live = self.live.entry(resource.clone()).or_default();
            if !machine.state.is_gone() && machine.state != MachineState::ShuttingDown {
                live.insert(machine.machine_id.clone());
            }
        }
        self.machines.insert(machine.machine_id.clone(), machine);
    }

    /// Whether `machine` is not among the live instances of `resource`, all of which were listed.
    fn outside(&self, resource: &str, machine: &str) -> bool {
        self.live
            .get(resource)
            .is_some_and(|live| !live.contains(machine))
    }

    /// How many live instances of `resource` stay after `machines` go, when all were listed.
    fn staying(&self, resource: &str, machines: &[String]) -> Option<usize> {
        let live = self.live.get(resource)?;
        let going: HashSet<&str> = machines.iter().map(String::as_str).collect();
        Some(
            live.iter()
                .filter(|id| !going.contains(id.as_str()))
                .count(),
        )
    }
}
