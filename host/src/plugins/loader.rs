//! Loading provider libraries from the plugins directory.
//!
//! Each file is checked as a file first ([`super::file_check`]), then loaded through
//! `orb_plugin_api::host`. A library that cannot be used is reported with the reason and
//! skipped; the others keep working. A server loads private snapshots ([`LoadOptions::snapshot`])
//! so that a library overwritten in place never changes code under it, and reloads
//! ([`PluginSet::reload`]) only the files that changed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use orb_plugin_api::host::{self, Library, LoadError};

use super::file_check::{self, FilePolicy, FileProblem};
use super::host_log::{forward_plugin_record, max_level_for_plugins};
use orb_plugin_api::ffi::LogSink;

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
    /// The file failed a check made before loading; nothing of it was mapped.
    #[error("{path}: refused before loading: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
    },
    /// The library could not be loaded.
    #[error("{path}: {error}")]
    Library {
        /// The file.
        path: PathBuf,
        /// Why.
        error: LoadError,
    },
    /// The private snapshot of the library could not be made.
    #[error("{path}: cannot snapshot the library into {dir}: {reason}")]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// The snapshot directory.
        dir: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The library was refused by an earlier process, and has not changed since.
    #[error("{message}")]
    Remembered {
        /// The file.
        path: PathBuf,
        /// The refusal, as it was reported then.
        message: String,
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

impl PluginLoadError {
    /// The library file the error is about, when it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PluginLoadError::MissingDir(_) | PluginLoadError::UnreadableDir { .. } => None,
            PluginLoadError::File { path, .. }
            | PluginLoadError::Library { path, .. }
            | PluginLoadError::Snapshot { path, .. }
            | PluginLoadError::Remembered { path, .. }
            | PluginLoadError::DuplicateType { path, .. } => Some(path),
        }
    }
}

/// How libraries are loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// What a library file must satisfy.
    pub files: FilePolicy,
    /// Where to copy each library before loading it, when set: a private directory.
    pub snapshot: Option<PathBuf>,
}

/// The identity of a file as loaded: a changed file (contents, owner or mode) has another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileIdentity {
    pub(super) fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// A library that loaded.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// Its file in the plugins directory.
    pub path: PathBuf,
    /// The plugin's name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The interface version it was built against.
    pub interface_version: String,
    /// The provider types it offers and this host registered.
    pub provider_types: Vec<String>,
    identity: Option<FileIdentity>,
    /// The library, once loaded: at once, or on first use when an earlier process told what
    /// the file offers.
    library: Arc<OnceLock<Result<Library, PluginLoadError>>>,
    options: Arc<LoadOptions>,
}

/// What a library offers, as an earlier process found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Offer {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) interface_version: String,
    pub(super) provider_types: Vec<String>,
}

impl LoadedPlugin {
    /// The library, which builds provider objects; loaded (checked as a file first) on the
    /// first call when it was not loaded yet.
    pub fn library(&self) -> Result<&Library, PluginLoadError> {
        self.library
            .get_or_init(|| open_checked(&self.path, &self.options))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// What the library offers, to remember for later processes.
    pub(super) fn offer(&self) -> Offer {
        Offer {
            name: self.name.clone(),
            version: self.version.clone(),
            interface_version: self.interface_version.clone(),
            provider_types: self.provider_types.clone(),
        }
    }

    /// A plugin known from `offer`, whose library is loaded on first use.
    pub(super) fn deferred(
        path: &Path,
        offer: Offer,
        identity: FileIdentity,
        options: &LoadOptions,
    ) -> Self {
        LoadedPlugin {
            path: path.to_path_buf(),
            name: offer.name,
            version: offer.version,
            interface_version: offer.interface_version,
            provider_types: offer.provider_types,
            identity: Some(identity),
            library: Arc::default(),
            options: Arc::new(options.clone()),
        }
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
    /// A set holding the failure `error` only.
    pub(super) fn failed(error: PluginLoadError) -> Self {
        PluginSet {
            plugins: Vec::new(),
            failures: vec![error],
        }
    }

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

    /// The plugins directory as it is now: libraries unchanged since this set loaded them are
    /// kept as they are, new and changed ones are loaded (nothing is ever unloaded: the code
    /// of a replaced library stays mapped for the calls still running in it).
    pub fn reload(&self, dir: &Path, options: &LoadOptions) -> PluginSet {
        scan(dir, options, |path| {
            let identity = FileIdentity::of(path);
            self.plugins
                .iter()
                .find(|p| p.path == path && identity.is_some() && p.identity == identity)
                .cloned()
        })
    }
}

/// Whether `path` has the platform's shared-library extension.
fn is_library(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    path.is_file() && matches!(ext, "so" | "dylib" | "dll")
}

/// Loads every library in `dir`, in file-name order.
pub fn load_plugins(dir: &Path, options: &LoadOptions) -> PluginSet {
    scan(dir, options, |_| None)
}

/// The libraries of `dir`, each `known` or loaded.
fn scan(
    dir: &Path,
    options: &LoadOptions,
    known: impl Fn(&Path) -> Option<LoadedPlugin>,
) -> PluginSet {
    let files = match library_files(dir) {
        Ok(files) => files,
        Err(e) => return PluginSet::failed(e),
    };
    let mut set = PluginSet::default();
    for path in files {
        let loaded = match known(&path) {
            Some(plugin) => Ok(plugin),
            None => load_library(&path, options),
        };
        match loaded {
            Ok(plugin) => set.add(plugin),
            Err(e) => {
                tracing::warn!(error = %e, "plugin refused");
                set.failures.push(e);
            }
        }
    }
    set
}

impl PluginSet {
    /// Adds `plugin`, registering each of its types no earlier library offers.
    pub(super) fn add(&mut self, mut plugin: LoadedPlugin) {
        let offered = std::mem::take(&mut plugin.provider_types);
        for provider_type in offered {
            match self.for_type(&provider_type) {
                Some(other) => self.failures.push(PluginLoadError::DuplicateType {
                    path: plugin.path.clone(),
                    provider_type,
                    other: other.path.clone(),
                }),
                None => plugin.provider_types.push(provider_type),
            }
        }
        tracing::debug!(plugin = %plugin.name, path = %plugin.path.display(), types = ?plugin.provider_types, "plugin registered");
        self.plugins.push(plugin);
    }
}

/// The library files of `dir`, sorted; an error when it cannot be listed.
pub(super) fn library_files(dir: &Path) -> Result<Vec<PathBuf>, PluginLoadError> {
    if !dir.is_dir() {
        return Err(PluginLoadError::MissingDir(dir.to_path_buf()));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| PluginLoadError::UnreadableDir {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_library(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Checks one library as a file, then loads it (from a private snapshot when `options` say).
pub fn load_library(path: &Path, options: &LoadOptions) -> Result<LoadedPlugin, PluginLoadError> {
    let identity = FileIdentity::of(path);
    let library = open_checked(path, options)?;
    let origin = library.origin().clone();
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        name: origin.plugin,
        version: origin.version,
        interface_version: origin.interface_version,
        provider_types: library.provider_types().to_vec(),
        identity,
        library: Arc::new(OnceLock::from(Ok(library))),
        options: Arc::new(options.clone()),
    })
}

/// The library at `path`, checked as a file and loaded.
fn open_checked(path: &Path, options: &LoadOptions) -> Result<Library, PluginLoadError> {
    let file_error = |problem| PluginLoadError::File {
        path: path.to_path_buf(),
        problem,
    };
    match &options.snapshot {
        None => {
            file_check::check(path, None, &options.files).map_err(file_error)?;
            open(path, path)
        }
        Some(dir) => {
            let bytes = std::fs::read(path)
                .map_err(|e| file_error(FileProblem::Unreadable(e.to_string())))?;
            file_check::check(path, Some(&bytes), &options.files).map_err(file_error)?;
            let copy = snapshot(path, dir, &bytes)?;
            let opened = open(path, &copy);
            // The mapping keeps the code; the name is no longer needed.
            let _ = std::fs::remove_file(&copy);
            opened
        }
    }
}

fn open(path: &Path, file: &Path) -> Result<Library, PluginLoadError> {
    let library = host::load(
        file,
        LogSink(forward_plugin_record),
        max_level_for_plugins(),
    )
    .map_err(|error| PluginLoadError::Library {
        path: path.to_path_buf(),
        error,
    })?;
    tracing::debug!(path = %path.display(), "plugin library loaded");
    Ok(library)
}

/// Writes `bytes` as a new, read-only file in `dir`, named after `path` and unique.
fn snapshot(path: &Path, dir: &Path, bytes: &[u8]) -> Result<PathBuf, PluginLoadError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let error = |e: std::io::Error| PluginLoadError::Snapshot {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let copy = dir.join(format!("{}-{}", uuid::Uuid::new_v4().simple(), name));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o500)
        .open(&copy)
        .map_err(error)?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(error)?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_reported() {
        let set = load_plugins(
            Path::new("/nonexistent/orb/plugins"),
            &LoadOptions::default(),
        );
        assert!(set.plugins.is_empty());
        assert!(matches!(set.failures[0], PluginLoadError::MissingDir(_)));
        assert!(set.failures[0].to_string().contains("ORB_PLUGINS_DIR"));
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libfake.so"), "not an ELF file").unwrap();
        std::fs::write(dir.path().join("README.md"), "notes").unwrap();
        let set = load_plugins(dir.path(), &LoadOptions::default());
        assert_eq!(set.failures.len(), 1, "{:?}", set.failures);
        assert!(matches!(
            set.failures[0],
            PluginLoadError::File {
                problem: FileProblem::NotElf,
                ..
            }
        ));
    }
}
