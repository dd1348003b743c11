-- Hearth's copy of the provider catalog (docs/provider-integration.md):
-- channels and the guide as the operator's IptvProvider or its
-- ProviderIngest pushes last described them. Rows keep the contract's
-- protobuf bytes, so nothing the provider said is lost in a mapping.

CREATE TABLE channels (
    channel_id text PRIMARY KEY,
    -- hearth.provider.v1.Channel
    data       bytea NOT NULL,
    adult      boolean NOT NULL DEFAULT false,
    -- Removed from the line-up (kept so a removal is idempotent and a
    -- returning channel keeps its history).
    removed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Bumped by every change; the change is announced on JetStream after
    -- its commit, and `announced` catches up (outbox: a change whose
    -- announcement failed is retried by the leader's relay).
    revision   bigint NOT NULL DEFAULT 1,
    announced  bigint NOT NULL DEFAULT 0
);
CREATE INDEX channels_present ON channels (channel_id) WHERE removed_at IS NULL;
CREATE INDEX channels_unannounced ON channels (channel_id) WHERE announced < revision;

CREATE TABLE programmes (
    programme_id text PRIMARY KEY,
    channel_id   text NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz NOT NULL,
    -- hearth.provider.v1.Programme
    data         bytea NOT NULL,
    CHECK (end_time > start_time)
);
CREATE INDEX programmes_by_channel ON programmes (channel_id, start_time);
-- The guide clock looks for programmes starting or ending.
CREATE INDEX programmes_by_start ON programmes (start_time);
CREATE INDEX programmes_by_end ON programmes (end_time);

-- Guide changes not yet announced (outbox): the union of the windows
-- replaced since the last announcement, per channel.
CREATE TABLE guide_changes (
    channel_id      text PRIMARY KEY,
    start_time      timestamptz NOT NULL,
    end_time        timestamptz NOT NULL,
    programme_count integer NOT NULL,
    revision        bigint NOT NULL DEFAULT 1
);

-- Where catalog sync and the guide clock stand (one row).
CREATE TABLE sync_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- The provider's sync token of the last applied change; '' = list all.
    sync_token      text NOT NULL DEFAULT '',
    channels_synced_at timestamptz,
    guide_synced_at timestamptz,
    -- The guide clock announced every boundary up to here.
    clock_at        timestamptz
);
INSERT INTO sync_state DEFAULT VALUES;
