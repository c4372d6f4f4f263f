//! The data that crosses the plugin boundary.
//!
//! Every type here is a plain serde type; it crosses the boundary as JSON. Field names are
//! camelCase, as in Symphony Host Factory's dialect, so a [`Template`] is exactly the object an
//! operator writes in a templates file. Optional fields may be added in any release: unknown
//! fields are ignored and missing ones take their defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A machine template, as merged by the host from the templates file and its defaults.
///
/// Provider-specific fields (`imageId`, `vmType`, `subnetIds`, ...) stay in [`Template::fields`]
/// in the Host Factory dialect; each provider reads the ones it knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Unique template id.
    pub template_id: String,
    /// Most machines (or capacity units) this template may have at once; -1 is unlimited.
    #[serde(default = "unlimited")]
    pub max_number: i64,
    /// The provider API (handler) to provision with, e.g. `EC2Fleet` or `RunInstances`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_api: Option<String>,
    /// Every other field of the template, as written.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

fn unlimited() -> i64 {
    -1
}

impl Template {
    /// A string field of the template, if present and a string.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The field `key` as `T`, `None` when absent; a field of another shape is a validation
    /// error naming the template and the field.
    pub fn field<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, crate::ProviderError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|e| {
                crate::ProviderError::validation(format!(
                    "template '{}': field {key}: {e}",
                    self.template_id
                ))
            }),
        }
    }

    /// The template's `instanceTags`, written as an object, as `key=value;key=value`, or as
    /// the Python ORB writes them, a JSON object in a string.
    pub fn instance_tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        match self.fields.get("instanceTags") {
            // The Python ORB writes them as a JSON object in a string.
            Some(Value::String(text)) if text.trim_start().starts_with('{') => {
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
                    for (k, v) in map {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        tags.insert(k, v);
                    }
                }
            }
            Some(Value::String(pairs)) => {
                for pair in pairs.split(';').filter(|p| !p.trim().is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    tags.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let v = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    tags.insert(k.clone(), v);
                }
            }
            _ => {}
        }
        tags
    }
}

/// The tags orb's providers put on everything they make, so that orb finds it again and never
/// touches what is not its own.
pub mod tags {
    /// The tag naming the request a machine (or fleet, group, template) was made for.
    pub const REQUEST: &str = "orb:request-id";
    /// The tag naming the template.
    pub const TEMPLATE: &str = "orb:template-id";
    /// The tag naming the provider instance.
    pub const PROVIDER: &str = "orb:provider-instance";
    /// The tag every resource orb makes carries, with the value `orb`.
    pub const MANAGED: &str = "orb:managed-by";
}

impl ProvisionRequest {
    /// The tags of what a provider makes for this request: the template's `instanceTags`,
    /// then orb's own [`tags`] naming the request, template and `provider_instance`.
    pub fn tags(&self, provider_instance: &str) -> BTreeMap<String, String> {
        let mut tags = self.template.instance_tags();
        tags.insert(tags::REQUEST.into(), self.request_id.clone());
        tags.insert(tags::TEMPLATE.into(), self.template.template_id.clone());
        tags.insert(tags::PROVIDER.into(), provider_instance.into());
        tags.insert(tags::MANAGED.into(), "orb".into());
        tags
    }
}

/// Asks a provider to provision machines for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionRequest {
    /// The host's request id; providers tag what they create with it and derive idempotency
    /// tokens from it, so that a retried call never provisions twice.
    pub request_id: String,
    /// The template to provision from.
    pub template: Template,
    /// How many machines (or capacity units) to provision.
    pub count: u32,
    /// 0 for the request itself; 1, 2... for a top-up of what an earlier attempt of the same
    /// request could not provide (since interface 1.4). Providers derive their idempotency
    /// tokens from the request id and this, and tag what they make with the request id alone.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a provider started for a [`ProvisionRequest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionResult {
    /// Cloud resources created for the request (fleet id, group name, reservation id...).
    #[serde(default)]
    pub resource_ids: Vec<String>,
    /// Machines known already; asynchronous APIs may return none and report them on later
    /// status calls.
    #[serde(default)]
    pub machines: Vec<Machine>,
    /// Capacity that could not be provisioned, and why. Partial fulfilment is an outcome, not
    /// an error: the request goes on with the machines that were provisioned.
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// A short human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Capacity that could not be provisioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// How many machines (or units) this failure accounts for.
    pub count: u32,
    /// The kind of failure.
    pub kind: crate::ErrorKind,
    /// The provider's error code, when it has one (e.g. `InsufficientInstanceCapacity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// The state of a machine, as the provider sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MachineState {
    /// Being created.
    Pending,
    /// Up.
    Running,
    /// Being stopped.
    Stopping,
    /// Stopped; can be started again.
    Stopped,
    /// Being terminated.
    ShuttingDown,
    /// Gone.
    Terminated,
    /// Could not be created.
    Failed,
    /// Any state this version does not know.
    #[serde(other)]
    Unknown,
}

impl MachineState {
    /// The lowercase name used in outputs (`shutting-down`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MachineState::Pending => "pending",
            MachineState::Running => "running",
            MachineState::Stopping => "stopping",
            MachineState::Stopped => "stopped",
            MachineState::ShuttingDown => "shutting-down",
            MachineState::Terminated => "terminated",
            MachineState::Failed => "failed",
            MachineState::Unknown => "unknown",
        }
    }

    /// Whether the machine is gone for good.
    pub fn is_gone(self) -> bool {
        matches!(self, MachineState::Terminated | MachineState::Failed)
    }
}

impl std::fmt::Display for MachineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One machine, as reported by a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// The cloud's id for the machine (`i-...`).
    pub machine_id: String,
    /// Its host name, unique per machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its state.
    pub state: MachineState,
    /// The request it was provisioned for, when the provider knows (from its tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The cloud resource it belongs to (fleet, group, reservation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Private IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    /// Public IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip_address: Option<String>,
    /// Launch time, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<i64>,
    /// Instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// `ondemand` or `spot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_type: Option<String>,
    /// The availability zone it runs in (since interface 1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// When the cloud announced it will reclaim the machine (spot interruption notice),
    /// seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_notice_at: Option<i64>,
    /// Why the machine is in its state, when the provider knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The machine's tags in the cloud.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Machine {
    /// A machine in `state`, with nothing else known yet.
    pub fn new(machine_id: impl Into<String>, state: MachineState) -> Self {
        Machine {
            machine_id: machine_id.into(),
            name: None,
            state,
            request_id: None,
            resource_id: None,
            private_ip_address: None,
            public_ip_address: None,
            launch_time: None,
            instance_type: None,
            price_type: None,
            zone: None,
            reclaim_notice_at: None,
            message: None,
            tags: BTreeMap::new(),
        }
    }

    /// The same machine, provisioned for `request_id`.
    pub fn for_request(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The same machine, carrying `tags` (and the request named by orb's request tag).
    pub fn with_tags(mut self, tags: BTreeMap<String, String>) -> Self {
        if let Some(request) = tags.get(tags::REQUEST) {
            self.request_id.get_or_insert_with(|| request.clone());
        }
        self.tags = tags;
        self
    }
}

impl ProvisionResult {
    /// The answer of a provision that started `machines` (known at once).
    pub fn started(machines: Vec<Machine>) -> Self {
        ProvisionResult {
            machines,
            ..Default::default()
        }
    }
}

impl TerminateRequest {
    /// The ids of the machines to terminate.
    pub fn machine_ids(&self) -> impl Iterator<Item = &str> {
        self.machines.iter().map(|m| m.machine_id.as_str())
    }
}

impl TerminateResult {
    /// The answer of a terminate that started on every machine of `ids`.
    pub fn terminating<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        TerminateResult {
            terminating: ids.into_iter().map(str::to_owned).collect(),
            ..Default::default()
        }
    }
}

/// Asks a provider for the state of machines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusQuery {
    /// Requests whose machines are wanted; providers may find machines by their tags.
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Cloud resources whose machines are wanted (fleets, groups...).
    #[serde(default)]
    pub resource_ids: Vec<String>,
    /// Machines wanted by id.
    #[serde(default)]
    pub machine_ids: Vec<String>,
}

/// The answer to a [`StatusQuery`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    /// Every machine found. A machine asked for by id and absent here no longer exists.
    #[serde(default)]
    pub machines: Vec<Machine>,
}

/// A machine to terminate, with what the host knows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineRef {
    /// The cloud's id for the machine.
    pub machine_id: String,
    /// The request that provisioned it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The cloud resource it belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

/// Asks a provider to terminate machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateRequest {
    /// The host's return request id.
    pub request_id: String,
    /// The machines to terminate.
    pub machines: Vec<MachineRef>,
}

/// What a provider did with a [`TerminateRequest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateResult {
    /// Machines now terminating.
    #[serde(default)]
    pub terminating: Vec<String>,
    /// Machines that were already gone.
    #[serde(default)]
    pub already_gone: Vec<String>,
    /// Machines that could not be terminated, and why.
    #[serde(default)]
    pub failed: Vec<MachineFailure>,
}

/// Asks a provider to cancel an acquire request: to release every cloud resource made for it
/// (fleets, groups, launch templates) so nothing replaces its machines, and to terminate its
/// machines, those already reported and those not reported yet. Calling it twice is safe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    /// The acquire request to cancel.
    pub request_id: String,
    /// The cloud resources its provisioning reported, when it got that far.
    #[serde(default)]
    pub resource_ids: Vec<String>,
    /// Its machines the host knows of; there may be more.
    #[serde(default)]
    pub machine_ids: Vec<String>,
}

/// What a provider did with a [`CancelRequest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelResult {
    /// The request's machines now terminating, as the provider found them.
    #[serde(default)]
    pub terminating: Vec<Machine>,
    /// Cloud resources deleted or cancelled.
    #[serde(default)]
    pub released: Vec<String>,
}

/// A machine an operation failed for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineFailure {
    /// The machine.
    pub machine_id: String,
    /// What went wrong.
    pub message: String,
}

/// What an instance type offers, for the attributes reported to Host Factory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceTypeInfo {
    /// The type's name (`m5.large`).
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Physical cores, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// The CPU architecture (`x86_64`, `arm64`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
}

/// One value a provider counts, for the host's `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSample {
    /// The metric's name (`orb_aws_api_calls_total`).
    pub name: String,
    /// What it is about (`operation` → `DescribeInstances`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// How healthy a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Healthy,
    /// Works in part.
    Degraded,
    /// Does not work.
    Unhealthy,
}

impl HealthStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One check of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// What was checked (`ec2`, `sts`, `state-file`...).
    pub name: String,
    /// Its outcome.
    pub status: HealthStatus,
    /// How long the check took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Details, or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A provider's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The overall status.
    pub status: HealthStatus,
    /// The individual checks.
    #[serde(default)]
    pub checks: Vec<HealthCheck>,
}

impl HealthReport {
    /// A healthy report of one check named `name`.
    pub fn healthy(name: &str) -> Self {
        Self::from_checks(vec![HealthCheck {
            name: name.to_owned(),
            status: HealthStatus::Healthy,
            latency_ms: None,
            detail: None,
        }])
    }

    /// A report whose overall status is the worst of its checks.
    pub fn from_checks(checks: Vec<HealthCheck>) -> Self {
        let status = checks
            .iter()
            .map(|c| c.status)
            .max_by_key(|s| match s {
                HealthStatus::Healthy => 0,
                HealthStatus::Degraded => 1,
                HealthStatus::Unhealthy => 2,
            })
            .unwrap_or(HealthStatus::Healthy);
        HealthReport { status, checks }
    }
}

/// What a provider can place machines in (since interface 1.1): the answer of
/// `describe_infrastructure`, for setting up templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Infrastructure {
    /// Networks, subnets, security groups..., each once.
    #[serde(default)]
    pub resources: Vec<InfrastructureResource>,
}

/// One network resource of [`Infrastructure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureResource {
    /// `network`, `subnet` or `security_group`; other kinds may follow.
    pub kind: String,
    /// The cloud's id (`vpc-...`, `subnet-...`, `sg-...`).
    pub id: String,
    /// Its name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The network it belongs to, for subnets and security groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The availability zone, for subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The address range, for networks and subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// Whether it is the account's default.
    #[serde(default)]
    pub is_default: bool,
}

/// What a provider found in its cloud for setting up (since interface 1.4): the answer of
/// `discover_infrastructure`, what `orb infra discover` shows and `orb init` builds on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// Networks, subnets, security groups, key pairs, images, instance types, roles..., each
    /// once.
    #[serde(default)]
    pub resources: Vec<Discovered>,
}

/// One resource of a [`Discovery`]: an [`InfrastructureResource`], with what else is known of
/// it by kind in `details` (a subnet's `freeAddresses`, an instance type's `zones`, an image
/// parameter's `imageId`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    /// The resource.
    #[serde(flatten)]
    pub resource: InfrastructureResource,
    /// What else is known of it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Discovered {
    /// A resource of `kind` with the `id`, and nothing else known yet.
    pub fn new(kind: &str, id: &str) -> Self {
        Discovered {
            resource: InfrastructureResource {
                kind: kind.to_owned(),
                id: id.to_owned(),
                name: None,
                network: None,
                zone: None,
                cidr: None,
                is_default: false,
            },
            details: BTreeMap::new(),
        }
    }
}

impl From<Infrastructure> for Discovery {
    fn from(found: Infrastructure) -> Self {
        Discovery {
            resources: found
                .resources
                .into_iter()
                .map(|resource| Discovered {
                    resource,
                    details: BTreeMap::new(),
                })
                .collect(),
        }
    }
}

/// Asks a provider to stop or start machines (since interface 1.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerRequest {
    /// The machines.
    pub machines: Vec<MachineRef>,
}

/// What a provider did with a [`PowerRequest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PowerResult {
    /// Machines now stopping (or starting).
    #[serde(default)]
    pub changed: Vec<String>,
    /// Machines that could not be stopped (or started), and why.
    #[serde(default)]
    pub failed: Vec<MachineFailure>,
}

/// A key of an instance's configuration that is accepted without effect (since interface 1.2):
/// the answer of `config_notes`, shown by `orb config show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigNote {
    /// The key's path within the instance's `config` (`batch_sizes`, `tagging.on_tag_failure`).
    pub key: String,
    /// Why it has no effect, and what to use instead where there is something.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keeps_provider_fields_and_defaults_max_number() {
        let t: Template = serde_json::from_str(
            r#"{"templateId":"t1","providerApi":"EC2Fleet","vmType":"t3.medium"}"#,
        )
        .unwrap();
        assert_eq!(t.max_number, -1);
        assert_eq!(t.str_field("vmType"), Some("t3.medium"));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["vmType"], "t3.medium");
        assert_eq!(back["providerApi"], "EC2Fleet");
    }

    #[test]
    fn instance_tags_read_in_each_of_their_spellings() {
        let tags = |value: serde_json::Value| {
            let t: Template = serde_json::from_value(
                serde_json::json!({"templateId": "t", "instanceTags": value}),
            )
            .unwrap();
            t.instance_tags()
        };
        let expected: BTreeMap<String, String> = [("Project", "x"), ("Team", "hpc")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(tags(serde_json::json!("Project=x;Team=hpc")), expected);
        assert_eq!(
            tags(serde_json::json!({"Project": "x", "Team": "hpc"})),
            expected
        );
        assert_eq!(
            tags(serde_json::json!(r#"{"Project": "x", "Team": "hpc"}"#)),
            expected
        );
    }

    #[test]
    fn unknown_machine_state_does_not_fail() {
        let m: Machine =
            serde_json::from_str(r#"{"machineId":"i-1","state":"hibernating"}"#).unwrap();
        assert_eq!(m.state, MachineState::Unknown);
        let m: Machine =
            serde_json::from_str(r#"{"machineId":"i-1","state":"shutting-down"}"#).unwrap();
        assert_eq!(m.state, MachineState::ShuttingDown);
    }

    #[test]
    fn health_is_the_worst_check() {
        let check = |status| HealthCheck {
            name: "x".into(),
            status,
            latency_ms: None,
            detail: None,
        };
        let r = HealthReport::from_checks(vec![
            check(HealthStatus::Healthy),
            check(HealthStatus::Degraded),
        ]);
        assert_eq!(r.status, HealthStatus::Degraded);
        assert_eq!(
            HealthReport::from_checks(vec![]).status,
            HealthStatus::Healthy
        );
    }
}
