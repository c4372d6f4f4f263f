//! # orb, the resource broker
//!
//! The host: it reads the configuration, loads provider plugin libraries through the stable
//! ABI of `orb-plugin-api`, builds provider instances by type name, and drives them from the
//! command line.

pub mod broker;
pub mod cli;
pub mod config;
pub mod domain;
pub mod hostfactory;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod plugins;
pub mod providers;
pub mod server;
pub mod storage;
pub mod templates;
