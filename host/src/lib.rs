//! # orb, the resource broker
//!
//! The host: it reads the configuration, loads provider plugin libraries through the stable
//! ABI of `orb-plugin-api`, builds provider instances by type name, and drives them from the
//! command line.

pub(crate) mod app;
pub(crate) mod broker;
pub mod cli;
pub(crate) mod config;
pub(crate) mod dialect;
pub(crate) mod domain;
pub(crate) mod hostfactory;
pub(crate) mod logging;
pub mod mcp;
pub(crate) mod metrics;
pub(crate) mod migrate;
pub mod plugins;
pub(crate) mod providers;
pub(crate) mod selection;
pub mod server;
pub(crate) mod storage;
pub(crate) mod templates;
pub(crate) mod views;
