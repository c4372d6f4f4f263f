//! Telling a misspelt key from a key orb does not know.
//!
//! orb keeps keys it does not use (the Python ORB's, a newer orb's), so an unknown key alone is
//! no error. A key that is one slip away from a key orb knows is: `server.auth.enable` for
//! `enabled`, or a template's `maxNumbr`, would otherwise switch a feature off in silence.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::model::{
    AuthConfig, LoggingConfig, OrbConfig, ProviderSection, RequestConfig, SchedulerConfig,
    ServerConfig, StorageConfig,
};

/// A problem for every key of the configuration's sections that is a slip for a known one.
pub fn slips(config: &OrbConfig) -> Vec<String> {
    let mut storage_keys = keys_of(&StorageConfig::default());
    storage_keys.extend(["type".to_owned(), "strategy".to_owned()]);
    let mut sections: Vec<(String, &BTreeMap<String, Value>, Vec<String>)> = vec![
        (String::new(), &config.extra, keys_of(&OrbConfig::default())),
        (
            "scheduler.".into(),
            &config.scheduler.extra,
            keys_of(&SchedulerConfig::default()),
        ),
        (
            "provider.".into(),
            &config.provider.extra,
            keys_of(&ProviderSection::default()),
        ),
        ("storage.".into(), &config.storage.extra, storage_keys),
        (
            "logging.".into(),
            &config.logging.extra,
            keys_of(&LoggingConfig::default()),
        ),
        (
            "server.".into(),
            &config.server.extra,
            keys_of(&ServerConfig::default()),
        ),
        (
            "server.auth.".into(),
            &config.server.auth.extra,
            keys_of(&AuthConfig::default()),
        ),
        (
            "request.".into(),
            &config.request.extra,
            keys_of(&RequestConfig::default()),
        ),
    ];
    let instance_keys: Vec<String> = INSTANCE_KEYS.map(str::to_owned).to_vec();
    for (i, instance) in config.provider.providers.iter().enumerate() {
        sections.push((
            format!("provider.providers[{i}]."),
            &instance.extra,
            instance_keys.clone(),
        ));
    }
    let mut problems = Vec::new();
    for (prefix, extra, known) in &sections {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        for key in extra.keys() {
            if let Some(meant) = likely_meant(key, &known) {
                problems.push(format!(
                    "{prefix}{key}: unknown key; did you mean '{meant}'?"
                ));
            }
        }
    }
    problems
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

/// The known key `key` is most likely a slip for, when it is not itself one of `known`: the same
/// letters in another case, or at most two edits away (one for short keys).
pub fn likely_meant<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    if known.contains(&key) {
        return None;
    }
    let folded = key.to_ascii_lowercase().replace(['_', '-'], "");
    known
        .iter()
        .filter_map(|k| {
            let candidate = k.to_ascii_lowercase().replace(['_', '-'], "");
            let distance = if candidate == folded {
                0
            } else {
                edit_distance(&folded, &candidate)
            };
            let allowed = if candidate.len() <= 5 { 1 } else { 2 };
            (distance <= allowed).then_some((distance, *k))
        })
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance of two short ASCII-folded keys; keys are bounded by the callers'
/// inputs (JSON object keys of a configuration or templates file), and a key over 64 bytes is
/// never a slip.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_are_found_and_other_keys_are_not() {
        let known = ["enabled", "tokens", "jwt", "maxNumber", "templateId"];
        assert_eq!(likely_meant("enable", &known), Some("enabled"));
        assert_eq!(likely_meant("maxNumbr", &known), Some("maxNumber"));
        assert_eq!(likely_meant("max_number", &known), Some("maxNumber"));
        assert_eq!(likely_meant("Enabled", &known), Some("enabled"));
        assert_eq!(likely_meant("enabled", &known), None);
        assert_eq!(likely_meant("strategy", &known), None);
        assert_eq!(likely_meant(&"x".repeat(500), &known), None);
    }
}
