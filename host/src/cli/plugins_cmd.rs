//! `orb plugins ...`: the provider libraries in the plugins directory.

use serde_json::{json, Value};

use super::CommandOutput;
use crate::app::App;
use crate::plugins::sha256_hex;

/// `orb plugins list`: every library, loaded or refused. Fails when any was refused.
pub fn list(app: &App) -> CommandOutput {
    let factory = app.factory_loading_all(&app.plugin_options());
    let set = factory.plugins();
    let plugins: Vec<Value> = set
        .plugins
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "version": p.version,
                "interfaceVersion": p.interface_version,
                "providerTypes": p.provider_types,
                "path": p.path,
            })
        })
        .collect();
    let refused: Vec<Value> = set
        .failures
        .iter()
        .map(|e| json!({"error": e.to_string()}))
        .collect();
    CommandOutput {
        success: refused.is_empty(),
        value: json!({
            "pluginsDir": app.paths.plugins_dir,
            "hostInterfaceVersion": orb_plugin_api::INTERFACE_VERSION,
            "plugins": plugins,
            "refused": refused,
        }),
    }
}

/// `orb plugins verify`: each library file with its SHA-256, and whether it loads or why not.
/// Fails when any is refused.
pub fn verify(app: &App) -> CommandOutput {
    let factory = app.factory_loading_all(&app.plugin_options());
    let set = factory.plugins();
    let mut files: Vec<Value> = Vec::new();
    for plugin in &set.plugins {
        files.push(json!({
            "path": plugin.path,
            "sha256": std::fs::read(&plugin.path).ok().map(|b| sha256_hex(&b)),
            "loads": true,
            "providerTypes": plugin.provider_types,
        }));
    }
    for failure in &set.failures {
        let path = failure.path();
        files.push(json!({
            "path": path,
            "sha256": path.and_then(|p| std::fs::read(p).ok()).map(|b| sha256_hex(&b)),
            "loads": false,
            "refused": failure.to_string(),
        }));
    }
    CommandOutput {
        success: set.failures.is_empty(),
        value: json!({"pluginsDir": app.paths.plugins_dir, "libraries": files}),
    }
}

/// The files of a new provider crate; `lib.rs` is the SDK's own example provider.
const NEW_PLUGIN_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("new_plugin/Cargo.toml.in")),
    (
        "src/lib.rs",
        include_str!("../../../plugin-api/examples/minimal_provider.rs"),
    ),
    (
        "tests/contract.rs",
        include_str!("new_plugin/contract.rs.in"),
    ),
    ("README.md", include_str!("new_plugin/README.md.in")),
];

/// Where a new provider finds the interface crate: the copy orb's package installs beside it
/// (`<prefix>/share/orb/orb-plugin-api`), else the crate this orb was built from, whichever is
/// there; else (neither) the registry's release of the interface's version.
fn api_dependency(major: u32, minor: u32) -> String {
    let version = format!("version = \"{major}.{minor}\"");
    let installed = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share/orb/orb-plugin-api")));
    let built_from = Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api"));
    match [installed, built_from]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("Cargo.toml").is_file())
        .and_then(|dir| dir.canonicalize().ok())
    {
        Some(dir) => format!("path = {:?}, {version}", dir.display().to_string()),
        None => version,
    }
}

/// `orb plugins new NAME`: writes a provider crate named `name` into `dir` (default: `./NAME`),
/// which must not exist yet. Its provider type is `name` too.
pub fn new(app: &App, name: &str, dir: Option<&std::path::Path>) -> anyhow::Result<CommandOutput> {
    let valid = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        anyhow::bail!(
            "'{name}' cannot name a provider crate: use up to 40 lower-case letters, digits, '-' and '_', starting with a letter"
        );
    }
    let root = dir.map_or_else(
        || std::path::PathBuf::from(name),
        std::path::Path::to_path_buf,
    );
    if root.exists() {
        anyhow::bail!("{} already exists; choose another --dir", root.display());
    }
    let ident = name.replace('-', "_");
    let camel: String = name
        .split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let (major, minor, _) = orb_plugin_api::version::parse(orb_plugin_api::INTERFACE_VERSION)
        .expect("the interface version is a version");
    let fill = |text: &str| {
        text.replace("@NAME@", name)
            .replace("@IDENT@", &ident)
            .replace("@API@", &api_dependency(major, minor))
            .replace("@PLUGINS@", &app.paths.plugins_dir.display().to_string())
            .replace("\"minimal\"", &format!("{name:?}"))
            .replace("Minimal", &camel)
    };
    let mut written = Vec::new();
    for (file, text) in NEW_PLUGIN_FILES {
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, fill(text))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(CommandOutput {
        success: true,
        value: json!({
            "created": root,
            "files": written,
            "providerType": name,
            "next": format!("cd {} && cargo test && cargo build --release", root.display()),
        }),
    })
}
