-- orb's state on PostgreSQL: the schema SQLite reaches through its migrations 0001 to 0005, in
-- one step. Times are seconds since the epoch.

CREATE TABLE requests (
    request_id        TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('acquire', 'return')),
    provider_instance TEXT NOT NULL,
    provider_type     TEXT NOT NULL,
    template_id       TEXT,
    provider_api      TEXT,
    requested         BIGINT NOT NULL CHECK (requested >= 0),
    status            TEXT NOT NULL CHECK (status IN ('running', 'complete', 'complete_with_error')),
    phase             TEXT NOT NULL CHECK (phase IN ('accepted', 'submitted', 'cancelled')),
    message           TEXT NOT NULL DEFAULT '',
    unfulfilled       BIGINT NOT NULL DEFAULT 0,
    resource_ids      TEXT NOT NULL DEFAULT '[]',
    template          TEXT,
    owner             TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    deadline_at       BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX requests_by_status ON requests (status, kind);
CREATE INDEX requests_by_template ON requests (template_id);
CREATE INDEX requests_by_phase ON requests (phase, kind, status);

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
    launch_time       BIGINT,
    instance_type     TEXT,
    price_type        TEXT,
    resource_id       TEXT,
    message           TEXT,
    reclaim_notice_at BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- The tags the cloud reports, as a JSON object.
    tags              TEXT
);
CREATE INDEX machines_by_request ON machines (request_id);
CREATE INDEX machines_by_return ON machines (return_request_id);
CREATE INDEX machines_by_name ON machines (name);
CREATE INDEX machines_by_template ON machines (template_id, state);

CREATE TABLE return_items (
    return_request_id TEXT NOT NULL REFERENCES requests (request_id),
    position          BIGINT NOT NULL,
    machine_id        TEXT,
    name              TEXT,
    error             TEXT,
    PRIMARY KEY (return_request_id, position)
);

CREATE TABLE instance_types (
    provider_instance TEXT NOT NULL,
    name              TEXT NOT NULL,
    -- The provider's InstanceTypeInfo, as JSON.
    info              TEXT NOT NULL,
    fetched_at        BIGINT NOT NULL,
    PRIMARY KEY (provider_instance, name)
);
