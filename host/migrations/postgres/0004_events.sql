-- Every change of a request's status, phase or message and of a machine's state or claim, in
-- the order the store took them: what GET /api/v1/events/ streams and replays from a sequence
-- number. Triggers append them, so no write path can forget one. The newest 10,000 are kept.
CREATE TABLE events (
    seq  BIGSERIAL PRIMARY KEY,
    at   BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('request', 'machine')),
    id   TEXT NOT NULL
);

CREATE FUNCTION orb_request_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'request', NEW.request_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION orb_machine_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'machine', NEW.machine_id);
    RETURN NULL;
END
$$;

-- Every thousandth event drops those older than the newest 10,000.
CREATE FUNCTION orb_prune_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events WHERE seq <= NEW.seq - 10000;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_of_new_requests AFTER INSERT ON requests
    FOR EACH ROW EXECUTE FUNCTION orb_request_event();
CREATE TRIGGER events_of_changed_requests AFTER UPDATE ON requests
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.phase IS DISTINCT FROM NEW.phase
        OR OLD.message IS DISTINCT FROM NEW.message)
    EXECUTE FUNCTION orb_request_event();
CREATE TRIGGER events_of_new_machines AFTER INSERT ON machines
    FOR EACH ROW EXECUTE FUNCTION orb_machine_event();
CREATE TRIGGER events_of_changed_machines AFTER UPDATE ON machines
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
        OR OLD.return_request_id IS DISTINCT FROM NEW.return_request_id)
    EXECUTE FUNCTION orb_machine_event();
CREATE TRIGGER events_pruned AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.seq % 1000 = 0) EXECUTE FUNCTION orb_prune_events();
