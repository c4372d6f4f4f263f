//! The Python ORB 1.8.5's SQLite store (its `database.db`): tables `requests` and `machines`,
//! one column per field of the JSON store's records, lists and maps kept as JSON text. Each
//! row is read as the JSON store's record would be, so both stores map to orb's rows alike.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::de::DeserializeOwned;

use super::orb_json::OrbState;
use super::MigrateError;

/// Columns that hold a JSON list or map as text.
const JSON_COLUMNS: [&str; 3] = ["resource_ids", "machine_ids", "tags"];

/// Reads ORB's SQLite store at `path`, opened read-only: ORB's file is never changed.
pub fn read(path: &Path) -> Result<OrbState, MigrateError> {
    let fail = |e: rusqlite::Error| MigrateError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    };
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    for table in ["requests", "machines"] {
        let found: bool = db
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |row| row.get(0),
            )
            .map_err(fail)?;
        if !found {
            return Err(MigrateError::NotAStore(format!(
                "{} is a SQLite database without a '{table}' table: not the Python ORB's SQL store",
                path.display()
            )));
        }
    }
    Ok(OrbState {
        requests: rows(&db, "requests", "request_id").map_err(fail)?,
        machines: rows(&db, "machines", "machine_id").map_err(fail)?,
    })
}

/// Every row of `table` as a record, or its `id` column and why it does not read as one.
fn rows<T: DeserializeOwned>(
    db: &Connection,
    table: &str,
    id: &str,
) -> rusqlite::Result<Vec<Result<T, (String, String)>>> {
    let mut select = db.prepare(&format!("SELECT * FROM {table}"))?;
    let names: Vec<String> = select
        .column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut found = Vec::new();
    let mut cursor = select.query([])?;
    while let Some(row) = cursor.next()? {
        let mut record = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            record.insert(name.clone(), value_of(name, row.get_ref(i)?));
        }
        let key = record
            .get(id)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        found.push(
            serde_json::from_value(serde_json::Value::Object(record))
                .map_err(|e| (key, e.to_string())),
        );
    }
    Ok(found)
}

/// A column's value as the JSON store holds it.
fn value_of(column: &str, value: ValueRef<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            let text = String::from_utf8_lossy(t);
            match JSON_COLUMNS.contains(&column) {
                // Text that is not JSON stays text, and the record says why it does not read.
                true => serde_json::from_str(&text).unwrap_or_else(|_| Value::from(text)),
                false => Value::from(text),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_as_the_json_stores_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("database.db");
        let db = Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE requests (request_id TEXT, machine_ids TEXT, requested_count INTEGER);
             CREATE TABLE machines (machine_id TEXT, tags TEXT, launch_time BIGINT);
             INSERT INTO requests VALUES ('req-1', '[\"i-1\"]', 2), ('req-2', 'i-2', 1);
             INSERT INTO machines VALUES ('i-1', '{\"a\": \"b\"}', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        let state = read(&path).unwrap();
        let first = state.requests[0].as_ref().unwrap();
        assert_eq!(first.machine_ids, ["i-1"]);
        assert_eq!(first.requested_count, Some(2));
        // A list that is not JSON: that record is refused with why, the others read.
        let (id, why) = state.requests[1].as_ref().unwrap_err();
        assert_eq!(id, "req-2");
        assert!(
            why.contains("machine_ids") || why.contains("sequence"),
            "{why}"
        );
        let machine = state.machines[0].as_ref().unwrap();
        assert_eq!(machine.tags["a"], "b");
        assert_eq!(machine.launch_time, Some("2026-01-01T00:00:00Z".into()));
    }

    #[test]
    fn a_database_without_orbs_tables_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE requests (x TEXT)")
            .unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            err.to_string().contains("without a 'machines' table"),
            "{err}"
        );
    }
}
