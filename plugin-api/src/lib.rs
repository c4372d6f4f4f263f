//! # orb-plugin-api: the contract between the orb host and its provider plugins
//!
//! A provider plugin is a `cdylib` that the `orb` host loads at run time from its plugins
//! directory. This crate is everything both sides share, and the only crate a vendor needs:
//!
//! - [`types`]: the data that crosses the boundary ([`Template`], [`ProvisionRequest`],
//!   [`Machine`], [`HealthReport`], ...), plain serde types defined once for both sides.
//! - [`ProviderError`]: typed provider errors with a [`ErrorKind`] and a `retryable` flag.
//! - [`Provider`]: the trait a vendor implements, one method per operation of the provider
//!   interface (`provider_type`, `initialize`, `health_check`, `available_templates`,
//!   `provision_machines`, `terminate_machines`, `machine_status`, `validate_template`,
//!   `instance_types`, `metrics`, `cancel_request`).
//! - [`export_plugin!`]: one macro line that exports the plugin's root module.
//! - [`ffi`]: the stable-ABI layer itself (root module, provider object, log sink). Vendors do
//!   not touch it; the host uses it to load libraries.
//!
//! ## Writing a provider
//! ```ignore
//! use orb_plugin_api::*;
//!
//! struct Echo;
//! impl Provider for Echo {
//!     fn provider_type(&self) -> &str { "echo" }
//!     // ... the other methods ...
//! #   fn health_check(&self) -> Result<HealthReport, ProviderError> { todo!() }
//! #   fn provision_machines(&self, _: ProvisionRequest) -> Result<ProvisionResult, ProviderError> { todo!() }
//! #   fn terminate_machines(&self, _: TerminateRequest) -> Result<TerminateResult, ProviderError> { todo!() }
//! #   fn machine_status(&self, _: StatusQuery) -> Result<StatusResult, ProviderError> { todo!() }
//! }
//!
//! fn new_echo(ctx: ProviderContext) -> Result<Box<dyn Provider>, ProviderError> {
//!     Ok(Box::new(Echo))
//! }
//!
//! export_plugin! {
//!     name: "echo-plugin",
//!     version: env!("CARGO_PKG_VERSION"),
//!     providers: { "echo" => new_echo },
//! }
//! ```
//!
//! ## Interface version and the compatibility rule
//! The interface version is this crate's version ([`INTERFACE_VERSION`]); a plugin records the
//! version it was built against in its library header. At load time the host accepts a
//! library only when both versions have the same major number and, while the major number is
//! 0, the same minor number. The patch number is free. Any other library is refused before
//! any of its code runs, with a message naming the library, its interface version and the
//! host's. Behind that check, `abi_stable` compares the full type layout of the root module
//! and of every type reachable from it, so a changed signature is refused even when the
//! version numbers were not bumped.
//!
//! Changing the interface therefore means:
//! - adding an optional serde field to a type in [`types`]: data crosses as JSON, and unknown
//!   fields are ignored on both sides, so this needs only a patch bump;
//! - anything else, appending a method to [`ffi::FfiProvider`] included, needs a minor bump
//!   while the version is 0.x. Both [`ffi::FfiProvider`]'s vtable and [`ffi::PluginModule`] are
//!   prefix types, but `abi_stable` accepts a prefix type only from a library at least as new
//!   as the host: a library without a method the host has is refused at load time (measured:
//!   a 0.1 plugin without `cancel_request` in a host that has it). The version check refuses
//!   it first, with a clearer message.
//!
//! ## Panics
//! Every entry point the SDK generates runs the vendor's code inside `catch_unwind`. A panic
//! becomes a [`ProviderError`] of kind [`ErrorKind::Panic`] on the host side; the host keeps
//! running. The SDK also replaces the plugin's panic hook so the panic message goes to the
//! host's log instead of the plugin's stderr.
//!
//! ## Logging
//! Each `cdylib` carries its own copy of `tracing`'s global dispatcher, so a plugin's events
//! would vanish without help. The host hands every plugin a [`ffi::LogSink`] right after loading
//! it; the SDK installs a `tracing` subscriber inside the plugin that forwards every event
//! through that sink. Every provider call runs inside a span carrying the provider instance
//! name, and the forwarded record carries it, so the host logs each plugin event with the
//! instance it came from.
//!
//! ## Threads and async work
//! Provider methods are synchronous and may block: a cloud call takes tens of milliseconds to
//! seconds. Async work never crosses the boundary, because the plugin and the host each have
//! their own copy of `tokio` and a plugin's `block_on` inside a host task would silently block
//! a host worker thread. Instead:
//! - a plugin that needs async I/O owns its own runtime (built in its constructor) and blocks
//!   on it inside the provider method;
//! - the host calls every provider method from a blocking thread (`tokio::task::spawn_blocking`),
//!   so a slow provider never stalls the host's async runtime, and many calls can run at once.
//!
//! Providers must therefore be `Send + Sync`. Long cloud operations are split into a quick
//! start (`provision_machines` returns once the cloud accepted the request) and later polls
//! (`machine_status`).

pub mod cancel;
pub mod error;
pub mod ffi;
pub mod keys;
pub mod logging;
pub mod sdk;
pub mod types;

pub use error::{ErrorKind, ProviderError};
pub use keys::likely_meant;
pub use sdk::{Provider, ProviderContext, ProviderFactoryFn};
pub use types::*;

/// The JSON library of the types in [`types`], re-exported so vendors use the same version.
pub use serde_json;

/// The interface version: this crate's version, recorded in every plugin library at build time.
pub const INTERFACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Re-exports the generated code of [`export_plugin!`] relies on, so that vendor crates need no
/// dependency but this one. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}
