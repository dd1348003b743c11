//! Group playback: Play, Pause, Seek, SetRate, ChangeMedia, UpdateQueue,
//! PlayNext, ReportReadiness, SetHoldGroup, and the end of waits (group
//! ready, or the ready timeout releasing the stragglers).
//!
//! Every command reads the state, applies one pure transition
//! (domain::playback) and stores it with a compare-and-set; a concurrent
//! change makes it re-read and re-apply, so commands on different replicas
//! serialise and the version sequence stays gap-free.

use hearth_proto::hearth::rooms::v1 as pb;
use uuid::Uuid;

use super::{Caller, PER_USER_EVENTS_MAX_ONLINE, RoomsApi, convert, invalid, room_id};
use crate::{
    domain::{
        catalog,
        fields::{self, Media},
        playback::{Cause, Group, Holders, MemberPlayback, Readiness, Status, Timing, Zap},
        roles::Kind,
    },
    error::{Result, RoomsError},
    events::Channel,
    state::{
        now_ms,
        playback::{QueueEntry, Stored},
    },
    store::RoomRow,
};

/// Whether the group plays now or will once everyone is ready.
fn starts_playing(group: &Group) -> bool {
    group.status == Status::Playing || (group.status == Status::Waiting && group.resume_playing)
}

/// Retries of a compare-and-set before giving up as ABORTED.
const CAS_ATTEMPTS: usize = 16;
/// Longest queue.
const QUEUE_MAX: usize = 100;

/// What a command changes.
enum Change {
    Nothing,
    State(Group),
    Queue(Vec<QueueEntry>),
    Both(Group, Vec<QueueEntry>),
}

/// Who the group waits for right now.
struct GroupView {
    holders: Holders,
    /// Online users and their readiness records.
    records: Vec<(Uuid, MemberPlayback)>,
}

impl RoomsApi {
    /// The group's holders: online members who hold the group (guests
    /// watch along but never make the group wait).
    async fn group_of(&self, room: Uuid, version: u64) -> Result<GroupView> {
        let online = self.state.online_users(room).await?;
        let members = self.store.existing_members(room, &online).await?;
        let users: Vec<Uuid> = online.into_iter().filter(|u| members.contains(u)).collect();
        let records = self.state.member_playback(room, &users).await?;
        let rtts = self.state.round_trips(room, &users).await?;
        let mut holders = Holders::default();
        for (record, rtt) in records.iter().zip(&rtts) {
            if record.holds() {
                holders.count += 1;
                holders.max_rtt_ms = holders.max_rtt_ms.max(rtt.unwrap_or(0));
                holders.any_buffering |= record.readiness == Readiness::Buffering && record.version >= version;
            }
        }
        Ok(GroupView { holders, records: users.into_iter().zip(records).collect() })
    }

    /// Runs one playback command for `caller` under the room's policy.
    async fn command(
        &self,
        raw_room: &str,
        caller: Caller,
        expected_version: u64,
        apply: impl Fn(&RoomRow, &Stored, Holders, &Timing, i64) -> Result<Change>,
    ) -> Result<(Group, Vec<QueueEntry>)> {
        let (group, queue, _) = self.command_in(raw_room, caller, expected_version, apply).await?;
        Ok((group, queue))
    }

    /// As `command`, also returning the room it ran in.
    async fn command_in(
        &self,
        raw_room: &str,
        caller: Caller,
        expected_version: u64,
        apply: impl Fn(&RoomRow, &Stored, Holders, &Timing, i64) -> Result<Change>,
    ) -> Result<(Group, Vec<QueueEntry>, RoomRow)> {
        let room = room_id(raw_room)?;
        let access = self.viewable(room, caller).await?;
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        Self::actor(&access, caller).may_control_playback(access.room.settings.playback_policy)?;
        let timing = self.timing(&access.room);
        for _ in 0..CAS_ATTEMPTS {
            if expected_version != 0 {
                let current = self.state.current_version(room).await?;
                if current != expected_version {
                    return Err(RoomsError::Precondition(
                        "version_conflict",
                        format!("the room is at version {current}, not {expected_version}"),
                    ));
                }
            }
            let stored = self.init_playback(&access.room, Cause::Reset).await?;
            let group = self.group_of(room, stored.group.version).await?;
            let now = now_ms();
            let (state, queue) = match apply(&access.room, &stored, group.holders, &timing, now)? {
                Change::Nothing => return Ok((stored.group.clone(), stored.queue.clone(), access.room)),
                Change::State(g) => (Some(g), None),
                Change::Queue(q) => (None, Some(q)),
                Change::Both(g, q) => (Some(g), Some(q)),
            };
            let Ok(version) = self.state.store_playback(room, &stored, state.as_ref(), queue.as_deref()).await? else {
                continue;
            };
            if let Some(queue) = &queue {
                let event = pb::QueueChanged {
                    queue: queue.iter().map(convert::queue_item).collect(),
                    changed_by: caller.id.to_string(),
                };
                self.events.room(room, Channel::Playback, version, pb::room_event::Kind::QueueChanged(event)).await;
            }
            let mut result = stored.group.clone();
            if let Some(mut next) = state {
                next.version = version;
                self.publish_playback(room, &next, version).await;
                if next.status == Status::Waiting {
                    self.state.schedule_wait(room, next.wait_deadline_ms).await?;
                    if group.holders.count == 0 {
                        // Nobody to wait for: the wait ends at once.
                        if let Some(done) = self.try_finish_wait(&access.room).await? {
                            return Ok((done, queue.unwrap_or(stored.queue), access.room));
                        }
                    }
                }
                result = next;
            }
            return Ok((result, queue.unwrap_or(stored.queue), access.room));
        }
        Err(RoomsError::Internal("playback state kept changing; retry".into()))
    }

    async fn publish_playback(&self, room: Uuid, group: &Group, version: u64) {
        let event = pb::PlaybackStateChanged { playback: Some(convert::playback(group)) };
        self.events.room(room, Channel::Playback, version, pb::room_event::Kind::PlaybackStateChanged(event)).await;
    }

    /// Ends the room's wait when everyone holding the group is ready, or
    /// when the deadline passed (releasing whoever is not ready). Called
    /// after readiness reports and by every replica's sweeper.
    pub(crate) async fn try_finish_wait(&self, room: &RoomRow) -> Result<Option<Group>> {
        let timing = self.timing(room);
        for _ in 0..CAS_ATTEMPTS {
            let stored = self.state.load_playback(room.id).await?;
            if stored.group.status != Status::Waiting {
                self.state.clear_wait(room.id).await?;
                return Ok(None);
            }
            let version = stored.group.version;
            let group = self.group_of(room.id, version).await?;
            let waiting_on: Vec<(Uuid, MemberPlayback)> =
                group.records.iter().filter(|(_, r)| !r.ready_for(version)).copied().collect();
            let now = now_ms();
            let cause = if waiting_on.is_empty() {
                Cause::GroupReady
            } else if now >= stored.group.wait_deadline_ms {
                Cause::ReadyTimeout
            } else {
                return Ok(None);
            };
            let mut holders = group.holders;
            if cause == Cause::ReadyTimeout {
                let released: Vec<(Uuid, MemberPlayback)> =
                    waiting_on.iter().map(|(u, r)| (*u, MemberPlayback { released: true, ..*r })).collect();
                self.state.set_member_playback(room.id, &released).await?;
                holders.count -= released.len().min(holders.count);
                self.announce_readiness(room.id, &released, version).await?;
            }
            let Some(mut next) = stored.group.finish_wait(cause, holders, &timing, now) else { return Ok(None) };
            let Ok(new_version) = self.state.store_playback(room.id, &stored, Some(&next), None).await? else {
                continue;
            };
            next.version = new_version;
            self.state.clear_wait(room.id).await?;
            self.publish_playback(room.id, &next, new_version).await;
            return Ok(Some(next));
        }
        Ok(None)
    }

    async fn announce_readiness(&self, room: Uuid, records: &[(Uuid, MemberPlayback)], version: u64) -> Result<()> {
        let (online, _) = self.state.counts(room).await?;
        if online > PER_USER_EVENTS_MAX_ONLINE {
            return Ok(());
        }
        for (user, record) in records {
            let event = pb::ReadinessChanged {
                user_id: user.to_string(),
                playback: Some(convert::member_playback(record)),
                playback_version: version,
            };
            self.events.room(room, Channel::Playback, 0, pb::room_event::Kind::ReadinessChanged(event)).await;
        }
        Ok(())
    }

    pub(crate) async fn play(&self, caller: Caller, req: pb::PlayRequest) -> Result<pb::PlayResponse> {
        let position = convert::position_ms(req.position.as_ref())
            .map_err(|convert::Malformed| invalid("position", "must be a non-negative duration"))?;
        let by = caller.id.to_string();
        let (group, _, room) = self
            .command_in(&req.room_id, caller, req.expected_version, |_, stored, holders, timing, now| {
                Ok(stored.group.play(&by, position, holders, timing, now)?.map_or(Change::Nothing, Change::State))
            })
            .await?;
        if room.kind() == Kind::WatchParty && starts_playing(&group) {
            // The first Play of the party counts; the signal task claims it.
            self.signals.party_played(caller.id, &crate::signals::RoomFacts::of(&room, group.media.as_ref()));
        }
        Ok(pb::PlayResponse { playback: Some(convert::playback(&group)) })
    }

    pub(crate) async fn pause(&self, caller: Caller, req: pb::PauseRequest) -> Result<pb::PauseResponse> {
        let position = convert::position_ms(req.position.as_ref())
            .map_err(|convert::Malformed| invalid("position", "must be a non-negative duration"))?;
        let by = caller.id.to_string();
        let (group, _) = self
            .command(&req.room_id, caller, req.expected_version, |_, stored, _, _, now| {
                Ok(stored.group.pause(&by, position, now)?.map_or(Change::Nothing, Change::State))
            })
            .await?;
        Ok(pb::PauseResponse { playback: Some(convert::playback(&group)) })
    }

    pub(crate) async fn seek(&self, caller: Caller, req: pb::SeekRequest) -> Result<pb::SeekResponse> {
        let position = convert::position_ms(req.position.as_ref())
            .map_err(|convert::Malformed| {
                invalid("position", "position_out_of_range: must be a non-negative duration")
            })?
            .ok_or_else(|| invalid("position", "is required"))?;
        let by = caller.id.to_string();
        let (group, _) = self
            .command(&req.room_id, caller, req.expected_version, |_, stored, _, timing, now| {
                Ok(Change::State(stored.group.seek(&by, position, timing, now)?))
            })
            .await?;
        Ok(pb::SeekResponse { playback: Some(convert::playback(&group)) })
    }

    pub(crate) async fn set_rate(&self, caller: Caller, req: pb::SetRateRequest) -> Result<pb::SetRateResponse> {
        let by = caller.id.to_string();
        let rate = req.rate;
        if !(0.5..=2.0).contains(&rate) {
            return Err(invalid("rate", "must be a number from 0.5 to 2.0"));
        }
        let (group, _) = self
            .command(&req.room_id, caller, req.expected_version, |_, stored, _, _, now| {
                Ok(stored.group.set_rate(&by, rate, now)?.map_or(Change::Nothing, Change::State))
            })
            .await?;
        Ok(pb::SetRateResponse { playback: Some(convert::playback(&group)) })
    }

    /// Who a "zap together" to `media` leaves behind: the caller and every
    /// member are asked in one go (batches of 1000). A refused caller stops
    /// it (PERMISSION_DENIED `not_entitled`, NOT_FOUND `media_not_found`
    /// for an item the catalog does not know); refused members are
    /// returned, to be skipped. Operator admins are exempt themselves.
    async fn zap_entitlement(&self, room: &RoomRow, caller: Caller, media: &Media) -> Result<Vec<Uuid>> {
        if catalog::entitlement_target(media).is_none() {
            return Ok(Vec::new());
        }
        let mut users = vec![caller.id];
        users.extend(self.store.member_ids(room.id).await?.into_iter().filter(|u| *u != caller.id));
        let mut decisions = self.catalog.entitlements(&users, media).await?;
        if caller.admin
            && let Some(own) = decisions.iter_mut().find(|d| d.user == caller.id)
        {
            *own = catalog::Decision::allowed(caller.id);
        }
        catalog::skipped_members(caller.id, &decisions).map_err(|refused| super::not_entitled(&refused.0, true))
    }

    /// Checks made before the catalog is asked, so that a refused command
    /// costs no entitlement call: archived room, playback policy, fixed media.
    async fn zap_allowed(&self, raw_room: &str, caller: Caller) -> Result<RoomRow> {
        let access = self.viewable(room_id(raw_room)?, caller).await?;
        if access.room.archived() {
            return Err(RoomsError::Precondition("room_archived", "the room is archived".into()));
        }
        Self::actor(&access, caller).may_control_playback(access.room.settings.playback_policy)?;
        media_changeable(&access.room)?;
        Ok(access.room)
    }

    /// Members skipped by a change of media report FAILED for its version
    /// on their behalf: they cannot play it, so the group never waits for
    /// them; they see themselves in PlaybackState.not_entitled_user_ids
    /// (and their FAILED readiness), stay members, and keep the previous
    /// media on their own player. A READY report of theirs for a later
    /// version makes them hold the group again.
    async fn release_skipped(&self, room: &RoomRow, group: &Group) -> Result<()> {
        if group.not_entitled.is_empty() {
            return Ok(());
        }
        let current = self.state.member_playback(room.id, &group.not_entitled).await?;
        let failed: Vec<(Uuid, MemberPlayback)> = group
            .not_entitled
            .iter()
            .zip(current)
            .map(|(user, record)| {
                (*user, MemberPlayback { readiness: Readiness::Failed, version: group.version, ..record })
            })
            .collect();
        self.state.set_member_playback(room.id, &failed).await?;
        self.announce_readiness(room.id, &failed, group.version).await?;
        if group.status == Status::Waiting {
            self.try_finish_wait(room).await?;
        }
        Ok(())
    }

    pub(crate) async fn change_media(
        &self,
        caller: Caller,
        req: pb::ChangeMediaRequest,
    ) -> Result<pb::ChangeMediaResponse> {
        let media =
            fields::media("media", convert::media_input(req.media.as_ref()), self.config.allow_http_media_urls)?;
        let position = convert::position_ms(req.position.as_ref())
            .map_err(|convert::Malformed| invalid("position", "must be a non-negative duration"))?
            .unwrap_or(0);
        let room = self.zap_allowed(&req.room_id, caller).await?;
        let skipped = self.zap_entitlement(&room, caller, &media).await?;
        let by = caller.id.to_string();
        let (group, _) = self
            .command(&req.room_id, caller, req.expected_version, |room, stored, _, timing, now| {
                media_changeable(room)?;
                let zap = Zap {
                    media: media.clone(),
                    position,
                    autoplay: req.autoplay,
                    cause: Cause::ChangeMedia,
                    skipped: skipped.clone(),
                };
                Ok(Change::State(stored.group.change_media(&by, zap, timing, now)))
            })
            .await?;
        self.release_skipped(&room, &group).await?;
        let not_entitled = self.user_refs(&group.not_entitled).await;
        Ok(pb::ChangeMediaResponse { playback: Some(convert::playback(&group)), not_entitled })
    }

    /// UserRefs of `users`, in order.
    async fn user_refs(&self, users: &[Uuid]) -> Vec<hearth_proto::hearth::common::v1::UserRef> {
        let mut refs = self.profiles.refs(users).await;
        users.iter().map(|u| refs.remove(u).unwrap_or_else(|| convert::user_ref(*u))).collect()
    }

    pub(crate) async fn update_queue(
        &self,
        caller: Caller,
        req: pb::UpdateQueueRequest,
    ) -> Result<pb::UpdateQueueResponse> {
        use pb::update_queue_request::Operation;
        let operation =
            req.operation.clone().ok_or_else(|| invalid("operation", "is required: add, remove, move or clear"))?;
        let added = match &operation {
            Operation::Add(add) => Some(fields::media(
                "add.media",
                convert::media_input(add.media.as_ref()),
                self.config.allow_http_media_urls,
            )?),
            _ => None,
        };
        let item = |field: &str, raw: &str| hearth_platform::validate::uuid(field, raw);
        let target = match &operation {
            Operation::Remove(r) => Some(item("remove.item_id", &r.item_id)?),
            Operation::Move(m) => Some(item("move.item_id", &m.item_id)?),
            _ => None,
        };
        let by = caller.id;
        let (_, queue) = self
            .command(&req.room_id, caller, req.expected_version, |_, stored, _, _, now| {
                let mut queue = stored.queue.clone();
                let position = |id: Uuid, queue: &[QueueEntry]| {
                    queue
                        .iter()
                        .position(|e| e.item_id == id)
                        .ok_or(RoomsError::NotFound("queue_item_not_found", "no such queue item"))
                };
                match &operation {
                    Operation::Add(add) => {
                        if queue.len() >= QUEUE_MAX {
                            return Err(RoomsError::Exhausted(
                                "queue_full",
                                format!("the queue holds {QUEUE_MAX} items"),
                            ));
                        }
                        let index = add.index.map(|i| i as usize).unwrap_or(queue.len());
                        if index > queue.len() {
                            return Err(invalid("add.index", "index_out_of_range: past the end of the queue"));
                        }
                        let media = added.clone().ok_or_else(|| invalid("add.media", "is required"))?;
                        queue.insert(index, QueueEntry { item_id: Uuid::now_v7(), media, added_by: by, added_ms: now });
                    }
                    Operation::Remove(_) => {
                        let at = position(target.unwrap_or_default(), &queue)?;
                        queue.remove(at);
                    }
                    Operation::Move(m) => {
                        let at = position(target.unwrap_or_default(), &queue)?;
                        if m.to_index as usize >= queue.len() {
                            return Err(invalid(
                                "move.to_index",
                                "index_out_of_range: must be less than the queue length",
                            ));
                        }
                        let entry = queue.remove(at);
                        queue.insert(m.to_index as usize, entry);
                    }
                    Operation::Clear(_) => {
                        if queue.is_empty() {
                            return Ok(Change::Nothing);
                        }
                        queue.clear();
                    }
                }
                Ok(Change::Queue(queue))
            })
            .await?;
        let version = self.state.current_version(room_id(&req.room_id)?).await?;
        Ok(pb::UpdateQueueResponse { queue: queue.iter().map(convert::queue_item).collect(), version })
    }

    /// As ChangeMedia with the head of the queue. The head is read first to
    /// ask the catalog about it; if the queue changed meanwhile the command
    /// is refused as `version_conflict` (the members were asked about other
    /// media).
    pub(crate) async fn play_next(&self, caller: Caller, req: pb::PlayNextRequest) -> Result<pb::PlayNextResponse> {
        let room = self.zap_allowed(&req.room_id, caller).await?;
        let head = self.state.load_playback(room.id).await?.queue.first().cloned();
        let skipped = match &head {
            Some(head) => self.zap_entitlement(&room, caller, &head.media).await?,
            None => Vec::new(),
        };
        let checked = head.map(|h| h.item_id);
        let by = caller.id.to_string();
        let (group, queue) = self
            .command(&req.room_id, caller, req.expected_version, |room, stored, _, timing, now| {
                media_changeable(room)?;
                let mut queue = stored.queue.clone();
                if queue.is_empty() {
                    return Err(crate::domain::playback::PlaybackError::QueueEmpty.into());
                }
                let head = queue.remove(0);
                if Some(head.item_id) != checked {
                    return Err(RoomsError::Precondition(
                        "version_conflict",
                        "the queue changed meanwhile; re-read it and retry".into(),
                    ));
                }
                let zap = Zap {
                    media: head.media,
                    position: 0,
                    autoplay: true,
                    cause: Cause::PlayNext,
                    skipped: skipped.clone(),
                };
                let next = stored.group.change_media(&by, zap, timing, now);
                Ok(Change::Both(next, queue))
            })
            .await?;
        self.release_skipped(&room, &group).await?;
        Ok(pb::PlayNextResponse {
            playback: Some(convert::playback(&group)),
            queue: queue.iter().map(convert::queue_item).collect(),
            not_entitled: self.user_refs(&group.not_entitled).await,
        })
    }

    pub(crate) async fn report_readiness(
        &self,
        caller: Caller,
        req: pb::ReportReadinessRequest,
    ) -> Result<pb::ReportReadinessResponse> {
        let room = room_id(&req.room_id)?;
        if req.playback_version == 0 {
            return Err(invalid("playback_version", "is required"));
        }
        let readiness = convert::readiness_from(req.readiness)
            .ok_or_else(|| invalid("readiness", "is required: READY, BUFFERING or FAILED"))?;
        let rtt = convert::position_ms(req.round_trip.as_ref())
            .map_err(|convert::Malformed| invalid("round_trip", "must be a non-negative duration"))?;
        let access = self.viewable(room, caller).await?;
        if access.member.is_none() && !self.state.is_online(room, caller.id).await? {
            return Err(RoomsError::Denied("not_member", "only members and present guests report readiness".into()));
        }
        if let Some(rtt) = rtt {
            self.state.set_round_trip(room, caller.id, rtt.min(10_000)).await?;
        }
        let stored = self.state.load_playback(room).await?;
        if req.playback_version > stored.group.version {
            // A READY for a version not yet issued would count for every future wait.
            return Err(invalid("playback_version", "is newer than the room's playback version"));
        }
        let mut record = self.state.member_playback(room, &[caller.id]).await?.pop().unwrap_or_default();
        let applied = record.report(readiness, req.playback_version, stored.group.version);
        if applied {
            self.state.set_member_playback(room, &[(caller.id, record)]).await?;
            self.announce_readiness(room, &[(caller.id, record)], req.playback_version).await?;
            if stored.group.status == Status::Waiting {
                self.try_finish_wait(&access.room).await?;
            }
        }
        Ok(pb::ReportReadinessResponse { applied, version: self.state.current_version(room).await? })
    }

    pub(crate) async fn set_hold_group(
        &self,
        caller: Caller,
        req: pb::SetHoldGroupRequest,
    ) -> Result<pb::SetHoldGroupResponse> {
        let room = room_id(&req.room_id)?;
        let access = self.viewable(room, caller).await?;
        if access.member.is_none() {
            return Err(RoomsError::Denied("not_member", "only members may choose whether they hold the group".into()));
        }
        let mut record = self.state.member_playback(room, &[caller.id]).await?.pop().unwrap_or_default();
        record.holds_group = req.hold_group;
        self.state.set_member_playback(room, &[(caller.id, record)]).await?;
        let stored = self.state.load_playback(room).await?;
        self.announce_readiness(room, &[(caller.id, record)], stored.group.version).await?;
        if stored.group.status == Status::Waiting {
            self.try_finish_wait(&access.room).await?;
        }
        Ok(pb::SetHoldGroupResponse { playback: Some(convert::member_playback(&record)) })
    }
}

/// Channel and programme rooms are bound to their media.
fn media_changeable(room: &RoomRow) -> Result<()> {
    if matches!(room.kind(), Kind::Channel | Kind::Programme) {
        return Err(crate::domain::playback::PlaybackError::MediaFixed.into());
    }
    Ok(())
}
