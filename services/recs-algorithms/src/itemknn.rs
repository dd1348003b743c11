//! Item-based k-nearest-neighbours with cosine similarity (Sarwar et al.
//! 2001; Deshpande & Karypis 2004), the classic explainable baseline.
//!
//! sim(i, j) = xᵢ·xⱼ / (‖xᵢ‖‖xⱼ‖ + shrink) over the items' user columns;
//! each candidate item i keeps its k most similar items N_k(i), and a
//! user's score for i is Σⱼ wⱼ·sim(j, i) over history items j ∈ N_k(i):
//! i is predicted from its own neighbourhood (Sarwar et al.; also
//! RecBole's ItemKNN, which the published reference figure uses), so a
//! niche item is reachable from its few close items instead of being
//! crowded out of popular items' neighbour lists. Similarities are
//! computed item by item from sparse co-occurrences, so memory is
//! O(items·k), not O(items²).

use std::collections::HashSet;

use thiserror::Error;

use crate::{
    ids::ItemIdx,
    interactions::Interactions,
    ranking::{Accumulator, Neighbour, Recommendation, Recommender, top_n},
};

/// ItemKNN's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemKnnConfig {
    /// Neighbours kept per item for scoring.
    pub k: usize,
    /// Added to the cosine denominator: damps similarities supported by
    /// few co-occurrences (0 is plain cosine).
    pub shrink: f64,
    /// Neighbours precomputed per item for [`ItemKnn::top_similar`]; the
    /// model keeps max(k, similar_n).
    pub similar_n: usize,
}

impl Default for ItemKnnConfig {
    /// k = 100, no shrinkage: RecBole's ItemKNN defaults.
    fn default() -> Self {
        Self { k: 100, shrink: 0.0, similar_n: 50 }
    }
}

/// Why ItemKNN could not be fitted.
#[derive(Debug, Error, PartialEq)]
pub enum ItemKnnError {
    /// At least one neighbour is needed to score anything.
    #[error("ItemKNN k must be at least 1")]
    ZeroK,
    /// Shrinkage is a non-negative count of pseudo-co-occurrences.
    #[error("ItemKNN shrink must be finite and >= 0, got {0}")]
    InvalidShrink(f64),
}

/// A fitted ItemKNN model.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    k: usize,
    shrink: f64,
    /// Per item, its most similar items, best first (max(k, similar_n)).
    neighbours: Vec<Vec<Neighbour>>,
    /// Per history item j, the items i with j ∈ N_k(i), and sim(j, i):
    /// the inverted neighbourhoods scoring walks.
    contributes_to: Vec<Vec<Neighbour>>,
}

impl ItemKnn {
    /// Fits ItemKNN on `x`.
    pub fn fit(x: &Interactions, config: &ItemKnnConfig) -> Result<Self, ItemKnnError> {
        if config.k == 0 {
            return Err(ItemKnnError::ZeroK);
        }
        if !(config.shrink.is_finite() && config.shrink >= 0.0) {
            return Err(ItemKnnError::InvalidShrink(config.shrink));
        }
        let keep = config.k.max(config.similar_n);
        let n = x.n_items();
        let columns = x.by_item();
        let norms: Vec<f64> =
            columns.iter().map(|c| c.iter().map(|&(_, w)| f64::from(w) * f64::from(w)).sum::<f64>().sqrt()).collect();
        let mut dots = vec![0.0f64; n];
        let mut touched: Vec<usize> = Vec::new();
        let mut neighbours = Vec::with_capacity(n);
        for (i, column) in columns.iter().enumerate() {
            // xᵢ·xⱼ for every j that shares a user with i.
            for &(u, wu) in column {
                let wu = f64::from(wu);
                for (&j, &wj) in x.user_items(u).iter().zip(x.user_weights(u)) {
                    let j = j as usize;
                    if j != i {
                        if dots[j] == 0.0 {
                            touched.push(j);
                        }
                        dots[j] += wu * f64::from(wj);
                    }
                }
            }
            let candidates = touched
                .iter()
                .map(|&j| (j as ItemIdx, dots[j] / (norms[i] * norms[j] + config.shrink)))
                .filter(|&(_, s)| s > 0.0)
                .collect();
            neighbours
                .push(top_n(candidates, keep).into_iter().map(|(item, score)| Neighbour { item, score }).collect());
            for &j in &touched {
                dots[j] = 0.0;
            }
            touched.clear();
        }
        let contributes_to = invert(&neighbours, config.k);
        Ok(Self { k: config.k, shrink: config.shrink, neighbours, contributes_to })
    }

    /// The k the model scores with.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The shrinkage the model was fitted with.
    pub fn shrink(&self) -> f64 {
        self.shrink
    }

    /// Number of items the model knows.
    pub fn n_items(&self) -> usize {
        self.neighbours.len()
    }

    /// The same model scoring with fewer neighbours: tuning k needs one fit.
    pub fn with_k(&self, k: usize) -> Result<Self, ItemKnnError> {
        if k == 0 {
            return Err(ItemKnnError::ZeroK);
        }
        Ok(Self {
            k,
            shrink: self.shrink,
            contributes_to: invert(&self.neighbours, k),
            neighbours: self.neighbours.clone(),
        })
    }

    /// Up to `n` items most similar to `item`, best first.
    pub fn top_similar(&self, item: ItemIdx, n: usize) -> &[Neighbour] {
        self.neighbours.get(item as usize).map_or(&[], |s| &s[..n.min(s.len())])
    }
}

impl Recommender for ItemKnn {
    fn name(&self) -> &'static str {
        "ItemKNN"
    }

    fn recommend(&self, history: &[(ItemIdx, f32)], n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation> {
        let mut acc = Accumulator::new(self.neighbours.len());
        for &(j, w) in history {
            let w = f64::from(w);
            for nb in self.contributes_to.get(j as usize).map_or(&[][..], Vec::as_slice) {
                acc.add(nb.item as usize, w * nb.score, j);
            }
        }
        acc.finish(n, exclude)
    }
}

/// For each item j, the items whose k nearest neighbours include j.
fn invert(neighbours: &[Vec<Neighbour>], k: usize) -> Vec<Vec<Neighbour>> {
    let mut inverted = vec![Vec::new(); neighbours.len()];
    for (i, list) in neighbours.iter().enumerate() {
        for nb in list.iter().take(k) {
            inverted[nb.item as usize].push(Neighbour { item: i as ItemIdx, score: nb.score });
        }
    }
    inverted
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Items a, b, c with user columns a = [1,1,0], b = [1,1,1], c = [0,0,1]
    /// (users u1, u2, u3): cos(a,b) = 2/(√2·√3), cos(b,c) = 1/√3, cos(a,c) = 0.
    fn tiny() -> Result<Interactions, crate::InteractionsError> {
        Interactions::from_triples([
            ("u1", "a", 1.0),
            ("u1", "b", 1.0),
            ("u2", "a", 1.0),
            ("u2", "b", 1.0),
            ("u3", "b", 1.0),
            ("u3", "c", 1.0),
        ])
    }

    #[test]
    fn cosine_neighbours_with_and_without_shrinkage() -> TestResult {
        let x = tiny()?;
        let knn = ItemKnn::fit(&x, &ItemKnnConfig { k: 2, shrink: 0.0, similar_n: 0 })?;
        let ab = 2.0 / (2f64.sqrt() * 3f64.sqrt());
        let bc = 1.0 / 3f64.sqrt();
        assert_eq!(knn.top_similar(0, 5), [Neighbour { item: 1, score: ab }]);
        assert_eq!(knn.top_similar(1, 5), [Neighbour { item: 0, score: ab }, Neighbour { item: 2, score: bc }]);
        let shrunk = ItemKnn::fit(&x, &ItemKnnConfig { k: 2, shrink: 1.0, similar_n: 0 })?;
        let ab_shrunk = 2.0 / (2f64.sqrt() * 3f64.sqrt() + 1.0);
        assert_eq!(shrunk.top_similar(0, 1), [Neighbour { item: 1, score: ab_shrunk }]);
        Ok(())
    }

    #[test]
    fn k_limits_scoring_neighbours_and_scores_sum_contributions() -> TestResult {
        let x = tiny()?;
        let knn = ItemKnn::fit(&x, &ItemKnnConfig { k: 2, shrink: 0.0, similar_n: 0 })?;
        // History {a: 1, c: 2}: b gets cos(a,b) + 2·cos(c,b); c's share is larger.
        let recs = knn.recommend(&[(0, 1.0), (2, 2.0)], 5, &HashSet::from([0, 2]));
        let expected = 2.0 / 6f64.sqrt() + 2.0 / 3f64.sqrt();
        assert_eq!(recs.len(), 1);
        assert_eq!((recs[0].item, recs[0].because), (1, Some(2)));
        assert!((recs[0].score - expected).abs() < 1e-12);
        // With k = 1: N(a) = {b}, N(b) = {a}, N(c) = {b}. A target is
        // scored from its own neighbourhood: history {b} reaches a and c,
        // history {c} reaches nothing (c is no item's nearest neighbour).
        let k1 = knn.with_k(1)?;
        let items = |h: ItemIdx| -> Vec<ItemIdx> {
            k1.recommend(&[(h, 1.0)], 5, &HashSet::new()).iter().map(|r| r.item).collect()
        };
        assert_eq!(items(1), [0, 2]);
        assert!(items(2).is_empty());
        Ok(())
    }

    #[test]
    fn rejects_invalid_config() -> TestResult {
        let x = tiny()?;
        let zero = ItemKnn::fit(&x, &ItemKnnConfig { k: 0, ..ItemKnnConfig::default() }).err();
        assert_eq!(zero, Some(ItemKnnError::ZeroK));
        let neg = ItemKnn::fit(&x, &ItemKnnConfig { shrink: -1.0, ..ItemKnnConfig::default() }).err();
        assert_eq!(neg, Some(ItemKnnError::InvalidShrink(-1.0)));
        Ok(())
    }
}
