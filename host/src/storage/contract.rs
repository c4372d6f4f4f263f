//! The contract every [`Store`] keeps, as tests that each backend runs: SQLite in a temporary
//! directory, PostgreSQL in a database of its own on the server `ORB_TEST_POSTGRES_URL` names
//! (`scripts/postgres start` runs one and prints it; `scripts/test` sets it).

use orb_plugin_api::{InstanceTypeInfo, MachineState};

use super::{Admission, Cancellation, MachineFilter, RequestFilter, Store, StoreError};
use crate::domain::{MachineRecord, Phase, Request, RequestKind, RequestStatus, ReturnItem};

/// Opens another handle on the store under test, as another process would.
pub type Opener = dyn Fn() -> Box<dyn Store> + Sync;

/// How much of template `template_id`'s cap is in use, as the store counts it: a request that
/// a cap of 0 refuses says so, and is not stored.
fn use_of(store: &dyn Store, template_id: &str) -> u64 {
    let mut probe = request("req-probe", RequestKind::Acquire);
    probe.template_id = Some(template_id.into());
    match store.insert_request(&probe, Some(0)).unwrap() {
        Admission::Full { in_use } => in_use,
        Admission::Stored => panic!("a cap of 0 admitted a request"),
    }
}

pub fn request(id: &str, kind: RequestKind) -> Request {
    Request {
        request_id: id.into(),
        kind,
        provider_instance: "mock-a".into(),
        provider_type: "mock".into(),
        template_id: Some("t1".into()),
        provider_api: None,
        requested: 2,
        status: RequestStatus::Running,
        phase: Phase::Accepted,
        message: String::new(),
        unfulfilled: 0,
        resource_ids: vec!["fleet-1".into()],
        template: Some(serde_json::json!({"templateId": "t1"})),
        owner: Some("host:1".into()),
        created_at: 10,
        updated_at: 10,
        deadline_at: 310,
        attempts: 0,
        placements: Vec::new(),
        version: 0,
    }
}

pub fn machine(id: &str, request_id: &str, name: &str) -> MachineRecord {
    MachineRecord {
        machine_id: id.into(),
        request_id: request_id.into(),
        return_request_id: None,
        provider_instance: "mock-a".into(),
        template_id: Some("t1".into()),
        name: Some(name.into()),
        state: MachineState::Running,
        private_ip: Some("10.0.0.1".into()),
        public_ip: None,
        launch_time: Some(11),
        instance_type: Some("m5.large".into()),
        price_type: Some("ondemand".into()),
        zone: Some("us-east-1a".into()),
        resource_id: None,
        message: None,
        reclaim_notice_at: None,
        tags: [("team".to_owned(), "hpc".to_owned())].into(),
        created_at: 11,
        updated_at: 11,
    }
}

pub fn instance_type_facts_are_kept_per_instance_and_read_while_fresh(open: &Opener) {
    let store = open();
    let info = |name: &str, vcpus| InstanceTypeInfo {
        name: name.into(),
        vcpus,
        cores: None,
        memory_mib: 1024,
        architecture: None,
    };
    store
        .save_instance_types("aws-a", &[info("m5.large", 2), info("m5.xlarge", 4)], 100)
        .unwrap();
    store
        .save_instance_types("aws-b", &[info("m5.large", 9)], 100)
        .unwrap();
    let names = ["m5.large".to_owned(), "c5.large".to_owned()];
    let fresh = store.instance_types("aws-a", &names, 50).unwrap();
    assert_eq!(fresh, vec![info("m5.large", 2)]);
    assert!(
        store
            .instance_types("aws-a", &names, 101)
            .unwrap()
            .is_empty(),
        "stale"
    );
    store
        .save_instance_types("aws-a", &[info("m5.large", 3)], 200)
        .unwrap();
    assert_eq!(
        store.instance_types("aws-a", &names, 150).unwrap(),
        vec![info("m5.large", 3)]
    );
    assert_eq!(
        store.instance_types("aws-b", &names, 0).unwrap(),
        vec![info("m5.large", 9)]
    );
}

pub fn requests_and_machines_round_trip(open: &Opener) {
    let store = open();
    let mut r = request("req-1", RequestKind::Acquire);
    store.insert_request(&r, None).unwrap();
    assert_eq!(store.get_request("req-1").unwrap(), Some(r.clone()));
    r.phase = Phase::Submitted;
    r.status = RequestStatus::Complete;
    store
        .save_progress(
            &mut r,
            &[machine("m-1", "req-1", "h1"), machine("m-2", "req-1", "h2")],
        )
        .unwrap();
    assert_eq!(
        store.get_request("req-1").unwrap().unwrap().phase,
        Phase::Submitted
    );
    let stored = store.machines_of_request("req-1").unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].tags["team"], "hpc");
    assert_eq!(
        store
            .find_machine_by_name("h2")
            .unwrap()
            .unwrap()
            .machine_id,
        "m-2"
    );
    assert_eq!(use_of(&*store, "t1"), 2);
    assert!(store.get_request("req-none").unwrap().is_none());
    let listed = store
        .list_requests(&RequestFilter {
            status: Some(RequestStatus::Complete),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
}

pub fn a_return_claims_only_unclaimed_machines(open: &Opener) {
    let store = open();
    let mut r = request("req-1", RequestKind::Acquire);
    r.status = RequestStatus::Complete;
    store.insert_request(&r, None).unwrap();
    store
        .upsert_machines(&[machine("m-1", "req-1", "h1")])
        .unwrap();
    let item = |ret: &str| ReturnItem {
        return_request_id: ret.into(),
        machine_id: Some("m-1".into()),
        name: Some("h1".into()),
        error: None,
    };
    let ret = |id: &str| {
        let mut r = request(id, RequestKind::Return);
        r.phase = Phase::Accepted;
        r
    };
    assert_eq!(
        store
            .insert_return(&ret("ret-1"), &[item("ret-1")])
            .unwrap(),
        ["m-1"]
    );
    assert!(store
        .insert_return(&ret("ret-2"), &[item("ret-2")])
        .unwrap()
        .is_empty());
    let m = store.get_machine("m-1").unwrap().unwrap();
    assert_eq!(m.return_request_id.as_deref(), Some("ret-1"));
    assert_eq!(store.return_items("ret-2").unwrap().len(), 1);
    // Claimed, not terminated yet: it still counts against the cap.
    assert_eq!(use_of(&*store, "t1"), 1);

    // A status refresh that read the machine before the claim cannot erase it.
    let mut stale = machine("m-1", "req-1", "h1");
    stale.updated_at = 20;
    store.upsert_machines(&[stale]).unwrap();
    let m = store.get_machine("m-1").unwrap().unwrap();
    assert_eq!(m.return_request_id.as_deref(), Some("ret-1"));
    assert_eq!(m.updated_at, 20);

    // Its termination failed: the failure is recorded, the return is submitted, and a new
    // return may claim the machine.
    store
        .submit_return("ret-1", &[], &[("m-1".into(), "denied".into())], 30)
        .unwrap();
    assert_eq!(
        store.return_items("ret-1").unwrap()[0].error.as_deref(),
        Some("denied")
    );
    let submitted = store.get_request("ret-1").unwrap().unwrap();
    assert_eq!((submitted.phase, submitted.owner), (Phase::Submitted, None));
    assert_eq!(
        store
            .insert_return(&ret("ret-3"), &[item("ret-3")])
            .unwrap(),
        ["m-1"]
    );
    store
        .submit_return("ret-3", &["m-1".into()], &[], 40)
        .unwrap();
    let m = store.get_machine("m-1").unwrap().unwrap();
    assert_eq!(m.return_request_id.as_deref(), Some("ret-3"));
    assert_eq!(m.state, MachineState::ShuttingDown);
    // Its termination is under way: it no longer counts.
    assert_eq!(use_of(&*store, "t1"), 0);
}

pub fn the_cap_counts_what_running_requests_may_still_bring(open: &Opener) {
    let store = open();
    // Two running requests of 2 with no machine yet: 4 of a cap of 5 are taken.
    for id in ["req-1", "req-2"] {
        assert_eq!(
            store
                .insert_request(&request(id, RequestKind::Acquire), Some(5))
                .unwrap(),
            Admission::Stored
        );
    }
    assert_eq!(
        store
            .insert_request(&request("req-3", RequestKind::Acquire), Some(5))
            .unwrap(),
        Admission::Full { in_use: 4 }
    );
    assert!(store.get_request("req-3").unwrap().is_none());
    // What a dry run reads is what the insert counted.
    let template = request("req-1", RequestKind::Acquire).template_id.unwrap();
    assert_eq!(store.template_use(&template).unwrap(), 4);
    assert_eq!(store.template_use("no-such-template").unwrap(), 0);
    // Uncapped: stored whatever the use.
    assert_eq!(
        store
            .insert_request(&request("req-4", RequestKind::Acquire), None)
            .unwrap(),
        Admission::Stored
    );
}

pub fn only_one_process_takes_over_an_abandoned_request(open: &Opener) {
    let store = open();
    store
        .insert_request(&request("req-1", RequestKind::Acquire), None)
        .unwrap();
    let taken = store
        .take_over("req-1", Some("host:1"), Phase::Accepted, "host:2", 50)
        .unwrap()
        .expect("the dead owner's request is taken over");
    assert_eq!(
        (taken.owner.as_deref(), taken.attempts),
        (Some("host:2"), 1)
    );
    // A second process that saw the dead owner finds it taken.
    assert!(store
        .take_over("req-1", Some("host:1"), Phase::Accepted, "host:3", 51)
        .unwrap()
        .is_none());
    // What a request is never changes through an update.
    let mut other = taken.clone();
    other.requested = 99;
    other.attempts = 0;
    store.update_request(&mut other).unwrap();
    let stored = store.get_request("req-1").unwrap().unwrap();
    assert_eq!((stored.requested, stored.attempts), (2, 1));
}

pub fn a_cancellation_stands_against_later_writers(open: &Opener) {
    let store = open();
    assert_eq!(
        store
            .cancel_request("req-none", "cancelled", "host:9", 20)
            .unwrap(),
        Cancellation::Unknown
    );
    let stale = request("req-1", RequestKind::Acquire);
    store.insert_request(&stale, None).unwrap();
    let Cancellation::Stored(cancelled) = store
        .cancel_request("req-1", "cancelled: test", "host:9", 20)
        .unwrap()
    else {
        panic!("a running request is cancellable")
    };
    assert_eq!(cancelled.phase, Phase::Cancelled);
    assert_eq!(cancelled.status, RequestStatus::CompleteWithError);
    assert_eq!(cancelled.owner.as_deref(), Some("host:1"));

    // A writer that read the request before the cancellation cannot undo it.
    let mut late = stale.clone();
    late.phase = Phase::Submitted;
    late.status = RequestStatus::Complete;
    let m = machine("m-1", "req-1", "host-1");
    assert!(matches!(
        store.save_progress(&mut late, std::slice::from_ref(&m)),
        Err(StoreError::RequestCancelled(id)) if id == "req-1"
    ));
    assert_eq!(store.get_machine("m-1").unwrap(), None, "rolled back");
    assert_eq!(store.get_request("req-1").unwrap().unwrap(), cancelled);

    // A cancelled request may still be rewritten as cancelled.
    let in_flight = RequestFilter {
        phase: Some(Phase::Cancelled),
        owned: true,
        ..Default::default()
    };
    assert_eq!(store.list_requests(&in_flight).unwrap().len(), 1);
    let mut settled = cancelled.clone();
    settled.owner = None;
    store.update_request(&mut settled).unwrap();
    assert_eq!(store.get_request("req-1").unwrap().unwrap().owner, None);
    assert!(store.list_requests(&in_flight).unwrap().is_empty());
    // Cancelling again finds it cancelled, and its caller holds it to release it again.
    let mut retried = settled.clone();
    retried.owner = Some("host:9".into());
    retried.updated_at = 30;
    retried.version += 1;
    assert_eq!(
        store
            .cancel_request("req-1", "again", "host:9", 30)
            .unwrap(),
        Cancellation::Taken(retried)
    );
    assert_eq!(store.list_requests(&in_flight).unwrap().len(), 1);
    // A held request stays its holder's.
    let Cancellation::Stored(held) = store.cancel_request("req-1", "x", "host:8", 31).unwrap()
    else {
        panic!("still cancelled")
    };
    assert_eq!(held.owner.as_deref(), Some("host:9"));

    // A request no process holds is held by its canceller in the cancel's transaction.
    let mut submitted = request("req-3", RequestKind::Acquire);
    submitted.phase = Phase::Submitted;
    submitted.owner = None;
    store.insert_request(&submitted, None).unwrap();
    let Cancellation::Taken(taken) = store.cancel_request("req-3", "x", "host:9", 40).unwrap()
    else {
        panic!("a running request is cancellable")
    };
    assert_eq!(taken.owner.as_deref(), Some("host:9"));
    assert_eq!(
        store
            .get_request("req-3")
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("host:9")
    );

    // Finished requests and return requests are refused, unchanged.
    let mut done = request("req-2", RequestKind::Acquire);
    done.status = RequestStatus::Complete;
    store.insert_request(&done, None).unwrap();
    assert_eq!(
        store.cancel_request("req-2", "x", "host:9", 40).unwrap(),
        Cancellation::Refused(done)
    );
    let ret = request("ret-1", RequestKind::Return);
    store.insert_request(&ret, None).unwrap();
    assert_eq!(
        store.cancel_request("ret-1", "x", "host:9", 40).unwrap(),
        Cancellation::Refused(ret)
    );
}

pub fn concurrent_writers_lose_nothing(open: &Opener) {
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                // A store per thread, as separate processes would have.
                let store = open();
                for i in 0..20 {
                    store
                        .insert_request(
                            &request(&format!("req-{t}-{i}"), RequestKind::Acquire),
                            None,
                        )
                        .unwrap();
                }
            });
        }
    });
    let store = open();
    assert_eq!(
        store
            .list_requests(&RequestFilter::default())
            .unwrap()
            .len(),
        160
    );
}

/// A write of a copy read before another process's write changes nothing and says so: no
/// process undoes another's update. The writer's own copy follows its writes.
pub fn a_write_of_a_stale_copy_is_refused(open: &Opener) {
    let (a, b) = (open(), open());
    a.insert_request(&request("req-1", RequestKind::Acquire), None)
        .unwrap();
    let mut first = a.get_request("req-1").unwrap().unwrap();
    let mut second = b.get_request("req-1").unwrap().unwrap();
    first.status = RequestStatus::Complete;
    first.message = "done".into();
    a.save_progress(&mut first, &[]).unwrap();
    // The same writer goes on from its own copy.
    first.message = "done, twice".into();
    a.update_request(&mut first).unwrap();
    second.message = "still running".into();
    assert!(matches!(
        b.update_request(&mut second),
        Err(StoreError::Conflict(id)) if id == "req-1"
    ));
    assert!(matches!(
        b.save_progress(&mut second, &[machine("m-9", "req-1", "h9")]),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.get_machine("m-9").unwrap(), None, "rolled back");
    let stored = b.get_request("req-1").unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.message.as_str()),
        (RequestStatus::Complete, "done, twice")
    );
    assert_eq!(stored, first);
}

/// Writers in many processes at once, each checking a template's cap in the transaction of its
/// insert: together they never pass the cap.
pub fn parallel_writers_never_pass_a_cap(open: &Opener) {
    let admitted = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..6 {
            let admitted = &admitted;
            s.spawn(move || {
                let store = open();
                for i in 0..5 {
                    // Each asks for 2 of a cap of 10.
                    let r = request(&format!("req-{t}-{i}"), RequestKind::Acquire);
                    if store.insert_request(&r, Some(10)).unwrap() == Admission::Stored {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(admitted.into_inner(), 5, "10 machines of 2 each");
    assert_eq!(use_of(&*open(), "t1"), 10);
}

/// One holder at a time: a lease is renewed by its holder, refused to others until it lapses,
/// then taken over (naming whose it was), and given up only by its holder.
pub fn a_lease_has_one_holder_until_it_lapses(open: &Opener) {
    let (a, b) = (open(), open());
    let held = a.hold_lease("leader", "host-a:1", 100, 15).unwrap();
    assert_eq!((held.holder.as_str(), held.expires_at), ("host-a:1", 115));
    assert_eq!(held.taken_from, None);
    let refused = b.hold_lease("leader", "host-b:2", 110, 15).unwrap();
    assert_eq!(refused.holder, "host-a:1", "not lapsed yet");
    let renewed = a.hold_lease("leader", "host-a:1", 112, 15).unwrap();
    assert_eq!(renewed.expires_at, 127);
    assert_eq!(b.lease("leader").unwrap().unwrap().expires_at, 127);
    // Lapsed: the other takes it, and learns from whom.
    let taken = b.hold_lease("leader", "host-b:2", 128, 15).unwrap();
    assert_eq!(taken.holder, "host-b:2");
    assert_eq!(taken.taken_from.as_deref(), Some("host-a:1"));
    // The old holder, back, finds it taken.
    assert_eq!(
        a.hold_lease("leader", "host-a:1", 129, 15).unwrap().holder,
        "host-b:2"
    );
    a.release_lease("leader", "host-a:1").unwrap();
    assert!(
        b.lease("leader").unwrap().is_some(),
        "only its holder gives it up"
    );
    b.release_lease("leader", "host-b:2").unwrap();
    assert_eq!(a.lease("leader").unwrap(), None);
    // Many contenders at once: exactly one gets it.
    let holders: Vec<String> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..6)
            .map(|i| {
                s.spawn(move || {
                    open()
                        .hold_lease("race", &format!("host-{i}:1"), 200, 15)
                        .unwrap()
                        .holder
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let winner = &holders[0];
    let won = holders.iter().filter(|h| *h == winner).count();
    assert_eq!(won, 6, "every contender sees the one holder: {holders:?}");
}

pub fn listings_page_filter_and_count_alike(open: &Opener) {
    let store = open();
    for (i, (instance, ty)) in [("mock-a", "mock"), ("mock-a", "mock"), ("aws-1", "aws")]
        .into_iter()
        .enumerate()
    {
        let mut r = request(&format!("req-{i}"), RequestKind::Acquire);
        r.provider_instance = instance.into();
        r.provider_type = ty.into();
        r.created_at = 10 + i as i64;
        r.message = format!("Fleet_{i} 100% up");
        store.insert_request(&r, None).unwrap();
        let mut m = machine(&format!("m-{i}"), &r.request_id, &format!("host-{i}"));
        m.provider_instance = instance.into();
        m.created_at = 10 + i as i64;
        store.upsert_machines(&[m]).unwrap();
    }
    let page = |filter: RequestFilter| {
        let ids: Vec<String> = store
            .list_requests(&filter)
            .unwrap()
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        (ids, store.count_requests(&filter).unwrap())
    };
    let two = RequestFilter {
        limit: Some(2),
        offset: 1,
        ..Default::default()
    };
    assert_eq!(page(two), (vec!["req-1".into(), "req-0".into()], 3));
    let mock = RequestFilter {
        provider_type: Some("mock".into()),
        ..Default::default()
    };
    assert_eq!(page(mock).1, 2);
    let named = RequestFilter {
        provider_instance: Some("aws-1".into()),
        ..Default::default()
    };
    assert_eq!(page(named), (vec!["req-2".into()], 1));
    // Search in any case; `%` and `_` are themselves, not wildcards.
    for (text, found) in [
        ("FLEET_1", 1),
        ("100%", 3),
        ("req_1", 0),
        ("0%u", 0),
        ("x", 0),
    ] {
        let filter = RequestFilter {
            search: Some(text.into()),
            ..Default::default()
        };
        assert_eq!(page(filter).1, found, "{text}");
    }
    let machines = |filter: MachineFilter| {
        (
            store.list_machines(&filter).unwrap().len(),
            store.count_machines(&filter).unwrap(),
        )
    };
    let aws = MachineFilter {
        provider_type: Some("aws".into()),
        ..Default::default()
    };
    assert_eq!(machines(aws), (1, 1));
    let by_name = MachineFilter {
        search: Some("HOST-0".into()),
        ..Default::default()
    };
    assert_eq!(machines(by_name), (1, 1));
    let paged = MachineFilter {
        limit: Some(1),
        offset: 2,
        ..Default::default()
    };
    assert_eq!(machines(paged), (1, 3));
}

pub fn a_purge_never_forgets_a_machine_that_is_up(open: &Opener) {
    let store = open();
    let mut r = request("req-1", RequestKind::Acquire);
    store.insert_request(&r, None).unwrap();
    r.phase = Phase::Submitted;
    r.owner = None;
    store
        .save_progress(
            &mut r,
            &[machine("m-1", "req-1", "h1"), machine("m-2", "req-1", "h2")],
        )
        .unwrap();
    // Running: not purged.
    assert!(!store.purge_request("req-1").unwrap());
    r.status = RequestStatus::Complete;
    store.save_progress(&mut r, &[]).unwrap();
    // Finished, but its machines are up: not purged, nor are they.
    assert!(!store.purge_request("req-1").unwrap());
    assert!(!store.purge_machine("m-1").unwrap());
    // Once one is gone it alone may go; once both are, the request goes with them.
    let mut gone = machine("m-1", "req-1", "h1");
    gone.state = MachineState::Terminated;
    gone.updated_at = 20;
    store.upsert_machines(&[gone.clone()]).unwrap();
    assert!(!store.purge_request("req-1").unwrap());
    gone.machine_id = "m-2".into();
    store.upsert_machines(&[gone]).unwrap();
    assert!(store.purge_machine("m-2").unwrap());
    assert!(store.purge_request("req-1").unwrap());
    assert!(store.get_request("req-1").unwrap().is_none());
    assert!(store.get_machine("m-1").unwrap().is_none());
    assert!(!store.purge_request("req-1").unwrap(), "already gone");
}

pub fn changes_are_numbered_in_order_and_the_newest_ten_thousand_kept(open: &Opener) {
    let store = open();
    assert_eq!(store.event_bounds().unwrap(), (0, 0));
    let mut r = request("req-1", RequestKind::Acquire);
    store.insert_request(&r, None).unwrap();
    r.phase = Phase::Submitted;
    store
        .save_progress(&mut r, &[machine("m-1", "req-1", "h1")])
        .unwrap();
    // A write that changes nothing a caller follows (a refreshed time) is no event.
    let mut again = machine("m-1", "req-1", "h1");
    again.updated_at = 12;
    store.upsert_machines(&[again.clone()]).unwrap();
    again.state = MachineState::Terminated;
    again.updated_at = 13;
    store.upsert_machines(&[again]).unwrap();
    let events = store.events_after(0, 100).unwrap();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("request", "req-1"),
            // A progress writes its machines, then the request.
            ("machine", "m-1"),
            ("request", "req-1"),
            ("machine", "m-1")
        ]
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[3].at, 13);
    let after = store.events_after(events[1].seq, 1).unwrap();
    assert_eq!(after, [events[2].clone()]);
    assert_eq!(
        store.event_bounds().unwrap(),
        (events[0].seq, events[3].seq)
    );
    // Many changes at once: only the newest 10,000 or so stay.
    let many: Vec<MachineRecord> = (0..11_000)
        .map(|i| machine(&format!("x-{i}"), "req-1", &format!("x{i}")))
        .collect();
    store.upsert_machines(&many).unwrap();
    let (oldest, newest) = store.event_bounds().unwrap();
    assert!(newest - oldest < 11_000, "{oldest}..{newest}");
    assert!(newest - oldest >= 9_000, "{oldest}..{newest}");
}

/// A circuit is shared by every process: failures counted by two stores add up, a success
/// through either closes it; turns count up across processes, each taken once.
pub fn circuits_and_turns_are_shared_by_every_process(open: &Opener) {
    let (a, b) = (open(), open());
    assert_eq!(a.record_call("east", true, 100, 3).unwrap().failures, 1);
    assert_eq!(b.record_call("east", true, 101, 3).unwrap().failures, 2);
    let opened = a.record_call("east", true, 102, 3).unwrap();
    assert_eq!(opened.opened_at, Some(102));
    assert_eq!(b.circuits().unwrap(), vec![opened]);
    let closed = b.record_call("east", false, 200, 3).unwrap();
    assert_eq!(closed, crate::domain::Circuit::closed("east"));
    assert_eq!(a.circuits().unwrap(), vec![closed]);

    let turns: Vec<u64> = std::thread::scope(|s| {
        let takers: Vec<_> = (0..8)
            .map(|i| {
                let store = if i % 2 == 0 { &a } else { &b };
                s.spawn(move || store.next_turn("pool").unwrap())
            })
            .collect();
        takers.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut sorted = turns.clone();
    sorted.sort();
    assert_eq!(sorted, (0..8).collect::<Vec<u64>>(), "{turns:?}");
    assert_eq!(a.next_turn("other").unwrap(), 0);
}

pub fn machines_are_counted_by_instance_and_over_time(open: &Opener) {
    let store = open();
    store
        .insert_request(&request("req-1", RequestKind::Acquire), None)
        .unwrap();
    let at = |id: &str, instance: &str, state: MachineState, created: i64, updated: i64| {
        let mut m = machine(id, "req-1", id);
        m.provider_instance = instance.into();
        m.state = state;
        m.created_at = created;
        m.updated_at = updated;
        m
    };
    store
        .upsert_machines(&[
            at("m-1", "mock-a", MachineState::Running, 100, 100),
            at("m-2", "mock-a", MachineState::Terminated, 100, 200),
            at("m-3", "mock-b", MachineState::Pending, 150, 150),
            at("m-4", "mock-a", MachineState::Failed, 100, 100),
        ])
        .unwrap();
    let counts = |instance: &str, state: &str, n: u64| (instance.to_owned(), state.to_owned(), n);
    assert_eq!(
        store.machine_counts().unwrap(),
        vec![
            counts("mock-a", "failed", 1),
            counts("mock-a", "running", 1),
            counts("mock-a", "terminated", 1),
            counts("mock-b", "pending", 1),
        ]
    );
    // A terminated machine was alive until it was last written; a failed one never was.
    assert_eq!(
        store
            .machines_alive_at(&[50, 100, 150, 199, 200, 300])
            .unwrap(),
        vec![0, 2, 3, 3, 2, 2]
    );
    assert!(store.machines_alive_at(&[]).unwrap().is_empty());
    let many: Vec<i64> = (0..150).collect();
    assert_eq!(store.machines_alive_at(&many).unwrap().len(), 100);
}

/// Runs each contract test on each backend.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("state/orb.db");
                    super::$test(&move || {
                        Box::new(crate::storage::SqliteStore::open(&path).unwrap())
                    });
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    let database = super::super::postgres::testing::Database::create();
                    let options = database.options();
                    super::$test(&move || {
                        Box::new(crate::storage::PostgresStore::open(&options).unwrap())
                    });
                }
            )*
        }
    };
}

on_every_backend!(
    instance_type_facts_are_kept_per_instance_and_read_while_fresh,
    requests_and_machines_round_trip,
    a_return_claims_only_unclaimed_machines,
    the_cap_counts_what_running_requests_may_still_bring,
    only_one_process_takes_over_an_abandoned_request,
    a_cancellation_stands_against_later_writers,
    concurrent_writers_lose_nothing,
    parallel_writers_never_pass_a_cap,
    a_lease_has_one_holder_until_it_lapses,
    a_write_of_a_stale_copy_is_refused,
    listings_page_filter_and_count_alike,
    a_purge_never_forgets_a_machine_that_is_up,
    changes_are_numbered_in_order_and_the_newest_ten_thousand_kept,
    circuits_and_turns_are_shared_by_every_process,
    machines_are_counted_by_instance_and_over_time,
);
