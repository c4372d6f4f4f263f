//! Failing over within one acquire request: what an instance refuses or cannot provide, for a
//! reason another instance may not share (capacity, limits, throttling past its retries, an
//! outage, credentials), goes to the next candidate of the request's route, until the count is
//! met or the candidates run out. A refusal another instance would repeat (a bad template)
//! does not fail over. Each instance asked is recorded in the request's placements, so its
//! machines are found, refreshed, returned and cancelled through it.

use orb_plugin_api::{ErrorKind, Failure, Machine, ProvisionResult, Template};

use super::routing::Candidate;
use super::{Broker, BrokerError};
use crate::config::ProviderInstanceConfig;
use crate::domain::{Placement, Request};

/// Whether a failure of `kind` at one instance may not happen at another.
fn fails_over(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Capacity
            | ErrorKind::Limit
            | ErrorKind::Throttling
            | ErrorKind::Unavailable
            | ErrorKind::Auth
    )
}

/// What the instances asked for a request made together.
#[derive(Debug, Default)]
pub(super) struct Provisioned {
    /// Their results together: every resource, the shortfall left, the providers' notes.
    pub result: ProvisionResult,
    /// The machines they reported, each with the instance that made it.
    pub machines: Vec<(String, Machine)>,
    /// Each instance asked, in order; empty when the first took the whole request.
    pub placements: Vec<Placement>,
}

impl Broker {
    /// Provisions `request` on `instance` (with `template` as it serves it), then what it could
    /// not take on the next candidates. An error when no instance made anything and the last
    /// refusal was an error.
    pub(super) async fn provision_across(
        &self,
        request: &Request,
        instance: &ProviderInstanceConfig,
        template: Template,
    ) -> Result<Provisioned, BrokerError> {
        let mut out = Provisioned::default();
        let mut remaining = request.requested;
        let mut next = Some(Candidate {
            instance: instance.clone(),
            template,
        });
        let mut route: Option<Vec<Candidate>> = None;
        let mut last_error: Option<BrokerError> = None;
        let mut notes = Vec::new();
        while let Some(Candidate { instance, template }) = next.take() {
            let answer = self
                .call_provision(request, &instance, template, remaining)
                .await;
            let mut placement = Placement {
                instance: instance.name.clone(),
                asked: remaining,
                got: 0,
                error: None,
                resource_ids: Vec::new(),
            };
            let go_on = match answer {
                Err(BrokerError::Provider(e)) => {
                    self.record_call(&instance.name, Some(e.error.kind));
                    placement.error = Some(e.error.message.clone());
                    let go_on = fails_over(e.error.kind);
                    last_error = Some(BrokerError::Provider(e));
                    go_on
                }
                // No provider to call at all: nothing was asked of it.
                Err(other) if out.placements.is_empty() => return Err(other),
                Err(other) => {
                    placement.error = Some(other.to_string());
                    last_error = Some(other);
                    false
                }
                Ok(result) => {
                    self.record_call(&instance.name, None);
                    last_error = None;
                    let (short, kept): (Vec<Failure>, Vec<Failure>) = result
                        .failures
                        .into_iter()
                        .partition(|f| fails_over(f.kind));
                    let lost: u32 = short.iter().chain(&kept).map(|f| f.count).sum();
                    placement.got = remaining.saturating_sub(lost);
                    placement.resource_ids = result.resource_ids.clone();
                    let reasons: Vec<&str> = short
                        .iter()
                        .chain(&kept)
                        .map(|f| f.message.as_str())
                        .collect();
                    if !reasons.is_empty() {
                        placement.error = Some(reasons.join("; "));
                    }
                    for id in result.resource_ids {
                        if !out.result.resource_ids.contains(&id) {
                            out.result.resource_ids.push(id);
                        }
                    }
                    out.machines.extend(
                        result
                            .machines
                            .into_iter()
                            .map(|m| (instance.name.clone(), m)),
                    );
                    notes.extend(result.message);
                    out.result.failures.extend(kept.clone());
                    remaining = short.iter().map(|f| f.count).sum();
                    // What is short for good stays a failure unless another instance takes it.
                    out.result.failures.extend(short);
                    remaining > 0
                }
            };
            out.placements.push(placement);
            if !go_on {
                break;
            }
            if route.is_none() {
                route = Some(match &request.template_id {
                    Some(id) => self.route(id).await.unwrap_or_default(),
                    None => Vec::new(),
                });
            }
            next = route
                .iter()
                .flatten()
                .find(|c| !out.placements.iter().any(|p| p.instance == c.instance.name))
                .cloned();
            if next.is_some() {
                // The next instance is asked for what is still short.
                out.result.failures.retain(|f| !fails_over(f.kind));
            }
        }
        let made_nothing = out.machines.is_empty() && out.result.resource_ids.is_empty();
        match last_error {
            Some(error) if made_nothing && out.placements.len() == 1 => return Err(error),
            Some(error) if made_nothing => {
                let kind = match &error {
                    BrokerError::Provider(e) => e.error.kind,
                    _ => ErrorKind::Internal,
                };
                return Err(BrokerError::Provider(crate::plugins::ProviderCallError {
                    instance: instance.name.clone(),
                    operation: "provision_machines",
                    error: orb_plugin_api::ProviderError::new(
                        kind,
                        format!(
                            "no instance could provision it: {}",
                            where_from(&out.placements)
                        ),
                    ),
                }));
            }
            // The last instance asked refused what was left: that much is short.
            Some(error) => out.result.failures.push(Failure {
                count: remaining,
                kind: match &error {
                    BrokerError::Provider(e) => e.error.kind,
                    _ => ErrorKind::Internal,
                },
                code: None,
                message: error.to_string(),
            }),
            None => {}
        }
        if out.placements.len() > 1 {
            notes.push(format!("machines from {}", where_from(&out.placements)));
        } else {
            out.placements.clear();
        }
        out.result.message = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(out)
    }
}

/// `a: 1 of 3 (why), b: 2 of 2`: what each instance asked took.
fn where_from(placements: &[Placement]) -> String {
    placements
        .iter()
        .map(|p| match &p.error {
            Some(why) => format!("{}: {} of {} ({why})", p.instance, p.got, p.asked),
            None => format!("{}: {} of {}", p.instance, p.got, p.asked),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
