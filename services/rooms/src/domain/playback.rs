//! The group playback state machine (docs/sync.md). Pure: the handlers
//! read the current state and the members' readiness, call one transition,
//! and store the result with a compare-and-set, so two replicas acting at
//! once serialise instead of overwriting each other.

use serde::{Deserialize, Serialize};

use super::fields::Media;

/// Slowest and fastest group rates.
pub const RATE_MIN: f64 = 0.5;
pub const RATE_MAX: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Idle,
    Waiting,
    Playing,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    #[default]
    Unspecified,
    Play,
    Pause,
    Seek,
    SetRate,
    ChangeMedia,
    PlayNext,
    AutoAdvance,
    Ended,
    GroupReady,
    ReadyTimeout,
    Reset,
}

/// The room's group playback state. Times are server Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    pub media: Option<Media>,
    pub status: Status,
    pub position_ms: i64,
    pub reference_ms: i64,
    pub rate: f64,
    /// Assigned when stored (the room version of this state).
    #[serde(skip)]
    pub version: u64,
    pub changed_by: String,
    pub cause: Cause,
    pub target_latency_ms: i64,
    /// WAITING: when members still not ready are released.
    pub wait_deadline_ms: i64,
    /// WAITING: whether the group plays (or stays paused) once ready.
    pub resume_playing: bool,
    /// Members the last change of media skipped: not entitled to it, they
    /// stay on the previous media and never hold the group for this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_entitled: Vec<uuid::Uuid>,
}

impl Default for Group {
    fn default() -> Self {
        Self {
            media: None,
            status: Status::Idle,
            position_ms: 0,
            reference_ms: 0,
            rate: 1.0,
            version: 0,
            changed_by: String::new(),
            cause: Cause::Unspecified,
            target_latency_ms: 0,
            wait_deadline_ms: 0,
            resume_playing: false,
            not_entitled: Vec::new(),
        }
    }
}

/// A switch to other media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zap {
    pub media: Media,
    /// Start position (VOD), ms.
    pub position: i64,
    /// Play once the group is ready (else pause there).
    pub autoplay: bool,
    pub cause: Cause,
    /// Members not entitled to the media, skipped (see Group::not_entitled).
    pub skipped: Vec<uuid::Uuid>,
}

/// The deployment's and room's timing settings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub min_start_delay_ms: i64,
    pub ready_timeout_ms: i64,
    pub live_target_latency_ms: i64,
}

/// What the group's members (those holding it) say right now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Holders {
    /// Members holding the group (online, not opted out, not released).
    pub count: usize,
    /// The highest round trip among them.
    pub max_rtt_ms: i64,
    /// Whether any of them reported BUFFERING for the current version.
    pub any_buffering: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackError {
    NoMedia,
    LiveMedia,
    MediaFixed,
    InvalidRate,
    QueueEmpty,
}

impl PlaybackError {
    pub fn reason(self) -> &'static str {
        match self {
            PlaybackError::NoMedia => "no_media",
            PlaybackError::LiveMedia => "live_media",
            PlaybackError::MediaFixed => "media_fixed",
            PlaybackError::InvalidRate => "invalid_rate",
            PlaybackError::QueueEmpty => "queue_empty",
        }
    }
}

/// Start delay of a scheduled start: long enough for the slowest holder
/// to hear about it before it happens.
pub fn start_delay_ms(max_rtt_ms: i64, timing: &Timing) -> i64 {
    (2 * max_rtt_ms.max(0)).max(timing.min_start_delay_ms)
}

impl Group {
    /// The media position the group is at, at server time `t`.
    pub fn position_at(&self, t: i64) -> i64 {
        if self.status == Status::Playing && t >= self.reference_ms {
            self.position_ms + ((t - self.reference_ms) as f64 * self.rate).round() as i64
        } else {
            self.position_ms
        }
    }

    fn live(&self) -> bool {
        self.media.as_ref().is_some_and(Media::is_live)
    }

    fn vod(&self) -> Result<(), PlaybackError> {
        match &self.media {
            None => Err(PlaybackError::NoMedia),
            Some(media) if media.is_live() => Err(PlaybackError::LiveMedia),
            Some(_) => Ok(()),
        }
    }

    fn next(&self, by: &str, cause: Cause) -> Group {
        Group { changed_by: by.to_owned(), cause, wait_deadline_ms: 0, ..self.clone() }
    }

    fn waiting(mut self, now: i64, timing: &Timing, resume_playing: bool) -> Group {
        self.status = Status::Waiting;
        self.reference_ms = now;
        self.wait_deadline_ms = now + timing.ready_timeout_ms;
        self.resume_playing = resume_playing;
        self
    }

    /// Play or unpause. `None`: already playing, nothing changes.
    pub fn play(
        &self,
        by: &str,
        position: Option<i64>,
        holders: Holders,
        timing: &Timing,
        now: i64,
    ) -> Result<Option<Group>, PlaybackError> {
        self.vod()?;
        if self.status == Status::Playing && position.is_none() {
            return Ok(None);
        }
        let mut next = self.next(by, Cause::Play);
        next.position_ms = position.unwrap_or_else(|| self.position_at(now));
        if self.status == Status::Waiting
            || holders.any_buffering
            || position.is_some_and(|p| p != self.position_at(now))
        {
            // Someone is still loading (or the position jumps): wait for them.
            return Ok(Some(next.waiting(now, timing, true)));
        }
        next.status = Status::Playing;
        next.reference_ms = now + start_delay_ms(holders.max_rtt_ms, timing);
        Ok(Some(next))
    }

    /// Pause at `position` (the sender's player) or at the computed one.
    pub fn pause(&self, by: &str, position: Option<i64>, now: i64) -> Result<Option<Group>, PlaybackError> {
        self.vod()?;
        if self.status == Status::Paused && position.is_none_or(|p| p == self.position_ms) {
            return Ok(None);
        }
        let mut next = self.next(by, Cause::Pause);
        next.status = Status::Paused;
        next.position_ms = position.unwrap_or_else(|| self.position_at(now));
        next.reference_ms = now;
        Ok(Some(next))
    }

    /// Jump; the group waits for its members to buffer at the new position.
    pub fn seek(&self, by: &str, position: i64, timing: &Timing, now: i64) -> Result<Group, PlaybackError> {
        self.vod()?;
        let playing = matches!(self.status, Status::Playing) || (self.status == Status::Waiting && self.resume_playing);
        let mut next = self.next(by, Cause::Seek);
        next.position_ms = position;
        Ok(next.waiting(now, timing, playing))
    }

    /// New rate from now on. `None`: unchanged.
    pub fn set_rate(&self, by: &str, rate: f64, now: i64) -> Result<Option<Group>, PlaybackError> {
        self.vod()?;
        if !(RATE_MIN..=RATE_MAX).contains(&rate) || !rate.is_finite() {
            return Err(PlaybackError::InvalidRate);
        }
        if (self.rate - rate).abs() < f64::EPSILON {
            return Ok(None);
        }
        let mut next = self.next(by, Cause::SetRate);
        next.position_ms = self.position_at(now);
        // A scheduled start keeps its start instant.
        next.reference_ms = if self.status == Status::Playing { now.max(self.reference_ms) } else { now };
        if self.status == Status::Playing && self.reference_ms > now {
            next.position_ms = self.position_ms;
        }
        next.rate = rate;
        Ok(Some(next))
    }

    /// Switch media ("zap together"). Live media plays at once at the live
    /// edge minus the target latency; other media waits for the group.
    pub fn change_media(&self, by: &str, zap: Zap, timing: &Timing, now: i64) -> Group {
        let Zap { media, position, autoplay, cause, skipped } = zap;
        let mut next = self.next(by, cause);
        let live = media.is_live();
        next.media = Some(media);
        next.not_entitled = skipped;
        next.rate = 1.0;
        if live {
            next.status = Status::Playing;
            next.position_ms = 0;
            next.reference_ms = now;
            next.target_latency_ms = timing.live_target_latency_ms;
            next.resume_playing = true;
            return next;
        }
        next.target_latency_ms = 0;
        next.position_ms = position;
        next.waiting(now, timing, autoplay)
    }

    /// Ends a wait: everyone holding the group is ready (`GroupReady`) or
    /// the deadline passed (`ReadyTimeout`); plays with a scheduled start
    /// or stays paused, as the command that started the wait asked.
    pub fn finish_wait(&self, cause: Cause, holders: Holders, timing: &Timing, now: i64) -> Option<Group> {
        if self.status != Status::Waiting {
            return None;
        }
        let mut next = self.next("", cause);
        next.changed_by = self.changed_by.clone();
        if self.resume_playing {
            next.status = Status::Playing;
            next.reference_ms = now + start_delay_ms(holders.max_rtt_ms, timing);
        } else {
            next.status = Status::Paused;
            next.reference_ms = now;
        }
        Some(next)
    }

    /// Whether live rules apply (no shared position).
    pub fn is_live(&self) -> bool {
        self.live()
    }
}

/// A member's readiness report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    #[default]
    Unknown,
    Ready,
    Buffering,
    Failed,
}

/// A member's participation in the group, kept per room in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberPlayback {
    pub readiness: Readiness,
    /// The playback version the readiness refers to.
    pub version: u64,
    pub holds_group: bool,
    /// Missed the ready timeout; catches up alone until it reports READY.
    pub released: bool,
}

impl Default for MemberPlayback {
    fn default() -> Self {
        Self { readiness: Readiness::Unknown, version: 0, holds_group: true, released: false }
    }
}

impl MemberPlayback {
    /// Whether the group waits for this member at all.
    pub fn holds(&self) -> bool {
        self.holds_group && !self.released
    }

    /// Whether this member is done waiting for `version`.
    pub fn ready_for(&self, version: u64) -> bool {
        !self.holds() || (self.version >= version && matches!(self.readiness, Readiness::Ready | Readiness::Failed))
    }

    /// Applies a report; `false` when it refers to an older version.
    pub fn report(&mut self, readiness: Readiness, version: u64, current: u64) -> bool {
        if version < current {
            return false;
        }
        self.readiness = readiness;
        self.version = version;
        if readiness == Readiness::Ready {
            self.released = false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timing = Timing { min_start_delay_ms: 500, ready_timeout_ms: 5000, live_target_latency_ms: 6000 };

    fn zap(media: Media, position: i64, autoplay: bool) -> Zap {
        Zap { media, position, autoplay, cause: Cause::ChangeMedia, skipped: Vec::new() }
    }

    fn paused_at(ms: i64) -> Group {
        Group { media: Some(Media::Asset("m".into())), status: Status::Paused, position_ms: ms, ..Group::default() }
    }

    #[test]
    fn position_advances_only_while_playing_and_after_the_start() {
        let g = Group { status: Status::Playing, position_ms: 1000, reference_ms: 10_000, rate: 1.5, ..paused_at(0) };
        assert_eq!(g.position_at(9_000), 1000, "scheduled start not reached yet");
        assert_eq!(g.position_at(12_000), 4000);
        assert_eq!(paused_at(700).position_at(99_999), 700);
    }

    #[test]
    fn play_schedules_the_start_after_twice_the_slowest_round_trip() {
        let holders = Holders { count: 3, max_rtt_ms: 400, any_buffering: false };
        let g = paused_at(5000).play("u", None, holders, &T, 1_000).unwrap().unwrap();
        assert_eq!(g.status, Status::Playing);
        assert_eq!(g.reference_ms, 1_800);
        let fast = Holders { max_rtt_ms: 20, ..holders };
        assert_eq!(paused_at(0).play("u", None, fast, &T, 1_000).unwrap().unwrap().reference_ms, 1_500);
    }

    #[test]
    fn play_waits_while_a_holder_buffers_and_is_idempotent_when_playing() {
        let buffering = Holders { count: 2, max_rtt_ms: 10, any_buffering: true };
        let g = paused_at(0).play("u", None, buffering, &T, 1_000).unwrap().unwrap();
        assert_eq!((g.status, g.wait_deadline_ms, g.resume_playing), (Status::Waiting, 6_000, true));
        let playing = Group { status: Status::Playing, ..paused_at(0) };
        assert_eq!(playing.play("u", None, Holders::default(), &T, 1).unwrap(), None);
    }

    #[test]
    fn commands_on_live_or_missing_media_are_refused() {
        let live = Group { media: Some(Media::Channel("c".into())), ..Group::default() };
        assert_eq!(live.play("u", None, Holders::default(), &T, 0), Err(PlaybackError::LiveMedia));
        assert_eq!(live.seek("u", 5, &T, 0), Err(PlaybackError::LiveMedia));
        assert_eq!(Group::default().pause("u", None, 0), Err(PlaybackError::NoMedia));
    }

    #[test]
    fn pause_freezes_the_computed_position_once() {
        let g = Group { status: Status::Playing, position_ms: 0, reference_ms: 0, ..paused_at(0) };
        let paused = g.pause("u", None, 2_500).unwrap().unwrap();
        assert_eq!((paused.status, paused.position_ms), (Status::Paused, 2_500));
        assert_eq!(paused.pause("u", None, 9_000).unwrap(), None);
    }

    #[test]
    fn seek_waits_and_resumes_as_it_was() {
        let playing = Group { status: Status::Playing, ..paused_at(0) };
        let g = playing.seek("u", 60_000, &T, 100).unwrap();
        assert_eq!(
            (g.status, g.position_ms, g.resume_playing, g.wait_deadline_ms),
            (Status::Waiting, 60_000, true, 5_100)
        );
        let done = g
            .finish_wait(Cause::GroupReady, Holders { count: 1, max_rtt_ms: 300, any_buffering: false }, &T, 1_000)
            .unwrap();
        assert_eq!((done.status, done.reference_ms, done.position_ms), (Status::Playing, 1_600, 60_000));
        let from_pause = paused_at(0)
            .seek("u", 10, &T, 0)
            .unwrap()
            .finish_wait(Cause::ReadyTimeout, Holders::default(), &T, 5_000)
            .unwrap();
        assert_eq!((from_pause.status, from_pause.cause), (Status::Paused, Cause::ReadyTimeout));
        assert_eq!(paused_at(0).finish_wait(Cause::GroupReady, Holders::default(), &T, 0), None);
    }

    #[test]
    fn rate_changes_rebase_the_position() {
        let g = Group { status: Status::Playing, position_ms: 0, reference_ms: 0, ..paused_at(0) };
        let faster = g.set_rate("u", 2.0, 1_000).unwrap().unwrap();
        assert_eq!((faster.position_ms, faster.reference_ms), (1_000, 1_000));
        assert_eq!(faster.position_at(2_000), 3_000);
        assert_eq!(g.set_rate("u", 2.5, 0), Err(PlaybackError::InvalidRate));
        assert_eq!(g.set_rate("u", f64::NAN, 0), Err(PlaybackError::InvalidRate));
        assert_eq!(g.set_rate("u", 1.0, 0).unwrap(), None);
    }

    #[test]
    fn zapping_to_a_live_channel_plays_at_once_behind_the_edge() {
        let g = paused_at(0).change_media("u", zap(Media::Channel("c".into()), 0, false), &T, 50);
        assert_eq!((g.status, g.target_latency_ms, g.reference_ms), (Status::Playing, 6_000, 50));
        let vod = g.change_media("u", zap(Media::Asset("b".into()), 3_000, true), &T, 60);
        assert_eq!(
            (vod.status, vod.position_ms, vod.resume_playing, vod.target_latency_ms),
            (Status::Waiting, 3_000, true, 0)
        );
    }

    #[test]
    fn skipped_members_belong_to_one_change_of_media() {
        let skipped = vec![uuid::Uuid::now_v7()];
        let g = paused_at(0).change_media(
            "u",
            Zap { skipped: skipped.clone(), ..zap(Media::Asset("b".into()), 0, true) },
            &T,
            0,
        );
        assert_eq!(g.not_entitled, skipped);
        let paused = g.finish_wait(Cause::GroupReady, Holders::default(), &T, 10).unwrap();
        assert_eq!(paused.not_entitled, skipped, "still on this media: still skipped");
        let next = paused.change_media("u", zap(Media::Asset("c".into()), 0, true), &T, 20);
        assert!(next.not_entitled.is_empty(), "new media: asked again");
    }

    #[test]
    fn readiness_counts_only_current_reports_of_holders() {
        let mut m = MemberPlayback::default();
        assert!(!m.ready_for(5));
        assert!(m.report(Readiness::Ready, 5, 5));
        assert!(m.ready_for(5));
        assert!(!m.ready_for(6));
        assert!(!m.report(Readiness::Buffering, 4, 5), "older versions are ignored");
        let opted_out = MemberPlayback { holds_group: false, ..MemberPlayback::default() };
        assert!(opted_out.ready_for(99));
        let mut released = MemberPlayback { released: true, ..MemberPlayback::default() };
        assert!(released.ready_for(99));
        released.report(Readiness::Ready, 99, 99);
        assert!(!released.released, "a READY report rejoins the group");
    }
}
