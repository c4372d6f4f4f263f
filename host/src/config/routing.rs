//! How a request picks among provider instances: `provider.selection_policy`, the named pools
//! of `provider.pools`, and `provider.circuit_breaker`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// How candidates are ordered for a request; the first that can serve it is asked first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionPolicy {
    /// Lowest `priority` first, highest `weight` breaking ties.
    #[default]
    Priority,
    /// Each request starts at the next candidate, in turn, across every process.
    RoundRobin,
    /// In turn, each candidate as often as its `weight` says.
    Weighted,
    /// Fewest active machines first, or most room under `max_machines` when it is set.
    LeastLoaded,
    /// A random order.
    Random,
}

impl SelectionPolicy {
    /// The policy a name means: orb's, or the Python ORB's (`FIRST_AVAILABLE`,
    /// `ROUND_ROBIN`, `WEIGHTED_ROUND_ROBIN`, `LEAST_CONNECTIONS`, `HEALTH_BASED`, `RANDOM`),
    /// in any case.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "priority" | "first_available" | "health_based" => SelectionPolicy::Priority,
            "round_robin" => SelectionPolicy::RoundRobin,
            "weighted" | "weighted_round_robin" => SelectionPolicy::Weighted,
            "least_loaded" | "least_connections" => SelectionPolicy::LeastLoaded,
            "random" => SelectionPolicy::Random,
            other => {
                return Err(format!(
                    "selection policy '{other}' is not one of priority, round_robin, weighted, \
                     least_loaded, random (or the Python ORB's FIRST_AVAILABLE, ROUND_ROBIN, \
                     WEIGHTED_ROUND_ROBIN, LEAST_CONNECTIONS, HEALTH_BASED, RANDOM)"
                ))
            }
        })
    }
}

impl<'de> Deserialize<'de> for SelectionPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        SelectionPolicy::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// `provider.pools.<name>`: instances that serve as one, which `HF_PROVIDER_NAME` or a
/// template's `providerName` may name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Its instances.
    pub instances: Vec<String>,
    /// Its policy, over `provider.selection_policy`.
    pub policy: Option<SelectionPolicy>,
    /// Split each request across its instances by `weight`, in the policy's order, instead of
    /// asking one first.
    pub spread: bool,
}

/// `provider.circuit_breaker`: an instance that fails this many times in a row, in a way that
/// says it cannot serve, is skipped until `recovery_timeout` seconds pass; then one request
/// tries it again. Its state is in the store, shared by every process.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct CircuitBreakerConfig {
    /// Whether failures open circuits at all.
    #[serde(deserialize_with = "super::flag::deserialize")]
    pub enabled: bool,
    /// Failures in a row that open the circuit.
    pub failure_threshold: u32,
    /// Seconds an open circuit stays open before one request may try again.
    pub recovery_timeout: u64,
    /// The Python ORB's: how many calls a half-open circuit lets through. orb lets one
    /// request at a time try (accepted so ORB's files load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub half_open_max_calls: Option<u32>,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            enabled: true,
            failure_threshold: 5,
            recovery_timeout: 60,
            half_open_max_calls: None,
        }
    }
}

/// The pools, by name.
pub type Pools = BTreeMap<String, PoolConfig>;
