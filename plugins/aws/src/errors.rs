//! AWS errors, classified in one place.
//!
//! EC2 errors have no modelled variants in the SDK: they are classified by their code
//! (`InsufficientInstanceCapacity`, `RequestLimitExceeded`...), never by enum variant.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orb_plugin_api::{ErrorKind, ProviderError};

/// The kind of failure an AWS error names. Auto Scaling names a missing group with a
/// `ValidationError` whose message says "not found".
pub fn classify(code: &str, message: &str) -> ErrorKind {
    if code == "ValidationError" && message.contains("not found") {
        return ErrorKind::NotFound;
    }
    classify_code(code)
}

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

/// The AWS service an operation belongs to, for logs and errors.
pub fn service_of(operation: &str) -> &'static str {
    match operation {
        op if op.contains("AutoScaling") => "autoscaling",
        "GetParameter" => "ssm",
        "GetCallerIdentity" | "AssumeRole" => "sts",
        _ => "ec2",
    }
}

/// A failed AWS call: the service, the operation and the AWS error code are kept as fields,
/// and the call is classified once, here; it becomes a [`ProviderError`] only at the plugin's
/// boundary.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{text}")]
pub struct AwsError {
    /// `ec2`, `autoscaling`, `ssm` or `sts`.
    pub service: &'static str,
    /// The operation (`RunInstances`...).
    pub operation: String,
    /// The AWS error code, when the service answered with one.
    pub code: Option<String>,
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// Whether the call may succeed if made again.
    pub retryable: bool,
    /// The whole message: the operation, the code and AWS's message (never credentials).
    text: String,
}

impl AwsError {
    fn new(operation: &str, code: Option<&str>, kind: ErrorKind, text: String) -> Self {
        AwsError {
            service: service_of(operation),
            operation: operation.to_owned(),
            code: code.map(str::to_owned),
            kind,
            retryable: kind.default_retryable(),
            text,
        }
    }

    /// Whether what the call would make exists already (`AlreadyExists`,
    /// `InvalidLaunchTemplateName.AlreadyExistsException`...).
    pub fn already_exists(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.contains("AlreadyExists"))
    }

    /// The whole message.
    pub fn message(&self) -> &str {
        &self.text
    }
}

/// Retries have one owner per layer: the SDK retries each AWS call (`max_retries`, within
/// `operation_timeout_secs`), so an AWS error that reaches the host has been retried already
/// and is reported as not retryable; the host retries only what a provider marks retryable.
impl From<AwsError> for ProviderError {
    fn from(e: AwsError) -> Self {
        ProviderError::new(e.kind, e.text).with_retryable(false)
    }
}

/// What a dry run of `operation` says: nothing when the call would have been made (AWS
/// answers `DryRunOperation`), else what stops it. A call that went through did not run dry:
/// that is said too.
pub fn dry_run<T, E>(
    operation: &str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Some(format!(
            "{operation} acted although asked to run dry: the endpoint does not honour DryRun"
        )),
        Err(e) => {
            let error = sdk_error(operation, e);
            (error.code.as_deref() != Some("DryRunOperation")).then(|| error.message().to_owned())
        }
    }
}

/// The error of a failed SDK call of `operation`.
pub fn sdk_error<E>(operation: &str, error: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let message = e.message().map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "HTTP {} with no AWS error message",
                    service.raw().status().as_u16()
                )
            });
            AwsError::new(
                operation,
                Some(code),
                classify(code, &message),
                format!("{operation} failed: {code}: {message}"),
            )
        }
        SdkError::TimeoutError(_) => AwsError::new(
            operation,
            None,
            ErrorKind::Unavailable,
            format!(
                "{operation} timed out; check the network path to AWS and operation_timeout_secs"
            ),
        ),
        _ if no_credentials(&error_chain(&error)) => AwsError {
            retryable: false,
            ..AwsError::new(operation, None, ErrorKind::Auth, NO_CREDENTIALS.to_owned())
        },
        SdkError::DispatchFailure(_) => AwsError::new(
            operation,
            None,
            ErrorKind::Unavailable,
            format!("{operation} could not be sent: {}", error_chain(&error)),
        ),
        SdkError::ConstructionFailure(_) => AwsError {
            retryable: false,
            ..AwsError::new(
                operation,
                None,
                ErrorKind::Validation,
                format!("{operation} could not be built: {}", error_chain(&error)),
            )
        },
        _ => AwsError::new(
            operation,
            None,
            ErrorKind::Internal,
            format!("{operation} failed: {}", error_chain(&error)),
        ),
    }
}

/// What a call says when the SDK's credential chain found nothing.
const NO_CREDENTIALS: &str = "no credentials found: set AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, or choose a profile (the instance's profile or AWS_PROFILE), or a \
role_arn; on EC2, give the instance a role";

/// Whether an SDK error's text is its credential chain's finding nothing: the chain ends
/// with the instance metadata service, whose error would name neither credentials nor what to
/// do.
fn no_credentials(chain: &str) -> bool {
    [
        "failed to load credentials",
        "provided credentials",
        "IMDS",
        "credentials provider",
    ]
    .iter()
    .any(|marker| chain.contains(marker))
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
        assert_eq!(
            classify(
                "ValidationError",
                "AutoScalingGroup name not found - no such group"
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify("ValidationError", "MinSize is above MaxSize"),
            ErrorKind::Validation
        );
        assert!(ErrorKind::Throttling.default_retryable());
        assert!(!ErrorKind::Auth.default_retryable());
    }
}
