//! Which provider instances serve a request, in which order: the instances in scope (the
//! instance or pool `HF_PROVIDER_NAME` names, else every enabled instance) whose templates hold
//! the template, less those whose circuit is open, ordered by the selection policy (the
//! template's `selectionPolicy`, its pool's, or `provider.selection_policy`).

use orb_plugin_api::{ErrorKind, Template};

use super::{Broker, BrokerError};
use crate::config::{ProviderInstanceConfig, SelectionPolicy};
use crate::domain::{now, CircuitState};
use crate::storage::MachineFilter;

/// A candidate instance and the template as it serves it (its defaults applied).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The instance.
    pub instance: ProviderInstanceConfig,
    /// The template, as this instance serves it.
    pub template: Template,
}

impl Broker {
    /// The instances in scope: the instance `HF_PROVIDER_NAME` names, the pool it names, or
    /// every enabled instance; with the pool named, its policy.
    pub(super) fn scope(
        &self,
    ) -> Result<(Vec<&ProviderInstanceConfig>, Option<SelectionPolicy>), BrokerError> {
        let provider = &self.config.provider;
        match self.hf_provider_name()? {
            Some(name) if provider.pools.contains_key(name) => {
                let pool = &provider.pools[name];
                let members = pool
                    .instances
                    .iter()
                    .map(|n| self.instance(n))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((
                    members.into_iter().filter(|i| i.enabled).collect(),
                    pool.policy,
                ))
            }
            Some(_) => Ok((vec![self.default_instance()?], None)),
            None => Ok((provider.enabled().collect(), None)),
        }
    }

    /// The candidates for `template_id`, in order; an error naming the templates there are
    /// when no instance in scope serves it, or why none may serve now.
    pub async fn route(&self, template_id: &str) -> Result<Vec<Candidate>, BrokerError> {
        self.route_by(template_id, None, &[]).await
    }

    /// The candidates a request of `template_id` fails over and spreads to: by priority,
    /// whatever the policy, so that a provision redone after its process died asks the same
    /// instances in the same order as the first (the policy chose the first instance, which
    /// the request keeps). The instances in `pledged`, which an earlier run of the provision
    /// asked (or was about to), stay candidates even with their circuit open: they may hold
    /// machines of the request, which asking again (idempotently) finds.
    pub(super) async fn failover_route(
        &self,
        template_id: &str,
        pledged: &[String],
    ) -> Result<Vec<Candidate>, BrokerError> {
        self.route_by(template_id, Some(SelectionPolicy::Priority), pledged)
            .await
    }

    /// The candidates for `template_id`, ordered by `policy` when given, else by the policy
    /// the template, its pool or the configuration names; those whose circuit is open are left
    /// out, unless `keep` names them. The enabled instances `keep` names are candidates even
    /// out of this process's scope (a request made through a pool may be finished by a process
    /// whose `HF_PROVIDER_NAME` names another).
    async fn route_by(
        &self,
        template_id: &str,
        policy: Option<SelectionPolicy>,
        keep: &[String],
    ) -> Result<Vec<Candidate>, BrokerError> {
        let (mut scope, pool_policy) = match self.scope() {
            Ok(scope) => scope,
            // Finishing another scope's request: its pledged instances are the candidates.
            Err(_) if !keep.is_empty() => (Vec::new(), None),
            Err(e) => return Err(e),
        };
        for name in keep {
            if let Some(kept) = self
                .config
                .provider
                .providers
                .iter()
                .find(|p| p.name == *name && p.enabled)
            {
                if !scope.iter().any(|i| i.name == kept.name) {
                    scope.push(kept);
                }
            }
        }
        let mut serving = Vec::new();
        let mut known = std::collections::BTreeSet::new();
        for instance in scope {
            let catalog = self.sound_catalog(instance).await?;
            known.extend(catalog.templates.iter().map(|t| t.template_id.clone()));
            if let Some(t) = catalog.get(template_id) {
                serving.push(Candidate {
                    instance: instance.clone(),
                    template: t.clone(),
                });
            }
        }
        if serving.is_empty() {
            return Err(BrokerError::BadInput(format!(
                "template '{template_id}' does not exist; available templates: {}",
                match known.len() {
                    0 => format!(
                        "none (no templates file in {})",
                        self.paths.config_dir.display()
                    ),
                    _ => known.into_iter().collect::<Vec<_>>().join(", "),
                }
            )));
        }
        let policy = match (policy, serving[0].template.str_field("selectionPolicy")) {
            (Some(policy), _) => policy,
            (None, Some(name)) => SelectionPolicy::parse(name).map_err(|e| {
                BrokerError::Invalid(vec![format!("template '{template_id}': {e}")])
            })?,
            (None, None) => pool_policy.unwrap_or(self.config.provider.selection_policy),
        };
        let candidates = self.ordered(serving, policy, template_id)?;
        let breaker = &self.config.provider.circuit_breaker;
        let (open, closed): (Vec<Candidate>, Vec<Candidate>) = if breaker.enabled {
            let circuits = self.store.circuits()?;
            let now = now();
            candidates.into_iter().partition(|c| {
                !keep.contains(&c.instance.name)
                    && circuits.iter().any(|circuit| {
                        circuit.provider_instance == c.instance.name
                            && circuit.state(now, breaker.recovery_timeout) == CircuitState::Open
                    })
            })
        } else {
            (Vec::new(), candidates)
        };
        if closed.is_empty() {
            return Err(BrokerError::Conflict(format!(
                "every instance serving template '{template_id}' has its circuit open ({}): \
                 they failed {} times in a row; they are tried again {} s after the last failure",
                open.iter()
                    .map(|c| c.instance.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                breaker.failure_threshold,
                breaker.recovery_timeout
            )));
        }
        Ok(closed)
    }

    /// Each configured instance's circuit as it stands now, with its failures in a row.
    pub fn circuit_states(&self) -> Result<Vec<(String, CircuitState, u32)>, BrokerError> {
        let stored = self.store.circuits()?;
        let now = now();
        let cool_down = self.config.provider.circuit_breaker.recovery_timeout;
        Ok(self
            .config
            .provider
            .providers
            .iter()
            .map(|p| {
                let circuit = stored
                    .iter()
                    .find(|c| c.provider_instance == p.name)
                    .cloned()
                    .unwrap_or_else(|| crate::domain::Circuit::closed(&p.name));
                (
                    p.name.clone(),
                    circuit.state(now, cool_down),
                    circuit.failures,
                )
            })
            .collect())
    }

    /// Records a call of `instance` in its circuit: a failure of `kind` that says the instance
    /// cannot serve (unreachable, refusing the credentials, throttling past its retries)
    /// counts, anything else closes it. A store that fails here is logged: the call's own
    /// outcome matters more.
    pub(super) fn record_call(&self, instance: &str, failure: Option<ErrorKind>) {
        let breaker = &self.config.provider.circuit_breaker;
        if !breaker.enabled {
            return;
        }
        let failed = matches!(
            failure,
            Some(ErrorKind::Unavailable | ErrorKind::Auth | ErrorKind::Throttling)
        );
        // A success of an instance with a clean record changes nothing: no write (and no
        // write lock) for the common case.
        if !failed {
            match self.store.circuits() {
                Ok(circuits)
                    if !circuits.iter().any(|c| {
                        c.provider_instance == instance && (c.failures > 0 || c.opened_at.is_some())
                    }) =>
                {
                    return
                }
                _ => {}
            }
        }
        match self
            .store
            .record_call(instance, failed, now(), breaker.failure_threshold)
        {
            Ok(circuit) if circuit.opened_at.is_some() && failed => {
                tracing::warn!(
                    instance,
                    failures = circuit.failures,
                    "circuit open: the instance is skipped until its cool-down passes"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(instance, error = %e, "circuit not recorded"),
        }
    }

    /// The first candidate for `template_id`: the instance a request is stored with.
    pub(super) async fn first_candidate(
        &self,
        template_id: &str,
    ) -> Result<Candidate, BrokerError> {
        Ok(self
            .route(template_id)
            .await?
            .into_iter()
            .next()
            .expect("a route has a candidate"))
    }

    /// `serving` in the order `policy` gives.
    fn ordered(
        &self,
        mut serving: Vec<Candidate>,
        policy: SelectionPolicy,
        template_id: &str,
    ) -> Result<Vec<Candidate>, BrokerError> {
        let default = self.config.provider.default_provider_instance.as_deref();
        // Priority order: the default instance, then lowest priority, highest weight, name.
        serving.sort_by_key(|c| {
            (
                Some(c.instance.name.as_str()) != default,
                c.instance.priority,
                std::cmp::Reverse(c.instance.weight),
                c.instance.name.clone(),
            )
        });
        let n = serving.len();
        match policy {
            SelectionPolicy::Priority => {}
            SelectionPolicy::RoundRobin => {
                let turn = self
                    .store
                    .next_turn(&format!("round_robin:{template_id}"))?;
                serving.rotate_left((turn % n as u64) as usize);
            }
            SelectionPolicy::Weighted => {
                let total: u64 = serving
                    .iter()
                    .map(|c| u64::from(c.instance.weight.max(1)))
                    .sum();
                let turn = self.store.next_turn(&format!("weighted:{template_id}"))? % total;
                let mut reach = 0;
                let first = serving
                    .iter()
                    .position(|c| {
                        reach += u64::from(c.instance.weight.max(1));
                        turn < reach
                    })
                    .unwrap_or(0);
                let chosen = serving.remove(first);
                serving.insert(0, chosen);
            }
            SelectionPolicy::LeastLoaded => {
                let mut loads = Vec::with_capacity(n);
                for c in &serving {
                    let active = self.store.count_machines(&MachineFilter {
                        provider_instance: Some(c.instance.name.clone()),
                        unreturned: true,
                        ..Default::default()
                    })?;
                    // Most room under its cap first; without a cap, fewest active first.
                    let room = match c.instance.max_machines {
                        Some(cap) => i64::from(cap) - active as i64,
                        None => -(active as i64),
                    };
                    loads.push(room);
                }
                let mut indexed: Vec<(i64, Candidate)> = loads.into_iter().zip(serving).collect();
                // Stable: equal room keeps the priority order.
                indexed.sort_by_key(|(room, _)| std::cmp::Reverse(*room));
                serving = indexed.into_iter().map(|(_, c)| c).collect();
            }
            SelectionPolicy::Random => fastrand::shuffle(&mut serving),
        }
        Ok(serving)
    }
}
