//! A template's AWS fields, read from Host Factory's dialect (`vmType`/`vmTypes`, `imageId`,
//! `subnetIds`, `priceType`, `percentOnDemand`, `allocationStrategy`, `fleetRole`,
//! `userDataScript`, `rootDeviceVolumeSize`, `instanceTags`...). Every problem is reported at
//! once.

use std::collections::BTreeMap;

use orb_plugin_api::Template;
use serde_json::Value;

use crate::config::AwsConfig;

/// The four ways to provision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Api {
    /// EC2 Fleet.
    Ec2Fleet,
    /// Spot Fleet.
    SpotFleet,
    /// An Auto Scaling group.
    Asg,
    /// RunInstances.
    RunInstances,
}

impl Api {
    /// The `providerApi` name.
    pub fn name(self) -> &'static str {
        match self {
            Api::Ec2Fleet => "EC2Fleet",
            Api::SpotFleet => "SpotFleet",
            Api::Asg => "ASG",
            Api::RunInstances => "RunInstances",
        }
    }

    /// The handler a `providerApi` name (in any case, or snake_case) names.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "ec2fleet" | "ec2_fleet" => Some(Api::Ec2Fleet),
            "spotfleet" | "spot_fleet" => Some(Api::SpotFleet),
            "asg" | "autoscalinggroup" => Some(Api::Asg),
            "runinstances" | "run_instances" => Some(Api::RunInstances),
            _ => None,
        }
    }

    /// Whether the configuration lets this handler be used.
    pub fn enabled(self, config: &AwsConfig) -> bool {
        let h = &config.handlers;
        match self {
            Api::Ec2Fleet => h.ec2_fleet.enabled(),
            Api::SpotFleet => h.spot_fleet.enabled(),
            Api::Asg => h.asg.enabled(),
            Api::RunInstances => h.run_instances.enabled(),
        }
    }
}

/// How machines are paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Price {
    /// On demand.
    OnDemand,
    /// Spot.
    Spot,
    /// A mix: `percentOnDemand` on demand, the rest spot.
    Heterogeneous,
}

/// EC2 Fleet and Spot Fleet request types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetType {
    /// Launched at once, never replenished (EC2 Fleet only).
    Instant,
    /// Launched over time, never replenished.
    Request,
    /// Launched and kept at the target capacity.
    Maintain,
}

impl FleetType {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            FleetType::Instant => "instant",
            FleetType::Request => "request",
            FleetType::Maintain => "maintain",
        }
    }
}

/// A template, read for AWS.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsTemplate {
    /// Its id.
    pub template_id: String,
    /// The handler.
    pub api: Api,
    /// An AMI id, or an SSM parameter path holding one.
    pub image: String,
    /// Instance types and their weights (capacity units).
    pub vm_types: Vec<(String, f64)>,
    /// More instance types for the on-demand part of a heterogeneous template
    /// (`vmTypesOnDemand`): offered after `vm_types`, in the same overrides.
    pub vm_types_on_demand: Vec<(String, f64)>,
    /// Subnets, one per availability zone usually.
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// The key pair.
    pub key_name: Option<String>,
    /// On demand, spot or both.
    pub price: Price,
    /// The on-demand share of a heterogeneous request, 0 to 100.
    pub percent_on_demand: u32,
    /// The spot allocation strategy (`lowestPrice`, `capacityOptimized`...).
    pub allocation_strategy: Option<String>,
    /// The on-demand allocation strategy (`lowestPrice`, `prioritized`).
    pub allocation_strategy_on_demand: Option<String>,
    /// EC2 Fleet / Spot Fleet type.
    pub fleet_type: FleetType,
    /// The IAM role Spot Fleet acts with.
    pub fleet_role: Option<String>,
    /// The most to pay per spot instance hour.
    pub max_spot_price: Option<String>,
    /// User data, as given or read from the file `userDataScript` names.
    pub user_data: Option<String>,
    /// Root volume size in GiB.
    pub root_volume_gb: Option<i32>,
    /// Root volume type (`gp3`...).
    pub volume_type: Option<String>,
    /// Root volume IOPS.
    pub iops: Option<i32>,
    /// An instance profile name or ARN.
    pub instance_profile: Option<String>,
    /// An existing launch template to launch from.
    pub launch_template_id: Option<String>,
    /// Its version (`$Latest` unless given).
    pub launch_template_version: Option<String>,
    /// Whether the template gives settings beside its launch template, which then go in a new
    /// version of it made for the request.
    pub overrides_launch_template: bool,
    /// What instance types must offer, instead of naming them (`abisInstanceRequirements`).
    pub requirements: Option<crate::requirements::Requirements>,
    /// The EC2 `Context` of fleets and groups (reserved capacity).
    pub context: Option<String>,
    /// The priority of each instance type in fleets' overrides (lower first), for the
    /// `prioritized` strategies.
    pub vm_types_priority: BTreeMap<String, f64>,
    /// Minutes after which a fleet of type request or maintain stops launching (`ValidUntil`).
    pub request_expiry_minutes: Option<u64>,
    /// Tags for the machines.
    pub tags: BTreeMap<String, String>,
}

fn string(t: &Template, key: &str) -> Option<String> {
    match t.fields.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn list(t: &Template, key: &str) -> Vec<String> {
    match t.fields.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn number(t: &Template, key: &str, problems: &mut Vec<String>) -> Option<f64> {
    match t.fields.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => match s.trim().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(format!("{key} must be a number, not \"{s}\""));
                None
            }
        },
        Some(other) => {
            problems.push(format!("{key} must be a number, not {other}"));
            None
        }
    }
}

/// `vmTypesOnDemand`: the instance types a heterogeneous template adds for its on-demand part,
/// with their weights, as the Python ORB reads it. AWS's fleets and groups have one list of
/// overrides for both purchase options, so these follow `vmTypes` in it.
fn on_demand_types(
    t: &Template,
    api: Api,
    price: Price,
    vm_types: &[(String, f64)],
    problems: &mut Vec<String>,
) -> Vec<(String, f64)> {
    let types: Vec<(String, f64)> = match t.fields.get("vmTypesOnDemand") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Object(types)) if !types.is_empty() => types
            .iter()
            .map(|(name, w)| (name.clone(), w.as_f64().unwrap_or(0.0)))
            .collect(),
        Some(other) => {
            problems.push(format!(
                "vmTypesOnDemand must map instance types to weights, not {other}"
            ));
            return Vec::new();
        }
    };
    if price != Price::Heterogeneous {
        problems.push(
            "vmTypesOnDemand applies to priceType heterogeneous (the on-demand part of a mix): \
             give the types in vmTypes"
                .into(),
        );
    }
    if api == Api::RunInstances {
        problems.push("vmTypesOnDemand applies to EC2Fleet, SpotFleet and ASG".into());
    }
    if vm_types.is_empty() {
        problems.push("vmTypesOnDemand needs vmTypes, the types of the spot part".into());
    }
    if types.iter().any(|(_, w)| *w <= 0.0) {
        problems.push("every vmTypesOnDemand weight must be a number above 0".into());
    }
    if let Some((twice, _)) = types
        .iter()
        .find(|(name, _)| vm_types.iter().any(|(v, _)| v == name))
    {
        problems.push(format!(
            "vmTypesOnDemand names {twice}, which vmTypes names too: give it once"
        ));
    }
    types
}

/// The template keys this provider reads.
const READ: &[&str] = &[
    "vmType",
    "vmTypes",
    "abisInstanceRequirements",
    "vmTypesPriority",
    "vmTypesOnDemand",
    "imageId",
    "subnetIds",
    "securityGroupIds",
    "keyName",
    "priceType",
    "percentOnDemand",
    "allocationStrategy",
    "allocationStrategyOnDemand",
    "fleetType",
    "fleetRole",
    "maxSpotPrice",
    "spotFleetRequestExpiry",
    "userData",
    "userDataScript",
    "rootDeviceVolumeSize",
    "volumeType",
    "iops",
    "instanceProfile",
    "launchTemplateId",
    "launchTemplateVersion",
    "context",
    "instanceTags",
];

/// Template keys accepted and not acted on, as they change nothing that is launched: Host
/// Factory's own (`attributes`, what `getAvailableTemplates` prints), and the bookkeeping
/// IBM's AWS provider and the Python ORB write, so their templates files load unchanged.
const ACCEPTED: &[&str] = &[
    "attributes",
    "availableNumber",
    "requestedMachines",
    "rank",
    "priceInfo",
    "priority",
    "pgrpName",
    "onDemandCapacity",
    "name",
    "description",
    "providerName",
    "providerType",
    "isActive",
    "metadata",
    "createdAt",
    "updatedAt",
];

/// The Python ORB's template keys that would change what is launched and that orb does not act
/// on yet, each with what to do instead: refused, never ignored without a word.
const NOT_YET: &[(&str, &str)] = &[
    ("ec2FleetConfig", "use the template's own keys"),
    (
        "launchTemplateSpec",
        "put the settings in a launch template and name it in launchTemplateId",
    ),
    (
        "launchTemplateSpecFile",
        "put the settings in a launch template and name it in launchTemplateId",
    ),
    ("providerApiSpec", "use the template's own keys"),
    ("providerApiSpecFile", "use the template's own keys"),
    (
        "poolsCount",
        "leave it out: Spot pools follow allocationStrategy",
    ),
    ("networkZones", "give the subnets in subnetIds"),
    (
        "publicIpAssignment",
        "set it on the subnets, or in a launch template",
    ),
    ("throughput", "set it in a launch template"),
    (
        "storageEncryption",
        "set it in a launch template, or encrypt by default in the account",
    ),
    ("encryptionKey", "set it in a launch template"),
    ("monitoringEnabled", "set it in a launch template"),
    ("imageVersion", "give the image in imageId"),
    ("providerConfig", "set it in the provider instance's config"),
    ("executionRoleArn", "not an EC2 setting"),
    ("idlePolicy", "not an EC2 setting"),
    ("maximumDurationInSeconds", "not an EC2 setting"),
    ("ingressNetworkConnectors", "not an EC2 setting"),
    ("egressNetworkConnectors", "not an EC2 setting"),
    ("runHookPayload", "not an EC2 setting"),
];

/// A problem for every key of `t` this provider neither reads nor accepts, naming the key it
/// was most likely meant to be: a misspelt `subnetIds` must not launch into a default subnet.
fn unknown_keys(t: &Template) -> Vec<String> {
    let not_yet = t.fields.keys().filter_map(|k| {
        NOT_YET
            .iter()
            .find(|(key, _)| key == k)
            .map(|(key, instead)| {
                format!("{key} is the Python ORB's and orb does not act on it yet: {instead}")
            })
    });
    let unknown = t
        .fields
        .keys()
        .filter(|k| {
            !READ.contains(&k.as_str())
                && !ACCEPTED.contains(&k.as_str())
                && !NOT_YET.iter().any(|(key, _)| key == k)
        })
        .map(|k| {
            match orb_plugin_api::likely_meant(k, READ)
                .or_else(|| orb_plugin_api::likely_meant(k, ACCEPTED))
            {
                Some(meant) => format!("unknown key '{k}'; did you mean '{meant}'?"),
                None => format!("unknown key '{k}'"),
            }
        });
    not_yet.chain(unknown).collect()
}

/// Why this instance does not offer the handler `t` asks for (its `providerApi`, disabled in
/// the instance's `handlers`), if it does not: another instance may.
pub fn not_offered(t: &Template, config: &AwsConfig) -> Option<String> {
    let api = Api::parse(t.provider_api.as_deref()?)?;
    (!api.enabled(config)).then(|| {
        format!(
            "the {} handler is disabled in this provider's configuration (handlers)",
            api.name()
        )
    })
}

impl AwsTemplate {
    /// Reads `t`, or returns every problem found.
    pub fn parse(t: &Template, config: &AwsConfig) -> Result<AwsTemplate, Vec<String>> {
        let mut problems = unknown_keys(t);
        let api = match t.provider_api.as_deref() {
            Some(name) => Api::parse(name).unwrap_or_else(|| {
                problems.push(format!(
                    "providerApi '{name}' is not one of EC2Fleet, SpotFleet, ASG, RunInstances"
                ));
                Api::RunInstances
            }),
            None => config
                .handlers
                .preferred_order
                .iter()
                .filter_map(|n| Api::parse(n))
                .chain([Api::Ec2Fleet, Api::Asg, Api::SpotFleet, Api::RunInstances])
                .find(|api| api.enabled(config))
                .unwrap_or(Api::RunInstances),
        };
        if !api.enabled(config) {
            problems.push(format!(
                "the {} handler is disabled in this provider's configuration (handlers)",
                api.name()
            ));
        }
        let vm_types: Vec<(String, f64)> = match (t.fields.get("vmTypes"), string(t, "vmType")) {
            (Some(Value::Object(types)), _) => types
                .iter()
                .map(|(name, w)| (name.clone(), w.as_f64().unwrap_or(1.0)))
                .collect(),
            (_, Some(single)) => vec![(single, 1.0)],
            _ => Vec::new(),
        };
        let requirements = t
            .fields
            .get("abisInstanceRequirements")
            .filter(|v| !v.is_null())
            .and_then(|v| crate::requirements::parse(v, &mut problems));
        match (vm_types.is_empty(), &requirements) {
            (true, None) => problems.push("vmType, vmTypes or abisInstanceRequirements is required".into()),
            (false, Some(_)) => problems.push(
                "give vmType/vmTypes or abisInstanceRequirements, not both: AWS takes one or the other".into(),
            ),
            _ => {}
        }
        if requirements.is_some() && api == Api::RunInstances {
            problems.push(
                "abisInstanceRequirements applies to EC2Fleet, SpotFleet and ASG, not RunInstances"
                    .into(),
            );
        }
        if vm_types.iter().any(|(_, w)| *w <= 0.0) {
            problems.push("every vmTypes weight must be above 0".into());
        }
        let launch_template_id = string(t, "launchTemplateId");
        // Without an image or a launch template, the instance's default image, as the Python
        // ORB fills one from its AWS defaults.
        let image = string(t, "imageId")
            .or_else(|| {
                launch_template_id
                    .is_none()
                    .then(|| config.default_image_id().to_owned())
            })
            .unwrap_or_default();
        if image.is_empty() && launch_template_id.is_none() {
            problems.push(
                "imageId is required (an AMI id or an SSM parameter path): default_image_id is empty"
                    .into(),
            );
        }
        let price = match string(t, "priceType").as_deref() {
            None | Some("ondemand") => Price::OnDemand,
            Some("spot") => Price::Spot,
            Some("heterogeneous") => Price::Heterogeneous,
            Some(other) => {
                problems.push(format!(
                    "priceType must be ondemand, spot or heterogeneous, not '{other}'"
                ));
                Price::OnDemand
            }
        };
        let percent_on_demand = match number(t, "percentOnDemand", &mut problems) {
            Some(p) if (0.0..=100.0).contains(&p) => p as u32,
            Some(p) => {
                problems.push(format!("percentOnDemand must be 0 to 100, not {p}"));
                0
            }
            None if price == Price::OnDemand => 100,
            None if price == Price::Heterogeneous => 50,
            None => 0,
        };
        let vm_types_on_demand = on_demand_types(t, api, price, &vm_types, &mut problems);
        let default_fleet_type = match api {
            Api::Ec2Fleet => config.handlers.ec2_fleet.settings().default_type,
            Api::SpotFleet => config.handlers.spot_fleet.settings().default_type,
            Api::Asg | Api::RunInstances => None,
        };
        let fleet_type = match string(t, "fleetType").or(default_fleet_type).as_deref() {
            None => {
                if api == Api::Ec2Fleet {
                    FleetType::Instant
                } else {
                    FleetType::Request
                }
            }
            Some("instant") => FleetType::Instant,
            Some("request") => FleetType::Request,
            Some("maintain") => FleetType::Maintain,
            Some(other) => {
                problems.push(format!(
                    "fleetType must be instant, request or maintain, not '{other}'"
                ));
                FleetType::Request
            }
        };
        if api == Api::SpotFleet && fleet_type == FleetType::Instant {
            problems.push("Spot Fleet has no instant type; use request or maintain".into());
        }
        let fleet_role = string(t, "fleetRole").or_else(|| config.fleet_role.clone());
        if api == Api::SpotFleet && fleet_role.is_none() {
            problems.push(
                "fleetRole is required for SpotFleet (or fleet_role in the provider config)".into(),
            );
        }
        let subnets = list(t, "subnetIds");
        if matches!(api, Api::Asg | Api::Ec2Fleet | Api::SpotFleet)
            && subnets.is_empty()
            && launch_template_id.is_none()
        {
            problems.push(format!("subnetIds is required for {}", api.name()));
        }
        let user_data = string(t, "userData").or_else(|| {
            string(t, "userDataScript").map(|script| match std::fs::read_to_string(&script) {
                Ok(content) => content,
                Err(_) => script,
            })
        });
        // Every handler acts on it: EC2 Fleet, Spot Fleet and Auto Scaling take these two.
        let allocation_strategy_on_demand = string(t, "allocationStrategyOnDemand");
        if let Some(name) = &allocation_strategy_on_demand {
            if !matches!(
                name.to_ascii_lowercase().replace(['-', '_'], "").as_str(),
                "lowestprice" | "prioritized"
            ) {
                problems.push(format!(
                    "allocationStrategyOnDemand must be lowestPrice or prioritized, not '{name}'"
                ));
            }
        }
        let launch_template_version = string(t, "launchTemplateVersion");
        if launch_template_version.is_some() && launch_template_id.is_none() {
            problems.push("launchTemplateVersion needs launchTemplateId".into());
        }
        // Settings given beside an operator's launch template go in a new version of it.
        let overrides_launch_template = launch_template_id.is_some()
            && [
                "imageId",
                "keyName",
                "securityGroupIds",
                "userData",
                "userDataScript",
                "instanceProfile",
                "rootDeviceVolumeSize",
                "volumeType",
                "iops",
            ]
            .iter()
            .any(|key| t.fields.contains_key(*key));
        let context = string(t, "context");
        if context.is_some() && api == Api::RunInstances {
            problems
                .push("context applies to EC2Fleet, SpotFleet and ASG, not RunInstances".into());
        }
        let vm_types_priority: BTreeMap<String, f64> = match t.fields.get("vmTypesPriority") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(p)) => p
                .iter()
                .map(|(name, v)| (name.clone(), v.as_f64().unwrap_or(f64::MAX)))
                .collect(),
            Some(other) => {
                problems.push(format!(
                    "vmTypesPriority must map instance types to numbers, not {other}"
                ));
                BTreeMap::new()
            }
        };
        if !vm_types_priority.is_empty() {
            if !matches!(api, Api::Ec2Fleet | Api::SpotFleet) {
                problems.push("vmTypesPriority applies to EC2Fleet and SpotFleet".into());
            }
            if let Some(stray) = vm_types_priority.keys().find(|k| {
                !vm_types
                    .iter()
                    .chain(&vm_types_on_demand)
                    .any(|(v, _)| v == *k)
            }) {
                problems.push(format!(
                    "vmTypesPriority names {stray}, which neither vmTypes nor vmTypesOnDemand does"
                ));
            }
        }
        let request_expiry_minutes =
            number(t, "spotFleetRequestExpiry", &mut problems).map(|m| m.max(0.0) as u64);
        if request_expiry_minutes.is_some() && !matches!(api, Api::Ec2Fleet | Api::SpotFleet) {
            problems.push("spotFleetRequestExpiry applies to EC2Fleet and SpotFleet".into());
        }
        let root_volume_gb = number(t, "rootDeviceVolumeSize", &mut problems).map(|n| n as i32);
        let iops = number(t, "iops", &mut problems).map(|n| n as i32);
        let mut tags = config.default_tags.clone();
        tags.extend(t.instance_tags());
        if tags.keys().any(|k| k.starts_with("aws:")) {
            problems.push("instanceTags may not use the reserved aws: prefix".into());
        }
        if !problems.is_empty() {
            return Err(problems
                .into_iter()
                .map(|p| format!("template '{}': {p}", t.template_id))
                .collect());
        }
        Ok(AwsTemplate {
            template_id: t.template_id.clone(),
            api,
            image,
            vm_types,
            vm_types_on_demand,
            subnets,
            security_groups: list(t, "securityGroupIds"),
            key_name: string(t, "keyName"),
            price,
            percent_on_demand,
            allocation_strategy: string(t, "allocationStrategy"),
            allocation_strategy_on_demand,
            fleet_type,
            fleet_role,
            max_spot_price: string(t, "maxSpotPrice"),
            user_data,
            root_volume_gb,
            volume_type: string(t, "volumeType"),
            iops,
            instance_profile: string(t, "instanceProfile"),
            launch_template_id,
            launch_template_version,
            overrides_launch_template,
            requirements,
            context,
            vm_types_priority,
            request_expiry_minutes,
            tags,
        })
    }

    /// Every instance type a fleet or group may launch, with its weight: `vmTypes`, then
    /// `vmTypesOnDemand`.
    pub fn offered_types(&self) -> impl Iterator<Item = &(String, f64)> {
        self.vm_types.iter().chain(&self.vm_types_on_demand)
    }

    /// The priority of `vm_type` in fleets' overrides, when `vmTypesPriority` gives one.
    pub fn priority_of(&self, vm_type: &str) -> Option<f64> {
        self.vm_types_priority.get(vm_type).copied()
    }

    /// When a fleet of type request or maintain stops launching, `spotFleetRequestExpiry`
    /// minutes from now.
    pub fn valid_until(&self) -> Option<aws_smithy_types::DateTime> {
        let minutes = self.request_expiry_minutes?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(aws_smithy_types::DateTime::from_secs(
            (now + minutes * 60) as i64,
        ))
    }

    /// The on-demand part of `total` units.
    pub fn on_demand_units(&self, total: u32) -> u32 {
        match self.price {
            Price::OnDemand => total,
            Price::Spot => 0,
            Price::Heterogeneous => total * self.percent_on_demand / 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(v: Value) -> Template {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn host_factory_fields_are_read() {
        let t = template(json!({
            "templateId": "t", "providerApi": "EC2Fleet", "fleetType": "maintain",
            "vmTypes": {"m5.large": 1, "m5.xlarge": 2}, "imageId": "/aws/service/ami",
            "subnetIds": ["s1", "s2"], "securityGroupIds": ["sg"], "priceType": "heterogeneous",
            "percentOnDemand": 25, "instanceTags": "team=hpc;env=prod"
        }));
        let a = AwsTemplate::parse(&t, &AwsConfig::default()).unwrap();
        assert_eq!(a.api, Api::Ec2Fleet);
        assert_eq!(a.fleet_type, FleetType::Maintain);
        assert_eq!(
            a.vm_types,
            vec![("m5.large".into(), 1.0), ("m5.xlarge".into(), 2.0)]
        );
        assert_eq!(a.on_demand_units(8), 2);
        assert_eq!(a.tags["env"], "prod");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let t = template(json!({
            "templateId": "bad", "providerApi": "SpotFleet", "priceType": "cheap",
            "percentOnDemand": 150, "fleetType": "instant"
        }));
        // No default image: the template must name one.
        let config: AwsConfig = serde_json::from_value(json!({"default_image_id": ""})).unwrap();
        let problems = AwsTemplate::parse(&t, &config).unwrap_err();
        for expected in [
            "vmType",
            "imageId",
            "priceType",
            "percentOnDemand",
            "instant",
            "fleetRole",
            "subnetIds",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_named_and_ibm_and_orb_keys_load() {
        let t = template(json!({
            "templateId": "t", "vmType": "m5.large", "imageId": "ami-1", "subnetIdz": ["s"],
            "colour": "blue", "attributes": {}, "spotFleetRequestExpiry": 30, "rank": 1
        }));
        let problems = AwsTemplate::parse(&t, &AwsConfig::default()).unwrap_err();
        assert_eq!(
            problems,
            [
                "template 't': unknown key 'subnetIdz'; did you mean 'subnetIds'?",
                "template 't': unknown key 'colour'",
                "template 't': subnetIds is required for EC2Fleet",
            ]
        );
    }

    #[test]
    fn orbs_keys_that_change_what_is_launched_are_read_or_refused_with_what_to_do() {
        let base = json!({"templateId": "t", "providerApi": "EC2Fleet", "imageId": "ami-1",
            "subnetIds": ["s"], "vmTypes": {"m5.large": 1, "m5.xlarge": 2},
            "createdAt": "2026-01-01T00:00:00+00:00"});
        let with = |extra: Value| {
            let mut t = base.clone();
            t.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            AwsTemplate::parse(&template(t), &AwsConfig::default())
        };
        let read = with(
            json!({"context": "c-1", "vmTypesPriority": {"m5.large": 1, "m5.xlarge": 2},
            "spotFleetRequestExpiry": 30, "userData": "#!/bin/sh"}),
        )
        .unwrap();
        assert_eq!(read.context.as_deref(), Some("c-1"));
        assert_eq!(read.priority_of("m5.xlarge"), Some(2.0));
        assert_eq!(read.request_expiry_minutes, Some(30));
        assert!(read.valid_until().is_some());
        assert_eq!(read.user_data.as_deref(), Some("#!/bin/sh"));
        // Beside an operator's launch template, the image (any setting) makes a new version.
        let beside = with(json!({"launchTemplateId": "lt-1"})).unwrap();
        assert!(beside.overrides_launch_template);
        assert!(!read.overrides_launch_template);

        for (extra, says) in [
            (
                json!({"vmTypesOnDemand": {"c5.large": 1}}),
                "vmTypesOnDemand applies to priceType heterogeneous",
            ),
            (
                json!({"priceType": "heterogeneous", "vmTypesOnDemand": {"m5.large": 1}}),
                "vmTypesOnDemand names m5.large, which vmTypes names too",
            ),
            (
                json!({"priceType": "heterogeneous", "vmTypesOnDemand": {"c5.large": 0}}),
                "every vmTypesOnDemand weight",
            ),
            (
                json!({"abisInstanceRequirements": {"VCpuCount": {"Min": 2}, "MemoryMiB": {"Min": 1}}}),
                "not both",
            ),
            (
                json!({"storageEncryption": true}),
                "storageEncryption is the Python ORB's",
            ),
            (
                json!({"launchTemplateVersion": "3"}),
                "launchTemplateVersion needs launchTemplateId",
            ),
            (
                json!({"vmTypesPriority": {"c5.large": 1}}),
                "vmTypesPriority names c5.large, which neither",
            ),
            (
                json!({"providerApi": "RunInstances", "context": "c-1"}),
                "context applies to",
            ),
        ] {
            let problems = with(extra.clone()).unwrap_err();
            assert!(
                problems.iter().any(|p| p.contains(says)),
                "{extra}: {problems:?}"
            );
        }
    }

    #[test]
    fn each_fleet_handler_has_its_own_default_type() {
        let config: AwsConfig = serde_json::from_value(json!({"handlers": {
            "ec2_fleet": {"default_type": "instant"},
            "spot_fleet": {"default_type": "maintain"}
        }}))
        .unwrap();
        let of = |api: &str| {
            let t = template(json!({
                "templateId": "t", "providerApi": api, "vmType": "m5.large",
                "imageId": "ami-1", "subnetIds": ["s"], "fleetRole": "arn:aws:iam::1:role/f"
            }));
            AwsTemplate::parse(&t, &config).unwrap().fleet_type
        };
        assert_eq!(of("EC2Fleet"), FleetType::Instant);
        assert_eq!(of("SpotFleet"), FleetType::Maintain);
    }

    #[test]
    fn a_disabled_handler_is_a_problem() {
        let config: AwsConfig =
            serde_json::from_value(json!({"handlers": {"run_instances": false}})).unwrap();
        let t = template(
            json!({"templateId": "t", "providerApi": "RunInstances", "vmType": "t3.micro", "imageId": "ami-1"}),
        );
        let problems = AwsTemplate::parse(&t, &config).unwrap_err();
        assert!(problems[0].contains("disabled"), "{problems:?}");
    }

    #[test]
    fn a_template_without_an_image_takes_the_python_orbs_default_as_orb_py_does() {
        // What the Python ORB's `templates generate` writes: no imageId.
        let t = template(
            json!({"templateId": "t", "providerApi": "RunInstances", "vmType": "t3.micro"}),
        );
        let parsed = AwsTemplate::parse(&t, &AwsConfig::default()).unwrap();
        assert_eq!(parsed.image, crate::config::ORB_DEFAULT_IMAGE);
        let own: AwsConfig =
            serde_json::from_value(json!({"default_image_id": "ami-site"})).unwrap();
        assert_eq!(AwsTemplate::parse(&t, &own).unwrap().image, "ami-site");
        let none: AwsConfig = serde_json::from_value(json!({"default_image_id": ""})).unwrap();
        let problems = AwsTemplate::parse(&t, &none).unwrap_err();
        assert!(problems[0].contains("imageId is required"), "{problems:?}");
    }

    #[test]
    fn an_on_demand_strategy_no_handler_takes_is_a_problem() {
        let t = template(
            json!({"templateId": "t", "providerApi": "SpotFleet", "vmType": "t3.micro",
            "imageId": "ami-1", "subnetIds": ["s"], "fleetRole": "arn:aws:iam::1:role/f",
            "allocationStrategyOnDemand": "cheapest"}),
        );
        let problems = AwsTemplate::parse(&t, &AwsConfig::default()).unwrap_err();
        assert!(
            problems[0].contains("lowestPrice or prioritized"),
            "{problems:?}"
        );
    }
}
