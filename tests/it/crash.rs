//! The crash test: a Host Factory flow (acquire, status, return, getReturnRequests) on the
//! mock provider, with `orb` processes killed by SIGKILL at random points, then invariants
//! checked: every request finished, no machine twice, nothing running in the cloud that orb
//! does not track, and never more live machines in the cloud than `maxNumber`, at any step.
//! The seed is printed; `ORB_CRASH_SEED` replays a run.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::HfSite;
use crate::trust::{cloud, finish, site, stored, stored_requests};

/// How many processes are killed.
const KILLS: usize = 120;
/// The cap of the `Capped` template.
const CAP: usize = 3;

/// A small generator (xorshift64*), enough to pick calls and kill times.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Cloud machines not terminated.
fn alive(cloud: &BTreeMap<String, Value>) -> BTreeSet<String> {
    cloud
        .iter()
        .filter(|(_, m)| m["terminate_at"].is_null() && m["failed"] == false)
        .map(|(id, _)| id.clone())
        .collect()
}

/// What a Host Factory call of this step asks.
fn pick(dice: &mut Dice, requests: &[String], machines: &[Value]) -> (&'static str, Value) {
    match dice.below(4) {
        0 => (
            "requestMachines",
            json!({"template": {"templateId": "Capped", "machineCount": 1 + dice.below(2)}}),
        ),
        1 if !requests.is_empty() => {
            let id = &requests[dice.below(requests.len() as u64) as usize];
            ("getRequestStatus", json!({"requests": [{"requestId": id}]}))
        }
        2 if !machines.is_empty() => {
            let m = &machines[dice.below(machines.len() as u64) as usize];
            (
                "requestReturnMachines",
                json!({"machines": [{"machineId": m["machineId"], "name": m["name"]}]}),
            )
        }
        _ => ("getReturnRequests", json!({"machines": []})),
    }
}

/// Learns a request id from a `requestMachines` that ran to its end.
fn learn(output: &Value, requests: &mut Vec<String>) {
    if let Some(id) = output["requestId"].as_str() {
        if !requests.iter().any(|r| r == id) {
            requests.push(id.to_owned());
        }
    }
}

/// Checks that the cloud's live machines fit the cap; returns the running machines no running
/// return claims, which Host Factory would return next.
fn assert_cap_held(site: &HfSite, step: usize) -> Vec<Value> {
    let live = alive(&cloud(site));
    let records = stored(site);
    assert!(
        live.len() <= CAP,
        "step {step}: {} live machines on a cap of {CAP}\nlive: {live:?}\nstored: {records:#?}\nrequests: {:#?}",
        live.len(),
        stored_requests(site, "acquire")
    );
    let returning: BTreeSet<String> = stored_requests(site, "return")
        .iter()
        .filter(|r| r["status"] == "running")
        .map(|r| r["requestId"].as_str().unwrap().to_owned())
        .collect();
    records
        .into_iter()
        .filter(|m| {
            m["status"] == "running"
                && !m["returnRequestId"]
                    .as_str()
                    .is_some_and(|r| returning.contains(r))
        })
        .collect()
}

#[test]
fn killed_processes_lose_nothing_leak_nothing_and_hold_the_cap() {
    let seed = std::env::var("ORB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed: {seed} (ORB_CRASH_SEED={seed} replays it)");
    let mut dice = Dice(seed);
    // Every provider call takes a little while, so kills land inside the work too.
    let site = site(json!({"latency_ms": 40}));
    let (mut requests, mut machines) = (Vec::new(), Vec::<Value>::new());
    let (mut kills, mut step) = (0, 0);
    let started = Instant::now();
    while kills < KILLS {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "too slow: {kills} kills in {step} steps"
        );
        step += 1;
        let (call, input) = pick(&mut dice, &requests, &machines);
        let mut child = site.spawn(call, &input);
        // Three calls of four are killed, at any point of their life.
        if dice.below(4) != 0 {
            std::thread::sleep(Duration::from_millis(dice.below(120)));
            if child.try_wait().unwrap().is_none() {
                kills += 1;
            }
            let _ = child.kill();
            let _ = child.wait();
        } else {
            let run = finish(child);
            if run.code == 0 {
                learn(&run.json(), &mut requests);
            }
        }
        machines = assert_cap_held(&site, step);
    }

    // No more kills: Host Factory keeps polling until everything is done.
    let settle = Instant::now();
    loop {
        site.call("getReturnRequests", &json!({"machines": []}))
            .expect_code(0);
        let all: Vec<Value> = ["acquire", "return"]
            .iter()
            .flat_map(|kind| stored_requests(&site, kind))
            .collect();
        let ids: Vec<Value> = all
            .iter()
            .map(|r| json!({"requestId": r["requestId"]}))
            .collect();
        if !ids.is_empty() {
            site.call("getRequestStatus", &json!({"requests": ids}))
                .expect_code(0);
        }
        let unfinished: Vec<&Value> = all.iter().filter(|r| r["status"] == "running").collect();
        if unfinished.is_empty() {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(60),
            "never finished: {unfinished:?}"
        );
    }

    // No machine twice.
    let records = stored(&site);
    let ids: Vec<&str> = records
        .iter()
        .map(|m| m["machineId"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a machine stored twice: {ids:?}");
    // Nothing running that orb does not track as live.
    let tracked: BTreeSet<String> = records
        .iter()
        .filter(|m| !["terminated", "failed"].contains(&m["status"].as_str().unwrap()))
        .map(|m| m["machineId"].as_str().unwrap().to_owned())
        .collect();
    let live = alive(&cloud(&site));
    let untracked: Vec<&String> = live.difference(&tracked).collect();
    assert!(
        untracked.is_empty(),
        "running in the cloud, not tracked: {untracked:?}"
    );
    assert_cap_held(&site, step);
    eprintln!(
        "{kills} kills in {step} steps; {} requests, {} machines launched, {} live",
        stored_requests(&site, "acquire").len(),
        cloud(&site).len(),
        live.len()
    );
}
