-- A version per request, raised by every write: a writer whose copy is older than the stored
-- row changes nothing (optimistic concurrency), so no process undoes another's update.
ALTER TABLE requests ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
