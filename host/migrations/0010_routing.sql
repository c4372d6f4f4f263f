-- Routing among provider instances: each instance's circuit breaker, and the turns that
-- round-robin policies take, shared by every process.
CREATE TABLE circuits (
    provider_instance TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    opened_at         INTEGER
);
CREATE TABLE turns (
    key TEXT PRIMARY KEY,
    n   INTEGER NOT NULL
);
