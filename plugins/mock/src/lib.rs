//! # orb-provider-mock: a cloud-free provider plugin
//!
//! Built as a `cdylib` and loaded by the host like any vendor's library, it "provisions"
//! machines that exist only in a state file, so the host can be tested and benchmarked without
//! a cloud. Its state file is shared by every `orb` process (Host Factory runs a new process per
//! call), guarded by a file lock and replaced atomically on every change.
//!
//! Behaviour is set per provider instance in its `config` (see [`config::MockConfig`]): how long
//! machines stay pending, launch failures, partial fulfilment, latency, retryable errors, and
//! panics for tests of the plugin boundary.

pub mod config;
mod provider;
mod state;

pub use provider::MockProvider;

orb_plugin_api::export_plugin! {
    name: "orb-provider-mock",
    version: env!("CARGO_PKG_VERSION"),
    providers: { "mock" => provider::new_mock_provider },
}
