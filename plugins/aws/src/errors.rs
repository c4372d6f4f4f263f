//! AWS errors, classified in one place.
//!
//! EC2 errors have no modelled variants in the SDK: they are classified by their code
//! (`InsufficientInstanceCapacity`, `RequestLimitExceeded`...), never by enum variant.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orb_plugin_api::{ErrorKind, ProviderError};

/// The kind of failure an AWS error code names.
pub fn classify_code(code: &str) -> ErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "TooManyRequestsException"
        | "SlowDown"
        | "PriorRequestNotComplete" => ErrorKind::Throttling,
        "InsufficientInstanceCapacity"
        | "InsufficientCapacity"
        | "InsufficientHostCapacity"
        | "InsufficientReservedInstanceCapacity"
        | "InsufficientFreeAddressesInSubnet"
        | "SpotMaxPriceTooLow"
        | "UnfulfillableCapacity" => ErrorKind::Capacity,
        "InstanceLimitExceeded"
        | "MaxSpotInstanceCountExceeded"
        | "VcpuLimitExceeded"
        | "MaxSpotFleetRequestCountExceeded"
        | "LimitExceeded"
        | "LimitExceededException" => ErrorKind::Limit,
        "UnauthorizedOperation"
        | "AuthFailure"
        | "AccessDenied"
        | "AccessDeniedException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "OptInRequired"
        | "Blocked" => ErrorKind::Auth,
        "ServiceUnavailable" | "Unavailable" | "InternalError" | "InternalFailure" => {
            ErrorKind::Unavailable
        }
        code if code.ends_with(".NotFound")
            || code.ends_with("NotFound")
            || code.ends_with("NotFoundException") =>
        {
            ErrorKind::NotFound
        }
        code if code.starts_with("Invalid")
            || code.starts_with("Missing")
            || code.starts_with("Unsupported")
            || code == "ValidationError"
            || code == "DryRunOperation" =>
        {
            ErrorKind::Validation
        }
        _ => ErrorKind::Internal,
    }
}

/// A provider error for a failed SDK call of `operation`. Messages carry the AWS error code
/// and message, never credentials.
pub fn sdk_error<E>(operation: &str, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let kind = classify_code(code);
            let message = e.message().map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "HTTP {} with no AWS error message",
                    service.raw().status().as_u16()
                )
            });
            ProviderError::new(kind, format!("{operation} failed: {code}: {message}"))
        }
        SdkError::TimeoutError(_) => ProviderError::new(
            ErrorKind::Unavailable,
            format!(
                "{operation} timed out; check the network path to AWS and operation_timeout_secs"
            ),
        ),
        SdkError::DispatchFailure(_) => ProviderError::new(
            ErrorKind::Unavailable,
            format!("{operation} could not be sent: {}", error_chain(&error)),
        ),
        SdkError::ConstructionFailure(_) => ProviderError::new(
            ErrorKind::Validation,
            format!("{operation} could not be built: {}", error_chain(&error)),
        )
        .with_retryable(false),
        _ => ProviderError::new(
            ErrorKind::Internal,
            format!("{operation} failed: {}", error_chain(&error)),
        ),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code("RequestLimitExceeded"), ErrorKind::Throttling);
        assert_eq!(
            classify_code("InsufficientInstanceCapacity"),
            ErrorKind::Capacity
        );
        assert_eq!(classify_code("VcpuLimitExceeded"), ErrorKind::Limit);
        assert_eq!(classify_code("UnauthorizedOperation"), ErrorKind::Auth);
        assert_eq!(classify_code("AuthFailure"), ErrorKind::Auth);
        assert_eq!(
            classify_code("InvalidInstanceID.NotFound"),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify_code("InvalidAMIID.Malformed"),
            ErrorKind::Validation
        );
        assert_eq!(
            classify_code("InvalidParameterValue"),
            ErrorKind::Validation
        );
        assert_eq!(classify_code("SomethingNew"), ErrorKind::Internal);
        assert!(ErrorKind::Throttling.default_retryable());
        assert!(!ErrorKind::Auth.default_retryable());
    }
}
