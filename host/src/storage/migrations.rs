//! Schema migrations, versioned in `host/migrations/` and tracked in SQLite's `user_version`.

use rusqlite::{Connection, TransactionBehavior};

/// Every migration, in order; the schema version is the number applied.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "0002_machine_tags",
        include_str!("../../migrations/0002_machine_tags.sql"),
    ),
    (
        "0003_cancelled_phase",
        include_str!("../../migrations/0003_cancelled_phase.sql"),
    ),
    (
        "0004_resume_attempts",
        include_str!("../../migrations/0004_resume_attempts.sql"),
    ),
    (
        "0005_instance_types",
        include_str!("../../migrations/0005_instance_types.sql"),
    ),
    (
        "0006_leases",
        include_str!("../../migrations/0006_leases.sql"),
    ),
    (
        "0007_request_versions",
        include_str!("../../migrations/0007_request_versions.sql"),
    ),
    (
        "0008_events",
        include_str!("../../migrations/0008_events.sql"),
    ),
    (
        "0009_machine_zone",
        include_str!("../../migrations/0009_machine_zone.sql"),
    ),
    (
        "0010_routing",
        include_str!("../../migrations/0010_routing.sql"),
    ),
    (
        "0011_placements",
        include_str!("../../migrations/0011_placements.sql"),
    ),
];

/// The schema version this orb writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date, in one immediate transaction so that concurrent processes
/// migrate once. Refuses a database from a newer orb.
///
/// Foreign keys are off while migrations run (SQLite's way to rebuild a table others
/// reference) and checked before the commit.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if current == latest_version() {
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(|e| e.to_string())?;
    let migrated = run(conn);
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| e.to_string())?;
    migrated
}

fn run(conn: &mut Connection) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if current > latest_version() {
        return Err(format!(
            "its schema version is {current}, newer than this orb's {}; upgrade orb",
            latest_version()
        ));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {name} failed: {e}"))?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(|e| e.to_string())?;
    }
    let broken: i64 = tx
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    if broken > 0 {
        return Err(format!(
            "the migrated database has {broken} broken references; it was left unchanged"
        ));
    }
    tx.commit().map_err(|e| e.to_string())
}
