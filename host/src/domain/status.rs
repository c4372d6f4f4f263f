//! The rules that turn machine states into results and request statuses.
//!
//! Two invariants hold everywhere: a request is never terminal while one of its machines is
//! still `executing`, and every request becomes terminal by its deadline (a machine still on
//! its way then counts as failed), so Host Factory never polls forever.

use orb_plugin_api::MachineState;

use super::{MachineResult, RequestStatus};

/// Seconds between a cloud's reclaim notice and the reclaim (EC2's two-minute notice).
pub const RECLAIM_NOTICE_SECONDS: i64 = 120;

/// A machine's result in an acquire request.
pub fn acquire_result(state: MachineState, past_deadline: bool) -> MachineResult {
    match state {
        MachineState::Running => MachineResult::Succeed,
        MachineState::Pending | MachineState::Unknown if past_deadline => MachineResult::Fail,
        MachineState::Pending | MachineState::Unknown => MachineResult::Executing,
        MachineState::Stopping
        | MachineState::Stopped
        | MachineState::ShuttingDown
        | MachineState::Terminated
        | MachineState::Failed => MachineResult::Fail,
    }
}

/// A machine's result in a return request; `None` is a machine the cloud no longer has.
pub fn return_result(state: Option<MachineState>, past_deadline: bool) -> MachineResult {
    match state {
        None
        | Some(MachineState::Terminated)
        | Some(MachineState::Stopped)
        | Some(MachineState::Failed) => MachineResult::Succeed,
        Some(_) if past_deadline => MachineResult::Fail,
        Some(_) => MachineResult::Executing,
    }
}

/// A request's status and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The status.
    pub status: RequestStatus,
    /// What to tell Host Factory.
    pub message: String,
}

/// An acquire request's status from its machines' results, the capacity the provider said it
/// could not provide, whether the deadline passed, and how many of the failed machines were
/// `late`: still starting at the deadline.
pub fn acquire_outcome(
    requested: u32,
    results: &[MachineResult],
    unfulfilled: u32,
    past_deadline: bool,
    late: u32,
) -> Outcome {
    let count = |r: MachineResult| results.iter().filter(|x| **x == r).count() as u32;
    let (succeed, failed, executing) = (
        count(MachineResult::Succeed),
        count(MachineResult::Fail),
        count(MachineResult::Executing),
    );
    let outstanding = requested.saturating_sub(succeed + failed + executing + unfulfilled);
    let progress = format!("{succeed} of {requested} machines running");
    if executing > 0 || (outstanding > 0 && !past_deadline) {
        let waiting = executing + outstanding;
        return Outcome {
            status: RequestStatus::Running,
            message: format!("{progress}, {waiting} on their way"),
        };
    }
    if succeed >= requested {
        return Outcome {
            status: RequestStatus::Complete,
            message: progress,
        };
    }
    let mut reasons = Vec::new();
    let late = late.min(failed);
    if failed > late {
        reasons.push(format!("{} failed", failed - late));
    }
    if late > 0 {
        reasons.push(format!("{late} did not start before the deadline"));
    }
    if unfulfilled > 0 {
        reasons.push(format!("{unfulfilled} could not be provisioned"));
    }
    if outstanding > 0 {
        reasons.push(format!("{outstanding} did not arrive before the deadline"));
    }
    Outcome {
        status: RequestStatus::CompleteWithError,
        message: format!("Partially fulfilled: {progress}; {}", reasons.join(", ")),
    }
}

/// A return request's status from its machines' results.
pub fn return_outcome(results: &[MachineResult]) -> Outcome {
    let count = |r: MachineResult| results.iter().filter(|x| **x == r).count();
    let (succeed, failed, executing) = (
        count(MachineResult::Succeed),
        count(MachineResult::Fail),
        count(MachineResult::Executing),
    );
    let total = results.len();
    if executing > 0 {
        Outcome {
            status: RequestStatus::Running,
            message: format!("{succeed} of {total} machines gone, {executing} terminating"),
        }
    } else if failed == 0 {
        Outcome {
            status: RequestStatus::Complete,
            message: format!("{succeed} of {total} machines gone"),
        }
    } else {
        Outcome {
            status: RequestStatus::CompleteWithError,
            message: format!("{succeed} of {total} machines gone, {failed} could not be returned"),
        }
    }
}

/// Seconds left before the cloud takes back a machine it is reclaiming by itself (0 when it is
/// already gone), or `None` when it is not being reclaimed. Machines orb is returning are not
/// reclaimed by the cloud.
pub fn reclaim_grace(
    state: MachineState,
    reclaim_notice_at: Option<i64>,
    returned_by_orb: bool,
    now: i64,
) -> Option<i64> {
    if returned_by_orb {
        return None;
    }
    match state {
        MachineState::Terminated
        | MachineState::ShuttingDown
        | MachineState::Stopped
        | MachineState::Stopping
        | MachineState::Failed => Some(0),
        _ => reclaim_notice_at.map(|t| (RECLAIM_NOTICE_SECONDS - (now - t)).max(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MachineResult::*;

    #[test]
    fn acquire_results_follow_the_state() {
        assert_eq!(acquire_result(MachineState::Running, false), Succeed);
        assert_eq!(acquire_result(MachineState::Pending, false), Executing);
        assert_eq!(acquire_result(MachineState::Pending, true), Fail);
        assert_eq!(acquire_result(MachineState::Terminated, false), Fail);
        assert_eq!(acquire_result(MachineState::Failed, false), Fail);
    }

    #[test]
    fn return_results_follow_the_state() {
        assert_eq!(return_result(None, false), Succeed);
        assert_eq!(
            return_result(Some(MachineState::Terminated), false),
            Succeed
        );
        assert_eq!(
            return_result(Some(MachineState::ShuttingDown), false),
            Executing
        );
        assert_eq!(return_result(Some(MachineState::Running), false), Executing);
        assert_eq!(return_result(Some(MachineState::Running), true), Fail);
    }

    #[test]
    fn never_terminal_while_a_machine_is_executing() {
        let o = acquire_outcome(3, &[Succeed, Fail, Executing], 0, true, 0);
        assert_eq!(o.status, RequestStatus::Running);
        let o = return_outcome(&[Succeed, Executing]);
        assert_eq!(o.status, RequestStatus::Running);
    }

    #[test]
    fn progress_counts_each_machine_once() {
        let o = acquire_outcome(3, &[Executing, Executing, Executing], 0, false, 0);
        assert_eq!(o.message, "0 of 3 machines running, 3 on their way");
        let o = acquire_outcome(4, &[Succeed, Executing], 0, false, 0);
        assert_eq!(o.message, "1 of 4 machines running, 3 on their way");
    }

    #[test]
    fn acquire_completes_when_every_machine_runs() {
        let o = acquire_outcome(2, &[Succeed, Succeed], 0, false, 0);
        assert_eq!(o.status, RequestStatus::Complete);
        assert_eq!(o.message, "2 of 2 machines running");
    }

    #[test]
    fn partial_fulfilment_completes_with_error_at_once_when_the_provider_says_so() {
        let o = acquire_outcome(4, &[Succeed, Succeed], 2, false, 0);
        assert_eq!(o.status, RequestStatus::CompleteWithError);
        assert!(
            o.message.contains("2 could not be provisioned"),
            "{}",
            o.message
        );
    }

    #[test]
    fn machines_that_never_started_are_settled_with_the_deadline_named() {
        // The provider never answered: the one machine was pending at the deadline.
        let o = acquire_outcome(1, &[Fail], 0, true, 1);
        assert_eq!(o.status, RequestStatus::CompleteWithError);
        assert!(
            o.message.contains("1 did not start before the deadline"),
            "{}",
            o.message
        );
        assert!(!o.message.contains("failed"), "{}", o.message);
        let o = acquire_outcome(2, &[Fail, Fail], 0, true, 1);
        assert!(
            o.message.contains("1 failed, 1 did not start"),
            "{}",
            o.message
        );
    }

    #[test]
    fn missing_machines_wait_for_the_deadline() {
        // An asynchronous fleet that has delivered 1 of 3 so far.
        let o = acquire_outcome(3, &[Succeed], 0, false, 0);
        assert_eq!(o.status, RequestStatus::Running);
        let o = acquire_outcome(3, &[Succeed], 0, true, 0);
        assert_eq!(o.status, RequestStatus::CompleteWithError);
        assert!(o.message.contains("before the deadline"), "{}", o.message);
    }

    #[test]
    fn return_outcomes() {
        assert_eq!(
            return_outcome(&[Succeed, Succeed]).status,
            RequestStatus::Complete
        );
        assert_eq!(
            return_outcome(&[Succeed, Fail]).status,
            RequestStatus::CompleteWithError
        );
    }

    #[test]
    fn reclaim_grace_counts_down_from_the_notice() {
        assert_eq!(reclaim_grace(MachineState::Running, None, false, 100), None);
        assert_eq!(
            reclaim_grace(MachineState::Running, Some(70), false, 100),
            Some(90)
        );
        assert_eq!(
            reclaim_grace(MachineState::Running, Some(0), false, 500),
            Some(0)
        );
        assert_eq!(
            reclaim_grace(MachineState::Terminated, None, false, 100),
            Some(0)
        );
        assert_eq!(
            reclaim_grace(MachineState::Terminated, None, true, 100),
            None
        );
    }
}
