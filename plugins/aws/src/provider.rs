//! The `aws` provider type.
//!
//! It owns a small tokio runtime and blocks on it in each provider method (the host calls
//! providers from blocking threads; async work never crosses the plugin boundary).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use aws_sdk_ec2::types::{Instance, InstanceStateName};
use orb_plugin_api::{
    CancelRequest, CancelResult, ErrorKind, HealthCheck, HealthReport, HealthStatus,
    InstanceTypeInfo, Machine, MachineFailure, MachineState, MetricSample, Provider,
    ProviderContext, ProviderError, ProvisionRequest, ProvisionResult, StatusQuery, StatusResult,
    Template, TerminateRequest, TerminateResult,
};
use tokio::runtime::Runtime;

use crate::clients::{clients, sdk_config, Clients};
use crate::config::AwsConfig;
use crate::context::{Ctx, Plan};
use crate::errors::sdk_error;
use crate::handlers;
use crate::instances::{by_ids, by_requests, request_tags, to_machine};
use crate::template::AwsTemplate;

/// An `aws` provider instance.
pub struct AwsProvider {
    instance: String,
    config: AwsConfig,
    clients: Clients,
    runtime: Runtime,
}

/// Builds an `aws` provider instance.
pub fn new_aws_provider(ctx: ProviderContext) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(Box::new(AwsProvider::new(&ctx)?))
}

impl AwsProvider {
    /// A provider for the instance described by `ctx`.
    pub fn new(ctx: &ProviderContext) -> Result<Self, ProviderError> {
        let config: AwsConfig = if ctx.config.is_null() {
            AwsConfig::default()
        } else {
            ctx.config()?
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orb-aws")
            .enable_all()
            .build()
            .map_err(|e| ProviderError::internal(format!("cannot start the AWS runtime: {e}")))?;
        let sdk = runtime.block_on(sdk_config(&config, &ctx.instance_name))?;
        Ok(AwsProvider {
            instance: ctx.instance_name.clone(),
            clients: clients(&sdk),
            config,
            runtime,
        })
    }

    /// A provider over ready-made clients (for tests through canned HTTP answers).
    #[cfg(test)]
    pub(crate) fn with_clients(clients: Clients) -> Self {
        AwsProvider {
            instance: "aws-test".into(),
            config: AwsConfig::default(),
            clients,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            clients: &self.clients,
            config: &self.config,
            instance: &self.instance,
        }
    }

    /// The AMI `image` names: itself, or the value of the SSM parameter it is the path of.
    async fn resolve_image(&self, image: &str) -> Result<String, ProviderError> {
        let path = image.strip_prefix("resolve:ssm:").unwrap_or(image);
        if !path.starts_with('/') {
            return Ok(image.to_owned());
        }
        let out = self
            .clients
            .ssm
            .get_parameter()
            .name(path)
            .send()
            .await
            .map_err(|e| sdk_error("GetParameter", e))?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_owned)
            .ok_or_else(|| {
                ProviderError::validation(format!("SSM parameter {path} holds no image id"))
            })
    }

    /// When the cloud announced it will reclaim each spot instance of `instances` (its spot
    /// request is `marked-for-termination`): one call for all of them.
    async fn reclaim_notices(
        &self,
        instances: &[Instance],
    ) -> Result<HashMap<String, i64>, ProviderError> {
        let requests: Vec<String> = instances
            .iter()
            .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
            .filter_map(|i| i.spot_instance_request_id().map(str::to_owned))
            .collect();
        if requests.is_empty() {
            return Ok(HashMap::new());
        }
        let out = self
            .clients
            .ec2
            .describe_spot_instance_requests()
            .set_spot_instance_request_ids(Some(requests))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSpotInstanceRequests", e))?;
        Ok(out
            .spot_instance_requests()
            .iter()
            .filter_map(|r| {
                let status = r.status()?;
                (status.code() == Some("marked-for-termination"))
                    .then(|| Some((r.instance_id()?.to_owned(), status.update_time()?.secs())))?
            })
            .collect())
    }

    async fn status(&self, query: StatusQuery) -> Result<StatusResult, ProviderError> {
        let ec2 = &self.clients.ec2;
        let mut instances = if query.request_ids.is_empty() {
            Vec::new()
        } else {
            by_requests(ec2, &query.request_ids).await?
        };
        let found: HashSet<String> = instances
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
        let rest: Vec<String> = query
            .machine_ids
            .into_iter()
            .filter(|id| !found.contains(id))
            .collect();
        if !rest.is_empty() {
            instances.extend(by_ids(ec2, &rest).await?);
        }
        let mut machines: Vec<Machine> = instances.iter().map(to_machine).collect();
        // Reclaim notices enrich the answer; without them it is still right about states.
        let notices = self.reclaim_notices(&instances).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read spot reclaim notices");
            HashMap::new()
        });
        for m in &mut machines {
            m.reclaim_notice_at = notices.get(&m.machine_id).copied();
        }
        Ok(StatusResult { machines })
    }

    async fn terminate(&self, request: TerminateRequest) -> Result<TerminateResult, ProviderError> {
        let ids: Vec<String> = request
            .machines
            .iter()
            .map(|m| m.machine_id.clone())
            .collect();
        let known: HashMap<String, Machine> = by_ids(&self.clients.ec2, &ids)
            .await?
            .iter()
            .map(|i| {
                (
                    i.instance_id().unwrap_or_default().to_owned(),
                    to_machine(i),
                )
            })
            .collect();
        let mut result = TerminateResult::default();
        // Group by resource (a fleet, a group, or none) and request.
        let mut groups: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
        for target in &request.machines {
            match known.get(&target.machine_id) {
                Some(m) if !m.state.is_gone() && m.state != MachineState::ShuttingDown => {
                    let resource = m
                        .resource_id
                        .clone()
                        .or(target.resource_id.clone())
                        .unwrap_or_default();
                    let request_id = m.request_id.clone().or(target.request_id.clone());
                    groups
                        .entry((resource, request_id))
                        .or_default()
                        .push(target.machine_id.clone());
                }
                Some(m) if m.state == MachineState::ShuttingDown => {
                    result.terminating.push(target.machine_id.clone())
                }
                _ => result.already_gone.push(target.machine_id.clone()),
            }
        }
        let ctx = self.ctx();
        for ((resource, request_id), machines) in groups {
            match handlers::release(&ctx, &resource, request_id.as_deref(), &machines).await {
                Ok(()) => result.terminating.extend(machines),
                Err(e) => {
                    result
                        .failed
                        .extend(machines.into_iter().map(|machine_id| MachineFailure {
                            machine_id,
                            message: e.message.clone(),
                        }))
                }
            }
        }
        Ok(result)
    }

    async fn validate(&self, template: &Template) -> Vec<String> {
        let t = match AwsTemplate::parse(template, &self.config) {
            Ok(t) => t,
            Err(problems) => return problems,
        };
        let id = &t.template_id;
        let ec2 = &self.clients.ec2;
        let mut problems = Vec::new();
        if t.launch_template_id.is_none() {
            match self.resolve_image(&t.image).await {
                Ok(image) => match ec2.describe_images().image_ids(&image).send().await {
                    Ok(out) if out.images().is_empty() => {
                        problems.push(format!("template '{id}': image {image} does not exist"))
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(format!(
                        "template '{id}': image {image}: {}",
                        sdk_error("DescribeImages", e).message().to_owned()
                    )),
                },
                Err(e) => problems.push(format!(
                    "template '{id}': imageId {}: {}",
                    t.image, e.message
                )),
            }
        }
        let types: Vec<String> = t.vm_types.iter().map(|(n, _)| n.clone()).collect();
        match self.describe_types(&types).await {
            Ok(known) => {
                for name in types
                    .iter()
                    .filter(|n| !known.iter().any(|k| &k.name == *n))
                {
                    problems.push(format!(
                        "template '{id}': instance type {name} does not exist in {}",
                        self.clients.region
                    ));
                }
            }
            Err(e) => problems.push(format!(
                "template '{id}': instance types {types:?}: {}",
                e.message
            )),
        }
        if !t.subnets.is_empty() {
            if let Err(e) = ec2
                .describe_subnets()
                .set_subnet_ids(Some(t.subnets.clone()))
                .send()
                .await
            {
                problems.push(format!(
                    "template '{id}': subnets {:?}: {}",
                    t.subnets,
                    sdk_error("DescribeSubnets", e).message().to_owned()
                ));
            }
        }
        if !t.security_groups.is_empty() {
            if let Err(e) = ec2
                .describe_security_groups()
                .set_group_ids(Some(t.security_groups.clone()))
                .send()
                .await
            {
                problems.push(format!(
                    "template '{id}': security groups {:?}: {}",
                    t.security_groups,
                    sdk_error("DescribeSecurityGroups", e).message().to_owned()
                ));
            }
        }
        if let Some(role) = &t.fleet_role {
            if !(role.starts_with("arn:aws") && role.contains(":role/")) {
                problems.push(format!("template '{id}': fleetRole '{role}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"));
            }
        }
        problems
    }

    async fn describe_types(
        &self,
        names: &[String],
    ) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .clients
            .ec2
            .describe_instance_types()
            .set_instance_types(Some(names.iter().map(|n| n.as_str().into()).collect()))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // One unknown type fails the call: none of them is reported.
            Err(e) => {
                let error = sdk_error("DescribeInstanceTypes", e);
                return if error.kind == ErrorKind::Validation {
                    Ok(Vec::new())
                } else {
                    Err(error.into())
                };
            }
        };
        Ok(out
            .instance_types()
            .iter()
            .filter_map(|t| {
                Some(InstanceTypeInfo {
                    name: t.instance_type()?.as_str().to_owned(),
                    vcpus: t.v_cpu_info()?.default_v_cpus()? as u32,
                    cores: t
                        .v_cpu_info()
                        .and_then(|v| v.default_cores())
                        .map(|c| c as u32),
                    memory_mib: t.memory_info()?.size_in_mib()? as u64,
                    architecture: t
                        .processor_info()
                        .and_then(|p| p.supported_architectures().first())
                        .map(|a| a.as_str().to_owned()),
                })
            })
            .collect())
    }
}

/// Times one health check.
async fn check<F>(name: &str, call: F) -> HealthCheck
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

impl Provider for AwsProvider {
    fn provider_type(&self) -> &str {
        "aws"
    }

    fn health_check(&self) -> Result<HealthReport, ProviderError> {
        let c = &self.clients;
        self.runtime.block_on(async {
            let ec2 = check("ec2", async {
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
            let autoscaling = check("autoscaling", async {
                c.autoscaling
                    .describe_auto_scaling_groups()
                    .max_records(1)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeAutoScalingGroups", e))?;
                Ok("reachable".to_owned())
            })
            .await;
            let sts = check("sts", async {
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
            Ok(HealthReport::from_checks(vec![ec2, autoscaling, sts]))
        })
    }

    fn provision_machines(
        &self,
        request: ProvisionRequest,
    ) -> Result<ProvisionResult, ProviderError> {
        let template = AwsTemplate::parse(&request.template, &self.config)
            .map_err(|problems| ProviderError::validation(problems.join("; ")))?;
        self.runtime.block_on(async {
            let image_id = match &template.launch_template_id {
                Some(_) => template.image.clone(),
                None => self.resolve_image(&template.image).await?,
            };
            let plan = Plan {
                tags: request_tags(
                    &template.tags,
                    &request.request_id,
                    &template.template_id,
                    &self.instance,
                ),
                request_id: request.request_id.clone(),
                count: request.count,
                image_id,
                template,
            };
            handlers::provision(&self.ctx(), &plan).await
        })
    }

    fn terminate_machines(
        &self,
        request: TerminateRequest,
    ) -> Result<TerminateResult, ProviderError> {
        self.runtime.block_on(self.terminate(request))
    }

    fn machine_status(&self, query: StatusQuery) -> Result<StatusResult, ProviderError> {
        self.runtime.block_on(self.status(query))
    }

    fn validate_template(&self, template: &Template) -> Result<Vec<String>, ProviderError> {
        Ok(self.runtime.block_on(self.validate(template)))
    }

    fn instance_types(&self, names: Vec<String>) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
        self.runtime.block_on(self.describe_types(&names))
    }

    fn cancel_request(&self, request: CancelRequest) -> Result<CancelResult, ProviderError> {
        self.runtime
            .block_on(crate::cancel::cancel(&self.ctx(), &request))
    }

    fn metrics(&self) -> Result<Vec<MetricSample>, ProviderError> {
        let calls = self.clients.calls.lock().unwrap_or_else(|p| p.into_inner());
        Ok(calls
            .iter()
            .map(|((service, operation), n)| MetricSample {
                name: "orb_aws_api_calls_total".into(),
                labels: [
                    ("service".to_owned(), service.clone()),
                    ("operation".to_owned(), operation.clone()),
                ]
                .into(),
                value: *n as f64,
            })
            .collect())
    }
}
