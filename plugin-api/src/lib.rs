//! # orb-plugin-api: the contract between the orb host and its provider plugins
//!
//! A provider plugin is a `cdylib` that the `orb` host loads at run time from its plugins
//! directory. This crate is everything both sides share, and the only crate a vendor needs:
//!
//! - [`types`]: the data that crosses the boundary ([`Template`], [`ProvisionRequest`],
//!   [`Machine`], [`HealthReport`], ...), plain serde types defined once for both sides.
//! - [`ProviderError`]: typed provider errors with a [`ErrorKind`] and a `retryable` flag.
//! - [`Provider`]: the trait a vendor implements, one method per operation of
//!   [`operations`]; all but `provision_machines`, `terminate_machines` and `machine_status`
//!   have defaults.
//! - [`export_plugin!`]: one macro that exports the plugin's root module and names its
//!   provider types.
//! - [`ffi`]: the frozen stable-ABI core (root module, provider object, log sink);
//!   [`host`]: the host's side of it, which loads libraries and calls providers by operation.
//! - [`version`]: the interface version and the rule for what changes it.
//!
//! ## Writing a provider
//! `examples/minimal_provider.rs` is a whole provider (`orb plugins new NAME` starts a crate
//! from it; the README walks through it):
#![doc = concat!("```ignore\n", include_str!("../examples/minimal_provider.rs"), "```\n")]
//!
//! ## Interface version and the compatibility rule
//! The interface version is this crate's version ([`INTERFACE_VERSION`]), independent of
//! orb's releases; a plugin records it in its library header. A host serves every library of
//! its major version, older or newer, and refuses others before any of their code runs, with
//! a message naming both versions ([`version`]). Behind that check, `abi_stable` compares the
//! layout of the frozen core, which never changes within a major version: operations cross it
//! by name, so adding one changes no layout, and the host learns from each provider object
//! which operations it offers ([`host::ProviderObject::call`] uses the operation's fallback,
//! or answers `unsupported`, for the others).
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
#[cfg(feature = "contract")]
pub mod contract;
pub mod error;
pub mod ffi;
pub mod host;
pub mod keys;
pub mod logging;
pub mod operations;
pub mod sdk;
pub mod types;
pub mod version;

pub use error::{ErrorKind, ProviderError};
pub use keys::likely_meant;
pub use sdk::{Provider, ProviderContext, ProviderFactoryFn};
pub use types::*;
pub use version::INTERFACE_VERSION;

/// The JSON library of the types in [`types`], re-exported so vendors use the same version.
pub use serde_json;

/// Re-exports the generated code of [`export_plugin!`] relies on, so that vendor crates need no
/// dependency but this one. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}
