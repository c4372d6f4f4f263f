//! `orb templates ...`: the templates the default provider instance serves.

use serde_json::{json, Value};

use super::{App, Outcome};
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::output;

/// `orb templates list`: one line per template.
pub async fn list(app: &App) -> Result<Outcome, BrokerError> {
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
    Ok(Outcome {
        value: json!({ "templates": rows }),
        success: true,
    })
}

/// `orb templates show ID`: the template as merged with its defaults, with its attributes.
pub async fn show(app: &App, template_id: &str) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let (templates, instance) = broker.templates_with_attributes().await?;
    let (template, attrs) = templates
        .iter()
        .find(|(t, _)| t.template_id == template_id)
        .ok_or_else(|| BrokerError::BadInput(format!("template '{template_id}' does not exist")))?;
    Ok(Outcome {
        value: output::template(template, attrs.clone(), &instance.provider_type),
        success: true,
    })
}

/// `orb templates validate [ID]`: every problem of every template (or of one), at once: the
/// host's checks and the provider's. Fails when any template has a problem.
pub async fn validate(app: &App, template_id: Option<&str>) -> Result<Outcome, BrokerError> {
    let broker = Broker::open(app)?;
    let instance = broker.default_instance()?;
    let catalog = broker.catalog(instance).await?;
    let provider = broker.provider(instance).await?;
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
        let mut problems = host_problems(template);
        problems.extend(provider.validate_template(template).await?);
        reports.push(json!({
            "templateId": template.template_id,
            "valid": problems.is_empty(),
            "problems": problems,
        }));
    }
    let success = catalog.problems.is_empty() && reports.iter().all(|r| r["valid"] == true);
    Ok(Outcome {
        value: json!({ "templates": reports, "fileProblems": catalog.problems }),
        success,
    })
}

/// What Host Factory requires of every template, whatever its provider.
fn host_problems(t: &orb_plugin_api::Template) -> Vec<String> {
    let mut problems = Vec::new();
    let id_ok = !t.template_id.is_empty()
        && t.template_id.len() <= 64
        && t.template_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        problems.push(format!(
            "templateId '{}' must be 1 to 64 letters, digits, '-' or '_'",
            t.template_id
        ));
    }
    if t.max_number < -1 {
        problems.push(format!(
            "maxNumber must be -1 (unlimited) or more, not {}",
            t.max_number
        ));
    }
    match t.fields.get("attributes") {
        None | Some(Value::Object(_)) => {}
        Some(_) => problems.push("attributes must be an object".into()),
    }
    problems
}
