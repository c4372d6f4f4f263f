//! Durable state: requests, machines and return requests.
//!
//! Behind the [`Store`] trait so that a distributed backend can follow; the embedded default
//! is SQLite ([`SqliteStore`]). Every change is one transaction, so a crash at any point
//! leaves the state consistent, and many `orb` processes share one database safely.

mod migrations;
mod offload;
mod sqlite;

use crate::domain::{MachineRecord, Phase, Request, RequestKind, RequestStatus, ReturnItem};

pub use offload::Offloaded;
pub use sqlite::SqliteStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or prepared.
    #[error("cannot open the state database {path}: {reason}")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A query failed.
    #[error("state database error: {0}")]
    Database(String),
    /// The request was cancelled after the writer read it; the write was refused so the
    /// cancellation stands.
    #[error("request {0} was cancelled meanwhile; it stays cancelled")]
    Cancelled(String),
    /// A stored value could not be read back.
    #[error(
        "the state database holds a value orb cannot read ({0}); was it written by a newer orb?"
    )]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// What storing a cancellation found.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancellation {
    /// No request has this id.
    Unknown,
    /// The request cannot be cancelled: a return request, or one already finished. It is
    /// returned as it is.
    Refused(Request),
    /// The request is cancelled (now, or it was already); returned as stored.
    Cancelled(Request),
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests of this kind.
    pub kind: Option<RequestKind>,
    /// Only requests in this status.
    pub status: Option<RequestStatus>,
    /// Only requests for this template.
    pub template_id: Option<String>,
    /// Only requests in this phase.
    pub phase: Option<Phase>,
    /// Only requests a process has claimed to provision (their owner is set).
    pub owned: bool,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// Which machines to list.
#[derive(Debug, Clone, Default)]
pub struct MachineFilter {
    /// Only machines of this acquire request.
    pub request_id: Option<String>,
    /// Only machines in this state.
    pub state: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// The storage operations orb needs. Every method is atomic.
pub trait Store: Send + Sync {
    /// Stores a new request.
    fn insert_request(&self, request: &Request) -> Result<(), StoreError>;

    /// Replaces a stored request. A cancelled request is only replaced by a cancelled one:
    /// any other write fails with [`StoreError::Cancelled`].
    fn update_request(&self, request: &Request) -> Result<(), StoreError>;

    /// Cancels the acquire request `request_id` unless it is finished: its phase becomes
    /// `cancelled`, its status `complete_with_error` with `message`.
    fn cancel_request(
        &self,
        request_id: &str,
        message: &str,
        now: i64,
    ) -> Result<Cancellation, StoreError>;

    /// The request with this id.
    fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError>;

    /// Requests matching `filter`, newest first.
    fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError>;

    /// Stores a request's new state together with machines it found, in one transaction (none
    /// of it when the request was cancelled meanwhile: [`StoreError::Cancelled`]).
    fn save_progress(
        &self,
        request: &Request,
        machines: &[MachineRecord],
    ) -> Result<(), StoreError>;

    /// Inserts or replaces machines.
    fn upsert_machines(&self, machines: &[MachineRecord]) -> Result<(), StoreError>;

    /// The machine with this id.
    fn get_machine(&self, machine_id: &str) -> Result<Option<MachineRecord>, StoreError>;

    /// The newest machine with this host name.
    fn find_machine_by_name(&self, name: &str) -> Result<Option<MachineRecord>, StoreError>;

    /// Machines of an acquire request.
    fn machines_of_request(&self, request_id: &str) -> Result<Vec<MachineRecord>, StoreError>;

    /// Machines matching `filter`, newest first.
    fn list_machines(&self, filter: &MachineFilter) -> Result<Vec<MachineRecord>, StoreError>;

    /// Machines of a template that are not gone.
    fn active_machines_of_template(&self, template_id: &str) -> Result<u32, StoreError>;

    /// Stores a return request and what it names, and marks the named machines that no other
    /// return request holds as returned by it, in one transaction.
    fn insert_return(&self, request: &Request, items: &[ReturnItem]) -> Result<(), StoreError>;

    /// What a return request named, in order.
    fn return_items(&self, return_request_id: &str) -> Result<Vec<ReturnItem>, StoreError>;

    /// How many requests there are of each kind and status.
    fn request_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;

    /// How many machines there are in each state.
    fn machine_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Records why named machines could not be returned.
    fn set_return_errors(
        &self,
        return_request_id: &str,
        errors: &[(String, String)],
    ) -> Result<(), StoreError>;
}
