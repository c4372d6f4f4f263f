//! `orb templates ...`: the templates the default provider instance serves.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::listing::ListArgs;
use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError};
use crate::views::{TemplateProblems, TemplateView};

/// `orb templates list`: one line per template in scope (of the instance `provider` names, when
/// it names one), with the instance serving it, filtered and paged by `list`.
pub async fn list(
    app: &App,
    provider: Option<&str>,
    list: &ListArgs,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    if let Some(name) = provider {
        broker.instance(name).map_err(|_| {
            BrokerError::BadInput(format!(
                "--provider {name}: no provider instance has this name; configured: {}",
                app.loaded
                    .config
                    .provider
                    .providers
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    }
    let templates = broker.templates_with_attributes().await?;
    let rows: Vec<Value> = templates
        .iter()
        .filter(|(.., instance)| provider.is_none_or(|name| instance.name == name))
        .map(|(t, attrs, instance)| {
            json!({
                "templateId": t.template_id,
                "providerName": instance.name,
                "maxNumber": t.max_number,
                "providerApi": t.provider_api,
                "vmTypes": t.fields.get("vmTypes").or(t.fields.get("vmType")),
                "priceType": t.fields.get("priceType"),
                "ncpus": attrs["ncpus"][1],
                "nram": attrs["nram"][1],
            })
        })
        .collect();
    let fields: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|row| row.keys().cloned().collect())
        .unwrap_or_default();
    if !rows.is_empty() {
        list.check(&fields)?;
    }
    Ok(CommandOutput {
        value: json!({ "templates": list.of(rows) }),
        success: true,
    })
}

/// `orb templates show ID`: the template as merged with its defaults, with its attributes.
pub async fn show(app: &App, template_id: &str) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    Ok(CommandOutput::of(
        TemplateView::served(&broker, template_id).await?,
    ))
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
        let report = TemplateProblems::of(&template.template_id, problems);
        reports.push(
            match catalog.capped_at_one.contains(&template.template_id) {
                true => report.capped_at_one(),
                false => report,
            },
        );
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

/// The largest template file read: far above any template.
const MAX_TEMPLATE_FILE: u64 = 1 << 20;

/// The JSON object in `file` (`-`: stdin).
fn object_in(file: &Path) -> Result<Map<String, Value>, BrokerError> {
    use std::io::Read;
    let mut text = String::new();
    let read = if file == Path::new("-") {
        std::io::stdin()
            .take(MAX_TEMPLATE_FILE)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_TEMPLATE_FILE).read_to_string(&mut text))
    };
    read.map_err(|e| BrokerError::BadInput(format!("cannot read {}: {e}", file.display())))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(BrokerError::BadInput(format!(
            "{} must hold one JSON object, the template",
            file.display()
        ))),
        Err(e) => Err(BrokerError::BadInput(format!(
            "{} is not JSON: {e}",
            file.display()
        ))),
    }
}

/// The changes of `orb templates update`: FILE's keys, then each `--set KEY=VALUE`, then each
/// `--unset KEY` (a null, which removes the key).
pub fn changes(
    file: Option<&Path>,
    set: &[String],
    unset: &[String],
) -> Result<Map<String, Value>, BrokerError> {
    let mut changes = match file {
        Some(file) => object_in(file)?,
        None => Map::new(),
    };
    for pair in set {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| BrokerError::BadInput(format!("--set {pair}: give KEY=VALUE")))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        changes.insert(key.to_owned(), value);
    }
    for key in unset {
        changes.insert(key.clone(), Value::Null);
    }
    if changes.is_empty() {
        return Err(BrokerError::BadInput(
            "nothing to change: give a file of keys, --set or --unset".into(),
        ));
    }
    Ok(changes)
}

/// What a change to the templates file did.
fn changed(template_id: &str, action: &str, file: &Path) -> CommandOutput {
    CommandOutput::of(json!({
        "templateId": template_id,
        "action": action,
        "file": file.display().to_string(),
    }))
}

/// `orb templates add FILE`.
pub async fn add(app: &App, file: &Path) -> Result<CommandOutput, BrokerError> {
    let fields = object_in(file)?;
    let broker = Broker::open(app)?;
    let written = broker.add_template(fields.clone()).await?;
    let id = crate::templates::normalize(&fields)
        .get("templateId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(changed(&id, "added", &written))
}

/// `orb templates update ID ...`.
pub async fn update(
    app: &App,
    template_id: &str,
    changes: Map<String, Value>,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let written = broker.update_template(template_id, changes).await?;
    Ok(changed(template_id, "updated", &written))
}

/// `orb templates delete ID`.
pub async fn delete(app: &App, template_id: &str) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let written = broker.remove_template(template_id).await?;
    Ok(changed(template_id, "deleted", &written))
}
