//! # orb-provider-aws: the AWS provider plugin
//!
//! Provisions, tracks and returns EC2 capacity through the AWS SDK, with four handlers chosen
//! per template by `providerApi`: EC2 Fleet, Spot Fleet, Auto Scaling groups and RunInstances.
//! Built as a `cdylib` and loaded by the host like any vendor's library.
//!
//! - Everything orb creates is tagged with the request id, template id and provider instance
//!   (`orb:request-id`, `orb:template-id`, `orb:provider-instance`), and every create call
//!   carries an idempotency token derived from the request id, so a retried or resumed
//!   provision never launches twice.
//! - The machines of any number of requests are found by tag, one `DescribeInstances` page per
//!   1,000 instances.
//! - A cancelled request's fleets, Spot Fleet requests and groups are deleted with their
//!   instances before anything else is terminated, so nothing replaces them.
//! - Errors are classified by their AWS code (throttling, capacity, limits, auth, validation,
//!   not found); retryable ones are retried by the SDK with exponential backoff and jitter
//!   within the operation timeout; before that, every call waits for a token of its API's
//!   bucket, shared by the host's processes, so bursts are paced below EC2's request limits.

mod cancel;
mod clients;
pub mod config;
mod context;
mod errors;
mod examples;
mod handlers;
mod health;
mod image;
mod infrastructure;
mod instance_types;
mod instances;
mod launch_template;
mod orb_py;
mod pacing;
mod power;
pub mod provider;
pub(crate) mod requirements;
mod status;
mod template;
mod terminate;
mod validate;

#[cfg(test)]
mod replay_tests;

orb_plugin_api::export_plugin! {
    name: "orb-provider-aws",
    version: env!("CARGO_PKG_VERSION"),
    providers: { "aws" => provider::new_aws_provider },
}
