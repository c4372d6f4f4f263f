//! Reading Host Factory's input files.

use std::path::Path;

use serde_json::Value;

use crate::broker::{BrokerError, MachineSpec};

/// The JSON of the input file; no file, or an empty one, is `{}`.
pub fn read(path: Option<&Path>) -> Result<Value, BrokerError> {
    let Some(path) = path else {
        return Ok(Value::Object(Default::default()));
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        BrokerError::BadInput(format!("cannot read input file {}: {e}", path.display()))
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(&text).map_err(|e| {
        BrokerError::BadInput(format!(
            "input file {} is not valid JSON: {e}",
            path.display()
        ))
    })
}

/// The file a call needs, or an error saying how to give it.
pub fn required<'a>(path: Option<&'a Path>, call: &str) -> Result<&'a Path, BrokerError> {
    path.ok_or_else(|| {
        BrokerError::BadInput(format!(
            "{call} needs an input file: {call} -f <input.json>"
        ))
    })
}

/// Items of `value[key]`, which may be a list or a single object.
fn items<'a>(value: &'a Value, key: &str) -> Vec<&'a Value> {
    match value.get(key) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

fn string_field(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| value.get(*k))
        .and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// `requestMachines`: `{"template": {"templateId", "machineCount"}}`, or the same fields at the
/// top level. Returns the template id and the count.
pub fn request_machines(value: &Value) -> Result<(String, i64), BrokerError> {
    let template = value.get("template").unwrap_or(value);
    let template_id = string_field(template, &["templateId", "template_id"])
        .ok_or_else(|| BrokerError::BadInput("input has no template.templateId".into()))?;
    let count = match template
        .get("machineCount")
        .or_else(|| template.get("machine_count"))
    {
        None => {
            return Err(BrokerError::BadInput(
                "input has no template.machineCount".into(),
            ))
        }
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            BrokerError::BadInput(format!("machineCount must be a whole number, not {n}"))
        })?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| {
            BrokerError::BadInput(format!("machineCount must be a whole number, not \"{s}\""))
        })?,
        Some(other) => {
            return Err(BrokerError::BadInput(format!(
                "machineCount must be a whole number, not {other}"
            )))
        }
    };
    Ok((template_id, count))
}

/// `getRequestStatus`: `{"requests": [{"requestId"}]}` (or one object). At least one id.
pub fn request_ids(value: &Value) -> Result<Vec<String>, BrokerError> {
    let ids: Vec<String> = items(value, "requests")
        .into_iter()
        .filter_map(|r| string_field(r, &["requestId", "request_id"]))
        .collect();
    if ids.is_empty() {
        return Err(BrokerError::BadInput(
            "input names no request: expected {\"requests\": [{\"requestId\": \"...\"}]}".into(),
        ));
    }
    Ok(ids)
}

/// `requestReturnMachines` and `getReturnRequests`: `{"machines": [{"name", "machineId"}]}` (or
/// one object); `name` alone is enough. No `machines` is none; anything else that names no
/// machine (`"machines": "bad"`, an entry without `name` or `machineId`) is bad input.
pub fn machines(value: &Value) -> Result<Vec<MachineSpec>, BrokerError> {
    let shape =
        || "expected {\"machines\": [{\"name\": \"...\", \"machineId\": \"...\"}]}".to_owned();
    match value.get("machines") {
        None | Some(Value::Array(_) | Value::Object(_)) => {}
        Some(other) => {
            return Err(BrokerError::BadInput(format!(
                "machines must be a list of machines, not {other}: {}",
                shape()
            )))
        }
    }
    items(value, "machines")
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let spec = MachineSpec {
                machine_id: string_field(m, &["machineId", "machine_id"]),
                name: string_field(m, &["name", "machine"]),
            };
            match (&spec.machine_id, &spec.name) {
                (None, None) => Err(BrokerError::BadInput(format!(
                    "machines[{i}] names no machine ({m}): {}",
                    shape()
                ))),
                _ => Ok(spec),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_machines_accepts_host_factory_and_flat_forms() {
        let hf = json!({"template": {"templateId": "t", "machineCount": 3, "rc_account": "x"}, "userData": {}});
        assert_eq!(request_machines(&hf).unwrap(), ("t".into(), 3));
        let flat = json!({"templateId": "t", "machineCount": "2"});
        assert_eq!(request_machines(&flat).unwrap(), ("t".into(), 2));
        for bad in [
            json!({"template": {"templateId": "t", "machineCount": "many"}}),
            json!({"template": {"templateId": "t", "machineCount": 2.5}}),
            json!({"template": {"templateId": "t"}}),
            json!({"template": {"machineCount": 1}}),
        ] {
            assert!(request_machines(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_ids_accept_the_array_and_object_forms() {
        let array = json!({"requests": [{"requestId": "a"}, {"requestId": "b"}]});
        assert_eq!(request_ids(&array).unwrap(), ["a", "b"]);
        let object = json!({"requests": {"requestId": "a"}});
        assert_eq!(request_ids(&object).unwrap(), ["a"]);
        assert!(request_ids(&json!({"requests": []})).is_err());
        assert!(request_ids(&json!({})).is_err());
    }

    #[test]
    fn machines_need_only_a_name() {
        let v = json!({"machines": [{"name": "h1"}, {"name": "h2", "machineId": "i-2"}]});
        let m = machines(&v).unwrap();
        assert_eq!(
            m[0],
            MachineSpec {
                machine_id: None,
                name: Some("h1".into())
            }
        );
        assert_eq!(m[1].machine_id.as_deref(), Some("i-2"));
        assert_eq!(
            machines(&json!({"machines": {"name": "h"}})).unwrap().len(),
            1
        );
        assert!(machines(&json!({})).unwrap().is_empty());
    }

    #[test]
    fn files_are_read_or_explained() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, "  \n").unwrap();
        assert_eq!(read(Some(&empty)).unwrap(), json!({}));
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"template\": \n").unwrap();
        assert!(read(Some(&broken))
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        let missing = dir.path().join("missing.json");
        assert!(read(Some(&missing))
            .unwrap_err()
            .to_string()
            .contains("cannot read input file"));
        assert_eq!(read(None).unwrap(), json!({}));
    }

    #[test]
    fn machines_are_a_list_of_machines_or_none() {
        assert!(machines(&json!({})).unwrap().is_empty());
        assert!(machines(&json!({"machines": []})).unwrap().is_empty());
        let one = machines(&json!({"machines": {"name": "host-1"}})).unwrap();
        assert_eq!(one[0].name.as_deref(), Some("host-1"));
        for bad in [
            json!({"machines": "bad"}),
            json!({"machines": 3}),
            json!({"machines": [{"machineId": "i-1"}, {"nothing": true}]}),
            json!({"machines": ["i-1"]}),
        ] {
            let e = machines(&bad).unwrap_err().to_string();
            assert!(e.contains("machines"), "{bad}: {e}");
        }
    }
}
