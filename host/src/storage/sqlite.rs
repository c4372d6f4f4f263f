//! The SQLite store.
//!
//! Many `orb` processes use one database at once (Host Factory runs a process per call), so:
//! WAL journaling (readers never wait for the writer), a generous busy timeout, and every
//! write in a `BEGIN IMMEDIATE` transaction (a write lock taken up front, so two processes
//! never deadlock upgrading read locks, which SQLite would answer with "database is locked").
//! `synchronous = FULL` makes every committed transaction survive a crash.
//!
//! One process (`orb serve`) also reads from many tasks at once: a read that finds the main
//! connection busy takes one of a few reader connections, opened the first time one is needed
//! (a Host Factory call never opens one), so reads do not queue behind each other or a write.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use orb_plugin_api::InstanceTypeInfo;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};

use super::conditions::{self, Conditions};
use super::migrations::migrate;
use super::rows::{
    self, in_use, may_bring, placements_text, purgeable, resource_ids_text, tags_text, MachineRow,
    RequestRow, MACHINE_COLUMNS, REQUEST_COLUMNS,
};
use super::{
    cancellation, lease_step, refused_write, Admission, Cancellation, ChangeEvent, Lease,
    MachineFilter, RequestFilter, Store, StoreError,
};
use crate::domain::{Circuit, MachineRecord, Phase, Request, ReturnItem};

/// How many reader connections a store may open beside its main one.
const READERS: usize = 4;

/// How long a process waits for another's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the database at `path`, in WAL mode (switched only when it is not yet, which
/// needs a lock), waiting up to [`BUSY_TIMEOUT`] for locks.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // The busy timeout first: switching to WAL itself needs a lock.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Whether `e` is a lock held by another connection.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A SQLite database holding orb's state.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Connections for reads that find `conn` busy, each opened when first needed.
    readers: [OnceLock<Mutex<Connection>>; READERS],
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let fail = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        // Opening can meet a lock that the busy timeout does not wait for (another process
        // recovering the journal of one that was killed): it is tried again, within the same
        // bound.
        let started = std::time::Instant::now();
        let mut conn = loop {
            match connect(path) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10 + fastrand::u64(..40)));
                }
                other => break other.map_err(|e| fail(e.to_string()))?,
            }
        };
        migrate(&mut conn).map_err(fail)?;
        tracing::debug!(path = %path.display(), "state store opened");
        Ok(SqliteStore {
            path: path.to_owned(),
            conn: Mutex::new(conn),
            readers: Default::default(),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Database("the connection lock was poisoned".into()))?;
        f(&mut conn)
    }

    /// Runs a read on the main connection when it is free, else on a free reader connection
    /// (opening one if fewer are open than [`READERS`]), else waits for a reader: readers only
    /// read, which in WAL mode never waits for a writer, so no read queues behind a write.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Ok(conn) = self.conn.try_lock() {
            return f(&conn);
        }
        let mut opened = None;
        for slot in &self.readers {
            let reader = match slot.get() {
                Some(reader) => reader,
                None => match connect(&self.path) {
                    Ok(conn) => slot.get_or_init(|| Mutex::new(conn)),
                    Err(e) => {
                        tracing::debug!(error = %e, "no further reader connection");
                        break;
                    }
                },
            };
            if let Ok(conn) = reader.try_lock() {
                return f(&conn);
            }
            opened.get_or_insert(reader);
        }
        match opened {
            Some(reader) => {
                let conn = reader.lock().map_err(|_| {
                    StoreError::Database("a reader connection's lock was poisoned".into())
                })?;
                f(&conn)
            }
            None => self.with(|conn| f(conn)),
        }
    }

    /// The first row `sql` (with one text parameter) returns, if any.
    fn query_one<T>(
        &self,
        sql: &str,
        param: &str,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(sql)?
                .query_row([param], map)
                .optional()?)
        })
    }

    /// How many rows of `table` meet `query`.
    fn count(&self, table: &str, query: &Conditions) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table} {}", query.clause());
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(&query.values), |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// The query of one request by its id (`?1`).
fn request_by_id() -> String {
    format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE request_id = ?1")
}

/// A row that does not decode, as rusqlite reports a bad value.
fn corrupt(reason: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, reason.into())
}

fn request_from_row(row: &Row<'_>) -> rusqlite::Result<Request> {
    RequestRow {
        request_id: row.get(0)?,
        kind: row.get(1)?,
        provider_instance: row.get(2)?,
        provider_type: row.get(3)?,
        template_id: row.get(4)?,
        provider_api: row.get(5)?,
        requested: row.get(6)?,
        status: row.get(7)?,
        phase: row.get(8)?,
        message: row.get(9)?,
        unfulfilled: row.get(10)?,
        resource_ids: row.get(11)?,
        template: row.get(12)?,
        owner: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        deadline_at: row.get(16)?,
        attempts: row.get(17)?,
        placements: row.get(19)?,
        version: row.get(18)?,
    }
    .decode()
    .map_err(corrupt)
}

fn machine_from_row(row: &Row<'_>) -> rusqlite::Result<MachineRecord> {
    MachineRow {
        machine_id: row.get(0)?,
        request_id: row.get(1)?,
        return_request_id: row.get(2)?,
        provider_instance: row.get(3)?,
        template_id: row.get(4)?,
        name: row.get(5)?,
        state: row.get(6)?,
        private_ip: row.get(7)?,
        public_ip: row.get(8)?,
        launch_time: row.get(9)?,
        instance_type: row.get(10)?,
        price_type: row.get(11)?,
        resource_id: row.get(12)?,
        message: row.get(13)?,
        reclaim_notice_at: row.get(14)?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
        tags: row.get(17)?,
        zone: row.get(18)?,
    }
    .decode()
    .map_err(corrupt)
}

fn write_request(
    tx: &rusqlite::Transaction<'_>,
    r: &mut Request,
    insert: bool,
) -> Result<(), StoreError> {
    let resource_ids = resource_ids_text(r);
    let changed = if insert {
        tx.execute(
            &format!(
                "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
                 ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ),
            params![
                r.request_id,
                r.kind.as_str(),
                r.provider_instance,
                r.provider_type,
                r.template_id,
                r.provider_api,
                r.requested,
                r.status.as_str(),
                r.phase.as_str(),
                r.message,
                r.unfulfilled,
                resource_ids,
                r.template.as_ref().map(|t| t.to_string()),
                r.owner,
                r.created_at,
                r.updated_at,
                r.deadline_at,
                r.attempts,
                r.version,
                placements_text(r),
            ],
        )?
    } else {
        // Only what a step changes is written: what a request is (kind, provider, template,
        // size, times, attempts) never changes after the insert, so a writer holding an older
        // copy cannot undo another's change to it. A cancelled request is only rewritten as
        // cancelled, and a row another process wrote since the copy was read not at all.
        tx.execute(
            "UPDATE requests SET status = ?2, phase = ?3, message = ?4, unfulfilled = ?5, \
             resource_ids = ?6, owner = ?7, updated_at = ?8, placements = ?10, \
             version = version + 1 \
             WHERE request_id = ?1 AND version = ?9 \
             AND (phase != 'cancelled' OR ?3 = 'cancelled')",
            params![
                r.request_id,
                r.status.as_str(),
                r.phase.as_str(),
                r.message,
                r.unfulfilled,
                resource_ids,
                r.owner,
                r.updated_at,
                r.version,
                placements_text(r),
            ],
        )?
    };
    if changed == 0 {
        let stored: Option<String> = tx
            .query_row(
                "SELECT phase FROM requests WHERE request_id = ?1",
                [&r.request_id],
                |row| row.get(0),
            )
            .optional()?;
        return Err(refused_write(&r.request_id, stored.as_deref(), r.phase));
    }
    if !insert {
        r.version += 1;
    }
    Ok(())
}

/// Inserts machines, or takes what was observed of those already stored. What orb decided
/// about a machine (the request that made it, the return that claims it, its provider
/// instance and template, when orb first saw it) is never rewritten here: a status refresh
/// that read a machine before a return claimed it cannot erase the claim. An observation older
/// than the stored one is ignored.
fn write_machines(
    tx: &rusqlite::Transaction<'_>,
    machines: &[MachineRecord],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO machines ({MACHINE_COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (machine_id) DO UPDATE SET name = COALESCE(excluded.name, name), \
         state = excluded.state, private_ip = excluded.private_ip, \
         public_ip = excluded.public_ip, launch_time = excluded.launch_time, \
         instance_type = excluded.instance_type, price_type = excluded.price_type, \
         resource_id = COALESCE(excluded.resource_id, resource_id), \
         message = excluded.message, reclaim_notice_at = excluded.reclaim_notice_at, \
         tags = excluded.tags, zone = COALESCE(excluded.zone, zone), \
         updated_at = excluded.updated_at \
         WHERE excluded.updated_at >= machines.updated_at"
    ))?;
    for m in machines {
        stmt.execute(params![
            m.machine_id,
            m.request_id,
            m.return_request_id,
            m.provider_instance,
            m.template_id,
            m.name,
            m.state.as_str(),
            m.private_ip,
            m.public_ip,
            m.launch_time,
            m.instance_type,
            m.price_type,
            m.resource_id,
            m.message,
            m.reclaim_notice_at,
            m.created_at,
            m.updated_at,
            tags_text(m),
            m.zone,
        ])?;
    }
    Ok(())
}

/// Machines in use of requests that bring no more, plus for every request of the template that
/// may still bring machines what it may bring: what it asked less what the provider said it
/// cannot provide, or the machines it has in use, whichever is more. So the cloud never holds
/// more live machines of a template than its cap.
const TEMPLATE_USE: &str = concat!(
    "SELECT (SELECT COUNT(*) FROM machines m JOIN requests r ON r.request_id = m.request_id \
      WHERE m.template_id = ?1 AND ",
    in_use!(),
    " AND NOT ",
    may_bring!(),
    ") + (SELECT COALESCE(SUM(MAX(r.requested - r.unfulfilled, \
      (SELECT COUNT(*) FROM machines m WHERE m.request_id = r.request_id AND ",
    in_use!(),
    "))), 0) FROM requests r WHERE r.template_id = ?1 AND r.kind = 'acquire' AND ",
    may_bring!(),
    ")"
);

/// SQLite's placeholder `n`.
fn placeholder(n: usize) -> String {
    format!("?{n}")
}

/// The query of [`Store::list_requests`], and its values.
fn requests_listing(filter: &RequestFilter) -> (String, Conditions) {
    let query = conditions::of_requests(filter, placeholder);
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests {} ORDER BY created_at DESC, request_id \
         LIMIT {} OFFSET {}",
        query.clause(),
        filter.limit.map(i64::from).unwrap_or(-1),
        filter.offset
    );
    (sql, query)
}

/// How much of a template's cap is used (see [`TEMPLATE_USE`]).
fn template_use(conn: &Connection, template_id: &str) -> Result<u64, StoreError> {
    let in_use: i64 = conn.query_row(TEMPLATE_USE, [template_id], |r| r.get(0))?;
    Ok(in_use.max(0) as u64)
}

/// A machine is claimed by a return unless it is gone or another return holds it; a return
/// whose termination of it failed lets it go.
const CLAIM: &str = "UPDATE machines SET return_request_id = ?1, updated_at = ?3 \
    WHERE machine_id = ?2 AND state NOT IN ('terminated', 'failed') \
    AND (return_request_id IS NULL OR EXISTS (SELECT 1 FROM return_items i \
      WHERE i.return_request_id = machines.return_request_id \
      AND i.machine_id = machines.machine_id AND i.error IS NOT NULL))";

impl Store for SqliteStore {
    fn insert_request(
        &self,
        request: &Request,
        max_number: Option<u64>,
    ) -> Result<Admission, StoreError> {
        self.write(|tx| {
            if let (Some(_), Some(template_id)) = (max_number, &request.template_id) {
                let in_use = template_use(tx, template_id)?;
                if !super::admits(max_number, in_use, request.requested) {
                    return Ok(Admission::Full { in_use });
                }
            }
            write_request(tx, &mut request.clone(), true)?;
            Ok(Admission::Stored)
        })
    }

    fn take_over(
        &self,
        request_id: &str,
        seen_owner: Option<&str>,
        seen_phase: Phase,
        owner: &str,
        now: i64,
    ) -> Result<Option<Request>, StoreError> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE requests SET owner = ?3, updated_at = ?4, attempts = attempts + 1, \
                 version = version + 1 \
                 WHERE request_id = ?1 AND owner IS ?2 AND phase = ?5",
                params![request_id, seen_owner, owner, now, seen_phase.as_str()],
            )?;
            if changed == 0 {
                return Ok(None);
            }
            Ok(tx
                .query_row(&request_by_id(), [request_id], request_from_row)
                .optional()?)
        })
    }

    fn update_request(&self, request: &mut Request) -> Result<(), StoreError> {
        self.write(|tx| write_request(tx, request, false))
    }

    fn cancel_request(
        &self,
        request_id: &str,
        message: &str,
        releaser: &str,
        now: i64,
    ) -> Result<Cancellation, StoreError> {
        self.write(|tx| {
            let stored = tx
                .query_row(&request_by_id(), [request_id], request_from_row)
                .optional()?;
            let Some(request) = stored else {
                return Ok(Cancellation::Unknown);
            };
            let mut answer = cancellation(request, message, releaser, now);
            if let Some(changed) = answer.written_mut() {
                write_request(tx, changed, false)?;
            }
            Ok(answer.into())
        })
    }

    fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError> {
        self.query_one(&request_by_id(), request_id, request_from_row)
    }

    fn template_use(&self, template_id: &str) -> Result<u64, StoreError> {
        self.read(|conn| template_use(conn, template_id))
    }

    fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError> {
        let (sql, query) = requests_listing(filter);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(&query.values), request_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError> {
        self.count("requests", &conditions::of_requests(filter, placeholder))
    }

    fn save_progress(
        &self,
        request: &mut Request,
        machines: &[MachineRecord],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            write_machines(tx, machines)?;
            write_request(tx, request, false)
        })
    }

    fn upsert_machines(&self, machines: &[MachineRecord]) -> Result<(), StoreError> {
        self.write(|tx| write_machines(tx, machines))
    }

    fn get_machine(&self, machine_id: &str) -> Result<Option<MachineRecord>, StoreError> {
        self.query_one(
            &format!("SELECT {MACHINE_COLUMNS} FROM machines WHERE machine_id = ?1"),
            machine_id,
            machine_from_row,
        )
    }

    fn find_machine_by_name(&self, name: &str) -> Result<Option<MachineRecord>, StoreError> {
        self.query_one(
            &format!(
                "SELECT {MACHINE_COLUMNS} FROM machines WHERE name = ?1 \
                 ORDER BY created_at DESC LIMIT 1"
            ),
            name,
            machine_from_row,
        )
    }

    fn machines_of_request(&self, request_id: &str) -> Result<Vec<MachineRecord>, StoreError> {
        self.list_machines(&MachineFilter {
            request_id: Some(request_id.to_owned()),
            ..Default::default()
        })
    }

    fn list_machines(&self, filter: &MachineFilter) -> Result<Vec<MachineRecord>, StoreError> {
        let query = conditions::of_machines(filter, placeholder);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MACHINE_COLUMNS} FROM machines {} \
                 ORDER BY created_at DESC, machine_id LIMIT {} OFFSET {}",
                query.clause(),
                filter.limit.map(i64::from).unwrap_or(-1),
                filter.offset
            ))?;
            let rows = stmt.query_map(params_from_iter(&query.values), machine_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn count_machines(&self, filter: &MachineFilter) -> Result<u64, StoreError> {
        self.count("machines", &conditions::of_machines(filter, placeholder))
    }

    fn insert_return(
        &self,
        request: &Request,
        items: &[ReturnItem],
    ) -> Result<Vec<String>, StoreError> {
        self.write(|tx| {
            write_request(tx, &mut request.clone(), true)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO return_items (return_request_id, position, machine_id, name, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut claim = tx.prepare_cached(CLAIM)?;
            let mut claimed = Vec::new();
            for (position, item) in items.iter().enumerate() {
                insert.execute(params![
                    request.request_id,
                    position as i64,
                    item.machine_id,
                    item.name,
                    item.error
                ])?;
                if let (Some(id), None) = (&item.machine_id, &item.error) {
                    if claim.execute(params![request.request_id, id, request.created_at])? > 0 {
                        claimed.push(id.clone());
                    }
                }
            }
            Ok(claimed)
        })
    }

    fn submit_return(
        &self,
        return_request_id: &str,
        terminating: &[String],
        errors: &[(String, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut shutting_down = tx.prepare_cached(
                "UPDATE machines SET state = 'shutting-down', updated_at = ?3 \
                 WHERE machine_id = ?2 AND return_request_id = ?1 \
                 AND state NOT IN ('terminated', 'failed', 'shutting-down')",
            )?;
            for id in terminating {
                shutting_down.execute(params![return_request_id, id, now])?;
            }
            let mut error = tx.prepare_cached(
                "UPDATE return_items SET error = ?3 WHERE return_request_id = ?1 AND machine_id = ?2",
            )?;
            for (machine_id, why) in errors {
                error.execute(params![return_request_id, machine_id, why])?;
            }
            tx.execute(
                "UPDATE requests SET phase = 'submitted', owner = NULL, updated_at = ?2, \
                 version = version + 1 \
                 WHERE request_id = ?1 AND phase = 'accepted'",
                params![return_request_id, now],
            )?;
            Ok(())
        })
    }

    fn return_items(&self, return_request_id: &str) -> Result<Vec<ReturnItem>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT return_request_id, machine_id, name, error FROM return_items \
                 WHERE return_request_id = ?1 ORDER BY position",
            )?;
            let rows = stmt.query_map([return_request_id], |row| {
                Ok(ReturnItem {
                    return_request_id: row.get(0)?,
                    machine_id: row.get(1)?,
                    name: row.get(2)?,
                    error: row.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn purge_request(&self, request_id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let purgeable = tx
                .query_row(
                    concat!(
                        "SELECT 1 FROM requests AS r WHERE r.request_id = ?1 AND ",
                        purgeable!()
                    ),
                    [request_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if purgeable {
                for statement in rows::PURGE_REQUEST {
                    tx.execute(&statement.replace("{id}", "?1"), [request_id])?;
                }
            }
            Ok(purgeable)
        })
    }

    fn purge_machine(&self, machine_id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            let sql = format!(
                "DELETE FROM machines WHERE machine_id = ?1 AND {}",
                rows::PURGEABLE_MACHINE
            );
            Ok(tx.execute(&sql, [machine_id])? > 0)
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEvent>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(rows::EVENTS_AFTER_SQLITE)?;
            let rows = stmt.query_map(params![after, i64::from(limit)], |r| {
                Ok(ChangeEvent {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    id: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn event_bounds(&self) -> Result<(i64, i64), StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(rows::EVENT_BOUNDS)?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })
    }

    fn request_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT kind, status, COUNT(*) FROM requests GROUP BY kind, status ORDER BY kind, status",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn machine_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(rows::MACHINE_COUNTS)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn machines_alive_at(&self, times: &[i64]) -> Result<Vec<u64>, StoreError> {
        let times = &times[..times.len().min(rows::MAX_TIMES)];
        if times.is_empty() {
            return Ok(Vec::new());
        }
        let sql = rows::alive_at(times.len(), |i| format!("?{}", i + 1));
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            Ok(stmt.query_row(params_from_iter(times), |r| {
                (0..times.len()).map(|i| r.get::<_, u64>(i)).collect()
            })?)
        })
    }

    fn instance_types(
        &self,
        provider_instance: &str,
        names: &[String],
        since: i64,
    ) -> Result<Vec<InstanceTypeInfo>, StoreError> {
        let names =
            serde_json::to_string(names).map_err(|e| StoreError::Database(e.to_string()))?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT info FROM instance_types WHERE provider_instance = ?1 \
                 AND name IN (SELECT value FROM json_each(?2)) AND fetched_at >= ?3",
            )?;
            let rows = stmt.query_map(params![provider_instance, names, since], |r| {
                r.get::<_, String>(0)
            })?;
            let mut found = Vec::new();
            for info in rows {
                // A fact that no longer reads is a fact missing: it is asked for again.
                if let Ok(info) = serde_json::from_str(&info?) {
                    found.push(info);
                }
            }
            Ok(found)
        })
    }

    fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> Result<Lease, StoreError> {
        self.write(|tx| {
            let stored = tx
                .query_row(
                    "SELECT holder, expires_at FROM leases WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (write, lease) = lease_step(stored, holder, now, ttl);
            if write {
                tx.execute(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                     expires_at = excluded.expires_at",
                    params![name, lease.holder, lease.expires_at],
                )?;
            }
            Ok(lease)
        })
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.query_one(
            "SELECT holder, expires_at FROM leases WHERE name = ?1",
            name,
            |r| {
                Ok(Lease {
                    holder: r.get(0)?,
                    expires_at: r.get(1)?,
                    taken_from: None,
                })
            },
        )
    }

    fn record_call(
        &self,
        provider_instance: &str,
        failed: bool,
        now: i64,
        threshold: u32,
    ) -> Result<Circuit, StoreError> {
        self.write(|tx| {
            let stored = tx
                .query_row(
                    "SELECT failures, opened_at FROM circuits WHERE provider_instance = ?1",
                    [provider_instance],
                    |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Option<i64>>(1)?)),
                )
                .optional()?;
            let before = match stored {
                Some((failures, opened_at)) => Circuit {
                    provider_instance: provider_instance.to_owned(),
                    failures,
                    opened_at,
                },
                None => Circuit::closed(provider_instance),
            };
            let after = before.clone().after(failed, now, threshold);
            if after != before {
                tx.execute(
                    "INSERT INTO circuits (provider_instance, failures, opened_at) \
                     VALUES (?1, ?2, ?3) ON CONFLICT (provider_instance) DO UPDATE SET \
                     failures = excluded.failures, opened_at = excluded.opened_at",
                    params![provider_instance, after.failures, after.opened_at],
                )?;
            }
            Ok(after)
        })
    }

    fn circuits(&self) -> Result<Vec<Circuit>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT provider_instance, failures, opened_at FROM circuits \
                 ORDER BY provider_instance",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Circuit {
                    provider_instance: r.get(0)?,
                    failures: r.get(1)?,
                    opened_at: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn next_turn(&self, key: &str) -> Result<u64, StoreError> {
        self.write(|tx| {
            let turn: i64 = tx.query_row(
                "INSERT INTO turns (key, n) VALUES (?1, 1) ON CONFLICT (key) \
                 DO UPDATE SET n = n + 1 RETURNING n - 1",
                [key],
                |r| r.get(0),
            )?;
            Ok(turn as u64)
        })
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                [name, holder],
            )?;
            Ok(())
        })
    }

    fn save_instance_types(
        &self,
        provider_instance: &str,
        types: &[InstanceTypeInfo],
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO instance_types (provider_instance, name, info, fetched_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (provider_instance, name) \
                     DO UPDATE SET info = excluded.info, fetched_at = excluded.fetched_at",
                )?;
                for t in types {
                    let info = serde_json::to_string(t)
                        .map_err(|e| StoreError::Database(e.to_string()))?;
                    stmt.execute(params![provider_instance, t.name, info, now])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RequestStatus;
    use crate::storage::contract::machine;

    #[test]
    fn a_read_does_not_wait_for_a_write_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("orb.db")).unwrap());
        let (holding, held) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .write(|_| {
                        holding.send(()).unwrap();
                        released.recv_timeout(Duration::from_secs(30)).ok();
                        Ok(())
                    })
                    .unwrap()
            })
        };
        held.recv().unwrap();
        // The main connection is in a write: the read goes to a reader connection.
        let (answer, answered) = std::sync::mpsc::channel();
        let reader = {
            let store = store.clone();
            std::thread::spawn(move || {
                answer
                    .send(store.get_request("req-none").unwrap().is_none())
                    .ok()
            })
        };
        let read = answered.recv_timeout(Duration::from_secs(10));
        release.send(()).unwrap();
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(read, Ok(true), "the read waited for the write");
        assert!(store.readers[0].get().is_some());
    }

    #[test]
    fn the_sweeps_of_every_call_read_through_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("orb.db")).unwrap();
        let sweeps = [
            RequestFilter {
                phase: Some(Phase::Cancelled),
                owned: true,
                ..Default::default()
            },
            RequestFilter {
                status: Some(RequestStatus::Running),
                phase: Some(Phase::Accepted),
                ..Default::default()
            },
            RequestFilter {
                status: Some(RequestStatus::Running),
                ..Default::default()
            },
        ];
        for filter in sweeps {
            let (sql, query) = requests_listing(&filter);
            let plan: Vec<String> = store
                .with(|conn| {
                    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = stmt.query_map(params_from_iter(&query.values), |r| r.get(3))?;
                    Ok(rows.collect::<Result<Vec<String>, _>>()?)
                })
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("USING INDEX"))
                    && !plan.iter().any(|step| step.starts_with("SCAN requests")),
                "{filter:?}: {plan:?}"
            );
        }
    }

    #[test]
    fn an_older_database_is_migrated_with_its_rows_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orb.db");
        // A database as orb left it at schema version 2, with a request and its machine.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_initial.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../../migrations/0002_machine_tags.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO requests (request_id, kind, provider_instance, provider_type, \
             requested, status, phase, created_at, updated_at, deadline_at) \
             VALUES ('req-1', 'acquire', 'mock-a', 'mock', 2, 'running', 'accepted', 10, 10, 310); \
             INSERT INTO machines (machine_id, request_id, provider_instance, state, created_at, \
             updated_at) VALUES ('m-1', 'req-1', 'mock-a', 'running', 11, 11);",
        )
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.machines_of_request("req-1").unwrap().len(), 1);
        assert!(matches!(
            store.cancel_request("req-1", "cancelled", "host:9", 20).unwrap(),
            // The old row had no owner: the canceller holds it now.
            Cancellation::Taken(r) if r.phase == Phase::Cancelled
        ));
        // References are still enforced on the rebuilt table.
        assert!(store
            .upsert_machines(&[machine("m-2", "req-missing", "host-2")])
            .is_err());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orb.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer than this orb"), "{err}");
    }
}
