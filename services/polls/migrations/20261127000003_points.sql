-- Predictions and the per-room virtual points ledger.
--
-- The ledger is double-entry: every movement is a transaction whose legs
-- (entries) sum to zero, across three kinds of accounts:
--   user      one per (room, user): the balance a viewer holds; never
--             negative (CHECK), cached in `balance`, changed only in the
--             statement that writes the entry, under the row lock.
--   earnings  one per room: the source every earned point is drawn from
--             (welcome bonus, participation). It is the issuer, so its
--             balance is the negative of everything issued; it caches no
--             balance (NULL) so that awarding points to thousands of
--             viewers never serialises on one hot row. Its balance is the
--             sum of its entries.
--   pool      one per prediction: the escrow stakes go into and payouts
--             and refunds come out of; never negative, 0 once settled.
-- Account ids are derived from what they belong to
-- (polls.points_account_id), so statements address them without a lookup.
-- Entries are append-only (no UPDATE or DELETE) and idempotent: a key
-- (welcome, earning source, stake request, payout, refund) is unique per
-- account, so a retried write can never credit or debit twice.

CREATE FUNCTION polls.points_account_id(kind text, room uuid, owner uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN md5(kind || ':' || room::text || ':' || coalesce(owner::text, ''))::uuid;

CREATE TABLE polls.points_accounts (
    id            uuid PRIMARY KEY,
    room_id       uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('user', 'earnings', 'pool')),
    -- The user (user accounts) or the prediction (pool accounts).
    owner_id      uuid,
    -- NULL exactly for the earnings account (see above).
    balance       bigint CHECK (balance >= 0),
    -- Participation earnings of the UTC day `earned_day` (daily cap).
    earned_day    date,
    earned_today  bigint NOT NULL DEFAULT 0 CHECK (earned_today >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'earnings') = (balance IS NULL)),
    CHECK ((kind = 'earnings') = (owner_id IS NULL)),
    CHECK (id = polls.points_account_id(kind, room_id, owner_id))
);

CREATE TABLE polls.points_transactions (
    id           uuid PRIMARY KEY,
    room_id      uuid NOT NULL,
    -- hearth.polls.v1.PointsReason.
    reason       smallint NOT NULL,
    -- The poll, quiz, question or prediction involved.
    reference_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE polls.points_entries (
    -- Order of application; per account it follows the row lock, so an
    -- account's entries in `seq` order replay its balance.
    seq             bigserial PRIMARY KEY,
    -- References polls.points_transactions and polls.points_accounts,
    -- checked once per statement by points_entries_check below rather
    -- than row by row (an award batch writes thousands of legs, and
    -- per-row foreign keys would lock the room's earnings account once
    -- per leg).
    transaction_id  uuid NOT NULL,
    account_id      uuid NOT NULL,
    amount          bigint NOT NULL CHECK (amount <> 0),
    -- The account's balance after this entry (NULL on the earnings account).
    balance_after   bigint CHECK (balance_after >= 0),
    idempotency_key text,
    UNIQUE (transaction_id, account_id)
);

CREATE INDEX points_entries_account ON polls.points_entries (account_id, seq DESC);
CREATE UNIQUE INDEX points_entries_idempotent ON polls.points_entries (account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Checked after every statement inserting entries: the legs it adds to
-- each transaction sum to zero, and every leg names an existing
-- transaction and account (neither is ever deleted, see below).
CREATE FUNCTION polls.points_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad uuid;
BEGIN
    -- The legs a statement adds to a transaction sum to zero; since every
    -- statement is checked, every transaction always balances. (Summing
    -- only the new legs keeps this check independent of the ledger's size.)
    SELECT n.transaction_id INTO bad
    FROM new_entries n
    GROUP BY n.transaction_id
    HAVING sum(n.amount) <> 0
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'points transaction % does not balance', bad USING ERRCODE = 'check_violation';
    END IF;
    SELECT n.transaction_id INTO bad FROM new_entries n
    WHERE NOT EXISTS (SELECT 1 FROM polls.points_transactions t WHERE t.id = n.transaction_id)
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'points transaction % does not exist', bad USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.account_id INTO bad FROM new_entries n
    WHERE NOT EXISTS (SELECT 1 FROM polls.points_accounts a WHERE a.id = n.account_id)
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'points account % does not exist', bad USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER points_entries_check AFTER INSERT ON polls.points_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION polls.points_entries_check();

-- The ledger is append-only: entries and transactions are never changed
-- or removed, accounts never removed (balances change only with entries).
CREATE FUNCTION polls.points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON polls.points_entries
    FOR EACH STATEMENT EXECUTE FUNCTION polls.points_append_only();
CREATE TRIGGER points_transactions_append_only BEFORE UPDATE OR DELETE ON polls.points_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION polls.points_append_only();
CREATE TRIGGER points_accounts_kept BEFORE DELETE ON polls.points_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION polls.points_append_only();

-- Predictions. Unresolved ones are ACTIVE (stakes until lock_at) or
-- LOCKED; they end RESOLVED (winners paid) or CANCELED (refunded).
CREATE TABLE polls.predictions (
    id               uuid PRIMARY KEY,
    room_id          uuid NOT NULL,
    title            text NOT NULL,
    state            text NOT NULL CHECK (state IN ('active', 'locked', 'resolved', 'canceled')),
    -- When stakes stop, whether or not the lock timer has fired yet.
    lock_at          timestamptz NOT NULL,
    locked_at        timestamptz,
    ended_at         timestamptz,
    winning_outcome  text,
    -- hearth.polls.v1.CancelReason.
    cancel_reason    smallint,
    created_by       uuid NOT NULL,
    request_id       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'resolved') = (winning_outcome IS NOT NULL)),
    CHECK ((state = 'canceled') = (cancel_reason IS NOT NULL)),
    CHECK ((state IN ('resolved', 'canceled')) = (ended_at IS NOT NULL))
);

CREATE INDEX predictions_room_created ON polls.predictions (room_id, created_at DESC, id DESC);
CREATE INDEX predictions_unresolved ON polls.predictions (room_id) WHERE state IN ('active', 'locked');
CREATE UNIQUE INDEX predictions_request ON polls.predictions (created_by, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE polls.prediction_outcomes (
    prediction_id uuid NOT NULL REFERENCES polls.predictions (id) ON DELETE CASCADE,
    -- "o1", "o2", … in display order.
    outcome_id    text NOT NULL,
    position      smallint NOT NULL,
    title         text NOT NULL,
    PRIMARY KEY (prediction_id, outcome_id)
);

-- One outcome per user per prediction; further stakes add to it.
CREATE TABLE polls.prediction_positions (
    prediction_id uuid NOT NULL,
    user_id       uuid NOT NULL,
    outcome_id    text NOT NULL,
    points        bigint NOT NULL CHECK (points > 0 AND points <= 250000),
    -- Paid back at resolution (0 when lost) or refunded at cancellation.
    payout        bigint CHECK (payout >= 0),
    -- Order of the first stake (payout tie-break "earlier stake").
    opened_seq    bigserial NOT NULL,
    opened_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prediction_id, user_id),
    FOREIGN KEY (prediction_id, outcome_id) REFERENCES polls.prediction_outcomes (prediction_id, outcome_id)
);

-- Each PlacePrediction by request id, with the result a retry returns.
CREATE TABLE polls.prediction_stakes (
    user_id         uuid NOT NULL,
    request_id      text NOT NULL,
    prediction_id   uuid NOT NULL REFERENCES polls.predictions (id) ON DELETE CASCADE,
    outcome_id      text NOT NULL,
    points          bigint NOT NULL CHECK (points > 0),
    position_points bigint NOT NULL,
    balance_after   bigint NOT NULL,
    transaction_id  uuid NOT NULL REFERENCES polls.points_transactions (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, request_id)
);
