//! The configuration of an `aws` provider instance (its `config` object, with `ORB_AWS_*`
//! environment overrides already applied by the host).

use std::collections::BTreeMap;

use serde::Deserialize;

/// An `aws` provider instance's configuration. Every field is optional but `region`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    /// The region (else `AWS_REGION` / the profile's region).
    pub region: Option<String>,
    /// A named profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// A role to assume through STS for every call.
    pub role_arn: Option<String>,
    /// The external id the role requires, if any.
    pub external_id: Option<String>,
    /// Static credentials (prefer the standard chain: profiles, environment, instance roles).
    pub access_key_id: Option<String>,
    /// Static credentials.
    pub secret_access_key: Option<String>,
    /// Static credentials.
    pub session_token: Option<String>,
    /// Another endpoint for every service (an emulator, a VPC endpoint); `AWS_ENDPOINT_URL`
    /// works too.
    pub endpoint_url: Option<String>,
    /// Retries of a failed call (throttling, capacity, network), with exponential backoff and
    /// jitter; the Python ORB's `aws_max_retries`.
    #[serde(alias = "aws_max_retries")]
    pub max_retries: Option<u32>,
    /// Seconds to connect; the Python ORB's `aws_connect_timeout`.
    pub connect_timeout_secs: Option<u64>,
    /// Seconds one call may take, retries included; the Python ORB's `aws_read_timeout`.
    #[serde(alias = "aws_read_timeout", alias = "timeout")]
    pub operation_timeout_secs: Option<u64>,
    /// Which handlers may be used, and their settings.
    pub handlers: HandlersConfig,
    /// Launch templates made for requests.
    pub launch_template: LaunchTemplateConfig,
    /// Tags put on everything orb creates, beside its own and the template's.
    pub default_tags: BTreeMap<String, String>,
    /// The IAM role Spot Fleet uses, when a template names none (`fleetRole`).
    pub fleet_role: Option<String>,
    /// The image of a template that names neither `imageId` nor `launchTemplateId` (default:
    /// the Python ORB's, [`ORB_DEFAULT_IMAGE`]); empty makes `imageId` required.
    pub default_image_id: Option<String>,
    /// Client-side pacing of AWS calls, per API and region, shared by the host's processes.
    pub pacing: crate::pacing::PacingConfig,
}

/// The image the Python ORB's AWS defaults give a template without one: the latest Amazon
/// Linux 2023, through AWS's public SSM parameter.
pub const ORB_DEFAULT_IMAGE: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64";

impl AwsConfig {
    /// The image of a template that names none (empty: none).
    pub fn default_image_id(&self) -> &str {
        self.default_image_id
            .as_deref()
            .unwrap_or(ORB_DEFAULT_IMAGE)
    }

    /// Retries of a failed call.
    pub fn max_retries(&self) -> u32 {
        self.max_retries.unwrap_or(3)
    }
}

/// A handler's entry in `handlers`: `true`/`false`, or its settings `S`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HandlerEntry<S> {
    /// Enabled or not.
    Enabled(bool),
    /// Settings (enabled unless `enabled: false`).
    Settings(S),
}

impl<S> Default for HandlerEntry<S> {
    fn default() -> Self {
        HandlerEntry::Enabled(true)
    }
}

/// What every handler's settings say: whether it may be used.
pub trait Switch {
    /// Whether the handler may be used.
    fn enabled(&self) -> bool;
}

impl<S: Switch + Default + Clone> HandlerEntry<S> {
    /// Whether the handler may be used.
    pub fn enabled(&self) -> bool {
        match self {
            HandlerEntry::Enabled(on) => *on,
            HandlerEntry::Settings(s) => s.enabled(),
        }
    }

    /// The handler's settings (defaults when given as a boolean).
    pub fn settings(&self) -> S {
        match self {
            HandlerEntry::Enabled(_) => S::default(),
            HandlerEntry::Settings(s) => s.clone(),
        }
    }
}

/// Defines a handler's settings type: `enabled`, the handler's own fields, and the other keys
/// of the Python ORB's handler configuration, accepted as written.
macro_rules! handler_settings {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty = $default:expr,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// Whether the handler may be used.
            pub enabled: bool,
            $($(#[$fdoc])* pub $field: $ty,)*
            /// The Python ORB's other handler keys, accepted as written.
            #[serde(flatten)]
            pub other: BTreeMap<String, serde_json::Value>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    enabled: true,
                    $($field: $default,)*
                    other: BTreeMap::new(),
                }
            }
        }

        impl Switch for $name {
            fn enabled(&self) -> bool {
                self.enabled
            }
        }
    };
}

handler_settings! {
    /// `handlers.run_instances`.
    RunInstancesSettings {
        /// Most instances per call.
        max_instances_per_call: u32 = 20,
        /// Whether a call may launch fewer than asked (`MinCount` 1), which is how partial
        /// capacity is taken; `false` asks all or nothing (`MinCount` = `MaxCount`).
        allow_partial: bool = true,
    }
}

handler_settings! {
    /// `handlers.ec2_fleet`.
    Ec2FleetSettings {
        /// `instant`, `request` or `maintain`, for EC2 Fleet templates that name none.
        default_type: Option<String> = None,
    }
}

handler_settings! {
    /// `handlers.spot_fleet`.
    SpotFleetSettings {
        /// `request` or `maintain`, for Spot Fleet templates that name none.
        default_type: Option<String> = None,
    }
}

handler_settings! {
    /// `handlers.asg`.
    AsgSettings {}
}

/// The `handlers` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandlersConfig {
    /// Handler preference when a template names no `providerApi`.
    pub preferred_order: Vec<String>,
    /// EC2 Fleet.
    pub ec2_fleet: HandlerEntry<Ec2FleetSettings>,
    /// Auto Scaling groups.
    pub asg: HandlerEntry<AsgSettings>,
    /// Spot Fleet.
    pub spot_fleet: HandlerEntry<SpotFleetSettings>,
    /// RunInstances.
    pub run_instances: HandlerEntry<RunInstancesSettings>,
}

/// The `launch_template` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LaunchTemplateConfig {
    /// Make a launch template per request (deleted with the request's last machine); when
    /// `false`, one per template is kept and reused.
    pub create_per_request: bool,
}

impl Default for LaunchTemplateConfig {
    fn default() -> Self {
        LaunchTemplateConfig {
            create_per_request: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn handlers_take_booleans_or_settings() {
        let c: AwsConfig = serde_json::from_value(json!({
            "region": "eu-west-1",
            "handlers": {
                "preferred_order": ["EC2Fleet", "RunInstances"],
                "ec2_fleet": true,
                "spot_fleet": false,
                "run_instances": {"enabled": true, "max_instances_per_call": 5},
                "asg": {"enabled": true, "default_min_size": 0}
            }
        }))
        .unwrap();
        assert!(c.handlers.ec2_fleet.enabled());
        assert!(!c.handlers.spot_fleet.enabled());
        assert_eq!(
            c.handlers.run_instances.settings().max_instances_per_call,
            5
        );
        assert!(c
            .handlers
            .asg
            .settings()
            .other
            .contains_key("default_min_size"));
    }

    #[test]
    fn orbs_names_are_accepted_and_typos_refused() {
        let c: AwsConfig =
            serde_json::from_value(json!({"aws_max_retries": 5, "aws_read_timeout": 60})).unwrap();
        assert_eq!(c.max_retries(), 5);
        assert_eq!(c.operation_timeout_secs, Some(60));
        assert!(serde_json::from_value::<AwsConfig>(json!({"regoin": "x"})).is_err());
    }
}
