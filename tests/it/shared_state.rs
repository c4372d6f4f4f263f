//! State on PostgreSQL shared by Host Factory scripts on two "hosts": two sites, each with its
//! own work directory and configuration, one database and one (mock) cloud.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::HfSite;

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
    // The other host's state file holds nothing: there is no SQLite database on either host.
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
