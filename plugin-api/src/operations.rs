//! The operations of the provider interface, listed once.
//!
//! `for_each_operation!` holds the list: each operation's name, its input and output types,
//! the interface version that added it and the host's fallback for a library without it. The
//! marker types of [`op`], the [`OPERATIONS`] table, the SDK's dispatch and the host's typed
//! client all follow from that one list, so adding an operation is one line here plus its
//! [`crate::Provider`] method.
//!
//! Every operation crosses the frozen core of [`crate::ffi`] the same way: its name and its
//! input as JSON in, its output as JSON out. Operations without input take JSON `null`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::host::ProviderObject;
use crate::ProviderError;

/// The host's own implementation of an operation, for a library that does not offer it.
pub type Fallback<I, O> = fn(&ProviderObject, &I) -> Result<O, ProviderError>;

/// One operation of the provider interface, as a type: [`op`] holds one per operation.
pub trait Operation {
    /// What the host sends.
    type Input: Serialize + DeserializeOwned;
    /// What the provider answers.
    type Output: Serialize + DeserializeOwned;
    /// Its name as it crosses the boundary.
    const NAME: &'static str;
    /// The interface version that added it.
    const SINCE: &'static str;
    /// What the host does for a library without it; `None`: it answers "not supported".
    const FALLBACK: Option<Fallback<Self::Input, Self::Output>>;
}

/// An operation as a row of [`OPERATIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// Its name as it crosses the boundary.
    pub name: &'static str,
    /// The interface version that added it.
    pub since: &'static str,
    /// Whether the host has a fallback for a library without it.
    pub has_fallback: bool,
}

/// Calls `$callback! { $( $marker, $name, $input, $output, $since, $fallback, $call; )* }`
/// with the list of every operation: `$name` is its name as it crosses the boundary and its
/// [`crate::Provider`] method's, `$fallback` an `Option<Fallback<..>>`, and `$call` calls the
/// method as `|provider, input| ..`.
macro_rules! for_each_operation {
    ($callback:ident) => {
        $callback! {
            Initialize, initialize, (), (), "1.0", None,
                |p, _| p.initialize();
            HealthCheck, health_check, (), $crate::HealthReport, "1.0", None,
                |p, _| p.health_check();
            AvailableTemplates, available_templates, (), Vec<$crate::Template>, "1.0", None,
                |p, _| p.available_templates();
            ProvisionMachines, provision_machines, $crate::ProvisionRequest, $crate::ProvisionResult, "1.0", None,
                |p, request| p.provision_machines(request);
            TerminateMachines, terminate_machines, $crate::TerminateRequest, $crate::TerminateResult, "1.0", None,
                |p, request| p.terminate_machines(request);
            MachineStatus, machine_status, $crate::StatusQuery, $crate::StatusResult, "1.0", None,
                |p, query| p.machine_status(query);
            ValidateTemplate, validate_template, $crate::Template, Vec<String>, "1.0", None,
                |p, template| p.validate_template(&template);
            InstanceTypes, instance_types, Vec<String>, Vec<$crate::InstanceTypeInfo>, "1.0", None,
                |p, names| p.instance_types(names);
            Metrics, metrics, (), Vec<$crate::MetricSample>, "1.0", None,
                |p, _| p.metrics();
            CancelRequest, cancel_request, $crate::CancelRequest, $crate::CancelResult, "1.0",
                Some($crate::cancel::cancel_through_status_and_terminate),
                |p, request| p.cancel_request(request);
            DescribeInfrastructure, describe_infrastructure, (), $crate::Infrastructure, "1.1", None,
                |p, _| p.describe_infrastructure();
            ConfigNotes, config_notes, (), Vec<$crate::ConfigNote>, "1.2",
                Some($crate::operations::no_config_notes),
                |p, _| p.config_notes();
            ExampleTemplates, example_templates, (), Vec<$crate::Template>, "1.3", None,
                |p, _| p.example_templates();
            DiscoverInfrastructure, discover_infrastructure, (), $crate::Discovery, "1.4",
                Some($crate::operations::discovery_from_description),
                |p, _| p.discover_infrastructure();
            StopMachines, stop_machines, $crate::PowerRequest, $crate::PowerResult, "1.4", None,
                |p, request| p.stop_machines(request);
            StartMachines, start_machines, $crate::PowerRequest, $crate::PowerResult, "1.4", None,
                |p, request| p.start_machines(request);
            CheckProvision, check_provision, $crate::ProvisionRequest, Vec<String>, "1.4", None,
                |p, request| p.check_provision(request);
            CheckTerminate, check_terminate, $crate::TerminateRequest, Vec<String>, "1.4", None,
                |p, request| p.check_terminate(request);
            CheckTemplates, check_templates, Vec<$crate::Template>, Vec<Vec<String>>, "1.5",
                Some($crate::operations::no_template_problems),
                |p, templates| p.check_templates(templates);
        }
    };
}

pub(crate) use for_each_operation;

/// The fallback of [`op::DiscoverInfrastructure`]: a library older than 1.4 discovers what it
/// describes (`describe_infrastructure`, since 1.1), with no details.
pub fn discovery_from_description(
    provider: &ProviderObject,
    _: &(),
) -> Result<crate::Discovery, ProviderError> {
    provider
        .call::<op::DescribeInfrastructure>(&())
        .map(crate::Discovery::from)
}

/// The fallback of [`op::CheckTemplates`]: a library older than 1.5 finds no problem in any
/// template without asking its cloud (as before, each is refused at request time if it must
/// be).
// A fallback takes the operation's input as it is declared (`Vec<Template>`).
#[allow(clippy::ptr_arg)]
pub fn no_template_problems(
    _: &ProviderObject,
    templates: &Vec<crate::Template>,
) -> Result<Vec<Vec<String>>, ProviderError> {
    Ok(vec![Vec::new(); templates.len()])
}

/// The fallback of [`op::ConfigNotes`]: a library older than 1.2 reports no notes.
pub fn no_config_notes(
    _: &ProviderObject,
    _: &(),
) -> Result<Vec<crate::ConfigNote>, ProviderError> {
    Ok(Vec::new())
}

macro_rules! markers {
    ($( $marker:ident, $method:ident, $input:ty, $output:ty, $since:literal, $fallback:expr, $call:expr; )*) => {
        /// One marker type per operation; each implements [`Operation`].
        pub mod op {
            use super::{Fallback, Operation};
            $(
                #[doc = concat!("The `", stringify!($method), "` operation (since interface ", $since,
                    "): the provider method [`crate::Provider::", stringify!($method), "`].")]
                #[derive(Debug, Clone, Copy)]
                pub struct $marker;

                impl Operation for $marker {
                    type Input = $input;
                    type Output = $output;
                    const NAME: &'static str = stringify!($method);
                    const SINCE: &'static str = $since;
                    const FALLBACK: Option<Fallback<$input, $output>> = $fallback;
                }
            )*
        }

        /// Every operation of this version of the interface, in the order they were added.
        pub const OPERATIONS: &[OperationInfo] = &[$(
            OperationInfo {
                name: stringify!($method),
                since: $since,
                has_fallback: <op::$marker as Operation>::FALLBACK.is_some(),
            },
        )*];
    };
}

for_each_operation!(markers);

/// The row of [`OPERATIONS`] named `name`.
pub fn operation(name: &str) -> Option<&'static OperationInfo> {
    OPERATIONS.iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_versions_never_exceed_the_interface() {
        let mut names: Vec<_> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPERATIONS.len());
        let interface = crate::version::parse(crate::INTERFACE_VERSION).unwrap();
        for o in OPERATIONS {
            let since = crate::version::parse(o.since).unwrap();
            assert!(since <= interface, "{} is newer than the interface", o.name);
        }
        assert!(operation("cancel_request").unwrap().has_fallback);
        assert!(operation("teleport").is_none());
    }

    /// The JSON wire format, pinned: for every operation, a snapshot of its input and output
    /// with every field set (`tests/wire/<operation>.json`) must decode into today's types and
    /// encode back to exactly the snapshot. A renamed, removed or retyped field fails here
    /// instead of in an older plugin; a new field grows the snapshot, on purpose.
    fn round_trip<O: Operation>() {
        fn through<T: Serialize + DeserializeOwned>(
            value: &serde_json::Value,
        ) -> serde_json::Value {
            let decoded: T = serde_json::from_value(value.clone()).expect("the snapshot decodes");
            serde_json::to_value(decoded).expect("encodes")
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/wire/{}.json", O::NAME));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}: every operation has a snapshot", path.display()));
        let snapshot: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        for part in ["input", "output"] {
            let crossed = match part {
                "input" => through::<O::Input>(&snapshot[part]),
                _ => through::<O::Output>(&snapshot[part]),
            };
            assert_eq!(
                crossed,
                snapshot[part],
                "{}: the {part}'s wire form changed",
                O::NAME
            );
        }
    }

    macro_rules! round_trips {
        ($( $marker:ident, $method:ident, $input:ty, $output:ty, $since:literal, $fallback:expr, $call:expr; )*) => {
            #[test]
            fn every_operation_crosses_as_its_snapshot() {
                $( round_trip::<op::$marker>(); )*
            }
        };
    }

    for_each_operation!(round_trips);

    #[test]
    fn the_changelog_names_every_operation_under_its_version() {
        let changelog = include_str!("../CHANGELOG.md");
        for o in OPERATIONS {
            let section = changelog
                .split("\n## ")
                .find(|s| s.starts_with(&format!("{}.", o.since)))
                .unwrap_or_else(|| panic!("CHANGELOG.md has no section {}", o.since));
            assert!(
                section.contains(&format!("`{}`", o.name)),
                "CHANGELOG.md's {} section does not name `{}`",
                o.since,
                o.name
            );
        }
    }

    #[test]
    fn every_snapshot_is_of_an_operation() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wire");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let operation = name.strip_suffix(".json").unwrap_or(&name);
            assert!(
                super::operation(operation).is_some(),
                "{name} names no operation"
            );
        }
    }
}
