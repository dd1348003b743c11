//! The pure parts of the sync bench: the client algorithm of docs/sync.md
//! (clock sync, drift controller), the simulated player and the statistics.
//! No I/O here, so `cargo test` checks them without a server.
//!
//! Times are `f64` seconds. Clock-sync and player times are in one client's
//! local clock; the caller converts.

use std::collections::VecDeque;

/// SplitMix64: a tiny seedable generator, so a run is reproducible from
/// `--seed` and every client draws from its own stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// NTP-style clock sync over Ping/Pong (gateway.proto): for each sample
/// rtt = t1 − t0 and offset = server − (t0 + t1) / 2; the estimate is the
/// offset of the lowest-rtt sample among the last `window`, because the
/// fastest round trip has the least room for asymmetric delay.
#[derive(Debug, Clone)]
pub struct ClockSync {
    window: usize,
    samples: VecDeque<(f64, f64)>,
}

impl ClockSync {
    pub fn new(window: usize) -> Self {
        Self { window: window.max(1), samples: VecDeque::new() }
    }

    /// Adds one exchange (t0 sent and t1 received in the local clock, server
    /// time of the pong). Returns (rtt, offset) of the sample, or None when
    /// it is unusable (negative round trip).
    pub fn add(&mut self, t0: f64, t1: f64, server: f64) -> Option<(f64, f64)> {
        let rtt = t1 - t0;
        if !rtt.is_finite() || rtt < 0.0 || !server.is_finite() {
            return None;
        }
        let offset = server - (t0 + t1) / 2.0;
        if self.samples.len() == self.window {
            self.samples.pop_front();
        }
        self.samples.push_back((rtt, offset));
        Some((rtt, offset))
    }

    fn best(&self) -> Option<(f64, f64)> {
        self.samples.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// Server time − local time, when at least one sample exists.
    pub fn offset(&self) -> Option<f64> {
        self.best().map(|(_, offset)| offset)
    }
}

/// Thresholds of the drift controller (docs/sync.md defaults).
#[derive(Debug, Clone, Copy)]
pub struct DriftConfig {
    /// Below this |drift| nothing is done.
    pub deadband: f64,
    /// A correction in progress ends once |drift| is within this (the
    /// documented algorithm uses the deadband itself).
    pub settle: f64,
    /// Above this |drift| the player seeks instead of changing rate.
    pub seek_threshold: f64,
    /// Rate correction removes the drift over roughly this many seconds.
    pub horizon: f64,
    pub min_rate: f64,
    pub max_rate: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self { deadband: 0.100, settle: 0.020, seek_threshold: 2.5, horizon: 2.0, min_rate: 0.95, max_rate: 1.05 }
    }
}

/// What the player should do about the drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Correction {
    /// In sync: play at the group rate.
    Hold,
    /// Play at this rate until in sync.
    Rate(f64),
    /// Seek to this media position.
    Seek(f64),
}

/// Drift = player position − expected group position. Small drift is left
/// alone, medium drift is removed by a gentle rate change (inaudible, no
/// rebuffering), large drift by a seek aimed past the expected position by
/// the time the seek itself takes.
#[derive(Debug, Clone)]
pub struct DriftController {
    config: DriftConfig,
    correcting: bool,
}

impl DriftController {
    pub fn new(config: DriftConfig) -> Self {
        Self { config, correcting: false }
    }

    pub fn config(&self) -> DriftConfig {
        self.config
    }

    /// Whether a rate correction is in progress.
    pub fn correcting(&self) -> bool {
        self.correcting
    }

    /// Forgets a correction in progress (after a seek or a new group state).
    pub fn reset(&mut self) {
        self.correcting = false;
    }

    /// `seek_latency` is the client's estimate of how long a seek takes
    /// before the player moves again.
    pub fn update(&mut self, drift: f64, expected: f64, group_rate: f64, seek_latency: f64) -> Correction {
        let c = self.config;
        let size = drift.abs();
        if size > c.seek_threshold {
            self.correcting = false;
            return Correction::Seek(expected + seek_latency * group_rate);
        }
        let in_sync = if self.correcting { size <= c.settle } else { size < c.deadband };
        if in_sync {
            self.correcting = false;
            return Correction::Hold;
        }
        self.correcting = true;
        let factor = (1.0 - drift / c.horizon).clamp(c.min_rate, c.max_rate);
        Correction::Rate(group_rate * factor)
    }
}

/// A simulated media player: the position advances at `rate` from a local
/// clock anchor while playing; while buffering (a seek or a stall) it is
/// frozen. Position is a pure function of local time, so the sampler can
/// read every player at one common instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    /// Media position at `at` (or at the end of a freeze after `at`).
    pos: f64,
    /// Local time from which `pos` advances.
    at: f64,
    rate: f64,
    playing: bool,
    /// Local time until which the player is buffering.
    frozen_until: f64,
}

impl Default for Player {
    fn default() -> Self {
        Self { pos: 0.0, at: 0.0, rate: 1.0, playing: false, frozen_until: f64::NEG_INFINITY }
    }
}

impl Player {
    fn start(&self) -> f64 {
        self.at.max(self.frozen_until)
    }

    pub fn position(&self, now: f64) -> f64 {
        if !self.playing {
            return self.pos;
        }
        self.pos + (now - self.start()).max(0.0) * self.rate
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn is_frozen(&self, now: f64) -> bool {
        now < self.frozen_until
    }

    pub fn frozen_until(&self) -> f64 {
        self.frozen_until
    }

    /// Playing and past both the scheduled start and any buffering.
    pub fn advancing(&self, now: f64) -> bool {
        self.playing && now >= self.start()
    }

    /// Moves the anchor to `now` (keeping a future scheduled start).
    fn rebase(&mut self, now: f64) {
        self.pos = self.position(now);
        self.at = self.at.max(now);
    }

    /// Seeks: the position jumps to `target` and stays there while the
    /// player buffers for `buffering` seconds.
    pub fn seek(&mut self, now: f64, target: f64, buffering: f64) {
        self.pos = target;
        self.at = if self.playing { self.at.max(now) } else { now };
        self.frozen_until = now + buffering.max(0.0);
    }

    /// A stall: frozen for `duration` from now, then continues from there.
    pub fn stall(&mut self, now: f64, duration: f64) {
        self.rebase(now);
        self.frozen_until = self.frozen_until.max(now + duration.max(0.0));
    }

    pub fn set_rate(&mut self, now: f64, rate: f64) {
        self.rebase(now);
        self.rate = rate;
    }

    pub fn pause(&mut self, now: f64) {
        self.rebase(now);
        self.playing = false;
    }

    /// Plays from `pos` starting at local time `start` (now or a scheduled
    /// instant); a buffering in progress delays the start.
    pub fn play_from(&mut self, pos: f64, start: f64, rate: f64) {
        self.pos = pos;
        self.at = start;
        self.rate = rate;
        self.playing = true;
    }
}

/// Nearest-rank percentile of sorted values (p in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// p50 / p99 / max of a set of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            count: sorted.len(),
            p50: percentile(&sorted, 50.0),
            p99: percentile(&sorted, 99.0),
            max: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Absolute deviations of each value from the median of the set.
pub fn deviations_from_median(values: &[f64]) -> Vec<f64> {
    let m = median(values);
    values.iter().map(|v| (v - m).abs()).collect()
}

/// Time until the spread is within `target`: the first offset whose p99 is
/// at most it (`series` is (offset, p99) in increasing offset order), and
/// how many later offsets exceed it again. None when it never gets there.
pub fn convergence(series: &[(f64, f64)], target: f64) -> Option<(f64, usize)> {
    let within = |p99: f64| !p99.is_nan() && p99 <= target;
    let first = series.iter().position(|&(_, p99)| within(p99))?;
    let later = series[first..].iter().filter(|&&(_, p99)| !within(p99)).count();
    Some((series[first].0, later))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    #[test]
    fn rng_is_reproducible_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.range(2.5, 75.0);
            assert_eq!(x, b.range(2.5, 75.0));
            assert!((2.5..75.0).contains(&x));
        }
        let hits = (0..100_000).filter(|_| a.chance(0.05)).count();
        assert!((4000..6000).contains(&hits), "{hits}");
    }

    #[test]
    fn clock_sync_keeps_lowest_rtt_of_window() {
        let mut sync = ClockSync::new(8);
        assert_eq!(sync.offset(), None);
        // True offset 1.0; symmetric 10 ms each way: exact.
        sync.add(0.0, 0.020, 1.010);
        assert!((sync.offset().unwrap_or_default() - 1.0).abs() < EPS);
        // Asymmetric and slower: worse estimate, but not chosen.
        sync.add(1.0, 1.100, 2.090);
        assert!((sync.offset().unwrap_or_default() - 1.0).abs() < EPS);
        // Eight slower samples push the good one out of the window.
        for i in 0..8 {
            let t0 = 10.0 + i as f64;
            sync.add(t0, t0 + 0.1, t0 + 1.09);
        }
        assert_eq!(sync.samples.len(), 8);
        assert!((sync.offset().unwrap_or_default() - 1.04).abs() < 1e-6);
        // Negative round trips are ignored.
        assert_eq!(sync.add(5.0, 4.0, 6.0), None);
    }

    #[test]
    fn drift_controller_follows_thresholds() {
        let mut c = DriftController::new(DriftConfig::default());
        assert_eq!(c.update(0.05, 10.0, 1.0, 0.1), Correction::Hold);
        assert_eq!(c.update(-0.05, 10.0, 1.0, 0.1), Correction::Hold);
        // Ahead by 300 ms: slow down, clamped at 0.95.
        assert_eq!(c.update(0.3, 10.0, 1.0, 0.1), Correction::Rate(0.95));
        assert!(c.correcting());
        // Behind: speed up, clamped at 1.05.
        assert_eq!(c.update(-1.0, 10.0, 1.0, 0.1), Correction::Rate(1.05));
        // Within 100 ms but not yet within the 20 ms settle band: keep correcting.
        assert!(matches!(c.update(-0.09, 10.0, 1.0, 0.1), Correction::Rate(r) if (r - 1.045).abs() < EPS));
        // Within 20 ms: back to the group rate.
        assert_eq!(c.update(-0.01, 10.0, 1.0, 0.1), Correction::Hold);
        assert!(!c.correcting());
        // Beyond 2.5 s: seek past the expected position by the seek latency.
        match c.update(-3.0, 100.0, 1.0, 0.15) {
            Correction::Seek(target) => assert!((target - 100.15).abs() < EPS),
            other => panic!("expected a seek, got {other:?}"),
        }
        // Group rate 2.0: corrections scale with it.
        assert_eq!(c.update(0.5, 10.0, 2.0, 0.1), Correction::Rate(1.9));
    }

    #[test]
    fn drift_controller_has_hysteresis() {
        let mut c = DriftController::new(DriftConfig::default());
        assert!(matches!(c.update(0.2, 0.0, 1.0, 0.0), Correction::Rate(_)));
        // Inside the deadband but not settled: keep correcting.
        assert!(matches!(c.update(0.05, 0.0, 1.0, 0.0), Correction::Rate(_)));
        assert_eq!(c.update(0.01, 0.0, 1.0, 0.0), Correction::Hold);
        assert_eq!(c.update(0.05, 0.0, 1.0, 0.0), Correction::Hold);
    }

    #[test]
    fn player_advances_freezes_and_schedules() {
        let mut p = Player::default();
        assert_eq!(p.position(5.0), 0.0);
        // Scheduled start at local 10 s from position 60 s.
        p.play_from(60.0, 10.0, 1.0);
        assert_eq!(p.position(9.0), 60.0);
        assert!(!p.advancing(9.0));
        assert!((p.position(12.5) - 62.5).abs() < EPS);
        // A 1 s stall at 13 s: frozen, then continues 1 s behind.
        p.stall(13.0, 1.0);
        assert!(p.is_frozen(13.5));
        assert!((p.position(13.5) - 63.0).abs() < EPS);
        assert!((p.position(15.0) - 64.0).abs() < EPS);
        // Rate change keeps continuity.
        p.set_rate(15.0, 1.05);
        assert!((p.position(17.0) - 66.1).abs() < EPS);
        // Seek while playing: jumps, frozen while buffering, then plays.
        p.seek(17.0, 120.0, 0.2);
        assert!((p.position(17.1) - 120.0).abs() < EPS);
        assert!((p.position(18.2) - 121.05).abs() < EPS);
        p.pause(18.2);
        assert!((p.position(30.0) - 121.05).abs() < EPS);
    }

    #[test]
    fn buffering_past_a_scheduled_start_delays_it() {
        let mut p = Player::default();
        p.seek(0.0, 30.0, 3.0);
        p.play_from(30.0, 1.0, 1.0);
        assert_eq!(p.position(2.0), 30.0);
        assert!((p.position(4.0) - 31.0).abs() < EPS);
        // A stall before the scheduled start keeps the start.
        let mut q = Player::default();
        q.play_from(0.0, 10.0, 1.0);
        q.stall(5.0, 1.0);
        assert!((q.position(11.0) - 1.0).abs() < EPS);
    }

    #[test]
    fn percentiles_and_convergence() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Summary::of(&values);
        assert_eq!((s.count, s.p50, s.p99, s.max), (100, 50.0, 99.0, 100.0));
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(deviations_from_median(&[1.0, 2.0, 4.0]), vec![1.0, 0.0, 2.0]);
        let series = [(0.0, 0.2), (0.25, 0.04), (0.5, 0.06), (0.75, 0.03), (1.0, 0.01)];
        assert_eq!(convergence(&series, 0.05), Some((0.25, 1)));
        assert_eq!(convergence(&[(0.0, 0.01), (0.25, 0.2)], 0.05), Some((0.0, 1)));
        assert_eq!(convergence(&[(0.0, 0.2), (0.25, f64::NAN)], 0.05), None);
    }
}
