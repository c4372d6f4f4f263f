//! An instance's circuit breaker: closed while the instance serves; open once it has failed
//! `threshold` times in a row in a way that says it cannot serve; half-open once the cool-down
//! has passed, when one request may try it again. The state lives in the store, so every
//! process sees the same.

use serde::Serialize;

/// A provider instance's circuit, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Circuit {
    /// The instance.
    pub provider_instance: String,
    /// Failures in a row.
    pub failures: u32,
    /// When it opened (seconds since the epoch); `None` while closed.
    pub opened_at: Option<i64>,
}

/// Where a circuit stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Requests go to the instance.
    Closed,
    /// The instance is skipped.
    Open,
    /// The cool-down passed: a request may try the instance again.
    HalfOpen,
}

impl CircuitState {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

impl Circuit {
    /// A closed circuit of `provider_instance`.
    pub fn closed(provider_instance: &str) -> Self {
        Circuit {
            provider_instance: provider_instance.to_owned(),
            failures: 0,
            opened_at: None,
        }
    }

    /// Where it stands at `now`, its cool-down `cool_down` seconds.
    pub fn state(&self, now: i64, cool_down: u64) -> CircuitState {
        match self.opened_at {
            None => CircuitState::Closed,
            Some(at) if now < at + cool_down as i64 => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// The circuit after a call that `failed` (or not) at `now`: a success closes it; a
    /// failure counts, and opens it at the `threshold`-th in a row, or again when it was
    /// half-open.
    pub fn after(mut self, failed: bool, now: i64, threshold: u32) -> Self {
        if !failed {
            self.failures = 0;
            self.opened_at = None;
            return self;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= threshold.max(1) {
            self.opened_at = Some(now);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circuit_opens_at_the_threshold_half_opens_after_the_cool_down_and_closes_on_success() {
        let mut c = Circuit::closed("a");
        for _ in 0..2 {
            c = c.after(true, 100, 3);
            assert_eq!(c.state(100, 60), CircuitState::Closed);
        }
        c = c.after(true, 100, 3);
        assert_eq!(c.state(159, 60), CircuitState::Open);
        assert_eq!(c.state(160, 60), CircuitState::HalfOpen);
        // A failure when half-open opens it again, from then.
        let reopened = c.clone().after(true, 170, 3);
        assert_eq!(reopened.state(200, 60), CircuitState::Open);
        let closed = c.after(false, 170, 3);
        assert_eq!(closed, Circuit::closed("a"));
    }
}
