-- Polls, their votes, the durable timers every interaction kind uses, and
-- the outbox of lifecycle events (published after commit, relayed if the
-- committing replica died).

CREATE TABLE polls.polls (
    id                 uuid PRIMARY KEY,
    room_id            uuid NOT NULL,
    question           text NOT NULL,
    -- [{"id": "o1", "text": "…"}, …] in display order.
    options            jsonb NOT NULL,
    choice_mode        smallint NOT NULL,
    max_choices        smallint NOT NULL,
    allow_vote_change  boolean NOT NULL,
    results_visibility smallint NOT NULL,
    vote_visibility    smallint NOT NULL,
    duration_ms        bigint,
    state              text NOT NULL CHECK (state IN ('draft', 'scheduled', 'open', 'closed', 'archived')),
    scheduled_open_at  timestamptz,
    opened_at          timestamptz,
    deadline           timestamptz,
    closed_at          timestamptz,
    created_by         uuid NOT NULL,
    request_id         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- Final results, written once when the poll closes: {"o1": 12, …}.
    final_tallies      jsonb,
    voter_count        bigint,
    vote_count         bigint
);

CREATE INDEX polls_room_created ON polls.polls (room_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX polls_request ON polls.polls (created_by, request_id) WHERE request_id IS NOT NULL;

-- One vote per user per poll: the truth the live Redis tallies are
-- reconciled with when the poll closes.
CREATE TABLE polls.votes (
    poll_id    uuid NOT NULL REFERENCES polls.polls (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    option_ids text[] NOT NULL,
    voted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (poll_id, user_id)
);

-- Durable timers (poll opens and deadlines, quiz question windows,
-- prediction locks and 24 h refunds). A replica claims due rows with
-- FOR UPDATE SKIP LOCKED and a lease; the transition each performs is
-- conditional on the target's state, so it happens once however many
-- replicas run, and a dead replica's claim lapses for another to take.
CREATE TABLE polls.timers (
    kind          text NOT NULL,
    target_id     uuid NOT NULL,
    due_at        timestamptz NOT NULL,
    claimed_until timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, target_id)
);

CREATE INDEX timers_due ON polls.timers (due_at);

-- Lifecycle events (`hearth.room.<id>.polls`, JetStream) written in the
-- transaction of the change they announce.
CREATE TABLE polls.outbox (
    id         bigserial PRIMARY KEY,
    event_id   uuid NOT NULL,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
