//! Calling a provider built by a plugin.
//!
//! Provider methods block (see `orb-plugin-api`'s docs on threads), so every call runs on
//! tokio's blocking pool: a slow provider never stalls the host's async runtime, and many calls
//! run at once.

use std::sync::Arc;

use orb_plugin_api::host::ProviderObject;
use orb_plugin_api::operations::Operation;
use orb_plugin_api::{ErrorKind, ProviderError};

use crate::config::CallTimeouts;

/// A provider call that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("provider instance '{instance}' failed in {operation}: {error}")]
pub struct ProviderCallError {
    /// The provider instance.
    pub instance: String,
    /// The operation.
    pub operation: &'static str,
    /// The provider's error (part of this error's message, so not also its `source()`).
    pub error: ProviderError,
}

impl ProviderCallError {
    /// Whether the same call may succeed if tried again.
    pub fn retryable(&self) -> bool {
        self.error.retryable
    }
}

/// A provider instance, ready to call from async code. Cheap to clone.
#[derive(Clone)]
pub struct ProviderHandle {
    inner: Arc<Inner>,
}

struct Inner {
    instance: String,
    object: ProviderObject,
    timeouts: CallTimeouts,
}

impl std::fmt::Debug for ProviderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("instance", &self.inner.instance)
            .field("provider_type", &self.inner.object.provider_type())
            .finish()
    }
}

impl ProviderHandle {
    /// Wraps a provider object built for `instance`, whose calls may take `timeouts`.
    pub fn new(instance: &str, object: ProviderObject, timeouts: CallTimeouts) -> Self {
        ProviderHandle {
            inner: Arc::new(Inner {
                instance: instance.to_owned(),
                object,
                timeouts,
            }),
        }
    }

    /// Calls the operation `O` (see `orb_plugin_api::operations`) on tokio's blocking pool,
    /// within the operation's timeout. A library without `O` gets the operation's fallback,
    /// or an `unsupported` error naming the provider and its versions.
    pub async fn call<O: Operation>(&self, input: &O::Input) -> Result<O::Output, ProviderCallError>
    where
        O::Input: Clone + Send + 'static,
        O::Output: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let input = input.clone();
        let started = std::time::Instant::now();
        let timeout = self.inner.timeouts.of(O::NAME);
        let call = tokio::task::spawn_blocking(move || inner.object.call::<O>(&input));
        let output = match tokio::time::timeout(timeout, call).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return Err(self.error(
                    O::NAME,
                    ProviderError::internal(format!("the call did not complete: {e}")),
                ))
            }
            // Never retried: the call that timed out may still be running, and a second one
            // beside it would double its work and the caller's wait.
            Err(_) => Err(ProviderError::new(
                ErrorKind::Unavailable,
                format!(
                    "no answer within {} s (provider.call_timeouts); the provider may still be working",
                    timeout.as_secs()
                ),
            )
            .with_retryable(false)),
        };
        crate::metrics::record_provider_call(
            &self.inner.instance,
            O::NAME,
            output.is_ok(),
            started.elapsed(),
        );
        output.map_err(|e| self.error(O::NAME, e))
    }

    fn error(&self, operation: &'static str, error: ProviderError) -> ProviderCallError {
        ProviderCallError {
            instance: self.inner.instance.clone(),
            operation,
            error,
        }
    }
}
