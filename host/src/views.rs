//! What the operator CLI and the REST API show of orb's state: one typed struct per answer,
//! serialised the same way by both, and described in the OpenAPI document by the same types.
//! Host Factory's own shapes are in [`crate::hostfactory::output`].

use std::time::{Duration, UNIX_EPOCH};

use orb_plugin_api::Template;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::broker::{CancelReport, ReturnSummary};
use crate::config::ProviderInstanceConfig;
use crate::domain::{CircuitState, MachineRecord, Request};
use crate::plugins::PluginSet;

/// A view as JSON: views hold only strings, numbers and lists, so this cannot fail.
pub fn to_json(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("views serialize to JSON")
}

/// Seconds since the epoch as an RFC 3339 time.
pub fn time(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64))
        .to_string()
}

/// A stored request, as listings show it.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestSummary {
    /// The request id (`req-...` for acquires, `ret-...` for returns).
    pub request_id: String,
    /// `acquire` or `return`.
    pub kind: &'static str,
    /// `running`, `complete` or `complete_with_error`.
    pub status: &'static str,
    /// The template of an acquire.
    pub template_id: Option<String>,
    /// How many machines it asked for (an acquire) or names (a return).
    pub machines: u32,
    /// The provider instance that serves it.
    pub provider_name: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// What happened to it.
    pub message: String,
}

impl From<&Request> for RequestSummary {
    fn from(r: &Request) -> Self {
        RequestSummary {
            request_id: r.request_id.clone(),
            kind: r.kind.as_str(),
            status: r.status.as_str(),
            template_id: r.template_id.clone(),
            machines: r.requested,
            provider_name: r.provider_instance.clone(),
            created_at: time(r.created_at),
            message: r.message.clone(),
        }
    }
}

/// What a cancellation did: the request as stored now, the return request tracking its
/// machines, and whether its provision is still in flight (it undoes itself when it ends).
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelAnswer {
    /// The request, as stored now.
    #[serde(flatten)]
    pub request: RequestSummary,
    /// Always true.
    pub cancelled: bool,
    /// Whether its provision is still in flight; it undoes what it made when it ends.
    pub in_flight: bool,
    /// Machines now terminating.
    pub terminating: usize,
    /// Cloud resources deleted or cancelled.
    pub released_resources: Vec<String>,
    /// The return request tracking the termination of its machines.
    pub return_request_id: Option<String>,
}

impl From<&CancelReport> for CancelAnswer {
    fn from(c: &CancelReport) -> Self {
        CancelAnswer {
            request: RequestSummary::from(&c.request),
            cancelled: true,
            in_flight: c.in_flight,
            terminating: c.terminating,
            released_resources: c.released.clone(),
            return_request_id: c.return_request_id.clone(),
        }
    }
}

/// A stored machine, as listings show it.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineSummary {
    /// The provider's id of the machine.
    pub machine_id: String,
    /// Its host name.
    pub name: Option<String>,
    /// `pending`, `running`, `shutting-down`, `terminated`...
    pub status: &'static str,
    /// The acquire request that made it.
    pub request_id: String,
    /// The return request that claims it.
    pub return_request_id: Option<String>,
    /// The template it was made from.
    pub template_id: Option<String>,
    /// Its private address.
    pub private_ip_address: Option<String>,
    /// Its instance type.
    pub instance_type: Option<String>,
    /// The availability zone it runs in, when its provider says.
    pub zone: Option<String>,
    /// When it was launched (RFC 3339).
    pub launch_time: Option<String>,
}

impl From<&MachineRecord> for MachineSummary {
    fn from(m: &MachineRecord) -> Self {
        MachineSummary {
            machine_id: m.machine_id.clone(),
            name: m.name.clone(),
            status: m.state.as_str(),
            request_id: m.request_id.clone(),
            return_request_id: m.return_request_id.clone(),
            template_id: m.template_id.clone(),
            private_ip_address: m.private_ip.clone(),
            instance_type: m.instance_type.clone(),
            zone: m.zone.clone(),
            launch_time: m.launch_time.map(time),
        }
    }
}

/// A configured provider instance and the plugin that offers its type.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSummary {
    /// The instance's name.
    pub name: String,
    /// Its provider type.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// Whether it serves requests.
    pub enabled: bool,
    /// Lower is preferred.
    pub priority: i64,
    /// Its share of requests among instances of equal priority.
    pub weight: u32,
    /// `<plugin name> <version>`, when a loaded plugin offers the type.
    pub plugin: Option<String>,
    /// The plugin interface version that plugin was built against.
    pub interface: Option<String>,
    /// `ready`, `disabled`, or `no plugin offers this type`.
    pub status: &'static str,
    /// Its circuit breaker: `closed`, `open` (skipped) or `half_open` (may be tried again).
    pub circuit: &'static str,
    /// Its failures in a row that count towards opening the circuit.
    pub failures: u32,
}

/// `{"providers": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// In configuration order.
    pub providers: Vec<ProviderSummary>,
}

impl ProviderList {
    /// The configured `instances`, with the plugin of `plugins` that offers each one's type
    /// and the state of its circuit among `circuits` (closed when absent).
    pub fn of(
        instances: &[ProviderInstanceConfig],
        plugins: &PluginSet,
        circuits: &[(String, CircuitState, u32)],
    ) -> Self {
        let providers = instances
            .iter()
            .map(|p| {
                let plugin = plugins.for_type(&p.provider_type);
                let (circuit, failures) = circuits
                    .iter()
                    .find(|(name, _, _)| *name == p.name)
                    .map_or((CircuitState::Closed, 0), |(_, state, n)| (*state, *n));
                ProviderSummary {
                    name: p.name.clone(),
                    provider_type: p.provider_type.clone(),
                    enabled: p.enabled,
                    priority: p.priority,
                    weight: p.weight,
                    plugin: plugin.map(|pl| format!("{} {}", pl.name, pl.version)),
                    interface: plugin.map(|pl| pl.interface_version.clone()),
                    status: match (p.enabled, plugin) {
                        (false, _) => "disabled",
                        (true, Some(_)) => "ready",
                        (true, None) => "no plugin offers this type",
                    },
                    circuit: circuit.as_str(),
                    failures,
                }
            })
            .collect();
        ProviderList { providers }
    }
}

/// One machine of a return that is not being terminated, and why.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineProblem {
    /// The machine named.
    pub machine_id: String,
    /// Why it is not being terminated.
    pub error: String,
}

/// What a return did with each machine it named.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnAnswer {
    /// The return request tracking the termination; null when there was nothing to return.
    pub request_id: Option<String>,
    /// What was done, in a sentence.
    pub message: String,
    /// How many machines are now terminating.
    pub terminating: usize,
    /// How many were already gone.
    pub already_gone: usize,
    /// Machines whose termination failed; return them again to retry.
    pub failed: Vec<MachineProblem>,
    /// Machines orb does not own, left alone.
    pub refused: Vec<MachineProblem>,
}

impl ReturnAnswer {
    /// The answer of a return that found no machine to return.
    pub fn nothing() -> Self {
        ReturnAnswer {
            request_id: None,
            message: "no machines to return: none is left that is not gone or being returned"
                .into(),
            terminating: 0,
            already_gone: 0,
            failed: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// The answer of the return `request_id`, which did `summary`.
    pub fn of(request_id: &str, summary: &ReturnSummary) -> Self {
        let problems = |list: &[(String, String)]| {
            list.iter()
                .map(|(id, why)| MachineProblem {
                    machine_id: id.clone(),
                    error: why.clone(),
                })
                .collect()
        };
        let mut message = format!(
            "Return request submitted: {} terminating, {} already gone",
            summary.terminating, summary.already_gone
        );
        for (count, what) in [
            (summary.failed.len(), "failed (return them again to retry)"),
            (summary.refused.len(), "refused (not orb's)"),
        ] {
            if count > 0 {
                message.push_str(&format!(", {count} {what}"));
            }
        }
        ReturnAnswer {
            request_id: Some(request_id.to_owned()),
            message,
            terminating: summary.terminating,
            already_gone: summary.already_gone,
            failed: problems(&summary.failed),
            refused: problems(&summary.refused),
        }
    }
}

/// What validating a template found.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateProblems {
    /// The template.
    pub template_id: String,
    /// Whether it has no problem.
    pub valid: bool,
    /// Every problem, at once.
    pub problems: Vec<String>,
    /// What it is taken to mean where it says nothing (no problem).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl TemplateProblems {
    /// The report of `template_id`, which has `problems`.
    pub fn of(template_id: &str, problems: Vec<String>) -> Self {
        TemplateProblems {
            template_id: template_id.to_owned(),
            valid: problems.is_empty(),
            problems,
            notes: Vec::new(),
        }
    }

    /// The report with the note that the template names no cap.
    pub fn capped_at_one(mut self) -> Self {
        self.notes.push(
            "maxNumber is not set: at most 1 machine at a time; set maxNumber (-1 for no limit)"
                .to_owned(),
        );
        self
    }
}

/// A template as `getAvailableTemplates`, `orb templates` and the API list it: its own fields,
/// then `vmTypes` (from `vmType` when it has only that), `subnetId` (comma-joined, as the
/// Python ORB writes it), its provider, and `attributes`.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    /// The template id.
    pub template_id: String,
    /// The most machines of the template at once; -1 for no limit.
    pub max_number: i64,
    /// The template's other fields, in Host Factory's names.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// Host Factory's typed attributes (`ncpus`, `nram`...).
    #[schema(value_type = Object)]
    pub attributes: Value,
}

impl TemplateView {
    /// The template `template_id` as `broker` serves it, with its attributes; not found when
    /// none of that id is served.
    pub async fn served(
        broker: &crate::broker::Broker,
        template_id: &str,
    ) -> Result<TemplateView, crate::broker::BrokerError> {
        let templates = broker.templates_with_attributes().await?;
        let (template, attributes, instance) = templates
            .iter()
            .find(|(t, ..)| t.template_id == template_id)
            .ok_or_else(|| {
                crate::broker::BrokerError::NotFound(format!(
                    "template '{template_id}' does not exist"
                ))
            })?;
        Ok(TemplateView::of(template, attributes.clone(), instance))
    }

    /// `t` with its `attributes`, served by `instance`.
    pub fn of(
        t: &Template,
        attributes: Value,
        instance: &crate::config::ProviderInstanceConfig,
    ) -> Self {
        let mut fields: Map<String, Value> = t
            .fields
            .iter()
            .filter(|(key, _)| *key != "attributes")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let (None, Some(vm_type)) = (fields.get("vmTypes"), t.str_field("vmType")) {
            fields.insert("vmTypes".into(), json!({ vm_type: 1 }));
        }
        if let Some(Value::Array(subnets)) = t.fields.get("subnetIds") {
            let joined: Vec<&str> = subnets.iter().filter_map(Value::as_str).collect();
            fields.insert("subnetId".into(), json!(joined.join(",")));
        }
        if let Some(api) = &t.provider_api {
            fields.insert("providerApi".into(), json!(api));
        }
        fields
            .entry("providerType")
            .or_insert_with(|| json!(instance.provider_type));
        fields
            .entry("providerName")
            .or_insert_with(|| json!(instance.name));
        TemplateView {
            template_id: t.template_id.clone(),
            max_number: t.max_number,
            fields,
            attributes,
        }
    }
}
