//! The Python ORB 1.8.5's JSON store, as it writes it: one file
//! (`<work>/data/request_database.json`, `{"requests": {id: {...}}, "machines": {id: {...}}}`)
//! or split files in one directory (`requests.json` and `machines.json`, each holding its
//! part). Only the fields orb keeps are read; the others are ORB's own.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::MigrateError;

/// The largest store file read: far above what ORB's own JSON store can hold and stay usable.
const MAX_FILE: u64 = 1 << 30;

/// A request as ORB stores it.
#[derive(Debug, Deserialize)]
pub struct OrbRequest {
    pub request_id: String,
    pub request_type: Option<String>,
    pub template_id: Option<String>,
    pub requested_count: Option<u32>,
    pub machine_count: Option<u32>,
    pub successful_count: Option<u32>,
    pub status: Option<String>,
    pub message: Option<String>,
    pub status_message: Option<String>,
    pub provider_name: Option<String>,
    pub provider_type: Option<String>,
    pub provider_api: Option<String>,
    #[serde(default)]
    pub resource_ids: Vec<String>,
    #[serde(default)]
    pub machine_ids: Vec<String>,
    pub created_at: Option<String>,
    pub last_transition_at: Option<String>,
    pub deadline_at: Option<String>,
}

/// A machine as ORB stores it.
#[derive(Debug, Deserialize)]
pub struct OrbMachine {
    pub machine_id: String,
    pub request_id: Option<String>,
    pub return_request_id: Option<String>,
    pub provider_name: Option<String>,
    pub template_id: Option<String>,
    pub status: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub private_dns_name: Option<String>,
    /// RFC 3339 text, or seconds since the epoch.
    pub launch_time: Option<serde_json::Value>,
    pub instance_type: Option<String>,
    pub price_type: Option<String>,
    pub availability_zone: Option<String>,
    pub resource_id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// What an ORB store holds, each record by its id; a record that does not read is kept as
/// the reason.
#[derive(Debug, Default)]
pub struct OrbState {
    pub requests: Vec<Result<OrbRequest, (String, String)>>,
    pub machines: Vec<Result<OrbMachine, (String, String)>>,
}

/// One of the store's files: its `requests` and `machines` maps.
#[derive(Debug, Default, Deserialize)]
struct StoreFile {
    #[serde(default)]
    requests: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    machines: BTreeMap<String, serde_json::Value>,
}

/// Reads the store at `path`: ORB's single file, or the directory of its split files.
pub fn read(path: &Path) -> Result<OrbState, MigrateError> {
    let files = if path.is_dir() {
        let split: Vec<_> = ["requests.json", "machines.json"]
            .iter()
            .map(|n| path.join(n))
            .filter(|p| p.is_file())
            .collect();
        if split.is_empty() {
            return Err(MigrateError::NotAStore(format!(
                "{} holds neither requests.json nor machines.json (ORB's split files)",
                path.display()
            )));
        }
        split
    } else {
        vec![path.to_owned()]
    };
    let mut state = OrbState::default();
    for file in files {
        let text = read_bounded(&file)?;
        let parsed: StoreFile = serde_json::from_str(&text).map_err(|e| {
            MigrateError::NotAStore(format!(
                "{} is not ORB's JSON store ({e}); give its request_database.json or the \
                 directory of its split files",
                file.display()
            ))
        })?;
        for (id, value) in parsed.requests {
            state
                .requests
                .push(serde_json::from_value::<OrbRequest>(value).map_err(|e| (id, e.to_string())));
        }
        for (id, value) in parsed.machines {
            state
                .machines
                .push(serde_json::from_value::<OrbMachine>(value).map_err(|e| (id, e.to_string())));
        }
    }
    Ok(state)
}

/// The text of `file`, of at most [`MAX_FILE`] bytes read: the bound is on what is read, not
/// on the size the file system reports (a device or a pipe reports none). What does not open
/// as a JSON object is refused at its first bytes.
fn read_bounded(file: &Path) -> Result<String, MigrateError> {
    use std::io::Read;
    let failed = |e: std::io::Error| MigrateError::Read {
        path: file.to_owned(),
        why: e.to_string(),
    };
    let not_a_store = || {
        MigrateError::NotAStore(format!(
            "{} is not ORB's JSON store (it holds no JSON object); give its \
             request_database.json or the directory of its split files",
            file.display()
        ))
    };
    let mut reader = std::fs::File::open(file)
        .map_err(failed)?
        .take(MAX_FILE + 1);
    let mut bytes = vec![0u8; 4096];
    let first = reader.read(&mut bytes).map_err(failed)?;
    bytes.truncate(first);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => {}
        Some(_) => return Err(not_a_store()),
    }
    reader.read_to_end(&mut bytes).map_err(failed)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(MigrateError::NotAStore(format!(
            "{} holds more than the {MAX_FILE} bytes read of a store",
            file.display()
        )));
    }
    String::from_utf8(bytes).map_err(|_| not_a_store())
}
