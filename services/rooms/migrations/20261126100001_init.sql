-- Rooms, membership, bans and invites. Ephemeral state (presence, playback,
-- readiness) lives in Redis; see docs/rooms.md.

CREATE TABLE rooms (
    id             uuid PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('watch_party', 'channel', 'programme', 'community')),
    visibility     text NOT NULL CHECK (visibility IN ('private', 'unlisted', 'public')),
    state          text NOT NULL DEFAULT 'active' CHECK (state IN ('scheduled', 'active', 'archived')),
    title          text NOT NULL,
    description    text NOT NULL DEFAULT '',
    image_url      text NOT NULL DEFAULT '',
    -- The MediaRef: which oneof case and its value; NULL for rooms about nothing.
    media_kind     text CHECK (media_kind IN ('channel_id', 'asset_id', 'programme_id', 'url')),
    media_id       text,
    settings       jsonb NOT NULL,
    -- Effective member limit (0: unbounded), kept out of `settings` for the
    -- atomic capacity check on join.
    capacity       integer NOT NULL DEFAULT 0 CHECK (capacity >= 0),
    created_by     uuid NOT NULL,
    owner_id       uuid NOT NULL,
    member_count   bigint NOT NULL DEFAULT 0,
    request_id     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_active_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((media_kind IS NULL) = (media_id IS NULL))
);

-- One channel room per provider channel.
CREATE UNIQUE INDEX rooms_one_per_channel ON rooms (media_id) WHERE kind = 'channel';
-- Idempotent creation.
CREATE UNIQUE INDEX rooms_request_id ON rooms (created_by, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX rooms_public_newest ON rooms (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX rooms_public_by_media ON rooms (media_id, created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX rooms_owner ON rooms (owner_id);

CREATE TABLE members (
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    role       text NOT NULL CHECK (role IN ('owner', 'host', 'moderator', 'member')),
    joined_at  timestamptz NOT NULL DEFAULT now(),
    via_invite boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, joined_at DESC);

CREATE TABLE bans (
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    reason     text NOT NULL DEFAULT '',
    banned_by  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE invites (
    code       text PRIMARY KEY,
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    max_uses   integer NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
    use_count  integer NOT NULL DEFAULT 0,
    revoked_at timestamptz,
    invitee_id uuid
);
CREATE INDEX invites_by_room ON invites (room_id, created_at DESC);
