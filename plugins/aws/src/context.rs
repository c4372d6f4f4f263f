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
    /// 0, or the number of a top-up of the request (its own idempotency tokens).
    pub attempt: u32,
}

impl Plan {
    /// The idempotency token of a call of this plan: the request id, the top-up's number,
    /// and `suffix`.
    pub fn token(&self, suffix: &str) -> String {
        match self.attempt {
            0 => format!("{}{suffix}", self.request_id),
            n => format!("{}-t{n}{suffix}", self.request_id),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_top_up_has_its_own_tokens() {
        let plan = |attempt| super::Plan {
            request_id: "req-1".into(),
            template: crate::template::AwsTemplate::parse(
                &serde_json::from_value(serde_json::json!({"templateId": "T", "maxNumber": 1,
                    "providerApi": "RunInstances", "vmType": "t3.medium", "imageId": "ami-1"}))
                .unwrap(),
                &crate::config::AwsConfig::default(),
            )
            .unwrap(),
            count: 1,
            image_id: "ami-1".into(),
            tags: Default::default(),
            attempt,
        };
        assert_eq!(plan(0).token("-0"), "req-1-0");
        assert_eq!(plan(2).token("-0"), "req-1-t2-0");
    }
}
