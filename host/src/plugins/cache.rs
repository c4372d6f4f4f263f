//! Which library offers which provider types, remembered in the work directory, so that a
//! call loads only the library serving the instance it uses.
//!
//! Every process lists the plugins directory and looks at each file's identity (device, inode,
//! size, modification and change times: a changed file, owner or mode has another). A file
//! whose identity, the host's interface version and the file policy match the remembered entry
//! is not opened: its offer (or its refusal) is taken from the cache, and the library is loaded,
//! checked as a file again first, only when an instance of its type is built. Any other file is
//! checked and loaded at once, and the cache is written again (to a new file renamed over the
//! old one, so that concurrent processes never read half of it).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file_check::FilePolicy;
use super::loader::{
    library_files, load_library, FileIdentity, LoadOptions, LoadedPlugin, Offer, PluginLoadError,
    PluginSet,
};

/// The cache file's contents.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct CacheFile {
    /// The interface version of the host that wrote it.
    interface: String,
    /// The file policy it was written under.
    policy: FilePolicy,
    /// One entry per library file, in file-name order.
    libraries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    identity: FileIdentity,
    /// What it offers, or else why it was refused.
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Offers(Offer),
    Refused(String),
}

/// The plugins of `dir`, opening only the files `cache` does not already describe.
pub fn load_plugins_cached(dir: &Path, options: &LoadOptions, cache: &Path) -> PluginSet {
    let files = match library_files(dir) {
        Ok(files) => files,
        Err(e) => return PluginSet::failed(e),
    };
    let remembered = read(cache, options);
    let mut set = PluginSet::default();
    let mut written = CacheFile {
        interface: orb_plugin_api::INTERFACE_VERSION.to_owned(),
        policy: options.files.clone(),
        libraries: Vec::with_capacity(files.len()),
    };
    for path in files {
        let Some(identity) = FileIdentity::of(&path) else {
            continue;
        };
        let known = remembered
            .libraries
            .iter()
            .find(|e| e.path == path && e.identity == identity)
            .map(|e| e.outcome.clone());
        let outcome = match known {
            Some(Outcome::Offers(offer)) => {
                set.add(LoadedPlugin::deferred(
                    &path,
                    offer.clone(),
                    identity,
                    options,
                ));
                Outcome::Offers(offer)
            }
            Some(Outcome::Refused(message)) => {
                set.failures.push(PluginLoadError::Remembered {
                    path: path.clone(),
                    message: message.clone(),
                });
                Outcome::Refused(message)
            }
            None => match load_library(&path, options) {
                Ok(plugin) => {
                    let offer = plugin.offer();
                    set.add(plugin);
                    Outcome::Offers(offer)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "plugin refused");
                    let message = e.to_string();
                    set.failures.push(e);
                    Outcome::Refused(message)
                }
            },
        };
        written.libraries.push(Entry {
            path,
            identity,
            outcome,
        });
    }
    if written != remembered {
        write(cache, &written);
    }
    set
}

/// The cache, or an empty one when it is missing, unreadable, or was written by another
/// interface version or under another file policy.
fn read(cache: &Path, options: &LoadOptions) -> CacheFile {
    std::fs::read(cache)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
        .filter(|c| c.interface == orb_plugin_api::INTERFACE_VERSION && c.policy == options.files)
        .unwrap_or_default()
}

/// Writes the cache; a failure only costs later processes a full load.
fn write(cache: &Path, contents: &CacheFile) {
    let partial = cache.with_extension(format!("{}.partial", std::process::id()));
    let written = serde_json::to_vec(contents)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&partial, bytes))
        .and_then(|()| std::fs::rename(&partial, cache));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        tracing::debug!(error = %e, cache = %cache.display(), "plugin cache not written");
    }
}
