//! Instances: orb's tags, finding instances in batches, and reading them as machines.
//!
//! Finding the machines of N requests costs one `DescribeInstances` page per 1,000 instances
//! (by the `orb:request-id` tag), never a call per machine.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    Filter, Instance, InstanceLifecycleType, InstanceStateName, ResourceType, Tag, TagSpecification,
};
use orb_plugin_api::{tags, ErrorKind, Machine, MachineState, ProviderError};

use crate::errors::sdk_error;
use crate::template::Api;

/// Most instance ids (or values) per `DescribeInstances` call, and results per page.
const PAGE: usize = 1000;
/// Most values of one filter.
const FILTER_VALUES: usize = 200;

/// A tag specification of `tags` for resources of `kind`.
pub fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Every instance tagged with one of `request_ids`.
pub async fn by_requests(
    ec2: &aws_sdk_ec2::Client,
    request_ids: &[String],
) -> Result<Vec<Instance>, ProviderError> {
    let mut found = Vec::new();
    for chunk in request_ids.chunks(FILTER_VALUES) {
        let mut pages = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{}", tags::REQUEST))
                    .set_values(Some(chunk.to_vec()))
                    .build(),
            )
            .max_results(PAGE as i32)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("DescribeInstances", e))?;
            found.extend(
                page.reservations()
                    .iter()
                    .flat_map(|r| r.instances().iter().cloned()),
            );
        }
    }
    Ok(found)
}

/// Every instance of `ids` that exists; ids the cloud does not know are left out.
pub async fn by_ids(
    ec2: &aws_sdk_ec2::Client,
    ids: &[String],
) -> Result<Vec<Instance>, ProviderError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(PAGE) {
        let mut ask: Vec<String> = chunk.to_vec();
        // An unknown id fails the whole call; drop the ids the error names and ask again.
        for _ in 0..3 {
            if ask.is_empty() {
                break;
            }
            match ec2
                .describe_instances()
                .set_instance_ids(Some(ask.clone()))
                .send()
                .await
            {
                Ok(out) => {
                    found.extend(
                        out.reservations()
                            .iter()
                            .flat_map(|r| r.instances().iter().cloned()),
                    );
                    break;
                }
                Err(e) => {
                    let error = sdk_error("DescribeInstances", e);
                    if error.kind != ErrorKind::NotFound {
                        return Err(error.into());
                    }
                    let missing: Vec<&str> = error
                        .message()
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                        .filter(|w| w.starts_with("i-"))
                        .collect();
                    if missing.is_empty() {
                        return Err(error.into());
                    }
                    ask.retain(|id| !missing.contains(&id.as_str()));
                }
            }
        }
    }
    Ok(found)
}

fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The fleet or group an instance belongs to, and its kind, as the cloud tags it.
pub fn resource_of(instance: &Instance) -> Option<(&str, Api)> {
    [
        ("aws:ec2:fleet-id", Api::Ec2Fleet),
        ("aws:ec2spot:fleet-request-id", Api::SpotFleet),
        ("aws:autoscaling:groupName", Api::Asg),
    ]
    .into_iter()
    .find_map(|(key, api)| Some((tag(instance, key)?, api)))
}

/// An instance as a machine. Its name is its private DNS name, else its private IP: unique per
/// machine, as Host Factory needs.
pub fn to_machine(instance: &Instance) -> Machine {
    let state = match instance.state().and_then(|s| s.name()) {
        Some(InstanceStateName::Pending) => MachineState::Pending,
        Some(InstanceStateName::Running) => MachineState::Running,
        Some(InstanceStateName::ShuttingDown) => MachineState::ShuttingDown,
        Some(InstanceStateName::Terminated) => MachineState::Terminated,
        Some(InstanceStateName::Stopping) => MachineState::Stopping,
        Some(InstanceStateName::Stopped) => MachineState::Stopped,
        _ => MachineState::Unknown,
    };
    let private_ip = instance.private_ip_address().map(str::to_owned);
    let name = instance
        .private_dns_name()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or_else(|| private_ip.clone());
    let resource_id = resource_of(instance).map(|(id, _)| id.to_owned());
    Machine {
        machine_id: instance.instance_id().unwrap_or_default().to_owned(),
        name,
        state,
        request_id: tag(instance, tags::REQUEST).map(str::to_owned),
        resource_id,
        private_ip_address: private_ip,
        public_ip_address: instance.public_ip_address().map(str::to_owned),
        launch_time: instance.launch_time().map(|t| t.secs()),
        instance_type: instance.instance_type().map(|t| t.as_str().to_owned()),
        price_type: Some(
            if instance.instance_lifecycle() == Some(&InstanceLifecycleType::Spot) {
                "spot"
            } else {
                "ondemand"
            }
            .to_owned(),
        ),
        zone: instance
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_owned),
        reclaim_notice_at: None,
        message: instance
            .state_reason()
            .and_then(|r| r.message())
            .filter(|_| state != MachineState::Running)
            .map(str::to_owned),
        tags: instance
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::InstanceState;

    #[test]
    fn an_instance_reads_as_a_machine_named_by_its_dns_name() {
        let instance = Instance::builder()
            .instance_id("i-1")
            .private_ip_address("10.0.0.5")
            .private_dns_name("ip-10-0-0-5.ec2.internal")
            .state(
                InstanceState::builder()
                    .name(InstanceStateName::Running)
                    .build(),
            )
            .instance_lifecycle(InstanceLifecycleType::Spot)
            .tags(Tag::builder().key(tags::REQUEST).value("req-1").build())
            .tags(
                Tag::builder()
                    .key("aws:ec2:fleet-id")
                    .value("fleet-1")
                    .build(),
            )
            .build();
        let m = to_machine(&instance);
        assert_eq!(m.name.as_deref(), Some("ip-10-0-0-5.ec2.internal"));
        assert_eq!(m.state, MachineState::Running);
        assert_eq!(m.request_id.as_deref(), Some("req-1"));
        assert_eq!(m.resource_id.as_deref(), Some("fleet-1"));
        assert_eq!(m.price_type.as_deref(), Some("spot"));
    }

    #[test]
    fn without_a_dns_name_the_private_ip_names_it() {
        let instance = Instance::builder()
            .instance_id("i-2")
            .private_ip_address("10.0.0.6")
            .private_dns_name("")
            .build();
        assert_eq!(to_machine(&instance).name.as_deref(), Some("10.0.0.6"));
    }
}
