//! Typed provider errors.

use serde::{Deserialize, Serialize};

/// What kind of failure a provider reports. The host decides on retries and on the message it
/// shows from the kind; the provider's own code stays in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The cloud throttled the call.
    Throttling,
    /// The cloud has no capacity for the request right now.
    Capacity,
    /// An account limit or quota was reached.
    Limit,
    /// Credentials are missing, wrong or lack a permission.
    Auth,
    /// The request or template is invalid.
    Validation,
    /// A resource the call names does not exist.
    NotFound,
    /// The provider's configuration is invalid.
    Config,
    /// The cloud could not be reached, or timed out.
    Unavailable,
    /// The provider panicked; the host caught it at the boundary.
    Panic,
    /// The call's input or output could not be read across the boundary.
    Protocol,
    /// The provider does not offer the operation.
    Unsupported,
    /// Anything else.
    #[serde(other)]
    Internal,
}

impl ErrorKind {
    /// The snake_case name of the kind, as it crosses the boundary.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttling => "throttling",
            ErrorKind::Capacity => "capacity",
            ErrorKind::Limit => "limit",
            ErrorKind::Auth => "auth",
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Config => "config",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Panic => "panic",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name`; unknown names (from a newer plugin) are [`ErrorKind::Internal`].
    pub fn parse(name: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .unwrap_or(ErrorKind::Internal)
    }

    /// Whether errors of this kind are usually worth retrying.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttling | ErrorKind::Capacity | ErrorKind::Unavailable
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error a provider returns from any operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind} error: {message}")]
pub struct ProviderError {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
    /// Whether the host should make the same call again (with backoff, within its budget). A
    /// provider that retries its own cloud calls reports what is left after its retries as
    /// not retryable, so that a call is never retried by both.
    pub retryable: bool,
}

impl ProviderError {
    /// An error of `kind`, retryable as the kind usually is.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            message: message.into(),
            retryable: kind.default_retryable(),
        }
    }

    /// The same error, with `retryable` set explicitly.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A validation error.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// The answer of an operation the provider does not offer.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("this provider does not offer {operation}"),
        )
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_kinds_are_internal() {
        for kind in [
            ErrorKind::Throttling,
            ErrorKind::NotFound,
            ErrorKind::Panic,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::parse(kind.as_str()), kind);
        }
        assert_eq!(ErrorKind::parse("quantum_flux"), ErrorKind::Internal);
    }

    #[test]
    fn retryable_follows_the_kind_unless_set() {
        assert!(ProviderError::new(ErrorKind::Throttling, "slow down").retryable);
        assert!(!ProviderError::new(ErrorKind::Auth, "denied").retryable);
        assert!(
            !ProviderError::new(ErrorKind::Capacity, "x")
                .with_retryable(false)
                .retryable
        );
    }
}
