//! The `aws` provider type.
//!
//! It owns a small tokio runtime and blocks on it in each provider method (the host calls
//! providers from blocking threads; async work never crosses the plugin boundary).

use orb_plugin_api::{
    CancelRequest, CancelResult, ConfigNote, Discovery, HealthReport, Infrastructure,
    InstanceTypeInfo, MetricSample, PowerRequest, PowerResult, Provider, ProviderContext,
    ProviderError, ProvisionRequest, ProvisionResult, StatusQuery, StatusResult, Template,
    TerminateRequest, TerminateResult,
};
use tokio::runtime::Runtime;

use crate::clients::{clients, sdk_config, Clients};
use crate::config::AwsConfig;
use crate::context::{Ctx, Plan};
use crate::handlers;
use crate::orb_py;
use crate::pacing::Pacer;
use crate::template::AwsTemplate;

/// An `aws` provider instance.
pub struct AwsProvider {
    instance: String,
    config: AwsConfig,
    notes: Vec<ConfigNote>,
    clients: Clients,
    runtime: Runtime,
}

/// Builds an `aws` provider instance.
pub fn new_aws_provider(ctx: ProviderContext) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(Box::new(AwsProvider::new(&ctx)?))
}

impl AwsProvider {
    /// What provisioning `request` from `template` takes: its image resolved and its tags.
    async fn plan(
        &self,
        template: AwsTemplate,
        request: &ProvisionRequest,
    ) -> Result<Plan, ProviderError> {
        // With a launch template of the operator's, an image is given only to override it.
        let image_id = match template.image.is_empty() {
            true => String::new(),
            false => crate::image::resolve(&self.ctx(), &template.image).await?,
        };
        Ok(Plan {
            // The configuration's default tags, under the template's and orb's own.
            tags: template
                .tags
                .clone()
                .into_iter()
                .chain(request.tags(&self.instance))
                .collect(),
            request_id: request.request_id.clone(),
            count: request.count,
            image_id,
            template,
            attempt: request.attempt,
        })
    }

    /// A provider for the instance described by `ctx`.
    pub fn new(ctx: &ProviderContext) -> Result<Self, ProviderError> {
        let mut translated = ctx.clone();
        let notes = orb_py::translate(&mut translated.config).map_err(|e| {
            ProviderError::config(format!("provider instance '{}': {e}", ctx.instance_name))
        })?;
        let config: AwsConfig = if translated.config.is_null() {
            AwsConfig::default()
        } else {
            translated.config()?
        };
        if !notes.is_empty() {
            let keys: Vec<&str> = notes.iter().map(|n| n.key.as_str()).collect();
            tracing::info!(
                instance = %ctx.instance_name,
                keys = %keys.join(", "),
                "accepted the Python ORB's settings that orb does not act on (orb config show says why)"
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orb-aws")
            .enable_all()
            .build()
            .map_err(|e| ProviderError::internal(format!("cannot start the AWS runtime: {e}")))?;
        config.pacing.check().map_err(|e| {
            ProviderError::config(format!("provider instance '{}': {e}", ctx.instance_name))
        })?;
        let sdk = runtime.block_on(sdk_config(&config, &ctx.instance_name))?;
        let region = sdk.region().map(|r| r.as_ref()).unwrap_or_default();
        let pacer = Pacer::new(&ctx.work_dir, region, config.pacing.clone());
        Ok(AwsProvider {
            instance: ctx.instance_name.clone(),
            clients: clients(&sdk, pacer),
            config,
            notes,
            runtime,
        })
    }

    /// A provider over ready-made clients (for tests through canned HTTP answers).
    #[cfg(test)]
    pub(crate) fn with_clients(clients: Clients) -> Self {
        AwsProvider {
            instance: "aws-test".into(),
            config: AwsConfig::default(),
            notes: Vec::new(),
            clients,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            clients: &self.clients,
            config: &self.config,
            instance: &self.instance,
        }
    }
}

impl Provider for AwsProvider {
    fn health_check(&self) -> Result<HealthReport, ProviderError> {
        Ok(self.runtime.block_on(crate::health::check(&self.ctx())))
    }

    fn provision_machines(
        &self,
        request: ProvisionRequest,
    ) -> Result<ProvisionResult, ProviderError> {
        // A handler this instance does not offer: another instance may (the host fails over).
        if let Some(why) = crate::template::not_offered(&request.template, &self.config) {
            return Err(ProviderError::new(orb_plugin_api::ErrorKind::Config, why));
        }
        let template = AwsTemplate::parse(&request.template, &self.config)
            .map_err(|problems| ProviderError::validation(problems.join("; ")))?;
        self.runtime.block_on(async {
            let plan = self.plan(template, &request).await?;
            handlers::provision(&self.ctx(), &plan).await
        })
    }

    fn check_provision(&self, request: ProvisionRequest) -> Result<Vec<String>, ProviderError> {
        let template = match AwsTemplate::parse(&request.template, &self.config) {
            Ok(template) => template,
            Err(problems) => return Ok(problems),
        };
        self.runtime.block_on(async {
            Ok(match self.plan(template, &request).await {
                Ok(plan) => handlers::check(&self.ctx(), &plan).await,
                Err(e) => vec![e.message],
            })
        })
    }

    fn check_terminate(&self, request: TerminateRequest) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .runtime
            .block_on(crate::terminate::check(&self.ctx(), &request)))
    }

    fn terminate_machines(
        &self,
        request: TerminateRequest,
    ) -> Result<TerminateResult, ProviderError> {
        self.runtime
            .block_on(crate::terminate::terminate(&self.ctx(), request))
    }

    fn machine_status(&self, query: StatusQuery) -> Result<StatusResult, ProviderError> {
        self.runtime
            .block_on(crate::status::status(&self.ctx(), query))
    }

    fn check_templates(&self, templates: Vec<Template>) -> Result<Vec<Vec<String>>, ProviderError> {
        Ok(templates
            .iter()
            .map(|t| {
                AwsTemplate::parse(t, &self.config)
                    .err()
                    .unwrap_or_default()
            })
            .collect())
    }

    fn validate_template(&self, template: &Template) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .runtime
            .block_on(crate::validate::validate(&self.ctx(), template)))
    }

    fn instance_types(&self, names: Vec<String>) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
        self.runtime
            .block_on(crate::instance_types::describe(&self.ctx(), &names))
    }

    fn cancel_request(&self, request: CancelRequest) -> Result<CancelResult, ProviderError> {
        self.runtime
            .block_on(crate::cancel::cancel(&self.ctx(), &request))
    }

    fn describe_infrastructure(&self) -> Result<Infrastructure, ProviderError> {
        self.runtime
            .block_on(crate::infrastructure::describe(&self.ctx()))
    }

    fn discover_infrastructure(&self) -> Result<Discovery, ProviderError> {
        self.runtime
            .block_on(crate::infrastructure::discover(&self.ctx()))
    }

    fn stop_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        self.runtime.block_on(crate::power::power(
            &self.ctx(),
            crate::power::Power::Stop,
            &request,
        ))
    }

    fn start_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        self.runtime.block_on(crate::power::power(
            &self.ctx(),
            crate::power::Power::Start,
            &request,
        ))
    }

    fn config_notes(&self) -> Result<Vec<ConfigNote>, ProviderError> {
        Ok(self.notes.clone())
    }

    fn example_templates(&self) -> Result<Vec<Template>, ProviderError> {
        self.runtime
            .block_on(crate::examples::templates(&self.ctx()))
    }

    fn metrics(&self) -> Result<Vec<MetricSample>, ProviderError> {
        let calls = self.clients.calls.lock().unwrap_or_else(|p| p.into_inner());
        Ok(calls
            .iter()
            .map(|((service, operation), n)| MetricSample {
                name: "orb_aws_api_calls_total".into(),
                labels: [
                    ("service".to_owned(), service.clone()),
                    ("operation".to_owned(), operation.clone()),
                ]
                .into(),
                value: *n as f64,
            })
            .collect())
    }
}
