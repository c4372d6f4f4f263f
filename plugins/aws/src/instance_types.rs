//! Instance types: CPUs, memory and architecture, as Host Factory's attributes need them.

use orb_plugin_api::{ErrorKind, InstanceTypeInfo, ProviderError};

use crate::context::Ctx;
use crate::errors::sdk_error;

pub async fn describe(
    ctx: &Ctx<'_>,
    names: &[String],
) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let out = ctx
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
