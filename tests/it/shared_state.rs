//! State on PostgreSQL shared by Host Factory scripts on two "hosts": two sites, each with its
//! own work directory and configuration, one database and one (mock) cloud.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::holding_proxy::HoldingProxy;
use crate::server::Server;
use crate::support::{aws_plugin, mock_plugin, repo_root, HfSite, Moto};

/// A database of its own on the test server (`ORB_TEST_POSTGRES_URL`, set by scripts/test),
/// dropped after the test.
struct Database {
    server: String,
    name: String,
}

fn psql(server: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Database {
    fn create() -> Database {
        let server = std::env::var("ORB_TEST_POSTGRES_URL").expect(
            "ORB_TEST_POSTGRES_URL names no PostgreSQL server: run `scripts/postgres start` and \
             `export ORB_TEST_POSTGRES_URL=$(scripts/postgres url)` (scripts/test does both)",
        );
        let name = format!("orb_it_{}", uuid::Uuid::new_v4().simple());
        psql(&server, &format!("CREATE DATABASE {name}"));
        Database { server, name }
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn templates() -> Value {
    json!({"templates": [
        {"templateId": "Capped", "maxNumber": 4, "vmType": "m5.large", "imageId": "img-1"},
        {"templateId": "Open", "maxNumber": -1, "vmType": "m5.large", "imageId": "img-1"}
    ]})
}

/// A "host": its own directories and configuration, the URL in a file beside it (so that no
/// password sits in config.json), the shared mock cloud in `cloud`.
fn host(database: &Database, cloud: &std::path::Path) -> HfSite {
    let site = HfSite::with_config(
        json!({
            "provider": {"providers": [{"name": "mockinst", "type": "mock",
                "config": {"state_file": cloud, "pending_seconds": 0.5}}]},
            "storage": {"type": "postgresql", "url_file": "database-url", "pool_size": 2},
            "logging": {"level": "debug"}
        }),
        templates(),
    );
    std::fs::write(site.path().join("conf/database-url"), database.url()).unwrap();
    site
}

/// A replica of `orb serve` on the database as the host `host` (see [`Server::start_on_host`]),
/// serving the provider instance `instance` of `plugin`, with a short lease so that a test
/// need not wait.
fn replica(
    database: &Database,
    host: &str,
    instance: Value,
    templates: Value,
    plugin: &std::path::Path,
) -> (HfSite, Server) {
    let site = HfSite::with_plugin(
        json!({
            "provider": {"providers": [instance]},
            "storage": {"type": "postgresql", "url_file": "database-url"},
            // A request is answered at once, so that its provision can be killed in flight.
            "server": {"reconcile_interval_seconds": 1, "leader_lease_seconds": 3,
                "accept_wait_seconds": 0},
            "logging": {"level": "debug"}
        }),
        templates,
        plugin,
        vec![("AWS_EC2_METADATA_DISABLED".into(), "true".into())],
    );
    std::fs::write(site.path().join("conf/database-url"), database.url()).unwrap();
    let server = Server::start_on_host(&site, host);
    (site, server)
}

/// Whether `server` says it leads.
fn leads(server: &Server) -> bool {
    let (code, ready) = server.get("/readyz");
    assert_eq!(code, 200, "{ready}");
    ready["leader"]
        .as_bool()
        .expect("readyz says whether it leads")
}

/// The index of the one leader among `replicas`, once there is exactly one.
fn leader(replicas: &[(HfSite, Server)]) -> usize {
    eventually("one leader", Duration::from_secs(10), || {
        replicas.iter().filter(|(_, s)| leads(s)).count() == 1
    });
    replicas.iter().position(|(_, s)| leads(s)).unwrap()
}

/// Kills the leader `leader` with SIGKILL and returns the replicas left, once one of them leads:
/// within the lease and its renewal.
fn kill(mut replicas: Vec<(HfSite, Server)>, leader: usize) -> Vec<(HfSite, Server)> {
    let (_site, killed) = replicas.remove(leader);
    let killed_at = Instant::now();
    killed.kill();
    self::leader(&replicas);
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    replicas
}

/// Polls until `done` holds, at most `limit`.
fn eventually(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} never happened");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Accepts a request of `count` machines of `template` on `server`; its id.
fn accept(server: &Server, template: &str, count: u32) -> String {
    let (code, accepted) = server.post(
        "/api/v1/machines/request",
        json!({"templateId": template, "machineCount": count}),
    );
    assert_eq!(code, 202, "{accepted}");
    accepted["requestId"].as_str().unwrap().to_owned()
}

#[test]
fn replicas_share_one_leader_and_the_next_finishes_what_a_killed_one_was_provisioning() {
    let database = Database::create();
    let cloud = tempfile::tempdir().unwrap();
    let cloud = cloud.path().join("cloud.json");
    // Provisioning takes 2 s, so that a replica can be killed in the middle of it. Each replica
    // is a host of its own, so a dead one is known by its lapsed liveness lease alone.
    let instance = json!({"name": "mockinst", "type": "mock",
        "config": {"state_file": cloud, "latency_ms": 2000, "pending_seconds": 0.5}});
    let replicas: Vec<(HfSite, Server)> = (0..3)
        .map(|i| {
            let host = format!("replica-{i}");
            replica(
                &database,
                &host,
                instance.clone(),
                templates(),
                &mock_plugin(),
            )
        })
        .collect();
    let leader = leader(&replicas);
    let page = replicas[leader].1.text("/metrics");
    assert!(page.contains("\norb_leader 1\n"), "{page}");
    assert!(page.contains("orb_database_latency_seconds "), "{page}");

    // Requests accepted by every replica complete: the leader refreshes them all.
    let ids: Vec<String> = replicas.iter().map(|(_, s)| accept(s, "Open", 1)).collect();
    let other = (leader + 1) % replicas.len();
    for id in &ids {
        let done = replicas[other].1.settle(id);
        assert_eq!(done["status"], "complete", "{done}");
    }

    // The leader accepts a request and is killed while its provider is still provisioning;
    // another replica leads within the lease and finishes the request.
    let id = accept(&replicas[leader].1, "Open", 2);
    std::thread::sleep(Duration::from_millis(500));
    let replicas = kill(replicas, leader);
    let done = replicas[0].1.settle(&id);
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["machines"].as_array().unwrap().len(), 2, "{done}");
    // Nothing was launched twice: the cloud holds the machines of the requests, no more.
    let cloud: Value = serde_json::from_str(&std::fs::read_to_string(&cloud).unwrap()).unwrap();
    let launched = cloud["machines"].as_object().map(|m| m.len()).unwrap_or(0);
    assert_eq!(launched, 3 + 2, "{cloud}");
}

#[test]
fn a_leader_killed_while_its_auto_scaling_group_is_being_made_on_moto_is_finished_once() {
    let database = Database::create();
    let moto = Moto::start();
    // The first CreateAutoScalingGroup is held in flight: its launch template is made, the
    // group not yet.
    let proxy = HoldingProxy::start(&moto.endpoint, "CreateAutoScalingGroup");
    let mut config = moto.provider_config();
    config["endpoint_url"] = json!(proxy.endpoint);
    let instance = json!({"name": "mockinst", "type": "aws", "config": config});
    let s = &moto.seed;
    let templates = json!({"templates": [{"templateId": "Group", "providerApi": "ASG",
        "maxNumber": -1, "vmType": "t3.medium", "imageId": s["image_parameter"],
        "subnetIds": s["subnets"], "securityGroupIds": [s["security_group"]]}]});
    let replicas: Vec<(HfSite, Server)> = (0..2)
        .map(|i| {
            let host = format!("replica-{i}");
            replica(
                &database,
                &host,
                instance.clone(),
                templates.clone(),
                &aws_plugin(),
            )
        })
        .collect();
    let leader = leader(&replicas);
    let id = accept(&replicas[leader].1, "Group", 2);
    assert!(
        proxy.wait_until_held(Duration::from_secs(20)),
        "the leader never asked for its group: {}",
        replicas[leader].0.log()
    );
    let replicas = kill(replicas, leader);
    // The call reaches the cloud after its caller died: the group exists, its answer is lost.
    proxy.release();

    let done = replicas[0].1.settle(&id);
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["machines"].as_array().unwrap().len(), 2, "{done}");
    let cloud = moto.python(&repo_root().join("scripts/moto-inspect.py"), &[]);
    assert_eq!(cloud["groups"], json!([format!("orb-{id}")]), "{cloud}");
    assert_eq!(
        cloud["launch_templates"].as_array().map(Vec::len),
        Some(1),
        "{cloud}"
    );
    let running = cloud["instances"]
        .as_object()
        .unwrap()
        .values()
        .filter(|state| *state != "terminated")
        .count();
    assert_eq!(running, 2, "{cloud}");
}

fn status(site: &HfSite, script: &str, id: &str) -> Value {
    site.call(script, &json!({"requests": [{"requestId": id}]}))
        .expect_code(0)
        .json()["requests"][0]
        .clone()
}

fn settle(site: &HfSite, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let s = status(site, "getRequestStatus", id);
        if s["status"] != "running" {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never settled: {s}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn host_factory_on_two_hosts_shares_one_postgresql_database() {
    let database = Database::create();
    let cloud = tempfile::tempdir().unwrap();
    let cloud = cloud.path().join("cloud.json");
    let (a, b) = (host(&database, &cloud), host(&database, &cloud));

    // Asked on one host, followed and returned on the other.
    let id = a
        .call(
            "requestMachines",
            &json!({"template": {"templateId": "Open", "machineCount": 3}}),
        )
        .expect_code(0)
        .json()["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = settle(&b, &id);
    assert_eq!(done["status"], "complete", "{done}");
    let machines: Vec<Value> = done["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"name": m["name"], "machineId": m["machineId"]}))
        .collect();
    assert_eq!(machines.len(), 3, "{done}");
    let ret = b
        .call("requestReturnMachines", &json!({"machines": machines}))
        .expect_code(0)
        .json()["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = settle(&a, &ret);
    assert_eq!(gone["status"], "complete", "{gone}");
    // The state is the database's alone: there is no SQLite file on either host.
    for site in [&a, &b] {
        assert!(!site.path().join("work/orb.db").exists());
    }

    // A template's cap holds across hosts: six calls at once, three on each host, each for 2
    // of a cap of 4.
    let children: Vec<_> = (0..6)
        .map(|i| {
            let site = if i % 2 == 0 { &a } else { &b };
            site.spawn(
                "requestMachines",
                &json!({"template": {"templateId": "Capped", "machineCount": 2}}),
            )
        })
        .collect();
    let mut accepted = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if out.status.success() && answer["requestId"].is_string() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 2, "4 machines of 2 each, across both hosts");
}

#[test]
fn a_password_in_the_storage_url_is_never_shown() {
    let database = Database::create();
    let cloud = tempfile::tempdir().unwrap();
    let site = host(&database, &cloud.path().join("cloud.json"));
    let url = database.url();
    let password = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|user| user.split(':').nth(1))
        .expect("the test server's URL holds a password")
        .to_owned();
    let mut config: Value = serde_json::from_str(
        &std::fs::read_to_string(site.path().join("conf/config.json")).unwrap(),
    )
    .unwrap();
    config["storage"] = json!({"type": "postgresql", "url": url});
    std::fs::write(site.path().join("conf/config.json"), config.to_string()).unwrap();
    let shown = site.orb(&["config", "show"]);
    let out = format!("{}{}", shown.stdout, shown.stderr);
    assert!(out.contains("postgresql://orb:********@127.0.0.1"), "{out}");
    assert!(!out.contains(&password), "{out}");
    // A call works, and neither its output nor the log names the password.
    let listed = site.call_args("getAvailableTemplates", &[]);
    listed.expect_code(0);
    assert!(!listed.stdout.contains(&password));
    assert!(!site.log().contains(&password), "{}", site.log());
}
