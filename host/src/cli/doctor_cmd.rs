//! `orb doctor`: checks what orb needs to work, one line per check with a fix for each failure:
//! the configuration, the plugins directory, the database, each enabled provider instance
//! (credentials, connectivity, the clock against the cloud's), Host Factory's environment and
//! its scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::CommandOutput;
use crate::app::App;
use crate::broker::Broker;
use crate::storage::RequestFilter;
use orb_plugin_api::operations::op;
use orb_plugin_api::HealthStatus;

/// The five calls Host Factory makes, each a script beside `invoke_orb.sh`.
const HF_SCRIPTS: [&str; 6] = [
    "getAvailableTemplates.sh",
    "requestMachines.sh",
    "getRequestStatus.sh",
    "requestReturnMachines.sh",
    "getReturnRequests.sh",
    "invoke_orb.sh",
];

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    /// Works, but something deserves a look.
    Warn,
    Fail,
    /// Does not apply here.
    Skip,
}

/// One check's line.
#[derive(Debug, Serialize)]
struct Check {
    check: String,
    status: Status,
    detail: String,
    /// What to do, for a check that did not pass.
    #[serde(skip_serializing_if = "String::is_empty")]
    fix: String,
}

impl Check {
    fn new(check: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Check {
            check: check.into(),
            status,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        if matches!(self.status, Status::Warn | Status::Fail) {
            self.fix = fix.into();
        }
        self
    }
}

/// `orb doctor`: every check, then success only when none failed.
pub async fn run(config_file: Option<&Path>, scripts: Option<&Path>) -> CommandOutput {
    let mut checks = Vec::new();
    match App::configure(config_file) {
        Err(e) => checks.push(
            Check::new("configuration", Status::Fail, format!("{e:#}"))
                .fix("correct the file named above; `orb config show` prints what loads"),
        ),
        Ok(app) => {
            let file = app
                .loaded
                .file
                .as_ref()
                .map_or("built-in defaults (no file found)".to_owned(), |f| {
                    f.display().to_string()
                });
            checks.push(Check::new("configuration", Status::Ok, file));
            checks.extend(plugins(&app));
            checks.push(database(&app));
            checks.extend(providers(&app).await);
            checks.push(templates(&app).await);
            checks.extend(host_factory(&app, scripts));
        }
    }
    let success = checks.iter().all(|c| c.status != Status::Fail);
    CommandOutput {
        value: serde_json::json!({ "healthy": success, "checks": checks }),
        success,
    }
}

/// The templates listed to Host Factory: a failure when none can be served; each one that
/// cannot, named with why.
async fn templates(app: &App) -> Check {
    let fix =
        "correct the templates named (`orb templates validate` checks each against the cloud)";
    let broker = match Broker::open(app) {
        Ok(b) => b,
        Err(e) => return Check::new("templates", Status::Fail, e.to_string()).fix(fix),
    };
    match broker.listed_templates().await {
        Err(e) => Check::new("templates", Status::Fail, e.to_string()).fix(fix),
        Ok((listed, unservable)) => {
            let named: Vec<String> = unservable
                .iter()
                .map(|(id, why)| format!("{id}: {}", why.join("; ")))
                .collect();
            let status = match (listed.len(), named.len()) {
                (0, _) => Status::Fail,
                (_, 0) => Status::Ok,
                _ => Status::Warn,
            };
            let mut detail = format!("{} listed to Host Factory", listed.len());
            if !named.is_empty() {
                detail.push_str(&format!(
                    "; {} not listed, their provider cannot serve them: {}",
                    named.len(),
                    named.join(" | ")
                ));
            }
            Check::new("templates", status, detail).fix(fix)
        }
    }
}

/// The plugins directory and its libraries, and a library for every configured type.
fn plugins(app: &App) -> Vec<Check> {
    let dir = &app.paths.plugins_dir;
    if !dir.is_dir() {
        return vec![Check::new(
            "plugins",
            Status::Fail,
            format!("{} is not a directory", dir.display()),
        )
        .fix("set plugins.dir (or ORB_PLUGINS_DIR) to the directory of the provider libraries")];
    }
    let factory = app.factory_loading_all(&app.plugin_options());
    let set = factory.plugins();
    let mut checks = vec![Check::new(
        "plugins",
        if set.failures.is_empty() {
            Status::Ok
        } else {
            Status::Fail
        },
        match set.failures.first() {
            None => format!(
                "{} libraries loaded from {}",
                set.plugins.len(),
                dir.display()
            ),
            Some(first) => format!("{} refused: {first}", set.failures.len()),
        },
    )
    .fix("`orb plugins verify` says why each library is refused")];
    for instance in app.loaded.config.provider.enabled() {
        let offered = set.for_type(&instance.provider_type);
        checks.push(
            Check::new(
                format!("provider type {}", instance.provider_type),
                if offered.is_some() {
                    Status::Ok
                } else {
                    Status::Fail
                },
                match offered {
                    Some(p) => format!("{} {} ({})", p.name, p.version, instance.name),
                    None => format!("no library offers it ({})", instance.name),
                },
            )
            .fix(format!(
                "install the library offering '{}' into {}",
                instance.provider_type,
                dir.display()
            )),
        );
    }
    checks
}

/// The store opens, its schema is current, and it answers a read.
fn database(app: &App) -> Check {
    let opened = Broker::open(app).and_then(|broker| {
        broker
            .store()
            .count_requests(&RequestFilter::default())
            .map_err(Into::into)
    });
    match opened {
        Ok(count) => Check::new(
            "database",
            Status::Ok,
            format!("{} ({count} requests)", crate::broker::state::describe(app)),
        ),
        Err(e) => Check::new("database", Status::Fail, e.to_string()).fix(
            "check storage in the configuration: a SQLite path this user can write, or a \
             PostgreSQL URL that answers (`orb config show`)",
        ),
    }
}

/// Each enabled instance is built, initialised and health-checked: one line per check it
/// reports (credentials, connectivity, the clock).
async fn providers(app: &App) -> Vec<Check> {
    let factory = app.factory();
    let mut checks = Vec::new();
    for instance in app.loaded.config.provider.enabled() {
        let name = format!("provider {}", instance.name);
        let credentials_fix = format!(
            "check the instance's credentials and endpoint (`orb providers health --name {}`)",
            instance.name
        );
        let provider = match factory.build(instance).await {
            Ok(p) => p,
            Err(e) => {
                checks.push(Check::new(name, Status::Fail, e.to_string()).fix(credentials_fix));
                continue;
            }
        };
        if let Err(e) = provider.call::<op::Initialize>(&()).await {
            checks.push(Check::new(name, Status::Fail, e.to_string()).fix(credentials_fix));
            continue;
        }
        match provider.call::<op::HealthCheck>(&()).await {
            Err(e) => {
                checks.push(Check::new(name, Status::Fail, e.to_string()).fix(credentials_fix))
            }
            Ok(report) => {
                for part in report.checks {
                    let status = match part.status {
                        HealthStatus::Healthy => Status::Ok,
                        HealthStatus::Degraded => Status::Warn,
                        HealthStatus::Unhealthy => Status::Fail,
                    };
                    let fix = match part.name.as_str() {
                        "clock" => {
                            "keep the host's time by NTP (chrony, systemd-timesyncd)".to_owned()
                        }
                        _ => credentials_fix.clone(),
                    };
                    checks.push(
                        Check::new(
                            format!("{name}: {}", part.name),
                            status,
                            part.detail.unwrap_or_default(),
                        )
                        .fix(fix),
                    );
                }
            }
        }
    }
    checks
}

/// Host Factory's environment, when orb runs under it, and its scripts.
fn host_factory(app: &App, scripts: Option<&Path>) -> Vec<Check> {
    let mut checks = Vec::new();
    let provider = app.env.get("HF_PROVIDER_NAME");
    match provider {
        None => checks.push(Check::new(
            "host factory environment",
            Status::Skip,
            "HF_PROVIDER_NAME is not set: not run by Host Factory",
        )),
        Some(name) => {
            let mut missing = Vec::new();
            for var in [
                "HF_PROVIDER_CONFDIR",
                "HF_PROVIDER_WORKDIR",
                "HF_PROVIDER_LOGDIR",
            ] {
                match app.env.get(var) {
                    Some(dir) if Path::new(dir).is_dir() => {}
                    Some(dir) => missing.push(format!("{var}={dir} is not a directory")),
                    None => missing.push(format!("{var} is not set")),
                }
            }
            let (status, detail) = match app.loaded.config.provider.names(name) {
                Err(slip) => {
                    missing.push(slip);
                    (Status::Fail, missing.join("; "))
                }
                _ if !missing.is_empty() => (Status::Fail, missing.join("; ")),
                Ok(true) => (Status::Ok, format!("provider {name}")),
                Ok(false) => (
                    Status::Warn,
                    format!(
                        "HF_PROVIDER_NAME={name} names no provider instance or pool of the \
                         configuration: the default instance serves"
                    ),
                ),
            };
            checks.push(
                Check::new("host factory environment", status, detail)
                    .fix("set them in Host Factory's hostProviders.json for this provider"),
            );
        }
    }
    checks.push(scripts_check(scripts, provider.is_some()));
    checks
}

/// Where Host Factory's scripts are: `dir` when given, else beside the binary
/// (`<install>/scripts`, or `/usr/share/orb/hostfactory/scripts` for `/usr/bin/orb`).
fn scripts_dir(dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = dir {
        return Some(dir.to_owned());
    }
    let exe = std::env::current_exe().ok()?;
    let prefix = exe.parent()?.parent()?;
    [
        prefix.join("scripts"),
        prefix.join("share/orb/hostfactory/scripts"),
    ]
    .into_iter()
    .find(|d| d.join("invoke_orb.sh").is_file())
}

/// The scripts are there and executable, and under Host Factory one of them answers.
fn scripts_check(dir: Option<&Path>, under_host_factory: bool) -> Check {
    let fix = "install the scripts of config/hostfactory/scripts, executable, and point \
               Host Factory's scriptPath at them (or give their directory with --scripts)";
    let Some(dir) = scripts_dir(dir) else {
        let status = if under_host_factory {
            Status::Fail
        } else {
            Status::Skip
        };
        return Check::new(
            "host factory scripts",
            status,
            "not found beside the orb binary",
        )
        .fix(fix);
    };
    let broken: Vec<String> = HF_SCRIPTS
        .iter()
        .filter(|s| !is_executable(&dir.join(s)))
        .map(|s| s.to_string())
        .collect();
    if !broken.is_empty() {
        return Check::new(
            "host factory scripts",
            Status::Fail,
            format!(
                "missing or not executable in {}: {}",
                dir.display(),
                broken.join(", ")
            ),
        )
        .fix(fix);
    }
    if !under_host_factory {
        return Check::new(
            "host factory scripts",
            Status::Ok,
            dir.display().to_string(),
        );
    }
    // The call Host Factory makes first, as it makes it.
    let answered = Command::new(dir.join("getAvailableTemplates.sh"))
        .output()
        .map_err(|e| e.to_string())
        .and_then(|out| {
            let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
                .map_err(|_| String::from_utf8_lossy(&out.stdout).trim().to_owned())?;
            match answer["templates"].as_array() {
                Some(t) if out.status.success() => Ok(t.len()),
                _ => Err(answer["message"]
                    .as_str()
                    .unwrap_or("no templates")
                    .to_owned()),
            }
        });
    match answered {
        Ok(count) => Check::new(
            "host factory scripts",
            Status::Ok,
            format!(
                "{}: getAvailableTemplates answers {count} templates",
                dir.display()
            ),
        ),
        Err(why) => Check::new(
            "host factory scripts",
            Status::Fail,
            format!(
                "getAvailableTemplates.sh in {} failed: {why}",
                dir.display()
            ),
        )
        .fix(fix),
    }
}

/// Whether `path` is a file someone may execute.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
