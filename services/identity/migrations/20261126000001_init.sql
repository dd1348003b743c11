-- Identity owns accounts, sessions, refresh tokens, the follow graph and blocks.
-- Runs with search_path = identity (see hearth_platform::db::migrate).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    -- Always stored lower-case; uniqueness is case-insensitive by construction.
    username      text NOT NULL CHECK (username ~ '^[a-z0-9_]{3,32}$'),
    display_name  text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 64),
    avatar_url    text NOT NULL DEFAULT '' CHECK (char_length(avatar_url) <= 2048),
    bio           text NOT NULL DEFAULT '' CHECK (char_length(bio) <= 500),
    locale        text NOT NULL DEFAULT '' CHECK (char_length(locale) <= 35),
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);

CREATE TABLE sessions (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_refreshed_at timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    revoked_reason    text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes; a rotated token is kept
-- (rotated_at set) so that presenting it again is detected as theft.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE follows (
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id, created_at DESC, follower_id DESC);
CREATE INDEX follows_follower_idx ON follows (follower_id, created_at DESC, followee_id DESC);

CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

-- Transactional outbox: events that must not be lost are written here in the
-- same transaction as the change, then relayed to JetStream (deduplicated by
-- id through Nats-Msg-Id).
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE published_at IS NULL;
