-- Recommendations: taste (affinity), the precomputed model, sharing
-- settings and shares. Hot counters (trending) and who watches what now
-- live in Redis; see docs/recommendations.md.

-- Events already applied (viewing events and engagement signals, by
-- Envelope id): consumers are at least once, aggregates exactly once.
-- Kept 8 days (JetStream keeps events 7).
CREATE TABLE seen_events (
    id          uuid PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seen_events_age ON seen_events (received_at);

-- A user's time-decayed interest in an item (`channel:<id>`,
-- `programme:<id>`, `asset:<id>`, `room:<uuid>`): `score` as of
-- `updated_at`, fading with `recommendations.affinity_half_life`.
CREATE TABLE affinity (
    user_id    uuid NOT NULL,
    item       text NOT NULL,
    score      double precision NOT NULL CHECK (score >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, item)
);
CREATE INDEX affinity_recent ON affinity (updated_at);
CREATE INDEX affinity_by_item ON affinity (item);

-- The model's precomputed lists: similar items per item, and each active
-- user's top-N (with the seed that explains each entry), as JSON arrays.
CREATE TABLE item_neighbours (
    item        text PRIMARY KEY,
    neighbours  jsonb NOT NULL,
    computed_at timestamptz NOT NULL
);
CREATE TABLE user_recommendations (
    user_id     uuid PRIMARY KEY,
    items       jsonb NOT NULL,
    computed_at timestamptz NOT NULL
);

CREATE TABLE sharing_settings (
    user_id             uuid PRIMARY KEY,
    share_activity      boolean NOT NULL DEFAULT false,
    audience            text NOT NULL DEFAULT 'mutual_followers'
                        CHECK (audience IN ('mutual_followers', 'followers')),
    share_watch_parties boolean NOT NULL DEFAULT false,
    paused_until        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shares (
    id         uuid PRIMARY KEY,
    sharer_id  uuid NOT NULL,
    item       text NOT NULL,
    comment    text NOT NULL DEFAULT '',
    audience   text NOT NULL CHECK (audience IN ('followers', 'room', 'users')),
    room_id    uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE share_recipients (
    share_id     uuid NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    dismissed_at timestamptz,
    PRIMARY KEY (share_id, user_id)
);
CREATE INDEX share_feed ON share_recipients (user_id, created_at DESC, share_id DESC);
