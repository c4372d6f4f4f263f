//! Loading provider libraries from the plugins directory.
//!
//! Each library is loaded on its own (`lib_header_from_path`, then `init_root_module`), never
//! through abi_stable's per-type cache, which would hand back the first library for every
//! later one. A library that cannot be used is reported with the reason and skipped; the
//! others keep working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::sabi_types::VersionNumber;
use abi_stable::std_types::RStr;
use orb_plugin_api::ffi::{FfiProviderBox, LogSink, NewProviderArgs, PluginModuleRef};
use orb_plugin_api::{ProviderError, INTERFACE_VERSION};

use super::host_log::{forward_plugin_record, max_level_for_plugins};

/// Why a library in the plugins directory is not used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginLoadError {
    /// The plugins directory does not exist.
    #[error("plugins directory {0} does not exist; set plugins.dir in the configuration or ORB_PLUGINS_DIR")]
    MissingDir(PathBuf),
    /// The plugins directory cannot be read.
    #[error("cannot read plugins directory {dir}: {reason}")]
    UnreadableDir {
        /// The directory.
        dir: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not a library the system can load.
    #[error("{path}: not a loadable library: {reason}")]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// The loader's reason.
        reason: String,
    },
    /// The library is not an orb provider plugin.
    #[error("{path}: not an orb provider plugin (it exports no orb plugin root module)")]
    NotAPlugin {
        /// The file.
        path: PathBuf,
    },
    /// The library was built against an incompatible interface version.
    #[error("{path}: built against orb-plugin-api {library}, but this host speaks orb-plugin-api {host}; rebuild the plugin against orb-plugin-api {host}")]
    IncompatibleVersion {
        /// The file.
        path: PathBuf,
        /// The library's interface version.
        library: String,
        /// The host's interface version.
        host: String,
    },
    /// The library's interface types differ from the host's.
    #[error("{path}: its plugin interface does not match this host's ({detail}); rebuild it against orb-plugin-api {host}")]
    IncompatibleLayout {
        /// The file.
        path: PathBuf,
        /// The first lines of abi_stable's explanation.
        detail: String,
        /// The host's interface version.
        host: String,
    },
    /// The library's root module failed or panicked while loading.
    #[error("{path}: the plugin failed while loading: {reason}")]
    LoadFailed {
        /// The file.
        path: PathBuf,
        /// What it reported.
        reason: String,
    },
    /// Another library already offers a provider type this one claims.
    #[error("{path}: provider type '{provider_type}' is already offered by {other}; remove one of the two libraries")]
    DuplicateType {
        /// The file.
        path: PathBuf,
        /// The type claimed twice.
        provider_type: String,
        /// The library that offers it.
        other: PathBuf,
    },
}

/// A library that loaded.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// Its file.
    pub path: PathBuf,
    /// The plugin's name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The interface version it was built against.
    pub interface_version: String,
    /// The provider types it offers and this host registered.
    pub provider_types: Vec<String>,
    module: PluginModuleRef,
}

impl LoadedPlugin {
    /// Builds a provider object of `provider_type` for `instance`, from its `config` (JSON).
    /// Blocks while the plugin's constructor runs.
    pub fn new_provider(
        &self,
        provider_type: &str,
        instance: &str,
        config: &str,
        work_dir: &Path,
    ) -> Result<FfiProviderBox, ProviderError> {
        let work_dir = work_dir.to_string_lossy();
        (self.module.new_provider())(NewProviderArgs {
            provider_type: RStr::from_str(provider_type),
            instance_name: RStr::from_str(instance),
            config: RStr::from_str(config),
            work_dir: RStr::from_str(&work_dir),
        })
        .into_result()
        .map_err(ProviderError::from)
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("interface_version", &self.interface_version)
            .field("provider_types", &self.provider_types)
            .finish()
    }
}

/// Everything found in the plugins directory.
#[derive(Debug, Clone, Default)]
pub struct PluginSet {
    /// The libraries that loaded.
    pub plugins: Vec<LoadedPlugin>,
    /// The libraries (or types) that were refused, with the reason.
    pub failures: Vec<PluginLoadError>,
}

impl PluginSet {
    /// The plugin offering `provider_type`.
    pub fn for_type(&self, provider_type: &str) -> Option<&LoadedPlugin> {
        self.plugins
            .iter()
            .find(|p| p.provider_types.iter().any(|t| t == provider_type))
    }

    /// Every provider type offered.
    pub fn provider_types(&self) -> Vec<&str> {
        self.plugins
            .iter()
            .flat_map(|p| p.provider_types.iter().map(String::as_str))
            .collect()
    }
}

/// Whether `path` has the platform's shared-library extension.
fn is_library(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    path.is_file() && matches!(ext, "so" | "dylib" | "dll")
}

/// Loads every library in `dir`, in file-name order.
pub fn load_plugins(dir: &Path) -> PluginSet {
    let mut set = PluginSet::default();
    if !dir.is_dir() {
        set.failures
            .push(PluginLoadError::MissingDir(dir.to_path_buf()));
        return set;
    }
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_library(p))
            .collect(),
        Err(e) => {
            set.failures.push(PluginLoadError::UnreadableDir {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            });
            return set;
        }
    };
    files.sort();
    let mut owners: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in files {
        match load_library(&path) {
            Ok(mut plugin) => {
                let offered = std::mem::take(&mut plugin.provider_types);
                for provider_type in offered {
                    match owners.get(&provider_type) {
                        Some(other) => set.failures.push(PluginLoadError::DuplicateType {
                            path: path.clone(),
                            provider_type,
                            other: other.clone(),
                        }),
                        None => {
                            owners.insert(provider_type.clone(), path.clone());
                            plugin.provider_types.push(provider_type);
                        }
                    }
                }
                tracing::debug!(plugin = %plugin.name, path = %path.display(), types = ?plugin.provider_types, "plugin loaded");
                set.plugins.push(plugin);
            }
            Err(e) => {
                tracing::warn!(error = %e, "plugin refused");
                set.failures.push(e);
            }
        }
    }
    set
}

/// Loads one library.
pub fn load_library(path: &Path) -> Result<LoadedPlugin, PluginLoadError> {
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::GetSymbolError { .. } => PluginLoadError::NotAPlugin {
            path: path.to_path_buf(),
        },
        LibraryError::OpenError { err, .. } => PluginLoadError::NotALibrary {
            path: path.to_path_buf(),
            reason: err.to_string(),
        },
        other => PluginLoadError::NotALibrary {
            path: path.to_path_buf(),
            reason: first_lines(&other.to_string(), 2),
        },
    })?;
    let library_version = header.version_strings();
    check_version(path, library_version.version.as_str())?;
    let module = header
        .init_root_module::<PluginModuleRef>()
        .map_err(|e| match e {
            LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
                PluginLoadError::IncompatibleVersion {
                    path: path.to_path_buf(),
                    library: actual_version.to_string(),
                    host: INTERFACE_VERSION.to_owned(),
                }
            }
            LibraryError::AbiInstability(detail) => {
                tracing::debug!(path = %path.display(), detail = %detail, "plugin layout mismatch");
                PluginLoadError::IncompatibleLayout {
                    path: path.to_path_buf(),
                    detail: first_lines(&detail.to_string(), 3),
                    host: INTERFACE_VERSION.to_owned(),
                }
            }
            other => PluginLoadError::LoadFailed {
                path: path.to_path_buf(),
                reason: first_lines(&other.to_string(), 3),
            },
        })?;
    (module.install_log_sink())(LogSink(forward_plugin_record), max_level_for_plugins());
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        name: module.name().to_string(),
        version: module.version().to_string(),
        interface_version: library_version.version.to_string(),
        provider_types: (module.provider_types())()
            .into_iter()
            .map(|t| t.into_string())
            .collect(),
        module,
    })
}

/// The compatibility rule of the crate docs of `orb-plugin-api`: same major version and, while
/// it is 0, the same minor version.
fn check_version(path: &Path, library: &str) -> Result<(), PluginLoadError> {
    let incompatible = || PluginLoadError::IncompatibleVersion {
        path: path.to_path_buf(),
        library: library.to_owned(),
        host: INTERFACE_VERSION.to_owned(),
    };
    let host = parse_version(INTERFACE_VERSION).ok_or_else(incompatible)?;
    let lib = parse_version(library).ok_or_else(incompatible)?;
    if compatible(&host, &lib) {
        Ok(())
    } else {
        Err(incompatible())
    }
}

fn parse_version(text: &str) -> Option<VersionNumber> {
    let mut parts = text
        .split('.')
        .map(|p| p.split(['-', '+']).next()?.parse::<u32>().ok());
    Some(VersionNumber {
        major: parts.next()??,
        minor: parts.next()??,
        patch: parts.next().flatten().unwrap_or(0),
    })
}

fn compatible(host: &VersionNumber, library: &VersionNumber) -> bool {
    host.major == library.major && (host.major != 0 || host.minor == library.minor)
}

/// The first `n` non-empty lines of a long message, joined.
fn first_lines(text: &str, n: usize) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> VersionNumber {
        parse_version(text).unwrap()
    }

    #[test]
    fn the_compatibility_rule() {
        assert!(compatible(&v("0.1.0"), &v("0.1.7")));
        assert!(!compatible(&v("0.1.0"), &v("0.2.0")));
        assert!(!compatible(&v("0.2.0"), &v("0.1.0")));
        assert!(compatible(&v("1.2.0"), &v("1.0.3")));
        assert!(!compatible(&v("1.0.0"), &v("2.0.0")));
        assert_eq!(parse_version("1.2.3-beta.1").map(|x| x.patch), Some(3));
        assert!(parse_version("x.y").is_none());
    }

    #[test]
    fn a_missing_directory_is_reported() {
        let set = load_plugins(Path::new("/nonexistent/orb/plugins"));
        assert!(set.plugins.is_empty());
        assert!(matches!(set.failures[0], PluginLoadError::MissingDir(_)));
        assert!(set.failures[0].to_string().contains("ORB_PLUGINS_DIR"));
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libfake.so"), "not an ELF file").unwrap();
        std::fs::write(dir.path().join("README.md"), "notes").unwrap();
        let set = load_plugins(dir.path());
        assert_eq!(set.failures.len(), 1, "{:?}", set.failures);
        assert!(matches!(
            set.failures[0],
            PluginLoadError::NotALibrary { .. }
        ));
    }
}
