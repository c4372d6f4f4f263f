//! Retrying provider calls that failed with a retryable error: exponential backoff with full
//! jitter, within a time budget, so a script stays well inside Host Factory's action timeout.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::plugins::ProviderCallError;

/// How long retries of one call may take in all.
pub const BUDGET: Duration = Duration::from_secs(30);
const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `call` until it succeeds, fails with an error that is not retryable, or the budget
/// is spent.
pub async fn with_retries<T, F, Fut>(operation: &str, mut call: F) -> Result<T, ProviderCallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderCallError>>,
{
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        match call().await {
            Err(e) if e.retryable() => {
                let ceiling = FIRST_DELAY
                    .saturating_mul(2u32.saturating_pow(attempt))
                    .min(MAX_DELAY);
                let delay = ceiling.mul_f64(fastrand::f64());
                if started.elapsed() + delay > BUDGET {
                    return Err(e);
                }
                attempt += 1;
                tracing::info!(operation, attempt, delay_ms = delay.as_millis() as u64, error = %e, "retrying");
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orb_plugin_api::{ErrorKind, ProviderError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn failure(kind: ErrorKind) -> ProviderCallError {
        ProviderCallError {
            instance: "i".into(),
            operation: "op",
            error: ProviderError::new(kind, "x"),
        }
    }

    #[tokio::test]
    async fn retryable_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = with_retries("op", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(failure(ErrorKind::Throttling))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = with_retries("op", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(failure(ErrorKind::Auth))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
