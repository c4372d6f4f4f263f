//! `orb infra discover|show|validate`: what a provider instance's cloud offers for templates
//! (networks, subnets with their free addresses, security groups, key pairs, image parameters,
//! instance types per zone, the Spot Fleet role), and the templates checked against it.

use std::path::Path;

use serde_json::{json, Value};

use super::CommandOutput;
use crate::app::App;
use crate::broker::{Broker, BrokerError, SavedDiscovery};
use crate::config::ProviderInstanceConfig;
use crate::templates;

/// The instance named, else the default one.
fn instance<'a>(
    broker: &'a Broker,
    name: Option<&str>,
) -> Result<&'a ProviderInstanceConfig, BrokerError> {
    match name {
        Some(name) => broker.instance(name),
        None => broker.default_instance(),
    }
}

/// The most resources of one kind listed without `--all`.
const LISTED: u64 = 50;

/// A discovery as shown: counts by kind, and its resources; those of a kind of more than
/// [`LISTED`] (a region's instance types) only counted, unless `all`.
fn shown(saved: &SavedDiscovery, all: bool) -> Value {
    let mut counts = serde_json::Map::new();
    for d in &saved.found.resources {
        let n = counts.entry(d.resource.kind.clone()).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    let counted: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| !all && n.as_u64().unwrap_or(0) > LISTED)
        .map(|(kind, _)| kind)
        .collect();
    let listed: Vec<_> = saved
        .found
        .resources
        .iter()
        .filter(|d| !counted.contains(&&d.resource.kind))
        .collect();
    let mut shown = json!({
        "provider": saved.provider,
        "discoveredAt": saved.discovered_at,
        "counts": counts,
        "resources": crate::views::to_json(&listed),
    });
    if !counted.is_empty() {
        shown["notListed"] = json!(format!(
            "{} counted, not listed: --all lists them",
            counted
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    shown
}

/// `orb infra discover`: asks the cloud, keeps the answer, shows it.
pub async fn discover(
    app: &App,
    name: Option<&str>,
    all: bool,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let saved = broker.discover(instance(&broker, name)?).await?;
    Ok(CommandOutput::of(shown(&saved, all)))
}

/// `orb infra show`: the last discovery kept.
pub fn show(app: &App, name: Option<&str>, all: bool) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let instance = instance(&broker, name)?;
    let saved = broker.saved_discovery(instance)?.ok_or_else(|| {
        BrokerError::NotFound(format!(
            "nothing discovered for {} yet: run `orb infra discover`",
            instance.name
        ))
    })?;
    Ok(CommandOutput::of(shown(&saved, all)))
}

/// `orb infra validate [FILE]`: the templates of FILE (else those the instance serves) checked
/// against the last discovery (made now when there is none). Fails when any has a problem.
pub async fn validate(
    app: &App,
    name: Option<&str>,
    file: Option<&Path>,
) -> Result<CommandOutput, BrokerError> {
    let broker = Broker::open(app)?;
    let instance = instance(&broker, name)?;
    let saved = match broker.saved_discovery(instance)? {
        Some(saved) => saved,
        None => broker.discover(instance).await?,
    };
    let (checked, mut file_problems) = match file {
        None => {
            let catalog = broker.catalog(instance).await?;
            (catalog.templates, catalog.problems)
        }
        Some(file) => {
            let written = templates::read_file(file).map_err(BrokerError::BadInput)?;
            let mut checked = Vec::new();
            let mut problems = Vec::new();
            for fields in written {
                match templates::merged(broker.config(), instance, &templates::normalize(&fields)) {
                    Ok(t) => checked.push(t),
                    Err(problem) => problems.push(problem),
                }
            }
            (checked, problems)
        }
    };
    let reports: Vec<Value> = checked
        .iter()
        .map(|t| {
            let problems = templates::infra_check::problems(t, &saved.found);
            json!({"templateId": t.template_id, "valid": problems.is_empty(), "problems": problems})
        })
        .collect();
    let success = file_problems.is_empty() && reports.iter().all(|r| r["valid"] == true);
    file_problems.sort();
    Ok(CommandOutput {
        value: json!({
            "provider": saved.provider,
            "discoveredAt": saved.discovered_at,
            "templates": reports,
            "fileProblems": file_problems,
        }),
        success,
    })
}
