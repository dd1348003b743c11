//! Trending scores with forward decay (Cormode et al., "Forward Decay",
//! ICDE 2009): an event of weight w at time t adds w·2^((t − L)/h) to its
//! item, where L is a landmark (the start of the event's UTC day) and h
//! the half-life. Scores in one day's set then rank exactly as
//! exponentially decayed sums would, without ever rewriting old entries;
//! each day gets a fresh set (keys carry the landmark day), and the last
//! day's set is carried over at its decayed value.

/// Milliseconds in a day: the landmark period.
pub const DAY_MS: i64 = 86_400_000;

/// The landmark day of an instant (days since the Unix epoch).
pub fn landmark_day(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// What an event of `weight` at `at_ms` adds to its item's score in the
/// set of its landmark day.
pub fn increment(weight: f64, at_ms: i64, half_life_ms: i64) -> f64 {
    let since_landmark = at_ms - landmark_day(at_ms) * DAY_MS;
    weight * (since_landmark as f64 / half_life_ms.max(1) as f64).exp2()
}

/// The factor that brings scores of the previous day's set into the
/// current day's units.
pub fn carry_over(half_life_ms: i64) -> f64 {
    (-(DAY_MS as f64) / half_life_ms.max(1) as f64).exp2()
}

/// A score in the current day's set, as a decayed sum at `now_ms` (for
/// display: "how much is happening now").
pub fn current(score: f64, now_ms: i64, half_life_ms: i64) -> f64 {
    score / increment(1.0, now_ms, half_life_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn forward_decay_ranks_as_decayed_sums_do() {
        let day = 20_000 * DAY_MS;
        // A: 4 events two hours ago; B: 2 events just now. With a 1 h half
        // life, A is worth 1 now and B 2.
        let a = 4.0 * increment(1.0, day + 8 * HOUR, HOUR);
        let b = 2.0 * increment(1.0, day + 10 * HOUR, HOUR);
        assert!(b > a);
        assert!((current(a, day + 10 * HOUR, HOUR) - 1.0).abs() < 1e-9);
        assert!((current(b, day + 10 * HOUR, HOUR) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn the_previous_day_carries_over_at_its_decayed_value() {
        let day = 20_000 * DAY_MS;
        let late = increment(1.0, day - HOUR, HOUR) * carry_over(HOUR);
        let now = increment(1.0, day + HOUR, HOUR);
        assert!((now / late - 4.0).abs() < 1e-9, "two hours apart: a factor of 4");
        assert_eq!(landmark_day(day - 1), 19_999);
    }
}
