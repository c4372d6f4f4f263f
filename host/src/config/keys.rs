//! Unknown keys in the configuration are errors: `server.auth.enable` (for `enabled`) would
//! otherwise switch authentication off in silence. A key is known when orb reads it, or when
//! the Python ORB defines it in that section ([`super::orb_py`]), so that an ORB file loads
//! unchanged. Each error names the key, and the known key it is most likely a slip for.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use orb_plugin_api::likely_meant;

use super::model::{
    AuthConfig, LoggingConfig, OrbConfig, ProviderSection, RequestConfig, SchedulerConfig,
    ServerConfig, StorageConfig,
};

/// A section's keys that orb does not read: `(prefix to report them with, prefix of the
/// section in [`super::orb_py`], the keys, the keys orb reads there)`.
type Section<'a> = (
    String,
    &'static str,
    &'a BTreeMap<String, Value>,
    Vec<String>,
);

/// A problem for every key of the configuration's sections that neither orb nor the Python
/// ORB defines.
pub fn unknown_keys(config: &OrbConfig) -> Vec<String> {
    let mut storage_keys = keys_of(&StorageConfig::default());
    storage_keys.extend(["type".to_owned(), "strategy".to_owned()]);
    let mut sections: Vec<Section> = vec![
        (
            String::new(),
            "",
            &config.extra,
            keys_of(&OrbConfig::default()),
        ),
        (
            "scheduler.".into(),
            "scheduler.",
            &config.scheduler.extra,
            keys_of(&SchedulerConfig::default()),
        ),
        (
            "provider.".into(),
            "provider.",
            &config.provider.extra,
            keys_of(&ProviderSection::default()),
        ),
        (
            "storage.".into(),
            "storage.",
            &config.storage.extra,
            storage_keys,
        ),
        (
            "logging.".into(),
            "logging.",
            &config.logging.extra,
            keys_of(&LoggingConfig::default()),
        ),
        (
            "server.".into(),
            "server.",
            &config.server.extra,
            keys_of(&ServerConfig::default()),
        ),
        (
            "server.auth.".into(),
            "server.auth.",
            &config.server.auth.extra,
            keys_of(&AuthConfig::default()),
        ),
        (
            "request.".into(),
            "request.",
            &config.request.extra,
            keys_of(&RequestConfig::default()),
        ),
    ];
    let instance_keys: Vec<String> = INSTANCE_KEYS.map(str::to_owned).to_vec();
    for (i, instance) in config.provider.providers.iter().enumerate() {
        sections.push((
            format!("provider.providers[{i}]."),
            "provider.providers[].",
            &instance.extra,
            instance_keys.clone(),
        ));
    }
    for (provider_type, defaults) in &config.provider.provider_defaults {
        sections.push((
            format!("provider.provider_defaults.{provider_type}."),
            "provider.provider_defaults.",
            &defaults.extra,
            vec!["template_defaults".to_owned()],
        ));
    }
    let mut problems = Vec::new();
    for (prefix, orb_py_prefix, extra, known) in &sections {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let orb_py = super::orb_py::keys(orb_py_prefix);
        for key in extra.keys().filter(|k| !orb_py.contains(&k.as_str())) {
            problems.push(match likely_meant(key, &known) {
                Some(meant) => format!("{prefix}{key}: unknown key; did you mean '{meant}'?"),
                None => format!(
                    "{prefix}{key}: unknown key; the keys here are {}",
                    known.join(", ")
                ),
            });
        }
    }
    problems
}

/// Every key set in `config` that orb accepts only so that the Python ORB's files load, and that
/// has no effect, with why: what `orb config show` notes.
pub fn without_effect(config: &OrbConfig) -> Vec<(String, &'static str)> {
    let mut notes = Vec::new();
    let mut orb_py = |prefix: String, section: &str, extra: &BTreeMap<String, Value>| {
        let known = super::orb_py::keys(section);
        for key in extra.keys().filter(|k| known.contains(&k.as_str())) {
            notes.push((
                format!("{prefix}{key}"),
                "a key of the Python ORB's that orb does not use",
            ));
        }
    };
    orb_py(String::new(), "", &config.extra);
    orb_py("scheduler.".into(), "scheduler.", &config.scheduler.extra);
    orb_py("provider.".into(), "provider.", &config.provider.extra);
    orb_py("storage.".into(), "storage.", &config.storage.extra);
    orb_py("logging.".into(), "logging.", &config.logging.extra);
    orb_py("server.".into(), "server.", &config.server.extra);
    orb_py(
        "server.auth.".into(),
        "server.auth.",
        &config.server.auth.extra,
    );
    orb_py("request.".into(), "request.", &config.request.extra);
    for (i, instance) in config.provider.providers.iter().enumerate() {
        orb_py(
            format!("provider.providers[{i}]."),
            "provider.providers[].",
            &instance.extra,
        );
    }
    if matches!(config.storage.backend(), "json" | "sql") {
        notes.push((
            "storage".into(),
            "'json' and 'sql' are the Python ORB's backends; orb keeps its state in SQLite",
        ));
    }
    notes
}

/// The keys of a provider instance (it has no defaults to read them from).
const INSTANCE_KEYS: [&str; 7] = [
    "name",
    "type",
    "enabled",
    "priority",
    "weight",
    "config",
    "template_defaults",
];

/// The keys a section's defaults serialize with: the keys orb knows there.
fn keys_of(section: &impl Serialize) -> Vec<String> {
    match serde_json::to_value(section) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> OrbConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn orb_and_python_orb_keys_load_and_others_are_named() {
        let orb_py = config(serde_json::json!({
            "version": "2.0.0",
            "scheduler": {"type": "hostfactory", "config_root": "/etc/orb"},
            "server": {"workers": 2, "cors": {"enabled": false}},
            "request": {"default_grace_period": 300},
            "provider": {"selection_policy": "FIRST_AVAILABLE", "providers": [
                {"name": "a", "type": "mock", "handlers": {}, "health_check": {}}
            ], "provider_defaults": {"aws": {"handlers": {}, "template_defaults": {}}}}
        }));
        assert_eq!(unknown_keys(&orb_py), Vec::<String>::new());
        let typos = config(serde_json::json!({
            "sever": {},
            "server": {"auth": {"enable": true}, "colour": "blue"},
            "provider": {"providers": [{"name": "a", "type": "mock", "wieght": 3}]}
        }));
        let problems = unknown_keys(&typos);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems
            .contains(&"server.auth.enable: unknown key; did you mean 'enabled'?".to_owned()));
        assert!(problems.contains(
            &"provider.providers[0].wieght: unknown key; did you mean 'weight'?".to_owned()
        ));
        assert!(problems
            .iter()
            .any(|p| p.starts_with("sever: unknown key; did you mean 'server'")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("server.colour: unknown key; the keys here are host, port")),
            "{problems:?}"
        );
    }
}
