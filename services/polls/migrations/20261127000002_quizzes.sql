-- Kahoot-style quizzes: the quiz, its questions (with the correct option
-- ids, never sent to participants before a question closes), one answer
-- per participant per question, and each participant's standing in the
-- quiz (running totals while it runs; the final rank once it finished).
-- Room leaderboards are the sum of a room's quiz standings.

CREATE TABLE polls.quizzes (
    id                uuid PRIMARY KEY,
    room_id           uuid NOT NULL,
    title             text NOT NULL,
    state             text NOT NULL CHECK (state IN ('draft', 'running', 'finished')),
    question_count    integer NOT NULL CHECK (question_count BETWEEN 1 AND 50),
    -- Position of the last revealed question; NULL before the first reveal.
    current_index     integer,
    created_by        uuid NOT NULL,
    request_id        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    ended_at          timestamptz,
    -- Written when the quiz finishes.
    participant_count bigint
);

CREATE INDEX quizzes_room_created ON polls.quizzes (room_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX quizzes_request ON polls.quizzes (created_by, request_id) WHERE request_id IS NOT NULL;
-- At most one running quiz per room.
CREATE UNIQUE INDEX quizzes_one_running ON polls.quizzes (room_id) WHERE state = 'running';

CREATE TABLE polls.quiz_questions (
    id                 uuid PRIMARY KEY,
    quiz_id            uuid NOT NULL REFERENCES polls.quizzes (id) ON DELETE CASCADE,
    position           integer NOT NULL,
    text               text NOT NULL,
    -- hearth.polls.v1.QuestionKind.
    kind               smallint NOT NULL,
    -- [{"id": "o1", "text": "…"}, …] in display order.
    options            jsonb NOT NULL,
    correct_option_ids text[] NOT NULL,
    time_limit_ms      integer NOT NULL CHECK (time_limit_ms BETWEEN 5000 AND 120000),
    points             integer NOT NULL CHECK (points BETWEEN 0 AND 2000),
    image_url          text NOT NULL DEFAULT '',
    revealed_at        timestamptz,
    -- revealed_at + time limit: answers timed after this are refused.
    closes_at          timestamptz,
    -- Set once, when the question is scored (timer, next reveal or EndQuiz).
    closed_at          timestamptz,
    answered_count     bigint,
    correct_count      bigint,
    UNIQUE (quiz_id, position)
);

-- One answer per participant per question.
CREATE TABLE polls.quiz_answers (
    question_id  uuid NOT NULL REFERENCES polls.quiz_questions (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    quiz_id      uuid NOT NULL,
    option_ids   text[] NOT NULL,
    response_ms  integer NOT NULL CHECK (response_ms >= 0),
    answered_at  timestamptz NOT NULL,
    -- Scored when the question closes.
    correct      boolean,
    base_points  integer,
    streak_bonus integer,
    streak       integer,
    PRIMARY KEY (question_id, user_id)
);

-- Standings: a participant's totals in one quiz. final_rank is set when
-- the quiz finishes (competition ranking on score; ties listed by
-- total_response_ms, then user_id).
CREATE TABLE polls.quiz_standings (
    quiz_id           uuid NOT NULL REFERENCES polls.quizzes (id) ON DELETE CASCADE,
    room_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    score             bigint NOT NULL DEFAULT 0,
    correct_answers   integer NOT NULL DEFAULT 0,
    answered          integer NOT NULL DEFAULT 0,
    streak            integer NOT NULL DEFAULT 0,
    -- Sum of response times of correct answers.
    total_response_ms bigint NOT NULL DEFAULT 0,
    final_rank        integer,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (quiz_id, user_id)
);

CREATE INDEX quiz_standings_room_user ON polls.quiz_standings (room_id, user_id);
CREATE INDEX quiz_standings_final ON polls.quiz_standings (quiz_id, final_rank, total_response_ms, user_id)
    WHERE final_rank IS NOT NULL;
