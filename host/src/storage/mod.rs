//! Durable state: requests, machines and return requests.
//!
//! Behind the [`Store`] trait: the embedded default is SQLite ([`SqliteStore`]); state that
//! several hosts share lives in PostgreSQL ([`PostgresStore`]). Every change is one transaction, so a crash at any point
//! leaves the state consistent, and many `orb` processes share one database safely.

mod conditions;
#[cfg(test)]
mod contract;
mod filesystem;
mod migrations;
mod offload;
mod postgres;
mod postgres_tls;
mod rows;
mod sqlite;

use orb_plugin_api::InstanceTypeInfo;

use crate::domain::{
    Circuit, MachineRecord, Phase, Request, RequestKind, RequestStatus, ReturnItem,
};

pub use filesystem::network_filesystem;
pub use offload::{written, Offloaded};
pub use postgres::{PostgresOptions, PostgresStore, PostgresTls};
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
    /// The database is on a network file system, where SQLite's locking does not hold across
    /// hosts.
    #[error("the state database {path} is on {filesystem}, a network file system: SQLite's locks do not hold between hosts there, and processes on two hosts can corrupt it; put storage.path on a local disk; for state that several hosts share, use PostgreSQL (storage.type: postgresql); or, if only this host ever opens it, set storage.allow_network_filesystem to true")]
    NetworkFilesystem {
        /// The database file.
        path: String,
        /// The file system's name (`NFS`, `CIFS`...).
        filesystem: &'static str,
    },
    /// A query failed.
    #[error("state database error: {0}")]
    Database(String),
    /// The request was cancelled after the writer read it; the write was refused so the
    /// cancellation stands.
    #[error("request {0} was cancelled meanwhile; it stays cancelled")]
    RequestCancelled(String),
    /// Another process wrote the request after the writer read it; the write was refused so
    /// that update stands.
    #[error("request {0} was changed by another process meanwhile; read it again")]
    Conflict(String),
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
    /// The request is cancelled (now, or it was already) and a process holds it; returned as
    /// stored.
    Stored(Request),
    /// The request is cancelled, and no process held it: the caller (`releaser`) holds it now,
    /// to release what it made.
    Taken(Request),
}

/// What cancelling a stored request comes to, before it is written.
pub(crate) enum CancelStep {
    /// Nothing to write: the answer as it is.
    Answer(Cancellation),
    /// The request as it is to be written, and the answer once it is.
    Write(Cancellation),
}

impl CancelStep {
    /// The request to write, if any.
    pub(crate) fn written_mut(&mut self) -> Option<&mut Request> {
        match self {
            CancelStep::Write(Cancellation::Taken(r) | Cancellation::Stored(r)) => Some(r),
            _ => None,
        }
    }
}

impl From<CancelStep> for Cancellation {
    fn from(step: CancelStep) -> Self {
        match step {
            CancelStep::Answer(c) | CancelStep::Write(c) => c,
        }
    }
}

/// The rule of [`Store::cancel_request`], applied to the request as stored: a finished or
/// return request is refused; a running one becomes cancelled; a cancelled request no process
/// holds becomes `releaser`'s.
pub(crate) fn cancellation(
    mut request: Request,
    message: &str,
    releaser: &str,
    now: i64,
) -> CancelStep {
    if request.phase != Phase::Cancelled {
        if request.kind != RequestKind::Acquire || request.status.is_terminal() {
            return CancelStep::Answer(Cancellation::Refused(request));
        }
        request.phase = Phase::Cancelled;
        request.status = RequestStatus::CompleteWithError;
        request.message = message.to_owned();
    } else if request.owner.is_some() {
        return CancelStep::Answer(Cancellation::Stored(request));
    }
    let taken = request.owner.is_none();
    request.owner.get_or_insert_with(|| releaser.to_owned());
    request.updated_at = now;
    CancelStep::Write(if taken {
        Cancellation::Taken(request)
    } else {
        Cancellation::Stored(request)
    })
}

/// A lease as stored: who holds it, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The holder (`host:pid`).
    pub holder: String,
    /// When it lapses unless renewed (seconds since the epoch).
    pub expires_at: i64,
    /// The holder it was taken from when this call took it over (theirs had lapsed).
    pub taken_from: Option<String>,
}

/// The rule of [`Store::hold_lease`], applied to the lease as stored: what to write, if
/// `holder` gets it, and the answer.
pub(crate) fn lease_step(
    stored: Option<(String, i64)>,
    holder: &str,
    now: i64,
    ttl: i64,
) -> (bool, Lease) {
    match stored {
        Some((current, expires_at)) if current != holder && expires_at >= now => (
            false,
            Lease {
                holder: current,
                expires_at,
                taken_from: None,
            },
        ),
        stored => (
            true,
            Lease {
                holder: holder.to_owned(),
                expires_at: now + ttl,
                taken_from: stored.map(|(current, _)| current).filter(|c| c != holder),
            },
        ),
    }
}

/// Why a write of `request_id` (as `writing` phase) changed nothing, from the phase stored
/// (`None`: no such request): a cancellation since the copy was read, another process's write
/// since then, or no request at all.
pub(crate) fn refused_write(request_id: &str, stored: Option<&str>, writing: Phase) -> StoreError {
    match stored {
        Some("cancelled") if writing != Phase::Cancelled => {
            StoreError::RequestCancelled(request_id.to_owned())
        }
        Some(_) => StoreError::Conflict(request_id.to_owned()),
        None => StoreError::Database(format!("request {request_id} is not stored")),
    }
}

/// What storing a new acquire request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The request is stored.
    Stored,
    /// The template's cap leaves no room for it: nothing was stored. `in_use` counts the
    /// template's machines and what its running requests may still bring.
    Full {
        /// Machines in use or on their way.
        in_use: u64,
    },
}

/// One change of a request or a machine, as the store numbered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Its number: later changes have higher numbers.
    pub seq: i64,
    /// When the row changed (seconds since the epoch).
    pub at: i64,
    /// `request` or `machine`.
    pub kind: String,
    /// The request's or the machine's id.
    pub id: String,
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
    /// Only requests served by this provider instance.
    pub provider_instance: Option<String>,
    /// Only requests served by instances of this provider type.
    pub provider_type: Option<String>,
    /// Only requests whose id, template or message holds this text (any case).
    pub search: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
    /// After skipping this many.
    pub offset: u32,
}

/// Which machines to list.
#[derive(Debug, Clone, Default)]
pub struct MachineFilter {
    /// Only machines of this acquire request.
    pub request_id: Option<String>,
    /// Only machines in this state.
    pub state: Option<String>,
    /// Only machines this return request claims.
    pub return_request_id: Option<String>,
    /// Only machines of this provider instance.
    pub provider_instance: Option<String>,
    /// Only machines of requests served by instances of this provider type.
    pub provider_type: Option<String>,
    /// Only machines neither gone nor claimed by a return.
    pub unreturned: bool,
    /// Only machines whose id, name or address holds this text (any case).
    pub search: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
    /// After skipping this many.
    pub offset: u32,
}

/// Whether a request for `requested` machines fits a template's cap `max_number` (none: no
/// limit) with `in_use` counted against it: the one rule a request's admission (in its
/// insert's transaction) and a dry run both apply.
pub fn admits(max_number: Option<u64>, in_use: u64, requested: u32) -> bool {
    max_number.is_none_or(|cap| in_use.saturating_add(u64::from(requested)) <= cap)
}

/// The storage operations orb needs. Every method is atomic.
pub trait Store: Send + Sync {
    /// How much of the cap of `template_id` is in use now: what [`Store::insert_request`]
    /// counts against it (machines active, and what running requests may still bring).
    fn template_use(&self, template_id: &str) -> Result<u64, StoreError>;

    /// Stores a new request, unless its template's cap `max_number` (when given) leaves no
    /// room for it. The count and the insert share one transaction, so parallel callers
    /// cannot pass the cap together.
    fn insert_request(
        &self,
        request: &Request,
        max_number: Option<u64>,
    ) -> Result<Admission, StoreError>;

    /// Takes over the request `request_id` for `owner` when it is still held by `seen_owner`
    /// in `seen_phase` (its process died), counting the attempt: the request as stored then,
    /// or `None` when another process took it first or it moved on.
    fn take_over(
        &self,
        request_id: &str,
        seen_owner: Option<&str>,
        seen_phase: Phase,
        owner: &str,
        now: i64,
    ) -> Result<Option<Request>, StoreError>;

    /// Writes what a step changes of a stored request (status, phase, message, unfulfilled
    /// count, resources, owner), when the stored row is still at `request.version`, and raises
    /// both versions. A cancelled request is only rewritten as cancelled: any other write
    /// fails with [`StoreError::RequestCancelled`]; a row another process wrote since fails
    /// with [`StoreError::Conflict`].
    fn update_request(&self, request: &mut Request) -> Result<(), StoreError>;

    /// Cancels the acquire request `request_id` unless it is finished: its phase becomes
    /// `cancelled`, its status `complete_with_error` with `message`. A cancelled request that no
    /// process holds becomes `releaser`'s in the same transaction ([`Cancellation::Taken`]), so a releaser killed right
    /// after leaves it to the sweep of abandoned requests.
    fn cancel_request(
        &self,
        request_id: &str,
        message: &str,
        releaser: &str,
        now: i64,
    ) -> Result<Cancellation, StoreError>;

    /// The request with this id.
    fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError>;

    /// Requests matching `filter`, newest first.
    fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError>;

    /// How many requests match `filter`, its limit and offset aside.
    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError>;

    /// Stores a request's new state together with machines it found, in one transaction (none
    /// of it when the request was cancelled meanwhile: [`StoreError::RequestCancelled`]).
    fn save_progress(
        &self,
        request: &mut Request,
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

    /// How many machines match `filter`, its limit and offset aside.
    fn count_machines(&self, filter: &MachineFilter) -> Result<u64, StoreError>;

    /// Stores a return request and what it names, and claims the named machines that are not
    /// gone and that no other return holds (or whose other return failed to terminate them),
    /// in one transaction. Returns the ids of the machines it claimed.
    fn insert_return(
        &self,
        request: &Request,
        items: &[ReturnItem],
    ) -> Result<Vec<String>, StoreError>;

    /// Records what the provider did for a return request, in one transaction: `terminating`
    /// machines are shutting down, `errors` say why named machines could not be terminated,
    /// and the request is submitted (no process owns it any longer).
    fn submit_return(
        &self,
        return_request_id: &str,
        terminating: &[String],
        errors: &[(String, String)],
        now: i64,
    ) -> Result<(), StoreError>;

    /// What a return request named, in order.
    fn return_items(&self, return_request_id: &str) -> Result<Vec<ReturnItem>, StoreError>;

    /// Deletes the request `request_id` when it may go (see `rows::purgeable`), with its
    /// return items and its machines (all gone), clearing its claim on others' (all gone).
    /// Whether it was deleted.
    fn purge_request(&self, request_id: &str) -> Result<bool, StoreError>;

    /// Deletes the machine `machine_id` when it is gone. Whether it was deleted.
    fn purge_machine(&self, machine_id: &str) -> Result<bool, StoreError>;

    /// Up to `limit` changes numbered above `after`, in order.
    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEvent>, StoreError>;

    /// The numbers of the oldest and the newest change kept; `(0, 0)` when none is.
    fn event_bounds(&self) -> Result<(i64, i64), StoreError>;

    /// How many requests there are of each kind and status.
    fn request_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;

    /// How many machines each provider instance has in each state: (instance, state, count).
    fn machine_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError>;

    /// How many machines were alive at each of `times` (seconds since the epoch): seen by then,
    /// and not terminated by then (a terminated machine ended when it was last written). Only
    /// the first 100 times are counted.
    fn machines_alive_at(&self, times: &[i64]) -> Result<Vec<u64>, StoreError>;

    /// What `provider_instance` reported of the instance types among `names`, fetched at or
    /// after `since` (seconds since the epoch).
    fn instance_types(
        &self,
        provider_instance: &str,
        names: &[String],
        since: i64,
    ) -> Result<Vec<InstanceTypeInfo>, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`, unless another holds
    /// it and it has not lapsed; the check and the write share one transaction. Returns the
    /// lease as it stands: `holder` holds it when its holder is `holder`.
    fn hold_lease(&self, name: &str, holder: &str, now: i64, ttl: i64)
        -> Result<Lease, StoreError>;

    /// The lease `name`, if any process ever held it and did not give it up.
    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;

    /// Gives the lease `name` up, when `holder` holds it.
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Records a call of `provider_instance` that `failed` (or not) at `now` in its circuit
    /// ([`Circuit::after`], opening at `threshold`); the read and the write share one
    /// transaction. The circuit as it stands.
    fn record_call(
        &self,
        provider_instance: &str,
        failed: bool,
        now: i64,
        threshold: u32,
    ) -> Result<Circuit, StoreError>;

    /// Every circuit that ever recorded a failure.
    fn circuits(&self) -> Result<Vec<Circuit>, StoreError>;

    /// The turn of `key` before this call, counting up from 0 across every process: what
    /// round-robin policies start from.
    fn next_turn(&self, key: &str) -> Result<u64, StoreError>;

    /// Keeps what `provider_instance` reported of `types` at `now`, over earlier facts.
    fn save_instance_types(
        &self,
        provider_instance: &str,
        types: &[InstanceTypeInfo],
        now: i64,
    ) -> Result<(), StoreError>;
}
