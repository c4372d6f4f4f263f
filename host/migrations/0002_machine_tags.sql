-- The tags the cloud reports for each machine, as a JSON object.
ALTER TABLE machines ADD COLUMN tags TEXT;
