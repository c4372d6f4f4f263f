-- Leases: a named role (the leader of the `orb serve` replicas) or a process's liveness, held
-- by one process (`host:pid`) until `expires_at` (seconds since the epoch) unless renewed.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
