//! Failing over within one acquire request: what an instance refuses or cannot provide, for a
//! reason another instance may not share (capacity, limits, throttling past its retries, an
//! outage, credentials, its own configuration, such as a handler it does not offer), goes to the next candidate of the request's route, until the count is
//! met or the candidates run out. A refusal another instance would repeat (a bad template)
//! does not fail over. Each instance asked is recorded in the request's placements, so its
//! machines are found, refreshed, returned and cancelled through it: stored before it is
//! asked (a pledge), so that a process killed while the instance works leaves the instance
//! among the request's, for the next run to ask again or refresh to find what it made.

use std::collections::VecDeque;

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
            | ErrorKind::Config
    )
}

/// What the instances asked for a request made together.
#[derive(Debug, Default)]
pub(super) struct Provisioned {
    /// Their results together: every resource, the shortfall left, the providers' notes.
    pub result: ProvisionResult,
    /// The machines they reported, each with the instance that made it.
    pub machines: Vec<(String, Machine)>,
    /// Each instance asked, in order (empty when the first took the whole request), then
    /// those an earlier run pledged and this one did not ask.
    pub placements: Vec<Placement>,
    /// The instances an earlier run pledged and this one did not ask: what they made is only
    /// found by a refresh.
    pub unasked: Vec<String>,
}

/// The error of a placement pledged and not answered yet.
const PLEDGED: &str = "asked; no answer stored yet";

impl Broker {
    /// Provisions `request` on `instance` (with `template` as it serves it), or, when the
    /// request spreads, on every candidate by weight; then what was not taken on the next
    /// candidates not asked yet. An error when no instance made anything and the last refusal
    /// was an error.
    pub(super) async fn provision_across(
        &self,
        request: &mut Request,
        instance: &ProviderInstanceConfig,
        template: Template,
    ) -> Result<Provisioned, BrokerError> {
        let mut out = Provisioned::default();
        // What an earlier run of this provision asked, or was about to: asked again first.
        let pledged = request.placements.clone();
        let pledged_names: Vec<String> = pledged.iter().map(|p| p.instance.clone()).collect();
        let mut route: Option<Vec<Candidate>> = None;
        let first = Candidate {
            instance: instance.clone(),
            template,
        };
        let mut queue: VecDeque<(Candidate, u32)> = VecDeque::new();
        if self.spreads(&first.template) {
            let candidates = self.route_of(request, &pledged_names, &mut route).await;
            queue.extend(shares(&candidates, request.requested));
        }
        if queue.is_empty() {
            queue.push_back((first, request.requested));
        }
        // What the instances asked could not take and another may: failures held until the
        // next instance is asked for their count.
        let mut short: Vec<Failure> = Vec::new();
        let mut last_error: Option<BrokerError> = None;
        let mut notes = Vec::new();
        let top_ups = self.config.request.fulfillment_max_retries;
        while let Some((Candidate { instance, template }, count)) = queue.pop_front() {
            if let Err(refused) = self.pledge(request, &instance.name, count) {
                // Cancelled, or taken over, meanwhile: nothing more is asked.
                out.result.failures.push(unprovided(count, &refused));
                last_error = Some(refused);
                break;
            }
            let answer = self
                .call_provision(request, &instance, template.clone(), count, 0)
                .await;
            let mut placement = Placement {
                instance: instance.name.clone(),
                asked: count,
                got: 0,
                error: None,
                resource_ids: Vec::new(),
            };
            match answer {
                Err(BrokerError::Provider(e)) => {
                    self.record_call(&instance.name, Some(e.error.kind));
                    placement.error = Some(e.error.message.clone());
                    let failure = Failure {
                        count,
                        kind: e.error.kind,
                        code: None,
                        message: e.error.message.clone(),
                    };
                    if fails_over(e.error.kind) {
                        short.push(failure);
                    } else {
                        out.result.failures.push(failure);
                    }
                    last_error = Some(BrokerError::Provider(e));
                }
                // No provider to call at all: nothing was asked of it.
                Err(other) if out.placements.is_empty() && queue.is_empty() => return Err(other),
                Err(other) => {
                    placement.error = Some(other.to_string());
                    out.result.failures.push(unprovided(count, &other));
                    last_error = Some(other);
                }
                Ok(mut result) => {
                    self.record_call(&instance.name, None);
                    // A synchronous shortfall (machines came, not all) is topped up on the
                    // same instance first, a bounded number of times.
                    let mut attempt = 0;
                    while attempt < top_ups
                        && !result.machines.is_empty()
                        && result.failures.iter().any(|f| fails_over(f.kind))
                    {
                        attempt += 1;
                        let missing: u32 = result
                            .failures
                            .iter()
                            .filter(|f| fails_over(f.kind))
                            .map(|f| f.count)
                            .sum();
                        let Ok(more) = self
                            .call_provision(request, &instance, template.clone(), missing, attempt)
                            .await
                        else {
                            break;
                        };
                        let gained = more.machines.len();
                        result.failures.retain(|f| !fails_over(f.kind));
                        result.failures.extend(more.failures);
                        result.machines.extend(more.machines);
                        result.resource_ids.extend(more.resource_ids);
                        if gained == 0 {
                            break;
                        }
                    }
                    let (moved, kept): (Vec<Failure>, Vec<Failure>) = result
                        .failures
                        .into_iter()
                        .partition(|f| fails_over(f.kind));
                    let lost: u32 = moved.iter().chain(&kept).map(|f| f.count).sum();
                    placement.got = count.saturating_sub(lost);
                    placement.resource_ids = result.resource_ids.clone();
                    let reasons: Vec<&str> = moved
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
                    out.result.failures.extend(kept);
                    short.extend(moved);
                }
            }
            out.placements.push(placement);
            let missing: u32 = short.iter().map(|f| f.count).sum();
            if queue.is_empty() && missing > 0 {
                let candidates = self.route_of(request, &pledged_names, &mut route).await;
                // The next instance not asked yet takes what is still short.
                if let Some(next) = candidates
                    .into_iter()
                    .find(|c| !out.placements.iter().any(|p| p.instance == c.instance.name))
                {
                    short.clear();
                    queue.push_back((next, missing));
                }
            }
        }
        // What no instance took stays short.
        out.result.failures.extend(short);
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
            // Its refusals are among the failures already.
            Some(_) | None => {}
        }
        if out.placements.len() > 1 {
            notes.push(format!("machines from {}", where_from(&out.placements)));
        } else {
            out.placements.clear();
        }
        for p in pledged {
            let asked = out.placements.iter().any(|q| q.instance == p.instance)
                || p.instance == instance.name;
            if !asked {
                out.unasked.push(p.instance.clone());
                out.placements.push(p);
            }
        }
        out.result.message = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(out)
    }

    /// Stores `instance` among `request`'s placements before it is asked for `count`
    /// machines, unless it is the request's own or there already. Refused when the request
    /// was cancelled or taken over since it was read.
    fn pledge(&self, request: &mut Request, instance: &str, count: u32) -> Result<(), BrokerError> {
        if instance == request.provider_instance
            || request.placements.iter().any(|p| p.instance == instance)
        {
            return Ok(());
        }
        request.placements.push(Placement {
            instance: instance.to_owned(),
            asked: count,
            got: 0,
            error: Some(PLEDGED.to_owned()),
            resource_ids: Vec::new(),
        });
        if let Err(e) = self.store.update_request(request) {
            request.placements.pop();
            return Err(e.into());
        }
        Ok(())
    }
}

impl Broker {
    /// Whether a request of `template` is split across its candidates: the template's
    /// `spread`, else the pool `HF_PROVIDER_NAME` names.
    fn spreads(&self, template: &Template) -> bool {
        match template
            .fields
            .get("spread")
            .and_then(serde_json::Value::as_bool)
        {
            Some(spread) => spread,
            None => self
                .env
                .get("HF_PROVIDER_NAME")
                .and_then(|name| self.config.provider.pools.get(name))
                .is_some_and(|pool| pool.spread),
        }
    }

    /// The candidates of `request`'s template, looked up once, `pledged` among them whatever
    /// their circuits.
    async fn route_of(
        &self,
        request: &Request,
        pledged: &[String],
        route: &mut Option<Vec<Candidate>>,
    ) -> Vec<Candidate> {
        if route.is_none() {
            *route = Some(match &request.template_id {
                Some(id) => self.failover_route(id, pledged).await.unwrap_or_default(),
                None => Vec::new(),
            });
        }
        route.clone().unwrap_or_default()
    }
}

/// `count` machines not provided because of `why`, an error of orb's own (no provider said no).
fn unprovided(count: u32, why: &BrokerError) -> Failure {
    Failure {
        count,
        kind: ErrorKind::Internal,
        code: None,
        message: why.to_string(),
    }
}

/// `count` split across `candidates` by weight, in their order; the remainder of the division
/// to the first. Candidates whose share is 0 are left to take what the others cannot.
fn shares(candidates: &[Candidate], count: u32) -> Vec<(Candidate, u32)> {
    let total: u64 = candidates
        .iter()
        .map(|c| u64::from(c.instance.weight.max(1)))
        .sum();
    if total == 0 {
        return Vec::new();
    }
    let mut shares: Vec<(Candidate, u32)> = candidates
        .iter()
        .map(|c| {
            let share = u64::from(count) * u64::from(c.instance.weight.max(1)) / total;
            (c.clone(), share as u32)
        })
        .collect();
    let given: u32 = shares.iter().map(|(_, n)| n).sum();
    if let Some((_, first)) = shares.first_mut() {
        *first += count - given;
    }
    shares.retain(|(_, n)| *n > 0);
    shares
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
