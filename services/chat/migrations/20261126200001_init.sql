-- Chat: per-room streams, messages, reactions, settings, restrictions,
-- terms, held messages, reports, the audit log and the outbox. Ephemeral
-- state (recent window, rate limits, live reactions, typing) lives in Redis;
-- see docs/chat.md.

-- One row per room with chat: the sequencer. Sending locks this row
-- (UPDATE … RETURNING), which makes the per-room sequence total and
-- gap-free whichever replica writes.
CREATE TABLE streams (
    room_id    uuid PRIMARY KEY,
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every sequenced event of a room: posts (the message itself is in
-- `messages` under the same sequence), deletions and purges.
CREATE TABLE events (
    room_id      uuid NOT NULL,
    seq          bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('posted', 'deleted', 'purged')),
    -- deleted / purged: the messages removed.
    targets      bigint[] NOT NULL DEFAULT '{}',
    by_moderator boolean NOT NULL DEFAULT false,
    user_id      uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, seq)
);

CREATE TABLE messages (
    room_id         uuid NOT NULL,
    seq             bigint NOT NULL,
    message_id      uuid NOT NULL UNIQUE,
    author_id       uuid NOT NULL,
    author_username text NOT NULL,
    author_name     text NOT NULL,
    author_avatar   text NOT NULL DEFAULT '',
    author_role     smallint NOT NULL DEFAULT 0,
    client_msg_id   text NOT NULL,
    text            text NOT NULL,
    mentions        jsonb NOT NULL DEFAULT '[]',
    reply_to_seq    bigint,
    thread_root_seq bigint,
    reply_count     integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    deleted_by_moderator boolean NOT NULL DEFAULT false,
    -- Sequence of the deletion or purge event.
    deleted_seq     bigint,
    PRIMARY KEY (room_id, seq)
);
-- Idempotent sends: one message per (author, room, client_msg_id).
CREATE UNIQUE INDEX messages_idempotency ON messages (room_id, author_id, client_msg_id);
CREATE INDEX messages_thread ON messages (room_id, thread_root_seq, seq) WHERE thread_root_seq IS NOT NULL;
CREATE INDEX messages_author_recent ON messages (room_id, author_id, created_at DESC);

CREATE TABLE reactions (
    room_id    uuid NOT NULL,
    seq        bigint NOT NULL,
    emoji      text NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, seq, emoji, user_id)
);
CREATE INDEX reactions_users ON reactions (room_id, seq, emoji, created_at DESC);

CREATE TABLE settings (
    room_id    uuid PRIMARY KEY,
    -- domain::settings::Settings as JSON, plus the settings saved when
    -- shield mode went on.
    settings   jsonb NOT NULL,
    saved      jsonb,
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE restrictions (
    room_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('timeout', 'ban')),
    reason     text NOT NULL DEFAULT '',
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    PRIMARY KEY (room_id, user_id, kind)
);

CREATE TABLE terms (
    id         uuid PRIMARY KEY,
    -- NULL: global (operator admins).
    room_id    uuid,
    term       text NOT NULL,
    folded     text NOT NULL,
    action     text NOT NULL CHECK (action IN ('block', 'hold')),
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE UNIQUE INDEX terms_unique ON terms (coalesce(room_id, '00000000-0000-0000-0000-000000000000'), folded);

CREATE TABLE held (
    id              uuid PRIMARY KEY,
    room_id         uuid NOT NULL,
    author_id       uuid NOT NULL,
    author_username text NOT NULL,
    author_name     text NOT NULL,
    author_avatar   text NOT NULL DEFAULT '',
    author_role     smallint NOT NULL DEFAULT 0,
    client_msg_id   text NOT NULL,
    text            text NOT NULL,
    mentions        jsonb NOT NULL DEFAULT '[]',
    reply_to_seq    bigint,
    matched         text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    -- NULL while waiting; 'approved' / 'denied' once decided.
    decision        text CHECK (decision IN ('approved', 'denied'))
);
CREATE UNIQUE INDEX held_idempotency ON held (room_id, author_id, client_msg_id);
CREATE INDEX held_waiting ON held (room_id, created_at) WHERE decision IS NULL;

CREATE TABLE reports (
    id              uuid PRIMARY KEY,
    room_id         uuid NOT NULL,
    reporter_id     uuid NOT NULL,
    target_user_id  uuid NOT NULL,
    target_seq      bigint NOT NULL DEFAULT 0,
    message_text    text NOT NULL DEFAULT '',
    reason          smallint NOT NULL,
    details         text NOT NULL DEFAULT '',
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolution      smallint NOT NULL DEFAULT 0,
    resolution_note text NOT NULL DEFAULT '',
    resolved_by     uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
-- One open report per reporter and target.
CREATE UNIQUE INDEX reports_open_once ON reports (reporter_id, room_id, target_user_id, target_seq) WHERE state = 'open';
CREATE INDEX reports_queue ON reports (room_id, state, created_at);
CREATE INDEX reports_by_reporter ON reports (reporter_id, created_at);

-- Every moderation act (who, what, when, why); idempotent by id.
CREATE TABLE audit (
    id               uuid PRIMARY KEY,
    room_id          uuid NOT NULL,
    actor_id         uuid NOT NULL,
    actor_role       smallint NOT NULL DEFAULT 0,
    actor_is_admin   boolean NOT NULL DEFAULT false,
    action           smallint NOT NULL,
    target_user_id   uuid,
    target_seq       bigint NOT NULL DEFAULT 0,
    reason           text NOT NULL DEFAULT '',
    details          jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_room_time ON audit (room_id, created_at DESC, id DESC);
CREATE INDEX audit_time ON audit (created_at DESC, id DESC);

-- Transactional outbox: every sequenced event is written here in the
-- commit that assigns its sequence, published right after the commit, and
-- republished by any replica's relay if the publisher died in between
-- (JetStream drops the duplicate by Nats-Msg-Id).
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event_id   uuid NOT NULL,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
