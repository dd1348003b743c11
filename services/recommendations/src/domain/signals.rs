//! How much one signal says about a viewer's taste, and how fast it fades.
//! Implicit feedback: watching counts most, being in a room and taking
//! part count too, an explicit share counts most of all. Weights are in
//! "five minutes of watching" units.

use hearth_proto::hearth::{provider::v1::ViewingEventKind, recommendations::v1::SignalKind};

/// Weight of a provider viewing event.
pub fn viewing_weight(kind: ViewingEventKind) -> f64 {
    match kind {
        ViewingEventKind::Start => 1.0,
        // Sent every 30–300 s while watching: watching on is the strongest
        // evidence there is.
        ViewingEventKind::Heartbeat => 1.0,
        // Zapping onto a channel is a weak choice (the channel zapped away
        // from gets nothing: leaving is not a dislike of what was on).
        ViewingEventKind::Zap => 0.5,
        ViewingEventKind::Stop | ViewingEventKind::Unspecified => 0.0,
    }
}

/// Weight of a Hearth engagement signal; `minutes` is ROOM_WATCH_TIME's
/// duration, `count` LIVE_REACTION's taps.
pub fn signal_weight(kind: SignalKind, minutes: f64, count: u32) -> f64 {
    match kind {
        SignalKind::RoomJoined => 2.0,
        SignalKind::RoomWatchTime => (minutes / 5.0).clamp(0.0, 3.0),
        SignalKind::ChatMessage => 0.5,
        SignalKind::Reaction => 0.25,
        SignalKind::LiveReaction => (0.1 * f64::from(count)).min(1.0),
        SignalKind::PollVote | SignalKind::QuizAnswer | SignalKind::Prediction | SignalKind::QuestionAsked => 1.0,
        SignalKind::Share => 3.0,
        SignalKind::WatchPartyStarted => 2.0,
        SignalKind::Unspecified => 0.0,
    }
}

/// `score` as it was at `from_ms`, faded to `to_ms` with `half_life_ms`
/// (exponential decay; never grows for an earlier `to`).
pub fn decayed(score: f64, from_ms: i64, to_ms: i64, half_life_ms: i64) -> f64 {
    if half_life_ms <= 0 {
        return score;
    }
    let elapsed = (to_ms - from_ms).max(0) as f64;
    score * (-elapsed / half_life_ms as f64).exp2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_halve_every_half_life_and_never_grow_back() {
        let day = 86_400_000;
        assert!((decayed(8.0, 0, 3 * day, day) - 1.0).abs() < 1e-12);
        assert_eq!(decayed(8.0, 5 * day, day, day), 8.0);
        assert_eq!(decayed(8.0, 0, day, 0), 8.0);
    }

    #[test]
    fn watching_and_sharing_weigh_most() {
        assert!(signal_weight(SignalKind::Share, 0.0, 1) > signal_weight(SignalKind::RoomJoined, 0.0, 1));
        assert_eq!(signal_weight(SignalKind::RoomWatchTime, 5.0, 1), 1.0);
        assert_eq!(signal_weight(SignalKind::RoomWatchTime, 600.0, 1), 3.0, "capped");
        assert_eq!(signal_weight(SignalKind::LiveReaction, 0.0, 50), 1.0, "taps are capped");
        assert_eq!(viewing_weight(ViewingEventKind::Stop), 0.0);
    }
}
