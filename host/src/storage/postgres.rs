//! The PostgreSQL store: the state that several hosts share.
//!
//! Every write runs in a `SERIALIZABLE` transaction, retried when PostgreSQL reports that it
//! could not serialize it with another, so that a check and the write it guards (a template's
//! cap, a claim on a machine, a cancellation) hold together across every process on every
//! host, as `BEGIN IMMEDIATE` makes them hold on SQLite.
//!
//! The [`Store`] contract is synchronous, and `tokio-postgres` is not: the store runs its own
//! small runtime, where its pool's connections live, and each call waits for its query there.
//! A call therefore never needs the caller's runtime, and works from the CLI's, the server's,
//! or none.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use orb_plugin_api::InstanceTypeInfo;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row, Transaction};

use super::conditions::{self, Conditions};
use super::postgres_tls::RustlsConnect;
use super::rows::{
    self, in_use, may_bring, placements_text, purgeable, resource_ids_text, tags_text, MachineRow,
    RequestRow, MACHINE_COLUMNS, REQUEST_COLUMNS,
};
use super::{
    cancellation, lease_step, refused_write, Admission, Cancellation, ChangeEvent, Lease,
    MachineFilter, RequestFilter, Store, StoreError,
};
use crate::domain::{Circuit, MachineRecord, Phase, Request, ReturnItem};

/// Every migration of the PostgreSQL schema, in order; the schema version is the number
/// applied.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        "0002_leases",
        include_str!("../../migrations/postgres/0002_leases.sql"),
    ),
    (
        "0003_request_versions",
        include_str!("../../migrations/postgres/0003_request_versions.sql"),
    ),
    (
        "0004_events",
        include_str!("../../migrations/postgres/0004_events.sql"),
    ),
    (
        "0005_machine_zone",
        include_str!("../../migrations/postgres/0005_machine_zone.sql"),
    ),
    (
        "0006_routing",
        include_str!("../../migrations/postgres/0006_routing.sql"),
    ),
    (
        "0007_placements",
        include_str!("../../migrations/postgres/0007_placements.sql"),
    ),
];

/// The advisory lock that one migrating process holds (the bytes of "orb-migr").
const MIGRATION_LOCK: i64 = 0x6f72_622d_6d69_6772;

/// How many times a write is tried when PostgreSQL could not serialize it.
const WRITE_ATTEMPTS: u32 = 30;

/// How long a call waits for a free connection, or a new one, before it fails.
const CONNECTION_WAIT: Duration = Duration::from_secs(30);

/// How a PostgreSQL store connects.
#[derive(Clone)]
pub struct PostgresOptions {
    /// The connection URL (`postgresql://user:password@host:port/database`); a secret.
    pub url: String,
    /// The most connections the store opens.
    pub pool_size: usize,
    /// TLS to the server.
    pub tls: PostgresTls,
}

/// TLS to the database server.
#[derive(Debug, Clone, PartialEq)]
pub enum PostgresTls {
    /// Plain TCP (a server on loopback, or a network that is trusted).
    Disable,
    /// TLS, with the server's certificate and host name verified against `ca_file` (PEM), or
    /// against the system's roots when none is given.
    VerifyFull {
        /// The certificate authorities that may sign the server's certificate.
        ca_file: Option<PathBuf>,
    },
}

/// A PostgreSQL database holding orb's state.
pub struct PostgresStore {
    pool: Pool,
    /// Where the pool's connections run; `None` once dropped.
    runtime: Option<tokio::runtime::Runtime>,
    /// The server and database, for messages (never the password).
    target: String,
}

/// A database error, as the store reports it: the server's own message when it sent one.
fn database(target: &str, e: impl Explain) -> StoreError {
    StoreError::Database(format!("PostgreSQL {target}: {}", e.explain()))
}

/// What went wrong, in the words of whoever knows best.
trait Explain {
    fn explain(&self) -> String;
}

impl Explain for tokio_postgres::Error {
    fn explain(&self) -> String {
        match self.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            None => {
                let mut text = self.to_string();
                let mut source = std::error::Error::source(self);
                while let Some(cause) = source {
                    text = format!("{text}: {cause}");
                    source = cause.source();
                }
                text
            }
        }
    }
}

impl Explain for deadpool_postgres::PoolError {
    fn explain(&self) -> String {
        match self {
            deadpool_postgres::PoolError::Backend(e) => e.explain(),
            deadpool_postgres::PoolError::Timeout(_) => format!(
                "no connection within {} s: is the server up, and storage.pool_size large enough?",
                CONNECTION_WAIT.as_secs()
            ),
            other => other.to_string(),
        }
    }
}

/// Whether a failed transaction may succeed when tried again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// What a transaction's body failed with: the database, or the store's contract.
enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Runs `$body` (which may use `?` on database and store errors) in a serializable
/// transaction on a connection of `$pool` bound to `$tx`, tried again while PostgreSQL cannot
/// serialize it with another, up to [`WRITE_ATTEMPTS`] times.
macro_rules! serializable {
    ($store:expr, |$tx:ident| $body:block) => {{
        let target = $store.target.clone();
        let pool = $store.pool.clone();
        async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut client = pool.get().await.map_err(|e| database(&target, e))?;
                let $tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::Serializable)
                    .start()
                    .await
                    .map_err(|e| database(&target, e))?;
                let out: Result<_, Failure> = async { $body }.await;
                let out = match out {
                    Ok(value) => $tx.commit().await.map(|()| value).map_err(Failure::Db),
                    Err(e) => Err(e),
                };
                match out {
                    Ok(value) => return Ok(value),
                    Err(Failure::Db(e)) if retryable(&e) && attempt < WRITE_ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(
                            u64::from(attempt) + fastrand::u64(..10),
                        ))
                        .await;
                    }
                    Err(Failure::Db(e)) => return Err(database(&target, e)),
                    Err(Failure::Store(e)) => return Err(e),
                }
            }
        }
    }};
}

impl PostgresStore {
    /// Connects to the database `options` name and brings its schema up to date, under a lock
    /// so that processes starting together migrate once.
    pub fn open(options: &PostgresOptions) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = options.url.parse().map_err(|e| StoreError::Open {
            path: "storage.url".into(),
            reason: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        let target = describe(&config);
        let fail = |reason: String| StoreError::Open {
            path: target.clone(),
            reason,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("orb-postgres")
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start its runtime: {e}")))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &options.tls {
            PostgresTls::Disable => {
                Manager::from_config(config, tokio_postgres::NoTls, manager_config)
            }
            PostgresTls::VerifyFull { ca_file } => Manager::from_config(
                config,
                RustlsConnect(Arc::new(tls_config(ca_file.as_deref()).map_err(&fail)?)),
                manager_config,
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECTION_WAIT))
            .create_timeout(Some(CONNECTION_WAIT))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let store = PostgresStore {
            pool,
            runtime: Some(runtime),
            target: target.clone(),
        };
        let pool = store.pool.clone();
        store
            .run(async move { migrate(&pool).await })
            .map_err(|e| fail(e.to_string()))?;
        tracing::debug!(database = %target, "state store opened");
        Ok(store)
    }

    /// Runs `call` on the store's runtime and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = answer.send(call.await);
        });
        answered.recv().map_err(|_| {
            StoreError::Database(format!("PostgreSQL {}: the query task failed", self.target))
        })?
    }

    /// The rows `sql` returns with `params`, read on a connection of the pool.
    fn query(&self, sql: String, params: Vec<Param>) -> Result<Vec<Row>, StoreError> {
        let pool = self.pool.clone();
        let target = self.target.clone();
        self.run(async move {
            let client = pool.get().await.map_err(|e| database(&target, e))?;
            let statement = client
                .prepare_cached(&sql)
                .await
                .map_err(|e| database(&target, e))?;
            client
                .query(&statement, &borrowed(&params))
                .await
                .map_err(|e| database(&target, e))
        })
    }
}

impl PostgresStore {
    /// How many rows of `table` meet `query`.
    fn count(&self, table: &str, query: Conditions) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table} {}", query.clause());
        let rows = self.query(sql, bound(query.values))?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(n.max(0) as u64)
    }
}

/// A query parameter the store's runtime may own.
type Param = Box<dyn ToSql + Sync + Send>;

/// `params` as `tokio-postgres` takes them.
fn borrowed(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which a caller's async context forbids.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `user@host:port/database`, for messages: never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or_default(),
        config.get_dbname().unwrap_or_default()
    )
}

/// A TLS client that trusts `ca_file`'s certificates, else the system's roots.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read storage.tls_ca_file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    format!("storage.tls_ca_file {} is not PEM: {e}", path.display())
                })?;
                roots.add(cert).map_err(|e| {
                    format!(
                        "storage.tls_ca_file {} holds a bad certificate: {e}",
                        path.display()
                    )
                })?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(
            "no certificate authority to verify the server with: set storage.tls_ca_file".into(),
        );
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Brings the schema up to date in one transaction holding [`MIGRATION_LOCK`]; refuses a
/// schema from a newer orb. A schema already current costs one read and no lock, as every
/// process but the first finds it.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let fail = |e: tokio_postgres::Error| StoreError::Database(e.explain());
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::Database(e.explain()))?;
    let latest = MIGRATIONS.len() as i64;
    // Fails while no orb has migrated the database yet (no table): the locked path below.
    if let Ok(Some(row)) = client
        .query_opt("SELECT version FROM orb_schema", &[])
        .await
    {
        if row.get::<_, i64>(0) == latest {
            return Ok(());
        }
    }
    let tx = client.transaction().await.map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(fail)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS orb_schema (version BIGINT NOT NULL)")
        .await
        .map_err(fail)?;
    let current: i64 = match tx
        .query_opt("SELECT version FROM orb_schema", &[])
        .await
        .map_err(fail)?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO orb_schema (version) VALUES (0)", &[])
                .await
                .map_err(fail)?;
            0
        }
    };
    if current > latest {
        return Err(StoreError::Database(format!(
            "its schema version is {current}, newer than this orb's {latest}; upgrade orb"
        )));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Database(format!("migration {name} failed: {e}")))?;
        tx.execute("UPDATE orb_schema SET version = $1", &[&(index as i64 + 1)])
            .await
            .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)
}

/// A row that does not read.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("a stored row does not read: {e}"))
}

fn request_from_row(row: &Row) -> Result<Request, StoreError> {
    RequestRow {
        request_id: row.try_get(0).map_err(corrupt)?,
        kind: row.try_get(1).map_err(corrupt)?,
        provider_instance: row.try_get(2).map_err(corrupt)?,
        provider_type: row.try_get(3).map_err(corrupt)?,
        template_id: row.try_get(4).map_err(corrupt)?,
        provider_api: row.try_get(5).map_err(corrupt)?,
        requested: row.try_get(6).map_err(corrupt)?,
        status: row.try_get(7).map_err(corrupt)?,
        phase: row.try_get(8).map_err(corrupt)?,
        message: row.try_get(9).map_err(corrupt)?,
        unfulfilled: row.try_get(10).map_err(corrupt)?,
        resource_ids: row.try_get(11).map_err(corrupt)?,
        template: row.try_get(12).map_err(corrupt)?,
        owner: row.try_get(13).map_err(corrupt)?,
        created_at: row.try_get(14).map_err(corrupt)?,
        updated_at: row.try_get(15).map_err(corrupt)?,
        deadline_at: row.try_get(16).map_err(corrupt)?,
        attempts: row.try_get(17).map_err(corrupt)?,
        version: row.try_get(18).map_err(corrupt)?,
        placements: row.try_get(19).map_err(corrupt)?,
    }
    .decode()
    .map_err(corrupt)
}

fn machine_from_row(row: &Row) -> Result<MachineRecord, StoreError> {
    MachineRow {
        machine_id: row.try_get(0).map_err(corrupt)?,
        request_id: row.try_get(1).map_err(corrupt)?,
        return_request_id: row.try_get(2).map_err(corrupt)?,
        provider_instance: row.try_get(3).map_err(corrupt)?,
        template_id: row.try_get(4).map_err(corrupt)?,
        name: row.try_get(5).map_err(corrupt)?,
        state: row.try_get(6).map_err(corrupt)?,
        private_ip: row.try_get(7).map_err(corrupt)?,
        public_ip: row.try_get(8).map_err(corrupt)?,
        launch_time: row.try_get(9).map_err(corrupt)?,
        instance_type: row.try_get(10).map_err(corrupt)?,
        price_type: row.try_get(11).map_err(corrupt)?,
        resource_id: row.try_get(12).map_err(corrupt)?,
        message: row.try_get(13).map_err(corrupt)?,
        reclaim_notice_at: row.try_get(14).map_err(corrupt)?,
        created_at: row.try_get(15).map_err(corrupt)?,
        updated_at: row.try_get(16).map_err(corrupt)?,
        tags: row.try_get(17).map_err(corrupt)?,
        zone: row.try_get(18).map_err(corrupt)?,
    }
    .decode()
    .map_err(corrupt)
}

/// The rows of `rows` decoded with `decode`.
fn decoded<T>(
    rows: Vec<Row>,
    decode: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

/// What [`Store::insert_request`] counts against a template's cap (SQLite's `TEMPLATE_USE`, in
/// PostgreSQL's words).
const TEMPLATE_USE: &str = concat!(
    "SELECT ((SELECT COUNT(*) FROM machines m JOIN requests r ON r.request_id = m.request_id \
      WHERE m.template_id = $1 AND ",
    in_use!(),
    " AND NOT ",
    may_bring!(),
    ") + (SELECT COALESCE(SUM(GREATEST(r.requested - r.unfulfilled, \
      (SELECT COUNT(*) FROM machines m WHERE m.request_id = r.request_id AND ",
    in_use!(),
    "))), 0) FROM requests r WHERE r.template_id = $1 AND r.kind = 'acquire' AND ",
    may_bring!(),
    "))::BIGINT"
);

/// A machine is claimed by a return unless it is gone or another return holds it; a return
/// whose termination of it failed lets it go.
const CLAIM: &str = "UPDATE machines SET return_request_id = $1, updated_at = $3 \
    WHERE machine_id = $2 AND state NOT IN ('terminated', 'failed') \
    AND (return_request_id IS NULL OR EXISTS (SELECT 1 FROM return_items i \
      WHERE i.return_request_id = machines.return_request_id \
      AND i.machine_id = machines.machine_id AND i.error IS NOT NULL))";

/// The query of one request by its id (`$1`).
fn request_by_id() -> String {
    format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE request_id = $1")
}

async fn write_request(tx: &Transaction<'_>, r: &mut Request, insert: bool) -> Result<(), Failure> {
    let resource_ids = resource_ids_text(r);
    let changed = if insert {
        tx.execute(
            &format!(
                "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
            ),
            &[
                &r.request_id,
                &r.kind.as_str(),
                &r.provider_instance,
                &r.provider_type,
                &r.template_id,
                &r.provider_api,
                &i64::from(r.requested),
                &r.status.as_str(),
                &r.phase.as_str(),
                &r.message,
                &i64::from(r.unfulfilled),
                &resource_ids,
                &r.template.as_ref().map(|t| t.to_string()),
                &r.owner,
                &r.created_at,
                &r.updated_at,
                &r.deadline_at,
                &i64::from(r.attempts),
                &r.version,
                &placements_text(r),
            ],
        )
        .await?
    } else {
        // As on SQLite: only what a step changes, a cancelled request only as cancelled, and a
        // row another process wrote since the copy was read not at all.
        tx.execute(
            "UPDATE requests SET status = $2, phase = $3, message = $4, unfulfilled = $5, \
             resource_ids = $6, owner = $7, updated_at = $8, placements = $10, \
             version = version + 1 \
             WHERE request_id = $1 AND version = $9 \
             AND (phase != 'cancelled' OR $3 = 'cancelled')",
            &[
                &r.request_id,
                &r.status.as_str(),
                &r.phase.as_str(),
                &r.message,
                &i64::from(r.unfulfilled),
                &resource_ids,
                &r.owner,
                &r.updated_at,
                &r.version,
                &placements_text(r),
            ],
        )
        .await?
    };
    if changed == 0 {
        let stored = tx
            .query_opt(
                "SELECT phase FROM requests WHERE request_id = $1",
                &[&r.request_id],
            )
            .await?;
        let stored: Option<String> = stored.map(|row| row.get(0));
        return Err(Failure::Store(refused_write(
            &r.request_id,
            stored.as_deref(),
            r.phase,
        )));
    }
    if !insert {
        r.version += 1;
    }
    Ok(())
}

/// As SQLite's: inserts machines, or takes what was observed of those stored, never what orb
/// decided about them, and never an observation older than the stored one.
async fn write_machines(tx: &Transaction<'_>, machines: &[MachineRecord]) -> Result<(), Failure> {
    if machines.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare(&format!(
            "INSERT INTO machines ({MACHINE_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19) \
             ON CONFLICT (machine_id) DO UPDATE SET \
             name = COALESCE(excluded.name, machines.name), \
             state = excluded.state, private_ip = excluded.private_ip, \
             public_ip = excluded.public_ip, launch_time = excluded.launch_time, \
             instance_type = excluded.instance_type, price_type = excluded.price_type, \
             resource_id = COALESCE(excluded.resource_id, machines.resource_id), \
             message = excluded.message, reclaim_notice_at = excluded.reclaim_notice_at, \
             tags = excluded.tags, zone = COALESCE(excluded.zone, machines.zone), \
             updated_at = excluded.updated_at \
             WHERE excluded.updated_at >= machines.updated_at"
        ))
        .await?;
    for m in machines {
        tx.execute(
            &statement,
            &[
                &m.machine_id,
                &m.request_id,
                &m.return_request_id,
                &m.provider_instance,
                &m.template_id,
                &m.name,
                &m.state.as_str(),
                &m.private_ip,
                &m.public_ip,
                &m.launch_time,
                &m.instance_type,
                &m.price_type,
                &m.resource_id,
                &m.message,
                &m.reclaim_notice_at,
                &m.created_at,
                &m.updated_at,
                &tags_text(m),
                &m.zone,
            ],
        )
        .await?;
    }
    Ok(())
}

/// PostgreSQL's placeholder `n`.
fn placeholder(n: usize) -> String {
    format!("${n}")
}

/// A listing's values, as the driver binds them.
fn bound(values: Vec<String>) -> Vec<Param> {
    values.into_iter().map(|v| Box::new(v) as Param).collect()
}

/// `LIMIT n OFFSET m`, or as much of it as is set.
fn page(limit: Option<u32>, offset: u32) -> String {
    let limit = limit.map(|n| format!("LIMIT {n} ")).unwrap_or_default();
    format!("{limit}OFFSET {offset}")
}

impl Store for PostgresStore {
    fn insert_request(
        &self,
        request: &Request,
        max_number: Option<u64>,
    ) -> Result<Admission, StoreError> {
        let request = request.clone();
        self.run(serializable!(self, |tx| {
            if let (Some(_), Some(template_id)) = (max_number, &request.template_id) {
                let in_use: i64 = tx.query_one(TEMPLATE_USE, &[template_id]).await?.get(0);
                let in_use = in_use.max(0) as u64;
                if !super::admits(max_number, in_use, request.requested) {
                    return Ok(Admission::Full { in_use });
                }
            }
            write_request(&tx, &mut request.clone(), true).await?;
            Ok(Admission::Stored)
        }))
    }

    fn take_over(
        &self,
        request_id: &str,
        seen_owner: Option<&str>,
        seen_phase: Phase,
        owner: &str,
        now: i64,
    ) -> Result<Option<Request>, StoreError> {
        let (request_id, seen_owner, owner) = (
            request_id.to_owned(),
            seen_owner.map(str::to_owned),
            owner.to_owned(),
        );
        let row = self.run(serializable!(self, |tx| {
            let changed = tx
                .execute(
                    "UPDATE requests SET owner = $3, updated_at = $4, attempts = attempts + 1, \
                     version = version + 1 \
                     WHERE request_id = $1 AND owner IS NOT DISTINCT FROM $2 AND phase = $5",
                    &[&request_id, &seen_owner, &owner, &now, &seen_phase.as_str()],
                )
                .await?;
            if changed == 0 {
                return Ok(None);
            }
            Ok(tx.query_opt(&request_by_id(), &[&request_id]).await?)
        }))?;
        row.as_ref().map(request_from_row).transpose()
    }

    fn update_request(&self, request: &mut Request) -> Result<(), StoreError> {
        let copy = request.clone();
        request.version = self.run(serializable!(self, |tx| {
            let mut written = copy.clone();
            write_request(&tx, &mut written, false).await?;
            Ok(written.version)
        }))?;
        Ok(())
    }

    fn cancel_request(
        &self,
        request_id: &str,
        message: &str,
        releaser: &str,
        now: i64,
    ) -> Result<Cancellation, StoreError> {
        let (request_id, message, releaser) = (
            request_id.to_owned(),
            message.to_owned(),
            releaser.to_owned(),
        );
        self.run(serializable!(self, |tx| {
            let Some(row) = tx.query_opt(&request_by_id(), &[&request_id]).await? else {
                return Ok(Cancellation::Unknown);
            };
            let mut answer = cancellation(request_from_row(&row)?, &message, &releaser, now);
            if let Some(changed) = answer.written_mut() {
                write_request(&tx, changed, false).await?;
            }
            Ok(answer.into())
        }))
    }

    fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError> {
        let rows = self.query(request_by_id(), vec![Box::new(request_id.to_owned())])?;
        rows.first().map(request_from_row).transpose()
    }

    fn template_use(&self, template_id: &str) -> Result<u64, StoreError> {
        let rows = self.query(TEMPLATE_USE.into(), vec![Box::new(template_id.to_owned())])?;
        let in_use: i64 = rows
            .first()
            .map(|r| r.try_get(0).map_err(corrupt))
            .transpose()?
            .unwrap_or(0);
        Ok(in_use.max(0) as u64)
    }

    fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError> {
        let query = conditions::of_requests(filter, placeholder);
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests {} ORDER BY created_at DESC, request_id {}",
            query.clause(),
            page(filter.limit, filter.offset)
        );
        decoded(self.query(sql, bound(query.values))?, request_from_row)
    }

    fn count_requests(&self, filter: &RequestFilter) -> Result<u64, StoreError> {
        self.count("requests", conditions::of_requests(filter, placeholder))
    }

    fn save_progress(
        &self,
        request: &mut Request,
        machines: &[MachineRecord],
    ) -> Result<(), StoreError> {
        let (copy, machines) = (request.clone(), machines.to_vec());
        request.version = self.run(serializable!(self, |tx| {
            write_machines(&tx, &machines).await?;
            let mut written = copy.clone();
            write_request(&tx, &mut written, false).await?;
            Ok(written.version)
        }))?;
        Ok(())
    }

    fn upsert_machines(&self, machines: &[MachineRecord]) -> Result<(), StoreError> {
        let machines = machines.to_vec();
        self.run(serializable!(self, |tx| {
            write_machines(&tx, &machines).await
        }))
    }

    fn get_machine(&self, machine_id: &str) -> Result<Option<MachineRecord>, StoreError> {
        let rows = self.query(
            format!("SELECT {MACHINE_COLUMNS} FROM machines WHERE machine_id = $1"),
            vec![Box::new(machine_id.to_owned())],
        )?;
        rows.first().map(machine_from_row).transpose()
    }

    fn find_machine_by_name(&self, name: &str) -> Result<Option<MachineRecord>, StoreError> {
        let rows = self.query(
            format!(
                "SELECT {MACHINE_COLUMNS} FROM machines WHERE name = $1 \
                 ORDER BY created_at DESC LIMIT 1"
            ),
            vec![Box::new(name.to_owned())],
        )?;
        rows.first().map(machine_from_row).transpose()
    }

    fn machines_of_request(&self, request_id: &str) -> Result<Vec<MachineRecord>, StoreError> {
        self.list_machines(&MachineFilter {
            request_id: Some(request_id.to_owned()),
            ..Default::default()
        })
    }

    fn list_machines(&self, filter: &MachineFilter) -> Result<Vec<MachineRecord>, StoreError> {
        let query = conditions::of_machines(filter, placeholder);
        let sql = format!(
            "SELECT {MACHINE_COLUMNS} FROM machines {} ORDER BY created_at DESC, machine_id {}",
            query.clause(),
            page(filter.limit, filter.offset)
        );
        decoded(self.query(sql, bound(query.values))?, machine_from_row)
    }

    fn count_machines(&self, filter: &MachineFilter) -> Result<u64, StoreError> {
        self.count("machines", conditions::of_machines(filter, placeholder))
    }

    fn insert_return(
        &self,
        request: &Request,
        items: &[ReturnItem],
    ) -> Result<Vec<String>, StoreError> {
        let (request, items) = (request.clone(), items.to_vec());
        self.run(serializable!(self, |tx| {
            write_request(&tx, &mut request.clone(), true).await?;
            let insert = tx
                .prepare(
                    "INSERT INTO return_items (return_request_id, position, machine_id, name, \
                     error) VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            let claim = tx.prepare(CLAIM).await?;
            let mut claimed = Vec::new();
            for (position, item) in items.iter().enumerate() {
                tx.execute(
                    &insert,
                    &[
                        &request.request_id,
                        &(position as i64),
                        &item.machine_id,
                        &item.name,
                        &item.error,
                    ],
                )
                .await?;
                if let (Some(id), None) = (&item.machine_id, &item.error) {
                    if tx
                        .execute(&claim, &[&request.request_id, id, &request.created_at])
                        .await?
                        > 0
                    {
                        claimed.push(id.clone());
                    }
                }
            }
            Ok(claimed)
        }))
    }

    fn submit_return(
        &self,
        return_request_id: &str,
        terminating: &[String],
        errors: &[(String, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        let (id, terminating, errors) = (
            return_request_id.to_owned(),
            terminating.to_vec(),
            errors.to_vec(),
        );
        self.run(serializable!(self, |tx| {
            tx.execute(
                "UPDATE machines SET state = 'shutting-down', updated_at = $3 \
                 WHERE machine_id = ANY($2) AND return_request_id = $1 \
                 AND state NOT IN ('terminated', 'failed', 'shutting-down')",
                &[&id, &terminating, &now],
            )
            .await?;
            for (machine_id, why) in &errors {
                tx.execute(
                    "UPDATE return_items SET error = $3 \
                     WHERE return_request_id = $1 AND machine_id = $2",
                    &[&id, machine_id, why],
                )
                .await?;
            }
            tx.execute(
                "UPDATE requests SET phase = 'submitted', owner = NULL, updated_at = $2, \
                 version = version + 1 \
                 WHERE request_id = $1 AND phase = 'accepted'",
                &[&id, &now],
            )
            .await?;
            Ok(())
        }))
    }

    fn return_items(&self, return_request_id: &str) -> Result<Vec<ReturnItem>, StoreError> {
        let rows = self.query(
            "SELECT return_request_id, machine_id, name, error FROM return_items \
             WHERE return_request_id = $1 ORDER BY position"
                .into(),
            vec![Box::new(return_request_id.to_owned())],
        )?;
        decoded(rows, |row| {
            Ok(ReturnItem {
                return_request_id: row.try_get(0).map_err(corrupt)?,
                machine_id: row.try_get(1).map_err(corrupt)?,
                name: row.try_get(2).map_err(corrupt)?,
                error: row.try_get(3).map_err(corrupt)?,
            })
        })
    }

    fn purge_request(&self, request_id: &str) -> Result<bool, StoreError> {
        let id = request_id.to_owned();
        self.run(serializable!(self, |tx| {
            let purgeable = !tx
                .query(
                    concat!(
                        "SELECT 1 FROM requests AS r WHERE r.request_id = $1 AND ",
                        purgeable!()
                    ),
                    &[&id],
                )
                .await?
                .is_empty();
            if purgeable {
                for statement in rows::PURGE_REQUEST {
                    tx.execute(&statement.replace("{id}", "$1"), &[&id]).await?;
                }
            }
            Ok(purgeable)
        }))
    }

    fn purge_machine(&self, machine_id: &str) -> Result<bool, StoreError> {
        let id = machine_id.to_owned();
        self.run(serializable!(self, |tx| {
            let sql = format!(
                "DELETE FROM machines WHERE machine_id = $1 AND {}",
                rows::PURGEABLE_MACHINE
            );
            Ok(tx.execute(&sql, &[&id]).await? > 0)
        }))
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeEvent>, StoreError> {
        let rows = self.query(
            rows::EVENTS_AFTER_POSTGRES.into(),
            vec![Box::new(after), Box::new(i64::from(limit))],
        )?;
        decoded(rows, |row| {
            Ok(ChangeEvent {
                seq: row.try_get(0).map_err(corrupt)?,
                at: row.try_get(1).map_err(corrupt)?,
                kind: row.try_get(2).map_err(corrupt)?,
                id: row.try_get(3).map_err(corrupt)?,
            })
        })
    }

    fn event_bounds(&self) -> Result<(i64, i64), StoreError> {
        let rows = self.query(rows::EVENT_BOUNDS.into(), Vec::new())?;
        decoded(rows, |row| {
            Ok((
                row.try_get(0).map_err(corrupt)?,
                row.try_get(1).map_err(corrupt)?,
            ))
        })
        .map(|bounds| bounds.first().copied().unwrap_or((0, 0)))
    }

    fn request_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows = self.query(
            "SELECT kind, status, COUNT(*) FROM requests GROUP BY kind, status \
             ORDER BY kind, status"
                .into(),
            Vec::new(),
        )?;
        decoded(rows, |row| {
            let n: i64 = row.try_get(2).map_err(corrupt)?;
            Ok((
                row.try_get(0).map_err(corrupt)?,
                row.try_get(1).map_err(corrupt)?,
                n.max(0) as u64,
            ))
        })
    }

    fn machine_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows = self.query(rows::MACHINE_COUNTS.into(), Vec::new())?;
        decoded(rows, |row| {
            let n: i64 = row.try_get(2).map_err(corrupt)?;
            Ok((
                row.try_get(0).map_err(corrupt)?,
                row.try_get(1).map_err(corrupt)?,
                n.max(0) as u64,
            ))
        })
    }

    fn machines_alive_at(&self, times: &[i64]) -> Result<Vec<u64>, StoreError> {
        let times = &times[..times.len().min(rows::MAX_TIMES)];
        if times.is_empty() {
            return Ok(Vec::new());
        }
        let sql = rows::alive_at(times.len(), |i| format!("${}", i + 1));
        let params: Vec<Param> = times.iter().map(|t| Box::new(*t) as Param).collect();
        let rows = self.query(sql, params)?;
        let Some(row) = rows.first() else {
            return Ok(vec![0; times.len()]);
        };
        (0..times.len())
            .map(|i| {
                let n: i64 = row.try_get(i).map_err(corrupt)?;
                Ok(n.max(0) as u64)
            })
            .collect()
    }

    fn instance_types(
        &self,
        provider_instance: &str,
        names: &[String],
        since: i64,
    ) -> Result<Vec<InstanceTypeInfo>, StoreError> {
        let rows = self.query(
            "SELECT info FROM instance_types WHERE provider_instance = $1 \
             AND name = ANY($2) AND fetched_at >= $3"
                .into(),
            vec![
                Box::new(provider_instance.to_owned()),
                Box::new(names.to_vec()),
                Box::new(since),
            ],
        )?;
        // A fact that no longer reads is a fact missing: it is asked for again.
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, String>(0).ok())
            .filter_map(|info| serde_json::from_str(&info).ok())
            .collect())
    }

    fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> Result<Lease, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(serializable!(self, |tx| {
            let stored = tx
                .query_opt(
                    "SELECT holder, expires_at FROM leases WHERE name = $1",
                    &[&name],
                )
                .await?
                .map(|r| (r.get(0), r.get(1)));
            let (write, lease) = lease_step(stored, &holder, now, ttl);
            if write {
                tx.execute(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                     expires_at = excluded.expires_at",
                    &[&name, &lease.holder, &lease.expires_at],
                )
                .await?;
            }
            Ok(lease)
        }))
    }

    fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let rows = self.query(
            "SELECT holder, expires_at FROM leases WHERE name = $1".into(),
            vec![Box::new(name.to_owned())],
        )?;
        rows.first()
            .map(|r| {
                Ok(Lease {
                    holder: r.try_get(0).map_err(corrupt)?,
                    expires_at: r.try_get(1).map_err(corrupt)?,
                    taken_from: None,
                })
            })
            .transpose()
    }

    fn record_call(
        &self,
        provider_instance: &str,
        failed: bool,
        now: i64,
        threshold: u32,
    ) -> Result<Circuit, StoreError> {
        let instance = provider_instance.to_owned();
        self.run(serializable!(self, |tx| {
            let stored = tx
                .query_opt(
                    "SELECT failures, opened_at FROM circuits WHERE provider_instance = $1",
                    &[&instance],
                )
                .await?
                .map(|r| (r.get::<_, i64>(0), r.get::<_, Option<i64>>(1)));
            let before = match stored {
                Some((failures, opened_at)) => Circuit {
                    provider_instance: instance.clone(),
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    opened_at,
                },
                None => Circuit::closed(&instance),
            };
            let after = before.clone().after(failed, now, threshold);
            if after != before {
                tx.execute(
                    "INSERT INTO circuits (provider_instance, failures, opened_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (provider_instance) DO UPDATE SET \
                     failures = excluded.failures, opened_at = excluded.opened_at",
                    &[&instance, &i64::from(after.failures), &after.opened_at],
                )
                .await?;
            }
            Ok(after)
        }))
    }

    fn circuits(&self) -> Result<Vec<Circuit>, StoreError> {
        let rows = self.query(
            "SELECT provider_instance, failures, opened_at FROM circuits \
             ORDER BY provider_instance"
                .into(),
            Vec::new(),
        )?;
        rows.iter()
            .map(|r| {
                Ok(Circuit {
                    provider_instance: r.try_get(0).map_err(corrupt)?,
                    failures: u32::try_from(r.try_get::<_, i64>(1).map_err(corrupt)?)
                        .unwrap_or(u32::MAX),
                    opened_at: r.try_get(2).map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn next_turn(&self, key: &str) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.run(serializable!(self, |tx| {
            let row = tx
                .query_one(
                    "INSERT INTO turns (key, n) VALUES ($1, 1) ON CONFLICT (key) \
                     DO UPDATE SET n = turns.n + 1 RETURNING n - 1",
                    &[&key],
                )
                .await?;
            Ok(row.get::<_, i64>(0) as u64)
        }))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(serializable!(self, |tx| {
            tx.execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await?;
            Ok(())
        }))
    }

    fn save_instance_types(
        &self,
        provider_instance: &str,
        types: &[InstanceTypeInfo],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut facts = Vec::with_capacity(types.len());
        for t in types {
            let info = serde_json::to_string(t).map_err(|e| StoreError::Database(e.to_string()))?;
            facts.push((t.name.clone(), info));
        }
        let provider_instance = provider_instance.to_owned();
        self.run(serializable!(self, |tx| {
            for (name, info) in &facts {
                tx.execute(
                    "INSERT INTO instance_types (provider_instance, name, info, fetched_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (provider_instance, name) \
                     DO UPDATE SET info = excluded.info, fetched_at = excluded.fetched_at",
                    &[&provider_instance, name, info, &now],
                )
                .await?;
            }
            Ok(())
        }))
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! A database of its own for each test, on the server `ORB_TEST_POSTGRES_URL` names.

    use super::{PostgresOptions, PostgresTls};

    /// A database made for one test, dropped after it.
    pub struct Database {
        server: String,
        name: String,
    }

    /// Runs `sql` on the server's `postgres` database.
    fn admin(server: &str, sql: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {server}: {e}"));
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        });
    }

    impl Database {
        /// Creates an empty database.
        pub fn create() -> Database {
            let server = std::env::var("ORB_TEST_POSTGRES_URL").expect(
                "ORB_TEST_POSTGRES_URL names no PostgreSQL server: run `scripts/postgres start` \
                 and `export ORB_TEST_POSTGRES_URL=$(scripts/postgres url)` (scripts/test does both)",
            );
            let name = format!("orb_test_{}", uuid::Uuid::new_v4().simple());
            admin(&server, &format!("CREATE DATABASE {name}"));
            Database { server, name }
        }

        /// How a store connects to it.
        pub fn options(&self) -> PostgresOptions {
            PostgresOptions {
                url: format!("{}/{}", self.server, self.name),
                pool_size: 4,
                tls: PostgresTls::Disable,
            }
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            admin(
                &self.server,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Database;
    use super::*;

    #[test]
    fn processes_starting_together_migrate_once() {
        let database = Database::create();
        let options = database.options();
        std::thread::scope(|s| {
            let opened: Vec<_> = (0..6)
                .map(|_| s.spawn(|| PostgresStore::open(&options).map(drop)))
                .collect();
            for o in opened {
                o.join().unwrap().unwrap();
            }
        });
        let store = PostgresStore::open(&options).unwrap();
        let rows = store
            .query("SELECT version FROM orb_schema".into(), Vec::new())
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<_, i64>(0), MIGRATIONS.len() as i64);
    }

    #[test]
    fn tls_verifies_the_server_against_the_given_authority() {
        let database = Database::create();
        let ca = std::env::var("ORB_TEST_POSTGRES_CA").expect(
            "ORB_TEST_POSTGRES_CA names no certificate authority: \
             `export ORB_TEST_POSTGRES_CA=$(scripts/postgres ca)` (scripts/test does it)",
        );
        let mut options = database.options();
        options.tls = PostgresTls::VerifyFull {
            ca_file: Some(ca.into()),
        };
        let store = PostgresStore::open(&options).unwrap();
        let rows = store
            .query(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()".into(),
                Vec::new(),
            )
            .unwrap();
        assert!(rows[0].get::<_, bool>(0), "the connection is encrypted");
        // The system's authorities did not sign the test server's certificate.
        options.tls = PostgresTls::VerifyFull { ca_file: None };
        let err = PostgresStore::open(&options).err().unwrap().to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let database = Database::create();
        let options = database.options();
        let store = PostgresStore::open(&options).unwrap();
        store
            .query(
                "UPDATE orb_schema SET version = 99 RETURNING version".into(),
                Vec::new(),
            )
            .unwrap();
        drop(store);
        let err = PostgresStore::open(&options).err().unwrap().to_string();
        assert!(err.contains("newer than this orb"), "{err}");
    }

    #[test]
    fn a_failed_connection_names_the_server_and_never_the_password() {
        let database = Database::create();
        let mut options = database.options();
        let password = "not-the-password-7f3a";
        let url: tokio_postgres::Config = options.url.parse().unwrap();
        options.url = format!(
            "postgresql://{}:{password}@127.0.0.1:{}/{}",
            url.get_user().unwrap(),
            url.get_ports()[0],
            url.get_dbname().unwrap()
        );
        let err = PostgresStore::open(&options).err().unwrap().to_string();
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.contains("password authentication failed"), "{err}");
        assert!(!err.contains(password), "{err}");
    }
}
