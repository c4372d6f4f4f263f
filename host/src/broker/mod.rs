//! The broker: what orb does for a caller, whichever interface the caller uses (Host Factory
//! scripts, the operator CLI). It joins the store, the templates and the providers.
//!
//! State is written before the cloud is called and after it answers, each time in one
//! transaction, so a crash between the two leaves a request that a later call finishes.

mod acquire;
mod cancel;
mod discovery;
mod dry_run;
mod failover;
mod orphans;
pub mod owner;
mod power;
mod purge;
mod reclaim;
mod refresh;
mod release;
mod retry;
mod routing;
pub(crate) mod state;
mod steps;
mod template_edit;
mod undo;

use orb_plugin_api::operations::op;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use orb_plugin_api::{InstanceTypeInfo, Template};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::app::App;
use crate::config::{Env, OrbConfig, Paths, ProviderInstanceConfig};
use crate::domain::Request;
use crate::plugins::{ProviderCallError, ProviderHandle};
use crate::providers::{FactoryError, ProviderFactory};
use crate::storage::{Store, StoreError};
use crate::templates::{hf_attributes, host_problems, instance_type_of, load_catalog, Catalog};

pub use cancel::CancelReport;
pub use discovery::SavedDiscovery;
pub use dry_run::DryRun;
pub use power::Power;
pub use purge::Purged;
pub use reclaim::Reclaimed;
pub use refresh::{MachineView, RequestView};
pub use release::{MachineSpec, ReturnSummary, Unreturned};
pub use template_edit::Generated;

/// A listing of templates: those that can be served, and those that cannot, with why.
pub type Listing<'a> = (Vec<Listed<'a>>, Vec<(String, Vec<String>)>);

/// A listed template: the template, its Host Factory attributes, and the instance serving it.
pub type Listed<'a> = (Template, Value, &'a ProviderInstanceConfig);

/// Something the broker could not do.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The caller's input is wrong; nothing was changed.
    #[error("{0}")]
    BadInput(String),
    /// What the call names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// What the call would store is not valid: every problem; nothing was changed.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// What the call asks is not possible in the current state; nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The configuration cannot serve the call.
    #[error("{0}")]
    Config(String),
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] ProviderCallError),
    /// A provider instance could not be built.
    #[error(transparent)]
    Factory(#[from] FactoryError),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BrokerError {
    /// A short name of the error's kind, for machine-readable outputs.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerError::BadInput(_) => "BadInput",
            BrokerError::NotFound(_) => "NotFound",
            BrokerError::Invalid(_) => "ValidationError",
            BrokerError::Conflict(_) => "Conflict",
            BrokerError::Config(_) => "ConfigurationError",
            BrokerError::Provider(_) => "ProviderError",
            BrokerError::Factory(_) => "ProviderUnavailable",
            BrokerError::Store(_) => "StorageError",
        }
    }
}

/// The broker of one `orb` process.
pub struct Broker {
    config: OrbConfig,
    /// The configuration file read, when there is one.
    config_file: Option<std::path::PathBuf>,
    paths: Paths,
    env: Env,
    store: Arc<dyn Store>,
    factory: ProviderFactory,
    providers: Mutex<HashMap<String, ProviderHandle>>,
}

impl Broker {
    /// Opens the state database and loads the plugins for `app`.
    pub fn open(app: &App) -> Result<Broker, BrokerError> {
        Self::open_with(app, app.factory())
    }

    /// Opens the state database for `app`, with the plugins of `factory`.
    pub fn open_with(app: &App, factory: ProviderFactory) -> Result<Broker, BrokerError> {
        let config = &app.loaded.config;
        let store = state::open(app)?;
        Ok(Broker {
            config: config.clone(),
            config_file: app.loaded.file.clone(),
            paths: app.paths.clone(),
            env: app.env.clone(),
            store,
            factory,
            providers: Mutex::new(HashMap::new()),
        })
    }

    /// A broker for `app`'s configuration and `factory`'s plugins over this broker's state
    /// database: what a reload serves with.
    pub fn reconfigured(&self, app: &App, factory: ProviderFactory) -> Broker {
        Broker {
            config: app.loaded.config.clone(),
            config_file: app.loaded.file.clone(),
            paths: app.paths.clone(),
            env: app.env.clone(),
            store: Arc::clone(&self.store),
            factory,
            providers: Mutex::new(HashMap::new()),
        }
    }

    /// The plugins loaded when the broker opened.
    pub fn plugins(&self) -> &crate::plugins::PluginSet {
        self.factory.plugins()
    }

    /// The configuration the broker serves with.
    pub fn config(&self) -> &OrbConfig {
        &self.config
    }

    /// The configuration file read, when there is one.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.config_file.as_deref()
    }

    /// Where the configuration and the templates are.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The state store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The instance or pool `HF_PROVIDER_NAME` names, when it names one of this
    /// configuration; an error for a slip of a name.
    pub fn hf_provider_name(&self) -> Result<Option<&str>, BrokerError> {
        match self.env.get("HF_PROVIDER_NAME") {
            Some(name) => Ok(self
                .config
                .provider
                .names(name)
                .map_err(BrokerError::Config)?
                .then_some(name)),
            None => Ok(None),
        }
    }

    /// The provider instance that serves calls: the one named by `HF_PROVIDER_NAME` when it
    /// names one (a pool's first enabled instance by priority; an error for a slip of a name,
    /// see [`crate::config::ProviderSection::names`]),
    /// else `provider.default_provider_instance`,
    /// else the enabled instance of lowest priority (then highest weight).
    pub fn default_instance(&self) -> Result<&ProviderInstanceConfig, BrokerError> {
        let providers = &self.config.provider.providers;
        let named = |name: &str| providers.iter().find(|p| p.name == name);
        if let Some(name) = self.hf_provider_name()? {
            // A pool: its first enabled instance, by priority.
            if let Some(pool) = self.config.provider.pools.get(name) {
                return providers
                    .iter()
                    .filter(|p| p.enabled && pool.instances.contains(&p.name))
                    .min_by_key(|p| (p.priority, std::cmp::Reverse(p.weight)))
                    .ok_or_else(|| {
                        BrokerError::Config(format!(
                            "HF_PROVIDER_NAME '{name}' names a pool with no enabled instance"
                        ))
                    });
            }
            if let Some(p) = named(name) {
                return Ok(p);
            }
        }
        if let Some(p) = self
            .config
            .provider
            .default_provider_instance
            .as_deref()
            .and_then(named)
        {
            return Ok(p);
        }
        self.config
            .provider
            .enabled()
            .min_by_key(|p| (p.priority, std::cmp::Reverse(p.weight)))
            .ok_or_else(|| {
                BrokerError::Config(
                    "no provider instance is configured and enabled; add one to provider.providers"
                        .into(),
                )
            })
    }

    /// The configured instance named `name`.
    pub fn instance(&self, name: &str) -> Result<&ProviderInstanceConfig, BrokerError> {
        self.config
            .provider
            .providers
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                BrokerError::Config(format!(
                    "provider instance '{name}' is no longer configured; add it back to provider.providers to manage its machines"
                ))
            })
    }

    /// The provider of `instance`, built and initialised once per process.
    pub async fn provider(
        &self,
        instance: &ProviderInstanceConfig,
    ) -> Result<ProviderHandle, BrokerError> {
        let mut providers = self.providers.lock().await;
        if let Some(p) = providers.get(&instance.name) {
            return Ok(p.clone());
        }
        let provider = self.factory.build(instance).await?;
        provider.call::<op::Initialize>(&()).await?;
        providers.insert(instance.name.clone(), provider.clone());
        Ok(provider)
    }

    /// The provider of the configured instance named `name`.
    pub async fn provider_named(&self, name: &str) -> Result<ProviderHandle, BrokerError> {
        self.provider(self.instance(name)?).await
    }

    /// The templates `instance` serves: its templates files and its provider's own.
    pub async fn catalog(&self, instance: &ProviderInstanceConfig) -> Result<Catalog, BrokerError> {
        let provider = self.provider(instance).await?;
        let offered = provider.call::<op::AvailableTemplates>(&()).await?;
        let catalog = load_catalog(&self.config, &self.paths, &self.env, instance, offered);
        for problem in &catalog.problems {
            tracing::warn!(problem = %problem, "template skipped");
        }
        Ok(catalog)
    }

    /// The templates `instance` serves, refusing to serve from a catalog with problems: a
    /// templates file that cannot be read, or a template that is not valid as written.
    async fn sound_catalog(
        &self,
        instance: &ProviderInstanceConfig,
    ) -> Result<Catalog, BrokerError> {
        let catalog = self.catalog(instance).await?;
        if catalog.problems.is_empty() {
            return Ok(catalog);
        }
        Err(BrokerError::Config(format!(
            "the templates cannot be served: {}; fix them (orb templates validate lists every problem)",
            catalog.problems.join("; ")
        )))
    }

    /// The template `template_id` of the default instance, or an error listing those there are.
    pub async fn template(
        &self,
        template_id: &str,
    ) -> Result<(Template, &ProviderInstanceConfig), BrokerError> {
        let instance = self.default_instance()?;
        let catalog = self.sound_catalog(instance).await?;
        match catalog.get(template_id) {
            Some(t) => Ok((t.clone(), instance)),
            None => Err(BrokerError::BadInput(format!(
                "template '{template_id}' does not exist; available templates: {}",
                match catalog.templates.len() {
                    0 => format!(
                        "none (no templates file in {})",
                        self.paths.config_dir.display()
                    ),
                    _ => catalog
                        .templates
                        .iter()
                        .map(|t| t.template_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            ))),
        }
    }

    /// The sizes of the instance types `names` on `instance`: from the store while they are
    /// fresh (`provider.instance_type_cache_seconds`), else from the provider, kept for every
    /// other process. Types the provider cannot describe are left out.
    async fn instance_types(
        &self,
        instance: &ProviderInstanceConfig,
        names: &[String],
    ) -> Result<Vec<InstanceTypeInfo>, BrokerError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let now = crate::domain::now();
        let ttl =
            i64::try_from(self.config.provider.instance_type_cache_seconds).unwrap_or(i64::MAX);
        let mut known =
            self.store
                .instance_types(&instance.name, names, now.saturating_sub(ttl))?;
        let missing: Vec<String> = names
            .iter()
            .filter(|n| ttl == 0 || !known.iter().any(|k| &k.name == *n))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(known);
        }
        let provider = self.provider(instance).await?;
        match provider.call::<op::InstanceTypes>(&missing).await {
            Ok(fetched) => {
                // Only a cache: a fact not kept is asked for again by the next listing.
                if let Err(e) = self
                    .store
                    .save_instance_types(&instance.name, &fetched, now)
                {
                    tracing::warn!(error = %e, "instance-type facts not kept");
                }
                known.retain(|k| !missing.contains(&k.name));
                known.extend(fetched);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot describe instance types; attributes fall back to the templates' own")
            }
        }
        Ok(known)
    }

    /// The templates listed to Host Factory (and every listing), each with its Host Factory
    /// attributes and the instance that serves it: every instance's in scope (the instance or
    /// pool `HF_PROVIDER_NAME` names, else every enabled one), by priority, the first
    /// instance's of an id, as a request would be routed. A template its provider cannot serve
    /// is left out and logged with why ([`Broker::listed_templates`] names them).
    pub async fn templates_with_attributes(&self) -> Result<Vec<Listed<'_>>, BrokerError> {
        Ok(self.listed_templates().await?.0)
    }

    /// The listing: the templates that can be served, with their attributes and instance; and
    /// those in its scope their provider cannot serve, with why (what `orb doctor` reports).
    pub async fn listed_templates(&self) -> Result<Listing<'_>, BrokerError> {
        let (mut listed, _) = self.scope()?;
        listed.sort_by_key(|p| (p.priority, std::cmp::Reverse(p.weight)));
        let several = listed.len() > 1;
        let mut templates: Vec<Listed<'_>> = Vec::new();
        let mut unservable: Vec<(String, Vec<String>)> = Vec::new();
        for member in listed {
            match self.member_templates(member).await {
                Ok((served, refused)) => {
                    for (t, attributes) in served {
                        if !templates
                            .iter()
                            .any(|(seen, ..)| seen.template_id == t.template_id)
                        {
                            templates.push((t, attributes, member));
                        }
                    }
                    unservable.extend(refused);
                }
                // One instance that cannot answer does not hide the others' templates.
                Err(e) if several => {
                    tracing::warn!(instance = %member.name, error = %e, "templates of this instance not listed")
                }
                Err(e) => return Err(e),
            }
        }
        Ok((templates, unservable))
    }

    /// The templates `member` can serve, with their attributes; those it cannot, with why.
    async fn member_templates(
        &self,
        member: &ProviderInstanceConfig,
    ) -> Result<(Vec<(Template, Value)>, Vec<(String, Vec<String>)>), BrokerError> {
        let catalog = self.sound_catalog(member).await?;
        let problems = self
            .provider(member)
            .await?
            .call::<op::CheckTemplates>(&catalog.templates)
            .await?;
        let names: BTreeSet<String> = catalog
            .templates
            .iter()
            .filter_map(instance_type_of)
            .collect();
        let names: Vec<String> = names.into_iter().collect();
        let types = self.instance_types(member, &names).await?;
        let types: HashMap<String, InstanceTypeInfo> =
            types.into_iter().map(|t| (t.name.clone(), t)).collect();
        let (mut served, mut refused) = (Vec::new(), Vec::new());
        for (i, t) in catalog.templates.into_iter().enumerate() {
            let why = problems.get(i).cloned().unwrap_or_default();
            if !why.is_empty() {
                tracing::warn!(template = %t.template_id, instance = %member.name, problems = %why.join("; "), "template not listed: its provider cannot serve it");
                refused.push((t.template_id, why));
                continue;
            }
            let (attributes, warning) = hf_attributes(&t, &types);
            if let Some(warning) = warning {
                tracing::warn!("{warning}");
            }
            served.push((t, attributes));
        }
        Ok((served, refused))
    }

    /// The own counters of every enabled provider instance (building those not built yet). An
    /// instance whose provider cannot be built or answer is left out, and logged.
    pub async fn provider_metrics(&self) -> Vec<(String, Vec<orb_plugin_api::MetricSample>)> {
        let mut all = Vec::new();
        for instance in self.config.provider.enabled() {
            let samples = match self.provider(instance).await {
                Ok(p) => p.call::<op::Metrics>(&()).await.map_err(BrokerError::from),
                Err(e) => Err(e),
            };
            match samples {
                Ok(samples) => all.push((instance.name.clone(), samples)),
                Err(e) => {
                    tracing::warn!(instance = %instance.name, error = %e, "no provider metrics")
                }
            }
        }
        all
    }

    /// The health of every enabled provider instance, checked through the instances this
    /// broker keeps (built once): whether none is unhealthy, and the report.
    pub async fn provider_health(&self) -> (bool, crate::providers::health::HealthReport) {
        let instances: Vec<&ProviderInstanceConfig> = self.config.provider.enabled().collect();
        let (healthy, report) =
            crate::providers::health::report(&instances, |instance| async move {
                self.provider(instance).await.map_err(|e| e.to_string())
            })
            .await;
        self.count_health(&report);
        (healthy, report)
    }

    /// Counts what a health check found in each instance's circuit, as a call would: an
    /// unhealthy instance as a failure, a healthy one as a success.
    pub fn count_health(&self, report: &crate::providers::health::HealthReport) {
        for checked in &report.providers {
            if checked.status == orb_plugin_api::HealthStatus::Unhealthy.as_str() {
                self.record_call(&checked.name, Some(orb_plugin_api::ErrorKind::Unavailable));
            } else if checked.status == orb_plugin_api::HealthStatus::Healthy.as_str() {
                self.record_call(&checked.name, None);
            }
        }
    }

    /// Every problem of `template`, at once: what Host Factory requires of any template, and
    /// what the default instance's provider requires.
    pub async fn validate_template(&self, template: &Template) -> Result<Vec<String>, BrokerError> {
        let mut problems = host_problems(template);
        let provider = self.provider(self.default_instance()?).await?;
        problems.extend(provider.call::<op::ValidateTemplate>(template).await?);
        Ok(problems)
    }

    /// Whether the request held by `owner`, last touched at `updated_at`, was abandoned (see
    /// [`owner::is_gone`]), with the liveness leases in the store.
    fn abandoned(&self, owner: Option<&str>, updated_at: i64, now: i64) -> bool {
        owner::is_gone(owner, updated_at, now, |name| {
            self.store.lease(name).ok().flatten()
        })
    }

    /// Replaces `request` with the row as stored now: another process wrote it since it was
    /// read (a cancellation, a settlement, a take-over).
    fn reread(&self, request: &mut Request) -> Result<(), BrokerError> {
        if let Some(stored) = self.store.get_request(&request.request_id)? {
            *request = stored;
        }
        Ok(())
    }

    /// Seconds a request may take before it settles with what it has.
    fn request_timeout(&self) -> i64 {
        self.config.request.default_timeout as i64
    }
}
