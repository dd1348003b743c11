//! The ROOM_WATCH_TIME rule (hearth.recommendations.v1.EngagementSignal):
//! one signal per user per room per [`PERIOD`] online. A user's window
//! opens at the first presence (enter or heartbeat) seen with no open
//! window, stays open while presence keeps being seen (each sighting
//! extends its life by [`idle_ttl`]), and is due once [`PERIOD`] has passed
//! since it opened; the replica that claims it emits the signal and opens
//! the next window at that moment. A window whose user went away (no
//! sighting within the idle TTL) lapses without a signal, so watch time is
//! only ever credited for whole periods actually spent online.

use std::time::Duration;

/// Online time one ROOM_WATCH_TIME signal stands for.
pub const PERIOD: Duration = Duration::from_secs(5 * 60);

/// How long an open window survives without a presence sighting: two lease
/// lifetimes, so one late heartbeat does not reset it but a user who left
/// starts over.
pub fn idle_ttl(presence_ttl: Duration) -> Duration {
    presence_ttl.saturating_mul(2).max(Duration::from_secs(1))
}

/// What a sighting of a user's presence means for their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// No window was open: one opens now.
    Opened,
    /// The window is open and not yet due.
    Running,
    /// The window opened at `since_ms` has lasted `online` (at least
    /// [`PERIOD`]): a signal is due, for whoever claims the window.
    Due { since_ms: i64, online: Duration },
}

/// Judges a sighting at `now_ms` given the window's start (None when no
/// window was open). A start in the future (clock skew between replicas)
/// counts as just opened.
pub fn judge(window_start_ms: Option<i64>, now_ms: i64) -> Sighting {
    let Some(since_ms) = window_start_ms else { return Sighting::Opened };
    let elapsed = now_ms.saturating_sub(since_ms);
    if elapsed < 0 || (elapsed as u128) < PERIOD.as_millis() {
        return Sighting::Running;
    }
    Sighting::Due { since_ms, online: Duration::from_millis(elapsed as u64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn a_window_opens_at_the_first_sighting() {
        assert_eq!(judge(None, 1_000), Sighting::Opened);
    }

    #[test]
    fn a_signal_is_due_after_five_minutes_online_and_not_before() {
        let start = 10 * MIN;
        assert_eq!(judge(Some(start), start), Sighting::Running);
        assert_eq!(judge(Some(start), start + 5 * MIN - 1), Sighting::Running);
        assert_eq!(
            judge(Some(start), start + 5 * MIN),
            Sighting::Due { since_ms: start, online: Duration::from_secs(300) }
        );
        // A heartbeat arriving late still credits the time actually spent.
        assert_eq!(
            judge(Some(start), start + 5 * MIN + 7_000),
            Sighting::Due { since_ms: start, online: Duration::from_secs(307) }
        );
    }

    #[test]
    fn a_start_in_the_future_is_not_due() {
        assert_eq!(judge(Some(10 * MIN), 9 * MIN), Sighting::Running);
    }

    #[test]
    fn an_idle_window_lapses_after_two_lease_lifetimes() {
        assert_eq!(idle_ttl(Duration::from_secs(30)), Duration::from_secs(60));
        assert_eq!(idle_ttl(Duration::ZERO), Duration::from_secs(1));
    }
}
