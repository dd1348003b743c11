-- Member counts of unbounded rooms (channel rooms with tens of thousands of
-- members) are spread over 16 counter rows, so that a join storm does not
-- queue on one row lock. A room's count is rooms.member_count plus the sum
-- of its shards; bounded rooms keep using the single column, whose row lock
-- is what makes their capacity check exact.
CREATE TABLE member_counts (
    room_id uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    slot    smallint NOT NULL CHECK (slot >= 0 AND slot < 16),
    n       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, slot)
);
