//! The background loop: requests accepted over HTTP are refreshed from their providers here, so
//! status reads never wait on the cloud. Only the leading replica runs it (see `leader`). One pass refreshes every running request at once (one
//! provider status call per provider instance). When a provider throttles, the loop waits twice
//! as long before the next pass (up to a minute), and goes back to its pace once calls go
//! through.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::leader::Leadership;
use super::reload::Live;

/// The longest wait between passes.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The wait before the next pass.
fn next_interval(current: Duration, base: Duration, throttled: bool) -> Duration {
    if throttled {
        (current * 2).min(MAX_INTERVAL.max(base))
    } else {
        base
    }
}

/// Refreshes the running requests every `interval`, while this replica leads, until `stop`
/// changes.
pub async fn run(
    live: Arc<Live>,
    leadership: Arc<Leadership>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if !leadership.is_leader() {
            wait = interval;
            continue;
        }
        let throttled = match live.broker().refresh_running().await {
            Ok(throttled) => throttled,
            Err(e) => {
                tracing::warn!(error = %e, "reconcile pass failed");
                false
            }
        };
        wait = next_interval(wait, interval, throttled);
        if throttled {
            tracing::info!(
                wait_seconds = wait.as_secs(),
                "provider throttled; backing off"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_doubles_the_wait_up_to_a_minute_then_it_resets() {
        let base = Duration::from_secs(5);
        let mut wait = base;
        for expected in [10, 20, 40, 60, 60] {
            wait = next_interval(wait, base, true);
            assert_eq!(wait, Duration::from_secs(expected));
        }
        assert_eq!(next_interval(wait, base, false), base);
    }
}
