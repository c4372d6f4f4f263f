//! Calling a provider built by a plugin.
//!
//! Provider methods block (see `orb-plugin-api`'s docs on threads), so every call runs on
//! tokio's blocking pool: a slow provider never stalls the host's async runtime, and many calls
//! run at once.

use std::sync::Arc;

use abi_stable::std_types::RStr;
use orb_plugin_api::ffi::{FfiProviderBox, FfiResult};
use orb_plugin_api::{
    CancelRequest, CancelResult, ErrorKind, HealthReport, InstanceTypeInfo, MetricSample,
    ProviderError, ProvisionRequest, ProvisionResult, StatusQuery, StatusResult, Template,
    TerminateRequest, TerminateResult,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

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
    provider_type: String,
    object: FfiProviderBox,
    timeouts: CallTimeouts,
}

impl std::fmt::Debug for ProviderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("instance", &self.inner.instance)
            .field("provider_type", &self.inner.provider_type)
            .finish()
    }
}

impl ProviderHandle {
    /// Wraps a provider object built for `instance`, whose calls may take `timeouts`.
    pub fn new(
        instance: &str,
        provider_type: &str,
        object: FfiProviderBox,
        timeouts: CallTimeouts,
    ) -> Self {
        ProviderHandle {
            inner: Arc::new(Inner {
                instance: instance.to_owned(),
                provider_type: provider_type.to_owned(),
                object,
                timeouts,
            }),
        }
    }

    /// Prepares the provider.
    pub async fn initialize(&self) -> Result<(), ProviderCallError> {
        self.call::<serde_json::Value>("initialize", None, |o, _| o.initialize())
            .await
            .map(|_| ())
    }

    /// The provider's health.
    pub async fn health_check(&self) -> Result<HealthReport, ProviderCallError> {
        self.call("health_check", None, |o, _| o.health_check())
            .await
    }

    /// Templates the provider offers by itself.
    pub async fn available_templates(&self) -> Result<Vec<Template>, ProviderCallError> {
        self.call("available_templates", None, |o, _| o.available_templates())
            .await
    }

    /// Starts provisioning.
    pub async fn provision_machines(
        &self,
        request: &ProvisionRequest,
    ) -> Result<ProvisionResult, ProviderCallError> {
        let input = self.encode("provision_machines", request)?;
        self.call("provision_machines", Some(input), |o, i| {
            o.provision_machines(RStr::from_str(i))
        })
        .await
    }

    /// Starts terminating machines.
    pub async fn terminate_machines(
        &self,
        request: &TerminateRequest,
    ) -> Result<TerminateResult, ProviderCallError> {
        let input = self.encode("terminate_machines", request)?;
        self.call("terminate_machines", Some(input), |o, i| {
            o.terminate_machines(RStr::from_str(i))
        })
        .await
    }

    /// The current state of machines.
    pub async fn machine_status(
        &self,
        query: &StatusQuery,
    ) -> Result<StatusResult, ProviderCallError> {
        let input = self.encode("machine_status", query)?;
        self.call("machine_status", Some(input), |o, i| {
            o.machine_status(RStr::from_str(i))
        })
        .await
    }

    /// Every problem with `template`.
    pub async fn validate_template(
        &self,
        template: &Template,
    ) -> Result<Vec<String>, ProviderCallError> {
        let input = self.encode("validate_template", template)?;
        self.call("validate_template", Some(input), |o, i| {
            o.validate_template(RStr::from_str(i))
        })
        .await
    }

    /// The vCPUs and memory of the named instance types.
    pub async fn instance_types(
        &self,
        names: &[String],
    ) -> Result<Vec<InstanceTypeInfo>, ProviderCallError> {
        let input = self.encode("instance_types", &names)?;
        self.call("instance_types", Some(input), |o, i| {
            o.instance_types(RStr::from_str(i))
        })
        .await
    }

    /// Cancels an acquire request: its resources are released and its machines terminated.
    pub async fn cancel_request(
        &self,
        request: &CancelRequest,
    ) -> Result<CancelResult, ProviderCallError> {
        let input = self.encode("cancel_request", request)?;
        self.call("cancel_request", Some(input), |o, i| {
            o.cancel_request(RStr::from_str(i))
        })
        .await
    }

    /// The provider's own counters.
    pub async fn metrics(&self) -> Result<Vec<MetricSample>, ProviderCallError> {
        self.call("metrics", None, |o, _| o.metrics()).await
    }

    fn error(&self, operation: &'static str, error: ProviderError) -> ProviderCallError {
        ProviderCallError {
            instance: self.inner.instance.clone(),
            operation,
            error,
        }
    }

    fn encode(
        &self,
        operation: &'static str,
        input: &impl Serialize,
    ) -> Result<String, ProviderCallError> {
        serde_json::to_string(input).map_err(|e| {
            self.error(
                operation,
                ProviderError::new(ErrorKind::Protocol, format!("cannot encode the input: {e}")),
            )
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        input: Option<String>,
        f: impl FnOnce(&FfiProviderBox, &str) -> FfiResult + Send + 'static,
    ) -> Result<T, ProviderCallError> {
        let inner = Arc::clone(&self.inner);
        let input = input.unwrap_or_default();
        let started = std::time::Instant::now();
        let timeout = self.inner.timeouts.of(operation);
        let call = tokio::task::spawn_blocking(move || f(&inner.object, &input));
        let output: Result<_, ProviderError> = match tokio::time::timeout(timeout, call).await {
            Ok(Ok(output)) => output.into_result().map_err(Into::into),
            Ok(Err(e)) => {
                return Err(self.error(
                    operation,
                    ProviderError::internal(format!("the call did not complete: {e}")),
                ))
            }
            Err(_) => Err(ProviderError::new(
                ErrorKind::Unavailable,
                format!(
                    "no answer within {} s (provider.call_timeouts); the provider may still be working",
                    timeout.as_secs()
                ),
            )),
        };
        crate::metrics::record_provider_call(
            &self.inner.instance,
            operation,
            output.is_ok(),
            started.elapsed(),
        );
        let json = output.map_err(|e| self.error(operation, e))?;
        serde_json::from_str(json.as_str()).map_err(|e| {
            self.error(
                operation,
                ProviderError::new(
                    ErrorKind::Protocol,
                    format!("cannot read the provider's answer: {e}"),
                ),
            )
        })
    }
}
