//! The domain: requests, machines and their lifecycles, free of any cloud's types.
//!
//! A request is an acquire (provision N machines from a template) or a return (terminate named
//! machines). Its status is Host Factory's vocabulary: `running`, `complete`,
//! `complete_with_error`; each of its machines has a result: `executing`, `succeed`, `fail`.
//! Partial fulfilment is an outcome like any other: the request completes with error, listing
//! the machines that did start.

mod circuit;
mod machine;
mod request;
mod status;

pub use circuit::{Circuit, CircuitState};
pub use machine::{MachineRecord, MachineResult, ReturnItem};
pub use request::{Phase, Placement, Request, RequestKind, RequestStatus};
pub use status::{acquire_outcome, acquire_result, reclaim_grace, return_outcome, return_result};

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
