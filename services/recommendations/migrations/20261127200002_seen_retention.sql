-- Applied event ids are kept `recommendations.seen_retention` (default
-- 6 h), not 8 days as the first migration's comment said: redeliveries come
-- within the consumers' ack wait, and days of ids at viewing rates would be
-- billions of rows (docs/recommendations.md).
COMMENT ON TABLE recs.seen_events IS
    'Event ids applied to recs.affinity, kept recommendations.seen_retention to drop redeliveries';
