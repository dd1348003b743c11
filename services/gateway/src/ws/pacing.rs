//! Pacing of live counters per room on this gateway.
//!
//! Live counters (poll tallies, prediction totals, question upvotes, a
//! quiz's top 10) carry the latest value, so a client may miss any of them
//! (docs/protocol.md, "Applying interaction events"). The polls service
//! sends each at most 4 times a second; delivering every one to every
//! local member costs one socket write per member, so a 10,000-viewer room
//! on one gateway would take 40,000 writes a second for one poll alone —
//! more than the votes it counts. So each gateway paces a counter to a
//! budget of deliveries per second per room: an item's next update goes
//! out `audience / budget` after the previous one (never later than
//! [`MAX_INTERVAL`]), the newest value replacing one still waiting, and a
//! lifecycle event (poll closed, prediction locked, question removed, …)
//! drops what waits for its item and any counter of it arriving later, so
//! stale counts never follow final results. Rooms below the budget see
//! every update.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use hearth_proto::hearth::polls::v1::{InteractionEvent, interaction_event::Kind};

use crate::ws::codec::Shared;

/// The longest a live counter waits however large the room.
pub const MAX_INTERVAL: Duration = Duration::from_secs(2);

/// Items not updated (or ended) for this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(30);

/// How a room's interaction event is delivered.
#[derive(Debug, PartialEq, Eq)]
pub enum Pace<'a> {
    /// A live counter of this item: paced.
    Counter(&'a str),
    /// A lifecycle event that supersedes this item's waiting counter.
    Supersedes(&'a str),
    /// Anything else: delivered at once.
    Immediate,
}

/// What an interaction event is, for pacing.
pub fn classify(event: &InteractionEvent) -> Pace<'_> {
    match &event.kind {
        Some(Kind::PollTally(t)) => Pace::Counter(&t.poll_id),
        Some(Kind::PredictionUpdated(p)) => Pace::Counter(&p.prediction_id),
        Some(Kind::QuestionVotesUpdated(q)) => Pace::Counter(&q.question_id),
        Some(Kind::QuizLeaderboardUpdated(l)) => Pace::Counter(&l.quiz_id),
        Some(Kind::PollClosed(c)) => c.poll.as_ref().map_or(Pace::Immediate, |p| Pace::Supersedes(&p.poll_id)),
        Some(Kind::PollArchived(a)) => Pace::Supersedes(&a.poll_id),
        Some(Kind::QuizEnded(e)) => e.quiz.as_ref().map_or(Pace::Immediate, |q| Pace::Supersedes(&q.quiz_id)),
        Some(Kind::PredictionLocked(l)) => {
            l.prediction.as_ref().map_or(Pace::Immediate, |p| Pace::Supersedes(&p.prediction_id))
        }
        Some(Kind::PredictionResolved(r)) => {
            r.prediction.as_ref().map_or(Pace::Immediate, |p| Pace::Supersedes(&p.prediction_id))
        }
        Some(Kind::PredictionCanceled(c)) => {
            c.prediction.as_ref().map_or(Pace::Immediate, |p| Pace::Supersedes(&p.prediction_id))
        }
        Some(Kind::QuestionRemoved(r)) => Pace::Supersedes(&r.question_id),
        _ => Pace::Immediate,
    }
}

/// The gap between two updates of one counter to `audience` local members
/// under a budget of `budget` deliveries per second (0: unpaced).
pub fn interval(audience: usize, budget: u32) -> Duration {
    if budget == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(audience as f64 / f64::from(budget)).min(MAX_INTERVAL)
}

struct Item {
    last: Instant,
    /// The newest update not yet delivered, for managers only or not.
    waiting: Option<(bool, Arc<Shared>)>,
    due: Instant,
    /// A lifecycle event ended the item's live phase: later counters (one
    /// may arrive late on its own subject) are dropped.
    ended: bool,
}

/// One room's paced counters.
#[derive(Default)]
pub struct Pacer {
    items: HashMap<String, Item>,
}

impl Pacer {
    /// Offers an update; returns it when it may go out now, otherwise keeps
    /// it (replacing an older one) until [`Pacer::due`] releases it.
    pub fn offer(
        &mut self,
        id: &str,
        moderators_only: bool,
        event: Arc<Shared>,
        now: Instant,
        gap: Duration,
    ) -> Option<Arc<Shared>> {
        match self.items.get_mut(id) {
            Some(item) if item.ended => None,
            Some(item) if now < item.last + gap => {
                item.due = item.last + gap;
                item.waiting = Some((moderators_only, event));
                None
            }
            Some(item) => {
                item.last = now;
                item.waiting = None;
                Some(event)
            }
            None => {
                self.items.insert(id.to_owned(), Item { last: now, waiting: None, due: now, ended: false });
                Some(event)
            }
        }
    }

    /// Drops the update waiting for an item a lifecycle event superseded,
    /// and any that arrives after it.
    pub fn supersede(&mut self, id: &str, now: Instant) {
        self.items.insert(id.to_owned(), Item { last: now, waiting: None, due: now, ended: true });
    }

    /// Updates whose time has come, with their managers-only flag.
    pub fn due(&mut self, now: Instant) -> Vec<(bool, Arc<Shared>)> {
        let mut ready = Vec::new();
        self.items.retain(|_, item| {
            if item.waiting.is_some() && item.due <= now {
                if let Some(waiting) = item.waiting.take() {
                    ready.push(waiting);
                }
                item.last = now;
            }
            item.waiting.is_some() || now.duration_since(item.last) < FORGET_AFTER
        });
        ready
    }

    /// When the next waiting update is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.items.values().filter(|i| i.waiting.is_some()).map(|i| i.due).min()
    }
}

#[cfg(test)]
mod tests {
    use hearth_proto::hearth::{
        gateway::v1::{ServerFrame, server_frame},
        polls::v1::{Poll, PollClosed, PollTally},
    };

    use super::*;

    fn tally(n: u64) -> Arc<Shared> {
        Arc::new(Shared::new(ServerFrame {
            r#ref: format!("{n}"),
            kind: Some(server_frame::Kind::InteractionEvent(InteractionEvent::default())),
        }))
    }

    fn tag(event: &Arc<Shared>) -> String {
        event.frame().r#ref.clone()
    }

    #[test]
    fn the_interval_grows_with_the_audience_up_to_the_cap() {
        assert_eq!(interval(2_000, 10_000), Duration::from_millis(200));
        assert_eq!(interval(10_000, 10_000), Duration::from_secs(1));
        assert_eq!(interval(1_000_000, 10_000), MAX_INTERVAL);
        assert_eq!(interval(1_000_000, 0), Duration::ZERO, "a zero budget turns pacing off");
    }

    #[test]
    fn updates_within_the_interval_wait_and_the_newest_wins() {
        let mut pacer = Pacer::default();
        let t0 = Instant::now();
        let gap = Duration::from_secs(1);
        assert_eq!(pacer.offer("p", false, tally(1), t0, gap).map(|e| tag(&e)), Some("1".into()), "first goes out");
        assert!(pacer.offer("p", false, tally(2), t0 + gap / 4, gap).is_none());
        assert!(pacer.offer("p", false, tally(3), t0 + gap / 2, gap).is_none());
        assert_eq!(pacer.next_due(), Some(t0 + gap));
        assert!(pacer.due(t0 + gap / 2).is_empty(), "not yet");
        let ready = pacer.due(t0 + gap);
        assert_eq!(ready.iter().map(|(_, e)| tag(e)).collect::<Vec<_>>(), vec!["3"], "only the newest");
        assert_eq!(pacer.next_due(), None);
        assert!(pacer.offer("p", false, tally(4), t0 + gap + gap / 2, gap).is_none(), "paced from the release");
        assert_eq!(pacer.offer("q", false, tally(5), t0 + gap, gap).map(|e| tag(&e)), Some("5".into()), "per item");
    }

    #[test]
    fn unpaced_rooms_deliver_everything() {
        let mut pacer = Pacer::default();
        let t0 = Instant::now();
        for n in 0..5 {
            assert!(pacer.offer("p", false, tally(n), t0, Duration::ZERO).is_some());
        }
    }

    #[test]
    fn a_lifecycle_event_drops_the_waiting_update() {
        let mut pacer = Pacer::default();
        let t0 = Instant::now();
        let gap = Duration::from_secs(1);
        pacer.offer("p", false, tally(1), t0, gap);
        assert!(pacer.offer("p", false, tally(2), t0, gap).is_none());
        let closed = InteractionEvent {
            kind: Some(Kind::PollClosed(PollClosed { poll: Some(Poll { poll_id: "p".into(), ..Default::default() }) })),
            ..Default::default()
        };
        let Pace::Supersedes(id) = classify(&closed) else { panic!("poll_closed supersedes") };
        pacer.supersede(id, t0);
        assert!(pacer.due(t0 + gap * 2).is_empty(), "the stale tally never follows the final results");
        assert!(pacer.offer("p", false, tally(3), t0 + gap * 3, gap).is_none(), "nor does one arriving late");
        let counter = InteractionEvent {
            kind: Some(Kind::PollTally(PollTally { poll_id: "p".into(), results: None })),
            ..Default::default()
        };
        assert_eq!(classify(&counter), Pace::Counter("p"));
    }
}
