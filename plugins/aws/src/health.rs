//! The health of an `aws` instance: EC2, Auto Scaling and STS each answer, timed.

use std::time::Instant;

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
    let sts = timed("sts", async {
        let out = c
            .sts
            .get_caller_identity()
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
    HealthReport::from_checks(vec![ec2, autoscaling, sts])
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
