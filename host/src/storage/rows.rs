//! The columns of orb's tables and how their text becomes domain values, shared by every
//! backend: a backend reads a row's columns into [`RequestRow`] or [`MachineRow`] and decodes
//! it here, so both read the same state the same way.

use orb_plugin_api::MachineState;

use crate::domain::{MachineRecord, Phase, Request, RequestKind, RequestStatus};

/// The columns of `requests`, in the order the rows below take them.
pub const REQUEST_COLUMNS: &str = "request_id, kind, provider_instance, provider_type, \
    template_id, provider_api, requested, status, phase, message, unfulfilled, resource_ids, \
    template, owner, created_at, updated_at, deadline_at, attempts, version, placements";

/// The columns of `machines`, in the order the rows below take them.
pub const MACHINE_COLUMNS: &str = "machine_id, request_id, return_request_id, \
    provider_instance, template_id, name, state, private_ip, public_ip, launch_time, \
    instance_type, price_type, resource_id, message, reclaim_notice_at, created_at, updated_at, \
    tags, zone";

/// The changes numbered above `?1`, at most `?2`, in order (SQLite's placeholders).
pub const EVENTS_AFTER_SQLITE: &str =
    "SELECT seq, at, kind, id FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/// The same, in PostgreSQL's placeholders.
pub const EVENTS_AFTER_POSTGRES: &str =
    "SELECT seq, at, kind, id FROM events WHERE seq > $1 ORDER BY seq LIMIT $2";

/// The numbers of the oldest and newest change kept, 0 and 0 when none is.
pub const EVENT_BOUNDS: &str = "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM events";

/// How many machines there are of each instance and state.
pub const MACHINE_COUNTS: &str = "SELECT provider_instance, state, COUNT(*) FROM machines \
     GROUP BY provider_instance, state ORDER BY provider_instance, state";

/// The most times [`alive_at`] counts in one scan.
pub const MAX_TIMES: usize = 100;

/// One scan counting the machines alive at each of `n` times, the `i`th time (from 0) bound to
/// the placeholder `placeholder(i)`: seen by then and not terminated by then. A machine that
/// could not be created was never alive.
pub fn alive_at(n: usize, placeholder: impl Fn(usize) -> String) -> String {
    let counts: Vec<String> = (0..n.min(MAX_TIMES))
        .map(|i| {
            let t = placeholder(i);
            format!(
                "COUNT(*) FILTER (WHERE created_at <= {t} AND (state <> 'terminated' OR updated_at > {t}))"
            )
        })
        .collect();
    format!(
        "SELECT {} FROM machines WHERE state <> 'failed'",
        counts.join(", ")
    )
}

/// The condition on a machine `m` that it counts against its template's cap: it runs (or may
/// run) until its termination is under way. A machine a return claims but has not terminated
/// yet (the return's process died, or the provider refused) still counts.
macro_rules! in_use {
    () => {
        "m.state NOT IN ('terminated', 'failed', 'shutting-down')"
    };
}

/// The condition on an acquire request `r` that it may still bring machines: it is running,
/// or it was cancelled and a process is still releasing what it made.
macro_rules! may_bring {
    () => {
        "(r.status = 'running' OR (r.phase = 'cancelled' AND r.owner IS NOT NULL))"
    };
}
/// The condition on a request `r` that it may be purged: it is finished, no process holds it,
/// and no machine it made, or whose return it is, is still up (a purge never makes orb forget
/// a machine it must still return).
macro_rules! purgeable {
    () => {
        "r.status <> 'running' AND r.owner IS NULL AND NOT EXISTS (SELECT 1 FROM machines m \
         WHERE (m.request_id = r.request_id OR m.return_request_id = r.request_id) \
         AND m.state NOT IN ('terminated', 'failed'))"
    };
}

/// The condition on a machine that it may be purged: it is gone.
pub const PURGEABLE_MACHINE: &str = "state IN ('terminated', 'failed')";

/// The statements that purge a request known to be purgeable, in order, with its id as their
/// one parameter written `{id}`: its claim on other requests' machines, its return items, its
/// own machines, then the request (the machines refer to it).
pub const PURGE_REQUEST: [&str; 4] = [
    "UPDATE machines SET return_request_id = NULL WHERE return_request_id = {id}",
    "DELETE FROM return_items WHERE return_request_id = {id}",
    "DELETE FROM machines WHERE request_id = {id}",
    "DELETE FROM requests WHERE request_id = {id}",
];
pub(crate) use {in_use, may_bring, purgeable};

/// A stored request's columns, as read.
pub struct RequestRow {
    pub request_id: String,
    pub kind: String,
    pub provider_instance: String,
    pub provider_type: String,
    pub template_id: Option<String>,
    pub provider_api: Option<String>,
    pub requested: i64,
    pub status: String,
    pub phase: String,
    pub message: String,
    pub unfulfilled: i64,
    pub resource_ids: String,
    pub template: Option<String>,
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deadline_at: i64,
    pub attempts: i64,
    pub version: i64,
    pub placements: Option<String>,
}

/// A value that does not read: what it was meant to be and what it holds.
fn corrupt(what: &str, value: &str) -> String {
    format!("{what} '{value}'")
}

/// A stored count, which no writer makes negative or wider than 32 bits.
fn count(what: &str, value: i64) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| corrupt(what, &value.to_string()))
}

impl RequestRow {
    /// The request, or which column does not read.
    pub fn decode(self) -> Result<Request, String> {
        Ok(Request {
            kind: match self.kind.as_str() {
                "acquire" => RequestKind::Acquire,
                "return" => RequestKind::Return,
                _ => return Err(corrupt("request kind", &self.kind)),
            },
            status: RequestStatus::parse(&self.status)
                .ok_or_else(|| corrupt("request status", &self.status))?,
            phase: Phase::parse(&self.phase)
                .ok_or_else(|| corrupt("request phase", &self.phase))?,
            resource_ids: serde_json::from_str(&self.resource_ids)
                .map_err(|_| corrupt("resource ids", &self.resource_ids))?,
            template: self
                .template
                .map(|t| serde_json::from_str(&t).map_err(|_| corrupt("template", &t)))
                .transpose()?,
            requested: count("requested count", self.requested)?,
            unfulfilled: count("unfulfilled count", self.unfulfilled)?,
            attempts: count("attempts", self.attempts)?,
            placements: match self.placements {
                Some(text) => {
                    serde_json::from_str(&text).map_err(|_| corrupt("placements", &text))?
                }
                None => Vec::new(),
            },
            request_id: self.request_id,
            provider_instance: self.provider_instance,
            provider_type: self.provider_type,
            template_id: self.template_id,
            provider_api: self.provider_api,
            message: self.message,
            owner: self.owner,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deadline_at: self.deadline_at,
            version: self.version,
        })
    }
}

/// A stored machine's columns, as read.
pub struct MachineRow {
    pub machine_id: String,
    pub request_id: String,
    pub return_request_id: Option<String>,
    pub provider_instance: String,
    pub template_id: Option<String>,
    pub name: Option<String>,
    pub state: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launch_time: Option<i64>,
    pub instance_type: Option<String>,
    pub price_type: Option<String>,
    pub resource_id: Option<String>,
    pub message: Option<String>,
    pub reclaim_notice_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub tags: Option<String>,
    pub zone: Option<String>,
}

impl MachineRow {
    /// The machine, or which column does not read. A state orb does not know reads as
    /// `unknown`.
    pub fn decode(self) -> Result<MachineRecord, String> {
        Ok(MachineRecord {
            state: serde_json::from_value::<MachineState>(serde_json::Value::String(self.state))
                .unwrap_or(MachineState::Unknown),
            tags: match self.tags {
                Some(json) => {
                    serde_json::from_str(&json).map_err(|_| corrupt("machine tags", &json))?
                }
                None => Default::default(),
            },
            machine_id: self.machine_id,
            request_id: self.request_id,
            return_request_id: self.return_request_id,
            provider_instance: self.provider_instance,
            template_id: self.template_id,
            name: self.name,
            private_ip: self.private_ip,
            public_ip: self.public_ip,
            launch_time: self.launch_time,
            instance_type: self.instance_type,
            price_type: self.price_type,
            zone: self.zone,
            resource_id: self.resource_id,
            message: self.message,
            reclaim_notice_at: self.reclaim_notice_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A request's placements as stored: none when it has none.
pub fn placements_text(request: &Request) -> Option<String> {
    (!request.placements.is_empty())
        .then(|| serde_json::to_string(&request.placements).expect("placements serialize"))
}

/// A request's resource ids as stored.
pub fn resource_ids_text(request: &Request) -> String {
    serde_json::to_string(&request.resource_ids).expect("strings serialize")
}

/// A machine's tags as stored.
pub fn tags_text(machine: &MachineRecord) -> String {
    serde_json::to_string(&machine.tags).expect("tags serialize")
}
