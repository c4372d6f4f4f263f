//! Loading the configuration: layers, discovery, validation.
//!
//! Layers, later wins: built-in defaults (the serde defaults of [`OrbConfig`]); the config file; `ORB_*` variables for any core key
//! (`ORB_LOGGING__LEVEL`, `__` for nesting) and the Python ORB's short names
//! (`ORB_LOG_LEVEL`, `ORB_PLUGINS_DIR`); then `ORB_<TYPE>_*` variables over the `config` of
//! every provider instance of that type. Last, `$VAR`/`${VAR}` are expanded in every string.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::env::{merge, provider_overrides, provider_type_prefix, Env};
use super::expand::expand_value;
use super::model::{OrbConfig, ServerConfig};

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file that was asked for does not exist.
    #[error("config file {path} (named by {named_by}) does not exist")]
    Missing {
        /// The file.
        path: PathBuf,
        /// What named it (`--config`, `ORB_CONFIG_FILE`).
        named_by: &'static str,
    },
    /// The file could not be read or parsed.
    #[error("cannot load configuration: {0}")]
    Unreadable(String),
    /// Values are wrong; each line names the key and the reason.
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// The loaded configuration and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The effective configuration.
    pub config: OrbConfig,
    /// The config file used, if any.
    pub file: Option<PathBuf>,
    /// Variables the `server` section names that are not set: its strings are kept as written,
    /// and [`LoadedConfig::server`] refuses them.
    pub unresolved_server: Vec<String>,
}

/// Whether `name` is a core key in the documented form `ORB_<SECTION>__<KEY>` (`__` for
/// nesting). Every other `ORB_*` variable (the Python ORB's directories, `ORB_VENV_PATH`,
/// `ORB_COMMAND`, the scripts' `ORB_BIN`, a token's `ORB_API_TOKEN`...) is no configuration key
/// unless it is one of the short names of [`ALIASES`]: it changes nothing, where a slip inside
/// the documented form (`ORB_SERVER__PROT`) is an error naming the key.
fn is_core_key(name: &str) -> bool {
    name.strip_prefix("ORB_")
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(section, key)| !section.is_empty() && !key.is_empty())
}

/// The Python ORB's short names for core keys (its documented list, and orb's plugins
/// directory).
const ALIASES: &[(&str, &str)] = &[
    ("ORB_LOG_LEVEL", "logging.level"),
    ("ORB_LOG_CONSOLE_ENABLED", "logging.console_enabled"),
    ("ORB_REQUEST_TIMEOUT", "request.default_timeout"),
    (
        "ORB_MAX_MACHINES_PER_REQUEST",
        "request.max_machines_per_request",
    ),
    ("ORB_DEBUG", "debug"),
    ("ORB_ENVIRONMENT", "environment"),
    ("ORB_SCHEDULER_OVERRIDE", "scheduler.type"),
    ("ORB_PLUGINS_DIR", "plugins.dir"),
];

/// Finds the config file: `--config`, then `ORB_CONFIG_FILE` (both must exist), then the
/// first that exists of `$ORB_CONFIG_DIR/config.json`, `$ORB_ROOT_DIR/config/config.json`,
/// `$HF_PROVIDER_CONFDIR/config.json`,
/// `config/config.json` under the working directory and under the installation (the parent
/// of the directory holding the `orb` binary).
pub fn find_config_file(
    explicit: Option<&Path>,
    env: &Env,
    exe_dir: Option<&Path>,
) -> Result<Option<PathBuf>, ConfigError> {
    for (path, named_by) in [
        (explicit.map(Path::to_path_buf), "--config"),
        (
            env.get("ORB_CONFIG_FILE").map(PathBuf::from),
            "ORB_CONFIG_FILE",
        ),
    ] {
        if let Some(path) = path {
            return if path.is_file() {
                Ok(Some(path))
            } else {
                Err(ConfigError::Missing { path, named_by })
            };
        }
    }
    let candidates = [
        env.get("ORB_CONFIG_DIR")
            .map(|d| Path::new(d).join("config.json")),
        env.get("ORB_ROOT_DIR")
            .map(|d| Path::new(d).join("config").join("config.json")),
        env.get("HF_PROVIDER_CONFDIR")
            .map(|d| Path::new(d).join("config.json")),
        Some(PathBuf::from("config/config.json")),
        exe_dir
            .and_then(Path::parent)
            .map(|d| d.join("config/config.json")),
        // Where orb's Debian package puts it.
        Some(PathBuf::from("/etc/orb/config.json")),
    ];
    Ok(candidates.into_iter().flatten().find(|p| p.is_file()))
}

/// Loads the configuration from `file` (if any) and `env`. `$VAR`s of the `server` section
/// that are not set are no error here, only for `orb serve` ([`LoadedConfig::server`]).
pub fn load(file: Option<&Path>, env: &Env) -> Result<LoadedConfig, ConfigError> {
    let defaults =
        serde_json::to_string(&OrbConfig::default()).expect("defaults serialize to JSON");
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(&defaults, config::FileFormat::Json));
    if let Some(file) = file {
        builder = builder.add_source(
            config::File::from(file.to_path_buf())
                .format(config::FileFormat::Json)
                .required(true),
        );
    }

    // Core keys: every ORB_ variable but the provider-type ones and those with their own
    // meaning. The provider types are known only from the file, so read it first.
    let file_types = match file {
        Some(f) => provider_types_in(f)?,
        None => BTreeSet::new(),
    };
    let type_prefixes: Vec<String> = file_types.iter().map(|t| provider_type_prefix(t)).collect();
    let core: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| is_core_key(k))
        .filter(|(k, _)| !type_prefixes.iter().any(|p| k.starts_with(p.as_str())))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix("ORB")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(core)),
    );
    for (var, key) in ALIASES {
        if let Some(value) = env.get(var) {
            builder = builder
                .set_override(*key, typed(value))
                .map_err(|e| ConfigError::Unreadable(e.to_string()))?;
        }
    }
    let mut value: Value = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError::Unreadable(e.to_string()))?;

    apply_provider_overrides(&mut value, env);
    // The server's values are resolved where they are used, by `orb serve`: a Host Factory
    // call on a host that does not hold the server's secrets needs none of them.
    let server = value.as_object_mut().and_then(|v| v.remove("server"));
    expand_value(&mut value, env).map_err(unset_error)?;
    let mut unresolved_server = Vec::new();
    if let Some(server) = server {
        let mut expanded = server.clone();
        let kept = match expand_value(&mut expanded, env) {
            Ok(()) => expanded,
            Err(unset) => {
                unresolved_server = unset;
                server
            }
        };
        value
            .as_object_mut()
            .expect("the layers make an object")
            .insert("server".to_owned(), kept);
    }

    let config: OrbConfig = serde_path_to_error::deserialize(&value)
        .map_err(|e| ConfigError::Invalid(vec![format!("{}: {}", e.path(), e.inner())]))?;
    validate(&config)?;
    Ok(LoadedConfig {
        config,
        file: file.map(Path::to_path_buf),
        unresolved_server,
    })
}

/// The error of variables used in the configuration but not set.
fn unset_error(unset: Vec<String>) -> ConfigError {
    ConfigError::Invalid(
        unset
            .into_iter()
            .map(|name| format!("${name} is used in the configuration but not set; set it, or write ${{{name}:-default}}"))
            .collect(),
    )
}

impl LoadedConfig {
    /// The `server` section as `orb serve` uses it: every variable it names must be set.
    pub fn server(&self) -> Result<&ServerConfig, ConfigError> {
        match self.unresolved_server.is_empty() {
            true => Ok(&self.config.server),
            false => Err(unset_error(self.unresolved_server.clone())),
        }
    }
}

/// A short name's value as the Python ORB converts it: a whole number is a number, the rest
/// text (booleans are read from text where a boolean is expected).
fn typed(value: &str) -> config::Value {
    match value.trim().parse::<i64>() {
        Ok(n) => n.into(),
        Err(_) => value.to_owned().into(),
    }
}

/// The provider types named in the file, to tell their variables from core keys.
fn provider_types_in(file: &Path) -> Result<BTreeSet<String>, ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::Unreadable(format!("{}: {e}", file.display())))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| ConfigError::Unreadable(format!("{}: {e}", file.display())))?;
    Ok(value["provider"]["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["type"].as_str().map(str::to_owned))
        .collect())
}

fn apply_provider_overrides(value: &mut Value, env: &Env) {
    let Some(providers) = value
        .pointer_mut("/provider/providers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut patches: BTreeMap<String, Value> = BTreeMap::new();
    for instance in providers.iter_mut() {
        let Some(provider_type) = instance["type"].as_str().map(str::to_owned) else {
            continue;
        };
        let patch = patches
            .entry(provider_type.clone())
            .or_insert_with(|| Value::Object(provider_overrides(env, &provider_type)));
        if patch.as_object().is_some_and(|p| !p.is_empty()) {
            let target = instance
                .as_object_mut()
                .expect("a provider instance with a type is an object")
                .entry("config")
                .or_insert_with(|| Value::Object(Default::default()));
            merge(target, patch.clone());
        }
    }
}

const LEVELS: &[&str] = &[
    "error", "warn", "warning", "info", "debug", "trace", "critical",
];

/// Every problem with the values, at once, each naming its key.
fn validate(config: &OrbConfig) -> Result<(), ConfigError> {
    let mut problems = super::keys::unknown_keys(config);
    let mut names = BTreeSet::new();
    for (i, p) in config.provider.providers.iter().enumerate() {
        let key = format!("provider.providers[{i}]");
        if p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            problems.push(format!(
                "{key}.name: '{}' is not a valid instance name (letters, digits, '-', '_' and '.')",
                p.name
            ));
        }
        if !names.insert(p.name.as_str()) {
            problems.push(format!(
                "{key}.name: provider instance name '{}' is used twice",
                p.name
            ));
        }
        if p.provider_type.is_empty() {
            problems.push(format!("{key}.type: a provider type is required"));
        }
        if p.weight == 0 {
            problems.push(format!("{key}.weight: must be greater than 0"));
        }
        if !p.config.is_object() {
            problems.push(format!("{key}.config: must be an object"));
        }
    }
    if let Some(default) = &config.provider.default_provider_instance {
        if !names.contains(default.as_str()) {
            problems.push(format!(
                "provider.default_provider_instance: no provider instance is named '{default}'"
            ));
        }
    }
    if !LEVELS.contains(&config.logging.level.to_ascii_lowercase().as_str()) {
        problems.push(format!(
            "logging.level: '{}' is not one of error, warn, info, debug, trace",
            config.logging.level
        ));
    }
    if !matches!(config.logging.format.as_str(), "text" | "json") {
        problems.push(format!(
            "logging.format: '{}' is not text or json",
            config.logging.format
        ));
    }
    let storage = &config.storage;
    if !(storage.is_postgres() || matches!(storage.backend(), "sqlite" | "sql" | "json")) {
        problems.push(format!(
            "storage.type: '{}' is not supported; use sqlite or postgresql",
            storage.backend()
        ));
    }
    if storage.is_postgres() {
        if storage.url.is_some() == storage.url_file.is_some() {
            problems
                .push("storage: type postgresql needs exactly one of url and url_file".to_owned());
        }
        if storage.pool_size == Some(0) {
            problems.push("storage.pool_size: 0 connections cannot serve a call".to_owned());
        }
        if !matches!(
            storage.tls.as_deref(),
            None | Some("disable" | "verify-full")
        ) {
            problems.push(format!(
                "storage.tls: '{}' is not disable or verify-full",
                storage.tls.as_deref().unwrap_or_default()
            ));
        }
    } else if let Some(key) = [
        ("url", storage.url.is_some()),
        ("url_file", storage.url_file.is_some()),
        ("pool_size", storage.pool_size.is_some()),
        ("tls", storage.tls.is_some()),
        ("tls_ca_file", storage.tls_ca_file.is_some()),
    ]
    .iter()
    .find_map(|(key, set)| set.then_some(key))
    {
        problems.push(format!(
            "storage.{key} applies to PostgreSQL only; set storage.type to postgresql or remove it"
        ));
    }
    if crate::dialect::Dialect::parse(&config.scheduler.kind).is_none() {
        problems.push(format!(
            "scheduler.type: '{}' is not hostfactory (or hf) or default",
            config.scheduler.kind
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, value: &Value) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
        path
    }

    fn orb_file() -> Value {
        // The shape `orb init --scheduler hostfactory` writes in the Python ORB, plus
        // sections orb does not use.
        json!({
            "version": "2.0.0",
            "scheduler": {"type": "hostfactory", "config_root": "$ORB_CONFIG_DIR"},
            "provider": {
                "providers": [{
                    "name": "aws_default_us-east-1", "type": "aws", "enabled": true,
                    "config": {"profile": "default", "region": "us-east-1",
                               "handlers": {"ec2_fleet": false, "asg": true}},
                    "template_defaults": {"subnet_ids": ["subnet-1"]}
                }, {"name": "mock-a", "type": "mock", "priority": 2}],
                "default_provider_instance": "aws_default_us-east-1",
                "provider_defaults": {"aws": {"handlers": {"EC2Fleet": {"supports_spot": true}}}}
            },
            "storage": {"strategy": "sql"},
            "logging": {"level": "INFO"},
            "naming": {"prefixes": {"request": "req-"}}
        })
    }

    #[test]
    fn an_orb_config_file_loads_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), &orb_file());
        let loaded = load(Some(&file), &Env::default()).unwrap();
        let c = &loaded.config;
        assert_eq!(c.provider.providers.len(), 2);
        assert_eq!(c.provider.providers[1].weight, 100);
        assert!(c.provider.providers[1].enabled);
        assert_eq!(c.storage.backend(), "sql");
        assert_eq!(c.extra["naming"]["prefixes"]["request"], "req-");
        // Case is kept in file keys.
        assert!(c.provider.provider_defaults["aws"].extra["handlers"]["EC2Fleet"].is_object());
        // Unset variables stay as written.
        assert_eq!(c.scheduler.extra["config_root"], "$ORB_CONFIG_DIR");
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), &orb_file());
        let env = Env::from_pairs([
            ("ORB_LOGGING__LEVEL", "debug"),
            ("ORB_SERVER__PORT", "9001"),
            ("ORB_PLUGINS_DIR", "/opt/orb/plugins"),
            ("ORB_AWS_REGION", "eu-west-1"),
            ("ORB_AWS_HANDLERS__EC2_FLEET", "true"),
            ("ORB_MOCK_PENDING_SECONDS", "3"),
            ("ORB_CONFIG_DIR", "/etc/orb"),
        ]);
        let c = load(Some(&file), &env).unwrap().config;
        assert_eq!(c.logging.level, "debug");
        assert_eq!(c.server.port, 9001);
        assert_eq!(c.plugins.dir, Some(PathBuf::from("/opt/orb/plugins")));
        let aws = &c.provider.providers[0].config;
        assert_eq!(aws["region"], "eu-west-1");
        assert_eq!(aws["profile"], "default");
        assert_eq!(aws["handlers"], json!({"ec2_fleet": true, "asg": true}));
        assert_eq!(
            c.provider.providers[1].config,
            json!({"pending_seconds": 3})
        );
        // Provider-type variables are not core keys.
        assert!(!c.extra.contains_key("aws_region"));
        assert_eq!(c.scheduler.extra["config_root"], "/etc/orb");
    }

    #[test]
    fn orb_short_names_are_honoured() {
        let c = load(
            None,
            &Env::from_pairs([
                ("ORB_LOG_LEVEL", "ERROR"),
                ("ORB_LOG_CONSOLE_ENABLED", "true"),
                ("ORB_REQUEST_TIMEOUT", "900"),
                ("ORB_MAX_MACHINES_PER_REQUEST", "7"),
                ("ORB_DEBUG", "false"),
                ("ORB_ENVIRONMENT", "production"),
                ("ORB_SCHEDULER_OVERRIDE", "default"),
                // Directories and the web UI's settings are not configuration keys.
                ("ORB_ROOT_DIR", "/opt/orb"),
                ("ORB_SCRIPTS_DIR", "/opt/orb/scripts"),
                ("ORB_CACHE_DIR", "/opt/orb/.cache"),
                ("ORB_MODE", "embedded"),
                ("ORB_UI_BACKEND_PORT", "8001"),
            ]),
        )
        .unwrap()
        .config;
        assert_eq!(c.logging.level, "ERROR");
        assert!(c.logging.console_enabled);
        assert_eq!(c.request.default_timeout, 900);
        assert_eq!(c.request.max_machines_per_request, 7);
        assert_eq!(c.scheduler.kind, "default");
        assert_eq!(c.extra["environment"], "production");
    }

    #[test]
    fn orbs_other_variables_change_nothing_and_a_slip_in_the_documented_form_is_named() {
        // What a host cut over from the Python ORB still sets, and what orb's scripts and unit
        // add: none is a configuration key.
        let site = [
            ("ORB_ROOT_DIR", "/opt/orb"),
            ("ORB_CONFIG_DIR", "/opt/orb/config"),
            ("ORB_WORK_DIR", "/opt/orb/work"),
            ("ORB_LOG_DIR", "/opt/orb/logs"),
            ("ORB_SCRIPTS_DIR", "/opt/orb/scripts"),
            ("ORB_VENV_PATH", "/opt/orb/.venv"),
            ("ORB_COMMAND", "orb"),
            ("ORB_PACKAGE_NAME", "orb-py"),
            ("ORB_BIN", "/usr/bin/orb"),
            ("ORB_API_TOKEN", "s3cret-token-value"),
            ("ORB_SOMETHING_NEW", "1"),
        ];
        let c = load(None, &Env::from_pairs(site)).unwrap().config;
        assert!(c.extra.is_empty(), "{:?}", c.extra);
        let mut env = site.to_vec();
        env.push(("ORB_SERVER__PROT", "9000"));
        let e = load(None, &Env::from_pairs(env)).unwrap_err().to_string();
        assert!(e.contains("server.prot"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn the_servers_variables_are_needed_by_the_server_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = orb_file();
        v["server"] = json!({"auth": {"enabled": true, "tokens": [{"token": "$ORB_ADMIN_TOKEN", "role": "admin"}]}});
        let file = write(dir.path(), &v);
        // A script host without the server's secret loads the configuration.
        let loaded = load(Some(&file), &Env::default()).unwrap();
        assert_eq!(loaded.config.provider.providers.len(), 2);
        let e = loaded.server().unwrap_err().to_string();
        assert!(
            e.contains("$ORB_ADMIN_TOKEN is used in the configuration but not set"),
            "{e}"
        );
        // The server's host has it.
        let token = "t".repeat(40);
        let loaded = load(
            Some(&file),
            &Env::from_pairs([("ORB_ADMIN_TOKEN", token.as_str())]),
        )
        .unwrap();
        assert_eq!(loaded.server().unwrap().auth.tokens[0].token, token);
        // Any other section still needs its variables at once.
        v["storage"] = json!({"path": "$ORB_STATE_FILE"});
        let e = load(Some(&write(dir.path(), &v)), &Env::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("$ORB_STATE_FILE"), "{e}");
    }

    #[test]
    fn booleans_from_the_environment_take_orbs_spellings() {
        for (raw, want) in [
            ("true", true),
            ("YES", true),
            ("1", true),
            ("No", false),
            ("0", false),
        ] {
            for var in ["ORB_LOG_CONSOLE_ENABLED", "ORB_LOGGING__CONSOLE_ENABLED"] {
                let c = load(None, &Env::from_pairs([(var, raw)])).unwrap().config;
                assert_eq!(c.logging.console_enabled, want, "{var}={raw}");
            }
        }
        let e = load(
            None,
            &Env::from_pairs([("ORB_LOG_CONSOLE_ENABLED", "maybe")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("console_enabled"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = orb_file();
        v["provider"]["providers"][1]["priority"] = json!("high");
        let err = load(Some(&write(dir.path(), &v)), &Env::default()).unwrap_err();
        assert!(
            err.to_string().contains("provider.providers[1].priority"),
            "{err}"
        );

        let mut v = orb_file();
        v["provider"]["providers"][1]["name"] = json!("aws_default_us-east-1");
        v["logging"]["level"] = json!("loud");
        let err = load(Some(&write(dir.path(), &v)), &Env::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("used twice"), "{text}");
        assert!(text.contains("logging.level"), "{text}");
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{\"provider\": ").unwrap();
        let err = load(Some(&path), &Env::default()).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn discovery_follows_the_documented_order() {
        let dir = tempfile::tempdir().unwrap();
        let orb_dir = dir.path().join("orb");
        let hf_dir = dir.path().join("hf");
        std::fs::create_dir_all(&orb_dir).unwrap();
        std::fs::create_dir_all(&hf_dir).unwrap();
        std::fs::write(hf_dir.join("config.json"), "{}").unwrap();
        let env = Env::from_pairs([
            ("ORB_CONFIG_DIR", orb_dir.to_str().unwrap()),
            ("HF_PROVIDER_CONFDIR", hf_dir.to_str().unwrap()),
        ]);
        // ORB_CONFIG_DIR has no file, so Host Factory's directory is next.
        assert_eq!(
            find_config_file(None, &env, None).unwrap(),
            Some(hf_dir.join("config.json"))
        );
        std::fs::write(orb_dir.join("config.json"), "{}").unwrap();
        assert_eq!(
            find_config_file(None, &env, None).unwrap(),
            Some(orb_dir.join("config.json"))
        );
        let missing = dir.path().join("nope.json");
        assert!(matches!(
            find_config_file(Some(&missing), &env, None),
            Err(ConfigError::Missing {
                named_by: "--config",
                ..
            })
        ));
        let env = Env::from_pairs([("ORB_CONFIG_FILE", missing.to_str().unwrap())]);
        assert!(matches!(
            find_config_file(None, &env, None),
            Err(ConfigError::Missing {
                named_by: "ORB_CONFIG_FILE",
                ..
            })
        ));
    }
}
