//! What every model returns, the trait the evaluation and the service call,
//! and the deterministic top-n selection they share.

use std::{cmp::Ordering, collections::HashSet};

use crate::ids::ItemIdx;

/// One recommended item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recommendation {
    /// The recommended item.
    pub item: ItemIdx,
    /// The model's score; only the order is meaningful across items.
    pub score: f64,
    /// The history item that contributed most to `score`, for "because you
    /// watched X" explanations; `None` for models that do not use history.
    pub because: Option<ItemIdx>,
}

/// An item similar to another, with its similarity (for "more like this").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// The similar item.
    pub item: ItemIdx,
    /// How strongly it follows from the source item; higher is closer.
    pub score: f64,
}

/// A fitted model that ranks items for one user's history.
pub trait Recommender {
    /// Short name for reports ("EASE", "ItemKNN", ...).
    fn name(&self) -> &'static str;

    /// The best `n` items for a user whose history is `history`
    /// (`(item, weight)` pairs), never any item in `exclude`, best first.
    /// History items outside the fitted catalogue are ignored (they carry
    /// no learned signal), and only items with positive evidence are
    /// returned, so the list may be shorter than `n`.
    fn recommend(&self, history: &[(ItemIdx, f32)], n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation>;
}

/// Best first: higher score, then the lower index so ties are stable.
pub(crate) fn by_score_desc(a: &(ItemIdx, f64), b: &(ItemIdx, f64)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The `n` best candidates, best first, in O(len + n log n).
pub(crate) fn top_n(mut candidates: Vec<(ItemIdx, f64)>, n: usize) -> Vec<(ItemIdx, f64)> {
    if n == 0 {
        return Vec::new();
    }
    if candidates.len() > n {
        candidates.select_nth_unstable_by(n - 1, by_score_desc);
        candidates.truncate(n);
    }
    candidates.sort_unstable_by(by_score_desc);
    candidates
}

/// Scores accumulated over a history, with the single largest contribution
/// per item remembered for explanations. Shared by EASE and ItemKNN, whose
/// scores are both sums of per-history-item contributions.
pub(crate) struct Accumulator {
    scores: Vec<f64>,
    best: Vec<(f64, Option<ItemIdx>)>,
}

impl Accumulator {
    pub(crate) fn new(n_items: usize) -> Self {
        Self { scores: vec![0.0; n_items], best: vec![(0.0, None); n_items] }
    }

    /// Adds `from`'s contribution `value` to `item`'s score.
    #[inline]
    pub(crate) fn add(&mut self, item: usize, value: f64, from: ItemIdx) {
        self.scores[item] += value;
        let best = &mut self.best[item];
        if value > best.0 {
            *best = (value, Some(from));
        }
    }

    /// The top `n` positively scored items not in `exclude`.
    pub(crate) fn finish(self, n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation> {
        let candidates = self
            .scores
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s > 0.0)
            .map(|(i, &s)| (i as ItemIdx, s))
            .filter(|(i, _)| !exclude.contains(i))
            .collect();
        top_n(candidates, n)
            .into_iter()
            .map(|(item, score)| Recommendation { item, score, because: self.best[item as usize].1 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_orders_by_score_then_index() {
        let c = vec![(3, 0.5), (1, 2.0), (2, 0.5), (0, 0.1)];
        assert_eq!(top_n(c.clone(), 3), vec![(1, 2.0), (2, 0.5), (3, 0.5)]);
        assert_eq!(top_n(c.clone(), 10).len(), 4);
        assert!(top_n(c, 0).is_empty());
    }

    #[test]
    fn accumulator_keeps_the_largest_contributor_and_skips_excluded_and_non_positive() {
        let mut acc = Accumulator::new(4);
        acc.add(0, 0.25, 7);
        acc.add(0, 0.5, 8);
        acc.add(1, 1.0, 7);
        acc.add(2, -0.3, 7);
        acc.add(3, 9.0, 7);
        let recs = acc.finish(10, &HashSet::from([3]));
        assert_eq!(
            recs,
            vec![
                Recommendation { item: 1, score: 1.0, because: Some(7) },
                Recommendation { item: 0, score: 0.75, because: Some(8) },
            ]
        );
    }
}
