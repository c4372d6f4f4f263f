//! The `mock` provider type.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use orb_plugin_api::{
    ErrorKind, Failure, HealthCheck, HealthReport, HealthStatus, Infrastructure,
    InfrastructureResource, InstanceTypeInfo, Machine, MachineFailure, MachineState, PowerRequest,
    PowerResult, Provider, ProviderContext, ProviderError, ProvisionRequest, ProvisionResult,
    StatusQuery, StatusResult, Template, TerminateRequest, TerminateResult,
};

use crate::config::{MockConfig, BUILT_IN_INSTANCE_TYPES};
use crate::state::{MockMachine, StateFile, Timing};

/// A provider whose machines live in a state file.
pub struct MockProvider {
    instance: String,
    config: MockConfig,
    state: StateFile,
}

/// Builds a `mock` provider instance.
pub fn new_mock_provider(ctx: ProviderContext) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(Box::new(MockProvider::new(&ctx)?))
}

/// The mock network's zones, a subnet in each.
const MOCK_ZONES: [&str; 2] = ["mock-1a", "mock-1b"];

impl MockProvider {
    /// A provider for the instance described by `ctx`.
    pub fn new(ctx: &ProviderContext) -> Result<Self, ProviderError> {
        let config: MockConfig = if ctx.config.is_null() {
            MockConfig::default()
        } else {
            ctx.config()?
        };
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ProviderError::config(format!(
                "invalid configuration for provider instance '{}': {}",
                ctx.instance_name,
                problems.join("; ")
            )));
        }
        let path = config.state_file.clone().unwrap_or_else(|| {
            ctx.work_dir
                .join(format!("mock-{}.json", ctx.instance_name))
        });
        Ok(MockProvider {
            instance: ctx.instance_name.clone(),
            state: StateFile::new(path)?,
            config,
        })
    }

    /// Applies `change` to each machine of `request`, under the state file's lock.
    fn power(
        &self,
        request: &PowerRequest,
        change: impl Fn(&mut MockMachine, f64, &Timing) -> Result<(), String>,
    ) -> Result<PowerResult, ProviderError> {
        let now = now();
        let timing = self.timing();
        self.state.update(|state| {
            let mut result = PowerResult::default();
            for target in &request.machines {
                let outcome = match state.machines.get_mut(&target.machine_id) {
                    Some(m) => change(m, now, &timing),
                    None => Err("no such machine".to_owned()),
                };
                match outcome {
                    Ok(()) => result.changed.push(target.machine_id.clone()),
                    Err(message) => result.failed.push(MachineFailure {
                        machine_id: target.machine_id.clone(),
                        message,
                    }),
                }
            }
            Ok(result)
        })
    }

    fn timing(&self) -> Timing {
        Timing {
            pending_seconds: self.config.pending_seconds,
            shutdown_seconds: self.config.shutdown_seconds,
            reclaim_after_seconds: self.config.reclaim_after_seconds,
        }
    }

    /// Applies the configured latency and panics of `operation`.
    fn enter(&self, operation: &str) {
        if self.config.latency_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.config.latency_ms));
        }
        if self.config.panic_in.iter().any(|op| op == operation) {
            panic!("simulated panic in {operation} (mock config panic_in)");
        }
    }

    fn to_machine(&self, m: &MockMachine, now: f64) -> Machine {
        let timing = self.timing();
        let state = m.state_at(now, &timing);
        Machine {
            machine_id: m.machine_id.clone(),
            name: Some(m.name.clone()),
            state,
            request_id: Some(m.request_id.clone()),
            resource_id: Some(resource_id(&m.request_id)),
            private_ip_address: Some(m.private_ip.clone()),
            public_ip_address: None,
            launch_time: Some(m.launched_at as i64),
            instance_type: m.instance_type.clone(),
            price_type: Some(m.price_type.clone()),
            zone: m.zone.clone(),
            reclaim_notice_at: m
                .reclaim_notice_at(&timing)
                .filter(|t| now >= *t)
                .map(|t| t as i64),
            message: match state {
                MachineState::Failed => Some("simulated launch failure".to_owned()),
                _ => None,
            },
            tags: m.tags.clone(),
        }
    }
}

/// The mock's "fleet" id for a request.
fn resource_id(request_id: &str) -> String {
    format!("mock-fleet-{request_id}")
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A deterministic number in [0, 1) for `key`: the same request always fails the same way.
fn unit_hash(key: &str) -> f64 {
    // FNV-1a, then a splitmix finaliser to spread the bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn instance_type(template: &Template) -> Option<String> {
    template.str_field("vmType").map(str::to_owned).or_else(|| {
        template
            .fields
            .get("vmTypes")
            .and_then(|v| v.as_object())
            .and_then(|types| types.keys().next().cloned())
    })
}

impl Provider for MockProvider {
    /// One network with a subnet in each of two zones and a security group.
    fn describe_infrastructure(&self) -> Result<Infrastructure, ProviderError> {
        self.enter("describe_infrastructure");
        let item = |kind: &str, id: &str, zone: Option<&str>| InfrastructureResource {
            kind: kind.to_owned(),
            id: id.to_owned(),
            name: None,
            network: (kind != "network").then(|| "mock-net".to_owned()),
            zone: zone.map(str::to_owned),
            cidr: None,
            is_default: true,
        };
        Ok(Infrastructure {
            resources: vec![
                item("network", "mock-net", None),
                item("subnet", "mock-subnet-a", Some(MOCK_ZONES[0])),
                item("subnet", "mock-subnet-b", Some(MOCK_ZONES[1])),
                item("security_group", "mock-sg", None),
            ],
        })
    }

    /// A small and a large on-demand template, and a spot one, on the mock network.
    fn example_templates(&self) -> Result<Vec<Template>, ProviderError> {
        self.enter("example_templates");
        let example = |id: &str, vm_type: &str, price: &str| {
            serde_json::from_value(serde_json::json!({
                "templateId": id, "maxNumber": 10, "vmType": vm_type, "priceType": price,
                "imageId": "mock-image", "subnetIds": ["mock-subnet-a", "mock-subnet-b"],
                "securityGroupIds": ["mock-sg"]
            }))
            .map_err(|e| ProviderError::internal(format!("an example template: {e}")))
        };
        Ok(vec![
            example("Mock-Small-OnDemand", "m5.large", "ondemand")?,
            example("Mock-Large-OnDemand", "m5.4xlarge", "ondemand")?,
            example("Mock-Small-Spot", "m5.large", "spot")?,
        ])
    }

    fn initialize(&self) -> Result<(), ProviderError> {
        self.enter("initialize");
        self.state.read().map(|_| ())
    }

    fn health_check(&self) -> Result<HealthReport, ProviderError> {
        self.enter("health_check");
        let started = Instant::now();
        let check = match self.state.read() {
            Ok(state) => HealthCheck {
                name: "state-file".into(),
                status: HealthStatus::Healthy,
                latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                detail: Some(format!(
                    "{} ({} machines)",
                    self.state.path().display(),
                    state.machines.len()
                )),
            },
            Err(e) => HealthCheck {
                name: "state-file".into(),
                status: HealthStatus::Unhealthy,
                latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                detail: Some(e.message),
            },
        };
        let mut checks = vec![check];
        if self.config.unavailable {
            checks.push(HealthCheck {
                name: "cloud".into(),
                status: HealthStatus::Unhealthy,
                latency_ms: None,
                detail: Some("simulated outage (mock config unavailable)".into()),
            });
        }
        tracing::debug!(status = checks[0].status.as_str(), "mock health checked");
        Ok(HealthReport::from_checks(checks))
    }

    fn available_templates(&self) -> Result<Vec<Template>, ProviderError> {
        self.enter("available_templates");
        Ok(self.config.templates.clone())
    }

    fn provision_machines(
        &self,
        request: ProvisionRequest,
    ) -> Result<ProvisionResult, ProviderError> {
        self.enter("provision_machines");
        if self.config.unavailable {
            return Err(ProviderError::new(
                ErrorKind::Unavailable,
                "simulated outage: the mock cloud cannot be reached (mock config unavailable)",
            )
            .with_retryable(false));
        }
        let now = now();
        let retryable_errors = self.config.retryable_errors;
        let (launched, result) = self.state.update(|state| {
            // Idempotent: a request already provisioned gets its machines back, never twice.
            let existing: Vec<&MockMachine> = state
                .machines
                .values()
                .filter(|m| m.request_id == request.request_id && m.attempt == request.attempt)
                .collect();
            if !existing.is_empty() {
                let machines = existing.iter().map(|m| self.to_machine(m, now)).collect();
                return Ok(Ok((
                    0,
                    ProvisionResult {
                        resource_ids: vec![resource_id(&request.request_id)],
                        machines,
                        failures: Vec::new(),
                        message: Some("request already provisioned".into()),
                    },
                )));
            }
            state.provision_calls += 1;
            if state.provision_calls <= retryable_errors {
                // The call counter must persist, so the error is the closure's value.
                return Ok(Err(ProviderError::new(
                    ErrorKind::Throttling,
                    format!(
                        "simulated throttling ({} of {retryable_errors} configured)",
                        state.provision_calls
                    ),
                )));
            }
            let capacity = (f64::from(request.count) * self.config.fulfil_ratio).floor() as u32;
            let price_type = request
                .template
                .str_field("priceType")
                .unwrap_or("ondemand")
                .to_owned();
            let instance_type = instance_type(&request.template);
            let tags = request.tags(&self.instance);
            let mut machines = Vec::with_capacity(capacity as usize);
            for index in 0..capacity {
                state.launched += 1;
                let n = state.launched;
                // Ids are unique across instances, as a cloud's are: each instance its own.
                let key = match request.attempt {
                    0 => format!("{}/{}#{index}", self.instance, request.request_id),
                    n => format!("{}/{}~{n}#{index}", self.instance, request.request_id),
                };
                let private_ip =
                    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
                let machine = MockMachine {
                    machine_id: format!(
                        "m-{:016x}",
                        (unit_hash(&key) * (1u64 << 53) as f64) as u64
                    ),
                    request_id: request.request_id.clone(),
                    name: format!("ip-{}.mock.internal", private_ip.replace('.', "-")),
                    private_ip,
                    instance_type: instance_type.clone(),
                    price_type: price_type.clone(),
                    launched_at: now,
                    failed: unit_hash(&format!("fail:{key}")) < self.config.failure_rate,
                    terminate_at: None,
                    attempt: request.attempt,
                    // Placed across the mock network's two zones in turn.
                    zone: Some(MOCK_ZONES[n as usize % MOCK_ZONES.len()].to_owned()),
                    stopped_at: None,
                    tags: tags.clone(),
                };
                machines.push(self.to_machine(&machine, now));
                state.machines.insert(machine.machine_id.clone(), machine);
            }
            let mut failures = Vec::new();
            if capacity < request.count {
                failures.push(Failure {
                    count: request.count - capacity,
                    kind: ErrorKind::Capacity,
                    code: Some("InsufficientInstanceCapacity".into()),
                    message: format!(
                        "simulated capacity shortage: {capacity} of {} machines available",
                        request.count
                    ),
                });
            }
            Ok(Ok((
                capacity,
                ProvisionResult {
                    resource_ids: if capacity > 0 {
                        vec![resource_id(&request.request_id)]
                    } else {
                        Vec::new()
                    },
                    machines,
                    failures,
                    message: None,
                },
            )))
        })??;
        tracing::info!(
            request_id = %request.request_id,
            requested = request.count,
            launched,
            "mock machines launched"
        );
        if launched > 0 && self.config.answer_delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.config.answer_delay_ms));
        }
        Ok(result)
    }

    fn terminate_machines(
        &self,
        request: TerminateRequest,
    ) -> Result<TerminateResult, ProviderError> {
        self.enter("terminate_machines");
        let now = now();
        let timing = self.timing();
        let result = self.state.update(|state| {
            let mut result = TerminateResult::default();
            for target in &request.machines {
                match state.machines.get_mut(&target.machine_id) {
                    Some(m) if !m.state_at(now, &timing).is_gone() && m.terminate_at.is_none() => {
                        m.terminate_at = Some(now);
                        result.terminating.push(m.machine_id.clone());
                    }
                    Some(m) if m.terminate_at.is_some() && !m.state_at(now, &timing).is_gone() => {
                        result.terminating.push(m.machine_id.clone());
                    }
                    _ => result.already_gone.push(target.machine_id.clone()),
                }
            }
            Ok(result)
        })?;
        tracing::info!(
            request_id = %request.request_id,
            terminating = result.terminating.len(),
            already_gone = result.already_gone.len(),
            "mock machines terminating"
        );
        Ok(result)
    }

    /// Stops running machines: stopping, then stopped after `shutdown_seconds`.
    fn stop_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        self.enter("stop_machines");
        self.power(&request, |m, now, timing| match m.state_at(now, timing) {
            MachineState::Running | MachineState::Pending => {
                m.stopped_at = Some(now);
                Ok(())
            }
            MachineState::Stopping | MachineState::Stopped => Ok(()),
            state => Err(format!("cannot stop a machine that is {}", state.as_str())),
        })
    }

    /// Starts stopped machines: pending again, then running after `pending_seconds`.
    fn start_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        self.enter("start_machines");
        self.power(&request, |m, now, timing| match m.state_at(now, timing) {
            MachineState::Stopped => {
                m.stopped_at = None;
                m.launched_at = now;
                Ok(())
            }
            MachineState::Running | MachineState::Pending => Ok(()),
            state => Err(format!("cannot start a machine that is {}", state.as_str())),
        })
    }

    fn machine_status(&self, query: StatusQuery) -> Result<StatusResult, ProviderError> {
        self.enter("machine_status");
        let now = now();
        let state = self.state.read()?;
        let ids: BTreeSet<&str> = query.machine_ids.iter().map(String::as_str).collect();
        let requests: BTreeSet<&str> = query
            .request_ids
            .iter()
            .map(String::as_str)
            .chain(
                query
                    .resource_ids
                    .iter()
                    .filter_map(|r| r.strip_prefix("mock-fleet-")),
            )
            .collect();
        let machines = state
            .machines
            .values()
            .filter(|m| {
                ids.contains(m.machine_id.as_str()) || requests.contains(m.request_id.as_str())
            })
            .map(|m| self.to_machine(m, now))
            .collect::<Vec<_>>();
        tracing::debug!(found = machines.len(), "mock machine status queried");
        Ok(StatusResult { machines })
    }

    /// The template's problems; the mock cloud has room for any count.
    fn check_provision(&self, request: ProvisionRequest) -> Result<Vec<String>, ProviderError> {
        self.enter("check_provision");
        self.validate_template(&request.template)
    }

    /// Machines the mock cloud does not have up.
    fn check_terminate(&self, request: TerminateRequest) -> Result<Vec<String>, ProviderError> {
        self.enter("check_terminate");
        let now = now();
        let timing = self.timing();
        let state = self.state.read()?;
        Ok(request
            .machines
            .iter()
            .filter(|m| {
                state
                    .machines
                    .get(&m.machine_id)
                    .is_none_or(|found| found.state_at(now, &timing).is_gone())
            })
            .map(|m| format!("{}: not up in the mock cloud", m.machine_id))
            .collect())
    }

    fn validate_template(&self, template: &Template) -> Result<Vec<String>, ProviderError> {
        self.enter("validate_template");
        let mut problems = Vec::new();
        if instance_type(template).is_none() {
            problems.push(format!(
                "template '{}': vmType or vmTypes is required",
                template.template_id
            ));
        }
        if template.str_field("imageId").is_none() {
            problems.push(format!(
                "template '{}': imageId is required",
                template.template_id
            ));
        }
        if let Some(price) = template.str_field("priceType") {
            if !matches!(price, "ondemand" | "spot" | "heterogeneous") {
                problems.push(format!(
                    "template '{}': priceType must be ondemand, spot or heterogeneous, not '{price}'",
                    template.template_id
                ));
            }
        }
        tracing::debug!(template = %template.template_id, problems = problems.len(), "mock template validated");
        Ok(problems)
    }

    fn instance_types(&self, names: Vec<String>) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
        self.enter("instance_types");
        Ok(names
            .into_iter()
            .filter_map(|name| {
                let (vcpus, memory_mib) = match self.config.instance_types.get(&name) {
                    Some(t) => (t.vcpus, t.memory_mib),
                    None => BUILT_IN_INSTANCE_TYPES
                        .iter()
                        .find(|(n, _, _)| *n == name)
                        .map(|(_, v, m)| (*v, *m))?,
                };
                Some(InstanceTypeInfo {
                    name,
                    vcpus,
                    cores: Some(vcpus.div_ceil(2)),
                    memory_mib,
                    architecture: Some("x86_64".into()),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orb_plugin_api::MachineRef;
    use serde_json::json;

    fn provider(dir: &std::path::Path, config: serde_json::Value) -> MockProvider {
        MockProvider::new(&ProviderContext {
            provider_type: "mock".into(),
            instance_name: "m1".into(),
            config,
            work_dir: dir.to_owned(),
        })
        .unwrap()
    }

    fn template() -> Template {
        serde_json::from_value(json!({"templateId": "t", "vmType": "m5.large", "imageId": "img-1"}))
            .unwrap()
    }

    fn provision(p: &MockProvider, request_id: &str, count: u32) -> ProvisionResult {
        p.provision_machines(ProvisionRequest {
            attempt: 0,
            request_id: request_id.into(),
            template: template(),
            count,
        })
        .unwrap()
    }

    #[test]
    fn provisioning_is_idempotent_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), json!({}));
        let first = provision(&p, "req-1", 5);
        assert_eq!(first.machines.len(), 5);
        let names: BTreeSet<_> = first.machines.iter().map(|m| m.name.clone()).collect();
        assert_eq!(names.len(), 5);
        let again = provision(&p, "req-1", 5);
        assert_eq!(
            again
                .machines
                .iter()
                .map(|m| &m.machine_id)
                .collect::<BTreeSet<_>>(),
            first
                .machines
                .iter()
                .map(|m| &m.machine_id)
                .collect::<BTreeSet<_>>()
        );
        let status = p
            .machine_status(StatusQuery {
                request_ids: vec!["req-1".into()],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(status.machines.len(), 5);
        assert!(status
            .machines
            .iter()
            .all(|m| m.state == MachineState::Running));
    }

    #[test]
    fn partial_fulfilment_and_failures_follow_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(
            dir.path(),
            json!({"fulfil_ratio": 0.5, "failure_rate": 1.0}),
        );
        let r = provision(&p, "req-2", 4);
        assert_eq!(r.machines.len(), 2);
        assert!(r.machines.iter().all(|m| m.state == MachineState::Failed));
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].count, 2);
        assert_eq!(r.failures[0].kind, ErrorKind::Capacity);
    }

    #[test]
    fn machines_carry_the_templates_tags_and_orbs() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), json!({}));
        let mut t = template();
        t.fields
            .insert("instanceTags".into(), json!("team=hpc; env=prod"));
        let r = p
            .provision_machines(ProvisionRequest {
                attempt: 0,
                request_id: "req-9".into(),
                template: t,
                count: 1,
            })
            .unwrap();
        let tags = &r.machines[0].tags;
        assert_eq!(tags["team"], "hpc");
        assert_eq!(tags["env"], "prod");
        assert_eq!(tags["orb:request-id"], "req-9");
        assert_eq!(tags["orb:provider-instance"], "m1");
    }

    #[test]
    fn retryable_errors_come_first_then_success() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), json!({"retryable_errors": 2}));
        let req = ProvisionRequest {
            attempt: 0,
            request_id: "req-3".into(),
            template: template(),
            count: 1,
        };
        for _ in 0..2 {
            let err = p.provision_machines(req.clone()).unwrap_err();
            assert!(err.retryable);
            assert_eq!(err.kind, ErrorKind::Throttling);
        }
        assert_eq!(p.provision_machines(req).unwrap().machines.len(), 1);
    }

    #[test]
    fn termination_is_reported_once_and_gone_machines_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), json!({"shutdown_seconds": 3600}));
        let id = provision(&p, "req-4", 1).machines[0].machine_id.clone();
        let req = TerminateRequest {
            request_id: "ret-1".into(),
            machines: vec![
                MachineRef {
                    machine_id: id.clone(),
                    request_id: None,
                    resource_id: None,
                },
                MachineRef {
                    machine_id: "m-unknown".into(),
                    request_id: None,
                    resource_id: None,
                },
            ],
        };
        let r = p.terminate_machines(req.clone()).unwrap();
        assert_eq!(r.terminating, vec![id.clone()]);
        assert_eq!(r.already_gone, vec!["m-unknown".to_string()]);
        let state = p
            .machine_status(StatusQuery {
                machine_ids: vec![id.clone()],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(state.machines[0].state, MachineState::ShuttingDown);
    }

    #[test]
    fn bad_config_names_the_key_and_all_problems() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = |config| ProviderContext {
            provider_type: "mock".into(),
            instance_name: "m1".into(),
            config,
            work_dir: dir.path().to_owned(),
        };
        let err = MockProvider::new(&ctx(json!({"pending_secs": 1})))
            .err()
            .unwrap();
        assert!(err.message.contains("pending_secs"), "{}", err.message);
        let err = MockProvider::new(&ctx(json!({"failure_rate": 2, "pending_seconds": -1})))
            .err()
            .unwrap();
        assert!(err.message.contains("failure_rate"), "{}", err.message);
        assert!(err.message.contains("pending_seconds"), "{}", err.message);
    }

    #[test]
    fn validation_reports_every_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path(), json!({}));
        let t: Template =
            serde_json::from_value(json!({"templateId": "bad", "priceType": "cheap"})).unwrap();
        assert_eq!(p.validate_template(&t).unwrap().len(), 3);
        assert!(p.validate_template(&template()).unwrap().is_empty());
    }

    #[test]
    fn instance_types_come_from_config_then_the_built_in_table() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(
            dir.path(),
            json!({"instance_types": {"x9.huge": {"vcpus": 96, "memory_mib": 786432}}}),
        );
        let types = p
            .instance_types(vec![
                "x9.huge".into(),
                "m5.large".into(),
                "nope.small".into(),
            ])
            .unwrap();
        assert_eq!(types.len(), 2);
        assert_eq!((types[0].vcpus, types[0].memory_mib), (96, 786432));
        assert_eq!((types[1].vcpus, types[1].memory_mib), (2, 8192));
    }

    #[test]
    fn hashes_spread_over_the_unit_interval() {
        let values: Vec<f64> = (0..1000).map(|i| unit_hash(&format!("k{i}"))).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let below_half = values.iter().filter(|v| **v < 0.5).count();
        assert!((400..600).contains(&below_half), "{below_half}");
    }
}
