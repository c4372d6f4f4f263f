//! `orb init`: writes a configuration and a templates file that work, without hand-written
//! JSON. It asks on a terminal (or takes flags), builds the provider instance from the answers,
//! tests its credentials, discovers the network, and writes `config.json` and the provider's
//! example templates, checked, into the configuration directory: the templates first, then the
//! configuration, so that a run killed between the two is finished by the next. Nothing is
//! overwritten without `--force` (but a templates file holding just what it would write), and
//! nothing is written when a step fails. No secret is written: the credentials come from the
//! environment, a profile or a role.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::CommandOutput;
use crate::app::App;
use crate::config::ProviderInstanceConfig;
use orb_plugin_api::operations::op;
use orb_plugin_api::HealthStatus;

/// Where a provider instance's credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Credentials {
    /// The environment (AWS_ACCESS_KEY_ID..., or the machine's role).
    Environment,
    /// A named profile of the shared configuration files.
    Profile,
    /// A role assumed with the environment's credentials.
    Role,
}

/// The answers `orb init` works from: its flags, completed by questions on a terminal.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The provider type (a plugin's: aws, mock...).
    #[arg(long, default_value = "aws")]
    pub provider_type: String,
    /// The provider instance's name [default: <type>-<region>, or the type].
    #[arg(long)]
    pub name: Option<String>,
    /// The region.
    #[arg(long)]
    pub region: Option<String>,
    /// Where the credentials come from.
    #[arg(long, value_enum)]
    pub credentials: Option<Credentials>,
    /// The profile, with --credentials profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// The role's ARN, with --credentials role.
    #[arg(long)]
    pub role_arn: Option<String>,
    /// The cloud's endpoint, for an emulator or a private endpoint.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Where to write [default: the configuration directory orb uses].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace config.json and the templates file when they exist.
    #[arg(long)]
    pub force: bool,
    /// Ask nothing, even on a terminal: what the flags do not say takes its default.
    #[arg(long)]
    pub non_interactive: bool,
}

/// Why `orb init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A file would be replaced without --force.
    #[error("{} exists: orb init replaces it only with --force", .0.display())]
    Exists(PathBuf),
    /// A question could not be asked.
    #[error("cannot ask on the terminal: {0}")]
    Prompt(#[from] dialoguer::Error),
    /// An answer does not make a configuration.
    #[error("{0}")]
    Answer(String),
    /// The instance could not be built, or its cloud refused it.
    #[error("the {instance} instance does not work: {why}; nothing was written")]
    Instance {
        /// The instance.
        instance: String,
        /// Why.
        why: String,
    },
    /// A file could not be written.
    #[error("cannot write {}: {why}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// Completes `args` by asking, when stdin and stderr are a terminal and asking is allowed.
fn ask(mut args: InitArgs) -> Result<InitArgs, InitError> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if args.non_interactive || !terminal {
        return Ok(args);
    }
    let theme = dialoguer::theme::SimpleTheme;
    args.provider_type = dialoguer::Input::with_theme(&theme)
        .with_prompt("Provider type")
        .default(args.provider_type)
        .interact_text()?;
    if args.region.is_none() {
        args.region = Some(
            dialoguer::Input::with_theme(&theme)
                .with_prompt("Region")
                .default("us-east-1".to_owned())
                .interact_text()?,
        );
    }
    if args.credentials.is_none() {
        let choices = [
            "environment (AWS_* variables, or the machine's role)",
            "a profile",
            "a role to assume",
        ];
        args.credentials = Some(
            match dialoguer::Select::with_theme(&theme)
                .with_prompt("Credentials from")
                .items(choices)
                .default(0)
                .interact()?
            {
                1 => Credentials::Profile,
                2 => Credentials::Role,
                _ => Credentials::Environment,
            },
        );
    }
    match args.credentials {
        Some(Credentials::Profile) if args.profile.is_none() => {
            args.profile = Some(
                dialoguer::Input::with_theme(&theme)
                    .with_prompt("Profile")
                    .default("default".to_owned())
                    .interact_text()?,
            );
        }
        Some(Credentials::Role) if args.role_arn.is_none() => {
            args.role_arn = Some(
                dialoguer::Input::with_theme(&theme)
                    .with_prompt("Role ARN")
                    .interact_text()?,
            );
        }
        _ => {}
    }
    Ok(args)
}

/// The provider instance the answers describe.
fn instance_of(args: &InitArgs) -> Result<ProviderInstanceConfig, InitError> {
    let mut config = serde_json::Map::new();
    if let Some(region) = &args.region {
        config.insert("region".into(), json!(region));
    }
    match args.credentials.unwrap_or(Credentials::Environment) {
        Credentials::Environment => {}
        Credentials::Profile => {
            let profile = args.profile.as_deref().ok_or_else(|| {
                InitError::Answer("--credentials profile needs --profile NAME".into())
            })?;
            config.insert("profile".into(), json!(profile));
        }
        Credentials::Role => {
            let role = args.role_arn.as_deref().ok_or_else(|| {
                InitError::Answer("--credentials role needs --role-arn ARN".into())
            })?;
            config.insert("role_arn".into(), json!(role));
        }
    }
    if let Some(endpoint) = &args.endpoint_url {
        config.insert("endpoint_url".into(), json!(endpoint));
    }
    let name = args.name.clone().unwrap_or_else(|| match &args.region {
        Some(region) => format!("{}-{region}", args.provider_type),
        None => args.provider_type.clone(),
    });
    serde_json::from_value(json!({
        "name": name, "type": args.provider_type, "enabled": true, "config": config,
    }))
    .map_err(|e| InitError::Answer(format!("the instance's configuration: {e}")))
}

/// Writes `value` to `path`, whole, renamed into place.
fn write_json(path: &Path, value: &Value) -> Result<(), InitError> {
    let fail = |why: String| InitError::Write {
        path: path.to_owned(),
        why,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(e.to_string()))?;
    serde_json::to_writer_pretty(&mut temp, value).map_err(|e| fail(e.to_string()))?;
    std::io::Write::write_all(&mut temp, b"\n").map_err(|e| fail(e.to_string()))?;
    temp.persist(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

/// `orb init`.
pub async fn run(app: &App, args: InitArgs) -> Result<CommandOutput, InitError> {
    let args = ask(args)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| app.paths.config_dir.clone());
    let config_file = dir.join("config.json");
    let templates_file = dir.join(format!("{}prov_templates.json", args.provider_type));
    if config_file.exists() && !args.force {
        return Err(InitError::Exists(config_file));
    }
    let instance = instance_of(&args)?;
    let broken = |why: String| InitError::Instance {
        instance: instance.name.clone(),
        why,
    };

    // The instance, built and asked as orb will: its credentials, its network, its examples.
    let provider = app
        .factory()
        .build(&instance)
        .await
        .map_err(|e| broken(e.to_string()))?;
    provider
        .call::<op::Initialize>(&())
        .await
        .map_err(|e| broken(e.to_string()))?;
    let health = provider
        .call::<op::HealthCheck>(&())
        .await
        .map_err(|e| broken(e.to_string()))?;
    if health.status == HealthStatus::Unhealthy {
        let failed: Vec<String> = health
            .checks
            .iter()
            .filter(|c| c.status == HealthStatus::Unhealthy)
            .map(|c| format!("{}: {}", c.name, c.detail.as_deref().unwrap_or("unhealthy")))
            .collect();
        return Err(broken(failed.join("; ")));
    }
    let found = provider
        .call::<op::DiscoverInfrastructure>(&())
        .await
        .map_err(|e| broken(e.to_string()))?;
    let examples = provider
        .call::<op::ExampleTemplates>(&())
        .await
        .map_err(|e| broken(e.to_string()))?;
    let mut problems = Vec::new();
    for example in &examples {
        let found = provider
            .call::<op::ValidateTemplate>(example)
            .await
            .map_err(|e| broken(e.to_string()))?;
        problems.extend(found);
    }
    if !problems.is_empty() {
        return Err(broken(format!(
            "its example templates do not pass their checks: {}",
            problems.join("; ")
        )));
    }

    let config = json!({
        "scheduler": {"type": "hostfactory"},
        "provider": {
            "providers": [crate::views::to_json(&instance)],
            "default_provider_instance": instance.name,
        },
        "storage": {"type": "sqlite"},
        "logging": {"level": "info"},
    });
    // The templates first, the configuration last: a run killed between the two leaves no
    // configuration, and the next run finds the templates file it would write, which it may
    // replace. A templates file that holds anything else is replaced only with --force.
    let templates = json!({ "templates": crate::views::to_json(&examples) });
    let same_templates = std::fs::read_to_string(&templates_file)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .is_some_and(|written| written == templates);
    if templates_file.exists() && !args.force && !same_templates {
        return Err(InitError::Exists(templates_file));
    }
    write_json(&templates_file, &templates)?;
    write_json(&config_file, &config)?;

    let of_kind = |kind: &str| {
        found
            .resources
            .iter()
            .filter(|d| d.resource.kind == kind)
            .count()
    };
    let health_lines: Vec<String> = health
        .checks
        .iter()
        .map(|c| format!("{}: {}", c.name, c.detail.as_deref().unwrap_or("ok")))
        .collect();
    Ok(CommandOutput::of(json!({
        "written": [config_file.display().to_string(), templates_file.display().to_string()],
        "provider": instance.name,
        "health": health_lines,
        "found": {
            "networks": of_kind("network"),
            "subnets": of_kind("subnet"),
            "securityGroups": of_kind("security_group"),
            "keyPairs": of_kind("key_pair"),
        },
        "templates": examples.iter().map(|t| t.template_id.clone()).collect::<Vec<_>>(),
        "next": format!(
            "orb doctor --config {}, then orb templates list --config {}",
            config_file.display(),
            config_file.display()
        ),
    })))
}
