//! The points ledger (double-entry; see migrations/…_points.sql): user
//! accounts per (room, user), an `earnings` source account per room and a
//! `pool` escrow account per prediction. Every movement is a transaction
//! whose legs sum to zero (checked by the database after each insert),
//! user and pool balances never go negative (CHECK constraints, updated in
//! the statement that writes the entry), and entries carry idempotency
//! keys unique per account.
//!
//! Locking: user accounts are locked in account-id order by every writer
//! that touches more than one (award batches, payouts), so concurrent
//! batches never deadlock; a stake locks its prediction (shared), then its
//! one user account, then the pool.

use std::collections::{HashMap, HashSet};

use hearth_proto::hearth::polls::v1::PointsReason;
use sqlx::{Postgres, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Store;
use crate::{
    domain::points::{self as rules, Account, Earning},
    error::Result,
};

/// Idempotency key of the welcome bonus on a user account.
pub const WELCOME_KEY: &str = "welcome";

/// One earning to credit (the store's side of `grpc::predictions::Award`).
#[derive(Debug, Clone)]
pub struct NewEarning {
    pub room: Uuid,
    pub user: Uuid,
    pub reason: PointsReason,
    pub amount: i64,
    pub source: String,
    pub reference: Option<Uuid>,
}

/// A user account locked for an update.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedAccount {
    pub id: Uuid,
    pub room_id: Uuid,
    pub owner_id: Uuid,
    pub balance: i64,
    /// Earned today toward the cap.
    pub earned_today: i64,
}

/// One movement on a user's account, as ListPointsTransactions shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub transaction_id: Uuid,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: i16,
    pub reference_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// The UTC day earnings count toward.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Creates the user accounts of (room, user) pairs that have none yet,
/// each with the welcome bonus drawn from its room's earnings account
/// (created too when needed; one ledger transaction per room), in one
/// statement. Existing accounts are
/// left alone (and not locked); returns how many were created.
pub async fn ensure_accounts(tx: &mut Transaction<'_, Postgres>, pairs: &[(Uuid, Uuid)], welcome: i64) -> Result<u64> {
    let (rooms, users): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    let created: i64 = sqlx::query_scalar(
        "WITH input AS ( \
             SELECT DISTINCT room, usr FROM unnest($1::uuid[], $2::uuid[]) AS t(room, usr) \
         ), earnings AS ( \
             INSERT INTO polls.points_accounts (id, room_id, kind) \
             SELECT DISTINCT polls.points_account_id('earnings', room, NULL), room, 'earnings' FROM input \
             ON CONFLICT (id) DO NOTHING \
         ), created AS ( \
             INSERT INTO polls.points_accounts (id, room_id, kind, owner_id, balance) \
             SELECT polls.points_account_id('user', room, usr), room, 'user', usr, $3 FROM input ORDER BY 1 \
             ON CONFLICT (id) DO NOTHING \
             RETURNING id, room_id \
         ), rooms AS ( \
             SELECT room_id, count(*) AS accounts, gen_random_uuid() AS tx FROM created WHERE $3 > 0 GROUP BY room_id \
         ), txs AS ( \
             INSERT INTO polls.points_transactions (id, room_id, reason) SELECT tx, room_id, $4 FROM rooms \
         ), legs AS ( \
             INSERT INTO polls.points_entries (transaction_id, account_id, amount, balance_after, idempotency_key) \
             SELECT r.tx, c.id, $3, $3, $5 FROM created c JOIN rooms r USING (room_id) \
             UNION ALL \
             SELECT tx, polls.points_account_id('earnings', room_id, NULL), -$3 * accounts, NULL, NULL FROM rooms \
         ) \
         SELECT count(*) FROM created",
    )
    .bind(&rooms)
    .bind(&users)
    .bind(welcome.max(0))
    .bind(PointsReason::Welcome as i16)
    .bind(WELCOME_KEY)
    .fetch_one(&mut **tx)
    .await?;
    Ok(created as u64)
}

/// Locks the user accounts of (room, user) pairs, in account-id order.
pub async fn lock_accounts(
    tx: &mut Transaction<'_, Postgres>,
    pairs: &[(Uuid, Uuid)],
    day: Date,
) -> Result<Vec<LockedAccount>> {
    let (rooms, users): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    Ok(sqlx::query_as(
        "SELECT a.id, a.room_id, a.owner_id, coalesce(a.balance, 0) AS balance, \
                CASE WHEN a.earned_day = $3 THEN a.earned_today ELSE 0 END AS earned_today \
         FROM polls.points_accounts a \
         WHERE a.id IN (SELECT polls.points_account_id('user', room, usr) \
                        FROM unnest($1::uuid[], $2::uuid[]) AS t(room, usr)) \
         ORDER BY a.id FOR UPDATE",
    )
    .bind(&rooms)
    .bind(&users)
    .bind(day)
    .fetch_all(&mut **tx)
    .await?)
}

/// Which (account, key) pairs already have their entry.
async fn done_keys(tx: &mut Transaction<'_, Postgres>, keys: &[(Uuid, String)]) -> Result<HashSet<(Uuid, String)>> {
    let (accounts, sources): (Vec<Uuid>, Vec<String>) = keys.iter().cloned().unzip();
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT e.account_id, e.idempotency_key FROM polls.points_entries e \
         JOIN unnest($1::uuid[], $2::text[]) AS t(account, source) \
           ON e.account_id = t.account AND e.idempotency_key = t.source",
    )
    .bind(&accounts)
    .bind(&sources)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

impl Store {
    /// Credits a batch of participation earnings in one transaction of
    /// four statements, whatever its size: accounts created (with the
    /// welcome bonus) where missing, locked in order, already-credited
    /// sources skipped, the daily cap applied (domain::points::grants),
    /// and every credit written at once. Returns how many were credited.
    pub async fn award(&self, earnings: &[NewEarning], welcome: i64, cap: i64) -> Result<usize> {
        let earnings: Vec<&NewEarning> = earnings.iter().filter(|e| e.amount > 0).collect();
        if earnings.is_empty() {
            return Ok(0);
        }
        let mut pairs: Vec<(Uuid, Uuid)> = earnings.iter().map(|e| (e.room, e.user)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let day = today();
        let mut tx = self.pool.begin().await?;
        ensure_accounts(&mut tx, &pairs, welcome).await?;
        let locked = lock_accounts(&mut tx, &pairs, day).await?;
        let ids: HashMap<(Uuid, Uuid), Uuid> = locked.iter().map(|a| ((a.room_id, a.owner_id), a.id)).collect();
        let mut accounts: HashMap<Uuid, Account> =
            locked.iter().map(|a| (a.id, Account { balance: a.balance, earned_today: a.earned_today })).collect();
        // Every pair has an account now; `origin` keeps each batch entry's
        // earning.
        let (batch, origin): (Vec<Earning>, Vec<&NewEarning>) = earnings
            .iter()
            .filter_map(|e| {
                let account = *ids.get(&(e.room, e.user))?;
                Some((Earning { account, amount: e.amount, source: e.source.clone() }, *e))
            })
            .unzip();
        let done = done_keys(&mut tx, &batch.iter().map(|e| (e.account, e.source.clone())).collect::<Vec<_>>()).await?;
        let grants = rules::grants(&batch, &done, &mut accounts, cap);
        if grants.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        // One ledger transaction per (room, reason, reference): a poll's
        // voters are credited by one transaction of N + 1 legs (N credits,
        // one debit of the room's earnings), not N transactions.
        let mut groups: HashMap<(Uuid, i16, Option<Uuid>), Uuid> = HashMap::new();
        let mut g_tx = Vec::with_capacity(grants.len());
        let mut g_account = Vec::with_capacity(grants.len());
        let mut g_room = Vec::with_capacity(grants.len());
        let mut g_reason = Vec::with_capacity(grants.len());
        let mut g_reference = Vec::with_capacity(grants.len());
        let mut g_points = Vec::with_capacity(grants.len());
        let mut g_after = Vec::with_capacity(grants.len());
        let mut g_source = Vec::with_capacity(grants.len());
        for grant in &grants {
            let earning = origin[grant.index];
            let group = (earning.room, earning.reason as i16, earning.reference);
            g_tx.push(*groups.entry(group).or_insert_with(Uuid::now_v7));
            g_account.push(grant.account);
            g_room.push(earning.room);
            g_reason.push(earning.reason as i16);
            g_reference.push(earning.reference);
            g_points.push(grant.points);
            g_after.push(grant.balance_after);
            g_source.push(earning.source.clone());
        }
        let touched: HashSet<Uuid> = grants.iter().map(|g| g.account).collect();
        let (f_id, (f_balance, f_earned)): (Vec<Uuid>, (Vec<i64>, Vec<i64>)) =
            touched.iter().filter_map(|id| accounts.get(id).map(|a| (*id, (a.balance, a.earned_today)))).unzip();
        sqlx::query(
            "WITH g AS ( \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::uuid[], \
                                      $6::bigint[], $7::bigint[], $8::text[]) \
                      WITH ORDINALITY AS t(tx, account, room, reason, reference, points, balance_after, source, ord) \
             ), txs AS ( \
                 INSERT INTO polls.points_transactions (id, room_id, reason, reference_id) \
                 SELECT DISTINCT ON (tx) tx, room, reason, reference FROM g ORDER BY tx \
             ), legs AS ( \
                 INSERT INTO polls.points_entries (transaction_id, account_id, amount, balance_after, idempotency_key) \
                 SELECT tx, account, amount, balance_after, source FROM ( \
                     SELECT ord, tx, account, points AS amount, balance_after, source FROM g \
                     UNION ALL \
                     SELECT max(ord) + 1, tx, polls.points_account_id('earnings', room, NULL), -sum(points)::bigint, \
                            NULL, NULL \
                     FROM g GROUP BY tx, room \
                 ) l ORDER BY ord \
             ) \
             UPDATE polls.points_accounts a SET balance = f.balance, earned_day = $12, earned_today = f.earned \
             FROM unnest($9::uuid[], $10::bigint[], $11::bigint[]) AS f(id, balance, earned) \
             WHERE a.id = f.id",
        )
        .bind(&g_tx)
        .bind(&g_account)
        .bind(&g_room)
        .bind(&g_reason)
        .bind(&g_reference)
        .bind(&g_points)
        .bind(&g_after)
        .bind(&g_source)
        .bind(&f_id)
        .bind(&f_balance)
        .bind(&f_earned)
        .bind(day)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(grants.len())
    }

    /// A user's balance and today's earnings in a room; None without an
    /// account.
    pub async fn points_account(&self, room: Uuid, user: Uuid) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT coalesce(balance, 0), CASE WHEN earned_day = $3 THEN earned_today ELSE 0 END \
             FROM polls.points_accounts WHERE id = polls.points_account_id('user', $1, $2)",
        )
        .bind(room)
        .bind(user)
        .bind(today())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A member's balance and today's earnings, opening their account with
    /// the welcome bonus if this is the first time.
    pub async fn member_points(&self, room: Uuid, user: Uuid, welcome: i64) -> Result<(i64, i64)> {
        if let Some(found) = self.points_account(room, user).await? {
            return Ok(found);
        }
        let mut tx = self.pool.begin().await?;
        ensure_accounts(&mut tx, &[(room, user)], welcome).await?;
        tx.commit().await?;
        Ok(self.points_account(room, user).await?.unwrap_or((0, 0)))
    }

    /// A user's ledger entries in a room, newest first.
    pub async fn points_entries(&self, room: Uuid, user: Uuid, offset: u64, limit: u32) -> Result<Vec<EntryRow>> {
        Ok(sqlx::query_as(
            "SELECT e.transaction_id, e.amount, coalesce(e.balance_after, 0) AS balance_after, t.reason, \
                    t.reference_id, t.created_at \
             FROM polls.points_entries e JOIN polls.points_transactions t ON t.id = e.transaction_id \
             WHERE e.account_id = polls.points_account_id('user', $1, $2) \
             ORDER BY e.seq DESC OFFSET $3 LIMIT $4",
        )
        .bind(room)
        .bind(user)
        .bind(offset as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}
