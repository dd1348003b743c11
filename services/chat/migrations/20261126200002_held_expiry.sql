-- Held messages nobody decided within their time are marked expired by a
-- sweeper (which tells the author and the moderators).
ALTER TABLE held DROP CONSTRAINT held_decision_check;
ALTER TABLE held ADD CONSTRAINT held_decision_check CHECK (decision IN ('approved', 'denied', 'expired'));
CREATE INDEX held_expiring ON held (expires_at) WHERE decision IS NULL;
