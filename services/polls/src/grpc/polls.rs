//! PollsService handlers: the poll lifecycle (create, edit, open, close,
//! archive, delete), reads with results as visible to the caller, voting
//! (through the batching `votes` writer), voters of public polls, and the
//! timer and live-tally hooks.

use hearth_platform::{validate::Page, wkt};
use hearth_proto::hearth::polls::v1::{
    self as pb, ChoiceMode, ResultsVisibility, VoteVisibility, interaction_event::Kind,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Caller, PollsApi, Room, predictions::Award, uuid};
use crate::{
    domain::poll::{self, Ballot, Opening, PollState},
    error::{PollsError, Result},
    live::Item,
    store::{
        Counted, NewPoll, NewVote, Outgoing, PollRow,
        outbox::enqueue,
        polls as store,
        timers::{self, TimerKind},
    },
};

fn poll_not_found() -> PollsError {
    PollsError::NotFound("poll_not_found", "no such poll".into())
}

fn results_visibility(row: &PollRow) -> ResultsVisibility {
    ResultsVisibility::try_from(i32::from(row.results_visibility)).unwrap_or(ResultsVisibility::Live)
}

/// What a vote needs of its poll; fixed once the poll opened.
#[derive(Debug, Clone)]
pub struct PollDef {
    pub id: Uuid,
    pub room: Uuid,
    pub state: PollState,
    pub ballot: Ballot,
    pub allow_change: bool,
}

impl PollDef {
    pub fn from_row(row: &PollRow) -> PollDef {
        PollDef {
            id: row.id,
            room: row.room_id,
            state: PollState::parse(&row.state),
            ballot: Ballot {
                options: row.options.0.iter().map(|o| o.id.clone()).collect(),
                multiple: row.choice_mode == ChoiceMode::Multiple as i16,
                max_choices: row.max_choices.max(1) as u32,
            },
            allow_change: row.allow_vote_change,
        }
    }
}

/// The proto of a poll row, with results when given.
fn poll_pb(row: &PollRow, results: Option<pb::PollResults>, mine: Vec<String>) -> pb::Poll {
    let state = match PollState::parse(&row.state) {
        PollState::Draft => pb::PollState::Draft,
        PollState::Scheduled => pb::PollState::Scheduled,
        PollState::Open => pb::PollState::Open,
        PollState::Closed => pb::PollState::Closed,
        PollState::Archived => pb::PollState::Archived,
    };
    pb::Poll {
        poll_id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        question: row.question.clone(),
        options: row
            .options
            .0
            .iter()
            .map(|o| pb::PollOption { option_id: o.id.clone(), text: o.text.clone() })
            .collect(),
        choice_mode: i32::from(row.choice_mode),
        max_choices: row.max_choices.max(1) as u32,
        allow_vote_change: row.allow_vote_change,
        results_visibility: i32::from(row.results_visibility),
        vote_visibility: i32::from(row.vote_visibility),
        duration: row.duration_ms.map(|ms| wkt::duration(std::time::Duration::from_millis(ms.max(0) as u64))),
        state: state as i32,
        scheduled_open_time: row.scheduled_open_at.map(wkt::timestamp),
        open_time: row.opened_at.map(wkt::timestamp),
        deadline: row.deadline.map(wkt::timestamp),
        close_time: row.closed_at.map(wkt::timestamp),
        created_by: row.created_by.to_string(),
        create_time: Some(wkt::timestamp(row.created_at)),
        update_time: Some(wkt::timestamp(row.updated_at)),
        results,
        my_option_ids: mine,
    }
}

/// Results in option order from per-option counts.
fn results_pb(
    row: &PollRow,
    counts: &std::collections::HashMap<String, i64>,
    voters: i64,
    votes: i64,
    finalized: bool,
    revision: u64,
) -> pb::PollResults {
    pb::PollResults {
        tallies: row
            .options
            .0
            .iter()
            .map(|o| pb::OptionTally {
                option_id: o.id.clone(),
                votes: counts.get(&o.id).copied().unwrap_or(0).max(0) as u64,
            })
            .collect(),
        voter_count: voters.max(0) as u64,
        vote_count: votes.max(0) as u64,
        finalized,
        revision,
        as_of: Some(wkt::timestamp(OffsetDateTime::now_utc())),
    }
}

/// `scheduled_open_time` as a time, when set.
fn scheduled_time(raw: Option<&hearth_proto::wkt::Timestamp>) -> Result<Option<OffsetDateTime>> {
    raw.map(|t| {
        wkt::datetime(t)
            .ok_or_else(|| PollsError::field("scheduled_open_time", "invalid_schedule", "is not a valid time"))
    })
    .transpose()
}

/// Final results of a closed poll.
fn final_results(row: &PollRow, revision: u64) -> Option<pb::PollResults> {
    let counts = row.final_tallies.as_ref()?;
    Some(results_pb(row, &counts.0, row.voter_count.unwrap_or(0), row.vote_count.unwrap_or(0), true, revision))
}

impl PollsApi {
    /// The poll and its room as the caller may see them: unpublished polls
    /// are NOT_FOUND to non-managers.
    async fn visible_poll(&self, caller: &Caller, poll: Uuid) -> Result<(PollRow, Room)> {
        let row = self.store.poll(poll).await?.ok_or_else(poll_not_found)?;
        let room = self.viewable(caller, row.room_id).await?;
        if PollState::parse(&row.state).unpublished() && !room.caller_manages() {
            return Err(poll_not_found());
        }
        Ok((row, room))
    }

    /// The poll if the caller manages its room.
    async fn managed_poll(&self, caller: &Caller, poll: Uuid) -> Result<(PollRow, Room)> {
        let row = self.store.poll(poll).await?.ok_or_else(poll_not_found)?;
        let room = self.managed(caller, row.room_id).await?;
        Ok((row, room))
    }

    /// Current results of a poll (live from Redis while open, final once
    /// closed).
    async fn results(&self, row: &PollRow) -> Result<pb::PollResults> {
        let revision = self.state.revision(row.room_id, row.id).await?;
        if let Some(results) = final_results(row, revision) {
            return Ok(results);
        }
        let mut live = self.state.tallies(row.room_id, row.id).await?;
        if !live.initialised && PollState::parse(&row.state) == PollState::Open {
            // Redis lost the live counts: rebuild them from the votes.
            let counted = self.store.count_votes(row.id).await?;
            self.state.rebuild_tallies(row.room_id, row.id, &counted.tallies, counted.voters, counted.votes).await?;
            live = self.state.tallies(row.room_id, row.id).await?;
        }
        Ok(results_pb(row, &live.options, live.voters, live.votes, false, revision))
    }

    /// The poll as `caller` sees it: results when visible, own choice.
    pub(crate) async fn poll_for(&self, caller: &Caller, room: &Room, row: &PollRow) -> Result<pb::Poll> {
        let mut polls = self.polls_for(caller, room, std::slice::from_ref(row)).await?;
        polls.pop().ok_or_else(|| PollsError::Internal("no poll built".into()))
    }

    /// Polls as `caller` sees them, with one query for the caller's votes.
    async fn polls_for(&self, caller: &Caller, room: &Room, rows: &[PollRow]) -> Result<Vec<pb::Poll>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut mine = self.store.my_votes(caller.id, &ids).await?;
        let mut polls = Vec::with_capacity(rows.len());
        for row in rows {
            let state = PollState::parse(&row.state);
            let results = if !state.unpublished()
                && poll::results_visible(results_visibility(row), state, room.caller_manages())
            {
                Some(self.results(row).await?)
            } else {
                None
            };
            polls.push(poll_pb(row, results, mine.remove(&row.id).unwrap_or_default()));
        }
        Ok(polls)
    }

    /// Commits a transaction whose lifecycle events are in the outbox, then
    /// publishes them.
    async fn commit(&self, tx: sqlx::Transaction<'static, sqlx::Postgres>, events: Vec<(i64, Outgoing)>) -> Result<()> {
        tx.commit().await?;
        if !events.is_empty() {
            self.deliver(events).await;
        }
        Ok(())
    }

    /// Opens a poll in the transaction: state, deadline timer, live hash,
    /// `poll_opened` event. None when it was not DRAFT or SCHEDULED.
    async fn open_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        poll: Uuid,
    ) -> Result<Option<(PollRow, (i64, Outgoing))>> {
        let Some(row) = store::open(tx, poll).await? else { return Ok(None) };
        timers::cancel(tx, TimerKind::PollOpen, poll).await?;
        if let Some(deadline) = row.deadline {
            timers::schedule(tx, TimerKind::PollClose, poll, deadline).await?;
        }
        let options: Vec<String> = row.options.0.iter().map(|o| o.id.clone()).collect();
        self.state.init_tallies(row.room_id, row.id, &options).await?;
        let results = results_pb(&row, &Default::default(), 0, 0, false, 0);
        let event = Kind::PollOpened(pb::PollOpened { poll: Some(poll_pb(&row, Some(results), Vec::new())) });
        let out = self.events.lifecycle(row.room_id, event);
        let id = enqueue(tx, &out).await?;
        Ok(Some((row, (id, out))))
    }

    /// Refuses a sixth open poll in a room (the caller holds the room lock).
    async fn check_open_limit(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, room: Uuid) -> Result<()> {
        if store::open_count(tx, room).await? >= poll::OPEN_PER_ROOM {
            return Err(PollsError::Exhausted(
                "too_many_open_polls",
                format!("a room may have at most {} open polls; close one first", poll::OPEN_PER_ROOM),
                None,
            ));
        }
        Ok(())
    }

    pub(crate) async fn create_poll(
        &self,
        caller: Caller,
        req: pb::CreatePollRequest,
    ) -> Result<pb::CreatePollResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        let draft = req.poll.as_ref().ok_or_else(|| PollsError::field("poll", "poll_required", "is required"))?;
        let content = poll::content(draft)?;
        let scheduled = scheduled_time(req.scheduled_open_time.as_ref())?;
        let opening = poll::opening(scheduled, req.open_now, OffsetDateTime::now_utc())?;
        let request_id = crate::domain::text::request_id("request_id", &req.request_id, false)?;
        let room = self.managed(&caller, room_id).await?;
        let new = NewPoll {
            id: Uuid::now_v7(),
            room: room.id,
            content,
            scheduled_open_at: match opening {
                Opening::At(at) => Some(at),
                _ => None,
            },
            created_by: caller.id,
            request_id,
        };
        let mut tx = self.store.begin().await?;
        store::lock_room(&mut tx, room.id).await?;
        let (mut row, created) = store::insert(&mut tx, &new).await?;
        let mut events = Vec::new();
        if created {
            match opening {
                Opening::Now => {
                    Self::check_open_limit(&mut tx, room.id).await?;
                    if let Some((opened, event)) = self.open_in(&mut tx, row.id).await? {
                        row = opened;
                        events.push(event);
                    }
                }
                Opening::At(at) => timers::schedule(&mut tx, TimerKind::PollOpen, row.id, at).await?,
                Opening::Draft => {}
            }
        }
        self.commit(tx, events).await?;
        Ok(pb::CreatePollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    pub(crate) async fn get_poll(&self, caller: Caller, req: pb::GetPollRequest) -> Result<pb::GetPollResponse> {
        let (row, room) = self.visible_poll(&caller, uuid("poll_id", &req.poll_id)?).await?;
        Ok(pb::GetPollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    pub(crate) async fn list_polls(&self, caller: Caller, req: pb::ListPollsRequest) -> Result<pb::ListPollsResponse> {
        let room_id = uuid("room_id", &req.room_id)?;
        if req.states.len() > 5 {
            return Err(PollsError::field("states", "too_many_states", "at most 5 states"));
        }
        let mut states = Vec::new();
        for (i, raw) in req.states.iter().enumerate() {
            let state = match pb::PollState::try_from(*raw) {
                Ok(pb::PollState::Draft) => PollState::Draft,
                Ok(pb::PollState::Scheduled) => PollState::Scheduled,
                Ok(pb::PollState::Open) => PollState::Open,
                Ok(pb::PollState::Closed) => PollState::Closed,
                Ok(pb::PollState::Archived) => PollState::Archived,
                _ => return Err(PollsError::field(&format!("states[{i}]"), "invalid_state", "unknown poll state")),
            };
            states.push(state);
        }
        let filter: Vec<String> = req.states.iter().map(i32::to_string).collect();
        let page = Page::parse(req.page.as_ref(), &[&req.room_id, &filter.join(",")])?;
        let room = self.viewable(&caller, room_id).await?;
        if states.is_empty() {
            states = vec![PollState::Draft, PollState::Scheduled, PollState::Open, PollState::Closed];
        }
        if !room.caller_manages() {
            states.retain(|s| !s.unpublished());
        }
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let rows = self.store.polls(room.id, &names, page.offset as i64, i64::from(page.size)).await?;
        Ok(pb::ListPollsResponse {
            page: page.response(rows.len()),
            polls: self.polls_for(&caller, &room, &rows).await?,
        })
    }

    pub(crate) async fn update_poll(
        &self,
        caller: Caller,
        req: pb::UpdatePollRequest,
    ) -> Result<pb::UpdatePollResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let draft = req.poll.as_ref().ok_or_else(|| PollsError::field("poll", "poll_required", "is required"))?;
        let content = poll::content(draft)?;
        let scheduled = scheduled_time(req.scheduled_open_time.as_ref())?;
        let opening = poll::opening(scheduled, false, OffsetDateTime::now_utc())?;
        let (_, room) = self.managed_poll(&caller, poll_id).await?;
        let mut tx = self.store.begin().await?;
        let current = store::lock(&mut tx, poll_id).await?.ok_or_else(poll_not_found)?;
        if !PollState::parse(&current.state).unpublished() {
            return Err(PollsError::Precondition(
                "poll_not_editable",
                "the poll has opened: it can no longer change".into(),
            ));
        }
        let at = match opening {
            Opening::At(at) => Some(at),
            _ => None,
        };
        let row = store::update(&mut tx, poll_id, &content, at).await?;
        match at {
            Some(at) => timers::schedule(&mut tx, TimerKind::PollOpen, poll_id, at).await?,
            None => timers::cancel(&mut tx, TimerKind::PollOpen, poll_id).await?,
        }
        tx.commit().await?;
        Ok(pb::UpdatePollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    pub(crate) async fn open_poll(&self, caller: Caller, req: pb::OpenPollRequest) -> Result<pb::OpenPollResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let (row, room) = self.managed_poll(&caller, poll_id).await?;
        let mut tx = self.store.begin().await?;
        store::lock_room(&mut tx, room.id).await?;
        let current = store::lock(&mut tx, poll_id).await?.ok_or_else(poll_not_found)?;
        let row = match PollState::parse(&current.state) {
            PollState::Open => current,
            PollState::Closed | PollState::Archived => {
                return Err(PollsError::Precondition("poll_closed", "the poll has closed".into()));
            }
            PollState::Draft | PollState::Scheduled => {
                Self::check_open_limit(&mut tx, room.id).await?;
                let (opened, event) = self.open_in(&mut tx, row.id).await?.ok_or_else(poll_not_found)?;
                self.commit(tx, vec![event]).await?;
                return Ok(pb::OpenPollResponse { poll: Some(self.poll_for(&caller, &room, &opened).await?) });
            }
        };
        Ok(pb::OpenPollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    /// Closes an OPEN poll: final count from the votes, reconciled into the
    /// live hash, `poll_closed` event. Returns the row as it ends up, and
    /// whether this call closed it.
    async fn close(&self, poll: Uuid) -> Result<(PollRow, bool)> {
        let mut tx = self.store.begin().await?;
        let current = store::lock(&mut tx, poll).await?.ok_or_else(poll_not_found)?;
        if PollState::parse(&current.state) != PollState::Open {
            return Ok((current, false));
        }
        let counted: Counted = store::count(&mut tx, poll).await?;
        let row = store::close(&mut tx, poll, &counted).await?;
        timers::cancel(&mut tx, TimerKind::PollClose, poll).await?;
        // Voters' participation points are credited off the vote's path,
        // once the poll is closed (see credit_poll_points).
        if self.config.poll_vote_points > 0 && counted.voters > 0 {
            timers::schedule(&mut tx, TimerKind::PollPoints, poll, OffsetDateTime::now_utc()).await?;
        }
        let revision = self.state.next_revision(row.room_id, row.id).await?;
        let event =
            Kind::PollClosed(pb::PollClosed { poll: Some(poll_pb(&row, final_results(&row, revision), Vec::new())) });
        let out = self.events.lifecycle(row.room_id, event);
        let id = enqueue(&mut tx, &out).await?;
        self.commit(tx, vec![(id, out)]).await?;
        self.votes.forget(poll);
        Ok((row, true))
    }

    pub(crate) async fn close_poll(&self, caller: Caller, req: pb::ClosePollRequest) -> Result<pb::ClosePollResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let (row, room) = self.managed_poll(&caller, poll_id).await?;
        if PollState::parse(&row.state).unpublished() {
            return Err(PollsError::Precondition("poll_not_open", "the poll has not opened".into()));
        }
        let (row, _) = self.close(poll_id).await?;
        Ok(pb::ClosePollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    pub(crate) async fn archive_poll(
        &self,
        caller: Caller,
        req: pb::ArchivePollRequest,
    ) -> Result<pb::ArchivePollResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let (row, room) = self.managed_poll(&caller, poll_id).await?;
        if PollState::parse(&row.state) == PollState::Archived {
            return Ok(pb::ArchivePollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) });
        }
        let mut tx = self.store.begin().await?;
        let Some(row) = store::archive(&mut tx, poll_id).await? else {
            return Err(PollsError::Precondition("poll_not_closed", "only closed polls can be archived".into()));
        };
        let out =
            self.events.lifecycle(row.room_id, Kind::PollArchived(pb::PollArchived { poll_id: row.id.to_string() }));
        let id = enqueue(&mut tx, &out).await?;
        self.commit(tx, vec![(id, out)]).await?;
        Ok(pb::ArchivePollResponse { poll: Some(self.poll_for(&caller, &room, &row).await?) })
    }

    pub(crate) async fn delete_poll(
        &self,
        caller: Caller,
        req: pb::DeletePollRequest,
    ) -> Result<pb::DeletePollResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        self.managed_poll(&caller, poll_id).await?;
        let mut tx = self.store.begin().await?;
        if !store::delete(&mut tx, poll_id).await? {
            return Err(PollsError::Precondition(
                "poll_not_editable",
                "the poll has opened: it can no longer be deleted".into(),
            ));
        }
        timers::cancel(&mut tx, TimerKind::PollOpen, poll_id).await?;
        tx.commit().await?;
        Ok(pb::DeletePollResponse {})
    }

    pub(crate) async fn cast_vote(&self, caller: Caller, req: pb::CastVoteRequest) -> Result<pb::CastVoteResponse> {
        self.cast_vote_as(caller.id, req).await
    }

    /// A vote by `user` (authenticated by the caller or by a gateway).
    pub(crate) async fn cast_vote_as(&self, user: Uuid, req: pb::CastVoteRequest) -> Result<pb::CastVoteResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let def = self.votes.definition(self, poll_id).await?;
        if def.state != PollState::Open {
            // Refused without the writer; standing first, so a closed poll
            // of a private room tells an outsider nothing.
            let (state, facts, standings) = self.standings(def.room, &[user]).await?;
            if let Some(refusal) =
                standings.first().and_then(|s| super::votes::standing_refusal(state, facts.visibility, s))
            {
                return Err(refusal);
            }
        }
        match def.state {
            PollState::Draft | PollState::Scheduled => {
                return Err(PollsError::Precondition("poll_not_open", "the poll has not opened yet".into()));
            }
            PollState::Closed | PollState::Archived => {
                return Err(PollsError::Precondition("poll_closed", "the poll has closed".into()));
            }
            PollState::Open => {}
        }
        let options = def.ballot.choose(&req.option_ids)?;
        self.votes.submit(def, NewVote { poll: poll_id, user, options }).await
    }

    pub(crate) async fn list_poll_voters(
        &self,
        caller: Caller,
        req: pb::ListPollVotersRequest,
    ) -> Result<pb::ListPollVotersResponse> {
        let poll_id = uuid("poll_id", &req.poll_id)?;
        let page = Page::parse(req.page.as_ref(), &[&req.poll_id, &req.option_id])?;
        let (row, room) = self.visible_poll(&caller, poll_id).await?;
        if !row.options.0.iter().any(|o| o.id == req.option_id) {
            return Err(PollsError::field("option_id", "unknown_option", "not an option of this poll"));
        }
        if row.vote_visibility != VoteVisibility::Public as i16 {
            return Err(PollsError::Precondition("poll_anonymous", "this poll's votes are anonymous".into()));
        }
        let state = PollState::parse(&row.state);
        if !poll::results_visible(results_visibility(&row), state, room.caller_manages()) {
            return Err(PollsError::Precondition("results_hidden", "results are shown when the poll closes".into()));
        }
        let ids = self.store.voters(poll_id, &req.option_id, page.offset as i64, i64::from(page.size)).await?;
        let refs = self.profiles.refs(&ids).await;
        let voters = ids
            .iter()
            .map(|id| {
                refs.get(id).cloned().unwrap_or_else(|| hearth_proto::hearth::common::v1::UserRef {
                    user_id: id.to_string(),
                    ..Default::default()
                })
            })
            .collect();
        Ok(pb::ListPollVotersResponse { page: page.response(ids.len()), voters })
    }

    /// Timer: a SCHEDULED poll's time came (no-op if it opened otherwise
    /// or was deleted). The per-room limit is not applied: the schedule
    /// was accepted when it was set.
    pub(crate) async fn open_scheduled_poll(&self, poll: Uuid) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let Some(current) = store::lock(&mut tx, poll).await? else { return Ok(()) };
        if PollState::parse(&current.state) != PollState::Scheduled {
            return Ok(());
        }
        if let Some((_, event)) = self.open_in(&mut tx, poll).await? {
            self.commit(tx, vec![event]).await?;
        }
        Ok(())
    }

    /// Timer: an OPEN poll's deadline came (no-op if it closed otherwise).
    pub(crate) async fn close_poll_at_deadline(&self, poll: Uuid) -> Result<()> {
        match self.close(poll).await {
            Ok(_) => Ok(()),
            Err(PollsError::NotFound(..)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Timer: credits a closed poll's voters their participation points,
    /// a page of voters per ledger transaction. Idempotent per voter
    /// (`poll_vote:<poll>`), so a replica dying midway leaves the rest to
    /// the retry after its lease.
    pub(crate) async fn credit_poll_points(&self, poll: Uuid) -> Result<()> {
        const PAGE: i64 = 5000;
        let Some(row) = self.store.poll(poll).await? else { return Ok(()) };
        if !matches!(PollState::parse(&row.state), PollState::Closed | PollState::Archived) {
            return Ok(());
        }
        let source = format!("poll_vote:{poll}");
        let mut after = None;
        loop {
            let users = self.store.vote_users(poll, after, PAGE).await?;
            let Some(last) = users.last().copied() else { return Ok(()) };
            let awards: Vec<Award> = users
                .iter()
                .map(|user| Award {
                    room: row.room_id,
                    user: *user,
                    reason: pb::PointsReason::PollVote,
                    amount: self.config.poll_vote_points,
                    source: source.clone(),
                    reference: Some(poll),
                })
                .collect();
            self.award_points(&awards).await?;
            if (users.len() as i64) < PAGE {
                return Ok(());
            }
            after = Some(last);
        }
    }

    /// Live: the poll's current tallies to the room (`.polls.live`), or to
    /// managers only for after-close polls (`.mod.polls`).
    pub(crate) async fn publish_tally(&self, room: Uuid, poll: Uuid) -> Result<()> {
        let Some(row) = self.store.poll(poll).await? else { return Ok(()) };
        if PollState::parse(&row.state) != PollState::Open {
            return Ok(());
        }
        let mut results = self.results(&row).await?;
        results.revision = self.state.next_revision(room, poll).await?;
        let event = Kind::PollTally(pb::PollTally { poll_id: poll.to_string(), results: Some(results) });
        if results_visibility(&row) == ResultsVisibility::AfterClose {
            self.events.managers(room, event).await;
        } else {
            self.events.live(room, event).await;
        }
        Ok(())
    }

    /// Marks a poll's tallies for the next live broadcast.
    pub(crate) fn tally_changed(&self, room: Uuid, poll: Uuid) {
        self.live.touch(Item::Poll { room, poll });
    }

    /// The room's current polls as the caller sees them (room snapshot).
    pub(crate) async fn current_polls(&self, caller: &Caller, room: &Room) -> Result<Vec<pb::Poll>> {
        let rows = self.store.current_polls(room.id, room.caller_manages()).await?;
        self.polls_for(caller, room, &rows).await
    }
}
