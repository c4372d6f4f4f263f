//! The mock "cloud": machines in a JSON file shared by every process, under a file lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use orb_plugin_api::{ErrorKind, MachineState, ProviderError};
use serde::{Deserialize, Serialize};

/// Seconds between a reclaim notice and the cloud taking the machine back.
pub const RECLAIM_NOTICE_SECONDS: f64 = 120.0;

/// Everything the mock cloud knows.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CloudState {
    /// Provision calls seen so far (for the `retryable_errors` setting).
    pub provision_calls: u32,
    /// Machines handed out so far; also numbers their addresses.
    pub launched: u32,
    /// Every machine ever launched, by id.
    pub machines: BTreeMap<String, MockMachine>,
}

/// One machine of the mock cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MockMachine {
    /// Its id.
    pub machine_id: String,
    /// The request it was launched for.
    pub request_id: String,
    /// Its host name.
    pub name: String,
    /// Its private address.
    pub private_ip: String,
    /// Its instance type.
    pub instance_type: Option<String>,
    /// `ondemand` or `spot`.
    pub price_type: String,
    /// When it was launched (seconds since the epoch).
    pub launched_at: f64,
    /// Whether it failed to start.
    pub failed: bool,
    /// When termination was asked for.
    pub terminate_at: Option<f64>,
    /// The attempt of its request that launched it (0, or a top-up's number).
    #[serde(default)]
    pub attempt: u32,
    /// The zone it runs in (one of the mock network's two).
    #[serde(default)]
    pub zone: Option<String>,
    /// When a stop was asked for, while it stays stopped.
    #[serde(default)]
    pub stopped_at: Option<f64>,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl MockMachine {
    /// Its state at `now`, given the timings of the instance.
    pub fn state_at(&self, now: f64, timing: &Timing) -> MachineState {
        if self.failed {
            return MachineState::Failed;
        }
        let gone_at = [
            self.terminate_at.map(|t| t + timing.shutdown_seconds),
            self.reclaim_notice_at(timing)
                .map(|t| t + RECLAIM_NOTICE_SECONDS),
        ]
        .into_iter()
        .flatten()
        .reduce(f64::min);
        match gone_at {
            Some(t) if now >= t => MachineState::Terminated,
            _ if self.terminate_at.is_some() => MachineState::ShuttingDown,
            _ => match self.stopped_at {
                Some(t) if now >= t + timing.shutdown_seconds => MachineState::Stopped,
                Some(_) => MachineState::Stopping,
                None => self.started_state(now, timing),
            },
        }
    }

    /// Its state at `now` while it is not stopped or going.
    fn started_state(&self, now: f64, timing: &Timing) -> MachineState {
        if now >= self.launched_at + timing.pending_seconds {
            MachineState::Running
        } else {
            MachineState::Pending
        }
    }

    /// When the cloud announced it will reclaim this machine, if it is a spot machine and the
    /// instance reclaims spot machines.
    pub fn reclaim_notice_at(&self, timing: &Timing) -> Option<f64> {
        match timing.reclaim_after_seconds {
            Some(after) if self.price_type == "spot" => Some(self.launched_at + after),
            _ => None,
        }
    }
}

/// The timings that decide a machine's state.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Seconds pending before running.
    pub pending_seconds: f64,
    /// Seconds shutting down before terminated.
    pub shutdown_seconds: f64,
    /// Seconds after launch of a spot machine's reclaim notice.
    pub reclaim_after_seconds: Option<f64>,
}

/// The state file of one provider instance.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl StateFile {
    /// The state file at `path`; its directory is created when missing.
    pub fn new(path: PathBuf) -> Result<Self, ProviderError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| io_error("create the state directory", dir, e))?;
        }
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        Ok(StateFile {
            path,
            lock_path: lock_path.into(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state under a shared lock.
    pub fn read(&self) -> Result<CloudState, ProviderError> {
        let lock = self.lock_file()?;
        lock.lock_shared()
            .map_err(|e| io_error("lock", &self.lock_path, e))?;
        self.load()
    }

    /// Changes the state under an exclusive lock; the new state replaces the file atomically.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut CloudState) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let lock = self.lock_file()?;
        lock.lock()
            .map_err(|e| io_error("lock", &self.lock_path, e))?;
        let mut state = self.load()?;
        let out = change(&mut state)?;
        let json = serde_json::to_vec(&state)
            .map_err(|e| ProviderError::internal(format!("cannot encode the mock state: {e}")))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = File::create(&tmp).map_err(|e| io_error("write", &tmp, e))?;
        file.write_all(&json)
            .and_then(|_| file.sync_all())
            .map_err(|e| io_error("write", &tmp, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| io_error("replace", &self.path, e))?;
        Ok(out)
    }

    fn lock_file(&self) -> Result<File, ProviderError> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| io_error("open", &self.lock_path, e))
    }

    fn load(&self) -> Result<CloudState, ProviderError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ProviderError::internal(format!(
                    "the mock state file {} is damaged: {e}; delete it to start afresh",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CloudState::default()),
            Err(e) => Err(io_error("read", &self.path, e)),
        }
    }
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> ProviderError {
    ProviderError::new(
        ErrorKind::Unavailable,
        format!("cannot {action} {}: {e}", path.display()),
    )
    .with_retryable(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(price_type: &str) -> MockMachine {
        MockMachine {
            machine_id: "m-1".into(),
            request_id: "req-1".into(),
            name: "ip-10-0-0-1.mock.internal".into(),
            private_ip: "10.0.0.1".into(),
            instance_type: None,
            price_type: price_type.into(),
            launched_at: 100.0,
            failed: false,
            terminate_at: None,
            attempt: 0,
            zone: None,
            stopped_at: None,
            tags: BTreeMap::new(),
        }
    }

    const TIMING: Timing = Timing {
        pending_seconds: 5.0,
        shutdown_seconds: 2.0,
        reclaim_after_seconds: Some(10.0),
    };

    #[test]
    fn a_machine_moves_through_its_lifecycle() {
        let mut m = machine("ondemand");
        assert_eq!(m.state_at(101.0, &TIMING), MachineState::Pending);
        assert_eq!(m.state_at(105.0, &TIMING), MachineState::Running);
        m.terminate_at = Some(200.0);
        assert_eq!(m.state_at(201.0, &TIMING), MachineState::ShuttingDown);
        assert_eq!(m.state_at(202.0, &TIMING), MachineState::Terminated);
        m.failed = true;
        assert_eq!(m.state_at(101.0, &TIMING), MachineState::Failed);
    }

    #[test]
    fn spot_machines_are_reclaimed_after_the_notice() {
        let m = machine("spot");
        assert_eq!(m.reclaim_notice_at(&TIMING), Some(110.0));
        assert_eq!(m.state_at(229.0, &TIMING), MachineState::Running);
        assert_eq!(m.state_at(230.0, &TIMING), MachineState::Terminated);
        assert_eq!(machine("ondemand").reclaim_notice_at(&TIMING), None);
    }

    #[test]
    fn updates_persist_and_concurrent_updates_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("sub/state.json")).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..25 {
                        file.update(|st| {
                            st.launched += 1;
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(file.read().unwrap().launched, 200);
    }

    #[test]
    fn a_damaged_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{oops").unwrap();
        let err = StateFile::new(path).unwrap().read().unwrap_err();
        assert!(err.message.contains("delete it"), "{}", err.message);
    }
}
