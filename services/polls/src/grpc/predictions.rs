//! PredictionsService handlers and the points ledger's entry points.
//!
//! Predictions: managers create them (ACTIVE, stakes until the lock time),
//! lock them (or the `PredictionLock` timer does at the lock time), resolve
//! them (winners paid from the pool, every participant told personally) or
//! cancel them (everyone refunded; the `PredictionExpire` timer does so 24 h
//! after locking if nobody resolved). Lifecycle events go through the
//! outbox on `.polls`; pool totals on `.polls.live`, coalesced.
//!
//! Points: a per-(room, user) account in a double-entry ledger
//! (store::points). Welcome bonus (`welcome_points`): credited once, when
//! the account is opened, which happens the first time a member of the
//! room earns points, stakes, or reads their balance (GetPointsBalance, or
//! the room snapshot of GetRoomInteractions); guests have no account and
//! read 0. Participation earnings (`award_points`: poll votes, quiz
//! answers, published Q&A questions) are idempotent per (user, room,
//! source) and capped at `daily_earn_cap` per UTC day; the welcome bonus,
//! payouts and refunds do not count toward the cap. Watch-time earnings
//! are not credited: they need presence time, which this service does not
//! receive (docs/polls.md).

use std::collections::HashMap;

use hearth_platform::{validate::Page, wkt};
use hearth_proto::hearth::{
    events::v1::user_event,
    polls::v1::{self as pb, CancelReason, PointsReason, interaction_event::Kind},
    recommendations::v1::SignalKind,
    rooms::v1::RoomState,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, PollsApi, Room, uuid};
use crate::{
    domain::{points as rules, text},
    error::{PollsError, Result},
    live,
    store::{
        NewEarning, NewPrediction, NewStake, OutcomeRow, PositionRow, PredictionRow,
        outbox::enqueue,
        predictions::{self as store, not_found},
        timers::{self, TimerKind},
    },
};

/// Points earned by taking part, credited idempotently per `source`.
#[derive(Debug, Clone)]
pub struct Award {
    pub room: Uuid,
    pub user: Uuid,
    pub reason: pb::PointsReason,
    pub amount: i64,
    /// Idempotency key of the earning event, e.g. `poll_vote:<poll_id>`;
    /// unique per (user, room).
    pub source: String,
    /// The poll, quiz or question involved.
    pub reference: Option<Uuid>,
}

/// Most predictions in the room snapshot.
const SNAPSHOT_MAX: i64 = 10;

fn state_pb(state: &str) -> pb::PredictionState {
    match state {
        "active" => pb::PredictionState::Active,
        "locked" => pb::PredictionState::Locked,
        "resolved" => pb::PredictionState::Resolved,
        "canceled" => pb::PredictionState::Canceled,
        _ => pb::PredictionState::Unspecified,
    }
}

fn state_name(state: pb::PredictionState) -> Option<&'static str> {
    match state {
        pb::PredictionState::Active => Some("active"),
        pb::PredictionState::Locked => Some("locked"),
        pb::PredictionState::Resolved => Some("resolved"),
        pb::PredictionState::Canceled => Some("canceled"),
        pb::PredictionState::Unspecified => None,
    }
}

fn position_pb(position: &PositionRow) -> pb::PredictionPosition {
    pb::PredictionPosition {
        outcome_id: position.outcome_id.clone(),
        points: position.points.max(0) as u64,
        payout: position.payout.unwrap_or(0).max(0) as u64,
    }
}

/// A prediction as `pb`: outcomes with totals, and the viewer's position
/// (None for broadcasts).
fn prediction_pb(row: &PredictionRow, outcomes: &[OutcomeRow], mine: Option<&PositionRow>) -> pb::Prediction {
    let outcomes: Vec<pb::PredictionOutcome> = outcomes
        .iter()
        .map(|o| pb::PredictionOutcome {
            outcome_id: o.outcome_id.clone(),
            title: o.title.clone(),
            total_points: o.total_points.max(0) as u64,
            predictor_count: o.predictors.max(0) as u64,
        })
        .collect();
    pb::Prediction {
        prediction_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        title: row.title.clone(),
        total_points: outcomes.iter().map(|o| o.total_points).sum(),
        outcomes,
        state: state_pb(&row.state) as i32,
        lock_time: Some(wkt::timestamp(row.lock_at)),
        winning_outcome_id: row.winning_outcome.clone().unwrap_or_default(),
        cancel_reason: row.cancel_reason.map_or(0, i32::from),
        created_by: row.created_by.to_string(),
        create_time: Some(wkt::timestamp(row.created_at)),
        locked_time: row.locked_at.map(wkt::timestamp),
        end_time: row.ended_at.map(wkt::timestamp),
        my_position: mine.map(position_pb),
    }
}

/// Outcome totals computed from positions (under the settlement's lock),
/// titles from `titled`.
fn totals(titled: &[OutcomeRow], positions: &[PositionRow]) -> Vec<OutcomeRow> {
    titled
        .iter()
        .map(|o| {
            let on: Vec<&PositionRow> = positions.iter().filter(|p| p.outcome_id == o.outcome_id).collect();
            OutcomeRow { total_points: on.iter().map(|p| p.points).sum(), predictors: on.len() as i64, ..o.clone() }
        })
        .collect()
}

fn ended() -> PollsError {
    PollsError::Precondition("prediction_ended", "the prediction has ended".into())
}

fn already_resolved() -> PollsError {
    PollsError::Precondition("already_resolved", "the prediction was already resolved".into())
}

fn unknown_outcome(field: &str) -> PollsError {
    PollsError::field(field, "unknown_outcome", "is not an outcome of this prediction")
}

/// How a settlement ended a prediction, for events.
struct Settled {
    row: PredictionRow,
    outcomes: Vec<OutcomeRow>,
    positions: Vec<PositionRow>,
    balances: Vec<i64>,
}

impl PollsApi {
    /// Predictions as one viewer sees them (positions of `viewer`).
    async fn predictions_for(&self, rows: &[PredictionRow], viewer: Option<Uuid>) -> Result<Vec<pb::Prediction>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut outcomes: HashMap<Uuid, Vec<OutcomeRow>> = HashMap::new();
        for outcome in self.store.outcomes(&ids).await? {
            outcomes.entry(outcome.prediction_id).or_default().push(outcome);
        }
        let mine: HashMap<Uuid, PositionRow> = match viewer {
            Some(user) => {
                self.store.positions_of(user, &ids).await?.into_iter().map(|p| (p.prediction_id, p)).collect()
            }
            None => HashMap::new(),
        };
        Ok(rows
            .iter()
            .map(|row| prediction_pb(row, outcomes.get(&row.id).map_or(&[], Vec::as_slice), mine.get(&row.id)))
            .collect())
    }

    async fn prediction_for(&self, row: &PredictionRow, viewer: Option<Uuid>) -> Result<pb::Prediction> {
        self.predictions_for(std::slice::from_ref(row), viewer)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| PollsError::Internal("prediction vanished".into()))
    }

    /// The prediction and its room, managed by the caller.
    async fn managed_prediction(&self, caller: &Caller, raw: &str) -> Result<(PredictionRow, Room)> {
        let id = uuid("prediction_id", raw)?;
        let row = self.store.prediction(id).await?.ok_or_else(not_found)?;
        let room = self.managed(caller, row.room_id).await?;
        Ok((row, room))
    }

    pub(crate) async fn create_prediction(
        &self,
        caller: Caller,
        req: pb::CreatePredictionRequest,
    ) -> Result<pb::CreatePredictionResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let window = req.prediction_window.as_ref().and_then(wkt::std_duration);
        let draft = rules::draft(&req.title, &req.outcomes, window)?;
        let request_id = text::request_id("request_id", &req.request_id, false)?;
        let room = self.managed(&caller, room_id).await?;
        let mut tx = self.store.pool.begin().await?;
        store::lock_room(&mut tx, room.id).await?;
        if let Some(request) = &request_id
            && let Some(existing) = store::by_request(&mut tx, caller.id, request).await?
        {
            tx.rollback().await?;
            return Ok(pb::CreatePredictionResponse { prediction: Some(self.prediction_for(&existing, None).await?) });
        }
        if store::unresolved_count(&mut tx, room.id).await? >= rules::MAX_UNRESOLVED {
            return Err(PollsError::Exhausted(
                "too_many_predictions",
                format!("a room may have at most {} unresolved predictions", rules::MAX_UNRESOLVED),
                None,
            ));
        }
        let new = NewPrediction { id: Uuid::now_v7(), room: room.id, draft, created_by: caller.id, request_id };
        let row = store::insert(&mut tx, &new).await?;
        timers::schedule(&mut tx, TimerKind::PredictionLock, row.id, row.lock_at).await?;
        let outcomes: Vec<OutcomeRow> = new
            .draft
            .outcomes
            .iter()
            .map(|(id, title)| OutcomeRow {
                prediction_id: row.id,
                outcome_id: id.clone(),
                title: title.clone(),
                total_points: 0,
                predictors: 0,
            })
            .collect();
        let prediction = prediction_pb(&row, &outcomes, None);
        let out = self.events.lifecycle(
            room.id,
            Kind::PredictionStarted(pb::PredictionStarted { prediction: Some(prediction.clone()) }),
        );
        let id = enqueue(&mut tx, &out).await?;
        tx.commit().await?;
        self.deliver(vec![(id, out)]).await;
        Ok(pb::CreatePredictionResponse { prediction: Some(prediction) })
    }

    pub(crate) async fn get_prediction(
        &self,
        caller: Caller,
        req: pb::GetPredictionRequest,
    ) -> Result<pb::GetPredictionResponse> {
        let id = uuid("prediction_id", &req.prediction_id)?;
        let row = self.store.prediction(id).await?.ok_or_else(not_found)?;
        self.viewable(&caller, row.room_id).await?;
        Ok(pb::GetPredictionResponse { prediction: Some(self.prediction_for(&row, Some(caller.id)).await?) })
    }

    pub(crate) async fn list_predictions(
        &self,
        caller: Caller,
        req: pb::ListPredictionsRequest,
    ) -> Result<pb::ListPredictionsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        if req.states.len() > 4 {
            return Err(PollsError::field("states", "invalid_argument", "at most 4 states"));
        }
        let mut states = Vec::with_capacity(req.states.len());
        for raw in &req.states {
            let name = pb::PredictionState::try_from(*raw)
                .ok()
                .and_then(state_name)
                .ok_or_else(|| PollsError::field("states", "invalid_argument", "unknown prediction state"))?;
            if !states.contains(&name) {
                states.push(name);
            }
        }
        states.sort_unstable();
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &states.join(",")])?;
        let room = self.viewable(&caller, room_id).await?;
        let rows = self.store.predictions(room.id, &states, page.offset, page.size).await?;
        Ok(pb::ListPredictionsResponse {
            predictions: self.predictions_for(&rows, Some(caller.id)).await?,
            page: page.response(rows.len()),
        })
    }

    pub(crate) async fn lock_prediction(
        &self,
        caller: Caller,
        req: pb::LockPredictionRequest,
    ) -> Result<pb::LockPredictionResponse> {
        let (row, _) = self.managed_prediction(&caller, &req.prediction_id).await?;
        let row = match self.lock_now(row.id, false).await? {
            Some(locked) => locked,
            None => {
                let current = self.store.prediction(row.id).await?.ok_or_else(not_found)?;
                if current.ended() {
                    return Err(ended());
                }
                current
            }
        };
        Ok(pb::LockPredictionResponse { prediction: Some(self.prediction_for(&row, Some(caller.id)).await?) })
    }

    /// ACTIVE → LOCKED (by a manager, or by the timer once the lock time
    /// passed): expiry timer, `prediction_locked`. None when it did not
    /// change (already locked or ended, or not due yet for the timer).
    async fn lock_now(&self, id: Uuid, at_lock_time: bool) -> Result<Option<PredictionRow>> {
        let mut tx = self.store.pool.begin().await?;
        let Some(row) = store::lock(&mut tx, id, at_lock_time).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let locked_at = row.locked_at.unwrap_or_else(OffsetDateTime::now_utc);
        timers::cancel(&mut tx, TimerKind::PredictionLock, id).await?;
        timers::schedule(&mut tx, TimerKind::PredictionExpire, id, locked_at + rules::EXPIRY).await?;
        let outcomes = store::outcomes_in(&mut tx, id).await?;
        let prediction = prediction_pb(&row, &outcomes, None);
        let out = self
            .events
            .lifecycle(row.room_id, Kind::PredictionLocked(pb::PredictionLocked { prediction: Some(prediction) }));
        let outbox = enqueue(&mut tx, &out).await?;
        tx.commit().await?;
        self.deliver(vec![(outbox, out)]).await;
        Ok(Some(row))
    }

    pub(crate) async fn resolve_prediction(
        &self,
        caller: Caller,
        req: pb::ResolvePredictionRequest,
    ) -> Result<pb::ResolvePredictionResponse> {
        let (row, _) = self.managed_prediction(&caller, &req.prediction_id).await?;
        let titled = self.store.outcomes(&[row.id]).await?;
        let winning = req.winning_outcome_id.trim();
        if !titled.iter().any(|o| o.outcome_id == winning) {
            return Err(unknown_outcome("winning_outcome_id"));
        }
        let mut tx = self.store.pool.begin().await?;
        let current = store::for_update(&mut tx, row.id).await?.ok_or_else(not_found)?;
        match current.state.as_str() {
            "canceled" => {
                return Err(PollsError::Precondition("prediction_canceled", "the prediction was cancelled".into()));
            }
            "resolved" if current.winning_outcome.as_deref() == Some(winning) => {
                tx.rollback().await?;
                return Ok(pb::ResolvePredictionResponse {
                    prediction: Some(self.prediction_for(&current, Some(caller.id)).await?),
                });
            }
            "resolved" => return Err(already_resolved()),
            _ => {}
        }
        let was_active = current.state == "active";
        let positions = store::all_positions(&mut tx, row.id).await?;
        let settlement = rules::payout(
            &positions
                .iter()
                .map(|p| rules::Position { outcome: p.outcome_id.clone(), points: p.points, order: p.opened_seq })
                .collect::<Vec<_>>(),
            winning,
        );
        let reason = if settlement.refunded { PointsReason::PredictionRefund } else { PointsReason::PredictionPayout };
        let balances = store::settle(&mut tx, row.room_id, row.id, &positions, &settlement.payouts, reason).await?;
        let finished = store::finish(&mut tx, row.id, Some(winning), None).await?;
        let settled = self
            .end_in(tx, finished, &titled, positions, &settlement.payouts, balances, was_active, |p| {
                Kind::PredictionResolved(pb::PredictionResolved { prediction: Some(p) })
            })
            .await?;
        let won = |p: &PositionRow| !settlement.refunded && p.outcome_id == winning;
        self.tell_participants(&settled, won);
        let mine = settled.positions.iter().find(|p| p.user_id == caller.id);
        Ok(pb::ResolvePredictionResponse { prediction: Some(prediction_pb(&settled.row, &settled.outcomes, mine)) })
    }

    /// Writes the end of a prediction whose settlement is in `tx`: timers
    /// removed, lifecycle events (`prediction_locked` first when it was
    /// still ACTIVE) in the outbox, commit, publish.
    #[allow(clippy::too_many_arguments)]
    async fn end_in(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        row: PredictionRow,
        titled: &[OutcomeRow],
        mut positions: Vec<PositionRow>,
        paid: &[i64],
        balances: Vec<i64>,
        was_active: bool,
        event: impl FnOnce(pb::Prediction) -> Kind,
    ) -> Result<Settled> {
        timers::cancel(&mut tx, TimerKind::PredictionLock, row.id).await?;
        timers::cancel(&mut tx, TimerKind::PredictionExpire, row.id).await?;
        for (position, amount) in positions.iter_mut().zip(paid) {
            position.payout = Some(*amount);
        }
        let outcomes = totals(titled, &positions);
        let mut outbox = Vec::new();
        if was_active {
            let locked = PredictionRow {
                state: "locked".into(),
                ended_at: None,
                winning_outcome: None,
                cancel_reason: None,
                ..row.clone()
            };
            let out = self.events.lifecycle(
                row.room_id,
                Kind::PredictionLocked(pb::PredictionLocked {
                    prediction: Some(prediction_pb(&locked, &outcomes, None)),
                }),
            );
            outbox.push((enqueue(&mut tx, &out).await?, out));
        }
        let out = self.events.lifecycle(row.room_id, event(prediction_pb(&row, &outcomes, None)));
        outbox.push((enqueue(&mut tx, &out).await?, out));
        tx.commit().await?;
        self.deliver(outbox).await;
        Ok(Settled { row, outcomes, positions, balances })
    }

    /// Sends every participant their `prediction_settled` (personal, best
    /// effort, in the background).
    fn tell_participants(&self, settled: &Settled, won: impl Fn(&PositionRow) -> bool) {
        let state = state_pb(&settled.row.state) as i32;
        let events: Vec<(Uuid, pb::PredictionSettlement)> = settled
            .positions
            .iter()
            .zip(&settled.balances)
            .map(|(position, balance)| {
                (
                    position.user_id,
                    pb::PredictionSettlement {
                        room_id: settled.row.room_id.to_string(),
                        prediction_id: settled.row.id.to_string(),
                        title: settled.row.title.clone(),
                        state,
                        position: Some(position_pb(position)),
                        won: won(position),
                        balance: *balance,
                    },
                )
            })
            .collect();
        let api = self.clone();
        tokio::spawn(async move {
            for (user, settlement) in events {
                api.events.personal(user, "prediction", user_event::Kind::PredictionSettled(settlement)).await;
            }
        });
    }

    pub(crate) async fn cancel_prediction(
        &self,
        caller: Caller,
        req: pb::CancelPredictionRequest,
    ) -> Result<pb::CancelPredictionResponse> {
        let (row, _) = self.managed_prediction(&caller, &req.prediction_id).await?;
        let row = match self.cancel(row.id, CancelReason::Manager).await? {
            Some(settled) => {
                let mine = settled.positions.iter().find(|p| p.user_id == caller.id);
                return Ok(pb::CancelPredictionResponse {
                    prediction: Some(prediction_pb(&settled.row, &settled.outcomes, mine)),
                });
            }
            None => self.store.prediction(row.id).await?.ok_or_else(not_found)?,
        };
        match row.state.as_str() {
            "canceled" => {
                Ok(pb::CancelPredictionResponse { prediction: Some(self.prediction_for(&row, Some(caller.id)).await?) })
            }
            _ => Err(already_resolved()),
        }
    }

    /// Cancels an unresolved prediction and refunds every stake; None when
    /// it had already ended (cancelled or resolved).
    async fn cancel(&self, id: Uuid, reason: CancelReason) -> Result<Option<Settled>> {
        let titled = self.store.outcomes(&[id]).await?;
        let mut tx = self.store.pool.begin().await?;
        let current = store::for_update(&mut tx, id).await?.ok_or_else(not_found)?;
        if current.ended() {
            tx.rollback().await?;
            return Ok(None);
        }
        let positions = store::all_positions(&mut tx, id).await?;
        let refunds: Vec<i64> = positions.iter().map(|p| p.points).collect();
        let balances =
            store::settle(&mut tx, current.room_id, id, &positions, &refunds, PointsReason::PredictionRefund).await?;
        let finished = store::finish(&mut tx, id, None, Some(reason)).await?;
        let settled = self
            .end_in(tx, finished, &titled, positions, &refunds, balances, false, |p| {
                Kind::PredictionCanceled(pb::PredictionCanceled { prediction: Some(p) })
            })
            .await?;
        self.tell_participants(&settled, |_| false);
        Ok(Some(settled))
    }

    pub(crate) async fn place_prediction(
        &self,
        caller: Caller,
        req: pb::PlacePredictionRequest,
    ) -> Result<pb::PlacePredictionResponse> {
        let id = uuid("prediction_id", &req.prediction_id)?;
        if req.outcome_id.is_empty() {
            return Err(PollsError::field("outcome_id", "unknown_outcome", "is required"));
        }
        rules::stake(req.points, 0)?;
        let request_id = text::request_id("request_id", &req.request_id, true)?
            .ok_or_else(|| PollsError::field("request_id", "request_id_required", "is required"))?;
        let row = self.store.prediction(id).await?.ok_or_else(not_found)?;
        let room = self.participant(&caller, row.room_id).await?;
        let outcomes = self.store.outcomes(&[id]).await?;
        if !outcomes.iter().any(|o| o.outcome_id == req.outcome_id) {
            return Err(unknown_outcome("outcome_id"));
        }
        let stake = NewStake {
            prediction: id,
            room: room.id,
            user: caller.id,
            outcome: req.outcome_id,
            points: req.points,
            request_id,
        };
        let mut tx = self.store.pool.begin().await?;
        let placed = match store::place(&mut tx, &stake, self.config.welcome_points).await? {
            Some(placed) => {
                tx.commit().await?;
                self.live.touch(live::Item::Prediction { room: room.id, prediction: id });
                self.signals.emit(SignalKind::Prediction, caller.id, &room.facts());
                placed
            }
            None => {
                tx.rollback().await?;
                self.store
                    .stake_result(caller.id, &stake.request_id)
                    .await?
                    .ok_or_else(|| PollsError::Internal("stake vanished".into()))?
            }
        };
        Ok(pb::PlacePredictionResponse {
            position: Some(pb::PredictionPosition {
                outcome_id: placed.outcome_id,
                points: placed.position_points.max(0) as u64,
                payout: 0,
            }),
            balance: placed.balance_after,
        })
    }

    pub(crate) async fn get_points_balance(
        &self,
        caller: Caller,
        req: pb::GetPointsBalanceRequest,
    ) -> Result<pb::GetPointsBalanceResponse> {
        let room = self.viewable(&caller, uuid("room_id", &req.room_id)?).await?;
        // Guests hold no points (a former member's account waits for them
        // to join again); an archived room opens no new accounts.
        let (balance, earned_today) = if !room.caller.member {
            (0, 0)
        } else if room.state == RoomState::Archived {
            self.store.points_account(room.id, caller.id).await?.unwrap_or((0, 0))
        } else {
            self.store.member_points(room.id, caller.id, self.config.welcome_points).await?
        };
        Ok(pb::GetPointsBalanceResponse { balance, earned_today, daily_cap: self.config.daily_earn_cap })
    }

    pub(crate) async fn list_points_transactions(
        &self,
        caller: Caller,
        req: pb::ListPointsTransactionsRequest,
    ) -> Result<pb::ListPointsTransactionsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let page = Page::parse(req.page.as_ref(), &[&req.room_id])?;
        let room = self.viewable(&caller, room_id).await?;
        let rows = self.store.points_entries(room.id, caller.id, page.offset, page.size).await?;
        Ok(pb::ListPointsTransactionsResponse {
            page: page.response(rows.len()),
            transactions: rows
                .into_iter()
                .map(|row| pb::PointsTransaction {
                    transaction_id: row.transaction_id.to_string(),
                    amount: row.amount,
                    balance_after: row.balance_after,
                    reason: i32::from(row.reason),
                    reference_id: row.reference_id.map(|id| id.to_string()).unwrap_or_default(),
                    create_time: Some(wkt::timestamp(row.created_at)),
                })
                .collect(),
        })
    }

    /// Timer: an ACTIVE prediction reaches its lock time.
    pub(crate) async fn lock_prediction_at_time(&self, prediction: Uuid) -> Result<()> {
        self.lock_now(prediction, true).await?;
        Ok(())
    }

    /// Timer: a LOCKED prediction unresolved for 24 h is refunded.
    pub(crate) async fn expire_prediction(&self, prediction: Uuid) -> Result<()> {
        match self.store.prediction(prediction).await? {
            Some(row) if row.state == "locked" => {
                self.cancel(prediction, CancelReason::Expired).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Live: publishes a prediction's pool totals (`.polls.live`).
    pub(crate) async fn publish_prediction_pool(&self, room: Uuid, prediction: Uuid) -> Result<()> {
        let outcomes = self.store.outcomes(&[prediction]).await?;
        if outcomes.is_empty() {
            return Ok(());
        }
        let outcomes: Vec<pb::PredictionOutcome> = outcomes
            .into_iter()
            .map(|o| pb::PredictionOutcome {
                outcome_id: o.outcome_id,
                title: o.title,
                total_points: o.total_points.max(0) as u64,
                predictor_count: o.predictors.max(0) as u64,
            })
            .collect();
        let total_points = outcomes.iter().map(|o| o.total_points).sum();
        let kind = Kind::PredictionUpdated(pb::PredictionUpdated {
            prediction_id: prediction.to_string(),
            outcomes,
            total_points,
        });
        self.events.live(room, kind).await;
        Ok(())
    }

    /// Credits participation points (idempotent per source, daily cap),
    /// opening accounts with the welcome bonus where needed; a batch of
    /// any size takes one transaction of four statements.
    pub(crate) async fn award_points(&self, awards: &[Award]) -> Result<()> {
        let earnings: Vec<NewEarning> = awards
            .iter()
            .map(|a| NewEarning {
                room: a.room,
                user: a.user,
                reason: a.reason,
                amount: a.amount,
                source: a.source.clone(),
                reference: a.reference,
            })
            .collect();
        self.store.award(&earnings, self.config.welcome_points, self.config.daily_earn_cap).await?;
        Ok(())
    }

    /// Unresolved and recently ended predictions of a room (snapshot).
    pub(crate) async fn room_predictions(&self, caller: &Caller, room: &Room) -> Result<Vec<pb::Prediction>> {
        let rows = self.store.current_predictions(room.id, SNAPSHOT_MAX).await?;
        self.predictions_for(&rows, Some(caller.id)).await
    }

    /// A member's balance in a room (their account is opened with the
    /// welcome bonus on this first look). Callers pass members only.
    pub(crate) async fn points_balance(&self, room: Uuid, user: Uuid) -> Result<i64> {
        Ok(self.store.member_points(room, user, self.config.welcome_points).await?.0)
    }
}
