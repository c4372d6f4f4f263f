//! The one place AWS SDK clients are built: region resolved up front with a clear error,
//! credentials from the standard chain (or static keys, or a role assumed through STS), the
//! endpoint override, one retry policy (exponential backoff with jitter, within the operation
//! timeout), an interceptor that logs every call by operation so calls can be counted, and
//! pacing: the interceptor names each attempt's API on its HTTP request, and the HTTP client
//! waits for that API's token (see [`crate::pacing`]) before sending it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime::client::defaults::default_http_client_plugin_v2;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use orb_plugin_api::ProviderError;

use crate::config::AwsConfig;
use crate::pacing::Pacer;

/// AWS calls made so far, by (service, operation).
pub type CallCounts = Arc<Mutex<BTreeMap<(String, String), u64>>>;

/// The clients of one provider instance.
#[derive(Debug, Clone)]
pub struct Clients {
    /// AWS calls made through these clients.
    pub calls: CallCounts,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// Auto Scaling.
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// STS (the account, for health checks).
    pub sts: aws_sdk_sts::Client,
    /// SSM (image ids given as parameter paths).
    pub ssm: aws_sdk_ssm::Client,
    /// The region in use.
    pub region: String,
}

/// Logs every AWS call at debug level (`aws call service=... operation=...`, once whatever its
/// retries, and `aws call answered` with its time), and every attempt at trace level.
#[derive(Debug)]
struct CallLog(CallCounts);

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "orb-call-log"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            tracing::debug!(service = m.service(), operation = m.name(), "aws call");
            let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
            *calls
                .entry((m.service().to_owned(), m.name().to_owned()))
                .or_default() += 1;
        }
        cfg.interceptor_state()
            .store_put(CallStarted(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(m), Some(started)) = (cfg.load::<Metadata>(), cfg.load::<CallStarted>()) {
            tracing::debug!(
                api = m.name(),
                elapsed_us = started.0.elapsed().as_micros() as u64,
                "aws call answered"
            );
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            tracing::trace!(service = m.service(), operation = m.name(), "aws attempt");
            context.request_mut().add_extension(Api {
                service: m.service().to_owned(),
                operation: m.name().to_owned(),
            });
        }
        Ok(())
    }
}

/// When a call was made, kept for its answer's log line.
#[derive(Debug, Clone)]
struct CallStarted(Instant);

impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}

/// The API an HTTP request calls, as the call log names it on the request.
#[derive(Debug, Clone)]
struct Api {
    service: String,
    operation: String,
}

/// An HTTP client whose requests wait for their API's token first.
#[derive(Debug, Clone)]
struct PacedClient {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(api) = request.extension::<Api>().cloned() else {
            return self.inner.call(request);
        };
        let (inner, pacer) = (self.inner.clone(), self.pacer.clone());
        HttpConnectorFuture::new(async move {
            pacer.take(&api.service, &api.operation).await;
            inner.call(request).await
        })
    }
}

/// The SDK configuration of `config`.
pub async fn sdk_config(config: &AwsConfig, instance: &str) -> Result<SdkConfig, ProviderError> {
    let env_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|r| !r.is_empty()));
    if config.region.is_none() && config.profile.is_none() && !env_region {
        return Err(ProviderError::config(format!(
            "provider instance '{instance}' has no AWS region: set region in its config, ORB_AWS_REGION or AWS_REGION"
        )));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(config.max_retries() + 1)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(
                    config.connect_timeout_secs.unwrap_or(10),
                ))
                .operation_timeout(Duration::from_secs(
                    config.operation_timeout_secs.unwrap_or(90),
                ))
                .build(),
        );
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(profile) = config.profile.clone().or_else(|| env("AWS_PROFILE")) {
        profile_exists(
            &profile,
            &shared_file(env("AWS_CONFIG_FILE"), "config"),
            &shared_file(env("AWS_SHARED_CREDENTIALS_FILE"), "credentials"),
        )?;
    }
    match (&config.access_key_id, &config.secret_access_key) {
        (Some(key), Some(secret)) => {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret,
                config.session_token.clone(),
                None,
                "orb-provider-config",
            ))
        }
        (None, None) => {}
        _ => {
            return Err(ProviderError::config(format!(
                "provider instance '{instance}': access_key_id and secret_access_key go together"
            )))
        }
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(ProviderError::config(format!(
            "provider instance '{instance}' has no AWS region: its profile sets none; set region in its config"
        )));
    }
    let Some(role) = &config.role_arn else {
        return Ok(sdk);
    };
    let mut assume = AssumeRoleProvider::builder(role)
        .session_name(format!("orb-{instance}"))
        .configure(&sdk);
    if let Some(external_id) = &config.external_id {
        assume = assume.external_id(external_id);
    }
    let provider = assume.build().await;
    Ok(sdk
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// The clients of `sdk`, their calls paced by `pacer`.
pub fn clients(sdk: &SdkConfig, pacer: Pacer) -> Clients {
    let calls = CallCounts::default();
    let log = || CallLog(calls.clone());
    // The SDK picks its HTTP client when a client is built; the same default, picked here,
    // is what pacing wraps.
    let inner = sdk.http_client().or_else(|| {
        default_http_client_plugin_v2(BehaviorVersion::latest())?
            .runtime_components(&RuntimeComponentsBuilder::new("orb-pacing"))
            .http_client()
    });
    let sdk = &match inner {
        Some(inner) => sdk
            .to_builder()
            .http_client(PacedClient {
                inner,
                pacer: Arc::new(pacer),
            })
            .build(),
        None => sdk.clone(),
    };
    Clients {
        ec2: aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(sdk)
                .interceptor(log())
                .build(),
        ),
        autoscaling: aws_sdk_autoscaling::Client::from_conf(
            aws_sdk_autoscaling::config::Builder::from(sdk)
                .interceptor(log())
                .build(),
        ),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(sdk)
                .interceptor(log())
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(sdk)
                .interceptor(log())
                .build(),
        ),
        region: sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default(),
        calls,
    }
}

/// A shared AWS file: the one its variable names, else `~/.aws/<name>`.
fn shared_file(named: Option<String>, name: &str) -> std::path::PathBuf {
    named.map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(&std::env::var("HOME").unwrap_or_default())
            .join(".aws")
            .join(name)
    })
}

/// Whether `profile` is in the shared `config` (`[profile NAME]`, or `[default]`) or
/// `credentials` (`[NAME]`) file: the SDK, not finding it, goes on down its chain and ends in
/// an error about the instance metadata service, which names no profile.
fn profile_exists(
    profile: &str,
    config: &std::path::Path,
    credentials: &std::path::Path,
) -> Result<(), ProviderError> {
    let sections = |path: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']').map(str::trim))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let in_config = sections(config)
        .iter()
        .any(|s| *s == format!("profile {profile}") || (profile == "default" && s == "default"));
    let in_credentials = sections(credentials).iter().any(|s| s == profile);
    if in_config || in_credentials {
        return Ok(());
    }
    Err(ProviderError::config(format!(
        "profile '{profile}' not found in {} or {}: name one they hold, or set AWS_CONFIG_FILE \
         and AWS_SHARED_CREDENTIALS_FILE to the files that hold it",
        config.display(),
        credentials.display()
    )))
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn a_profile_is_found_in_either_file_or_named_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let credentials = dir.path().join("credentials");
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n[profile  hpc ]\nregion = eu-west-1\n",
        )
        .unwrap();
        std::fs::write(&credentials, "[ci]\naws_access_key_id = x\n").unwrap();
        for found in ["default", "hpc", "ci"] {
            profile_exists(found, &config, &credentials).unwrap();
        }
        let e = profile_exists("nope", &config, &credentials).unwrap_err();
        assert!(
            e.message.contains("profile 'nope' not found in"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains(config.to_str().unwrap()),
            "{}",
            e.message
        );
        let none = dir.path().join("absent");
        assert!(profile_exists("default", &none, &none).is_err());
    }
}
