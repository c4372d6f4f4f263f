//! `orb migrate from-orb` on state the Python ORB 1.8.5 wrote itself: the real `orb-py` from
//! PyPI (`scripts/orb-py install`), run against moto by `scripts/orb-py-state.py`, then orb
//! takes its requests over and returns its machines in the same emulator.

use serde_json::{json, Value};

use crate::aws::site;
use crate::support::{repo_root, HfSite, Moto};

/// ORB's state in `storage` (`json` or `split`), made in `moto`: what the script printed.
/// ORB writes files into its working directory; none may land in the checkout.
fn orb_state(moto: &Moto, root: &std::path::Path, storage: &str) -> Value {
    let entries = || {
        let mut names: Vec<_> = std::fs::read_dir(".")
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = entries();
    let state = moto.python(
        &repo_root().join("scripts/orb-py-state.py"),
        &[root.to_str().unwrap(), storage, &moto.seed.to_string()],
    );
    assert_eq!(
        entries(),
        before,
        "ORB wrote into the test's working directory"
    );
    state
}

/// `orb migrate from-orb` of `state` into `site`, giving ORB's records to `mockinst`.
fn import(site: &HfSite, state: &Value) -> crate::support::Run {
    site.orb(&[
        "migrate",
        "from-orb",
        state["state"].as_str().unwrap(),
        "--provider-instance",
        "mockinst",
        "--format",
        "json",
    ])
}

/// The ids in a list of ids.
fn ids<'a>(list: impl IntoIterator<Item = &'a Value>) -> std::collections::BTreeSet<String> {
    list.into_iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// getRequestStatus through orb's script.
fn status(site: &HfSite, id: &str) -> Value {
    site.call(
        "getRequestStatus",
        &json!({"requests": [{"requestId": id}]}),
    )
    .expect_code(0)
    .json()["requests"][0]
        .clone()
}

#[test]
fn orbs_requests_carry_over_and_orb_returns_orbs_machines() {
    for storage in ["json", "split", "sqlite"] {
        let moto = Moto::start();
        let root = tempfile::tempdir().unwrap();
        let state = orb_state(&moto, root.path(), storage);
        let orb = site(&moto, json!({}), json!({"templates": []}));

        let imported = import(&orb, &state);
        let counts = imported.expect_code(0).json();
        // ORB's SQL store cannot return (it fails every update), and it saves a fleet's
        // machines only until its first failed update: what it holds is imported.
        let (returns, machines) = match storage {
            "sqlite" => (
                0,
                state["machines"]
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|l| l.as_array().unwrap())
                    .count(),
            ),
            _ => (1, 2),
        };
        assert_eq!(counts["requests"]["imported"], 2, "{storage}: {counts}");
        assert_eq!(
            counts["returns"]["imported"], returns,
            "{storage}: {counts}"
        );
        assert_eq!(
            counts["machines"]["imported"], machines,
            "{storage}: {counts}"
        );
        assert_eq!(counts["refused"], json!([]), "{storage}: {counts}");
        // Again: nothing twice.
        let again = import(&orb, &state).expect_code(0).json();
        assert_eq!(again["requests"]["already_there"], 2, "{storage}: {again}");
        assert_eq!(again["machines"]["imported"], 0, "{storage}: {again}");

        // ORB's requests answer from orb with ORB's machines; those ORB's SQL store left
        // pending, orb follows until they settle (with the machines ORB never saved).
        for acquire in state["acquires"].as_array().unwrap() {
            let id = acquire.as_str().unwrap();
            let started = std::time::Instant::now();
            let answer = loop {
                let answer = status(&orb, id);
                if answer["status"] != "running" {
                    break answer;
                }
                assert!(started.elapsed().as_secs() < 60, "{storage}: {answer}");
                std::thread::sleep(std::time::Duration::from_millis(500));
            };
            let machines = ids(answer["machines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| &m["machineId"]));
            let theirs = ids(state["machines"][id].as_array().unwrap());
            match storage {
                "sqlite" => assert!(theirs.is_subset(&machines), "{storage}: {answer}"),
                _ => assert_eq!(machines, theirs, "{storage}: {answer}"),
            }
        }
        if let Some(ret) = state["return"].as_str() {
            assert_eq!(status(&orb, ret)["requestId"], ret, "{storage}");
        }

        // orb returns the machine ORB left running, in the same cloud.
        let first = state["acquires"][0].as_str().unwrap();
        let machine = state["machines"][first][0].as_str().unwrap();
        let returned = orb
            .call(
                "requestReturnMachines",
                &json!({"machines": [{"name": machine, "machineId": machine}]}),
            )
            .expect_code(0)
            .json();
        let id = returned["requestId"].as_str().unwrap();
        let started = std::time::Instant::now();
        while status(&orb, id)["status"] == "running" {
            assert!(started.elapsed().as_secs() < 60, "{storage}: never settled");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let cloud = moto.python(&repo_root().join("scripts/moto-inspect.py"), &[]);
        assert_eq!(
            cloud["instances"][machine], "terminated",
            "{storage}: {cloud}"
        );
    }
}

#[test]
fn what_is_not_orbs_store_is_refused_with_why() {
    let site = HfSite::new(json!({}), json!({"templates": []}));
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("request_database.json");
    std::fs::write(&garbage, "[1, 2]").unwrap();
    let run = site.orb(&["migrate", "from-orb", garbage.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is not ORB's JSON store"), "{run:?}");
    // A file that reports no size and never ends is refused at its first bytes, never read
    // until memory runs out.
    let run = site.orb(&["migrate", "from-orb", "/dev/zero"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is not ORB's JSON store"), "{run:?}");
    let sqlite = dir.path().join("database.db");
    rusqlite::Connection::open(&sqlite)
        .unwrap()
        .execute_batch("CREATE TABLE requests (x TEXT)")
        .unwrap();
    let run = site.orb(&["migrate", "from-orb", sqlite.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("not the Python ORB's SQL store"),
        "{run:?}"
    );
    // An instance orb's configuration lacks: every record is refused, named with why.
    std::fs::write(
        &garbage,
        r#"{"requests": {"req-1": {"request_id": "req-1", "request_type": "acquire",
            "status": "complete", "provider_name": "elsewhere", "created_at": "2026-01-01T00:00:00+00:00"}}}"#,
    )
    .unwrap();
    let run = site.orb(&[
        "migrate",
        "from-orb",
        garbage.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let refused = &run.json()["refused"][0];
    assert_eq!(refused["id"], "req-1");
    assert!(
        refused["why"].as_str().unwrap().contains("'elsewhere'"),
        "{refused}"
    );
}
