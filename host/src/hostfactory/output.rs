//! Host Factory's output shapes, with the Python ORB's field names and types where it has them.

use serde_json::{json, Value};

use crate::broker::{MachineView, Reclaimed, RequestView};
use crate::domain::{MachineResult, Request, RequestKind, RequestStatus};
use crate::views::TemplateView;

/// `getAvailableTemplates`.
pub fn templates(list: Vec<TemplateView>) -> Value {
    let count = list.len();
    json!({
        "templates": list,
        "message": format!("Retrieved {count} templates successfully"),
        "success": true,
        "total_count": count,
        "next_cursor": null,
    })
}

/// `requestMachines` and `requestReturnMachines`.
pub fn accepted(request_id: &str, message: &str) -> Value {
    json!({ "requestId": request_id, "message": message })
}

/// `getRequestStatus`.
pub fn request_status(views: &[RequestView]) -> Value {
    json!({ "requests": views.iter().map(request_view).collect::<Vec<_>>() })
}

fn request_view(view: &RequestView) -> Value {
    let Some(request) = &view.request else {
        return json!({
            "requestId": view.request_id,
            "status": RequestStatus::CompleteWithError.as_str(),
            "message": format!("Request {} not found: orb has no request with this id", view.request_id),
            "machines": [],
        });
    };
    let machines: Vec<Value> = view.machines.iter().map(|m| machine(m, request)).collect();
    let mut out = json!({
        "requestId": request.request_id,
        "status": request.status.as_str(),
        "message": request.message,
        "machines": machines,
        "resource_ids": request.resource_ids,
        "providerName": request.provider_instance,
        "providerType": request.provider_type,
        "providerApi": request.provider_api,
    });
    if request.kind == RequestKind::Acquire {
        let count = |r: MachineResult| view.machines.iter().filter(|m| m.result == r).count();
        out["target_units"] = json!(request.requested);
        out["fulfilled_units"] = json!(count(MachineResult::Succeed));
        out["running_count"] = json!(count(MachineResult::Succeed));
        out["pending_count"] = json!(count(MachineResult::Executing));
    }
    out
}

fn machine(view: &MachineView, request: &Request) -> Value {
    let record = view.record.as_ref();
    let name = view
        .name
        .clone()
        .or_else(|| record.and_then(|r| r.private_ip.clone()))
        .unwrap_or_else(|| view.machine_id.clone());
    let mut out = json!({
        "machineId": view.machine_id,
        "name": name,
        "result": view.result.as_str(),
        "status": record.map(|r| r.state.as_str()).unwrap_or("terminated"),
        "privateIpAddress": record.and_then(|r| r.private_ip.clone()),
        "publicIpAddress": record.and_then(|r| r.public_ip.clone()),
        "launchtime": record
            .map(|r| r.launch_time.unwrap_or(r.created_at))
            .unwrap_or(request.created_at),
        "message": view.message,
        "cloudHostId": view.machine_id,
        "instanceType": record.and_then(|r| r.instance_type.clone()),
        "priceType": record.and_then(|r| r.price_type.clone()),
        // As the Python ORB writes them: a JSON object, as a string.
        "instanceTags": serde_json::to_string(&record.map(|r| r.tags.clone()).unwrap_or_default())
            .expect("tags serialize"),
    });
    match request.kind {
        RequestKind::Return => {
            out["requestId"] = json!(record.map(|r| r.request_id.clone()));
        }
        RequestKind::Acquire => {
            if let Some(ret) = record.and_then(|r| r.return_request_id.clone()) {
                out["returnRequestId"] = json!(ret);
            }
        }
    }
    out
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
