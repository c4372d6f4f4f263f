//! Templates: read from the operator's templates files (re-read on every call: Host Factory
//! may rewrite them), merged with their defaults (global, then provider type, then provider
//! instance, then the template), and joined by the templates the provider offers itself.

mod attributes;
mod files;
mod normalize;

use orb_plugin_api::Template;
use serde_json::{Map, Value};

use crate::config::{Env, OrbConfig, Paths, ProviderInstanceConfig};

pub use attributes::{hf_attributes, instance_type_of};

/// The templates available to one provider instance.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The templates, merged with their defaults, in file order.
    pub templates: Vec<Template>,
    /// Files or entries that could not be used.
    pub problems: Vec<String>,
}

impl Catalog {
    /// The template with this id.
    pub fn get(&self, template_id: &str) -> Option<&Template> {
        self.templates.iter().find(|t| t.template_id == template_id)
    }
}

/// Loads the templates of `instance`: those of its templates files, then those its provider
/// offers (`provider_templates`); the first template of an id wins. Templates pinned to another
/// instance (`providerName`) or type (`providerType`) are left out.
pub fn load_catalog(
    config: &OrbConfig,
    paths: &Paths,
    env: &Env,
    instance: &ProviderInstanceConfig,
    provider_templates: Vec<Template>,
) -> Catalog {
    let mut catalog = Catalog::default();
    let files = files::candidates(
        &paths.config_dir,
        config.scheduler.templates_filename.as_deref(),
        env.get("HF_PROVIDER_NAME"),
        &instance.name,
        &instance.provider_type,
    );
    let mut raw: Vec<Map<String, Value>> = Vec::new();
    for path in files {
        match files::read(&path) {
            Ok(list) => raw.extend(list),
            Err(problem) => catalog.problems.push(problem),
        }
    }
    raw.extend(
        provider_templates
            .into_iter()
            .filter_map(|t| match serde_json::to_value(t) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            }),
    );
    for fields in raw {
        let merged = with_defaults(config, instance, &fields);
        let slips: Vec<String> = merged
            .keys()
            .filter_map(|k| {
                normalize::misspelt(k).map(|meant| format!("'{k}' (did you mean '{meant}'?)"))
            })
            .collect();
        if !slips.is_empty() {
            catalog.problems.push(format!(
                "template {}: unknown keys {}",
                fields
                    .get("templateId")
                    .map(Value::to_string)
                    .unwrap_or_else(|| "without templateId".to_owned()),
                slips.join(", ")
            ));
            continue;
        }
        match serde_json::from_value::<Template>(Value::Object(merged)) {
            Ok(t) if catalog.get(&t.template_id).is_some() => {
                tracing::debug!(template = %t.template_id, "duplicate template id; the first one is used");
            }
            Ok(t) if serves(instance, &t) => catalog.templates.push(t),
            Ok(_) => {}
            Err(e) => catalog.problems.push(format!(
                "template {}: {e}",
                fields
                    .get("templateId")
                    .map(Value::to_string)
                    .unwrap_or_else(|| "without templateId".to_owned())
            )),
        }
    }
    catalog
}

/// What Host Factory requires of every template, whatever its provider.
pub fn host_problems(t: &Template) -> Vec<String> {
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

/// Whether `instance` may serve `template`.
fn serves(instance: &ProviderInstanceConfig, template: &Template) -> bool {
    template
        .str_field("providerName")
        .is_none_or(|n| n == instance.name)
        && template
            .str_field("providerType")
            .is_none_or(|t| t == instance.provider_type)
}

fn with_defaults(
    config: &OrbConfig,
    instance: &ProviderInstanceConfig,
    template: &Map<String, Value>,
) -> Map<String, Value> {
    let type_defaults = config
        .provider
        .provider_defaults
        .get(&instance.provider_type)
        .map(|d| d.template_defaults.clone())
        .unwrap_or_default();
    let mut merged = Map::new();
    for layer in [
        &config.template,
        &type_defaults,
        &instance.template_defaults,
        template,
    ] {
        merged.extend(normalize::normalize(layer));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use serde_json::json;

    fn setup(dir: &std::path::Path, config: Value) -> (OrbConfig, Paths) {
        let config: OrbConfig = serde_json::from_value(config).unwrap();
        let loaded = LoadedConfig {
            config: config.clone(),
            file: Some(dir.join("config.json")),
        };
        let paths = Paths::resolve(&loaded, &Env::default(), None);
        (config, paths)
    }

    #[test]
    fn defaults_merge_in_order_and_the_template_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("templates.json"),
            json!({"templates": [
                {"templateId": "a", "maxNumber": 5, "vmType": "m5.large"},
                {"templateId": "a", "maxNumber": 9},
                {"templateId": "b", "providerName": "other"},
                {"maxNumber": 1}
            ]})
            .to_string(),
        )
        .unwrap();
        let (config, paths) = setup(
            dir.path(),
            json!({
                "template": {"image_id": "img-global", "key_name": "k0", "price_type": "ondemand"},
                "provider": {
                    "providers": [{"name": "m1", "type": "mock",
                                   "template_defaults": {"key_name": "k2"}}],
                    "provider_defaults": {"mock": {"template_defaults": {"subnet_ids": ["s1"], "key_name": "k1"}}}
                }
            }),
        );
        let instance = &config.provider.providers[0];
        let catalog = load_catalog(&config, &paths, &Env::default(), instance, vec![]);
        assert_eq!(catalog.templates.len(), 1, "{catalog:?}");
        let a = catalog.get("a").unwrap();
        assert_eq!(a.max_number, 5);
        assert_eq!(a.fields["imageId"], "img-global");
        assert_eq!(a.fields["keyName"], "k2");
        assert_eq!(a.fields["subnetIds"], json!(["s1"]));
        assert_eq!(catalog.problems.len(), 1, "{:?}", catalog.problems);
        assert!(catalog.problems[0].contains("templateId"));
    }

    #[test]
    fn provider_templates_join_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let (config, paths) = setup(
            dir.path(),
            json!({"provider": {"providers": [{"name": "m1", "type": "mock"}]}}),
        );
        let offered: Template = serde_json::from_value(json!({"templateId": "builtin"})).unwrap();
        let catalog = load_catalog(
            &config,
            &paths,
            &Env::default(),
            &config.provider.providers[0],
            vec![offered],
        );
        assert!(catalog.get("builtin").is_some());
    }
}
