//! Requests.

use serde::{Deserialize, Serialize};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// Provision machines.
    Acquire,
    /// Return (terminate) machines.
    Return,
}

impl RequestKind {
    /// `acquire` or `return`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Acquire => "acquire",
            RequestKind::Return => "return",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "acquire" => Some(RequestKind::Acquire),
            "return" => Some(RequestKind::Return),
            _ => None,
        }
    }

    /// The prefix of this kind's request ids, as the Python ORB writes them.
    pub fn id_prefix(self) -> &'static str {
        match self {
            RequestKind::Acquire => "req-",
            RequestKind::Return => "ret-",
        }
    }

    /// A new, unique request id of this kind.
    pub fn new_id(self) -> String {
        format!("{}{}", self.id_prefix(), uuid::Uuid::new_v4())
    }
}

/// A request's status, in Host Factory's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// In progress.
    Running,
    /// Done: every machine was provisioned (acquire) or is gone (return).
    Complete,
    /// Done, but some machines failed.
    CompleteWithError,
}

impl RequestStatus {
    /// The Host Factory name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Running => "running",
            RequestStatus::Complete => "complete",
            RequestStatus::CompleteWithError => "complete_with_error",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "running" => Some(RequestStatus::Running),
            "complete" => Some(RequestStatus::Complete),
            "complete_with_error" => Some(RequestStatus::CompleteWithError),
            _ => None,
        }
    }

    /// Whether the request is finished.
    pub fn is_terminal(self) -> bool {
        self != RequestStatus::Running
    }
}

/// How far an acquire request's provisioning got; what a crash can interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Stored; the provider may or may not have been called. A later call finishes it (the
    /// provider's idempotency makes a second call safe).
    Accepted,
    /// The provider's answer is stored.
    Submitted,
    /// Cancelled by an operator. A stored request in this phase is only ever rewritten in this
    /// phase, so no later writer (a provision finishing, a status refresh) undoes the
    /// cancellation. While its `owner` is set, a provision is still in flight, and undoes what
    /// it made when it ends.
    Cancelled,
}

impl Phase {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Accepted => "accepted",
            Phase::Submitted => "submitted",
            Phase::Cancelled => "cancelled",
        }
    }

    /// The phase named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "accepted" => Some(Phase::Accepted),
            "submitted" => Some(Phase::Submitted),
            "cancelled" => Some(Phase::Cancelled),
            _ => None,
        }
    }
}

impl Request {
    /// The provider instances it asked: its own, and each of its placements'.
    pub fn instances(&self) -> impl Iterator<Item = &str> {
        let placed = self
            .placements
            .iter()
            .map(|p| p.instance.as_str())
            .filter(move |i| *i != self.provider_instance);
        std::iter::once(self.provider_instance.as_str()).chain(placed)
    }

    /// The resources `instance` made for it.
    pub fn resource_ids_of(&self, instance: &str) -> &[String] {
        match self.placements.iter().find(|p| p.instance == instance) {
            Some(p) => &p.resource_ids,
            None if instance == self.provider_instance => &self.resource_ids,
            None => &[],
        }
    }
}

/// One instance's part of an acquire request that failed over.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The provider instance asked.
    pub instance: String,
    /// How many machines (units) it was asked for.
    pub asked: u32,
    /// How many it took on.
    pub got: u32,
    /// Why it did not take the rest, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cloud resources it made for the request.
    #[serde(default)]
    pub resource_ids: Vec<String>,
}

/// A request, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `req-<uuid>` or `ret-<uuid>`.
    pub request_id: String,
    /// Acquire or return.
    pub kind: RequestKind,
    /// The provider instance that serves it.
    pub provider_instance: String,
    /// That instance's type.
    pub provider_type: String,
    /// The template (acquire).
    pub template_id: Option<String>,
    /// The provider API of the template, when it names one.
    pub provider_api: Option<String>,
    /// Machines asked for.
    pub requested: u32,
    /// Its status.
    pub status: RequestStatus,
    /// How far provisioning got (acquire).
    pub phase: Phase,
    /// A human-readable summary.
    pub message: String,
    /// Machines the provider reported it could not provide.
    pub unfulfilled: u32,
    /// Cloud resources created for it.
    pub resource_ids: Vec<String>,
    /// The merged template it was made from (acquire), to finish it after a crash.
    pub template: Option<serde_json::Value>,
    /// `host:pid` of the process provisioning it while the phase is `accepted`.
    pub owner: Option<String>,
    /// When it was made (seconds since the epoch).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
    /// When it must settle with what it has.
    pub deadline_at: i64,
    /// How many times a process took it over from an owner that died.
    pub attempts: u32,
    /// Where its machines were asked for, in order, when more than its own instance was
    /// asked (an acquire that failed over): each instance, what it was asked and got.
    pub placements: Vec<Placement>,
    /// The stored row's version when this copy was read or written: a write of an older copy
    /// is refused.
    pub version: i64,
}
