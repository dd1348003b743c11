//! Top-K ranking metrics with binary relevance, as in the offline
//! protocols the published reference figures use.
//!
//! - Precision@K = hits in the top K / K (K, not the list length, so a
//!   model that returns fewer items is not rewarded).
//! - Recall@K = hits in the top K / |relevant|.
//! - NDCG@K = DCG / IDCG with DCG = Σ 1/log₂(rank + 1) over hits (rank from
//!   1) and IDCG the DCG of a perfect list of min(K, |relevant|) hits.
//!
//! Users without relevant (test) items are skipped: every metric is
//! undefined or trivially zero for them.

use std::collections::HashSet;

use crate::ids::ItemIdx;

fn discount(rank0: usize) -> f64 {
    1.0 / ((rank0 + 2) as f64).log2()
}

fn hits(ranked: &[ItemIdx], relevant: &HashSet<ItemIdx>, k: usize) -> usize {
    ranked.iter().take(k).filter(|i| relevant.contains(i)).count()
}

/// Precision@K for one user (0 when K is 0).
pub fn precision_at_k(ranked: &[ItemIdx], relevant: &HashSet<ItemIdx>, k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hits(ranked, relevant, k) as f64 / k as f64
}

/// Recall@K for one user (0 when nothing is relevant).
pub fn recall_at_k(ranked: &[ItemIdx], relevant: &HashSet<ItemIdx>, k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    hits(ranked, relevant, k) as f64 / relevant.len() as f64
}

/// NDCG@K for one user (0 when nothing is relevant or K is 0).
pub fn ndcg_at_k(ranked: &[ItemIdx], relevant: &HashSet<ItemIdx>, k: usize) -> f64 {
    let ideal: f64 = (0..k.min(relevant.len())).map(discount).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let dcg: f64 =
        ranked.iter().take(k).enumerate().filter(|(_, i)| relevant.contains(i)).map(|(r, _)| discount(r)).sum();
    dcg / ideal
}

/// The three metrics averaged over the users evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    /// Mean Precision@K.
    pub precision: f64,
    /// Mean Recall@K.
    pub recall: f64,
    /// Mean NDCG@K.
    pub ndcg: f64,
    /// Users averaged over (those with at least one relevant item).
    pub users: usize,
}

/// Averages per-user metrics at a fixed K over users with ≥ 1 relevant item.
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    k: usize,
    sums: Metrics,
}

impl MetricsAccumulator {
    /// An empty accumulator for cut-off `k`.
    pub fn new(k: usize) -> Self {
        Self { k, sums: Metrics::default() }
    }

    /// Adds one user's ranking; users without relevant items are skipped.
    pub fn add(&mut self, ranked: &[ItemIdx], relevant: &HashSet<ItemIdx>) {
        if relevant.is_empty() {
            return;
        }
        self.sums.precision += precision_at_k(ranked, relevant, self.k);
        self.sums.recall += recall_at_k(ranked, relevant, self.k);
        self.sums.ndcg += ndcg_at_k(ranked, relevant, self.k);
        self.sums.users += 1;
    }

    /// The means (all zero when no user was added).
    pub fn mean(&self) -> Metrics {
        let n = self.sums.users.max(1) as f64;
        Metrics {
            precision: self.sums.precision / n,
            recall: self.sums.recall / n,
            ndcg: self.sums.ndcg / n,
            users: self.sums.users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_single_user() {
        // Hits at ranks 1 and 3 of 4 shown; 3 relevant items, K = 4.
        let ranked = [10, 20, 30, 40, 50];
        let relevant = HashSet::from([10, 30, 99]);
        assert!(close(precision_at_k(&ranked, &relevant, 4), 2.0 / 4.0));
        assert!(close(recall_at_k(&ranked, &relevant, 4), 2.0 / 3.0));
        // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG over min(4, 3) = 3 ranks
        // = 1 + 1/log2(3) + 1/2.
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!(close(ndcg_at_k(&ranked, &relevant, 4), 1.5 / idcg));
    }

    #[test]
    fn idcg_uses_min_of_k_and_relevant() {
        // One relevant item found first: perfect despite K = 10.
        let relevant = HashSet::from([7]);
        assert!(close(ndcg_at_k(&[7, 1, 2], &relevant, 10), 1.0));
        // Found second: 1/log2(3).
        assert!(close(ndcg_at_k(&[1, 7], &relevant, 10), 1.0 / 3f64.log2()));
        // Beyond K: nothing.
        assert_eq!(ndcg_at_k(&[1, 2, 7], &relevant, 2), 0.0);
        // More relevant than K: IDCG over K ranks, so a full hit list is 1.
        let many = HashSet::from([1, 2, 3, 4]);
        assert!(close(ndcg_at_k(&[1, 2], &many, 2), 1.0));
        assert!(close(recall_at_k(&[1, 2], &many, 2), 0.5));
    }

    #[test]
    fn short_lists_are_not_rewarded_and_degenerate_cases_are_zero() {
        let relevant = HashSet::from([1]);
        assert!(close(precision_at_k(&[1], &relevant, 10), 0.1));
        assert_eq!(precision_at_k(&[1], &relevant, 0), 0.0);
        assert_eq!(ndcg_at_k(&[1], &relevant, 0), 0.0);
        assert_eq!(recall_at_k(&[1], &HashSet::new(), 10), 0.0);
        assert_eq!(ndcg_at_k(&[1], &HashSet::new(), 10), 0.0);
    }

    #[test]
    fn averages_only_users_with_relevant_items() {
        let mut acc = MetricsAccumulator::new(2);
        acc.add(&[1, 2], &HashSet::from([1])); // P 0.5, R 1, NDCG 1
        acc.add(&[3, 4], &HashSet::from([5])); // all 0
        acc.add(&[1, 2], &HashSet::new()); // skipped
        let m = acc.mean();
        assert_eq!(m.users, 2);
        assert!(close(m.precision, 0.25) && close(m.recall, 0.5) && close(m.ndcg, 0.5));
        assert_eq!(MetricsAccumulator::new(10).mean(), Metrics::default());
    }
}
