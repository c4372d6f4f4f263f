//! Where orb finds its templates and plugins and keeps its state and logs.
//!
//! Host Factory's variables come first (`HF_PROVIDER_CONFDIR`, `HF_PROVIDER_WORKDIR`,
//! `HF_PROVIDER_LOGDIR`), then the Python ORB's (`ORB_CONFIG_DIR`, `ORB_WORK_DIR`,
//! `ORB_LOG_DIR`, then `config/`, `work/`, `logs/` under `ORB_ROOT_DIR`), then the configuration, then IBM's defaults built from `HF_CONFDIR`,
//! `HF_WORKDIR`, `HF_LOGDIR` and `HF_PROVIDER_NAME`, then places next to the config file.
//! Relative paths in the configuration are relative to the config file's directory.

use std::path::{Path, PathBuf};

use super::env::Env;
use super::load::LoadedConfig;

/// The resolved directories.
#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    /// Templates files and provider configuration.
    pub config_dir: PathBuf,
    /// The directory of the configuration file, when one was read: templates are looked for
    /// there too when `config_dir` holds none (the Python ORB keeps them beside its
    /// `config.json`, which `ORB_CONFIG_DIR` leads to while Host Factory names its own
    /// directory).
    pub config_file_dir: Option<PathBuf>,
    /// State (the database, provider state).
    pub work_dir: PathBuf,
    /// Log files; logs go to stderr when unset.
    pub log_dir: Option<PathBuf>,
    /// Provider plugin libraries.
    pub plugins_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories for `loaded`.
    pub fn resolve(loaded: &LoadedConfig, env: &Env, exe_dir: Option<&Path>) -> Paths {
        let file_dir = loaded.file.as_deref().and_then(Path::parent).map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        });
        let relative_to_file = |p: &Path| match file_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        };
        let scheduler = &loaded.config.scheduler;
        let hf_default = |var: &str| {
            let name = env.get("HF_PROVIDER_NAME")?;
            Some(Path::new(env.get(var)?).join("providers").join(name))
        };
        // The Python ORB's root: `config/`, `work/` and `logs/` under `ORB_ROOT_DIR`.
        let root = |sub: &str| env.get("ORB_ROOT_DIR").map(|r| Path::new(r).join(sub));
        let first = |candidates: Vec<Option<PathBuf>>| candidates.into_iter().flatten().next();

        let config_dir = first(vec![
            env.get("HF_PROVIDER_CONFDIR").map(PathBuf::from),
            env.get("ORB_CONFIG_DIR").map(PathBuf::from),
            root("config"),
            scheduler.config_dir.as_deref().map(relative_to_file),
            file_dir.map(Path::to_path_buf),
            hf_default("HF_CONFDIR"),
        ])
        .unwrap_or_else(|| PathBuf::from("config"));
        let work_dir = first(vec![
            env.get("HF_PROVIDER_WORKDIR").map(PathBuf::from),
            env.get("ORB_WORK_DIR").map(PathBuf::from),
            root("work"),
            scheduler.work_dir.as_deref().map(relative_to_file),
            hf_default("HF_WORKDIR"),
            file_dir.map(|d| d.join("..").join("work")),
            env.get("HOME")
                .map(|h| Path::new(h).join(".orb").join("work")),
        ])
        .unwrap_or_else(|| PathBuf::from("work"));
        let log_dir = first(vec![
            env.get("HF_PROVIDER_LOGDIR").map(PathBuf::from),
            env.get("ORB_LOG_DIR").map(PathBuf::from),
            root("logs"),
            scheduler.log_dir.as_deref().map(relative_to_file),
            env.get("HF_LOGDIR").map(PathBuf::from),
        ]);
        let plugins_dir = match &loaded.config.plugins.dir {
            Some(dir) => relative_to_file(dir),
            None => default_plugins_dir(exe_dir),
        };
        Paths {
            config_dir,
            config_file_dir: file_dir.map(Path::to_path_buf),
            work_dir,
            log_dir,
            plugins_dir,
        }
    }
}

/// `plugins/` beside the binary when it exists, else `../lib/orb/plugins` from it.
fn default_plugins_dir(exe_dir: Option<&Path>) -> PathBuf {
    let Some(exe_dir) = exe_dir else {
        return PathBuf::from("plugins");
    };
    let beside = exe_dir.join("plugins");
    if beside.is_dir() {
        beside
    } else {
        exe_dir.join("..").join("lib").join("orb").join("plugins")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OrbConfig;

    fn loaded(file: Option<&str>, config: OrbConfig) -> LoadedConfig {
        LoadedConfig {
            config,
            file: file.map(PathBuf::from),
            unresolved_server: Vec::new(),
        }
    }

    #[test]
    fn host_factory_variables_come_first() {
        let env = Env::from_pairs([
            ("HF_PROVIDER_CONFDIR", "/hf/conf/providers/awsinst"),
            ("HF_PROVIDER_WORKDIR", "/hf/work/providers/awsinst"),
            ("HF_PROVIDER_LOGDIR", "/hf/log"),
            ("ORB_CONFIG_DIR", "/orb/config"),
            ("ORB_WORK_DIR", "/orb/work"),
        ]);
        let p = Paths::resolve(
            &loaded(Some("/etc/orb/config.json"), OrbConfig::default()),
            &env,
            None,
        );
        assert_eq!(p.config_dir, PathBuf::from("/hf/conf/providers/awsinst"));
        assert_eq!(p.work_dir, PathBuf::from("/hf/work/providers/awsinst"));
        assert_eq!(p.log_dir, Some(PathBuf::from("/hf/log")));
    }

    #[test]
    fn ibm_defaults_and_file_relative_paths() {
        let env = Env::from_pairs([
            ("HF_PROVIDER_NAME", "awsinst"),
            ("HF_WORKDIR", "/hf/work"),
            ("HF_CONFDIR", "/hf/conf"),
        ]);
        let p = Paths::resolve(&loaded(None, OrbConfig::default()), &env, None);
        assert_eq!(p.work_dir, PathBuf::from("/hf/work/providers/awsinst"));
        assert_eq!(p.config_dir, PathBuf::from("/hf/conf/providers/awsinst"));

        let mut config = OrbConfig::default();
        config.plugins.dir = Some(PathBuf::from("../plugins"));
        config.scheduler.work_dir = Some(PathBuf::from("state"));
        let p = Paths::resolve(
            &loaded(Some("/opt/orb/config/config.json"), config),
            &Env::default(),
            None,
        );
        assert_eq!(p.plugins_dir, PathBuf::from("/opt/orb/config/../plugins"));
        assert_eq!(p.work_dir, PathBuf::from("/opt/orb/config/state"));
        assert_eq!(p.config_dir, PathBuf::from("/opt/orb/config"));
        assert_eq!(p.log_dir, None);
    }

    #[test]
    fn orbs_root_directory_holds_config_work_and_logs_unless_one_is_named() {
        let env = Env::from_pairs([("ORB_ROOT_DIR", "/opt/orb"), ("ORB_WORK_DIR", "/var/orb")]);
        let p = Paths::resolve(&loaded(None, OrbConfig::default()), &env, None);
        assert_eq!(p.config_dir, PathBuf::from("/opt/orb/config"));
        assert_eq!(p.work_dir, PathBuf::from("/var/orb"));
        assert_eq!(p.log_dir, Some(PathBuf::from("/opt/orb/logs")));
    }
}
