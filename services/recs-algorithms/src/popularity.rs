//! The popularity baseline: the most-interacted items, the same for
//! everyone. Any personalised model has to beat it to be worth serving, and
//! it is the cold-start fallback for viewers without history.

use std::collections::HashSet;

use crate::{
    ids::ItemIdx,
    interactions::Interactions,
    ranking::{Recommendation, Recommender, by_score_desc},
};

/// Items ranked by how many users interacted with them.
#[derive(Debug, Clone)]
pub struct Popularity {
    /// `(item, user count)`, most popular first, ties by lower index.
    ranked: Vec<(ItemIdx, f64)>,
}

impl Popularity {
    /// Counts distinct users per item (weights are ignored: one heavy
    /// viewer should not make an item "popular").
    pub fn fit(x: &Interactions) -> Self {
        let mut counts = vec![0u64; x.n_items()];
        for (_, item, _) in x.entries() {
            counts[item as usize] += 1;
        }
        let mut ranked: Vec<(ItemIdx, f64)> =
            counts.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(i, &c)| (i as ItemIdx, c as f64)).collect();
        ranked.sort_unstable_by(by_score_desc);
        Self { ranked }
    }

    /// The most popular items overall, best first.
    pub fn top(&self, n: usize) -> &[(ItemIdx, f64)] {
        &self.ranked[..n.min(self.ranked.len())]
    }
}

impl Recommender for Popularity {
    fn name(&self) -> &'static str {
        "Popularity"
    }

    /// Ignores the history except through `exclude`.
    fn recommend(&self, _history: &[(ItemIdx, f32)], n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation> {
        self.ranked
            .iter()
            .filter(|(item, _)| !exclude.contains(item))
            .take(n)
            .map(|&(item, score)| Recommendation { item, score, because: None })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_distinct_users_and_skips_excluded() -> Result<(), crate::InteractionsError> {
        let x = Interactions::from_triples([
            ("u1", "a", 9.0),
            ("u1", "b", 1.0),
            ("u2", "b", 1.0),
            ("u3", "c", 1.0),
            ("u3", "b", 1.0),
            ("u2", "c", 1.0),
        ])?;
        let pop = Popularity::fit(&x);
        assert_eq!(pop.top(10), [(1, 3.0), (2, 2.0), (0, 1.0)]);
        let recs = pop.recommend(&[], 2, &HashSet::from([1]));
        let items: Vec<_> = recs.iter().map(|r| (r.item, r.because)).collect();
        assert_eq!(items, [(2, None), (0, None)]);
        Ok(())
    }
}
