//! Predictions and the virtual points ledger, as pure rules: validation of
//! prediction drafts and stakes, the payout of a resolved prediction (and
//! when it turns into a refund), and the daily participation cap applied
//! to a batch of earnings.
//!
//! Points rules (polls.proto, PredictionsService; amounts from
//! `PollsConfig`): a member's balance in a room starts with the welcome
//! bonus the first time they take part or look at it as a member; taking
//! part earns points (poll votes, quiz answers, published Q&A questions),
//! at most `daily_earn_cap` per user, room and UTC day; points are spent
//! only on predictions.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use uuid::Uuid;

use super::text::{self, OptionReasons, Reasons};
use crate::error::{PollsError, Result};

/// Most points one user may have staked on one prediction.
pub const MAX_STAKE: i64 = 250_000;
/// Unresolved (ACTIVE or LOCKED) predictions a room may have at once.
pub const MAX_UNRESOLVED: i64 = 3;
/// Title length in characters.
pub const TITLE_MAX: usize = 140;
/// Outcome title length in characters.
pub const OUTCOME_MAX: usize = 50;
/// Outcomes per prediction.
pub const OUTCOMES: (usize, usize) = (2, 10);
/// How long stakes may be accepted.
pub const MIN_WINDOW: Duration = Duration::from_secs(30);
pub const MAX_WINDOW: Duration = Duration::from_secs(30 * 60);
/// A LOCKED prediction not resolved this long after locking is cancelled
/// and refunded.
pub const EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// A validated CreatePrediction request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub title: String,
    /// (outcome id, title) in display order: "o1", "o2", …
    pub outcomes: Vec<(String, String)>,
    pub window: Duration,
}

/// Validates a prediction draft. `window` is None when missing or
/// malformed (negative).
pub fn draft(title: &str, outcomes: &[String], window: Option<Duration>) -> Result<Draft> {
    let title =
        text::required("title", title, TITLE_MAX, Reasons { empty: "title_empty", too_long: "title_too_long" })?;
    let outcomes = text::options(
        "outcomes",
        outcomes,
        OUTCOMES,
        OUTCOME_MAX,
        OptionReasons {
            too_few: "too_few_outcomes",
            too_many: "too_many_outcomes",
            empty: "outcome_empty",
            // polls.proto names no reason for an over-long outcome; this
            // one follows CreatePoll's `option_too_long`.
            too_long: "outcome_too_long",
            duplicate: "duplicate_outcomes",
        },
    )?;
    let window = window.filter(|w| (MIN_WINDOW..=MAX_WINDOW).contains(w)).ok_or_else(|| {
        PollsError::field("prediction_window", "invalid_window", "must be between 30 seconds and 30 minutes")
    })?;
    let outcomes = outcomes.into_iter().enumerate().map(|(i, title)| (format!("o{}", i + 1), title)).collect();
    Ok(Draft { title, outcomes, window })
}

/// Checks a stake of `points` by someone who already has `staked` on the
/// prediction (0 for a first stake).
pub fn stake(points: i64, staked: i64) -> Result<()> {
    if points <= 0 {
        return Err(PollsError::field("points", "points_not_positive", "must be at least 1"));
    }
    if points > MAX_STAKE - staked.max(0) {
        return Err(PollsError::field(
            "points",
            "stake_too_large",
            format!("at most {MAX_STAKE} points in total may be staked on one prediction"),
        ));
    }
    Ok(())
}

/// One participant's position, as the payout sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub outcome: String,
    pub points: i64,
    /// Order of the first stake: lower is earlier.
    pub order: i64,
}

/// How a resolved prediction pays out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Per position, in input order: what it is paid back (0 when lost).
    pub payouts: Vec<i64>,
    /// Nobody chose the winning outcome: every stake is refunded.
    pub refunded: bool,
}

/// Pays a pool P to the winning outcome's positions: a winner with stake
/// s of the winning pool W receives floor(P × s / W); the P − Σ floors
/// points left by rounding go one each to winners in order of largest
/// fractional part, then larger stake, then earlier stake, so exactly P
/// is paid. With no winner everyone gets their stake back.
pub fn payout(positions: &[Position], winning: &str) -> Settlement {
    let pool: i128 = positions.iter().map(|p| i128::from(p.points)).sum();
    let winners: Vec<usize> = (0..positions.len()).filter(|&i| positions[i].outcome == winning).collect();
    let won: i128 = winners.iter().map(|&i| i128::from(positions[i].points)).sum();
    if won == 0 {
        return Settlement { payouts: positions.iter().map(|p| p.points).collect(), refunded: true };
    }
    let mut payouts = vec![0i64; positions.len()];
    // (remainder of P × s / W, index): the fractional part is remainder / W.
    let mut fractions = Vec::with_capacity(winners.len());
    let mut paid: i128 = 0;
    for &i in &winners {
        let share = pool * i128::from(positions[i].points);
        let floor = share / won;
        payouts[i] = i64::try_from(floor).unwrap_or(i64::MAX);
        paid += floor;
        fractions.push((share % won, i));
    }
    fractions.sort_by(|&(ra, a), &(rb, b)| {
        rb.cmp(&ra)
            .then(positions[b].points.cmp(&positions[a].points))
            .then(positions[a].order.cmp(&positions[b].order))
            .then(a.cmp(&b))
    });
    let left = usize::try_from(pool - paid).unwrap_or(0);
    for &(_, i) in fractions.iter().take(left) {
        payouts[i] += 1;
    }
    Settlement { payouts, refunded: false }
}

/// The part of an earning the daily cap lets through, given what was
/// already earned today: never more than what is left, never negative.
pub fn capped(amount: i64, earned_today: i64, cap: i64) -> i64 {
    amount.min(cap.saturating_sub(earned_today)).max(0)
}

/// A user account as an award batch finds it (locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub balance: i64,
    /// Earned today toward the cap (0 when the last earning was another
    /// day).
    pub earned_today: i64,
}

/// One earning to credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    pub account: Uuid,
    pub amount: i64,
    /// Idempotency key, unique per account.
    pub source: String,
}

/// An earning the batch credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Index of the earning in the batch.
    pub index: usize,
    pub account: Uuid,
    pub points: i64,
    pub balance_after: i64,
}

/// What a batch of earnings credits, in order: earnings already credited
/// (`done`, or earlier in the batch) are skipped, the rest are cut to the
/// daily cap; earnings cut to nothing credit nothing. `accounts` is
/// updated to the state after the batch.
pub fn grants(
    earnings: &[Earning],
    done: &HashSet<(Uuid, String)>,
    accounts: &mut HashMap<Uuid, Account>,
    cap: i64,
) -> Vec<Grant> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (index, earning) in earnings.iter().enumerate() {
        let key = (earning.account, earning.source.clone());
        if done.contains(&key) || !seen.insert(key) {
            continue;
        }
        let Some(account) = accounts.get_mut(&earning.account) else { continue };
        let points = capped(earning.amount, account.earned_today, cap);
        if points == 0 {
            continue;
        }
        account.balance += points;
        account.earned_today += points;
        out.push(Grant { index, account: earning.account, points, balance_after: account.balance });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: std::fmt::Debug>(r: Result<T>) -> &'static str {
        r.unwrap_err().reason().unwrap_or("none")
    }

    fn pos(outcome: &str, points: i64, order: i64) -> Position {
        Position { outcome: outcome.to_owned(), points, order }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn drafts_are_validated_with_exact_reasons() {
        let ok = draft("  Who scores first? ", &strings(&["Home", "Away", "Nobody"]), Some(MINUTE)).unwrap();
        assert_eq!(ok.title, "Who scores first?");
        assert_eq!(
            ok.outcomes,
            vec![("o1".into(), "Home".into()), ("o2".into(), "Away".into()), ("o3".into(), "Nobody".into())]
        );
        let two = strings(&["Yes", "No"]);
        assert_eq!(reason(draft(" ", &two, Some(MINUTE))), "title_empty");
        assert_eq!(reason(draft(&"t".repeat(141), &two, Some(MINUTE))), "title_too_long");
        assert!(draft(&"t".repeat(140), &two, Some(MINUTE)).is_ok());
        assert_eq!(reason(draft("t", &strings(&["Yes"]), Some(MINUTE))), "too_few_outcomes");
        assert_eq!(reason(draft("t", &strings(&["a"; 11]), Some(MINUTE))), "too_many_outcomes");
        let ten: Vec<String> = (0..10).map(|i| format!("outcome {i}")).collect();
        assert_eq!(draft("t", &ten, Some(MINUTE)).unwrap().outcomes[9].0, "o10");
        assert_eq!(reason(draft("t", &strings(&["Yes", "  "]), Some(MINUTE))), "outcome_empty");
        assert_eq!(reason(draft("t", &strings(&["Yes", "YES "]), Some(MINUTE))), "duplicate_outcomes");
        assert_eq!(reason(draft("t", &strings(&["Yes", &"n".repeat(51)]), Some(MINUTE))), "outcome_too_long");
        assert_eq!(reason(draft("t", &two, None)), "invalid_window");
        assert_eq!(reason(draft("t", &two, Some(Duration::from_secs(29)))), "invalid_window");
        assert_eq!(reason(draft("t", &two, Some(Duration::from_secs(1801)))), "invalid_window");
        assert!(draft("t", &two, Some(MIN_WINDOW)).is_ok());
        assert!(draft("t", &two, Some(MAX_WINDOW)).is_ok());
    }

    #[test]
    fn stakes_are_positive_and_bounded_in_total() {
        assert!(stake(1, 0).is_ok());
        assert_eq!(reason(stake(0, 0)), "points_not_positive");
        assert_eq!(reason(stake(-5, 0)), "points_not_positive");
        assert!(stake(250_000, 0).is_ok());
        assert_eq!(reason(stake(250_001, 0)), "stake_too_large");
        assert!(stake(50_000, 200_000).is_ok());
        assert_eq!(reason(stake(50_001, 200_000)), "stake_too_large");
        assert_eq!(reason(stake(i64::MAX, 1)), "stake_too_large");
    }

    #[test]
    fn winners_share_the_pool_pro_rata() {
        // P = 1000, W = 400: 100 → 250, 300 → 750, losers 0.
        let s = payout(&[pos("a", 100, 1), pos("b", 600, 2), pos("a", 300, 3)], "a");
        assert_eq!(s, Settlement { payouts: vec![250, 0, 750], refunded: false });
    }

    #[test]
    fn thirds_of_a_pool_are_paid_to_the_last_point() {
        // Winners 333, 333, 334 (W = 1000), a loser of 500: P = 1500.
        // 1500 × 333 / 1000 = 499.5 (twice), 1500 × 334 / 1000 = 501.0:
        // floors 499 + 499 + 501 = 1499; the one point left goes to the
        // largest fraction (.5, a tie between the two 333 stakes, equal
        // in size too) → the earlier stake.
        let s = payout(&[pos("w", 333, 1), pos("w", 333, 2), pos("w", 334, 3), pos("l", 500, 4)], "w");
        assert_eq!(s.payouts, vec![500, 499, 501, 0]);
        // P = 1000: winners 333 and 334 (W = 667), a loser of 333.
        // 1000 × 333 / 667 = 499.25, 1000 × 334 / 667 = 500.75: floors
        // 499 + 500 = 999; the point left goes to the .75.
        let s = payout(&[pos("w", 333, 1), pos("w", 334, 2), pos("l", 333, 3)], "w");
        assert_eq!(s.payouts, vec![499, 501, 0]);
        // P = 1001: winners 333, 333, 334 (W = 1000), a loser of 1.
        // 333.333 (twice) and 334.334: floors 1000, one left → the .334.
        let s = payout(&[pos("w", 333, 1), pos("w", 333, 2), pos("w", 334, 3), pos("l", 1, 4)], "w");
        assert_eq!(s.payouts, vec![333, 333, 335, 0]);
    }

    #[test]
    fn remainders_go_by_fraction_then_stake_then_earlier_stake() {
        // P = 10, winners 1, 1, 1 (W = 3): 3.333 each, one point left;
        // equal fractions and stakes → the earliest stake (order 5).
        let s = payout(&[pos("w", 1, 9), pos("w", 1, 5), pos("w", 1, 7), pos("l", 7, 1)], "w");
        assert_eq!(s.payouts, vec![3, 4, 3, 0]);
        // P = 1000, winners 1, 2, 3 (W = 6): 166.67, 333.33, 500.0 →
        // floors 999, one left → the largest fraction (.67, the stake 1).
        let s = payout(&[pos("w", 1, 1), pos("w", 2, 2), pos("w", 3, 3), pos("l", 994, 4)], "w");
        assert_eq!(s.payouts, vec![167, 333, 500, 0]);
        // P = 7, winners 2, 1, 2 (W = 5): 2.8, 1.4, 2.8 → floors 5, two
        // left → the two .8 fractions.
        let s = payout(&[pos("w", 2, 1), pos("w", 1, 2), pos("w", 2, 3), pos("l", 2, 4)], "w");
        assert_eq!(s.payouts, vec![3, 1, 3, 0]);
        // P = 6, winners 1 and 3 (W = 4): 1.5 and 4.5 → floors 5, one
        // left; equal fractions → the larger stake, though it came later.
        let s = payout(&[pos("w", 1, 1), pos("w", 3, 2), pos("l", 2, 3)], "w");
        assert_eq!(s.payouts, vec![1, 5, 0]);
    }

    #[test]
    fn nobody_on_the_winning_outcome_means_refunds() {
        let s = payout(&[pos("a", 100, 1), pos("b", 50, 2)], "c");
        assert_eq!(s, Settlement { payouts: vec![100, 50], refunded: true });
        let s = payout(&[], "a");
        assert_eq!(s, Settlement { payouts: vec![], refunded: true });
    }

    #[test]
    fn everyone_on_the_winner_gets_their_stake_back() {
        let s = payout(&[pos("a", 100, 1), pos("a", 7, 2)], "a");
        assert_eq!(s, Settlement { payouts: vec![100, 7], refunded: false });
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn payouts_always_sum_to_the_pool_and_never_fall_below_the_floor() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let outcomes = 2 + rng.below(9) as usize;
            let count = 1 + rng.below(if round % 10 == 0 { 2000 } else { 40 }) as usize;
            let positions: Vec<Position> = (0..count)
                .map(|i| {
                    let big = rng.below(4) == 0;
                    let points = 1 + rng.below(if big { MAX_STAKE as u64 } else { 1000 }) as i64;
                    pos(&format!("o{}", 1 + rng.below(outcomes as u64)), points, i as i64)
                })
                .collect();
            let winning = format!("o{}", 1 + rng.below(outcomes as u64));
            let s = payout(&positions, &winning);
            let pool: i64 = positions.iter().map(|p| p.points).sum();
            assert_eq!(s.payouts.iter().sum::<i64>(), pool, "round {round}: exactly the pool is paid");
            let won: i64 = positions.iter().filter(|p| p.outcome == winning).map(|p| p.points).sum();
            assert_eq!(s.refunded, won == 0);
            let winners = positions.iter().filter(|p| p.outcome == winning).count();
            let mut extras = 0;
            for (p, paid) in positions.iter().zip(&s.payouts) {
                if s.refunded {
                    assert_eq!(*paid, p.points);
                } else if p.outcome == winning {
                    let floor = (i128::from(pool) * i128::from(p.points) / i128::from(won)) as i64;
                    assert!(*paid == floor || *paid == floor + 1, "round {round}: {paid} vs floor {floor}");
                    assert!(*paid >= p.points, "a winner never gets back less than the stake");
                    extras += paid - floor;
                } else {
                    assert_eq!(*paid, 0, "losers get nothing");
                }
            }
            if !s.refunded {
                assert!(extras < winners as i64 || winners == 0, "fewer leftover points than winners");
            }
            // Deterministic: the same input pays the same.
            assert_eq!(payout(&positions, &winning), s);
        }
    }

    #[test]
    fn the_leftover_points_follow_the_order_exactly() {
        let mut rng = Rng(42);
        for _ in 0..500 {
            let count = 2 + rng.below(30) as usize;
            let positions: Vec<Position> = (0..count)
                .map(|i| pos(if rng.below(3) == 0 { "l" } else { "w" }, 1 + rng.below(50) as i64, i as i64))
                .collect();
            let s = payout(&positions, "w");
            if s.refunded {
                continue;
            }
            let pool: i128 = positions.iter().map(|p| i128::from(p.points)).sum();
            let won: i128 = positions.iter().filter(|p| p.outcome == "w").map(|p| i128::from(p.points)).sum();
            // Every winner who got an extra point ranks at least as high as
            // every winner who did not.
            let key = |i: usize| {
                let r = pool * i128::from(positions[i].points) % won;
                (r, positions[i].points, -positions[i].order)
            };
            let winners: Vec<usize> = (0..count).filter(|&i| positions[i].outcome == "w").collect();
            for &a in &winners {
                for &b in &winners {
                    let extra = |i: usize| s.payouts[i] as i128 - pool * i128::from(positions[i].points) / won;
                    if extra(a) == 1 && extra(b) == 0 {
                        assert!(key(a) > key(b), "{a} got a point before {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_daily_cap_cuts_earnings_to_what_is_left() {
        assert_eq!(capped(25, 0, 2000), 25);
        assert_eq!(capped(25, 1990, 2000), 10);
        assert_eq!(capped(25, 2000, 2000), 0);
        assert_eq!(capped(25, 2500, 2000), 0, "never negative");
        assert_eq!(capped(0, 0, 2000), 0);
    }

    #[test]
    fn batches_skip_what_was_credited_and_respect_the_cap() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut accounts = HashMap::from([
            (a, Account { balance: 250, earned_today: 1980 }),
            (b, Account { balance: 0, earned_today: 0 }),
        ]);
        let earn = |account, amount, source: &str| Earning { account, amount, source: source.to_owned() };
        let batch = vec![
            earn(a, 25, "poll_vote:1"),
            earn(b, 25, "poll_vote:1"),
            earn(a, 25, "poll_vote:2"),
            earn(b, 25, "poll_vote:1"),
            earn(b, 10, "quiz:1"),
            earn(b, 5, "done"),
        ];
        let done = HashSet::from([(b, "done".to_owned())]);
        let out = grants(&batch, &done, &mut accounts, 2000);
        assert_eq!(
            out,
            vec![
                Grant { index: 0, account: a, points: 20, balance_after: 270 },
                Grant { index: 1, account: b, points: 25, balance_after: 25 },
                Grant { index: 4, account: b, points: 10, balance_after: 35 },
            ]
        );
        assert_eq!(accounts[&a], Account { balance: 270, earned_today: 2000 });
        assert_eq!(accounts[&b], Account { balance: 35, earned_today: 35 });
    }
}
