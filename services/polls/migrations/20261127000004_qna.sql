-- Q&A: per-room settings, questions and their upvotes.

-- Rooms without a row have the defaults (enabled, no pre-moderation). The
-- row is also the room's Q&A moderation lock: transactions that change a
-- highlight lock it first, so "at most one highlighted question" holds
-- without retries.
CREATE TABLE polls.qna_settings (
    room_id        uuid PRIMARY KEY,
    enabled        boolean NOT NULL DEFAULT true,
    pre_moderation boolean NOT NULL DEFAULT false,
    updated_by     uuid,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE polls.questions (
    id           uuid PRIMARY KEY,
    room_id      uuid NOT NULL,
    author_id    uuid NOT NULL,
    text         text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 300),
    state        text NOT NULL CHECK (state IN ('pending', 'published', 'answered', 'rejected')),
    highlighted  boolean NOT NULL DEFAULT false,
    -- Exactly the rows of polls.question_upvotes: changed in the same
    -- transaction as they are.
    upvotes      bigint NOT NULL DEFAULT 0 CHECK (upvotes >= 0),
    request_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    answered_at  timestamptz,
    answered_by  uuid,
    answer_note  text NOT NULL DEFAULT '' CHECK (char_length(answer_note) <= 500),
    moderated_by uuid,
    moderated_at timestamptz,
    -- Only published questions are highlighted.
    CHECK (NOT highlighted OR state = 'published')
);

-- At most one highlighted question per room.
CREATE UNIQUE INDEX questions_highlighted ON polls.questions (room_id) WHERE highlighted;
-- TOP order of the visible questions (ListQuestions default, snapshot top 10).
CREATE INDEX questions_top ON polls.questions (room_id, upvotes DESC, created_at, id)
    WHERE state IN ('published', 'answered');
-- NEWEST order, and the pending queue of managers.
CREATE INDEX questions_newest ON polls.questions (room_id, created_at DESC, id DESC);
-- Idempotent asks.
CREATE UNIQUE INDEX questions_request ON polls.questions (room_id, author_id, request_id)
    WHERE request_id IS NOT NULL;

-- One upvote per user per question.
CREATE TABLE polls.question_upvotes (
    question_id uuid NOT NULL REFERENCES polls.questions (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_id, user_id)
);
