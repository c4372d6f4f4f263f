//! Host Factory's output shapes, with the Python ORB's field names and types where it has them.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::broker::{MachineView, Reclaimed, RequestView};
use crate::domain::{MachineResult, Request, RequestKind, RequestStatus};
use crate::views::TemplateView;

/// `getAvailableTemplates`, with the Python ORB's extra fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatesAnswer {
    /// Every template.
    pub templates: Vec<TemplateView>,
    /// `Retrieved N templates successfully`.
    pub message: String,
    /// Always true.
    pub success: bool,
    /// How many templates match (all of them, for Host Factory).
    pub total_count: usize,
    /// The next page's cursor over HTTP; null for Host Factory, which gets every template.
    pub next_cursor: Option<String>,
}

/// `getAvailableTemplates`.
pub fn templates(templates: Vec<TemplateView>) -> TemplatesAnswer {
    let count = templates.len();
    TemplatesAnswer {
        templates,
        message: format!("Retrieved {count} templates successfully"),
        success: true,
        total_count: count,
        next_cursor: None,
    }
}

/// `requestMachines` and `requestReturnMachines`.
pub fn accepted(request_id: &str, message: &str) -> Value {
    json!({ "requestId": request_id, "message": message })
}

/// `getRequestStatus`: each request asked about, in order.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
pub struct StatusAnswer {
    /// One entry per id asked about.
    pub requests: Vec<RequestEntry>,
}

/// A request's status, or an id that names no request.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RequestEntry {
    /// A stored request.
    Found(Box<RequestStatusView>),
    /// No request has the id.
    Missing(MissingRequest),
}

/// An id that names no request: `complete_with_error`, as Host Factory expects.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingRequest {
    /// The id asked about.
    pub request_id: String,
    /// `complete_with_error`.
    pub status: &'static str,
    /// Why.
    pub message: String,
    /// Always empty.
    pub machines: Vec<MachineStatusView>,
}

/// A request and its machines, with the Python ORB's fields.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatusView {
    /// The request id.
    pub request_id: String,
    /// `running`, `complete` or `complete_with_error`.
    pub status: &'static str,
    /// What happened to it.
    pub message: String,
    /// Its machines.
    pub machines: Vec<MachineStatusView>,
    /// `acquire` or `return`.
    pub request_type: &'static str,
    /// Acquires: the template asked for.
    pub template_id: Option<String>,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The cloud resources made for it (fleets, groups).
    #[serde(rename = "resource_ids")]
    pub resource_ids: Vec<String>,
    /// The provider instance that serves it.
    pub provider_name: String,
    /// Its provider type.
    pub provider_type: String,
    /// The handler it used.
    pub provider_api: Option<String>,
    /// Acquires: machines asked for.
    #[serde(rename = "target_units", skip_serializing_if = "Option::is_none")]
    pub target_units: Option<u32>,
    /// Acquires: machines running.
    #[serde(rename = "fulfilled_units", skip_serializing_if = "Option::is_none")]
    pub fulfilled_units: Option<usize>,
    /// Acquires: machines running.
    #[serde(rename = "running_count", skip_serializing_if = "Option::is_none")]
    pub running_count: Option<usize>,
    /// Acquires: machines still starting.
    #[serde(rename = "pending_count", skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<usize>,
}

/// A machine of a request, as Host Factory reads it.
#[derive(Debug, Serialize, ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MachineStatusView {
    /// The provider's id of the machine.
    pub machine_id: String,
    /// Its host name (else its private address, else its id).
    pub name: String,
    /// `executing`, `succeed` or `fail`.
    pub result: &'static str,
    /// `pending`, `running`, `terminated`...
    pub status: &'static str,
    /// Its private address.
    pub private_ip_address: Option<String>,
    /// Its public address.
    pub public_ip_address: Option<String>,
    /// When it was launched, in seconds since the epoch.
    #[serde(rename = "launchtime")]
    pub launch_time: i64,
    /// Why it failed, or what it is doing.
    pub message: String,
    /// The same as `machineId`.
    pub cloud_host_id: String,
    /// Its instance type.
    pub instance_type: Option<String>,
    /// `ondemand` or `spot`.
    pub price_type: Option<String>,
    /// Its tags, as a JSON object in a string (as the Python ORB writes them).
    pub instance_tags: String,
    /// Returns: the acquire request that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Option<String>>,
    /// Acquires: the return request that claims it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_request_id: Option<String>,
}

/// `getRequestStatus`.
pub fn request_status(views: &[RequestView]) -> StatusAnswer {
    StatusAnswer {
        requests: views.iter().map(request_entry).collect(),
    }
}

fn request_entry(view: &RequestView) -> RequestEntry {
    let Some(request) = &view.request else {
        return RequestEntry::Missing(MissingRequest {
            request_id: view.request_id.clone(),
            status: RequestStatus::CompleteWithError.as_str(),
            message: format!(
                "Request {} not found: orb has no request with this id",
                view.request_id
            ),
            machines: Vec::new(),
        });
    };
    let count = |r: MachineResult| view.machines.iter().filter(|m| m.result == r).count();
    let acquire = request.kind == RequestKind::Acquire;
    RequestEntry::Found(Box::new(RequestStatusView {
        request_id: request.request_id.clone(),
        status: request.status.as_str(),
        message: shown_message(request, &view.machines),
        machines: view.machines.iter().map(|m| machine(m, request)).collect(),
        request_type: match request.kind {
            RequestKind::Acquire => "acquire",
            RequestKind::Return => "return",
        },
        template_id: request.template_id.clone(),
        created_at: humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(request.created_at).unwrap_or(0)),
        )
        .to_string(),
        resource_ids: request.resource_ids.clone(),
        provider_name: request.provider_instance.clone(),
        provider_type: request.provider_type.clone(),
        provider_api: request.provider_api.clone(),
        target_units: acquire.then_some(request.requested),
        fulfilled_units: acquire.then(|| count(MachineResult::Succeed)),
        running_count: acquire.then(|| count(MachineResult::Succeed)),
        pending_count: acquire.then(|| count(MachineResult::Executing)),
    }))
}

/// The message of a request as shown now: a settled acquire's machines returned since it
/// settled are no longer running, which its stored message (written when it settled) cannot say.
fn shown_message(request: &Request, machines: &[MachineView]) -> String {
    let returned = machines
        .iter()
        .filter(|m| {
            m.record
                .as_ref()
                .is_some_and(|r| r.return_request_id.is_some())
        })
        .count();
    // A complete acquire's message counts its machines running; any other's says why it
    // ended, which stays true.
    if request.kind != RequestKind::Acquire
        || request.status != RequestStatus::Complete
        || returned == 0
    {
        return request.message.clone();
    }
    let running = machines
        .iter()
        .filter(|m| {
            m.record.as_ref().is_some_and(|r| {
                r.return_request_id.is_none() && r.state == orb_plugin_api::MachineState::Running
            })
        })
        .count();
    format!(
        "{0} of {0} machines provisioned; {returned} returned since, {running} running",
        request.requested
    )
}

fn machine(view: &MachineView, request: &Request) -> MachineStatusView {
    let record = view.record.as_ref();
    let name = view
        .name
        .clone()
        .or_else(|| record.and_then(|r| r.private_ip.clone()))
        .unwrap_or_else(|| view.machine_id.clone());
    MachineStatusView {
        machine_id: view.machine_id.clone(),
        name,
        result: view.result.as_str(),
        // A machine orb has no record of is as its provider reports it (one left alone as not
        // orb's runs on); one its provider does not know is gone.
        status: record
            .map(|r| r.state)
            .or(view.reported)
            .map_or("terminated", |s| s.as_str()),
        private_ip_address: record.and_then(|r| r.private_ip.clone()),
        public_ip_address: record.and_then(|r| r.public_ip.clone()),
        launch_time: record
            .map(|r| r.launch_time.unwrap_or(r.created_at))
            .unwrap_or(request.created_at),
        message: view.message.clone(),
        cloud_host_id: view.machine_id.clone(),
        instance_type: record.and_then(|r| r.instance_type.clone()),
        price_type: record.and_then(|r| r.price_type.clone()),
        instance_tags: serde_json::to_string(&record.map(|r| r.tags.clone()).unwrap_or_default())
            .expect("tags serialize"),
        request_id: (request.kind == RequestKind::Return)
            .then(|| record.map(|r| r.request_id.clone())),
        return_request_id: match request.kind {
            RequestKind::Acquire => record.and_then(|r| r.return_request_id.clone()),
            RequestKind::Return => None,
        },
    }
}

/// `getReturnRequests`.
pub fn return_requests(list: &[Reclaimed]) -> Value {
    json!({
        "status": "complete",
        "message": if list.is_empty() {
            "No machines are being reclaimed.".to_owned()
        } else {
            format!("{} machines are being reclaimed by the cloud.", list.len())
        },
        "requests": list
            .iter()
            .map(|r| json!({"machine": r.name, "gracePeriod": r.grace_period, "machineId": r.machine_id}))
            .collect::<Vec<_>>(),
    })
}

/// A failed call: the Python ORB's error shape, with IBM's `message`.
pub fn error(message: &str, kind: &str) -> Value {
    json!({ "error": true, "message": message, "type": kind })
}
