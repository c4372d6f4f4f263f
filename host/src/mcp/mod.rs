//! `orb mcp serve`: the broker as a Model Context Protocol server over stdio, on the official
//! Rust SDK (`rmcp`). An agent lists and validates templates, requests, follows, returns and
//! cancels machines, lists requests and machines and checks the providers' health; each tool
//! takes a JSON-schema'd input and answers JSON. A `viewer` gets the read-only tools alone.
//! Resources: the templates, and each request. A prompt: provision machines and wait.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, JsonObject, ListPromptsResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument,
    PromptMessage, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::broker::{Broker, BrokerError};
use crate::hostfactory::output;
use crate::providers::health::HealthReport;
use crate::storage::{MachineFilter, RequestFilter};
use crate::views::{
    to_json, CancelAnswer, MachineSummary, RequestSummary, ReturnAnswer, TemplateProblems,
    TemplateView,
};

/// What a caller of the MCP server may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum McpRole {
    /// Read-only tools: templates, requests, machines, health.
    Viewer,
    /// Every tool: also request, return and cancel machines.
    Operator,
}

/// The tools that change something, which a viewer does not get.
const ACTING_TOOLS: [&str; 3] = ["request_machines", "return_machines", "cancel_request"];

/// The most items a listing tool answers with.
const MAX_LISTED: u32 = 500;

/// The MCP server: the broker, and what its caller may do.
#[derive(Clone)]
pub struct OrbMcp {
    broker: Arc<Broker>,
    role: McpRole,
    tool_router: ToolRouter<Self>,
}

/// A template, by id.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TemplateInput {
    /// The template's id.
    pub template_id: String,
}

/// Machines asked of a template.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RequestInput {
    /// The template's id.
    pub template_id: String,
    /// How many machines.
    pub count: u32,
}

/// Requests, by id.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RequestIdsInput {
    /// Request ids (acquire or return).
    pub request_ids: Vec<String>,
}

/// Machines, by id or host name.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MachinesInput {
    /// Machine ids or host names.
    pub machines: Vec<String>,
}

/// A running acquire request to cancel.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CancelInput {
    /// The acquire request's id.
    pub request_id: String,
    /// Why, kept in its message.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A listing's narrowing.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListInput {
    /// Only those in this status (requests: running, complete, complete_with_error;
    /// machines: pending, running, terminated...).
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many, newest first (default and most: 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A tool's answer: `T` as structured content, which its output schema describes (and as
/// text, for clients that read text), or the broker's error as a tool error the agent reads.
fn answer<T: Serialize>(result: Result<T, BrokerError>) -> Result<CallToolResult, ErrorData> {
    Ok(match result {
        Ok(value) => CallToolResult::structured(to_json(&value)),
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
    })
}

/// The output schema of a tool answering `T`.
fn schema_of<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::tool::schema_for_output::<T>()
}

/// `list_templates`' answer.
#[derive(Serialize, JsonSchema)]
pub struct TemplateList {
    /// Every template served.
    pub templates: Vec<ListedTemplate>,
}

/// A template as `list_templates` lists it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedTemplate {
    /// Its id, to request machines of.
    pub template_id: String,
    /// The most machines it may have at once (-1: no limit).
    pub max_number: i64,
    /// The provider's handler that provisions it.
    pub provider_api: Option<String>,
    /// Host Factory's attributes: `{"ncpus": ["Numeric", "2"], ...}`.
    pub attributes: Value,
}

/// `request_machines`' answer.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedRequest {
    /// The request's id: follow it with `request_status`.
    pub request_id: String,
    /// `running` while machines are on their way.
    pub status: String,
    /// What happened to it so far.
    pub message: String,
}

/// `list_requests`' answer.
#[derive(Serialize, JsonSchema)]
pub struct RequestList {
    /// Newest first.
    pub requests: Vec<RequestSummary>,
}

/// `list_machines`' answer.
#[derive(Serialize, JsonSchema)]
pub struct MachineList {
    /// Newest first.
    pub machines: Vec<MachineSummary>,
}

/// `provider_health`'s answer.
#[derive(Serialize, JsonSchema)]
pub struct HealthAnswer {
    /// Whether no enabled instance is unhealthy.
    pub healthy: bool,
    /// Each enabled instance's checks.
    pub providers: HealthReport,
    /// Each instance's circuit breaker that has a record.
    pub circuits: Vec<CircuitView>,
}

/// A provider instance's circuit breaker.
#[derive(Serialize, JsonSchema)]
pub struct CircuitView {
    /// The instance.
    pub name: String,
    /// `closed`, `open` (skipped) or `half_open` (may be tried again).
    pub circuit: String,
    /// Its failures in a row that count towards opening the circuit.
    pub failures: u32,
}

#[tool_router]
impl OrbMcp {
    /// A server over `broker` for a caller of `role`.
    pub fn new(broker: Arc<Broker>, role: McpRole) -> Self {
        OrbMcp {
            broker,
            role,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Lists the templates machines can be requested from, with their attributes (ncpus, nram).",
        output_schema = schema_of::<TemplateList>()
    )]
    async fn list_templates(&self) -> Result<CallToolResult, ErrorData> {
        answer(self.templates().await)
    }

    #[tool(description = "Shows one template as served, merged with its defaults.",
        output_schema = schema_of::<TemplateView>())]
    async fn show_template(
        &self,
        Parameters(input): Parameters<TemplateInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(TemplateView::served(&self.broker, &input.template_id).await)
    }

    #[tool(
        description = "Checks one template as its provider would serve it: every problem at once, none when it is sound.",
        output_schema = schema_of::<TemplateProblems>()
    )]
    async fn validate_template(
        &self,
        Parameters(input): Parameters<TemplateInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let (template, _) = self.broker.template(&input.template_id).await?;
                let problems = self.broker.validate_template(&template).await?;
                Ok(TemplateProblems::of(&template.template_id, problems))
            }
            .await,
        )
    }

    #[tool(
        description = "Requests machines of a template. Answers the request id at once; follow it with request_status.",
        output_schema = schema_of::<AcceptedRequest>()
    )]
    async fn request_machines(
        &self,
        Parameters(input): Parameters<RequestInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let request = self
                    .broker
                    .request_machines(&input.template_id, i64::from(input.count))
                    .await?;
                Ok(AcceptedRequest {
                    request_id: request.request_id,
                    status: request.status.as_str().to_owned(),
                    message: request.message,
                })
            }
            .await,
        )
    }

    #[tool(
        description = "The status of requests and their machines, refreshed from the providers (Host Factory's getRequestStatus).",
        output_schema = schema_of::<output::StatusAnswer>()
    )]
    async fn request_status(
        &self,
        Parameters(input): Parameters<RequestIdsInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let views = self.broker.request_status(&input.request_ids).await?;
                Ok(output::request_status(&views))
            }
            .await,
        )
    }

    #[tool(
        description = "Returns machines (by id or host name): they are terminated, tracked by a return request whose id is answered.",
        output_schema = schema_of::<ReturnAnswer>()
    )]
    async fn return_machines(
        &self,
        Parameters(input): Parameters<MachinesInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let specs = self.broker.specs_of(&input.machines);
                let (request, summary) = self.broker.return_machines(&specs).await?;
                Ok(ReturnAnswer::of(&request.request_id, &summary))
            }
            .await,
        )
    }

    #[tool(
        description = "Cancels a running acquire request: what was made for it is released and its machines terminated.",
        output_schema = schema_of::<CancelAnswer>()
    )]
    async fn cancel_request(
        &self,
        Parameters(input): Parameters<CancelInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let cancelled = self
                    .broker
                    .cancel_request(&input.request_id, input.reason.as_deref())
                    .await?;
                Ok(CancelAnswer::from(&cancelled))
            }
            .await,
        )
    }

    #[tool(description = "Lists requests, newest first.",
        output_schema = schema_of::<RequestList>())]
    async fn list_requests(
        &self,
        Parameters(input): Parameters<ListInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let listed = self.broker.store().list_requests(&RequestFilter {
                    status: input
                        .status
                        .as_deref()
                        .and_then(crate::domain::RequestStatus::parse),
                    limit: Some(input.limit.unwrap_or(MAX_LISTED).min(MAX_LISTED)),
                    ..Default::default()
                })?;
                Ok(RequestList {
                    requests: listed.iter().map(RequestSummary::from).collect(),
                })
            }
            .await,
        )
    }

    #[tool(description = "Lists machines, newest first.",
        output_schema = schema_of::<MachineList>())]
    async fn list_machines(
        &self,
        Parameters(input): Parameters<ListInput>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let listed = self.broker.store().list_machines(&MachineFilter {
                    state: input.status,
                    limit: Some(input.limit.unwrap_or(MAX_LISTED).min(MAX_LISTED)),
                    ..Default::default()
                })?;
                Ok(MachineList {
                    machines: listed.iter().map(MachineSummary::from).collect(),
                })
            }
            .await,
        )
    }

    #[tool(
        description = "Checks the health of every enabled provider instance, with each one's circuit breaker.",
        output_schema = schema_of::<HealthAnswer>()
    )]
    async fn provider_health(&self) -> Result<CallToolResult, ErrorData> {
        answer(
            async {
                let (healthy, providers) = self.broker.provider_health().await;
                let circuits = self
                    .broker
                    .circuit_states()?
                    .into_iter()
                    .map(|(name, state, failures)| CircuitView {
                        name,
                        circuit: state.as_str().to_owned(),
                        failures,
                    })
                    .collect();
                Ok(HealthAnswer {
                    healthy,
                    providers,
                    circuits,
                })
            }
            .await,
        )
    }
}

impl OrbMcp {
    /// The templates with their attributes, as listed.
    async fn templates(&self) -> Result<TemplateList, BrokerError> {
        let templates = self.broker.templates_with_attributes().await?;
        Ok(TemplateList {
            templates: templates
                .into_iter()
                .map(|(t, attributes, _)| ListedTemplate {
                    template_id: t.template_id,
                    max_number: t.max_number,
                    provider_api: t.provider_api,
                    attributes,
                })
                .collect(),
        })
    }

    /// What the caller of a request may do: over HTTP, what its token grants (`orb serve`'s
    /// authorization puts the role among the request's extensions); over stdio, the server's
    /// role.
    fn role_in(&self, context: &RequestContext<RoleServer>) -> McpRole {
        let granted = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::config::Role>());
        match granted {
            Some(crate::config::Role::Viewer) => McpRole::Viewer,
            Some(_) => McpRole::Operator,
            None => self.role,
        }
    }

    /// Whether a caller of `role` may use the tool `name`.
    fn allowed(role: McpRole, name: &str) -> bool {
        role == McpRole::Operator || !ACTING_TOOLS.contains(&name)
    }
}

impl ServerHandler for OrbMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("orb", env!("CARGO_PKG_VERSION"))
                .with_title("orb, the resource broker"),
        )
        .with_instructions(
            "orb, the resource broker: request machines from a template, follow the request \
             until it completes, return them when done.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let role = self.role_in(&context);
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| Self::allowed(role, &t.name))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !Self::allowed(self.role_in(&context), &request.name) {
            return Err(ErrorData::invalid_request(
                format!(
                    "{} changes machines: a viewer may not call it",
                    request.name
                ),
                None,
            ));
        }
        let context = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        self.tool_router.call(context).await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut resources = vec![Resource::new("orb://templates", "templates")];
        let recent = self
            .broker
            .store()
            .list_requests(&RequestFilter {
                limit: Some(50),
                ..Default::default()
            })
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        resources.extend(recent.iter().map(|r| {
            Resource::new(
                format!("orb://requests/{}", r.request_id),
                r.request_id.clone(),
            )
        }));
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let found = match uri.strip_prefix("orb://requests/") {
            None if uri == "orb://templates" => self.templates().await.map(|t| to_json(&t)),
            None => Err(BrokerError::NotFound(format!("no resource {uri}"))),
            Some(id) => self
                .broker
                .stored_status(&[id.to_owned()])
                .await
                .map(|views| to_json(&output::request_status(&views))),
        };
        match found {
            Ok(value) => Ok(ReadResourceResult::new(vec![ResourceContents::text(
                value.to_string(),
                uri,
            )])
            .into()),
            Err(e) => Err(ErrorData::resource_not_found(e.to_string(), None)),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "provision_and_wait",
            Some("Provision N machines of template T and wait until they run"),
            Some(vec![
                PromptArgument::new("template_id").with_required(true),
                PromptArgument::new("count").with_required(true),
            ]),
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != "provision_and_wait" {
            return Err(ErrorData::invalid_params(
                format!("no prompt {}", request.name),
                None,
            ));
        }
        let argument = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default()
        };
        let text = format!(
            "Provision {} machines of the template {} with orb: call request_machines with \
             template_id {} and count {}, then call request_status with its requestId every \
             few seconds until its status is no longer running, and report the machines' names \
             and whether the request completed.",
            argument("count"),
            argument("template_id"),
            argument("template_id"),
            argument("count"),
        );
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).into())
    }
}

/// The MCP server over streamable HTTP, for `orb serve` to mount at `/mcp` behind its
/// authorization: each session is served by the broker `broker` gives at its start, and each
/// call answered as the caller's token allows; `stop` ends every session and stream, so that
/// they do not hold up the server's graceful stop. Host names are `orb serve`'s to check.
pub fn http_service(
    broker: impl Fn() -> Arc<Broker> + Send + Sync + 'static,
    stop: tokio_util::sync::CancellationToken,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    OrbMcp,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    let mut config = rmcp::transport::streamable_http_server::StreamableHttpServerConfig::default()
        .disable_allowed_hosts();
    config.cancellation_token = stop;
    rmcp::transport::streamable_http_server::StreamableHttpService::new(
        move || Ok(OrbMcp::new(broker(), McpRole::Viewer)),
        Default::default(),
        config,
    )
}

/// `orb mcp serve`: serves the broker over stdin and stdout until the client closes them.
/// Logs go to the log file or stderr, never to stdout, which carries the protocol.
pub fn main(
    config: Option<&std::path::Path>,
    log_level: Option<&str>,
    role: McpRole,
) -> std::process::ExitCode {
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let app = App::start(config, log_level)?;
                let broker = Arc::new(Broker::open(&app)?);
                let service = OrbMcp::new(broker, role)
                    .serve(rmcp::transport::stdio())
                    .await?;
                service.waiting().await?;
                Ok::<_, anyhow::Error>(())
            })
        });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
