-- Requests (acquire and return), the machines they provisioned, and what each return request
-- named. Times are seconds since the epoch.

CREATE TABLE requests (
    request_id        TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('acquire', 'return')),
    provider_instance TEXT NOT NULL,
    provider_type     TEXT NOT NULL,
    template_id       TEXT,
    provider_api      TEXT,
    requested         INTEGER NOT NULL CHECK (requested >= 0),
    status            TEXT NOT NULL CHECK (status IN ('running', 'complete', 'complete_with_error')),
    phase             TEXT NOT NULL CHECK (phase IN ('accepted', 'submitted')),
    message           TEXT NOT NULL DEFAULT '',
    unfulfilled       INTEGER NOT NULL DEFAULT 0,
    resource_ids      TEXT NOT NULL DEFAULT '[]',
    template          TEXT,
    owner             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deadline_at       INTEGER NOT NULL
);
CREATE INDEX requests_by_status ON requests (status, kind);
CREATE INDEX requests_by_template ON requests (template_id);

CREATE TABLE machines (
    machine_id        TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL REFERENCES requests (request_id),
    return_request_id TEXT REFERENCES requests (request_id),
    provider_instance TEXT NOT NULL,
    template_id       TEXT,
    name              TEXT,
    state             TEXT NOT NULL,
    private_ip        TEXT,
    public_ip         TEXT,
    launch_time       INTEGER,
    instance_type     TEXT,
    price_type        TEXT,
    resource_id       TEXT,
    message           TEXT,
    reclaim_notice_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX machines_by_request ON machines (request_id);
CREATE INDEX machines_by_return ON machines (return_request_id);
CREATE INDEX machines_by_name ON machines (name);
CREATE INDEX machines_by_template ON machines (template_id, state);

CREATE TABLE return_items (
    return_request_id TEXT NOT NULL REFERENCES requests (request_id),
    position          INTEGER NOT NULL,
    machine_id        TEXT,
    name              TEXT,
    error             TEXT,
    PRIMARY KEY (return_request_id, position)
);
