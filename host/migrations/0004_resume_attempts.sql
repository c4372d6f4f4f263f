-- How many times a process took over a request whose owner died; past a bound the request is
-- settled as failed instead of being resumed again (a request that kills every process that
-- resumes it must not stop the broker for good).
ALTER TABLE requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- The sweeps of every Host Factory call look for requests by phase.
CREATE INDEX requests_by_phase ON requests (phase, kind, status);
