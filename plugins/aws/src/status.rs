//! Machine status: the instances of the requests and machines asked about, found by tag
//! and by id, with spot reclaim notices.

use std::collections::{HashMap, HashSet};

use aws_sdk_ec2::types::{Instance, InstanceStateName};
use orb_plugin_api::{Machine, ProviderError, StatusQuery, StatusResult};

use crate::context::Ctx;
use crate::errors::sdk_error;
use crate::instances::{by_ids, by_requests, to_machine};

/// When the cloud announced it will reclaim each spot instance of `instances` (its spot
/// request is `marked-for-termination`): one call for all of them.
async fn reclaim_notices(
    ctx: &Ctx<'_>,
    instances: &[Instance],
) -> Result<HashMap<String, i64>, ProviderError> {
    let requests: Vec<String> = instances
        .iter()
        .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
        .filter_map(|i| i.spot_instance_request_id().map(str::to_owned))
        .collect();
    if requests.is_empty() {
        return Ok(HashMap::new());
    }
    let out = ctx
        .clients
        .ec2
        .describe_spot_instance_requests()
        .set_spot_instance_request_ids(Some(requests))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSpotInstanceRequests", e))?;
    Ok(out
        .spot_instance_requests()
        .iter()
        .filter_map(|r| {
            let status = r.status()?;
            (status.code() == Some("marked-for-termination"))
                .then(|| Some((r.instance_id()?.to_owned(), status.update_time()?.secs())))?
        })
        .collect())
}

/// The instances of the requests and machines `query` names, with their reclaim notices.
pub async fn status(ctx: &Ctx<'_>, query: StatusQuery) -> Result<StatusResult, ProviderError> {
    let ec2 = &ctx.clients.ec2;
    let mut instances = if query.request_ids.is_empty() {
        Vec::new()
    } else {
        by_requests(ec2, &query.request_ids).await?
    };
    let found: HashSet<String> = instances
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect();
    let rest: Vec<String> = query
        .machine_ids
        .into_iter()
        .filter(|id| !found.contains(id))
        .collect();
    if !rest.is_empty() {
        instances.extend(by_ids(ec2, &rest).await?);
    }
    let mut machines: Vec<Machine> = instances.iter().map(to_machine).collect();
    // Reclaim notices enrich the answer; without them it is still right about states.
    let notices = reclaim_notices(ctx, &instances).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read spot reclaim notices");
        HashMap::new()
    });
    for m in &mut machines {
        m.reclaim_notice_at = notices.get(&m.machine_id).copied();
    }
    Ok(StatusResult { machines })
}
