//! `orb templates ...`: the templates the default provider instance serves.

use serde_json::{json, Value};

use super::listing::ListArgs;
use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError};
use crate::views::{TemplateProblems, TemplateView};

/// `orb templates list`: one line per template, filtered and paged by `list`.
pub async fn list(app: &App, list: &ListArgs) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let (templates, _) = broker.templates_with_attributes().await?;
    let rows: Vec<Value> = templates
        .iter()
        .map(|(t, attrs)| {
            json!({
                "templateId": t.template_id,
                "maxNumber": t.max_number,
                "providerApi": t.provider_api,
                "vmTypes": t.fields.get("vmTypes").or(t.fields.get("vmType")),
                "priceType": t.fields.get("priceType"),
                "ncpus": attrs["ncpus"][1],
                "nram": attrs["nram"][1],
            })
        })
        .collect();
    Ok(CommandOutput {
        value: json!({ "templates": list.of(rows) }),
        success: true,
    })
}

/// `orb templates show ID`: the template as merged with its defaults, with its attributes.
pub async fn show(app: &App, template_id: &str) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let (templates, instance) = broker.templates_with_attributes().await?;
    let (template, attrs) = templates
        .iter()
        .find(|(t, _)| t.template_id == template_id)
        .ok_or_else(|| BrokerError::BadInput(format!("template '{template_id}' does not exist")))?;
    Ok(CommandOutput::of(TemplateView::of(
        template,
        attrs.clone(),
        &instance.provider_type,
    )))
}

/// `orb templates validate [ID]`: every problem of every template (or of one), at once: the
/// host's checks and the provider's. Fails when any template has a problem.
pub async fn validate(app: &App, template_id: Option<&str>) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let instance = broker.default_instance()?;
    let catalog = broker.catalog(instance).await?;
    let selected: Vec<_> = catalog
        .templates
        .iter()
        .filter(|t| template_id.is_none_or(|id| t.template_id == id))
        .collect();
    if let (Some(id), true) = (template_id, selected.is_empty()) {
        return Err(BrokerError::BadInput(format!(
            "template '{id}' does not exist"
        )));
    }
    let mut reports = Vec::with_capacity(selected.len());
    for template in selected {
        let problems = broker.validate_template(template).await?;
        reports.push(TemplateProblems::of(&template.template_id, problems));
    }
    let success = catalog.problems.is_empty() && reports.iter().all(|r| r.valid);
    Ok(CommandOutput {
        value: json!({ "templates": reports, "fileProblems": catalog.problems }),
        success,
    })
}

/// `orb templates generate`: writes the provider's example templates to the templates file.
pub async fn generate(
    app: &App,
    provider_api: Option<&str>,
    force: bool,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let generated = broker.generate_templates(provider_api, force).await?;
    Ok(CommandOutput::of(json!({
        "written": generated.written,
        "kept": generated.kept,
        "replaced": generated.replaced,
    })))
}
