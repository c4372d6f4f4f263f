//! The health of an `aws` instance: EC2, Auto Scaling and STS each answer, timed; and the
//! clock, against the time STS's answer carries (AWS refuses requests signed more than five
//! minutes off).

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};

use orb_plugin_api::{HealthCheck, HealthReport, HealthStatus, ProviderError};

use crate::context::Ctx;
use crate::errors::sdk_error;

/// Checks EC2, Auto Scaling and STS, one call each.
pub async fn check(ctx: &Ctx<'_>) -> HealthReport {
    let c = ctx.clients;
    let ec2 = timed("ec2", async {
        let out = c
            .ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| sdk_error("DescribeAvailabilityZones", e))?;
        Ok(format!(
            "{}: {} availability zones",
            c.region,
            out.availability_zones().len()
        ))
    })
    .await;
    let autoscaling = timed("autoscaling", async {
        c.autoscaling
            .describe_auto_scaling_groups()
            .max_records(1)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeAutoScalingGroups", e))?;
        Ok("reachable".to_owned())
    })
    .await;
    let server_time = ServerTime::default();
    let sts = timed("sts", async {
        let out = c
            .sts
            .get_caller_identity()
            .customize()
            .interceptor(server_time.clone())
            .send()
            .await
            .map_err(|e| sdk_error("GetCallerIdentity", e))?;
        Ok(format!(
            "account {} as {}",
            out.account().unwrap_or("unknown"),
            out.arn().unwrap_or("unknown")
        ))
    })
    .await;
    let clock = clock_check(server_time.read(), SystemTime::now());
    HealthReport::from_checks(vec![ec2, autoscaling, sts, clock])
}

/// Seconds this host's clock may be off AWS's before the check fails: AWS refuses requests
/// signed five minutes off, and a minute is left for the way there.
const MAX_SKEW_SECONDS: f64 = 240.0;

/// The clock check: this host's time `now` against the cloud's `server`, when known.
fn clock_check(server: Option<SystemTime>, now: SystemTime) -> HealthCheck {
    let (status, detail) = match server {
        None => (
            HealthStatus::Degraded,
            "the cloud's time is unknown: no Date in STS's answer".to_owned(),
        ),
        Some(server) => {
            let skew = match now.duration_since(server) {
                Ok(ahead) => ahead.as_secs_f64(),
                Err(behind) => -behind.duration().as_secs_f64(),
            };
            // The Date header has whole seconds.
            let detail = format!("{skew:+.0} s from the cloud's time");
            if skew.abs() > MAX_SKEW_SECONDS {
                (
                    HealthStatus::Unhealthy,
                    format!(
                        "{detail}: AWS refuses requests signed 5 minutes off; set the time (NTP)"
                    ),
                )
            } else {
                (HealthStatus::Healthy, detail)
            }
        }
    };
    HealthCheck {
        name: "clock".into(),
        status,
        latency_ms: None,
        detail: Some(detail),
    }
}

/// Keeps the time in the `Date` header of an answer.
#[derive(Debug, Clone, Default)]
struct ServerTime(Arc<Mutex<Option<SystemTime>>>);

impl ServerTime {
    fn read(&self) -> Option<SystemTime> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for ServerTime {
    fn name(&self) -> &'static str {
        "orb-server-time"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::from_str(d, Format::HttpDate).ok())
            .and_then(|d| SystemTime::try_from(d).ok());
        if date.is_some() {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = date;
        }
        Ok(())
    }
}

/// Times one health check.
async fn timed<F>(name: &str, call: F) -> HealthCheck
where
    F: std::future::Future<Output = Result<String, ProviderError>>,
{
    let started = Instant::now();
    let outcome = call.await;
    let latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match outcome {
        Ok(detail) => HealthCheck {
            name: name.to_owned(),
            status: HealthStatus::Healthy,
            latency_ms,
            detail: Some(detail),
        },
        Err(e) => HealthCheck {
            name: name.to_owned(),
            status: HealthStatus::Unhealthy,
            latency_ms,
            detail: Some(e.message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_clock_minutes_off_fails_and_a_close_one_passes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let close = clock_check(Some(now - Duration::from_secs(2)), now);
        assert_eq!(close.status, HealthStatus::Healthy);
        assert_eq!(close.detail.as_deref(), Some("+2 s from the cloud's time"));
        let behind = clock_check(Some(now + Duration::from_secs(600)), now);
        assert_eq!(behind.status, HealthStatus::Unhealthy);
        assert!(behind.detail.unwrap().starts_with("-600 s"));
        assert_eq!(clock_check(None, now).status, HealthStatus::Degraded);
    }
}
