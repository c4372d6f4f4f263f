//! Templates: read from the operator's templates files (re-read on every call: Host Factory
//! may rewrite them), merged with their defaults (global, then provider type, then provider
//! instance, then the template), and joined by the templates the provider offers itself.

mod attributes;
mod edit;
mod files;
pub mod infra_check;
mod normalize;

use orb_plugin_api::Template;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{Env, OrbConfig, Paths, ProviderInstanceConfig};

pub use attributes::{hf_attributes, instance_type_of};
pub use edit::{find, replace, EditError, TemplateFiles, Written};
pub use files::read as read_file;
pub use normalize::normalize;

/// The templates available to one provider instance.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The templates, merged with their defaults, in file order.
    pub templates: Vec<Template>,
    /// Files or entries that could not be used.
    pub problems: Vec<String>,
    /// The templates that name no `maxNumber`, nor do their defaults: capped at 1 machine.
    pub capped_at_one: Vec<String>,
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
    let mut raw: Vec<Map<String, Value>> = Vec::new();
    for path in template_files(config, paths, env, instance).existing {
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
        let uncapped = names_no_cap(config, instance, &fields);
        match merged(config, instance, &fields) {
            Ok(t)
                if uncapped
                    && catalog.get(&t.template_id).is_none()
                    && serves(config, instance, &t) =>
            {
                catalog.capped_at_one.push(t.template_id.clone());
                catalog.templates.push(t);
            }
            Ok(t) if catalog.get(&t.template_id).is_some() => {
                tracing::debug!(template = %t.template_id, "duplicate template id; the first one is used");
            }
            Ok(t) if serves(config, instance, &t) => catalog.templates.push(t),
            Ok(_) => {}
            Err(problem) => catalog.problems.push(problem),
        }
    }
    catalog
}

/// The templates files of `instance` (see [`files::candidates`]), and the one a first template
/// is written to: the configured name, else IBM's `<HF_PROVIDER_NAME>prov_templates.json`,
/// else `templates.json`.
pub fn template_files(
    config: &OrbConfig,
    paths: &Paths,
    env: &Env,
    instance: &ProviderInstanceConfig,
) -> TemplateFiles {
    let configured = config.scheduler.templates_filename.as_deref();
    let hf_provider = env.get("HF_PROVIDER_NAME");
    let new_name = configured
        .map(str::to_owned)
        .or_else(|| hf_provider.map(|n| format!("{n}prov_templates.json")))
        .unwrap_or_else(|| "templates.json".to_owned());
    let found = |dir: &Path| {
        files::candidates(
            dir,
            configured,
            hf_provider,
            &instance.name,
            &instance.provider_type,
        )
    };
    let existing = found(&paths.config_dir);
    // None in the configuration directory: those beside the configuration file, if any.
    if let (true, Some(dir)) = (existing.is_empty(), &paths.config_file_dir) {
        let beside = found(dir);
        if !beside.is_empty() {
            return TemplateFiles {
                config_dir: dir.clone(),
                existing: beside,
                new_file: paths.config_dir.join(new_name),
            };
        }
    }
    TemplateFiles {
        config_dir: paths.config_dir.clone(),
        existing,
        new_file: paths.config_dir.join(new_name),
    }
}

/// The template `fields` as `instance` serves it: merged with its defaults and read; why not.
pub fn merged(
    config: &OrbConfig,
    instance: &ProviderInstanceConfig,
    fields: &Map<String, Value>,
) -> Result<Template, String> {
    let name = || {
        fields
            .get("templateId")
            .map(Value::to_string)
            .unwrap_or_else(|| "without templateId".to_owned())
    };
    let mut merged = with_defaults(config, instance, fields);
    // A missing cap never means unlimited spending: one machine at a time, as the Python ORB
    // and IBM's provider take it (-1 is an explicit "no limit").
    merged.entry("maxNumber").or_insert(Value::from(1));
    let slips: Vec<String> = merged
        .keys()
        .filter_map(|k| {
            normalize::misspelt(k).map(|meant| format!("'{k}' (did you mean '{meant}'?)"))
        })
        .collect();
    if !slips.is_empty() {
        return Err(format!(
            "template {}: unknown keys {}",
            name(),
            slips.join(", ")
        ));
    }
    serde_json::from_value::<Template>(Value::Object(merged))
        .map_err(|e| format!("template {}: {e}", name()))
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
/// Whether `instance` serves `template`: not pinned by `providerName` to another instance or
/// to a pool without it, nor by `providerType` to another type, nor by `providerInstances` to
/// others.
fn serves(config: &OrbConfig, instance: &ProviderInstanceConfig, template: &Template) -> bool {
    let named = |n: &str| {
        n == instance.name
            || config
                .provider
                .pools
                .get(n)
                .is_some_and(|pool| pool.instances.contains(&instance.name))
    };
    let listed = match template.fields.get("providerInstances") {
        Some(Value::Array(names)) => names.iter().any(|n| n.as_str() == Some(&instance.name)),
        _ => true,
    };
    listed
        && template.str_field("providerName").is_none_or(named)
        && template
            .str_field("providerType")
            .is_none_or(|t| t == instance.provider_type)
}

/// Whether the template `fields` names no `maxNumber`, nor do its defaults: it is capped at 1.
pub fn names_no_cap(
    config: &OrbConfig,
    instance: &ProviderInstanceConfig,
    fields: &Map<String, Value>,
) -> bool {
    !with_defaults(config, instance, fields).contains_key("maxNumber")
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
            unresolved_server: Vec::new(),
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
