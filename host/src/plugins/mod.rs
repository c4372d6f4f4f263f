//! Provider plugins: loading libraries, and calling the providers they build.

mod handle;
mod host_log;
mod loader;

pub use handle::{ProviderCallError, ProviderHandle};
pub use host_log::set_max_level_for_plugins;
pub use loader::{load_library, load_plugins, LoadedPlugin, PluginLoadError, PluginSet};
