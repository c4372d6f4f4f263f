//! Leadership among `orb serve` replicas sharing one store: one at a time runs the reconcile
//! loop (refreshing running requests, finishing abandoned ones). Leadership is a lease in the
//! store, renewed every third of `server.leader_lease_seconds`; a replica that cannot renew
//! it stops acting as leader a third of the lease before it lapses, so that a replica cut off
//! from the database never overlaps the next leader (clocks synchronized to well under that).
//!
//! Each replica also holds a liveness lease of its own: requests it was provisioning when it
//! died are finished by the leader once that lease lapses, instead of after the two minutes
//! that a process on another host is otherwise given.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::reload::Live;
use crate::broker::owner::{liveness_lease, this_process};
use crate::domain::now;

/// The lease whose holder leads.
pub const LEADER_LEASE: &str = "leader";

/// This replica's view of its leadership.
pub struct Leadership {
    /// This process, as leases name their holders.
    holder: String,
    /// The lease's length.
    ttl: Duration,
    /// Until when this replica may act as leader (`None`: it is not the leader).
    until: Mutex<Option<Instant>>,
}

impl Leadership {
    /// A replica that does not lead yet, with leases of `ttl`.
    pub fn new(ttl: Duration) -> Leadership {
        Leadership {
            holder: this_process(),
            ttl,
            until: Mutex::new(None),
        }
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        self.until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    /// One renewal: the liveness lease, then leadership. `sent` is when the renewal began:
    /// the leadership it wins is good for two thirds of the lease from then.
    fn renew(&self, live: &Live) {
        let broker = live.broker();
        let store = broker.store();
        let ttl = self.ttl.as_secs() as i64;
        let sent = Instant::now();
        let led = self.is_leader();
        let outcome = store
            .hold_lease(&liveness_lease(&self.holder), &self.holder, now(), ttl)
            .and_then(|_| store.hold_lease(LEADER_LEASE, &self.holder, now(), ttl));
        let until = match outcome {
            Ok(lease) if lease.holder == self.holder => {
                if let Some(from) = &lease.taken_from {
                    tracing::warn!(previous = %from, "took over the lead from a replica whose lease lapsed");
                } else if !led {
                    tracing::info!("leading the replicas");
                }
                Some(sent + self.ttl * 2 / 3)
            }
            Ok(lease) => {
                if led {
                    tracing::warn!(leader = %lease.holder, "another replica leads now");
                }
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the leases; leading until they would lapse, at most");
                // Keep what is still good of the last renewal.
                return;
            }
        };
        if let Ok(mut held) = self.until.lock() {
            *held = until;
        }
    }

    /// Gives both leases up, so that another replica leads at once.
    fn resign(&self, live: &Live) {
        let broker = live.broker();
        let store = broker.store();
        let _ = store.release_lease(LEADER_LEASE, &self.holder);
        let _ = store.release_lease(&liveness_lease(&self.holder), &self.holder);
        if let Ok(mut held) = self.until.lock() {
            *held = None;
        }
    }
}

/// Renews the leases every third of their length until `stop` changes, then gives them up.
pub async fn run(live: Arc<Live>, leadership: Arc<Leadership>, mut stop: watch::Receiver<bool>) {
    let every = (leadership.ttl / 3).max(Duration::from_secs(1));
    loop {
        let (l, s) = (leadership.clone(), live.clone());
        let _ = tokio::task::spawn_blocking(move || l.renew(&s)).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = tokio::task::spawn_blocking(move || leadership.resign(&live)).await;
}
