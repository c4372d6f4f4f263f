//! Host Factory's output shapes, with the Python ORB's field names and types where it has them.

use orb_plugin_api::Template;
use serde_json::{json, Map, Value};

use std::time::{Duration, UNIX_EPOCH};

use crate::broker::{Cancelled, MachineView, Reclaimed, RequestView};
use crate::domain::{MachineRecord, MachineResult, Request, RequestKind, RequestStatus};

/// Seconds since the epoch as an RFC 3339 time.
pub fn time(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64))
        .to_string()
}

/// A stored request, as listings show it.
pub fn stored_request(r: &Request) -> Value {
    json!({
        "requestId": r.request_id,
        "kind": r.kind.as_str(),
        "status": r.status.as_str(),
        "templateId": r.template_id,
        "machines": r.requested,
        "providerName": r.provider_instance,
        "createdAt": time(r.created_at),
        "message": r.message,
    })
}

/// What a cancellation did: the request as stored now, the return request tracking its
/// machines, and whether its provision is still in flight (it undoes itself when it ends).
pub fn cancelled(c: &Cancelled) -> Value {
    let mut out = stored_request(&c.request);
    out["cancelled"] = json!(true);
    out["inFlight"] = json!(c.in_flight);
    out["terminating"] = json!(c.terminating);
    out["releasedResources"] = json!(c.released);
    out["returnRequestId"] = json!(c.return_request_id);
    out
}

/// A stored machine, as listings show it.
pub fn stored_machine(m: &MachineRecord) -> Value {
    json!({
        "machineId": m.machine_id,
        "name": m.name,
        "status": m.state.as_str(),
        "requestId": m.request_id,
        "returnRequestId": m.return_request_id,
        "templateId": m.template_id,
        "privateIpAddress": m.private_ip,
        "instanceType": m.instance_type,
        "launchTime": m.launch_time.map(time),
    })
}

/// A template as `getAvailableTemplates` lists it: its own fields, then `vmTypes` (from
/// `vmType` when it has only that), `subnetId` (comma-joined, as ORB writes it), its provider,
/// and `attributes`.
pub fn template(t: &Template, attributes: Value, provider_type: &str) -> Value {
    let mut out = Map::new();
    out.insert("templateId".into(), json!(t.template_id));
    out.insert("maxNumber".into(), json!(t.max_number));
    for (key, value) in &t.fields {
        if key != "attributes" {
            out.insert(key.clone(), value.clone());
        }
    }
    if let (None, Some(vm_type)) = (out.get("vmTypes"), t.str_field("vmType")) {
        out.insert("vmTypes".into(), json!({ vm_type: 1 }));
    }
    if let Some(Value::Array(subnets)) = t.fields.get("subnetIds") {
        let joined: Vec<&str> = subnets.iter().filter_map(Value::as_str).collect();
        out.insert("subnetId".into(), json!(joined.join(",")));
    }
    if let Some(api) = &t.provider_api {
        out.insert("providerApi".into(), json!(api));
    }
    out.entry("providerType")
        .or_insert_with(|| json!(provider_type));
    out.insert("attributes".into(), attributes);
    Value::Object(out)
}

/// `getAvailableTemplates`.
pub fn templates(list: Vec<Value>) -> Value {
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
