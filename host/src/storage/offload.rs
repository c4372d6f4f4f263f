//! A store whose calls never stall the async runtime.
//!
//! Store calls block: a committed write waits for the disk (`synchronous = FULL`), and any
//! call may wait for another process's write lock. On the server's multi-threaded runtime a
//! blocked worker thread would stall every task queued on it, so each call runs in tokio's
//! `block_in_place`: the worker hands its queue to another thread first. Elsewhere (the CLI's
//! single-threaded runtime, blocking threads, tests) the call runs as it is.
//!
//! Point reads (a request, its machines or return items, a machine, instance-type facts) run
//! where they are: they never wait for a writer (WAL, and the store's reader connections), and
//! handing the worker's queue to another thread would cost more than they take.
//!
//! Each write of a request or a machine that succeeds is announced to this process (see
//! [`written`]), so that its event streams send the change at once instead of at their next
//! poll. Other processes' writes are found by the poll.

use orb_plugin_api::InstanceTypeInfo;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Notify;

use super::{
    Admission, Cancellation, ChangeEvent, Lease, MachineFilter, RequestFilter, Store, StoreError,
};
use crate::domain::{Circuit, MachineRecord, Phase, Request, ReturnItem};

/// Wraps a [`Store`] so its calls hand the async worker's other tasks off while they block.
pub struct Offloaded<S>(pub S);

/// Woken after each write of a request or a machine this process made: wait on
/// `written().notified()`, created before reading the changes, to hear of the next one.
pub fn written() -> &'static Notify {
    static WRITTEN: Notify = Notify::const_new();
    &WRITTEN
}

/// `result`, announced to [`written`]'s waiters when it is a success.
fn announced<T>(result: Result<T, StoreError>) -> Result<T, StoreError> {
    if result.is_ok() {
        written().notify_waiters();
    }
    result
}

fn offload<T>(call: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}

impl<S: Store> Store for Offloaded<S> {
    fn template_use(&self, template_id: &str) -> Result<u64, StoreError> {
        self.0.template_use(template_id)
    }

    fn insert_request(
        &self,
        request: &Request,
        max_number: Option<u64>,
    ) -> Result<Admission, StoreError> {
        announced(offload(|| self.0.insert_request(request, max_number)))
    }

    fn take_over(
        &self,
        request_id: &str,
        seen_owner: Option<&str>,
        seen_phase: Phase,
        owner: &str,
        now: i64,
    ) -> Result<Option<Request>, StoreError> {
        announced(offload(|| {
            self.0
                .take_over(request_id, seen_owner, seen_phase, owner, now)
        }))
    }

    fn update_request(&self, request: &mut Request) -> Result<(), StoreError> {
        announced(offload(|| self.0.update_request(request)))
    }

    fn cancel_request(
        &self,
        request_id: &str,
        message: &str,
        releaser: &str,
        now: i64,
    ) -> Result<Cancellation, StoreError> {
        announced(offload(|| {
            self.0.cancel_request(request_id, message, releaser, now)
        }))
    }

    fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError> {
        self.0.get_request(request_id)
    }

    fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError> {
        offload(|| self.0.list_requests(filter))
    }

    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError> {
        offload(|| self.0.count_requests(filter))
    }

    fn save_progress(
        &self,
        request: &mut Request,
        machines: &[MachineRecord],
    ) -> Result<(), StoreError> {
        announced(offload(|| self.0.save_progress(request, machines)))
    }

    fn upsert_machines(&self, machines: &[MachineRecord]) -> Result<(), StoreError> {
        announced(offload(|| self.0.upsert_machines(machines)))
    }

    fn get_machine(&self, machine_id: &str) -> Result<Option<MachineRecord>, StoreError> {
        self.0.get_machine(machine_id)
    }

    fn find_machine_by_name(&self, name: &str) -> Result<Option<MachineRecord>, StoreError> {
        self.0.find_machine_by_name(name)
    }

    fn machines_of_request(&self, request_id: &str) -> Result<Vec<MachineRecord>, StoreError> {
        self.0.machines_of_request(request_id)
    }

    fn list_machines(&self, filter: &MachineFilter) -> Result<Vec<MachineRecord>, StoreError> {
        offload(|| self.0.list_machines(filter))
    }

    fn count_machines(&self, filter: &MachineFilter) -> Result<u64, StoreError> {
        offload(|| self.0.count_machines(filter))
    }

    fn insert_return(
        &self,
        request: &Request,
        items: &[ReturnItem],
    ) -> Result<Vec<String>, StoreError> {
        announced(offload(|| self.0.insert_return(request, items)))
    }

    fn submit_return(
        &self,
        return_request_id: &str,
        terminating: &[String],
        errors: &[(String, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        announced(offload(|| {
            self.0
                .submit_return(return_request_id, terminating, errors, now)
        }))
    }

    fn return_items(&self, return_request_id: &str) -> Result<Vec<ReturnItem>, StoreError> {
        self.0.return_items(return_request_id)
    }

    fn purge_request(&self, request_id: &str) -> Result<bool, StoreError> {
        announced(offload(|| self.0.purge_request(request_id)))
    }

    fn purge_machine(&self, machine_id: &str) -> Result<bool, StoreError> {
        announced(offload(|| self.0.purge_machine(machine_id)))
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEvent>, StoreError> {
        offload(|| self.0.events_after(after, limit))
    }

    fn event_bounds(&self) -> Result<(i64, i64), StoreError> {
        offload(|| self.0.event_bounds())
    }

    fn request_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        offload(|| self.0.request_counts())
    }

    fn machine_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        offload(|| self.0.machine_counts())
    }

    fn machines_alive_at(&self, times: &[i64]) -> Result<Vec<u64>, StoreError> {
        offload(|| self.0.machines_alive_at(times))
    }

    fn instance_types(
        &self,
        provider_instance: &str,
        names: &[String],
        since: i64,
    ) -> Result<Vec<InstanceTypeInfo>, StoreError> {
        self.0.instance_types(provider_instance, names, since)
    }

    fn save_instance_types(
        &self,
        provider_instance: &str,
        types: &[InstanceTypeInfo],
        now: i64,
    ) -> Result<(), StoreError> {
        offload(|| self.0.save_instance_types(provider_instance, types, now))
    }

    fn record_call(
        &self,
        provider_instance: &str,
        failed: bool,
        now: i64,
        threshold: u32,
    ) -> Result<Circuit, StoreError> {
        offload(|| {
            self.0
                .record_call(provider_instance, failed, now, threshold)
        })
    }

    fn circuits(&self) -> Result<Vec<Circuit>, StoreError> {
        offload(|| self.0.circuits())
    }

    fn next_turn(&self, key: &str) -> Result<u64, StoreError> {
        offload(|| self.0.next_turn(key))
    }

    fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> Result<Lease, StoreError> {
        offload(|| self.0.hold_lease(name, holder, now, ttl))
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.0.lease(name)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        offload(|| self.0.release_lease(name, holder))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStore;

    /// A waiter made before a write hears of it, polled or not.
    #[test]
    fn a_write_is_announced_to_this_process() {
        use futures_util::FutureExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Offloaded(SqliteStore::open(&dir.path().join("orb.db")).unwrap());
        let wake = Box::pin(written().notified());
        let request =
            crate::storage::contract::request("req-1", crate::domain::RequestKind::Acquire);
        store.insert_request(&request, None).unwrap();
        assert!(wake.now_or_never().is_some(), "the write woke the waiter");
    }

    /// A store call from a task on a multi-threaded runtime leaves the worker's other tasks
    /// running: with one worker, a task spawned by the calling task runs while the call blocks.
    #[test]
    fn a_blocked_call_does_not_stall_other_tasks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Offloaded(SqliteStore::open(&dir.path().join("orb.db")).unwrap());
        runtime.block_on(async move {
            tokio::spawn(async move {
                let (tx, rx) = std::sync::mpsc::channel();
                let other = tokio::spawn(async move { tx.send(()).unwrap() });
                // Only possible if this call gave the only worker's queue away.
                offload(|| {
                    rx.recv_timeout(std::time::Duration::from_secs(10))
                        .expect("the other task ran while this call blocked")
                });
                other.await.unwrap();
                assert!(store.machine_counts().unwrap().is_empty());
            })
            .await
            .unwrap();
        });
    }
}
