-- The availability zone each machine runs in, when its provider says (interface 1.4).
ALTER TABLE machines ADD COLUMN zone TEXT;
