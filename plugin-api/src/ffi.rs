//! The stable-ABI layer: what a plugin library exports and the host loads.
//!
//! Vendors never use this module directly: [`crate::export_plugin!`] generates the exports
//! from a [`crate::Provider`] implementation, and [`crate::host`] loads them. Data crosses as
//! JSON in [`RString`]s (see [`crate::types`]); only errors and log records have stable-ABI
//! structs of their own. Nothing here may change within a major version.
//!
//! ## Why a frozen core
//! abi_stable offers prefix types: a vtable that may grow, where fields after the
//! `last_prefix_field` marker are optional. That would have meant one vtable method per
//! operation, each new one declared optional, and a host that checks each for presence before
//! calling it; and abi_stable's own version rule refuses a library built against an older minor
//! version, so the host would have to bypass it anyway. The frozen core instead has three
//! methods that never change: the provider type, the names of the operations it answers, and a
//! call by name with JSON in and out. Data already crossed as JSON, so a call costs the same;
//! adding an operation is a line in [`crate::operations`] and changes no layout; and a host
//! learns what a library offers by asking it, whatever version it was built against.
// `#[sabi_trait]` and `#[derive(StableAbi)]` generate unsafe code and non-local impls.
#![allow(unsafe_code, non_local_definitions)]

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RStr, RString, RVec},
    StableAbi,
};

use crate::{ErrorKind, ProviderError};

/// An error as it crosses the boundary. The host turns it back into a [`ProviderError`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiError {
    /// The [`ErrorKind`] name; unknown names become [`ErrorKind::Internal`].
    pub kind: RString,
    /// The message.
    pub message: RString,
    /// Whether a retry may succeed.
    pub retryable: bool,
}

impl From<ProviderError> for FfiError {
    fn from(e: ProviderError) -> Self {
        FfiError {
            kind: e.kind.as_str().into(),
            message: e.message.into(),
            retryable: e.retryable,
        }
    }
}

impl From<FfiError> for ProviderError {
    fn from(e: FfiError) -> Self {
        ProviderError {
            kind: ErrorKind::parse(e.kind.as_str()),
            message: e.message.into_string(),
            retryable: e.retryable,
        }
    }
}

/// The result of a provider call across the boundary: JSON on success.
pub type FfiResult = RResult<RString, FfiError>;

/// The provider object a plugin hands to the host: the frozen core of the interface. Every
/// operation of [`crate::operations`] crosses [`FfiProvider::call`] by name, with JSON in and
/// out, so adding an operation never changes this layout.
#[sabi_trait]
pub trait FfiProvider: Send + Sync {
    /// The provider type this object implements.
    fn provider_type(&self) -> RString;

    /// The names of the operations this object answers.
    fn operations(&self) -> RVec<RString>;

    /// Calls the operation named `operation` with its JSON `input`; an operation the object
    /// does not know answers an error of kind `unsupported`.
    #[sabi(last_prefix_field)]
    fn call(&self, operation: RStr<'_>, input: RStr<'_>) -> FfiResult;
}

/// The boxed provider object as the host holds it.
pub type FfiProviderBox = FfiProvider_TO<'static, RBox<()>>;

/// One log record forwarded from a plugin to the host.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct LogRecord<'a> {
    /// 1 = error, 2 = warn, 3 = info, 4 = debug, 5 = trace.
    pub level: u8,
    /// The event's target inside the plugin (its module path).
    pub target: RStr<'a>,
    /// The provider instance the event belongs to; empty outside provider calls.
    pub instance: RStr<'a>,
    /// The event's message.
    pub message: RStr<'a>,
    /// The event's other fields, as `key=value` pairs separated by spaces.
    pub fields: RStr<'a>,
}

/// The host's log callback, handed to every plugin after loading.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogSink(pub extern "C" fn(&LogRecord<'_>));

/// Arguments of [`PluginModule::new_provider`].
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct NewProviderArgs<'a> {
    /// The provider type to build (one of [`PluginModule::provider_types`]).
    pub provider_type: RStr<'a>,
    /// The name of the provider instance, from the host's configuration.
    pub instance_name: RStr<'a>,
    /// The instance's `config` object, as JSON, with environment overrides applied.
    pub config: RStr<'a>,
    /// A directory the instance may keep state in, shared by every `orb` process.
    pub work_dir: RStr<'a>,
}

/// The root module every provider library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// The plugin's name.
    pub name: RStr<'static>,
    /// The plugin's own version.
    pub version: RStr<'static>,
    /// The provider types the plugin offers.
    pub provider_types: extern "C" fn() -> RVec<RString>,
    /// Installs the host's log sink, forwarding events at or above `max_level` (1-5).
    pub install_log_sink: extern "C" fn(LogSink, u8),
    /// Builds a provider instance: `new_provider(type, instance name, config, work dir)`.
    #[sabi(last_prefix_field)]
    pub new_provider: extern "C" fn(NewProviderArgs<'_>) -> RResult<FfiProviderBox, FfiError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "orb_provider";
    const NAME: &'static str = "orb provider plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The exported symbol name of a plugin's library header (abi_stable 0.11's root module
/// loader), which [`crate::export_plugin!`] must write as a literal; a test keeps the two equal.
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_macro_symbol_is_abi_stables() {
        assert_eq!(
            ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn errors_survive_the_boundary() {
        let e = ProviderError::new(ErrorKind::Capacity, "no t3.large in us-east-1a");
        let back = ProviderError::from(FfiError::from(e.clone()));
        assert_eq!(back, e);
    }
}
