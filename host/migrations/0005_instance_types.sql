-- What providers reported of instance types (vCPUs, memory), shared by every orb process and
-- the server: listing templates asks the cloud only for facts missing or older than
-- provider.instance_type_cache_seconds.
CREATE TABLE instance_types (
    provider_instance TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The provider's InstanceTypeInfo, as JSON.
    info TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (provider_instance, name)
) WITHOUT ROWID;
