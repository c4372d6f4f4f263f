//! The configuration's shape: the layout of the Python ORB's `config.json`.
//!
//! Sections and keys orb does not use are kept (in `extra`) so an operator's existing file loads
//! unchanged and `orb config show` shows all of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrbConfig {
    /// Host Factory integration.
    pub scheduler: SchedulerConfig,
    /// Provider instances and their defaults.
    pub provider: ProviderSection,
    /// Where state is kept.
    pub storage: StorageConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Service mode.
    pub server: ServerConfig,
    /// Request handling.
    pub request: RequestConfig,
    /// Provider plugin libraries.
    pub plugins: PluginsConfig,
    /// Global template defaults, applied under every template.
    pub template: Map<String, Value>,
    /// Every other section, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `scheduler` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    /// The dialect of the CLI's and the REST API's answers: `hostfactory` (IBM's camelCase)
    /// or `default` (the Python ORB's snake_case); see [`crate::dialect`]. Host Factory's calls
    /// always answer in camelCase.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where templates files are looked for; default: the directory of the config file.
    pub config_dir: Option<PathBuf>,
    /// Where state is kept.
    pub work_dir: Option<PathBuf>,
    /// Where log files go.
    pub log_dir: Option<PathBuf>,
    /// The templates file name, overriding the usual search.
    pub templates_filename: Option<String>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            kind: "hostfactory".into(),
            config_dir: None,
            work_dir: None,
            log_dir: None,
            templates_filename: None,
            extra: BTreeMap::new(),
        }
    }
}

/// The `provider` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSection {
    /// The provider instances.
    pub providers: Vec<ProviderInstanceConfig>,
    /// Defaults per provider type.
    pub provider_defaults: BTreeMap<String, ProviderDefaults>,
    /// The instance used when nothing else picks one.
    pub default_provider_instance: Option<String>,
    /// Seconds each provider operation may take before orb stops waiting for it.
    pub call_timeouts: CallTimeouts,
    /// Seconds a provider's instance-type facts (vCPUs, memory) stay in the store before they
    /// are asked for again; 0 asks on every listing.
    pub instance_type_cache_seconds: u64,
    /// How a request orders its candidate instances (`priority` by default).
    pub selection_policy: super::SelectionPolicy,
    /// Named groups of instances that serve as one.
    pub pools: super::Pools,
    /// When an instance is skipped for failing.
    pub circuit_breaker: super::CircuitBreakerConfig,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ProviderSection {
    /// The instances that serve, in configuration order.
    pub fn enabled(&self) -> impl Iterator<Item = &ProviderInstanceConfig> {
        self.providers.iter().filter(|p| p.enabled)
    }

    /// Whether Host Factory's `HF_PROVIDER_NAME` names an instance or a pool of this
    /// configuration. A name that is neither is Host Factory's own name for the provider
    /// (`hostProviders.json`'s), which the Python ORB never read: `Ok(false)`, and the default
    /// instance serves. A slip of one of them (`mockinstt`) is the error, naming the one meant.
    pub fn names(&self, name: &str) -> Result<bool, String> {
        let known: Vec<&str> = self
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.pools.keys().map(String::as_str))
            .collect();
        if known.contains(&name) {
            return Ok(true);
        }
        match orb_plugin_api::likely_meant(name, &known) {
            None => Ok(false),
            Some(meant) => Err(format!(
                "HF_PROVIDER_NAME '{name}' names no configured provider instance; configured: {} (did you mean '{meant}'?)",
                known.join(", ")
            )),
        }
    }
}

impl Default for ProviderSection {
    fn default() -> Self {
        ProviderSection {
            providers: Vec::new(),
            provider_defaults: BTreeMap::new(),
            default_provider_instance: None,
            call_timeouts: CallTimeouts::default(),
            instance_type_cache_seconds: 24 * 3600,
            selection_policy: super::SelectionPolicy::default(),
            pools: super::Pools::default(),
            circuit_breaker: super::CircuitBreakerConfig::default(),
            extra: BTreeMap::new(),
        }
    }
}

/// `provider.call_timeouts`: seconds each provider operation may take. A call past its
/// timeout fails (the provider's work may go on; orb no longer waits for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallTimeouts {
    /// Starting machines.
    pub provision_machines: u64,
    /// Starting terminations.
    pub terminate_machines: u64,
    /// Status queries.
    pub machine_status: u64,
    /// Cancelling a request (deleting its fleets and groups, terminating its machines).
    pub cancel_request: u64,
    /// Every other operation (health, templates, validation, instance types, metrics).
    pub other: u64,
}

impl Default for CallTimeouts {
    fn default() -> Self {
        CallTimeouts {
            provision_machines: 120,
            terminate_machines: 60,
            machine_status: 30,
            cancel_request: 120,
            other: 30,
        }
    }
}

impl CallTimeouts {
    /// The timeout of `operation`.
    pub fn of(&self, operation: &str) -> std::time::Duration {
        std::time::Duration::from_secs(match operation {
            "provision_machines" => self.provision_machines,
            "terminate_machines" => self.terminate_machines,
            "machine_status" => self.machine_status,
            "cancel_request" => self.cancel_request,
            _ => self.other,
        })
    }
}

/// One provider instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderInstanceConfig {
    /// Its unique name (Host Factory's `HF_PROVIDER_NAME`).
    pub name: String,
    /// Its provider type, offered by a plugin library.
    #[serde(rename = "type")]
    pub provider_type: String,
    /// Whether it is used.
    #[serde(default = "yes", deserialize_with = "super::flag::deserialize")]
    pub enabled: bool,
    /// Lower is preferred.
    #[serde(default)]
    pub priority: i64,
    /// Relative weight among instances of equal priority.
    #[serde(default = "hundred")]
    pub weight: u32,
    /// The provider's own configuration, handed to the plugin.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Template defaults for this instance.
    #[serde(default)]
    pub template_defaults: Map<String, Value>,
    /// The most active machines it may hold; `least_loaded` picks by the room left under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_machines: Option<u32>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

fn yes() -> bool {
    true
}

fn hundred() -> u32 {
    100
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// `provider.provider_defaults.<type>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderDefaults {
    /// Template defaults for every instance of the type.
    pub template_defaults: Map<String, Value>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `storage` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageConfig {
    /// The backend: `sqlite` (the default) or `postgresql`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The Python ORB's name for the backend (`json`, `sql`); state goes to SQLite either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The database file; default `<work dir>/orb.db`.
    pub path: Option<PathBuf>,
    /// Opens a database on a network file system (NFS, CIFS...), which is refused otherwise:
    /// safe only when a single host ever opens it.
    #[serde(deserialize_with = "super::flag::deserialize")]
    pub allow_network_filesystem: bool,
    /// PostgreSQL: the connection URL (`postgresql://user:password@host:port/database`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// PostgreSQL: a file holding the connection URL, so that no password sits in the
    /// configuration; relative to the configuration directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// PostgreSQL: the most connections one process opens (default 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
    /// PostgreSQL: `disable` (the default) or `verify-full` (TLS, with the server's certificate
    /// and name verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    /// PostgreSQL with `verify-full`: the certificate authorities (PEM) to verify the server
    /// with, instead of the system's; relative to the configuration directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl StorageConfig {
    /// Whether the state lives in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend(), "postgresql" | "postgres")
    }

    /// The backend named by `type`, else by `strategy`, else `sqlite`.
    pub fn backend(&self) -> &str {
        self.kind
            .as_deref()
            .or(self.strategy.as_deref())
            .unwrap_or("sqlite")
    }
}

/// The `logging` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggingConfig {
    /// `error`, `warn`, `info`, `debug` or `trace` (any case; ORB's `WARNING` and `CRITICAL`
    /// are accepted too).
    pub level: String,
    /// A log file; default `<log dir>/orb.log` when a log directory is known.
    pub file_path: Option<PathBuf>,
    /// Without a log file, whether logs go to stderr (else nowhere); with one, logs go to the
    /// file only.
    #[serde(deserialize_with = "super::flag::deserialize")]
    pub console_enabled: bool,
    /// `text` or `json` (JSON lines).
    pub format: String,
    /// The log file's largest size in bytes before it rotates (0: never), as the Python ORB's.
    pub max_size: u64,
    /// How many rotated files are kept (`orb.log.1` the newest).
    pub backup_count: u32,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "warn".into(),
            file_path: None,
            console_enabled: true,
            format: "text".into(),
            max_size: 10 * 1024 * 1024,
            backup_count: 5,
            extra: BTreeMap::new(),
        }
    }
}

/// The `server` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// The address to bind.
    pub host: String,
    /// The port to bind.
    pub port: u16,
    /// Seconds between two refreshes of the running requests from their providers.
    pub reconcile_interval_seconds: u64,
    /// Seconds between two background checks of the providers' health, which `/health`
    /// answers from.
    pub health_interval_seconds: u64,
    /// Seconds a replica's leadership (it alone runs the reconcile loop) and its liveness last
    /// unless renewed; renewed every third of it. Another replica takes over within this
    /// after the leader dies.
    pub leader_lease_seconds: u64,
    /// Seconds `POST /machines/request` waits for the provider to take the request before it
    /// answers, as the Python ORB answers only then: a first status read lists the machines.
    /// 0 answers at once. A longer provision goes on in the background either way.
    pub accept_wait_seconds: u64,
    /// Largest request body accepted, in bytes.
    pub max_request_size: usize,
    /// Who may call the API.
    pub auth: AuthConfig,
    /// Calls each client (address) may make.
    pub rate_limit: RateLimitConfig,
    /// Host names (with or without a port) the server answers to beside loopback names and
    /// addresses; `*` answers any (only sensible behind a proxy that checks them).
    pub allowed_hosts: Vec<String>,
    /// Addresses of the reverse proxies in front (the Python ORB's key): a call from one of
    /// them counts against the client its `X-Forwarded-For` names, not against the proxy.
    pub trusted_proxies: Vec<String>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8000,
            reconcile_interval_seconds: 5,
            health_interval_seconds: 30,
            leader_lease_seconds: 15,
            accept_wait_seconds: 10,
            max_request_size: 1 << 20,
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// What to do with the machines of a request whose provisioning process died before it could
/// tell its caller the request id (so nobody will ever ask for them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanPolicy {
    /// Finish provisioning and keep the machines on record (`orb machines list`).
    #[default]
    Adopt,
    /// Terminate them.
    Terminate,
}

/// `server.rate_limit`: a token bucket per client address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Calls per minute a client may sustain; 0 turns the limit off.
    pub requests_per_minute: u32,
    /// Calls a client may make at once above that pace.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests_per_minute: 600,
            burst: 100,
        }
    }
}

/// `server.auth`: bearer tokens and the role each grants.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Whether callers must present a token.
    #[serde(deserialize_with = "super::flag::deserialize")]
    pub enabled: bool,
    /// The tokens (`$VAR` expansion keeps them out of the file).
    pub tokens: Vec<TokenConfig>,
    /// JSON Web Tokens signed with HS256 are accepted too, when set.
    pub jwt: Option<JwtConfig>,
    /// The Python ORB's choice of how callers authenticate: `bearer_token` (and
    /// `bearer_token_enhanced`) accept the JSON Web Tokens ORB mints with
    /// [`AuthConfig::bearer_token`]'s key; `none` or unset, only `tokens` and `jwt`.
    pub strategy: Option<String>,
    /// The Python ORB's JSON Web Tokens, for `strategy: bearer_token`: tokens minted by ORB
    /// (a `roles` list claim) keep their roles.
    pub bearer_token: Option<BearerTokenConfig>,
    /// Of `/metrics` and `/openapi.json`, those served without a token when auth is on
    /// (the documentation page `/docs` and the document it reads are always).
    pub public_paths: Vec<String>,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `server.auth.jwt`: HS256 JSON Web Tokens, whose `role` claim names the role and whose `exp`
/// claim (required) ends them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The shared secret, at least 32 bytes.
    pub secret: String,
    /// The `iss` tokens must carry, when set (tokens without it are refused then).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Seconds of clock difference allowed when checking `exp` and `nbf`.
    #[serde(default = "five")]
    pub leeway_seconds: u64,
}

fn five() -> u64 {
    5
}

/// `server.auth.bearer_token`: the Python ORB's JSON Web Token settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BearerTokenConfig {
    /// The key tokens are signed with, at least 32 bytes.
    pub secret_key: String,
    /// `HS256` (ORB's default), `HS384` or `HS512`.
    #[serde(default = "hs256")]
    pub algorithm: String,
    /// ORB's lifetime of the tokens it mints; each token's own `exp` ends it here.
    #[serde(default)]
    pub token_expiry: Option<u64>,
}

fn hs256() -> String {
    "HS256".into()
}

impl AuthConfig {
    /// Whether `strategy` names the Python ORB's bearer tokens.
    pub fn orb_bearer_tokens(&self) -> Option<&BearerTokenConfig> {
        match self.strategy.as_deref() {
            Some("bearer_token" | "bearer_token_enhanced") => self.bearer_token.as_ref(),
            _ => None,
        }
    }
}

/// One bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The token.
    pub token: String,
    /// `viewer` (reads), `operator` (+ requests and returns) or `admin` (everything).
    pub role: Role,
}

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads, requests and returns machines.
    Operator,
    /// Everything: also administers (reloads, database clean-ups), reads the configuration,
    /// changes templates and purges stored rows.
    Admin,
}

/// The `request` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestConfig {
    /// Seconds an acquire request may take before it settles with what it has.
    pub default_timeout: u64,
    /// What to do with machines of requests abandoned before their id reached the caller.
    pub orphans: OrphanPolicy,
    /// The most machines one request may ask for, whatever its template allows.
    pub max_machines_per_request: u32,
    /// How many times a synchronous shortfall (some machines came, not all) is topped up on
    /// the same instance before what is still missing fails over (the Python ORB's key).
    pub fulfillment_max_retries: u32,
    /// Other keys, kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for RequestConfig {
    fn default() -> Self {
        RequestConfig {
            default_timeout: 300,
            orphans: OrphanPolicy::Adopt,
            max_machines_per_request: 1000,
            fulfillment_max_retries: 3,
            extra: BTreeMap::new(),
        }
    }
}

/// The `plugins` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// The directory provider libraries are loaded from.
    pub dir: Option<PathBuf>,
    /// Loads libraries that are writable by group or others or owned by another user.
    #[serde(deserialize_with = "super::flag::deserialize")]
    pub allow_insecure: bool,
    /// Library file name to its SHA-256 (hex); when set, every library must be listed.
    pub checksums: BTreeMap<String, String>,
}

impl SchedulerConfig {
    /// The dialect `type` names (loading refuses any other name).
    pub fn dialect(&self) -> crate::dialect::Dialect {
        crate::dialect::Dialect::parse(&self.kind).unwrap_or(crate::dialect::Dialect::HostFactory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_factorys_own_provider_name_is_no_slip_of_an_instance() {
        let section: ProviderSection = serde_json::from_value(serde_json::json!({
            "providers": [{"name": "aws_instance-profile_us-east-1", "type": "aws"},
                          {"name": "mockinst", "type": "mock"}],
            "pools": {"hpc": {"instances": ["mockinst"]}}
        }))
        .unwrap();
        assert_eq!(section.names("mockinst"), Ok(true));
        assert_eq!(section.names("hpc"), Ok(true));
        // IBM's and ORB's names for the provider in hostProviders.json.
        assert_eq!(section.names("awsinst"), Ok(false));
        assert_eq!(section.names("orb"), Ok(false));
        let slip = section.names("mockinstt").unwrap_err();
        assert!(slip.contains("did you mean 'mockinst'"), "{slip}");
    }
}
