//! The host's side of the interface: loading a provider library and calling the providers it
//! builds. Vendors do not need this module; the orb host and the contract kit use it.
//!
//! Each library is loaded on its own (`lib_header_from_path`, then `check_layout`), never
//! through abi_stable's per-type cache, which would hand back the first library for every
//! later one. The interface version is checked by [`crate::version::check`], not by abi_stable,
//! whose rule would refuse a library built against an older minor version.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::RStr;

use crate::ffi::{FfiProviderBox, LogSink, NewProviderArgs, PluginModuleRef};
use crate::operations::Operation;
use crate::version::VersionError;
use crate::{ErrorKind, Provider, ProviderError, INTERFACE_VERSION};

/// Why a library cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The system's loader refused the file.
    #[error("not a loadable library: {0}")]
    NotALibrary(String),
    /// The library exports no orb plugin root module.
    #[error("not an orb provider plugin (it exports no orb plugin root module)")]
    NotAPlugin,
    /// The library speaks another major version of the interface.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The library's root module does not have this interface's layout.
    #[error("its plugin interface does not match this host's ({detail}); rebuild it against orb-plugin-api {host}")]
    Layout {
        /// The first lines of abi_stable's explanation.
        detail: String,
        /// The host's interface version.
        host: &'static str,
    },
    /// The root module failed or panicked while loading.
    #[error("the plugin failed while loading: {0}")]
    Failed(String),
}

/// Who built a provider object: named in "not supported" answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's own version.
    pub version: String,
    /// The interface version it was built against.
    pub interface_version: String,
}

/// A library that loaded. Cheap to clone; the library stays mapped for the process's life.
#[derive(Clone)]
pub struct Library {
    origin: Arc<Origin>,
    provider_types: Vec<String>,
    module: PluginModuleRef,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("origin", &self.origin)
            .field("provider_types", &self.provider_types)
            .finish()
    }
}

/// Loads the library at `path` and installs `log_sink` in it, forwarding records at or above
/// `max_level` (1 = error ... 5 = trace). The file is mapped and its initialisers run: check
/// it as a file before calling this.
pub fn load(path: &Path, log_sink: LogSink, max_level: u8) -> Result<Library, LoadError> {
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin,
        LibraryError::OpenError { err, .. } => LoadError::NotALibrary(err.to_string()),
        other => LoadError::NotALibrary(first_lines(&other.to_string(), 2)),
    })?;
    let interface_version = header.version_strings().version.as_str().to_owned();
    crate::version::check(&interface_version)?;
    let module = header
        .check_layout::<PluginModuleRef>()
        .map_err(|e| match e {
            LibraryError::AbiInstability(detail) => LoadError::Layout {
                detail: first_lines(&detail.to_string(), 3),
                host: INTERFACE_VERSION,
            },
            other => LoadError::Failed(first_lines(&other.to_string(), 3)),
        })?;
    (module.install_log_sink())(log_sink, max_level);
    Ok(Library {
        origin: Arc::new(Origin {
            plugin: module.name().to_string(),
            version: module.version().to_string(),
            interface_version,
        }),
        provider_types: (module.provider_types())()
            .into_iter()
            .map(|t| t.into_string())
            .collect(),
        module,
    })
}

impl Library {
    /// The plugin's name, version and interface version.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The provider types the library offers.
    pub fn provider_types(&self) -> &[String] {
        &self.provider_types
    }

    /// Builds a provider object of `provider_type` for `instance`, from its `config` (JSON).
    /// Blocks while the plugin's constructor runs.
    pub fn new_provider(
        &self,
        provider_type: &str,
        instance: &str,
        config: &str,
        work_dir: &Path,
    ) -> Result<ProviderObject, ProviderError> {
        let work_dir = work_dir.to_string_lossy();
        let object = (self.module.new_provider())(NewProviderArgs {
            provider_type: RStr::from_str(provider_type),
            instance_name: RStr::from_str(instance),
            config: RStr::from_str(config),
            work_dir: RStr::from_str(&work_dir),
        })
        .into_result()
        .map_err(ProviderError::from)?;
        Ok(ProviderObject::new(object, Some(Arc::clone(&self.origin))))
    }
}

/// A provider built by a plugin (or wrapped in-process by [`in_process`]), called by operation.
pub struct ProviderObject {
    object: FfiProviderBox,
    provider_type: String,
    operations: BTreeSet<String>,
    origin: Option<Arc<Origin>>,
}

impl std::fmt::Debug for ProviderObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderObject")
            .field("provider_type", &self.provider_type)
            .field("origin", &self.origin)
            .finish()
    }
}

impl ProviderObject {
    fn new(object: FfiProviderBox, origin: Option<Arc<Origin>>) -> Self {
        let operations = object
            .operations()
            .into_iter()
            .map(|o| o.into_string())
            .collect();
        ProviderObject {
            provider_type: object.provider_type().into_string(),
            object,
            operations,
            origin,
        }
    }

    /// The provider type the object implements.
    pub fn provider_type(&self) -> &str {
        &self.provider_type
    }

    /// The names of the operations the library offers, as it reported them when built.
    pub fn operations(&self) -> impl Iterator<Item = &str> {
        self.operations.iter().map(String::as_str)
    }

    /// Whether the library offers the operation named `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.operations.contains(name)
    }

    /// Calls `O`. A library without it, or that answers [`ErrorKind::Unsupported`], gets the
    /// operation's fallback when it has one, and otherwise an `Unsupported` error naming the
    /// provider and its versions.
    pub fn call<O: Operation>(&self, input: &O::Input) -> Result<O::Output, ProviderError> {
        if self.supports(O::NAME) {
            let json = serde_json::to_string(input).map_err(|e| {
                ProviderError::new(
                    ErrorKind::Protocol,
                    format!("cannot encode the input of {}: {e}", O::NAME),
                )
            })?;
            match self.call_json(O::NAME, &json) {
                Err(e) if e.kind == ErrorKind::Unsupported => {}
                Err(e) => return Err(e),
                Ok(output) => {
                    return serde_json::from_str(&output).map_err(|e| {
                        ProviderError::new(
                            ErrorKind::Protocol,
                            format!("cannot read the provider's answer to {}: {e}", O::NAME),
                        )
                    })
                }
            }
        }
        match O::FALLBACK {
            Some(fallback) => fallback(self, input),
            None => Err(self.unsupported(O::NAME, O::SINCE)),
        }
    }

    /// Calls the operation named `operation` with JSON input; answers its JSON output.
    pub fn call_json(&self, operation: &str, input: &str) -> Result<String, ProviderError> {
        self.object
            .call(RStr::from_str(operation), RStr::from_str(input))
            .into_result()
            .map(|s| s.into_string())
            .map_err(ProviderError::from)
    }

    fn unsupported(&self, operation: &str, since: &str) -> ProviderError {
        let by = match &self.origin {
            Some(o) => format!(
                "provider type '{}' (plugin {} {}, interface {})",
                self.provider_type, o.plugin, o.version, o.interface_version
            ),
            None => format!("provider type '{}'", self.provider_type),
        };
        ProviderError::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by {by}; it was added in interface {since}, so a plugin built against it may offer it"),
        )
    }
}

/// Wraps `provider` in the same boundary object a plugin library hands out, without loading a
/// library: for vendors' tests (the contract kit) and for benchmarks.
pub fn in_process(
    provider: Box<dyn Provider>,
    provider_type: &str,
    instance: &str,
) -> ProviderObject {
    ProviderObject::new(
        crate::sdk::boundary_object(provider, provider_type, instance),
        None,
    )
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
