//! What every handler works with: the clients, the instance's configuration, and the plan of
//! one provision.

use std::collections::BTreeMap;

use crate::clients::Clients;
use crate::config::AwsConfig;
use crate::template::AwsTemplate;

/// What every handler works with.
pub struct Ctx<'a> {
    /// The clients.
    pub clients: &'a Clients,
    /// The instance's configuration.
    pub config: &'a AwsConfig,
    /// The provider instance's name.
    pub instance: &'a str,
}

/// One request to provision.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The host's request id: the base of every idempotency token.
    pub request_id: String,
    /// The template.
    pub template: AwsTemplate,
    /// Machines (capacity units) asked for.
    pub count: u32,
    /// The AMI, resolved when the template gave an SSM parameter path.
    pub image_id: String,
    /// Tags for everything made for the request.
    pub tags: BTreeMap<String, String>,
}
