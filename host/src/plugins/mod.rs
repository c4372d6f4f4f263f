//! Provider plugins: checking and loading libraries, and calling the providers they build.

mod cache;
mod file_check;
mod handle;
mod host_log;
mod loader;

pub use cache::load_plugins_cached;
pub use file_check::{sha256_hex, FilePolicy, FileProblem};
pub use handle::{ProviderCallError, ProviderHandle};
pub use host_log::set_max_level_for_plugins;
pub use loader::{
    load_library, load_plugins, LoadOptions, LoadedPlugin, PluginLoadError, PluginSet,
};
