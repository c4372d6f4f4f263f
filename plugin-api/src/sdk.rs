//! The vendor's side: the [`Provider`] trait, and the glue [`crate::export_plugin!`] generates.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use abi_stable::library::{CheckTypeLayout, LibHeader, RootModuleResult};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString, RVec};
use serde::de::DeserializeOwned;

use crate::ffi::{
    FfiError, FfiProvider, FfiProviderBox, FfiProvider_TO, FfiResult, NewProviderArgs,
};
use crate::logging::InstanceScope;
use crate::operations::{for_each_operation, op, Operation, OPERATIONS};
use crate::{
    CancelRequest, CancelResult, ConfigNote, Discovery, ErrorKind, HealthReport, Infrastructure,
    InstanceTypeInfo, MetricSample, PowerRequest, PowerResult, ProviderError, ProvisionRequest,
    ProvisionResult, StatusQuery, StatusResult, Template, TerminateRequest, TerminateResult,
};

/// A cloud provider, as a vendor implements it.
///
/// Methods are synchronous and may block (see the crate docs on threads); they are called from
/// many threads at once. A panic inside any method is caught at the boundary.
pub trait Provider: Send + Sync {
    /// Prepares the provider: checks its configuration, builds its clients.
    fn initialize(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Reports whether the provider can reach its cloud. The default reports it healthy
    /// without checking anything.
    fn health_check(&self) -> Result<HealthReport, ProviderError> {
        Ok(HealthReport::healthy("provider"))
    }

    /// Templates the provider offers by itself, beside the operator's templates file.
    fn available_templates(&self) -> Result<Vec<Template>, ProviderError> {
        Ok(Vec::new())
    }

    /// Starts provisioning; returns once the cloud accepted the request.
    fn provision_machines(
        &self,
        request: ProvisionRequest,
    ) -> Result<ProvisionResult, ProviderError>;

    /// Starts terminating machines.
    fn terminate_machines(
        &self,
        request: TerminateRequest,
    ) -> Result<TerminateResult, ProviderError>;

    /// Reports the current state of machines.
    fn machine_status(&self, query: StatusQuery) -> Result<StatusResult, ProviderError>;

    /// Every problem that would stop `template` from provisioning; empty when it is valid.
    fn validate_template(&self, template: &Template) -> Result<Vec<String>, ProviderError> {
        let _ = template;
        Ok(Vec::new())
    }

    /// The vCPUs and memory of the named instance types; types it does not know are left out.
    fn instance_types(&self, names: Vec<String>) -> Result<Vec<InstanceTypeInfo>, ProviderError> {
        let _ = names;
        Ok(Vec::new())
    }

    /// The provider's own counters (cloud API calls...), for the host's metrics.
    fn metrics(&self) -> Result<Vec<MetricSample>, ProviderError> {
        Ok(Vec::new())
    }

    /// Cancels an acquire request: releases what was made for it and terminates its machines.
    /// Without it the host terminates the machines `machine_status` finds for the request,
    /// which is enough only when nothing (a fleet, a group) would replace them.
    fn cancel_request(&self, request: CancelRequest) -> Result<CancelResult, ProviderError> {
        let _ = request;
        Err(ProviderError::unsupported("cancel_request"))
    }

    /// The networks, subnets and security groups machines can be placed in (since interface
    /// 1.1). Without it the host answers that the provider does not support it.
    fn describe_infrastructure(&self) -> Result<Infrastructure, ProviderError> {
        Err(ProviderError::unsupported("describe_infrastructure"))
    }

    /// The keys of the instance's configuration that it accepts without effect, and why (since
    /// interface 1.2): keys another broker defines, say. Without it the host reports none.
    fn config_notes(&self) -> Result<Vec<ConfigNote>, ProviderError> {
        Ok(Vec::new())
    }

    /// Example templates, one for each way the provider can make machines, on what its
    /// cloud offers (since interface 1.3): what `orb templates generate` writes for an
    /// operator to start from. Without it the host answers that the provider does not
    /// support it.
    fn example_templates(&self) -> Result<Vec<Template>, ProviderError> {
        Err(ProviderError::unsupported("example_templates"))
    }

    /// What the cloud offers for setting up (since interface 1.4): `describe_infrastructure`'s
    /// networks, with key pairs, images, instance types per zone and the like, each with its
    /// details. By default, what `describe_infrastructure` describes.
    fn discover_infrastructure(&self) -> Result<Discovery, ProviderError> {
        self.describe_infrastructure().map(Discovery::from)
    }

    /// Stops machines, keeping them (since interface 1.4). Without it the host answers that
    /// the provider does not support it.
    fn stop_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        let _ = request;
        Err(ProviderError::unsupported("stop_machines"))
    }

    /// Starts stopped machines (since interface 1.4).
    fn start_machines(&self, request: PowerRequest) -> Result<PowerResult, ProviderError> {
        let _ = request;
        Err(ProviderError::unsupported("start_machines"))
    }

    /// Checks, without acting, whether `provision_machines` would be allowed to make this
    /// request (since interface 1.4): the problems found, none when it would be. Nothing may
    /// be created, changed or launched.
    fn check_provision(&self, request: ProvisionRequest) -> Result<Vec<String>, ProviderError> {
        let _ = request;
        Err(ProviderError::unsupported("check_provision"))
    }

    /// Checks, without acting, whether `terminate_machines` would be allowed to terminate these
    /// machines (since interface 1.4): the problems found, none when it would be.
    fn check_terminate(&self, request: TerminateRequest) -> Result<Vec<String>, ProviderError> {
        let _ = request;
        Err(ProviderError::unsupported("check_terminate"))
    }

    /// The problems of each of `templates` that keep it from being served, found without
    /// asking the cloud (since interface 1.5): one list per template, in order, empty for a
    /// template that can be requested. The host lists to Host Factory only templates without
    /// problems. By default none has any.
    fn check_templates(&self, templates: Vec<Template>) -> Result<Vec<Vec<String>>, ProviderError> {
        Ok(vec![Vec::new(); templates.len()])
    }
}

/// What a provider constructor receives.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    /// The provider type asked for.
    pub provider_type: String,
    /// The instance's name in the host's configuration.
    pub instance_name: String,
    /// The instance's `config` object, with environment overrides applied.
    pub config: serde_json::Value,
    /// A directory the instance may keep state in, shared by every `orb` process.
    pub work_dir: PathBuf,
}

impl ProviderContext {
    /// The instance's configuration as `T`; the error names the offending key.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_path_to_error::deserialize(&self.config).map_err(|e| {
            let path = e.path().to_string();
            ProviderError::config(format!(
                "invalid configuration for provider instance '{}' at config.{}: {}",
                self.instance_name,
                path,
                e.into_inner()
            ))
        })
    }
}

/// A provider constructor, as listed in [`crate::export_plugin!`].
pub type ProviderFactoryFn = fn(ProviderContext) -> Result<Box<dyn Provider>, ProviderError>;

/// Exports a provider plugin's root module. Invoke once, at the crate root of a `cdylib`:
///
/// ```ignore
/// orb_plugin_api::export_plugin! {
///     name: "acme-cloud",
///     version: env!("CARGO_PKG_VERSION"),
///     providers: { "acme" => acme::new_provider },
/// }
/// ```
///
/// Each constructor is a [`ProviderFactoryFn`].
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        version: $version:expr,
        providers: { $($provider_type:literal => $constructor:path),+ $(,)? } $(,)?
    ) => {
        #[doc(hidden)]
        #[allow(unsafe_code)]
        pub mod __orb_plugin_exports {
            #[allow(unused_imports)]
            use super::*;
            use $crate::__private::abi_stable::std_types::{RResult, RString, RVec};

            static FACTORIES: &[(&str, $crate::ProviderFactoryFn)] =
                &[$(($provider_type, $constructor)),+];

            extern "C" fn provider_types() -> RVec<RString> {
                $crate::sdk::__provider_types(FACTORIES)
            }

            extern "C" fn install_log_sink(sink: $crate::ffi::LogSink, max_level: u8) {
                $crate::logging::install(sink, max_level)
            }

            extern "C" fn new_provider(
                args: $crate::ffi::NewProviderArgs<'_>,
            ) -> RResult<$crate::ffi::FfiProviderBox, $crate::ffi::FfiError> {
                $crate::sdk::__new_provider(FACTORIES, args)
            }

            fn root_module() -> $crate::ffi::PluginModuleRef {
                $crate::sdk::__root_module($name, $version, provider_types, install_log_sink, new_provider)
            }

            extern "C" fn load_root_module() -> $crate::__private::abi_stable::library::RootModuleResult {
                $crate::__private::abi_stable::library::__call_root_module_loader(root_module)
            }

            /// The library header the host looks up by name.
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static ORB_PLUGIN_HEADER: $crate::__private::abi_stable::library::LibHeader =
                $crate::sdk::__lib_header(load_root_module);
        }
    };
}

#[doc(hidden)]
pub fn __provider_types(factories: &[(&str, ProviderFactoryFn)]) -> RVec<RString> {
    factories.iter().map(|(t, _)| RString::from(*t)).collect()
}

#[doc(hidden)]
pub fn __root_module(
    name: &'static str,
    version: &'static str,
    provider_types: extern "C" fn() -> RVec<RString>,
    install_log_sink: extern "C" fn(crate::ffi::LogSink, u8),
    new_provider: extern "C" fn(NewProviderArgs<'_>) -> RResult<FfiProviderBox, FfiError>,
) -> crate::ffi::PluginModuleRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    crate::ffi::PluginModule {
        name: RStr::from_str(name),
        version: RStr::from_str(version),
        provider_types,
        install_log_sink,
        new_provider,
    }
    .leak_into_prefix()
}

/// The library header of a plugin whose root module `load_root_module` returns.
#[doc(hidden)]
#[allow(unsafe_code)]
pub const fn __lib_header(load_root_module: extern "C" fn() -> RootModuleResult) -> LibHeader {
    // SAFETY: `export_plugin!` passes a function that returns `__call_root_module_loader` of a
    // `fn() -> PluginModuleRef`, which is exactly the erased `PrefixRef<PluginModule>` this
    // header declares.
    unsafe {
        LibHeader::from_constructor::<crate::ffi::PluginModuleRef>(
            load_root_module,
            CheckTypeLayout::Yes,
        )
    }
}

#[doc(hidden)]
pub fn __new_provider(
    factories: &[(&str, ProviderFactoryFn)],
    args: NewProviderArgs<'_>,
) -> RResult<FfiProviderBox, FfiError> {
    let instance = args.instance_name.as_str().to_owned();
    let built = guarded(&instance, "new_provider", || {
        let provider_type = args.provider_type.as_str();
        let Some((_, constructor)) = factories.iter().find(|(t, _)| *t == provider_type) else {
            let offered: Vec<&str> = factories.iter().map(|(t, _)| *t).collect();
            return Err(ProviderError::new(
                ErrorKind::NotFound,
                format!("this plugin offers provider types {offered:?}, not '{provider_type}'"),
            ));
        };
        let config = serde_json::from_str(args.config.as_str()).map_err(|e| {
            ProviderError::config(format!(
                "the configuration of provider instance '{instance}' is not JSON: {e}"
            ))
        })?;
        let context = ProviderContext {
            provider_type: provider_type.to_owned(),
            instance_name: instance.clone(),
            config,
            work_dir: PathBuf::from(args.work_dir.as_str()),
        };
        constructor(context)
    });
    match built {
        Ok(inner) => ROk(boundary_object(
            inner,
            args.provider_type.as_str(),
            &instance,
        )),
        Err(e) => RErr(e.into()),
    }
}

/// Runs `f` as a call of `instance` (for its logs), turning a panic into a [`ProviderError`].
fn guarded<T>(
    instance: &str,
    operation: &str,
    f: impl FnOnce() -> Result<T, ProviderError>,
) -> Result<T, ProviderError> {
    let _scope = InstanceScope::enter(instance);
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic payload".to_owned());
            Err(ProviderError::new(
                ErrorKind::Panic,
                format!("provider instance '{instance}' panicked in {operation}: {what}"),
            )
            .with_retryable(false))
        }
    }
}

/// The provider object handed to the host: decodes inputs, guards the call, encodes outputs.
struct Adapter {
    inner: Box<dyn Provider>,
    provider_type: String,
    instance: String,
}

/// A [`Provider`] method, as the dispatch calls it for the operation `O`.
type Method<O> =
    fn(&dyn Provider, <O as Operation>::Input) -> Result<<O as Operation>::Output, ProviderError>;

/// Decodes `input` as `O`'s input, calls `call`, encodes its output.
fn run<O: Operation>(
    provider: &dyn Provider,
    input: &str,
    call: Method<O>,
) -> Result<String, ProviderError> {
    let input = serde_json::from_str(input).map_err(|e| {
        ProviderError::new(
            ErrorKind::Protocol,
            format!("could not read the input of {}: {e}", O::NAME),
        )
    })?;
    let output = call(provider, input)?;
    serde_json::to_string(&output).map_err(|e| {
        ProviderError::new(
            ErrorKind::Protocol,
            format!("could not encode the output of {}: {e}", O::NAME),
        )
    })
}

macro_rules! dispatch {
    ($( $marker:ident, $method:ident, $input:ty, $output:ty, $since:literal, $fallback:expr, $call:expr; )*) => {
        /// Calls the operation named `operation`; `None` for a name this version does not know.
        fn dispatch(
            provider: &dyn Provider,
            operation: &str,
            input: &str,
        ) -> Option<Result<String, ProviderError>> {
            match operation {
                $( stringify!($method) => Some(run::<op::$marker>(provider, input, $call)), )*
                _ => None,
            }
        }
    };
}

for_each_operation!(dispatch);

impl FfiProvider for Adapter {
    fn provider_type(&self) -> RString {
        self.provider_type.as_str().into()
    }

    fn operations(&self) -> RVec<RString> {
        OPERATIONS.iter().map(|o| RString::from(o.name)).collect()
    }

    fn call(&self, operation: RStr<'_>, input: RStr<'_>) -> FfiResult {
        let operation = operation.as_str();
        let output = guarded(&self.instance, operation, || {
            dispatch(&*self.inner, operation, input.as_str())
                .unwrap_or_else(|| Err(ProviderError::unsupported(operation)))
        });
        match output {
            Ok(json) => ROk(json.into()),
            Err(e) => RErr(e.into()),
        }
    }
}

/// The boundary object for `provider`, as a plugin library hands it out.
pub(crate) fn boundary_object(
    provider: Box<dyn Provider>,
    provider_type: &str,
    instance: &str,
) -> FfiProviderBox {
    FfiProvider_TO::from_value(
        Adapter {
            inner: provider,
            provider_type: provider_type.to_owned(),
            instance: instance.to_owned(),
        },
        TD_Opaque,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::ProviderObject;
    use crate::{HealthCheck, HealthStatus};

    struct Panicky;

    impl Provider for Panicky {
        fn health_check(&self) -> Result<HealthReport, ProviderError> {
            Ok(HealthReport::from_checks(vec![HealthCheck {
                name: "self".into(),
                status: HealthStatus::Healthy,
                latency_ms: None,
                detail: None,
            }]))
        }
        fn provision_machines(
            &self,
            _: ProvisionRequest,
        ) -> Result<ProvisionResult, ProviderError> {
            panic!("boom at provision")
        }
        fn terminate_machines(
            &self,
            _: TerminateRequest,
        ) -> Result<TerminateResult, ProviderError> {
            Err(ProviderError::new(ErrorKind::Auth, "denied"))
        }
        fn machine_status(&self, _: StatusQuery) -> Result<StatusResult, ProviderError> {
            Ok(StatusResult::default())
        }
    }

    fn provider() -> ProviderObject {
        crate::host::in_process(Box::new(Panicky), "panicky", "p1")
    }

    #[test]
    fn a_panic_becomes_a_panic_error() {
        let input = r#"{"requestId":"r","template":{"templateId":"t"},"count":1}"#;
        let err = provider()
            .call_json("provision_machines", input)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Panic);
        assert!(err.message.contains("boom at provision"), "{}", err.message);
        assert!(err.message.contains("'p1'"), "{}", err.message);
        assert!(!err.retryable);
    }

    #[test]
    fn typed_errors_and_outputs_cross_as_they_are() {
        let p = provider();
        let err = p
            .call::<op::TerminateMachines>(&TerminateRequest {
                request_id: "x".into(),
                machines: vec![],
            })
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth);
        let report = p.call::<op::HealthCheck>(&()).unwrap();
        assert_eq!(report.status, HealthStatus::Healthy);
        assert_eq!(p.provider_type(), "panicky");
        assert!(OPERATIONS.iter().all(|o| p.supports(o.name)));
    }

    #[test]
    fn unreadable_input_is_a_protocol_error() {
        let err = provider()
            .call_json("machine_status", "{not json")
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Protocol);
        assert!(err.message.contains("machine_status"));
    }

    #[test]
    fn an_unknown_operation_is_unsupported() {
        let err = provider().call_json("teleport", "null").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn an_operation_left_to_its_default_falls_back_or_is_unsupported() {
        let p = provider();
        let err = p.call::<op::DescribeInfrastructure>(&()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert!(err.message.contains("'panicky'"), "{}", err.message);
        let cancelled = p
            .call::<op::CancelRequest>(&CancelRequest {
                request_id: "r".into(),
                resource_ids: vec![],
                machine_ids: vec![],
            })
            .expect("the fallback finds nothing to terminate");
        assert!(cancelled.terminating.is_empty());
    }

    #[test]
    fn config_errors_name_the_key() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Conf {
            nested: Inner,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            delay: u32,
        }
        let ctx = ProviderContext {
            provider_type: "t".into(),
            instance_name: "inst".into(),
            config: serde_json::json!({"nested": {"delay": "soon"}}),
            work_dir: PathBuf::new(),
        };
        let err = ctx.config::<Conf>().unwrap_err();
        assert!(
            err.message.contains("config.nested.delay"),
            "{}",
            err.message
        );
        assert!(err.message.contains("'inst'"), "{}", err.message);
    }
}
