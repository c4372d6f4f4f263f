//! `orb machines ...`: machines, and asking for or returning them.

use serde_json::json;

use super::listing::ListArgs;
use super::wait::{wait_for, WaitOptions};
use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError, MachineSpec, Unreturned};
use crate::hostfactory::output;
use crate::storage::MachineFilter;
use crate::views::{to_json, MachineSummary, ReturnAnswer};

/// `orb machines list`: stored machines, newest first, filtered and paged by `list`.
pub fn list(
    app: &App,
    filter: &MachineFilter,
    list: &ListArgs,
) -> Result<CommandOutput, BrokerError> {
    list.check(&super::listing::fields_of::<MachineSummary>())?;
    let broker = Broker::open(app)?;
    let machines = list.items(|limit, offset| {
        let page = broker.store().list_machines(&MachineFilter {
            limit,
            offset,
            ..filter.clone()
        })?;
        Ok::<_, BrokerError>(
            page.iter()
                .map(|m| to_json(&MachineSummary::from(m)))
                .collect(),
        )
    })?;
    Ok(CommandOutput::of(json!({ "machines": machines })))
}

/// `orb machines show ID`: one stored machine.
pub fn show(app: &App, machine_id: &str) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let machine = broker
        .store()
        .get_machine(machine_id)?
        .ok_or_else(|| BrokerError::NotFound(format!("machine '{machine_id}' does not exist")))?;
    Ok(CommandOutput::of(MachineSummary::from(&machine)))
}

/// `orb machines request TEMPLATE COUNT`: asks for machines; with `wait`, polls until done.
pub async fn request(
    app: &App,
    template_id: &str,
    count: i64,
    wait: Option<WaitOptions>,
    dry_run: bool,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    if dry_run {
        return Ok(dry_run_output(
            broker.check_request(template_id, count).await?,
        ));
    }
    let request = broker.request_machines(template_id, count).await?;
    match wait {
        Some(options) => wait_for(&broker, &request.request_id, options).await,
        None => Ok(CommandOutput {
            value: output::accepted(&request.request_id, &request.message),
            success: true,
        }),
    }
}

/// A dry run's answer: it succeeds when the call would.
fn dry_run_output(found: crate::broker::DryRun) -> CommandOutput {
    CommandOutput {
        success: found.would_succeed,
        value: to_json(&found),
    }
}

/// The machines a return names.
pub enum Returned {
    /// By id or host name.
    Named(Vec<String>),
    /// Those of a request, or every one, not yet returned.
    Unreturned(Unreturned),
}

/// `orb machines return`: returns machines named by id or host name, or those of a request, or
/// every one; with `wait`, polls until they are gone.
pub async fn return_machines(
    app: &App,
    which: Returned,
    wait: Option<WaitOptions>,
    dry_run: bool,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let specs: Vec<MachineSpec> = match which {
        Returned::Named(machines) => broker.specs_of(&machines),
        Returned::Unreturned(which) => broker.unreturned(which)?,
    };
    if specs.is_empty() {
        return Ok(CommandOutput::of(ReturnAnswer::nothing()));
    }
    if dry_run {
        return Ok(dry_run_output(broker.check_return(&specs).await?));
    }
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

/// `orb machines stop|start ID...`: each machine's outcome; fails unless every one changed.
pub async fn power(
    app: &App,
    power: crate::broker::Power,
    machines: &[String],
    confirmed: bool,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let outcomes = broker.power(power, machines, confirmed).await?;
    Ok(CommandOutput {
        success: outcomes
            .iter()
            .all(|o| matches!(o.result, "stopping" | "starting")),
        value: serde_json::json!({ "machines": crate::views::to_json(&outcomes) }),
    })
}
