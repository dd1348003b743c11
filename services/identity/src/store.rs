//! Identity's Postgres store (schema `identity`). Every query names its
//! schema; multi-statement changes run in one transaction.

use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::Cursor,
    error::{IdentityError, Result},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub avatar_url: String,
    pub bio: String,
    pub locale: String,
    pub created_at: OffsetDateTime,
}

/// What creating a provider user's account did.
#[derive(Debug, PartialEq, Eq)]
pub enum ProviderCreate {
    Created,
    UsernameTaken,
    /// Another sign-in linked this provider user first.
    Linked,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub roles: Vec<String>,
    pub token_expires_at: OffsetDateTime,
    pub rotated_at: Option<OffsetDateTime>,
    pub session_expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A user in a follow or block list, with when the edge was made.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EdgeRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub since: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub followers: i64,
    pub following: i64,
}

/// Profile changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub locale: Option<String>,
}

/// Which side of the follow graph a list walks.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    Followers,
    Following,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.avatar_url, u.bio, u.locale, u.created_at";

fn micros(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1000) as i64
}

fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates a user and a first session with its refresh token, atomically.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        user_id: Uuid,
        username: &str,
        display_name: &str,
        locale: &str,
        password_hash: &str,
        session: &NewSession<'_>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if !insert_user(&mut tx, user_id, username, display_name, locale, password_hash).await? {
            return Err(IdentityError::UsernameTaken);
        }
        insert_session(&mut tx, user_id, session).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account linked to a provider user, with its roles; records the
    /// sign-in.
    pub async fn provider_account(&self, provider_user_id: &str) -> Result<Option<(Uuid, Vec<String>)>> {
        Ok(sqlx::query_as(
            "UPDATE identity.provider_links l SET last_sign_in_at = now() FROM identity.users u \
             WHERE l.provider_user_id = $1 AND u.id = l.user_id RETURNING u.id, u.roles",
        )
        .bind(provider_user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Which of `others` have a block with `user`, either way.
    pub async fn blocks_with(&self, user: Uuid, others: &[Uuid]) -> Result<std::collections::HashSet<Uuid>> {
        let rows: Vec<Uuid> = sqlx::query_scalar(
            "SELECT CASE WHEN blocker_id = $1 THEN blocked_id ELSE blocker_id END FROM identity.blocks \
              WHERE (blocker_id = $1 AND blocked_id = ANY($2)) OR (blocked_id = $1 AND blocker_id = ANY($2))",
        )
        .bind(user)
        .bind(others)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Provider links of Hearth users or of provider users (whichever
    /// list is given), as (user, provider user) pairs.
    pub async fn provider_links(&self, users: &[Uuid], accounts: &[String]) -> Result<Vec<(Uuid, String)>> {
        Ok(sqlx::query_as(
            "SELECT user_id, provider_user_id FROM identity.provider_links \
              WHERE user_id = ANY($1) OR provider_user_id = ANY($2)",
        )
        .bind(users)
        .bind(accounts)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates the account of a provider user, its link and a first
    /// session, atomically. `UsernameTaken` when the username is in use (the
    /// caller tries another); `Linked` when another sign-in linked the
    /// provider user meanwhile (nothing is created).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_provider_user(
        &self,
        user_id: Uuid,
        username: &str,
        display_name: &str,
        locale: &str,
        password_hash: &str,
        provider_user_id: &str,
        session: &NewSession<'_>,
    ) -> Result<ProviderCreate> {
        let mut tx = self.pool.begin().await?;
        if !insert_user(&mut tx, user_id, username, display_name, locale, password_hash).await? {
            return Ok(ProviderCreate::UsernameTaken);
        }
        let linked = sqlx::query(
            "INSERT INTO identity.provider_links (provider_user_id, user_id) VALUES ($1, $2) \
             ON CONFLICT (provider_user_id) DO NOTHING",
        )
        .bind(provider_user_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if linked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(ProviderCreate::Linked);
        }
        insert_session(&mut tx, user_id, session).await?;
        tx.commit().await?;
        Ok(ProviderCreate::Created)
    }

    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as("SELECT id, password_hash, roles FROM identity.users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn credentials_by_id(&self, user_id: Uuid) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as("SELECT id, password_hash, roles FROM identity.users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn create_session(&self, user_id: Uuid, session: &NewSession<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_session(&mut tx, user_id, session).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Locks a refresh token's row for rotation.
    pub async fn begin_refresh(
        &self,
        token_hash: &[u8],
    ) -> Result<(Transaction<'static, Postgres>, Option<RefreshRow>)> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query_as(
            "SELECT t.session_id, s.user_id, u.roles, t.expires_at AS token_expires_at, t.rotated_at,
                    s.expires_at AS session_expires_at, s.revoked_at
               FROM identity.refresh_tokens t
               JOIN identity.sessions s ON s.id = t.session_id
               JOIN identity.users u ON u.id = s.user_id
              WHERE t.token_hash = $1
              FOR UPDATE OF t, s",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        Ok((tx, row))
    }

    /// Marks the presented token rotated and stores its successor.
    pub async fn rotate(
        tx: &mut Transaction<'static, Postgres>,
        old_hash: &[u8],
        session_id: Uuid,
        new_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("UPDATE identity.refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
            .bind(old_hash)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO identity.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)")
            .bind(new_hash)
            .bind(session_id)
            .bind(expires_at)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE identity.sessions SET last_refreshed_at = now() WHERE id = $1")
            .bind(session_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn revoke_session_in(
        tx: &mut Transaction<'static, Postgres>,
        session_id: Uuid,
        reason: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE identity.sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Revokes a session of the given user; idempotent.
    pub async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE identity.sessions SET revoked_at = now(), revoked_reason = $3
              WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session_active(&self, user_id: Uuid, session_id: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM identity.sessions
                             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now())",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn user(&self, user_id: Uuid) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM identity.users u WHERE u.id = $1")))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM identity.users u WHERE u.username = $1")))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn users(&self, ids: &[Uuid]) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM identity.users u WHERE u.id = ANY($1)")))
            .bind(ids)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Users by (lower-case) username, leaving out those who blocked `viewer`.
    pub async fn users_by_username(&self, usernames: &[String], viewer: Uuid) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM identity.users u WHERE u.username = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM identity.blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2)"
        )))
        .bind(usernames)
        .bind(viewer)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Everyone `user_id` blocked, newest first, at most `limit`.
    pub async fn blocked_ids(&self, user_id: Uuid, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT blocked_id FROM identity.blocks WHERE blocker_id = $1 ORDER BY created_at DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn counts(&self, user_id: Uuid) -> Result<Counts> {
        let (followers, following): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM identity.follows WHERE followee_id = $1),
                    (SELECT count(*) FROM identity.follows WHERE follower_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts { followers, following })
    }

    pub async fn update_profile(&self, user_id: Uuid, change: &ProfileChange) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE identity.users u SET
                display_name = COALESCE($2, display_name),
                avatar_url = COALESCE($3, avatar_url),
                bio = COALESCE($4, bio),
                locale = COALESCE($5, locale),
                updated_at = now()
              WHERE u.id = $1
              RETURNING {USER_COLUMNS}"
        )))
        .bind(user_id)
        .bind(change.display_name.as_deref())
        .bind(change.avatar_url.as_deref())
        .bind(change.bio.as_deref())
        .bind(change.locale.as_deref())
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn blocked_either_way(&self, a: Uuid, b: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM identity.blocks
                             WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))",
        )
        .bind(a)
        .bind(b)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Follows; true when the edge is new. NOT_FOUND for an unknown followee.
    pub async fn follow(&self, follower: Uuid, followee: Uuid) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO identity.follows (follower_id, followee_id)
             SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM identity.users WHERE id = $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(follower)
        .bind(followee)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(true);
        }
        if self.user(followee).await?.is_none() {
            return Err(IdentityError::UserNotFound);
        }
        Ok(false)
    }

    /// Whether `follower` follows `followee`.
    pub async fn follows(&self, follower: Uuid, followee: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM identity.follows WHERE follower_id = $1 AND followee_id = $2)",
        )
        .bind(follower)
        .bind(followee)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn unfollow(&self, follower: Uuid, followee: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM identity.follows WHERE follower_id = $1 AND followee_id = $2")
            .bind(follower)
            .bind(followee)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Blocks and removes follows both ways, atomically.
    pub async fn block(&self, blocker: Uuid, blocked: Uuid) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO identity.blocks (blocker_id, blocked_id)
             SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM identity.users WHERE id = $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(blocker)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM identity.users WHERE id = $1)")
                .bind(blocked)
                .fetch_one(&mut *tx)
                .await?;
            if !exists {
                return Err(IdentityError::UserNotFound);
            }
        }
        sqlx::query(
            "DELETE FROM identity.follows
              WHERE (follower_id = $1 AND followee_id = $2) OR (follower_id = $2 AND followee_id = $1)",
        )
        .bind(blocker)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn unblock(&self, blocker: Uuid, blocked: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM identity.blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of followers or followees, newest edge first.
    pub async fn follow_page(
        &self,
        user_id: Uuid,
        direction: Direction,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<EdgeRow>> {
        let (anchor, other) = match direction {
            Direction::Followers => ("followee_id", "follower_id"),
            Direction::Following => ("follower_id", "followee_id"),
        };
        self.edge_page("identity.follows", anchor, other, user_id, after, limit).await
    }

    pub async fn block_page(&self, user_id: Uuid, after: Option<Cursor>, limit: u32) -> Result<Vec<EdgeRow>> {
        self.edge_page("identity.blocks", "blocker_id", "blocked_id", user_id, after, limit).await
    }

    async fn edge_page(
        &self,
        table: &str,
        anchor: &str,
        other: &str,
        user_id: Uuid,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<EdgeRow>> {
        let (at, id) = match after {
            Some(cursor) => (Some(from_micros(cursor.micros)), Some(cursor.id)),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {USER_COLUMNS}, e.created_at AS since
               FROM {table} e JOIN identity.users u ON u.id = e.{other}
              WHERE e.{anchor} = $1
                AND ($2::timestamptz IS NULL OR (e.created_at, e.{other}) < ($2, $3))
              ORDER BY e.created_at DESC, e.{other} DESC
              LIMIT $4"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(user_id)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Erases a user (sessions, tokens, follows and blocks cascade) and
    /// queues the `user.deleted` event in the same transaction.
    pub async fn delete_user(&self, user_id: Uuid, event: &OutboxEvent) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM identity.users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO identity.outbox (id, subject, payload) VALUES ($1, $2, $3)")
            .bind(event.id)
            .bind(&event.subject)
            .bind(&event.payload)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Oldest unpublished outbox events, locked so that one relay takes each.
    pub async fn pending_outbox(&self, limit: i64) -> Result<(Transaction<'static, Postgres>, Vec<OutboxEvent>)> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query_as(
            "SELECT id, subject, payload FROM identity.outbox
              WHERE published_at IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        Ok((tx, rows))
    }

    pub async fn mark_published(tx: &mut Transaction<'static, Postgres>, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE identity.outbox SET published_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// A session to open, with its first refresh token (hash only).
pub struct NewSession<'a> {
    pub id: Uuid,
    pub expires_at: OffsetDateTime,
    pub refresh_hash: &'a [u8],
}

/// Inserts a user; false when the username is taken.
async fn insert_user(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    username: &str,
    display_name: &str,
    locale: &str,
    password_hash: &str,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO identity.users (id, username, display_name, locale, password_hash)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING",
    )
    .bind(user_id)
    .bind(username)
    .bind(display_name)
    .bind(locale)
    .bind(password_hash)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() > 0)
}

async fn insert_session(tx: &mut Transaction<'_, Postgres>, user_id: Uuid, session: &NewSession<'_>) -> Result<()> {
    sqlx::query("INSERT INTO identity.sessions (id, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(session.id)
        .bind(user_id)
        .bind(session.expires_at)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO identity.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)")
        .bind(session.refresh_hash)
        .bind(session.id)
        .bind(session.expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An event written to the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
}

/// The cursor of a list row.
pub fn cursor_of(edge: &EdgeRow) -> Cursor {
    Cursor { micros: micros(edge.since), id: edge.user.id }
}
