//! Black-box tests: the real `orb` binary, the real plugin libraries and real services.
//!
//! One test binary for every area (each extra binary would link everything again); a module
//! per area.

mod aws;
mod console;
mod contract;
mod crash;
mod holding_proxy;
mod hostfactory;
mod mcp;
mod migrate;
mod operator_cli;
mod orb_cli;
mod orb_cutover;
mod orb_rest;
mod package;
mod plugins;
mod routing;
mod server;
mod shared_state;
mod support;
mod trust;
