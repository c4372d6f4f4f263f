//! Configuration: the Python ORB's `config.json` layout, loaded through the `config` crate with
//! environment overrides.

mod env;
mod expand;
mod flag;
mod keys;
mod load;
mod model;
mod orb_py;
mod paths;
mod redact;
mod routing;

pub use env::Env;
pub use keys::without_effect;
pub use load::{find_config_file, load, LoadedConfig};
pub use model::*;
pub use paths::Paths;
pub use redact::redact;
pub use routing::{CircuitBreakerConfig, Pools, SelectionPolicy};
