//! Attribute-based instance type selection: the Python ORB's `abisInstanceRequirements`, in
//! the names of AWS's `InstanceRequirements` (`VCpuCount`, `MemoryMiB`, ...; any case, with or
//! without underscores). EC2 Fleet, Spot Fleet and Auto Scaling each take their own type for
//! it; the conversions to the three live here.

use serde_json::Value;

/// What instance types must offer, instead of naming them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requirements {
    /// vCPUs: at least, at most.
    pub vcpus: (i32, Option<i32>),
    /// Memory in MiB: at least, at most.
    pub memory_mib: (i32, Option<i32>),
    /// `intel`, `amd`, `amazon-web-services`, `apple`.
    pub cpu_manufacturers: Vec<String>,
    /// `current`, `previous`.
    pub instance_generations: Vec<String>,
    /// Only these types (wildcards allowed).
    pub allowed_instance_types: Vec<String>,
    /// Never these types (wildcards allowed).
    pub excluded_instance_types: Vec<String>,
    /// `included`, `excluded` or `required`.
    pub burstable_performance: Option<String>,
}

/// The keys read, as AWS names them.
const KEYS: &[&str] = &[
    "VCpuCount",
    "MemoryMiB",
    "CpuManufacturers",
    "InstanceGenerations",
    "AllowedInstanceTypes",
    "ExcludedInstanceTypes",
    "BurstablePerformance",
];

/// `key` lowercase, without `_`: `memory_mib`, `memoryMiB` and `MemoryMiB` are one key.
fn folded(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads `value`, adding a problem for each thing that does not read.
pub fn parse(value: &Value, problems: &mut Vec<String>) -> Option<Requirements> {
    let Value::Object(fields) = value else {
        problems.push(
            "abisInstanceRequirements must be an object of AWS's InstanceRequirements".into(),
        );
        return None;
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| folded(k) == folded(name))
            .map(|(_, v)| v)
    };
    for key in fields.keys() {
        if !KEYS.iter().any(|k| folded(k) == folded(key)) {
            problems.push(format!(
                "abisInstanceRequirements: orb does not read '{key}' yet; it reads {}",
                KEYS.join(", ")
            ));
        }
    }
    let mut range = |name: &str| -> (i32, Option<i32>) {
        let Some(Value::Object(r)) = get(name) else {
            problems.push(format!(
                "abisInstanceRequirements.{name} with a Min is required"
            ));
            return (0, None);
        };
        let bound = |which: &str| {
            r.iter()
                .find(|(k, _)| folded(k) == which)
                .and_then(|(_, v)| v.as_i64())
                .and_then(|n| i32::try_from(n).ok())
        };
        match bound("min") {
            Some(min) => (min, bound("max")),
            None => {
                problems.push(format!(
                    "abisInstanceRequirements.{name}.Min must be a whole number"
                ));
                (0, None)
            }
        }
    };
    let vcpus = range("VCpuCount");
    let memory_mib = range("MemoryMiB");
    let list = |name: &str| -> Vec<String> {
        match get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    Some(Requirements {
        vcpus,
        memory_mib,
        cpu_manufacturers: list("CpuManufacturers"),
        instance_generations: list("InstanceGenerations"),
        allowed_instance_types: list("AllowedInstanceTypes"),
        excluded_instance_types: list("ExcludedInstanceTypes"),
        burstable_performance: get("BurstablePerformance")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Some list, or nothing when `items` is empty.
fn some<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// `r` built as the SDK module `$types` names it: the three services' types have the same
/// shape under different names.
macro_rules! requirements_of {
    ($r:expr, $($types:ident)::+, $requirements:ident, $vcpus:ident, $memory:ident) => {{
        use $($types)::+::{
            $memory, $requirements, $vcpus, BurstablePerformance, CpuManufacturer,
            InstanceGeneration,
        };
        let r = $r;
        $requirements::builder()
            .v_cpu_count($vcpus::builder().min(r.vcpus.0).set_max(r.vcpus.1).build())
            .memory_mib(
                $memory::builder()
                    .min(r.memory_mib.0)
                    .set_max(r.memory_mib.1)
                    .build(),
            )
            .set_cpu_manufacturers(some(
                r.cpu_manufacturers
                    .iter()
                    .map(|m| CpuManufacturer::from(m.as_str()))
                    .collect(),
            ))
            .set_instance_generations(some(
                r.instance_generations
                    .iter()
                    .map(|g| InstanceGeneration::from(g.as_str()))
                    .collect(),
            ))
            .set_allowed_instance_types(some(r.allowed_instance_types.clone()))
            .set_excluded_instance_types(some(r.excluded_instance_types.clone()))
            .set_burstable_performance(
                r.burstable_performance
                    .as_deref()
                    .map(BurstablePerformance::from),
            )
            .build()
    }};
}

/// As EC2 Fleet takes them.
pub fn for_ec2_fleet(r: &Requirements) -> aws_sdk_ec2::types::InstanceRequirementsRequest {
    requirements_of!(
        r,
        aws_sdk_ec2::types,
        InstanceRequirementsRequest,
        VCpuCountRangeRequest,
        MemoryMiBRequest
    )
}

/// As Spot Fleet takes them.
pub fn for_spot_fleet(r: &Requirements) -> aws_sdk_ec2::types::InstanceRequirements {
    requirements_of!(
        r,
        aws_sdk_ec2::types,
        InstanceRequirements,
        VCpuCountRange,
        MemoryMiB
    )
}

/// As Auto Scaling takes them.
pub fn for_auto_scaling(r: &Requirements) -> aws_sdk_autoscaling::types::InstanceRequirements {
    requirements_of!(
        r,
        aws_sdk_autoscaling::types,
        InstanceRequirements,
        VCpuCountRequest,
        MemoryMiBRequest
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aws_names_read_in_any_case_and_what_is_missing_or_unknown_is_named() {
        let mut problems = Vec::new();
        let r = parse(
            &json!({"VCpuCount": {"Min": 2, "Max": 8}, "memory_mib": {"min": 4096},
                    "CpuManufacturers": ["intel"], "instanceGenerations": ["current"]}),
            &mut problems,
        )
        .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((r.vcpus, r.memory_mib), ((2, Some(8)), (4096, None)));
        assert_eq!(r.cpu_manufacturers, ["intel"]);
        parse(
            &json!({"VCpuCount": {"Max": 8}, "NetworkBandwidthGbps": {"Min": 10}}),
            &mut problems,
        );
        let said = problems.join("; ");
        for expected in [
            "VCpuCount.Min",
            "MemoryMiB with a Min",
            "'NetworkBandwidthGbps'",
        ] {
            assert!(said.contains(expected), "{expected}: {said}");
        }
    }
}
