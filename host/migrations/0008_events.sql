-- Every change of a request's status, phase or message and of a machine's state or claim, in
-- the order the store took them: what GET /api/v1/events/ streams and replays from a sequence
-- number. Triggers append them, so no write path can forget one. The newest 10,000 are kept.
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    at   INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('request', 'machine')),
    id   TEXT NOT NULL
);

CREATE TRIGGER events_of_new_requests AFTER INSERT ON requests BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'request', NEW.request_id);
END;

CREATE TRIGGER events_of_changed_requests AFTER UPDATE ON requests
WHEN OLD.status IS NOT NEW.status OR OLD.phase IS NOT NEW.phase OR OLD.message IS NOT NEW.message
BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'request', NEW.request_id);
END;

CREATE TRIGGER events_of_new_machines AFTER INSERT ON machines BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'machine', NEW.machine_id);
END;

CREATE TRIGGER events_of_changed_machines AFTER UPDATE ON machines
WHEN OLD.state IS NOT NEW.state OR OLD.return_request_id IS NOT NEW.return_request_id
BEGIN
    INSERT INTO events (at, kind, id) VALUES (NEW.updated_at, 'machine', NEW.machine_id);
END;

-- Every thousandth event drops those older than the newest 10,000.
CREATE TRIGGER events_pruned AFTER INSERT ON events WHEN NEW.seq % 1000 = 0 BEGIN
    DELETE FROM events WHERE seq <= NEW.seq - 10000;
END;
