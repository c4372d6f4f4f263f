//! Cancelling an acquire request: `DELETE /api/v1/requests/{id}`, `orb requests cancel`.
//!
//! The cancellation is stored first, in one transaction that no later writer can undo (see
//! [`Phase::Cancelled`]). Then the provider releases what was made for the request (fleets,
//! groups, launch templates) and terminates its machines, and a return request tracks their
//! termination (see [`super::undo`]). A provision still in flight when the cancellation lands cannot store its
//! answer: it undoes what it made instead, when the provider answers. One whose process died
//! is redone (the provider's idempotency finds what the first call made) and undone.

use super::owner::this_process;
use super::{Broker, BrokerError};
use crate::domain::{now, Phase, Request, RequestKind};
use crate::storage::Cancellation;

/// What a cancellation did.
#[derive(Debug, Clone)]
pub struct CancelReport {
    /// The request, as stored now.
    pub request: Request,
    /// The return request tracking the termination of its machines, when some were running.
    pub return_request_id: Option<String>,
    /// Machines now terminating.
    pub terminating: usize,
    /// Cloud resources deleted or cancelled.
    pub released: Vec<String>,
    /// Whether its provision is still in flight; it undoes what it made when it ends.
    pub in_flight: bool,
}

impl CancelReport {
    /// A cancellation stored while another process works on the request: that process
    /// releases what it made.
    fn in_flight(request: Request) -> Self {
        CancelReport {
            request,
            return_request_id: None,
            terminating: 0,
            released: Vec::new(),
            in_flight: true,
        }
    }
}

impl Broker {
    /// Cancels the acquire request `request_id`. Cancelling a cancelled request again retries
    /// releasing its resources. A finished request cannot be cancelled: its machines are
    /// returned instead.
    pub async fn cancel_request(
        &self,
        request_id: &str,
        reason: Option<&str>,
    ) -> Result<CancelReport, BrokerError> {
        let message = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(reason) => format!("cancelled: {reason}"),
            None => "cancelled".to_owned(),
        };
        let now = now();
        let me = this_process();
        let (request, taken) = match self.store.cancel_request(request_id, &message, &me, now)? {
            Cancellation::Unknown => {
                return Err(BrokerError::NotFound(format!(
                    "request '{request_id}' does not exist"
                )))
            }
            Cancellation::Refused(r) if r.kind == RequestKind::Return => {
                return Err(BrokerError::Conflict(format!(
                    "'{request_id}' is a return request; only acquire requests can be cancelled"
                )))
            }
            Cancellation::Refused(r) => {
                return Err(BrokerError::Conflict(format!(
                    "request '{request_id}' is already {}; return its machines instead (POST /api/v1/machines/return, or orb machines return)",
                    r.status.as_str()
                )))
            }
            Cancellation::Taken(r) => (r, true),
            Cancellation::Stored(r) => (r, false),
        };
        tracing::info!(request_id, message, "request cancelled");
        if taken {
            // Nobody held it: the cancel's transaction made this process its releaser.
            return self.undo(request).await;
        }
        match &request.owner {
            Some(owner) if !self.abandoned(Some(owner), request.updated_at, now) => {
                Ok(CancelReport::in_flight(request))
            }
            owner => {
                let taken = self.store.take_over(
                    request_id,
                    owner.as_deref(),
                    Phase::Cancelled,
                    &me,
                    now,
                )?;
                match taken {
                    Some(taken) => self.undo_interrupted(taken).await,
                    // Another process took it over first, and undoes it.
                    None => Ok(CancelReport::in_flight(request)),
                }
            }
        }
    }
}
