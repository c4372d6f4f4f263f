//! Provider instances: built by type name from the loaded plugins.

mod factory;
pub mod health;

pub use factory::{FactoryError, ProviderFactory};
