//! `orb machines ...`: machines, and asking for or returning them.

use serde_json::json;

use super::wait::{wait_for, WaitOptions};
use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError, MachineSpec};
use crate::hostfactory::output;
use crate::storage::MachineFilter;
use crate::views::MachineList;

/// `orb machines list`: stored machines, newest first.
pub fn list(app: &App, filter: &MachineFilter) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    Ok(CommandOutput::of(MachineList::of(
        &broker.store().list_machines(filter)?,
    )))
}

/// `orb machines request TEMPLATE COUNT`: asks for machines; with `wait`, polls until done.
pub async fn request(
    app: &App,
    template_id: &str,
    count: i64,
    wait: Option<WaitOptions>,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let request = broker.request_machines(template_id, count).await?;
    match wait {
        Some(options) => wait_for(&broker, &request.request_id, options).await,
        None => Ok(CommandOutput {
            value: output::accepted(&request.request_id, &request.message),
            success: true,
        }),
    }
}

/// `orb machines return ID...`: returns machines named by id or host name; with `wait`, polls
/// until they are gone.
pub async fn return_machines(
    app: &App,
    machines: &[String],
    wait: Option<WaitOptions>,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let specs: Vec<MachineSpec> = machines
        .iter()
        .map(|m| match broker.store().get_machine(m) {
            Ok(Some(_)) => MachineSpec {
                machine_id: Some(m.clone()),
                name: None,
            },
            _ => MachineSpec {
                machine_id: None,
                name: Some(m.clone()),
            },
        })
        .collect();
    let (request, summary) = broker.return_machines(&specs).await?;
    match wait {
        Some(options) => wait_for(&broker, &request.request_id, options).await,
        None => Ok(CommandOutput {
            success: summary.failed.is_empty() && summary.refused.is_empty(),
            value: json!({
                "requestId": request.request_id,
                "terminating": summary.terminating,
                "alreadyGone": summary.already_gone,
                "failed": summary.failed.iter().map(|(id, why)| json!({"machineId": id, "error": why})).collect::<Vec<_>>(),
            "refused": summary.refused.iter().map(|(id, why)| json!({"machineId": id, "error": why})).collect::<Vec<_>>(),
            }),
        }),
    }
}
