//! Polls and votes. A vote is one row per (poll, user): the primary key is
//! what makes a vote count once under retries and concurrent replicas.
//! Votes are written in batches by one statement that also checks, under a
//! share lock on the poll row, that the poll is open and before its
//! deadline; closing takes the row exclusively, so no vote lands after the
//! final count.

use std::collections::HashMap;

use sqlx::{Postgres, Transaction, types::Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Store;
use crate::{domain::poll::Content, error::Result};

/// One option as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredOption {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PollRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub question: String,
    pub options: Json<Vec<StoredOption>>,
    pub choice_mode: i16,
    pub max_choices: i16,
    pub allow_vote_change: bool,
    pub results_visibility: i16,
    pub vote_visibility: i16,
    pub duration_ms: Option<i64>,
    pub state: String,
    pub scheduled_open_at: Option<OffsetDateTime>,
    pub opened_at: Option<OffsetDateTime>,
    pub deadline: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub final_tallies: Option<Json<HashMap<String, i64>>>,
    pub voter_count: Option<i64>,
    pub vote_count: Option<i64>,
}

/// A poll to create.
#[derive(Debug, Clone)]
pub struct NewPoll {
    pub id: Uuid,
    pub room: Uuid,
    pub content: Content,
    pub scheduled_open_at: Option<OffsetDateTime>,
    pub created_by: Uuid,
    pub request_id: Option<String>,
}

/// A vote waiting to be written.
#[derive(Debug, Clone)]
pub struct NewVote {
    pub poll: Uuid,
    pub user: Uuid,
    pub options: Vec<String>,
}

/// What happened to a vote that was not inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Written now.
    Counted,
    /// The user had already voted these options.
    Same,
    /// The user had voted other options.
    Different(Vec<String>),
    /// The poll is not open (state as stored; `past_deadline` when open
    /// but its deadline has passed).
    NotOpen { state: String, past_deadline: bool },
}

/// Final results counted from the votes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    pub tallies: HashMap<String, i64>,
    pub voters: i64,
    pub votes: i64,
}

/// The columns of a `PollRow`, for `concat!` into static SQL.
macro_rules! columns {
    () => {
        "id, room_id, question, options, choice_mode, max_choices, allow_vote_change, results_visibility, \
         vote_visibility, duration_ms, state, scheduled_open_at, opened_at, deadline, closed_at, created_by, \
         created_at, updated_at, final_tallies, voter_count, vote_count"
    };
}

fn duration_ms(content: &Content) -> Option<i64> {
    content.duration.map(|d| d.as_millis() as i64)
}

fn options_json(content: &Content) -> Json<Vec<StoredOption>> {
    Json(content.options.iter().map(|(id, text)| StoredOption { id: id.clone(), text: text.clone() }).collect())
}

/// Inserts a poll (DRAFT, or SCHEDULED when it has an opening time); with a
/// request id already used by its creator, returns that poll instead
/// (`false`: not created now).
pub async fn insert(tx: &mut Transaction<'_, Postgres>, new: &NewPoll) -> Result<(PollRow, bool)> {
    let state = if new.scheduled_open_at.is_some() { "scheduled" } else { "draft" };
    let c = &new.content;
    let inserted: Option<PollRow> = sqlx::query_as(concat!(
        "INSERT INTO polls.polls (id, room_id, question, options, choice_mode, max_choices, allow_vote_change, \
         results_visibility, vote_visibility, duration_ms, state, scheduled_open_at, created_by, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (created_by, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING ",
        columns!(),
        ""
    ))
    .bind(new.id)
    .bind(new.room)
    .bind(&c.question)
    .bind(options_json(c))
    .bind(c.choice_mode as i16)
    .bind(c.max_choices as i16)
    .bind(c.allow_vote_change)
    .bind(c.results_visibility as i16)
    .bind(c.vote_visibility as i16)
    .bind(duration_ms(c))
    .bind(state)
    .bind(new.scheduled_open_at)
    .bind(new.created_by)
    .bind(&new.request_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing: PollRow =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM polls.polls WHERE created_by = $1 AND request_id = $2"))
            .bind(new.created_by)
            .bind(&new.request_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok((existing, false))
}

/// The poll, locked until the transaction ends.
pub async fn lock(tx: &mut Transaction<'_, Postgres>, poll: Uuid) -> Result<Option<PollRow>> {
    Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM polls.polls WHERE id = $1 FOR UPDATE"))
        .bind(poll)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Serialises changes of a room's set of open polls (the per-room limit).
pub async fn lock_room(tx: &mut Transaction<'_, Postgres>, room: Uuid) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('polls:' || $1::text, 0))")
        .bind(room)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Open polls of a room.
pub async fn open_count(tx: &mut Transaction<'_, Postgres>, room: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM polls.polls WHERE room_id = $1 AND state = 'open'")
        .bind(room)
        .fetch_one(&mut **tx)
        .await?)
}

/// Replaces a DRAFT or SCHEDULED poll's content and schedule.
pub async fn update(
    tx: &mut Transaction<'_, Postgres>,
    poll: Uuid,
    content: &Content,
    scheduled_open_at: Option<OffsetDateTime>,
) -> Result<PollRow> {
    let state = if scheduled_open_at.is_some() { "scheduled" } else { "draft" };
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.polls SET question = $2, options = $3, choice_mode = $4, max_choices = $5, \
         allow_vote_change = $6, results_visibility = $7, vote_visibility = $8, duration_ms = $9, state = $10, \
         scheduled_open_at = $11, updated_at = now() WHERE id = $1 RETURNING ",
        columns!(),
        ""
    ))
    .bind(poll)
    .bind(&content.question)
    .bind(options_json(content))
    .bind(content.choice_mode as i16)
    .bind(content.max_choices as i16)
    .bind(content.allow_vote_change)
    .bind(content.results_visibility as i16)
    .bind(content.vote_visibility as i16)
    .bind(duration_ms(content))
    .bind(state)
    .bind(scheduled_open_at)
    .fetch_one(&mut **tx)
    .await?)
}

/// Opens a DRAFT or SCHEDULED poll; None when it is in another state.
pub async fn open(tx: &mut Transaction<'_, Postgres>, poll: Uuid) -> Result<Option<PollRow>> {
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.polls SET state = 'open', opened_at = now(), updated_at = now(), \
         deadline = now() + make_interval(secs => duration_ms::double precision / 1000) \
         WHERE id = $1 AND state IN ('draft', 'scheduled') RETURNING ",
        columns!(),
        ""
    ))
    .bind(poll)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Counts a poll's votes (the truth the live tallies are reconciled with).
pub async fn count(tx: &mut Transaction<'_, Postgres>, poll: Uuid) -> Result<Counted> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT o, count(*) FROM polls.votes, unnest(option_ids) AS o WHERE poll_id = $1 GROUP BY o")
            .bind(poll)
            .fetch_all(&mut **tx)
            .await?;
    let voters: i64 = sqlx::query_scalar("SELECT count(*) FROM polls.votes WHERE poll_id = $1")
        .bind(poll)
        .fetch_one(&mut **tx)
        .await?;
    let votes = rows.iter().map(|(_, n)| n).sum();
    Ok(Counted { tallies: rows.into_iter().collect(), voters, votes })
}

/// Closes an OPEN poll (the caller holds its lock) with its final results.
pub async fn close(tx: &mut Transaction<'_, Postgres>, poll: Uuid, counted: &Counted) -> Result<PollRow> {
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.polls SET state = 'closed', closed_at = LEAST(now(), COALESCE(deadline, now())), \
         updated_at = now(), final_tallies = $2, voter_count = $3, vote_count = $4 \
         WHERE id = $1 RETURNING ",
        columns!(),
        ""
    ))
    .bind(poll)
    .bind(Json(&counted.tallies))
    .bind(counted.voters)
    .bind(counted.votes)
    .fetch_one(&mut **tx)
    .await?)
}

/// Archives a CLOSED poll; None when it is in another state.
pub async fn archive(tx: &mut Transaction<'_, Postgres>, poll: Uuid) -> Result<Option<PollRow>> {
    Ok(sqlx::query_as(concat!(
        "UPDATE polls.polls SET state = 'archived', updated_at = now() WHERE id = $1 AND state = 'closed' \
         RETURNING ",
        columns!(),
        ""
    ))
    .bind(poll)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Deletes a DRAFT or SCHEDULED poll; false when it is in another state.
pub async fn delete(tx: &mut Transaction<'_, Postgres>, poll: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM polls.polls WHERE id = $1 AND state IN ('draft', 'scheduled')")
        .bind(poll)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Store {
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    pub async fn poll(&self, poll: Uuid) -> Result<Option<PollRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", columns!(), " FROM polls.polls WHERE id = $1"))
            .bind(poll)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Polls of a room in the given states, newest first.
    pub async fn polls(&self, room: Uuid, states: &[&str], offset: i64, limit: i64) -> Result<Vec<PollRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM polls.polls WHERE room_id = $1 AND state = ANY($2) \
             ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT $4"
        ))
        .bind(room)
        .bind(states)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The room's open polls, those closed in the last 5 minutes and, for
    /// managers, unpublished ones; newest first, at most 20.
    pub async fn current_polls(&self, room: Uuid, manager: bool) -> Result<Vec<PollRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM polls.polls WHERE room_id = $1 AND (state = 'open' \
             OR (state = 'closed' AND closed_at > now() - interval '5 minutes') \
             OR ($2 AND state IN ('draft', 'scheduled'))) ORDER BY created_at DESC, id DESC LIMIT 20"
        ))
        .bind(room)
        .bind(manager)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user's current choice in each poll.
    pub async fn my_votes(&self, user: Uuid, polls: &[Uuid]) -> Result<HashMap<Uuid, Vec<String>>> {
        let rows: Vec<(Uuid, Vec<String>)> =
            sqlx::query_as("SELECT poll_id, option_ids FROM polls.votes WHERE user_id = $1 AND poll_id = ANY($2)")
                .bind(user)
                .bind(polls)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Writes a batch of first votes in one statement; returns, per vote
    /// in input order, what happened. Only votes on polls that are open and
    /// before their deadline are written; a user's second vote is not.
    pub async fn write_votes(&self, votes: &[NewVote]) -> Result<Vec<VoteOutcome>> {
        let polls: Vec<Uuid> = votes.iter().map(|v| v.poll).collect();
        let users: Vec<Uuid> = votes.iter().map(|v| v.user).collect();
        let choices: Vec<String> = votes.iter().map(|v| v.options.join(",")).collect();
        let inserted: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS i(poll_id, user_id, choice)), \
             open AS (SELECT p.id FROM polls.polls p WHERE p.id IN (SELECT DISTINCT poll_id FROM input) \
                      AND p.state = 'open' AND (p.deadline IS NULL OR p.deadline > now()) FOR SHARE) \
             INSERT INTO polls.votes (poll_id, user_id, option_ids) \
             SELECT i.poll_id, i.user_id, string_to_array(i.choice, ',') FROM input i JOIN open o ON o.id = i.poll_id \
             ON CONFLICT (poll_id, user_id) DO NOTHING RETURNING poll_id, user_id",
        )
        .bind(&polls)
        .bind(&users)
        .bind(&choices)
        .fetch_all(&self.pool)
        .await?;
        let inserted: std::collections::HashSet<(Uuid, Uuid)> = inserted.into_iter().collect();
        // A vote repeated within the batch was inserted once: the first
        // occurrence counts, later ones compare with it.
        let mut claimed = std::collections::HashSet::new();
        let mut outcomes: Vec<Option<VoteOutcome>> = votes
            .iter()
            .map(|v| {
                let key = (v.poll, v.user);
                (inserted.contains(&key) && claimed.insert(key)).then_some(VoteOutcome::Counted)
            })
            .collect();
        let rest: Vec<usize> = (0..votes.len()).filter(|&i| outcomes[i].is_none()).collect();
        if rest.is_empty() {
            return Ok(outcomes.into_iter().flatten().collect());
        }
        let rest_polls: Vec<Uuid> = rest.iter().map(|&i| votes[i].poll).collect();
        let rest_users: Vec<Uuid> = rest.iter().map(|&i| votes[i].user).collect();
        let existing: Vec<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
            "SELECT v.poll_id, v.user_id, v.option_ids FROM polls.votes v \
             JOIN unnest($1::uuid[], $2::uuid[]) AS i(poll_id, user_id) USING (poll_id, user_id)",
        )
        .bind(&rest_polls)
        .bind(&rest_users)
        .fetch_all(&self.pool)
        .await?;
        let existing: HashMap<(Uuid, Uuid), Vec<String>> = existing.into_iter().map(|(p, u, o)| ((p, u), o)).collect();
        let states: Vec<(Uuid, String, bool)> =
            sqlx::query_as("SELECT id, state, coalesce(deadline <= now(), false) FROM polls.polls WHERE id = ANY($1)")
                .bind(&rest_polls)
                .fetch_all(&self.pool)
                .await?;
        let states: HashMap<Uuid, (String, bool)> = states.into_iter().map(|(id, s, d)| (id, (s, d))).collect();
        for i in rest {
            let vote = &votes[i];
            outcomes[i] = Some(match existing.get(&(vote.poll, vote.user)) {
                Some(options) if *options == vote.options => VoteOutcome::Same,
                Some(options) => VoteOutcome::Different(options.clone()),
                None => {
                    let (state, past_deadline) =
                        states.get(&vote.poll).cloned().unwrap_or_else(|| ("deleted".to_owned(), false));
                    VoteOutcome::NotOpen { state, past_deadline }
                }
            });
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Replaces a user's vote while the poll is open and before its
    /// deadline; returns the previous choice, None when the poll is not
    /// open (or the user has no vote).
    pub async fn change_vote(&self, vote: &NewVote) -> Result<Option<Vec<String>>> {
        Ok(sqlx::query_scalar(
            "WITH p AS (SELECT id FROM polls.polls WHERE id = $1 AND state = 'open' \
                        AND (deadline IS NULL OR deadline > now()) FOR SHARE), \
             old AS (SELECT poll_id, option_ids FROM polls.votes WHERE poll_id = $1 AND user_id = $2 FOR UPDATE) \
             UPDATE polls.votes v SET option_ids = $3, voted_at = now() FROM p, old \
             WHERE v.poll_id = p.id AND v.user_id = $2 AND old.poll_id = p.id RETURNING old.option_ids",
        )
        .bind(vote.poll)
        .bind(vote.user)
        .bind(&vote.options)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Voters of one option of a poll, in voting order.
    pub async fn voters(&self, poll: Uuid, option: &str, offset: i64, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM polls.votes WHERE poll_id = $1 AND $2 = ANY(option_ids) \
             ORDER BY voted_at, user_id OFFSET $3 LIMIT $4",
        )
        .bind(poll)
        .bind(option)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of a poll's voters in user-id order, after `after`.
    pub async fn vote_users(&self, poll: Uuid, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM polls.votes WHERE poll_id = $1 AND ($2::uuid IS NULL OR user_id > $2) \
             ORDER BY user_id LIMIT $3",
        )
        .bind(poll)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Counts a poll's votes outside a transaction (live tally rebuild).
    pub async fn count_votes(&self, poll: Uuid) -> Result<Counted> {
        let mut tx = self.pool.begin().await?;
        let counted = count(&mut tx, poll).await?;
        tx.commit().await?;
        Ok(counted)
    }
}
