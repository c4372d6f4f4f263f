-- Where an acquire request that failed over asked for its machines: each provider instance,
-- what it was asked and got, why not the rest, the resources it made (JSON).
ALTER TABLE requests ADD COLUMN placements TEXT;
