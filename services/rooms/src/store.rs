//! The rooms service's Postgres store (schema `rooms`). Every change that
//! touches several rows runs in one transaction, so a refused request
//! leaves nothing half-written.

use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    domain::{
        catalog::{self, RoomState, SYSTEM_USER},
        fields::{Media, Settings},
        invite::{self, InviteFacts, Standing},
        roles::{Kind, Role, Visibility},
    },
    error::{Result, RoomsError},
};

const ROOM_COLUMNS: &str = "r.id, r.kind, r.visibility, r.state, r.title, r.description, r.image_url, r.media_kind, \
     r.media_id, r.settings, r.capacity, r.created_by, r.owner_id, \
     (r.member_count + coalesce((SELECT sum(c.n) FROM rooms.member_counts c WHERE c.room_id = r.id), 0))::bigint \
     AS member_count, r.created_at, r.updated_at, r.open_time, r.archive_time, r.channel_id";

/// Counter shards of an unbounded room (see the migration).
const COUNT_SHARDS: u16 = 16;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomRow {
    pub id: Uuid,
    pub kind: String,
    pub visibility: String,
    pub state: String,
    pub title: String,
    pub description: String,
    pub image_url: String,
    pub media_kind: Option<String>,
    pub media_id: Option<String>,
    pub settings: Json<Settings>,
    pub capacity: i32,
    pub created_by: Uuid,
    pub owner_id: Uuid,
    pub member_count: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// PROGRAMME rooms: when the room opens and is archived.
    pub open_time: Option<OffsetDateTime>,
    pub archive_time: Option<OffsetDateTime>,
    /// PROGRAMME rooms from catalog sync: the channel the programme airs on.
    pub channel_id: Option<String>,
}

impl RoomRow {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::WatchParty)
    }

    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }

    pub fn media(&self) -> Option<Media> {
        Media::from_columns(self.media_kind.as_deref()?, self.media_id.clone()?)
    }

    pub fn archived(&self) -> bool {
        self.state == "archived"
    }

    /// SCHEDULED: a programme room before its open time.
    pub fn scheduled(&self) -> bool {
        self.state == "scheduled"
    }

    /// The provider channel whose guide the room shows: a channel room's
    /// channel, or the channel a programme room's programme airs on.
    pub fn guide_channel(&self) -> Option<String> {
        match (self.kind(), self.media()) {
            (Kind::Channel, Some(Media::Channel(id))) => Some(id),
            (Kind::Programme, _) => self.channel_id.clone(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub role: String,
    pub joined_at: OffsetDateTime,
}

impl MemberRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BanRow {
    pub user_id: Uuid,
    pub reason: String,
    pub banned_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub code: String,
    pub room_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: i32,
    pub use_count: i32,
    pub revoked_at: Option<OffsetDateTime>,
    pub invitee_id: Option<Uuid>,
}

impl InviteRow {
    pub fn facts(&self) -> InviteFacts {
        InviteFacts {
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            max_uses: self.max_uses,
            use_count: self.use_count,
            invitee: self.invitee_id,
        }
    }
}

/// A room and the caller's standing in it, read in one query.
#[derive(Debug, Clone)]
pub struct Access {
    pub room: RoomRow,
    pub member: Option<MemberRow>,
    pub ban: Option<BanRow>,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    #[sqlx(flatten)]
    room: RoomRow,
    m_role: Option<String>,
    m_joined_at: Option<OffsetDateTime>,
    b_reason: Option<String>,
    b_banned_by: Option<Uuid>,
    b_created_at: Option<OffsetDateTime>,
    b_expires_at: Option<OffsetDateTime>,
}

/// A new room.
pub struct NewRoom<'a> {
    pub kind: Kind,
    pub visibility: Visibility,
    pub title: &'a str,
    pub description: &'a str,
    pub image_url: &'a str,
    pub media: Option<&'a Media>,
    pub settings: &'a Settings,
    pub capacity: u32,
    pub owner: Uuid,
    pub request_id: Option<&'a str>,
    pub max_owned: u32,
}

/// Outcome of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    New { via_invite: bool },
    AlreadyMember,
}

/// Outcome of a leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    Left,
    /// The last member left: the room is gone.
    RoomDeleted,
}

/// Field changes of UpdateRoom; `None` keeps a field.
#[derive(Debug, Default)]
pub struct RoomChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub visibility: Option<Visibility>,
    pub settings: Option<Settings>,
    pub capacity: Option<u32>,
}

/// A channel or programme room as catalog sync wants it.
#[derive(Debug, Clone)]
pub struct CatalogRoom {
    /// The channel id (CHANNEL rooms) or programme id (PROGRAMME rooms).
    pub media: Media,
    pub title: String,
    pub description: String,
    pub image_url: String,
    pub sensitive: bool,
    /// PROGRAMME rooms only.
    pub programme: Option<ProgrammeSlot>,
}

/// Where a programme room's programme sits in the guide.
#[derive(Debug, Clone)]
pub struct ProgrammeSlot {
    pub channel_id: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub schedule: catalog::Schedule,
}

/// What catalog sync did to a room.
#[derive(Debug, Clone)]
pub enum Synced {
    Created(RoomRow),
    /// Changed, with the Room fields that changed (RoomUpdated.changed_fields).
    Updated(RoomRow, Vec<&'static str>),
    Unchanged,
}

/// Which public rooms to list.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    pub kind: Option<Kind>,
    pub channel_id: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

fn room_id_conflict(err: sqlx::Error) -> RoomsError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("rooms_one_per_channel") => {
            RoomsError::AlreadyExists("channel_room_exists", "this channel already has a channel room".into())
        }
        _ => RoomsError::Database(err),
    }
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn create_room(&self, new: &NewRoom<'_>) -> Result<RoomRow> {
        let mut tx = self.pool.begin().await?;
        if let Some(request_id) = new.request_id {
            let existing: Option<RoomRow> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.created_by = $1 AND r.request_id = $2 \
                 AND r.created_at > now() - interval '24 hours'"
            )))
            .bind(new.owner)
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(room) = existing {
                return Ok(room);
            }
        }
        // Serialise one user's creations so the owned-rooms limit holds.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
            .bind(new.owner)
            .execute(&mut *tx)
            .await?;
        let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms.rooms WHERE owner_id = $1")
            .bind(new.owner)
            .fetch_one(&mut *tx)
            .await?;
        if owned >= i64::from(new.max_owned) {
            return Err(RoomsError::Exhausted("too_many_rooms", format!("you own {owned} rooms, the limit")));
        }
        let (media_kind, media_id) = new.media.map(Media::columns).unzip();
        let room: RoomRow = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO rooms.rooms AS r (id, kind, visibility, title, description, image_url, media_kind, media_id, \
             settings, capacity, created_by, owner_id, member_count, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $12) RETURNING {ROOM_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(new.kind.as_str())
        .bind(new.visibility.as_str())
        .bind(new.title)
        .bind(new.description)
        .bind(new.image_url)
        .bind(media_kind)
        .bind(media_id)
        .bind(Json(new.settings))
        .bind(new.capacity as i32)
        .bind(new.owner)
        .bind(new.request_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(room_id_conflict)?;
        sqlx::query("INSERT INTO rooms.members (room_id, user_id, role) VALUES ($1, $2, 'owner')")
            .bind(room.id)
            .bind(new.owner)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(room)
    }

    /// The room and the user's membership and active ban.
    pub async fn access(&self, room_id: Uuid, user_id: Uuid) -> Result<Option<Access>> {
        let row: Option<AccessRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS}, m.role AS m_role, m.joined_at AS m_joined_at, b.reason AS b_reason, \
             b.banned_by AS b_banned_by, b.created_at AS b_created_at, b.expires_at AS b_expires_at \
             FROM rooms.rooms r \
             LEFT JOIN rooms.members m ON m.room_id = r.id AND m.user_id = $2 \
             LEFT JOIN rooms.bans b ON b.room_id = r.id AND b.user_id = $2 AND (b.expires_at IS NULL OR b.expires_at > now()) \
             WHERE r.id = $1"
        )))
        .bind(room_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Access {
            member: row.m_role.zip(row.m_joined_at).map(|(role, joined_at)| MemberRow { user_id, role, joined_at }),
            ban: match (row.b_banned_by, row.b_created_at) {
                (Some(banned_by), Some(created_at)) => Some(BanRow {
                    user_id,
                    reason: row.b_reason.unwrap_or_default(),
                    banned_by,
                    created_at,
                    expires_at: row.b_expires_at,
                }),
                _ => None,
            },
            room: row.room,
        }))
    }

    /// Membership and ban of each user (one query), in the order given.
    pub async fn standings(&self, room_id: Uuid, users: &[Uuid]) -> Result<Vec<(Uuid, Option<MemberRow>, bool)>> {
        let rows: Vec<(Uuid, Option<String>, Option<OffsetDateTime>, bool)> = sqlx::query_as(
            "SELECT u.id, m.role, m.joined_at, EXISTS (SELECT 1 FROM rooms.bans b WHERE b.room_id = $1 \
             AND b.user_id = u.id AND (b.expires_at IS NULL OR b.expires_at > now())) \
             FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, ord) \
             LEFT JOIN rooms.members m ON m.room_id = $1 AND m.user_id = u.id ORDER BY u.ord",
        )
        .bind(room_id)
        .bind(users)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, role, joined_at, banned)| {
                let member = role.zip(joined_at).map(|(role, joined_at)| MemberRow { user_id, role, joined_at });
                (user_id, member, banned)
            })
            .collect())
    }

    pub async fn room(&self, room_id: Uuid) -> Result<Option<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!("SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.id = $1")))
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn update_room(&self, room_id: Uuid, change: &RoomChange) -> Result<RoomRow> {
        let mut tx = self.pool.begin().await?;
        if let Some(capacity) = change.capacity
            && capacity > 0
        {
            // A bounded room counts in its own row again: fold the shards in.
            let members: i64 = sqlx::query_scalar(
                "UPDATE rooms.rooms SET member_count = member_count + \
                 coalesce((SELECT sum(n) FROM rooms.member_counts WHERE room_id = $1), 0) WHERE id = $1 \
                 RETURNING member_count",
            )
            .bind(room_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM rooms.member_counts WHERE room_id = $1").bind(room_id).execute(&mut *tx).await?;
            if members > i64::from(capacity) {
                return Err(RoomsError::Precondition(
                    "capacity_below_members",
                    format!("the room has {members} members, more than a capacity of {capacity}"),
                ));
            }
        }
        let room: RoomRow = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET title = coalesce($2, r.title), description = coalesce($3, r.description), \
             image_url = coalesce($4, r.image_url), visibility = coalesce($5, r.visibility), \
             settings = coalesce($6, r.settings), capacity = coalesce($7, r.capacity), updated_at = now() \
             WHERE r.id = $1 RETURNING {ROOM_COLUMNS}"
        )))
        .bind(room_id)
        .bind(change.title.as_deref())
        .bind(change.description.as_deref())
        .bind(change.image_url.as_deref())
        .bind(change.visibility.map(Visibility::as_str))
        .bind(change.settings.as_ref().map(Json))
        .bind(change.capacity.map(|c| c as i32))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(room)
    }

    pub async fn delete_room(&self, room_id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM rooms.rooms WHERE id = $1").bind(room_id).execute(&self.pool).await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Makes `user` a member. Checks, in one transaction: ban, invite
    /// standing (locked, so a use limit holds under concurrency), capacity
    /// (conditional update of the counter).
    pub async fn join(&self, room_id: Uuid, user: Uuid, invite_code: Option<&str>) -> Result<Joined> {
        let mut tx = self.pool.begin().await?;
        let banned: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM rooms.bans WHERE room_id = $1 AND user_id = $2 \
             AND (expires_at IS NULL OR expires_at > now()))",
        )
        .bind(room_id)
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
        if banned {
            return Err(RoomsError::Denied("banned", "you are banned from this room".into()));
        }
        let member: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM rooms.members WHERE room_id = $1 AND user_id = $2)")
                .bind(room_id)
                .bind(user)
                .fetch_one(&mut *tx)
                .await?;
        if member {
            return Ok(Joined::AlreadyMember);
        }
        let via_invite = match invite_code {
            Some(code) => {
                let invite: Option<InviteRow> =
                    sqlx::query_as("SELECT * FROM rooms.invites WHERE code = $1 AND room_id = $2 FOR UPDATE")
                        .bind(code)
                        .bind(room_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let invite = invite.ok_or(RoomsError::NotFound("invite_not_found", "no such invite for this room"))?;
                let standing = invite::standing(&invite.facts(), OffsetDateTime::now_utc());
                if standing != Standing::Valid {
                    return Err(RoomsError::Precondition(
                        standing.reason(),
                        format!("the invite is {}", &standing.reason()[7..]),
                    ));
                }
                if !invite::admits(&invite.facts(), user) {
                    return Err(RoomsError::Denied(
                        "invite_not_yours",
                        "this personal invite is for someone else".into(),
                    ));
                }
                sqlx::query("UPDATE rooms.invites SET use_count = use_count + 1 WHERE code = $1")
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
                true
            }
            None => false,
        };
        let inserted = sqlx::query(
            "INSERT INTO rooms.members (room_id, user_id, role, via_invite) VALUES ($1, $2, 'member', $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(room_id)
        .bind(user)
        .bind(via_invite)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent join of the same user won.
            return Ok(Joined::AlreadyMember);
        }
        // Bounded rooms: the row lock makes the capacity check exact; taken
        // last, so it is held only until the commit.
        let admitted = sqlx::query(
            "UPDATE rooms.rooms SET member_count = member_count + 1, last_active_at = now() \
             WHERE id = $1 AND capacity > 0 AND member_count < capacity",
        )
        .bind(room_id)
        .execute(&mut *tx)
        .await?;
        if admitted.rows_affected() == 0 {
            let unbounded: bool = sqlx::query_scalar("SELECT capacity = 0 FROM rooms.rooms WHERE id = $1")
                .bind(room_id)
                .fetch_one(&mut *tx)
                .await?;
            if !unbounded {
                return Err(RoomsError::Exhausted("room_full", "the room is full".into()));
            }
            Self::count_shard(&mut tx, room_id, 1).await?;
        }
        tx.commit().await?;
        Ok(Joined::New { via_invite })
    }

    async fn remove_member(tx: &mut Transaction<'_, Postgres>, room_id: Uuid, user: Uuid) -> Result<bool> {
        let removed = sqlx::query("DELETE FROM rooms.members WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user)
            .execute(&mut **tx)
            .await?;
        if removed.rows_affected() > 0 {
            let bounded =
                sqlx::query("UPDATE rooms.rooms SET member_count = member_count - 1 WHERE id = $1 AND capacity > 0")
                    .bind(room_id)
                    .execute(&mut **tx)
                    .await?;
            if bounded.rows_affected() == 0 {
                Self::count_shard(tx, room_id, -1).await?;
            }
        }
        Ok(removed.rows_affected() > 0)
    }

    /// Adds `delta` to a random counter shard of an unbounded room.
    async fn count_shard(tx: &mut Transaction<'_, Postgres>, room_id: Uuid, delta: i64) -> Result<()> {
        let slot = (rand::random::<u16>() % COUNT_SHARDS) as i16;
        sqlx::query(
            "INSERT INTO rooms.member_counts (room_id, slot, n) VALUES ($1, $2, $3) \
             ON CONFLICT (room_id, slot) DO UPDATE SET n = rooms.member_counts.n + $3",
        )
        .bind(room_id)
        .bind(slot)
        .bind(delta)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Ends `user`'s membership; the owner must transfer first unless alone.
    pub async fn leave(&self, room_id: Uuid, user: Uuid) -> Result<Left> {
        let mut tx = self.pool.begin().await?;
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM rooms.members WHERE room_id = $1 AND user_id = $2 FOR UPDATE")
                .bind(room_id)
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(role) = role else {
            return Err(RoomsError::NotFound("not_member", "you are not a member of this room"));
        };
        if role == "owner" {
            // Whether anyone else is left: at most two rows, whatever the room's size.
            let members: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT 1 FROM rooms.members WHERE room_id = $1 LIMIT 2) AS m",
            )
            .bind(room_id)
            .fetch_one(&mut *tx)
            .await?;
            if members > 1 {
                return Err(RoomsError::Precondition(
                    "owner_must_transfer",
                    "transfer ownership before leaving".into(),
                ));
            }
            sqlx::query("DELETE FROM rooms.rooms WHERE id = $1").bind(room_id).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(Left::RoomDeleted);
        }
        Self::remove_member(&mut tx, room_id, user).await?;
        tx.commit().await?;
        Ok(Left::Left)
    }

    pub async fn kick(&self, room_id: Uuid, user: Uuid) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let removed = Self::remove_member(&mut tx, room_id, user).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Bans (or re-bans) and removes membership, in one transaction.
    pub async fn ban(
        &self,
        room_id: Uuid,
        user: Uuid,
        reason: &str,
        by: Uuid,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<BanRow> {
        let mut tx = self.pool.begin().await?;
        let ban: BanRow = sqlx::query_as(
            "INSERT INTO rooms.bans (room_id, user_id, reason, banned_by, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (room_id, user_id) DO UPDATE SET reason = $3, banned_by = $4, expires_at = $5, created_at = now() \
             RETURNING user_id, reason, banned_by, created_at, expires_at",
        )
        .bind(room_id)
        .bind(user)
        .bind(reason)
        .bind(by)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        Self::remove_member(&mut tx, room_id, user).await?;
        tx.commit().await?;
        Ok(ban)
    }

    pub async fn unban(&self, room_id: Uuid, user: Uuid) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM rooms.bans WHERE room_id = $1 AND user_id = $2 AND (expires_at IS NULL OR expires_at > now())",
        )
        .bind(room_id)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn bans(&self, room_id: Uuid, offset: u64, limit: u32) -> Result<Vec<BanRow>> {
        Ok(sqlx::query_as(
            "SELECT user_id, reason, banned_by, created_at, expires_at FROM rooms.bans WHERE room_id = $1 \
             AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, user_id LIMIT $2 OFFSET $3",
        )
        .bind(room_id)
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn member(&self, room_id: Uuid, user: Uuid) -> Result<Option<MemberRow>> {
        Ok(sqlx::query_as("SELECT user_id, role, joined_at FROM rooms.members WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Members, strongest role first, then by join time.
    pub async fn members(&self, room_id: Uuid, role: Option<Role>, offset: u64, limit: u32) -> Result<Vec<MemberRow>> {
        Ok(sqlx::query_as(
            "SELECT user_id, role, joined_at FROM rooms.members WHERE room_id = $1 AND ($2::text IS NULL OR role = $2) \
             ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'host' THEN 1 WHEN 'moderator' THEN 2 ELSE 3 END, joined_at, user_id \
             LIMIT $3 OFFSET $4",
        )
        .bind(room_id)
        .bind(role.map(Role::as_str))
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Memberships of the given users (for presence lists).
    pub async fn members_among(&self, room_id: Uuid, users: &[Uuid]) -> Result<Vec<MemberRow>> {
        Ok(sqlx::query_as(
            "SELECT user_id, role, joined_at FROM rooms.members WHERE room_id = $1 AND user_id = ANY($2)",
        )
        .bind(room_id)
        .bind(users)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_role(&self, room_id: Uuid, user: Uuid, role: Role) -> Result<MemberRow> {
        sqlx::query_as(
            "UPDATE rooms.members SET role = $3 WHERE room_id = $1 AND user_id = $2 RETURNING user_id, role, joined_at",
        )
        .bind(room_id)
        .bind(user)
        .bind(role.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(RoomsError::NotFound("not_member", "the user is not a member of this room"))
    }

    /// Moves ownership; the previous owner becomes a host.
    pub async fn transfer(&self, room_id: Uuid, from: Uuid, to: Uuid) -> Result<RoomRow> {
        let mut tx = self.pool.begin().await?;
        let promoted = sqlx::query("UPDATE rooms.members SET role = 'owner' WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        if promoted.rows_affected() == 0 {
            return Err(RoomsError::Precondition("not_member", "the new owner must be a member".into()));
        }
        sqlx::query("UPDATE rooms.members SET role = 'host' WHERE room_id = $1 AND user_id = $2 AND user_id <> $3")
            .bind(room_id)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        let room: RoomRow = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET owner_id = $2, updated_at = now() WHERE r.id = $1 RETURNING {ROOM_COLUMNS}"
        )))
        .bind(room_id)
        .bind(to)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(room)
    }

    /// Rooms `user` is a member of, most recently active first.
    pub async fn my_rooms(
        &self,
        user: Uuid,
        kind: Option<Kind>,
        include_archived: bool,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<(RoomRow, MemberRow)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            room: RoomRow,
            m_role: String,
            m_joined_at: OffsetDateTime,
        }
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS}, m.role AS m_role, m.joined_at AS m_joined_at FROM rooms.members m \
             JOIN rooms.rooms r ON r.id = m.room_id WHERE m.user_id = $1 AND ($2::text IS NULL OR r.kind = $2) \
             AND ($3 OR r.state <> 'archived') ORDER BY r.last_active_at DESC, r.id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(user)
        .bind(kind.map(Kind::as_str))
        .bind(include_archived)
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.room, MemberRow { user_id: user, role: r.m_role, joined_at: r.m_joined_at }))
            .collect())
    }

    /// Public rooms among `ids` matching the filter, in the order of `ids`.
    pub async fn public_among(&self, ids: &[Uuid], filter: &PublicFilter) -> Result<Vec<RoomRow>> {
        let rows: Vec<RoomRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.id = ANY($1) AND r.visibility = 'public' \
             AND r.state <> 'archived' AND ($2::text IS NULL OR r.kind = $2) \
             AND ($3::text IS NULL OR r.media_id = $3 OR r.channel_id = $3)"
        )))
        .bind(ids)
        .bind(filter.kind.map(Kind::as_str))
        .bind(filter.channel_id.as_deref())
        .fetch_all(&self.pool)
        .await?;
        let mut ordered = Vec::with_capacity(rows.len());
        for id in ids {
            if let Some(row) = rows.iter().find(|r| r.id == *id) {
                ordered.push(row.clone());
            }
        }
        Ok(ordered)
    }

    /// Public rooms matching the filter, newest first, skipping `exclude`.
    pub async fn public_newest(
        &self,
        filter: &PublicFilter,
        exclude: &[Uuid],
        offset: u64,
        limit: u32,
    ) -> Result<Vec<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.visibility = 'public' AND r.state <> 'archived' \
             AND ($1::text IS NULL OR r.kind = $1) AND ($2::text IS NULL OR r.media_id = $2 OR r.channel_id = $2) \
             AND NOT (r.id = ANY($3)) \
             ORDER BY r.created_at DESC, r.id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(filter.kind.map(Kind::as_str))
        .bind(filter.channel_id.as_deref())
        .bind(exclude)
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates an invite unless the room has too many active ones.
    pub async fn create_invite(
        &self,
        room_id: Uuid,
        by: Uuid,
        expires_at: Option<OffsetDateTime>,
        max_uses: u32,
        invitee: Option<Uuid>,
    ) -> Result<InviteRow> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT 1 FROM rooms.rooms WHERE id = $1 FOR UPDATE").bind(room_id).execute(&mut *tx).await?;
        let active: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM rooms.invites WHERE room_id = $1 AND revoked_at IS NULL AND invitee_id IS NULL \
             AND (expires_at IS NULL OR expires_at > now()) AND (max_uses = 0 OR use_count < max_uses)",
        )
        .bind(room_id)
        .fetch_one(&mut *tx)
        .await?;
        if invitee.is_none() && active >= 100 {
            return Err(RoomsError::Exhausted(
                "too_many_invites",
                "the room has 100 active invites; revoke some".into(),
            ));
        }
        let row: InviteRow = sqlx::query_as(
            "INSERT INTO rooms.invites (code, room_id, created_by, expires_at, max_uses, invitee_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(invite::new_code())
        .bind(room_id)
        .bind(by)
        .bind(expires_at)
        .bind(max_uses as i32)
        .bind(invitee)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Active invites, newest first; `creator` limits to one creator's.
    pub async fn invites(
        &self,
        room_id: Uuid,
        creator: Option<Uuid>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<InviteRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM rooms.invites WHERE room_id = $1 AND ($2::uuid IS NULL OR created_by = $2) AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > now()) AND (max_uses = 0 OR use_count < max_uses) \
             ORDER BY created_at DESC, code LIMIT $3 OFFSET $4",
        )
        .bind(room_id)
        .bind(creator)
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn invite(&self, code: &str) -> Result<Option<InviteRow>> {
        Ok(sqlx::query_as("SELECT * FROM rooms.invites WHERE code = $1").bind(code).fetch_optional(&self.pool).await?)
    }

    pub async fn revoke_invite(&self, code: &str) -> Result<InviteRow> {
        sqlx::query_as("UPDATE rooms.invites SET revoked_at = coalesce(revoked_at, now()) WHERE code = $1 RETURNING *")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(RoomsError::NotFound("invite_not_found", "no such invite"))
    }

    /// Ids of `users` who are members of the room.
    pub async fn existing_members(&self, room_id: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar("SELECT user_id FROM rooms.members WHERE room_id = $1 AND user_id = ANY($2)")
            .bind(room_id)
            .bind(users)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Ids of `users` banned from the room now.
    pub async fn banned_among(&self, room_id: Uuid, users: &[Uuid]) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM rooms.bans WHERE room_id = $1 AND user_id = ANY($2) AND (expires_at IS NULL OR expires_at > now())",
        )
        .bind(room_id)
        .bind(users)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates or updates the CHANNEL or PROGRAMME room of a catalog entry
    /// (idempotent: an unchanged entry writes nothing). Creation is
    /// race-free through the unique indexes rooms_one_per_channel and
    /// rooms_one_per_programme; the room is owned by SYSTEM_USER, which has
    /// no member row. An existing room is updated under its row lock: an
    /// archived channel room whose channel is back becomes ACTIVE again, a
    /// programme room follows its schedule (catalog::next_state).
    pub async fn sync_catalog_room(&self, wanted: &CatalogRoom, now: OffsetDateTime) -> Result<Synced> {
        let kind = match wanted.media {
            Media::Channel(_) => Kind::Channel,
            _ => Kind::Programme,
        };
        let (media_kind, media_id) = wanted.media.columns();
        let slot = wanted.programme.as_ref();
        let scheduled_state = slot.map_or(RoomState::Active, |s| s.schedule.state_at(now));
        let mut tx = self.pool.begin().await?;
        let settings = Settings { sensitive: wanted.sensitive, ..Settings::default() };
        let created: Option<RoomRow> = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO rooms.rooms AS r (id, kind, visibility, state, title, description, image_url, media_kind, \
             media_id, settings, capacity, created_by, owner_id, member_count, open_time, archive_time, channel_id, \
             programme_start, programme_end) \
             VALUES ($1, $2, 'public', $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, 0, $11, $12, $13, $14, $15) \
             ON CONFLICT (media_id) WHERE kind = '{}' DO NOTHING RETURNING {ROOM_COLUMNS}",
            kind.as_str()
        )))
        .bind(Uuid::now_v7())
        .bind(kind.as_str())
        .bind(scheduled_state.as_str())
        .bind(&wanted.title)
        .bind(&wanted.description)
        .bind(&wanted.image_url)
        .bind(media_kind)
        .bind(media_id)
        .bind(Json(&settings))
        .bind(SYSTEM_USER)
        .bind(slot.map(|s| s.schedule.open))
        .bind(slot.map(|s| s.schedule.archive))
        .bind(slot.map(|s| s.channel_id.as_str()))
        .bind(slot.map(|s| s.start))
        .bind(slot.map(|s| s.end))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(room) = created {
            tx.commit().await?;
            return Ok(Synced::Created(room));
        }
        let id: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM rooms.rooms WHERE kind = $1 AND media_id = $2 FOR UPDATE")
                .bind(kind.as_str())
                .bind(media_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else {
            return Err(RoomsError::Internal(format!("the room of {media_id} vanished while syncing; retry")));
        };
        let current: RoomRow =
            sqlx::query_as(AssertSqlSafe(format!("SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let current_state = RoomState::parse(&current.state).unwrap_or(RoomState::Active);
        let state = catalog::next_state(current_state, scheduled_state);
        let shown = catalog::Shown {
            title: &current.title,
            description: &current.description,
            image_url: &current.image_url,
            sensitive: current.settings.sensitive,
            state: current_state,
            open: current.open_time,
            archive: current.archive_time,
        };
        let target = catalog::Shown {
            title: &wanted.title,
            // Channels carry no description: an operator's stays.
            description: if slot.is_some() { &wanted.description } else { &current.description },
            image_url: &wanted.image_url,
            sensitive: wanted.sensitive,
            state,
            open: slot.map(|s| s.schedule.open).or(current.open_time),
            archive: slot.map(|s| s.schedule.archive).or(current.archive_time),
        };
        let changed = catalog::changed_fields(&shown, &target);
        if changed.is_empty() {
            return Ok(Synced::Unchanged);
        }
        let room: RoomRow = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET title = $2, description = $3, image_url = $4, \
             settings = jsonb_set(r.settings, '{{sensitive}}', to_jsonb($5::boolean)), state = $6, \
             open_time = $7, archive_time = $8, programme_start = coalesce($9, r.programme_start), \
             programme_end = coalesce($10, r.programme_end), updated_at = now() WHERE r.id = $1 RETURNING {ROOM_COLUMNS}"
        )))
        .bind(id)
        .bind(target.title)
        .bind(target.description)
        .bind(target.image_url)
        .bind(target.sensitive)
        .bind(state.as_str())
        .bind(target.open)
        .bind(target.archive)
        .bind(slot.map(|s| s.start))
        .bind(slot.map(|s| s.end))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Synced::Updated(room, changed))
    }

    /// Archives a removed channel's room and its programme rooms whose
    /// programme has not ended; returns the rooms archived now (none on a
    /// redelivery).
    pub async fn archive_channel(&self, channel: &str) -> Result<Vec<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET state = 'archived', updated_at = now() \
             WHERE ((r.kind = 'channel' AND r.media_id = $1) OR (r.kind = 'programme' AND r.channel_id = $1 \
             AND (r.programme_end IS NULL OR r.programme_end > now()))) AND r.state <> 'archived' \
             RETURNING {ROOM_COLUMNS}"
        )))
        .bind(channel)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Programme rooms of `channel` starting in `[from, to)` that have not
    /// opened yet and whose programme is not among `keep`.
    pub async fn vanished_programme_rooms(
        &self,
        channel: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
        keep: &[String],
    ) -> Result<Vec<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ROOM_COLUMNS} FROM rooms.rooms r WHERE r.kind = 'programme' AND r.channel_id = $1 \
             AND r.programme_start >= $2 AND r.programme_start < $3 AND r.state = 'scheduled' \
             AND NOT (r.media_id = ANY($4))"
        )))
        .bind(channel)
        .bind(from)
        .bind(to)
        .bind(keep)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes a SCHEDULED room nobody has joined; false when it opened or
    /// has members meanwhile (or is gone).
    pub async fn delete_unopened(&self, room_id: Uuid) -> Result<bool> {
        let deleted = sqlx::query(
            "DELETE FROM rooms.rooms r WHERE r.id = $1 AND r.state = 'scheduled' \
             AND NOT EXISTS (SELECT 1 FROM rooms.members m WHERE m.room_id = r.id)",
        )
        .bind(room_id)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Moves a room from one of `from` to `to`; `None` when it was not in
    /// one of them (another replica moved it first).
    pub async fn transition(&self, room_id: Uuid, from: &[RoomState], to: RoomState) -> Result<Option<RoomRow>> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET state = $3, updated_at = now() WHERE r.id = $1 AND r.state = ANY($2) \
             RETURNING {ROOM_COLUMNS}"
        )))
        .bind(room_id)
        .bind(&from)
        .bind(to.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Opens SCHEDULED rooms whose open time has come, at most `limit`.
    /// The state-conditional update makes each opening happen on exactly
    /// one replica (SKIP LOCKED: replicas sweeping at once share the work).
    pub async fn open_due(&self, limit: u32) -> Result<Vec<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET state = 'active', updated_at = now() WHERE r.id IN \
             (SELECT id FROM rooms.rooms WHERE state = 'scheduled' AND open_time <= now() ORDER BY open_time \
             LIMIT $1 FOR UPDATE SKIP LOCKED) AND r.state = 'scheduled' RETURNING {ROOM_COLUMNS}"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Archives rooms whose archive time has passed (as open_due).
    pub async fn archive_due(&self, limit: u32) -> Result<Vec<RoomRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE rooms.rooms r SET state = 'archived', updated_at = now() WHERE r.id IN \
             (SELECT id FROM rooms.rooms WHERE state <> 'archived' AND archive_time <= now() ORDER BY archive_time \
             LIMIT $1 FOR UPDATE SKIP LOCKED) AND r.state <> 'archived' RETURNING {ROOM_COLUMNS}"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// The programme rooms of these programme ids, by programme id.
    pub async fn programme_rooms(&self, programmes: &[String]) -> Result<std::collections::HashMap<String, Uuid>> {
        if programmes.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(String, Uuid)> =
            sqlx::query_as("SELECT media_id, id FROM rooms.rooms WHERE kind = 'programme' AND media_id = ANY($1)")
                .bind(programmes)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Rooms that show `channel`'s now/next: its channel room unless
    /// archived, and its ACTIVE programme rooms.
    pub async fn guide_rooms(&self, channel: &str) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM rooms.rooms WHERE (kind = 'channel' AND media_id = $1 AND state <> 'archived') \
             OR (kind = 'programme' AND channel_id = $1 AND state = 'active')",
        )
        .bind(channel)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether `channel`'s room is sensitive (the channel is adult); its
    /// programme rooms inherit it. `false` without a channel room.
    pub async fn channel_sensitive(&self, channel: &str) -> Result<bool> {
        let sensitive: Option<Option<bool>> = sqlx::query_scalar(
            "SELECT (settings->>'sensitive')::boolean FROM rooms.rooms WHERE kind = 'channel' AND media_id = $1",
        )
        .bind(channel)
        .fetch_optional(&self.pool)
        .await?;
        Ok(sensitive.flatten().unwrap_or(false))
    }

    /// Every member's id (a "zap together" asks about all of them).
    pub async fn member_ids(&self, room_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar("SELECT user_id FROM rooms.members WHERE room_id = $1 ORDER BY joined_at, user_id")
            .bind(room_id)
            .fetch_all(&self.pool)
            .await?)
    }
}
