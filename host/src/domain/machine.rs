//! Machines.

use std::collections::BTreeMap;

use orb_plugin_api::{Machine, MachineState};
use serde::{Deserialize, Serialize};

/// A machine's result within a request, in Host Factory's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineResult {
    /// Still on its way.
    Executing,
    /// Done as asked.
    Succeed,
    /// Could not be done.
    Fail,
}

impl MachineResult {
    /// The Host Factory name.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineResult::Executing => "executing",
            MachineResult::Succeed => "succeed",
            MachineResult::Fail => "fail",
        }
    }
}

/// A machine, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineRecord {
    /// The cloud's id.
    pub machine_id: String,
    /// The acquire request that provisioned it.
    pub request_id: String,
    /// The return request that is terminating it, if any.
    pub return_request_id: Option<String>,
    /// The provider instance it belongs to.
    pub provider_instance: String,
    /// The template it came from.
    pub template_id: Option<String>,
    /// Its host name.
    pub name: Option<String>,
    /// Its last known state.
    pub state: MachineState,
    /// Private IP address.
    pub private_ip: Option<String>,
    /// Public IP address.
    pub public_ip: Option<String>,
    /// Launch time (seconds since the epoch).
    pub launch_time: Option<i64>,
    /// Instance type.
    pub instance_type: Option<String>,
    /// `ondemand` or `spot`.
    pub price_type: Option<String>,
    /// The availability zone it runs in, when its provider says.
    pub zone: Option<String>,
    /// The cloud resource it belongs to.
    pub resource_id: Option<String>,
    /// Why it is in its state.
    pub message: Option<String>,
    /// When the cloud announced it will reclaim it.
    pub reclaim_notice_at: Option<i64>,
    /// Its tags in the cloud.
    pub tags: BTreeMap<String, String>,
    /// When orb first saw it.
    pub created_at: i64,
    /// When orb last refreshed it.
    pub updated_at: i64,
}

impl MachineRecord {
    /// A record of `machine`, provisioned for `request_id` by `provider_instance`.
    pub fn from_provider(
        machine: &Machine,
        request_id: &str,
        provider_instance: &str,
        template_id: Option<&str>,
        now: i64,
    ) -> Self {
        MachineRecord {
            machine_id: machine.machine_id.clone(),
            request_id: request_id.to_owned(),
            return_request_id: None,
            provider_instance: provider_instance.to_owned(),
            template_id: template_id.map(str::to_owned),
            name: machine.name.clone(),
            state: machine.state,
            private_ip: machine.private_ip_address.clone(),
            public_ip: machine.public_ip_address.clone(),
            launch_time: machine.launch_time,
            instance_type: machine.instance_type.clone(),
            price_type: machine.price_type.clone(),
            zone: machine.zone.clone(),
            resource_id: machine.resource_id.clone(),
            message: machine.message.clone(),
            reclaim_notice_at: machine.reclaim_notice_at,
            tags: machine.tags.clone(),
            created_at: now,
            updated_at: now,
        }
    }

    /// A record of `machine`, found for `request`: a machine whose provider does not say which
    /// resource it belongs to belongs to the request's only resource (its fleet or group).
    pub fn of_request(machine: &Machine, request: &crate::domain::Request, now: i64) -> Self {
        let mut record = MachineRecord::from_provider(
            machine,
            &request.request_id,
            &request.provider_instance,
            request.template_id.as_deref(),
            now,
        );
        if let (None, [only]) = (&record.resource_id, request.resource_ids.as_slice()) {
            record.resource_id = Some(only.clone());
        }
        record
    }

    /// Takes what the provider reports now, keeping what it leaves out.
    pub fn refresh(&mut self, machine: &Machine, now: i64) {
        self.state = machine.state;
        self.name = machine.name.clone().or(self.name.take());
        self.private_ip = machine
            .private_ip_address
            .clone()
            .or(self.private_ip.take());
        self.public_ip = machine.public_ip_address.clone().or(self.public_ip.take());
        self.launch_time = machine.launch_time.or(self.launch_time);
        self.instance_type = machine.instance_type.clone().or(self.instance_type.take());
        self.price_type = machine.price_type.clone().or(self.price_type.take());
        self.zone = machine.zone.clone().or(self.zone.take());
        self.resource_id = machine.resource_id.clone().or(self.resource_id.take());
        self.message = machine.message.clone();
        self.reclaim_notice_at = machine.reclaim_notice_at.or(self.reclaim_notice_at);
        if !machine.tags.is_empty() {
            self.tags = machine.tags.clone();
        }
        self.updated_at = now;
    }

    /// Marks the machine gone: the provider no longer knows it.
    pub fn mark_gone(&mut self, now: i64) {
        if !self.state.is_gone() {
            self.state = MachineState::Terminated;
            self.message = Some("no longer exists in the cloud".into());
        }
        self.updated_at = now;
    }
}

/// One machine named in a return request, as Host Factory named it (it may be unknown to orb).
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnItem {
    /// The return request.
    pub return_request_id: String,
    /// The machine's id, when given or resolved from its name.
    pub machine_id: Option<String>,
    /// The machine's host name, when given or known.
    pub name: Option<String>,
    /// Why the machine could not be returned, when it could not.
    pub error: Option<String>,
}
