//! Predictions, their outcomes and positions, stakes and settlements.
//! Every state change is conditional on the current state (timers may
//! fire twice, managers may retry); ledger movements go through the
//! double-entry tables of `points` in the same transaction.

use hearth_proto::hearth::polls::v1::{CancelReason, PointsReason};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Store, points};
use crate::{
    domain::points as rules,
    error::{PollsError, Result},
};

macro_rules! prediction_columns {
    () => {
        "id, room_id, title, state, lock_at, locked_at, ended_at, winning_outcome, cancel_reason, created_by, \
         created_at"
    };
}

/// Outcomes of predictions (`$1`) with their totals, in display order.
const OUTCOMES: &str = "SELECT o.prediction_id, o.outcome_id, o.title, \
         coalesce(sum(p.points), 0)::bigint AS total_points, count(p.user_id) AS predictors \
     FROM polls.prediction_outcomes o \
     LEFT JOIN polls.prediction_positions p ON p.prediction_id = o.prediction_id AND p.outcome_id = o.outcome_id \
     WHERE o.prediction_id = ANY($1) \
     GROUP BY o.prediction_id, o.outcome_id, o.title, o.position \
     ORDER BY o.prediction_id, o.position";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PredictionRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub title: String,
    /// active, locked, resolved or canceled.
    pub state: String,
    pub lock_at: OffsetDateTime,
    pub locked_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub winning_outcome: Option<String>,
    pub cancel_reason: Option<i16>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

impl PredictionRow {
    pub fn ended(&self) -> bool {
        matches!(self.state.as_str(), "resolved" | "canceled")
    }
}

/// An outcome with its pool totals.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutcomeRow {
    pub prediction_id: Uuid,
    pub outcome_id: String,
    pub title: String,
    pub total_points: i64,
    pub predictors: i64,
}

/// One user's position in a prediction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PositionRow {
    pub prediction_id: Uuid,
    pub user_id: Uuid,
    pub outcome_id: String,
    pub points: i64,
    pub payout: Option<i64>,
    pub opened_seq: i64,
}

/// A prediction to create.
#[derive(Debug, Clone)]
pub struct NewPrediction {
    pub id: Uuid,
    pub room: Uuid,
    pub draft: rules::Draft,
    pub created_by: Uuid,
    pub request_id: Option<String>,
}

/// What a stake returns, and a retry returns again.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Placed {
    pub prediction_id: Uuid,
    pub outcome_id: String,
    /// The caller's whole position after the stake.
    pub position_points: i64,
    pub balance_after: i64,
}

/// A stake to place.
#[derive(Debug, Clone)]
pub struct NewStake {
    pub prediction: Uuid,
    pub room: Uuid,
    pub user: Uuid,
    pub outcome: String,
    pub points: i64,
    pub request_id: String,
}

/// Locks the room's predictions against concurrent creation (the cap on
/// unresolved predictions).
pub async fn lock_room(tx: &mut Transaction<'_, Postgres>, room: Uuid) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('polls.predictions:' || $1::text, 0))")
        .bind(room)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The prediction a creator made with this request id, if any.
pub async fn by_request(
    tx: &mut Transaction<'_, Postgres>,
    creator: Uuid,
    request: &str,
) -> Result<Option<PredictionRow>> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        prediction_columns!(),
        " FROM polls.predictions WHERE created_by = $1 AND request_id = $2"
    ))
    .bind(creator)
    .bind(request)
    .fetch_optional(&mut **tx)
    .await?)
}

/// ACTIVE and LOCKED predictions of a room.
pub async fn unresolved_count(tx: &mut Transaction<'_, Postgres>, room: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM polls.predictions WHERE room_id = $1 AND state IN ('active', 'locked')",
    )
    .bind(room)
    .fetch_one(&mut **tx)
    .await?)
}

/// Inserts a prediction, its outcomes and its (empty) pool account; stakes
/// are accepted until `now() + window` (database time).
pub async fn insert(tx: &mut Transaction<'_, Postgres>, new: &NewPrediction) -> Result<PredictionRow> {
    let row: PredictionRow = sqlx::query_as(concat!(
        "INSERT INTO polls.predictions (id, room_id, title, state, lock_at, created_by, request_id) \
         VALUES ($1, $2, $3, 'active', now() + make_interval(secs => $4), $5, $6) RETURNING ",
        prediction_columns!()
    ))
    .bind(new.id)
    .bind(new.room)
    .bind(&new.draft.title)
    .bind(new.draft.window.as_secs_f64())
    .bind(new.created_by)
    .bind(&new.request_id)
    .fetch_one(&mut **tx)
    .await?;
    let (ids, titles): (Vec<String>, Vec<String>) = new.draft.outcomes.iter().cloned().unzip();
    sqlx::query(
        "INSERT INTO polls.prediction_outcomes (prediction_id, outcome_id, position, title) \
         SELECT $1, id, ord::smallint, title FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(id, title, ord)",
    )
    .bind(new.id)
    .bind(&ids)
    .bind(&titles)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO polls.points_accounts (id, room_id, kind, owner_id, balance) \
         VALUES (polls.points_account_id('pool', $1, $2), $1, 'pool', $2, 0)",
    )
    .bind(new.room)
    .bind(new.id)
    .execute(&mut **tx)
    .await?;
    Ok(row)
}

/// ACTIVE → LOCKED. `at_lock_time`: only once its lock time has passed
/// (the timer), recording the lock time as when it locked. None when the
/// prediction was not ACTIVE (or not yet due).
pub async fn lock(tx: &mut Transaction<'_, Postgres>, id: Uuid, at_lock_time: bool) -> Result<Option<PredictionRow>> {
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.predictions SET state = 'locked', \
             locked_at = CASE WHEN $2 THEN lock_at ELSE least(now(), lock_at) END \
         WHERE id = $1 AND state = 'active' AND (NOT $2 OR lock_at <= now()) RETURNING ",
        prediction_columns!()
    ))
    .bind(id)
    .bind(at_lock_time)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The prediction, locked for its settlement.
pub async fn for_update(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<PredictionRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", prediction_columns!(), " FROM polls.predictions WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// A prediction's outcomes with their totals, read in the transaction.
pub async fn outcomes_in(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Vec<OutcomeRow>> {
    Ok(sqlx::query_as(OUTCOMES).bind([id].as_slice()).fetch_all(&mut **tx).await?)
}

/// Every position of a prediction, in stake order.
pub async fn all_positions(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Vec<PositionRow>> {
    Ok(sqlx::query_as(
        "SELECT prediction_id, user_id, outcome_id, points, payout, opened_seq \
         FROM polls.prediction_positions WHERE prediction_id = $1 ORDER BY opened_seq",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Ends a prediction: RESOLVED with its winning outcome, or CANCELED with
/// a reason (an ACTIVE one is locked now on the way).
pub async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    winning: Option<&str>,
    cancel: Option<CancelReason>,
) -> Result<PredictionRow> {
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.predictions SET state = CASE WHEN $2::text IS NULL THEN 'canceled' ELSE 'resolved' END, \
             winning_outcome = $2, cancel_reason = $3, ended_at = now(), \
             locked_at = coalesce(locked_at, least(now(), lock_at)) \
         WHERE id = $1 AND state IN ('active', 'locked') RETURNING ",
        prediction_columns!()
    ))
    .bind(id)
    .bind(winning)
    .bind(cancel.map(|c| c as i16))
    .fetch_one(&mut **tx)
    .await?)
}

/// Moves points from a prediction's pool to its participants (payouts or
/// refunds) and records each position's payout; `paid[i]` goes to
/// `positions[i]`. Users are locked in account order, the whole pool must
/// be paid out, and every transfer is a balanced transaction with keys
/// unique per account (`payout:<prediction>` or `refund:<prediction>` on
/// the user side, `payout:<user>` or `refund:<user>` on the pool side), so
/// a settlement can never be paid twice.
/// Returns each participant's balance afterwards, in `positions` order.
pub async fn settle(
    tx: &mut Transaction<'_, Postgres>,
    room: Uuid,
    prediction: Uuid,
    positions: &[PositionRow],
    paid: &[i64],
    reason: PointsReason,
) -> Result<Vec<i64>> {
    let users: Vec<Uuid> = positions.iter().map(|p| p.user_id).collect();
    let pairs: Vec<(Uuid, Uuid)> = users.iter().map(|u| (room, *u)).collect();
    points::lock_accounts(tx, &pairs, points::today()).await?;
    let pool: i64 = sqlx::query_scalar(
        "SELECT balance FROM polls.points_accounts WHERE id = polls.points_account_id('pool', $1, $2) FOR UPDATE",
    )
    .bind(room)
    .bind(prediction)
    .fetch_one(&mut **tx)
    .await?;
    let total: i64 = paid.iter().sum();
    if total != pool {
        return Err(PollsError::Internal(format!(
            "prediction {prediction}: pool holds {pool}, settlement pays {total}"
        )));
    }
    let kind = if reason == PointsReason::PredictionPayout { "payout" } else { "refund" };
    let balances: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH input AS ( \
             SELECT usr, polls.points_account_id('user', $1, usr) AS account, amount, ord \
             FROM unnest($3::uuid[], $4::bigint[]) WITH ORDINALITY AS t(usr, amount, ord) \
         ), paid AS ( \
             SELECT i.*, gen_random_uuid() AS tx, a.balance + i.amount AS balance_after, \
                    $5::bigint - sum(i.amount) OVER (ORDER BY i.ord) AS pool_after \
             FROM input i JOIN polls.points_accounts a ON a.id = i.account WHERE i.amount > 0 \
         ), txs AS ( \
             INSERT INTO polls.points_transactions (id, room_id, reason, reference_id) \
             SELECT tx, $1, $6, $2 FROM paid ORDER BY ord \
         ), legs AS ( \
             INSERT INTO polls.points_entries (transaction_id, account_id, amount, balance_after, idempotency_key) \
             SELECT tx, account, amount, balance_after, idempotency_key FROM ( \
                 SELECT ord, 0 AS leg, tx, account, amount, balance_after, $7 || ':' || $2::text AS idempotency_key \
                 FROM paid \
                 UNION ALL \
                 SELECT ord, 1, tx, polls.points_account_id('pool', $1, $2), -amount, pool_after, \
                        $7 || ':' || usr::text \
                 FROM paid \
             ) l ORDER BY ord, leg \
         ), pool AS ( \
             UPDATE polls.points_accounts SET balance = balance - $8 WHERE id = polls.points_account_id('pool', $1, $2) \
         ), credited AS ( \
             UPDATE polls.points_accounts a SET balance = p.balance_after FROM paid p WHERE a.id = p.account \
             RETURNING a.owner_id, a.balance \
         ), positions AS ( \
             UPDATE polls.prediction_positions pp SET payout = i.amount FROM input i \
             WHERE pp.prediction_id = $2 AND pp.user_id = i.usr \
         ) \
         SELECT i.usr, coalesce(c.balance, a.balance, 0) FROM input i \
         JOIN polls.points_accounts a ON a.id = i.account \
         LEFT JOIN credited c ON c.owner_id = i.usr ORDER BY i.ord",
    )
    .bind(room)
    .bind(prediction)
    .bind(&users)
    .bind(paid)
    .bind(pool)
    .bind(reason as i16)
    .bind(kind)
    .bind(total)
    .fetch_all(&mut **tx)
    .await?;
    Ok(balances.into_iter().map(|(_, balance)| balance).collect())
}

/// Places a stake (see PredictionsService.PlacePrediction). A retry of a
/// request id returns the first result without touching anything. None:
/// the request id was taken meanwhile by a concurrent identical request
/// elsewhere; roll back and read the first result with `stake_result`.
pub async fn place(tx: &mut Transaction<'_, Postgres>, stake: &NewStake, welcome: i64) -> Result<Option<Placed>> {
    points::ensure_accounts(tx, &[(stake.room, stake.user)], welcome).await?;
    // Shared: stakes go on concurrently; settlement waits for them.
    let (state, open): (String, bool) =
        sqlx::query_as("SELECT state, lock_at > now() FROM polls.predictions WHERE id = $1 FOR SHARE")
            .bind(stake.prediction)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(not_found)?;
    let balance: i64 = sqlx::query_scalar(
        "SELECT balance FROM polls.points_accounts WHERE id = polls.points_account_id('user', $1, $2) FOR UPDATE",
    )
    .bind(stake.room)
    .bind(stake.user)
    .fetch_one(&mut **tx)
    .await?;
    // Under the account lock: an earlier attempt with this id has committed
    // or never will.
    if let Some(first) = stake_result_in(tx, stake.user, &stake.request_id).await? {
        return Ok(Some(first));
    }
    match state.as_str() {
        "resolved" | "canceled" => {
            return Err(PollsError::Precondition("prediction_ended", "the prediction has ended".into()));
        }
        "locked" => return Err(locked()),
        _ if !open => return Err(locked()),
        _ => {}
    }
    let current: Option<(String, i64)> = sqlx::query_as(
        "SELECT outcome_id, points FROM polls.prediction_positions WHERE prediction_id = $1 AND user_id = $2",
    )
    .bind(stake.prediction)
    .bind(stake.user)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((outcome, _)) = &current
        && *outcome != stake.outcome
    {
        return Err(PollsError::Precondition(
            "outcome_change_not_allowed",
            "you already staked on another outcome of this prediction".into(),
        ));
    }
    rules::stake(stake.points, current.as_ref().map_or(0, |c| c.1))?;
    if balance < stake.points {
        return Err(PollsError::Precondition(
            "insufficient_points",
            format!("you have {balance} points; this stake needs {}", stake.points),
        ));
    }
    let transaction = Uuid::now_v7();
    let balance_after: i64 = sqlx::query_scalar(
        "WITH usr AS ( \
             UPDATE polls.points_accounts SET balance = balance - $4 \
             WHERE id = polls.points_account_id('user', $1, $2) RETURNING balance \
         ), pool AS ( \
             UPDATE polls.points_accounts SET balance = balance + $4 \
             WHERE id = polls.points_account_id('pool', $1, $3) RETURNING balance \
         ), txs AS ( \
             INSERT INTO polls.points_transactions (id, room_id, reason, reference_id) VALUES ($5, $1, $6, $3) \
         ), legs AS ( \
             INSERT INTO polls.points_entries (transaction_id, account_id, amount, balance_after, idempotency_key) \
             SELECT $5, polls.points_account_id('user', $1, $2), -$4, usr.balance, 'stake:' || $7 FROM usr \
             UNION ALL \
             SELECT $5, polls.points_account_id('pool', $1, $3), $4, pool.balance, NULL FROM pool \
         ) \
         SELECT balance FROM usr",
    )
    .bind(stake.room)
    .bind(stake.user)
    .bind(stake.prediction)
    .bind(stake.points)
    .bind(transaction)
    .bind(PointsReason::PredictionStake as i16)
    .bind(&stake.request_id)
    .fetch_one(&mut **tx)
    .await?;
    let position_points: i64 = sqlx::query_scalar(
        "INSERT INTO polls.prediction_positions (prediction_id, user_id, outcome_id, points) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (prediction_id, user_id) DO UPDATE SET points = polls.prediction_positions.points + EXCLUDED.points \
         RETURNING points",
    )
    .bind(stake.prediction)
    .bind(stake.user)
    .bind(&stake.outcome)
    .bind(stake.points)
    .fetch_one(&mut **tx)
    .await?;
    let placed: Option<Placed> = sqlx::query_as(
        "INSERT INTO polls.prediction_stakes \
             (user_id, request_id, prediction_id, outcome_id, points, position_points, balance_after, transaction_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (user_id, request_id) DO NOTHING \
         RETURNING prediction_id, outcome_id, position_points, balance_after",
    )
    .bind(stake.user)
    .bind(&stake.request_id)
    .bind(stake.prediction)
    .bind(&stake.outcome)
    .bind(stake.points)
    .bind(position_points)
    .bind(balance_after)
    .bind(transaction)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(placed)
}

async fn stake_result_in(tx: &mut Transaction<'_, Postgres>, user: Uuid, request: &str) -> Result<Option<Placed>> {
    Ok(sqlx::query_as(
        "SELECT prediction_id, outcome_id, position_points, balance_after FROM polls.prediction_stakes \
         WHERE user_id = $1 AND request_id = $2",
    )
    .bind(user)
    .bind(request)
    .fetch_optional(&mut **tx)
    .await?)
}

fn locked() -> PollsError {
    PollsError::Precondition("prediction_locked", "the prediction no longer takes stakes".into())
}

pub(crate) fn not_found() -> PollsError {
    PollsError::NotFound("prediction_not_found", "no such prediction".into())
}

impl Store {
    pub async fn prediction(&self, id: Uuid) -> Result<Option<PredictionRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", prediction_columns!(), " FROM polls.predictions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The first result of a stake request.
    pub async fn stake_result(&self, user: Uuid, request: &str) -> Result<Option<Placed>> {
        Ok(sqlx::query_as(
            "SELECT prediction_id, outcome_id, position_points, balance_after FROM polls.prediction_stakes \
             WHERE user_id = $1 AND request_id = $2",
        )
        .bind(user)
        .bind(request)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A room's predictions, newest first, optionally of some states only.
    pub async fn predictions(
        &self,
        room: Uuid,
        states: &[&str],
        offset: u64,
        limit: u32,
    ) -> Result<Vec<PredictionRow>> {
        let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            prediction_columns!(),
            " FROM polls.predictions WHERE room_id = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2)) \
             ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT $4"
        ))
        .bind(room)
        .bind(&states)
        .bind(offset as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// ACTIVE and LOCKED predictions and those ended in the last 5 minutes,
    /// newest first, at most `limit`.
    pub async fn current_predictions(&self, room: Uuid, limit: i64) -> Result<Vec<PredictionRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            prediction_columns!(),
            " FROM polls.predictions WHERE room_id = $1 \
               AND (state IN ('active', 'locked') OR ended_at > now() - interval '5 minutes') \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(room)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Outcomes of predictions with their totals, in display order.
    pub async fn outcomes(&self, predictions: &[Uuid]) -> Result<Vec<OutcomeRow>> {
        Ok(sqlx::query_as(OUTCOMES).bind(predictions).fetch_all(&self.pool).await?)
    }

    /// A user's positions in some predictions.
    pub async fn positions_of(&self, user: Uuid, predictions: &[Uuid]) -> Result<Vec<PositionRow>> {
        Ok(sqlx::query_as(
            "SELECT prediction_id, user_id, outcome_id, points, payout, opened_seq \
             FROM polls.prediction_positions WHERE user_id = $1 AND prediction_id = ANY($2)",
        )
        .bind(user)
        .bind(predictions)
        .fetch_all(&self.pool)
        .await?)
    }
}
