//! Configuration: the Python ORB's `config.json` layout, loaded through the `config` crate with
//! environment overrides.

mod env;
mod expand;
mod load;
mod model;
mod paths;
mod redact;
mod typos;

pub use env::{merge, Env};
pub use load::{find_config_file, load, ConfigError, LoadedConfig};
pub use model::*;
pub use paths::Paths;
pub use redact::{redact, REDACTED};
pub use typos::likely_meant;
