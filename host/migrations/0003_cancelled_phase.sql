-- A request's phase may be 'cancelled'. SQLite cannot change a CHECK constraint in place, so
-- the table is rebuilt (the migration runner turns foreign keys off meanwhile and checks them
-- before committing).
CREATE TABLE requests_new (
    request_id        TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('acquire', 'return')),
    provider_instance TEXT NOT NULL,
    provider_type     TEXT NOT NULL,
    template_id       TEXT,
    provider_api      TEXT,
    requested         INTEGER NOT NULL CHECK (requested >= 0),
    status            TEXT NOT NULL CHECK (status IN ('running', 'complete', 'complete_with_error')),
    phase             TEXT NOT NULL CHECK (phase IN ('accepted', 'submitted', 'cancelled')),
    message           TEXT NOT NULL DEFAULT '',
    unfulfilled       INTEGER NOT NULL DEFAULT 0,
    resource_ids      TEXT NOT NULL DEFAULT '[]',
    template          TEXT,
    owner             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deadline_at       INTEGER NOT NULL
);
INSERT INTO requests_new SELECT * FROM requests;
DROP TABLE requests;
ALTER TABLE requests_new RENAME TO requests;
CREATE INDEX requests_by_status ON requests (status, kind);
CREATE INDEX requests_by_template ON requests (template_id);
