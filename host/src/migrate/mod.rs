//! `orb migrate from-orb`: the Python ORB's state carried over, so that an operator cutting
//! over keeps the requests in flight. ORB's requests, machines and return requests are
//! written into orb's store; what is there already is left as it is, so an import can be run
//! again; a record that cannot be imported is named with why, never dropped without a word.
//!
//! An imported request that is still running is never provisioned again (ORB's idempotency
//! tokens are not orb's: a second provision would launch twice): orb follows it, finding its
//! machines by the `orb:request-id` tag ORB put on them, as it follows its own.

mod orb_json;
mod orb_sql;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use orb_plugin_api::MachineState;
use serde::Serialize;

use crate::config::OrbConfig;
use crate::domain::{MachineRecord, Phase, Request, RequestKind, RequestStatus, ReturnItem};
use crate::storage::{Store, StoreError};
use orb_json::{OrbMachine, OrbRequest};

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The path is not a store orb can read.
    #[error("{0}")]
    NotAStore(String),
    /// A file could not be read.
    #[error("cannot read {}: {why}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// orb's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many of a kind were imported, and were there already.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Written into orb's store.
    pub imported: u64,
    /// Already in orb's store (an earlier import): left as they are.
    pub already_there: u64,
}

/// A record that was not imported, and why.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Refused {
    /// Its id.
    pub id: String,
    /// Why.
    pub why: String,
}

/// Which of the Python ORB's stores an import read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// Its JSON store in one file (`data/request_database.json`).
    #[default]
    Json,
    /// Its JSON store in split files (`requests.json`, `machines.json`).
    SplitFiles,
    /// Its SQL store (`database.db`).
    Sqlite,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct Imported {
    /// The store read: the file, or the directory of the split files.
    pub source: PathBuf,
    /// Which of ORB's stores it is.
    pub store: StoreKind,
    /// Acquire requests.
    pub requests: Counts,
    /// Return requests.
    pub returns: Counts,
    /// Machines.
    pub machines: Counts,
    /// Records not imported, with why.
    pub refused: Vec<Refused>,
}

/// Imports the Python ORB's store at `path` into `store`. ORB's provider instance names are
/// kept, unless `instance` names the one of orb's configuration every record goes to; a
/// record of an instance that orb's configuration does not have is refused.
pub fn from_orb(
    store: &dyn Store,
    config: &OrbConfig,
    path: &Path,
    instance: Option<&str>,
) -> Result<Imported, MigrateError> {
    let (path, kind) = locate(path)?;
    let path = path.as_path();
    let state = match kind {
        StoreKind::Sqlite => orb_sql::read(path)?,
        StoreKind::Json | StoreKind::SplitFiles => orb_json::read(path)?,
    };
    let mut imported = Imported {
        source: path.to_owned(),
        store: kind,
        ..Imported::default()
    };
    let instances = Instances { config, instance };
    // Requests whose machines ORB last saw starting: whatever ORB concluded, orb follows them
    // in the cloud until they settle.
    let starting: HashSet<String> = state
        .machines
        .iter()
        .flatten()
        .filter(|m| {
            matches!(
                state_of(m.status.as_deref().unwrap_or_default()),
                MachineState::Pending | MachineState::Unknown
            )
        })
        .filter_map(|m| m.request_id.clone())
        .collect();
    let now = crate::domain::now();
    let mut requests = Vec::new();
    for record in state.requests {
        match record {
            Err((id, why)) => imported.refused.push(Refused {
                id,
                why: format!("not an ORB request: {why}"),
            }),
            Ok(r) => match request_of(&r, &instances) {
                Ok(mut request) => {
                    if request.kind == RequestKind::Acquire
                        && starting.contains(&request.request_id)
                    {
                        follow(&mut request, now, config.request.default_timeout);
                    }
                    requests.push((request, r.machine_ids))
                }
                Err(why) => imported.refused.push(Refused {
                    id: r.request_id,
                    why,
                }),
            },
        }
    }
    // Acquires, then returns (they claim machines), then the machines (they name both).
    requests.sort_by_key(|(r, _)| r.kind == RequestKind::Return);
    for (request, machine_ids) in &requests {
        let counts = match request.kind {
            RequestKind::Acquire => &mut imported.requests,
            RequestKind::Return => &mut imported.returns,
        };
        if store.get_request(&request.request_id)?.is_some() {
            counts.already_there += 1;
            continue;
        }
        match request.kind {
            RequestKind::Acquire => {
                store.insert_request(request, None)?;
            }
            RequestKind::Return => {
                let items: Vec<ReturnItem> = machine_ids
                    .iter()
                    .map(|id| ReturnItem {
                        return_request_id: request.request_id.clone(),
                        machine_id: Some(id.clone()),
                        name: None,
                        error: None,
                    })
                    .collect();
                store.insert_return(request, &items)?;
            }
        }
        counts.imported += 1;
    }
    for record in state.machines {
        let m = match record {
            Ok(m) => m,
            Err((id, why)) => {
                imported.refused.push(Refused {
                    id,
                    why: format!("not an ORB machine: {why}"),
                });
                continue;
            }
        };
        if store.get_machine(&m.machine_id)?.is_some() {
            imported.machines.already_there += 1;
            continue;
        }
        match machine_of(&m, &instances) {
            Ok(mut machine) if store.get_request(&machine.request_id)?.is_some() => {
                // A return that was not imported (it is among the refused) claims nothing.
                if let Some(ret) = &machine.return_request_id {
                    if store.get_request(ret)?.is_none() {
                        machine.return_request_id = None;
                    }
                }
                store.upsert_machines(std::slice::from_ref(&machine))?;
                imported.machines.imported += 1;
            }
            Ok(machine) => imported.refused.push(Refused {
                id: m.machine_id,
                why: format!("its request {} was not imported", machine.request_id),
            }),
            Err(why) => imported.refused.push(Refused {
                id: m.machine_id,
                why,
            }),
        }
    }
    Ok(imported)
}

/// The store at `path`: a store file itself (SQLite by its header, else JSON), the directory
/// of ORB's split files, or ORB's root or work directory holding one of its stores, looked for
/// in the order ORB's configurations put them.
fn locate(path: &Path) -> Result<(PathBuf, StoreKind), MigrateError> {
    let of_file = |file: &Path| {
        let mut head = [0u8; 16];
        let sqlite = std::fs::File::open(file)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && head.starts_with(b"SQLite format 3");
        match sqlite {
            true => StoreKind::Sqlite,
            false => StoreKind::Json,
        }
    };
    if !path.is_dir() {
        return Ok((path.to_owned(), of_file(path)));
    }
    let split = |dir: &Path| {
        ["requests.json", "machines.json"]
            .iter()
            .any(|n| dir.join(n).is_file())
    };
    for base in [path.to_owned(), path.join("work")] {
        for data in [base.join("data"), base.clone()] {
            let single = data.join("request_database.json");
            if single.is_file() {
                return Ok((single, StoreKind::Json));
            }
            if split(&data) {
                return Ok((data, StoreKind::SplitFiles));
            }
            let sql = data.join("database.db");
            if sql.is_file() {
                return Ok((sql, StoreKind::Sqlite));
            }
        }
    }
    Err(MigrateError::NotAStore(format!(
        "{} holds none of the Python ORB's stores: data/request_database.json (its JSON store), \
         requests.json and machines.json (split files) or database.db (its SQL store), there or \
         under work/",
        path.display()
    )))
}

/// orb's provider instances, for ORB's records.
struct Instances<'a> {
    config: &'a OrbConfig,
    /// The instance every record goes to, when the operator named one.
    instance: Option<&'a str>,
}

impl Instances<'_> {
    /// The name and type of the instance of orb's configuration a record of ORB's instance
    /// `name` goes to; why none, when orb's configuration lacks it.
    fn of(&self, name: Option<&str>) -> Result<(String, String), String> {
        let name = self.instance.or(name).unwrap_or_default();
        self.config
            .provider
            .providers
            .iter()
            .find(|p| p.name == name)
            .map(|p| (p.name.clone(), p.provider_type.clone()))
            .ok_or_else(|| {
                format!(
                    "provider instance '{name}' is not in orb's configuration: add it (the Python \
                     ORB's config.json loads unchanged) or name orb's with --provider-instance"
                )
            })
    }
}

/// Seconds since the epoch of an ORB time (RFC 3339, in UTC as ORB writes it).
fn epoch(text: &str) -> Option<i64> {
    let utc = text
        .strip_suffix("+00:00")
        .map_or(text.to_owned(), |t| format!("{t}Z"));
    humantime::parse_rfc3339_weak(&utc)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs() as i64)
}

/// orb's status of an ORB status: ORB's active ones run; the others are done, with an
/// error unless complete.
fn status_of(orb_status: &str) -> Option<RequestStatus> {
    match orb_status {
        "pending" | "in_progress" | "acquiring" | "partial_pending" => Some(RequestStatus::Running),
        "complete" => Some(RequestStatus::Complete),
        "failed" | "cancelled" | "timeout" | "partial" => Some(RequestStatus::CompleteWithError),
        _ => None,
    }
}

/// The orb request an ORB request is.
fn request_of(r: &OrbRequest, instances: &Instances<'_>) -> Result<Request, String> {
    let kind = match r.request_type.as_deref() {
        Some("acquire") | None if r.request_id.starts_with("req-") => RequestKind::Acquire,
        Some("return") | None if r.request_id.starts_with("ret-") => RequestKind::Return,
        Some("acquire") => RequestKind::Acquire,
        Some("return") => RequestKind::Return,
        other => return Err(format!("request_type {other:?} is not acquire or return")),
    };
    let status = r.status.as_deref().unwrap_or("pending");
    let status = status_of(status).ok_or_else(|| format!("status '{status}' is not ORB's"))?;
    let created_at = r
        .created_at
        .as_deref()
        .and_then(epoch)
        .ok_or_else(|| format!("created_at {:?} is not a time", r.created_at))?;
    let updated_at = r
        .last_transition_at
        .as_deref()
        .and_then(epoch)
        .unwrap_or(created_at);
    let (provider_instance, provider_type) = instances.of(r.provider_name.as_deref())?;
    let requested = match kind {
        RequestKind::Acquire => r.requested_count.or(r.machine_count).unwrap_or(0),
        RequestKind::Return => r.machine_ids.len() as u32,
    };
    let unfulfilled = match (kind, status) {
        (RequestKind::Acquire, RequestStatus::CompleteWithError) => {
            requested.saturating_sub(r.successful_count.unwrap_or(0))
        }
        _ => 0,
    };
    Ok(Request {
        request_id: r.request_id.clone(),
        kind,
        provider_instance,
        provider_type: r.provider_type.clone().unwrap_or(provider_type),
        template_id: r.template_id.clone(),
        provider_api: r.provider_api.clone(),
        requested,
        status,
        // Never provisioned again: orb follows what ORB made.
        phase: Phase::Submitted,
        message: r
            .message
            .clone()
            .or_else(|| r.status_message.clone())
            .unwrap_or_default(),
        unfulfilled,
        resource_ids: r.resource_ids.clone(),
        template: None,
        owner: None,
        created_at,
        updated_at,
        deadline_at: r
            .deadline_at
            .as_deref()
            .and_then(epoch)
            .unwrap_or(updated_at),
        attempts: 0,
        placements: Vec::new(),
        version: 0,
    })
}

/// Makes an imported request one orb follows: running, with its machines refreshed from the
/// cloud and settled by orb, within `timeout` seconds from now at the latest.
fn follow(request: &mut Request, now: i64, timeout: u64) {
    if request.status != RequestStatus::Running {
        request.status = RequestStatus::Running;
        request.unfulfilled = 0;
        request.deadline_at = request
            .deadline_at
            .max(now.saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX)));
    }
}

/// orb's state of an ORB machine status.
fn state_of(orb_status: &str) -> MachineState {
    match orb_status {
        "pending" | "launching" => MachineState::Pending,
        "running" => MachineState::Running,
        "stopping" => MachineState::Stopping,
        "stopped" => MachineState::Stopped,
        "shutting-down" => MachineState::ShuttingDown,
        "terminated" | "returned" => MachineState::Terminated,
        "failed" => MachineState::Failed,
        _ => MachineState::Unknown,
    }
}

/// The orb machine an ORB machine is. Its host name is ORB's private DNS name (ORB writes the
/// request id in `name`), else its private address.
fn machine_of(m: &OrbMachine, instances: &Instances<'_>) -> Result<MachineRecord, String> {
    let request_id = m
        .request_id
        .clone()
        .ok_or_else(|| "it names no request".to_owned())?;
    let created_at = m
        .created_at
        .as_deref()
        .and_then(epoch)
        .ok_or_else(|| format!("created_at {:?} is not a time", m.created_at))?;
    Ok(MachineRecord {
        machine_id: m.machine_id.clone(),
        request_id,
        return_request_id: m.return_request_id.clone(),
        provider_instance: instances.of(m.provider_name.as_deref())?.0,
        template_id: m.template_id.clone(),
        name: m.private_dns_name.clone().or_else(|| m.private_ip.clone()),
        state: state_of(m.status.as_deref().unwrap_or("unknown")),
        private_ip: m.private_ip.clone(),
        public_ip: m.public_ip.clone(),
        launch_time: match &m.launch_time {
            Some(serde_json::Value::String(t)) => epoch(t),
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        },
        instance_type: m.instance_type.clone(),
        price_type: m.price_type.clone(),
        zone: m.availability_zone.clone(),
        resource_id: m.resource_id.clone(),
        message: None,
        reclaim_notice_at: None,
        tags: m.tags.clone(),
        created_at,
        updated_at: m
            .updated_at
            .as_deref()
            .and_then(epoch)
            .unwrap_or(created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orbs_times_and_statuses_read() {
        assert_eq!(epoch("1970-01-01T00:01:00.5+00:00"), Some(60));
        assert_eq!(epoch("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(epoch("1970-01-01 00:01:00.933069+00:00"), Some(60));
        assert_eq!(epoch("yesterday"), None);
        assert_eq!(status_of("partial_pending"), Some(RequestStatus::Running));
        assert_eq!(status_of("partial"), Some(RequestStatus::CompleteWithError));
        assert_eq!(status_of("lost"), None);
        assert_eq!(state_of("returned"), MachineState::Terminated);
        assert_eq!(state_of("launching"), MachineState::Pending);
    }

    #[test]
    fn orbs_work_directory_leads_to_its_store() {
        let root = tempfile::tempdir().unwrap();
        let work = root.path().join("work");
        let data = work.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let e = locate(root.path()).unwrap_err().to_string();
        assert!(e.contains("request_database.json"), "{e}");
        std::fs::write(work.join("database.db"), b"SQLite format 3\0").unwrap();
        assert_eq!(
            locate(&work).unwrap(),
            (work.join("database.db"), StoreKind::Sqlite)
        );
        std::fs::write(data.join("machines.json"), "{}").unwrap();
        assert_eq!(
            locate(&work).unwrap(),
            (data.clone(), StoreKind::SplitFiles)
        );
        std::fs::write(data.join("request_database.json"), "{}").unwrap();
        // From the work directory or ORB's root, the single file comes first.
        for dir in [&work, &root.path().to_owned()] {
            assert_eq!(
                locate(dir).unwrap(),
                (data.join("request_database.json"), StoreKind::Json)
            );
        }
    }
}
