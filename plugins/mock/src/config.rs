//! The mock provider's per-instance configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use orb_plugin_api::Template;
use serde::Deserialize;

/// The `config` object of a `mock` provider instance. Every field is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// Where the machines are kept; default `<work dir>/mock-<instance>.json`.
    pub state_file: Option<PathBuf>,
    /// Seconds a new machine stays `pending` before it is `running`.
    pub pending_seconds: f64,
    /// Seconds a terminated machine stays `shutting-down` before it is `terminated`.
    pub shutdown_seconds: f64,
    /// Fraction (0 to 1) of launched machines that fail to start.
    pub failure_rate: f64,
    /// Fraction (0 to 1) of the requested machines the "cloud" has capacity for; the rest is
    /// reported as a capacity failure (partial fulfilment).
    pub fulfil_ratio: f64,
    /// Milliseconds every call takes.
    pub latency_ms: u64,
    /// Milliseconds a provision call that launched machines waits before it answers: a window
    /// in which its caller can die with the machines made and their answer never stored.
    pub answer_delay_ms: u64,
    /// The first this-many provision calls of the instance fail with a retryable throttling
    /// error.
    pub retryable_errors: u32,
    /// Every provision call fails at once as if the cloud could not be reached (not
    /// retryable), and the health check says so: an instance that cannot serve.
    pub unavailable: bool,
    /// Operations that panic (`health_check`, `provision_machines`...), for tests of the
    /// plugin boundary.
    pub panic_in: Vec<String>,
    /// Seconds after launch at which `spot` machines get a reclaim notice; the cloud takes them
    /// back 120 s after the notice.
    pub reclaim_after_seconds: Option<f64>,
    /// Templates the provider offers by itself.
    pub templates: Vec<Template>,
    /// Instance types the "cloud" offers, beside the built-in ones.
    pub instance_types: BTreeMap<String, MockInstanceType>,
}

/// An instance type of the mock cloud.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockInstanceType {
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

/// Instance types every mock instance knows: (name, vCPUs, memory in MiB).
pub const BUILT_IN_INSTANCE_TYPES: &[(&str, u32, u64)] = &[
    ("t3.micro", 2, 1024),
    ("t3.medium", 2, 4096),
    ("t3.large", 2, 8192),
    ("m5.large", 2, 8192),
    ("m5.xlarge", 4, 16384),
    ("c5.2xlarge", 8, 16384),
];

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            state_file: None,
            pending_seconds: 0.0,
            shutdown_seconds: 0.0,
            failure_rate: 0.0,
            fulfil_ratio: 1.0,
            latency_ms: 0,
            answer_delay_ms: 0,
            retryable_errors: 0,
            unavailable: false,
            panic_in: Vec::new(),
            reclaim_after_seconds: None,
            templates: Vec::new(),
            instance_types: BTreeMap::new(),
        }
    }
}

impl MockConfig {
    /// Every problem with the values, reported at once.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, value) in [
            ("failure_rate", self.failure_rate),
            ("fulfil_ratio", self.fulfil_ratio),
        ] {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("{key} must be between 0 and 1, not {value}"));
            }
        }
        for (key, value) in [
            ("pending_seconds", self.pending_seconds),
            ("shutdown_seconds", self.shutdown_seconds),
        ] {
            if value < 0.0 || !value.is_finite() {
                problems.push(format!("{key} must be a non-negative number, not {value}"));
            }
        }
        problems
    }
}
