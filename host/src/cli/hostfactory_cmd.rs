//! `orb hostfactory <call>`: the five calls of Symphony Host Factory's provider-plugin
//! contract. Exactly one JSON object reaches stdout; failures exit 1 with a `message`.

use std::path::Path;

use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::{input, output};
use crate::views::{to_json, TemplateView};

/// The Host Factory calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum HfCall {
    /// getAvailableTemplates: the templates Host Factory may request (input optional).
    #[command(name = "getAvailableTemplates", alias = "get-available-templates")]
    GetAvailableTemplates,
    /// requestMachines: `{"template": {"templateId", "machineCount"}}` → `{"requestId"}`.
    #[command(name = "requestMachines", alias = "request-machines")]
    RequestMachines,
    /// getRequestStatus: `{"requests": [{"requestId"}]}` → each request and its machines.
    #[command(name = "getRequestStatus", alias = "get-request-status")]
    GetRequestStatus,
    /// requestReturnMachines: `{"machines": [{"name", "machineId"}]}` → `{"requestId"}`.
    #[command(name = "requestReturnMachines", alias = "request-return-machines")]
    RequestReturnMachines,
    /// getReturnRequests: `{"machines": [...]}` → those the cloud is reclaiming.
    #[command(name = "getReturnRequests", alias = "get-return-requests")]
    GetReturnRequests,
}

impl HfCall {
    /// The call's name in Host Factory's contract.
    pub fn name(self) -> &'static str {
        match self {
            HfCall::GetAvailableTemplates => "getAvailableTemplates",
            HfCall::RequestMachines => "requestMachines",
            HfCall::GetRequestStatus => "getRequestStatus",
            HfCall::RequestReturnMachines => "requestReturnMachines",
            HfCall::GetReturnRequests => "getReturnRequests",
        }
    }
}

/// Runs one call with the input file `file`.
pub async fn run(
    app: &App,
    call: HfCall,
    file: Option<&Path>,
) -> Result<CommandOutput, BrokerError> {
    // Read the input first: bad input changes nothing and needs no provider.
    let value = input::read(match call {
        HfCall::GetAvailableTemplates | HfCall::GetReturnRequests => file,
        _ => Some(input::required(file, call.name())?),
    })?;
    let broker = Broker::open(app)?;
    let value = match call {
        HfCall::GetAvailableTemplates => {
            let templates = broker.templates_with_attributes().await?;
            to_json(&output::templates(
                templates
                    .iter()
                    .map(|(t, attrs, instance)| TemplateView::of(t, attrs.clone(), instance))
                    .collect(),
            ))
        }
        HfCall::RequestMachines => {
            let (template_id, count) = input::request_machines(&value)?;
            let request = broker.request_machines(&template_id, count).await?;
            output::accepted(
                &request.request_id,
                &format!("Request submitted for processing: {}", request.message),
            )
        }
        HfCall::GetRequestStatus => {
            let ids = input::request_ids(&value)?;
            to_json(&output::request_status(&broker.request_status(&ids).await?))
        }
        HfCall::RequestReturnMachines => {
            let specs = input::machines(&value)?;
            let (request, summary) = broker.return_machines(&specs).await?;
            let not_done: Vec<String> = summary
                .failed
                .iter()
                .chain(&summary.refused)
                .map(|(id, why)| format!("{id}: {why}"))
                .collect();
            if summary.terminating == 0 && summary.already_gone == 0 && !not_done.is_empty() {
                let reasons = not_done;
                return Err(BrokerError::BadInput(format!(
                    "no machine could be returned ({}); request {} records it",
                    reasons.join("; "),
                    request.request_id
                )));
            }
            let mut message = match (summary.terminating, summary.failed.len()) {
                (0, 0) => format!(
                    "No active machines: {} already gone or being returned",
                    summary.already_gone
                ),
                (n, 0) => format!("Terminating {n} machines"),
                (n, failed) => {
                    format!("Terminating {n} machines; {failed} could not be terminated")
                }
            };
            if !summary.refused.is_empty() {
                let refused: Vec<&str> =
                    summary.refused.iter().map(|(id, _)| id.as_str()).collect();
                message.push_str(&format!(
                    "; {} left alone, not orb's: {}",
                    refused.len(),
                    refused.join(", ")
                ));
            }
            output::accepted(&request.request_id, &message)
        }
        HfCall::GetReturnRequests => {
            let specs = input::machines(&value)?;
            output::return_requests(&broker.reclaimed(&specs).await?)
        }
    };
    Ok(CommandOutput {
        value,
        success: true,
    })
}
