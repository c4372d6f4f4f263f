//! Client-side pacing: every AWS call takes a token from a bucket of its API and region before
//! it is sent, so a burst of Host Factory calls waits its turn instead of being throttled.
//!
//! EC2 throttles each API of an account per region with a token bucket (`RequestLimitExceeded`
//! once it is empty); the defaults below are its documented sizes and refill rates. Many `orb`
//! processes call AWS at once (Host Factory runs one per call), so the buckets live in one small
//! file in the instance's work directory, read and written under an exclusive lock: a call
//! reserves its token (the bucket may go below zero) and then waits until the token is due.
//! Pacing protects; it is never a reason to fail: a bucket file that cannot be used is logged
//! and the call goes unpaced.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The largest bucket file read; a larger one (hand-made) starts the buckets afresh.
const MAX_FILE: u64 = 64 * 1024;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Tokens the bucket holds when full: calls that may go at once.
    pub burst: f64,
    /// Tokens added back each second.
    pub per_second: f64,
}

/// `pacing` in an `aws` instance's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// Whether calls are paced.
    pub enabled: bool,
    /// Each API that only reads (`Describe*`, `Get*`, `List*`): EC2's non-mutating actions.
    pub read: Rate,
    /// Each API that changes something: EC2's mutating actions.
    pub write: Rate,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            enabled: true,
            read: Rate {
                burst: 100.0,
                per_second: 20.0,
            },
            write: Rate {
                burst: 200.0,
                per_second: 5.0,
            },
        }
    }
}

impl PacingConfig {
    /// The rate of the API `operation`.
    fn rate_of(&self, operation: &str) -> Rate {
        if ["Describe", "Get", "List"]
            .iter()
            .any(|p| operation.starts_with(p))
        {
            self.read
        } else {
            self.write
        }
    }

    /// Rates that cannot pace (none, or not positive) are refused with what to set.
    pub fn check(&self) -> Result<(), String> {
        for (name, rate) in [("read", self.read), ("write", self.write)] {
            if !(rate.burst >= 1.0 && rate.per_second > 0.0 && rate.per_second.is_finite()) {
                return Err(format!(
                    "pacing.{name} needs burst >= 1 and per_second > 0 (got {} and {})",
                    rate.burst, rate.per_second
                ));
            }
        }
        Ok(())
    }
}

/// One bucket, as kept in the file.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Bucket {
    /// Tokens left (below zero: reserved by calls still waiting).
    tokens: f64,
    /// When `tokens` was counted, in milliseconds since the epoch.
    at_ms: u64,
}

/// The buckets of the calls of one host, shared through a file.
#[derive(Debug)]
pub struct Pacer {
    path: PathBuf,
    region: String,
    config: PacingConfig,
}

impl Pacer {
    /// A pacer keeping its buckets in `<work_dir>/aws-pacing.json`, for calls to `region`.
    pub fn new(work_dir: &Path, region: &str, config: PacingConfig) -> Self {
        Pacer {
            path: work_dir.join("aws-pacing.json"),
            region: region.to_owned(),
            config,
        }
    }

    /// Waits until a call of `service`'s `operation` may go.
    pub async fn take(&self, service: &str, operation: &str) {
        if !self.config.enabled {
            return;
        }
        let key = format!("{}/{service}/{operation}", self.region);
        let rate = self.config.rate_of(operation);
        // The file lock may wait on another process: off the async worker.
        let path = self.path.clone();
        let reserved = tokio::task::spawn_blocking(move || reserve(&path, &key, rate, now_ms()))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match reserved {
            Ok(wait) if wait.is_zero() => {}
            Ok(wait) => {
                let waited_ms = wait.as_millis() as u64;
                // `api`, not `operation`: the call log's lines alone carry `operation`.
                if wait >= Duration::from_secs(1) {
                    tracing::info!(api = operation, waited_ms, "aws call paced");
                } else {
                    tracing::debug!(api = operation, waited_ms, "aws call paced");
                }
                tokio::time::sleep(wait).await;
            }
            Err(e) => tracing::warn!(
                path = %self.path.display(),
                error = %e,
                "AWS calls go unpaced: the pacing file cannot be used"
            ),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Takes a token of `key` in the file at `path` at `now_ms`; how long the caller waits for it.
fn reserve(path: &Path, key: &str, rate: Rate, now_ms: u64) -> std::io::Result<Duration> {
    // A first call (`orb init`'s) may come before the work directory was ever made.
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.lock()?;
    let mut buckets = read_buckets(&mut file)?;
    let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
        tokens: rate.burst,
        at_ms: now_ms,
    });
    let elapsed = now_ms.saturating_sub(bucket.at_ms) as f64 / 1000.0;
    bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst) - 1.0;
    bucket.at_ms = now_ms.max(bucket.at_ms);
    let wait = if bucket.tokens >= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(-bucket.tokens / rate.per_second)
    };
    let text = serde_json::to_vec(&buckets).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&text)?;
    Ok(wait)
}

/// The buckets in `file`; none when it is empty, damaged or too large.
fn read_buckets(file: &mut File) -> std::io::Result<BTreeMap<String, Bucket>> {
    if file.metadata()?.len() > MAX_FILE {
        return Ok(BTreeMap::new());
    }
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    Ok(serde_json::from_slice(&text).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        burst: 2.0,
        per_second: 4.0,
    };

    #[test]
    fn a_burst_goes_at_once_and_the_rest_waits_its_turn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws-pacing.json");
        let at = |ms| reserve(&path, "r/EC2/DescribeInstances", RATE, ms).unwrap();
        assert_eq!(at(1_000), Duration::ZERO);
        assert_eq!(at(1_000), Duration::ZERO);
        // Empty: each further call waits a quarter second more than the one before.
        assert_eq!(at(1_000), Duration::from_millis(250));
        assert_eq!(at(1_000), Duration::from_millis(500));
        // Another API has its own bucket.
        assert_eq!(
            reserve(&path, "r/EC2/RunInstances", RATE, 1_000).unwrap(),
            Duration::ZERO
        );
        // A second later four tokens came back; two were owed.
        assert_eq!(at(2_000), Duration::ZERO);
        assert_eq!(at(2_000), Duration::ZERO);
        assert_eq!(at(2_000), Duration::from_millis(250));
    }

    #[test]
    fn a_work_directory_not_made_yet_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("work/new/aws-pacing.json");
        assert_eq!(reserve(&path, "k", RATE, 5).unwrap(), Duration::ZERO);
        assert!(path.is_file());
    }

    #[test]
    fn a_damaged_file_starts_the_buckets_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws-pacing.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(reserve(&path, "k", RATE, 5).unwrap(), Duration::ZERO);
        let kept: BTreeMap<String, Bucket> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(kept["k"].tokens, 1.0);
    }

    #[test]
    fn reads_and_writes_have_their_own_rates() {
        let config = PacingConfig::default();
        assert_eq!(config.rate_of("DescribeInstances"), config.read);
        assert_eq!(config.rate_of("GetParameter"), config.read);
        assert_eq!(config.rate_of("TerminateInstances"), config.write);
        assert!(config.check().is_ok());
        let stopped = PacingConfig {
            read: Rate {
                burst: 10.0,
                per_second: 0.0,
            },
            ..PacingConfig::default()
        };
        assert!(stopped.check().unwrap_err().contains("pacing.read"));
    }
}
