//! EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
//! WWW 2019): a linear item-item model with a closed-form fit.
//!
//! G = XᵀX + λI, P = G⁻¹, B = −P / diag(P) column-wise, diag(B) = 0.
//! Column i of B is the ridge regression of item i on every other item, so
//! a user's score for i is Σⱼ wⱼ·B[j, i] over their history j: each term
//! is one watched item's contribution, which is what explanations cite.
//!
//! The fit is O(items³) time and the model O(items²) memory (4 bytes per
//! entry): fine for tens of thousands of items, the size of a channel or
//! programme catalogue; beyond that use ItemKNN.

use std::collections::HashSet;

use faer::{Mat, Side, linalg::solvers::DenseSolveCore};
use thiserror::Error;

use crate::{
    gram::gram,
    ids::ItemIdx,
    interactions::Interactions,
    ranking::{Accumulator, Neighbour, Recommendation, Recommender, top_n},
};

/// EASE's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EaseConfig {
    /// L2 regularisation λ added to the Gram matrix's diagonal. Larger
    /// values favour popular items less and generalise more.
    pub lambda: f64,
    /// How many similar items to precompute per item for
    /// [`Ease::top_similar`] (0 skips the work, e.g. while tuning).
    pub similar_n: usize,
}

impl Default for EaseConfig {
    /// λ = 500 is the value Steck reports for MovieLens-20M; tune it on a
    /// validation split for other data.
    fn default() -> Self {
        Self { lambda: 500.0, similar_n: 50 }
    }
}

/// Why EASE could not be fitted.
#[derive(Debug, Error, PartialEq)]
pub enum EaseError {
    /// λ must make XᵀX + λI positive definite.
    #[error("EASE lambda must be finite and > 0, got {0}")]
    InvalidLambda(f64),
    /// Numerical breakdown of the Cholesky factorisation (λ too small for
    /// the data's scale).
    #[error("XᵀX + λI is not numerically positive definite (pivot {index}); raise lambda")]
    NotPositiveDefinite {
        /// The failing pivot.
        index: usize,
    },
}

/// A fitted EASE model.
#[derive(Debug, Clone)]
pub struct Ease {
    n_items: usize,
    lambda: f64,
    /// B row-major: row j holds item j's contributions to every item.
    weights: Vec<f32>,
    similar: Vec<Vec<Neighbour>>,
}

impl Ease {
    /// Fits EASE on `x`.
    pub fn fit(x: &Interactions, config: &EaseConfig) -> Result<Self, EaseError> {
        Self::fit_gram(&gram(x), config)
    }

    /// Fits from a precomputed XᵀX, so tuning λ computes it once.
    pub(crate) fn fit_gram(gram: &Mat<f64>, config: &EaseConfig) -> Result<Self, EaseError> {
        let lambda = config.lambda;
        if !(lambda.is_finite() && lambda > 0.0) {
            return Err(EaseError::InvalidLambda(lambda));
        }
        let n = gram.nrows();
        let mut g = gram.clone();
        for i in 0..n {
            g[(i, i)] += lambda;
        }
        let p = if n == 0 {
            Mat::zeros(0, 0)
        } else {
            g.llt(Side::Lower)
                .map_err(|e| match e {
                    faer::linalg::solvers::LltError::NonPositivePivot { index } => {
                        EaseError::NotPositiveDefinite { index }
                    }
                })?
                .inverse()
        };
        // B[j, i] = −P[j, i] / P[i, i]; P is symmetric so row j is column j.
        let diag: Vec<f64> = (0..n).map(|i| p[(i, i)]).collect();
        let mut weights = vec![0.0f32; n * n];
        for j in 0..n {
            let row = &mut weights[j * n..(j + 1) * n];
            for (i, (b, &d)) in row.iter_mut().zip(&diag).enumerate() {
                if i != j {
                    *b = (-p[(i, j)] / d) as f32;
                }
            }
        }
        let mut model = Self { n_items: n, lambda, weights, similar: Vec::new() };
        model.similar = (0..n).map(|j| model.rank_row(j, config.similar_n)).collect();
        Ok(model)
    }

    /// The `n` items item `j` contributes to most, positively.
    fn rank_row(&self, j: usize, n: usize) -> Vec<Neighbour> {
        if n == 0 {
            return Vec::new();
        }
        let candidates = self
            .row(j)
            .iter()
            .enumerate()
            .filter(|&(i, &b)| i != j && b > 0.0)
            .map(|(i, &b)| (i as ItemIdx, f64::from(b)))
            .collect();
        top_n(candidates, n).into_iter().map(|(item, score)| Neighbour { item, score }).collect()
    }

    fn row(&self, j: usize) -> &[f32] {
        &self.weights[j * self.n_items..(j + 1) * self.n_items]
    }

    /// The λ the model was fitted with.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Number of items the model knows.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// B[from, to]: how much watching `from` adds to `to`'s score.
    pub fn weight(&self, from: ItemIdx, to: ItemIdx) -> Option<f64> {
        let (from, to) = (from as usize, to as usize);
        (from < self.n_items && to < self.n_items).then(|| f64::from(self.weights[from * self.n_items + to]))
    }

    /// Up to `n` items most strongly implied by `item` ("because you
    /// watched `item`"), best first; at most `similar_n` were precomputed.
    pub fn top_similar(&self, item: ItemIdx, n: usize) -> &[Neighbour] {
        self.similar.get(item as usize).map_or(&[], |s| &s[..n.min(s.len())])
    }
}

impl Recommender for Ease {
    fn name(&self) -> &'static str {
        "EASE"
    }

    fn recommend(&self, history: &[(ItemIdx, f32)], n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation> {
        let mut acc = Accumulator::new(self.n_items);
        for &(j, w) in history {
            if (j as usize) < self.n_items {
                let w = f64::from(w);
                for (i, &b) in self.row(j as usize).iter().enumerate() {
                    if b != 0.0 {
                        acc.add(i, w * f64::from(b), j);
                    }
                }
            }
        }
        acc.finish(n, exclude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InteractionsError;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn two_items_match_the_closed_form() -> TestResult {
        // X columns: a = [1, 1, 1], b = [1, 0, 1]: a·a = 3, b·b = 2, a·b = 2.
        // Column i of B is the ridge regression of i on the other item:
        // B[a, b] = a·b / (a·a + λ) = 2 / 4, B[b, a] = a·b / (b·b + λ) = 2 / 3.
        let x = Interactions::from_triples([
            ("u1", "a", 1.0),
            ("u1", "b", 1.0),
            ("u2", "a", 1.0),
            ("u3", "a", 1.0),
            ("u3", "b", 1.0),
        ])?;
        let ease = Ease::fit(&x, &EaseConfig { lambda: 1.0, similar_n: 5 })?;
        let w = |f, t| ease.weight(f, t).unwrap_or(f64::NAN);
        assert!(close(w(0, 1), 0.5), "{}", w(0, 1));
        assert!(close(w(1, 0), 2.0 / 3.0), "{}", w(1, 0));
        assert_eq!((w(0, 0), w(1, 1)), (0.0, 0.0));
        assert_eq!(ease.top_similar(0, 5), [Neighbour { item: 1, score: w(0, 1) }]);
        Ok(())
    }

    #[test]
    fn columns_are_ridge_regressions_on_the_other_items() -> TestResult {
        let triples = [
            ("u1", "a", 1.0),
            ("u1", "b", 1.0),
            ("u2", "b", 1.0),
            ("u2", "c", 2.0),
            ("u3", "a", 1.0),
            ("u3", "c", 1.0),
            ("u4", "a", 1.0),
            ("u4", "b", 1.0),
            ("u4", "c", 1.0),
        ];
        let x = Interactions::from_triples(triples)?;
        let lambda = 0.5;
        let ease = Ease::fit(&x, &EaseConfig { lambda, similar_n: 0 })?;
        let g = gram(&x);
        for i in 0..3usize {
            // Solve the 2×2 ridge system for the other two items by Cramer's rule.
            let others: Vec<usize> = (0..3).filter(|&j| j != i).collect();
            let (j, k) = (others[0], others[1]);
            let (m11, m12, m22) = (g[(j, j)] + lambda, g[(j, k)], g[(k, k)] + lambda);
            let (r1, r2) = (g[(j, i)], g[(k, i)]);
            let det = m11 * m22 - m12 * m12;
            let beta_j = (r1 * m22 - m12 * r2) / det;
            let beta_k = (m11 * r2 - m12 * r1) / det;
            let w = |f: usize, t: usize| ease.weight(f as ItemIdx, t as ItemIdx).unwrap_or(f64::NAN);
            assert!(close(w(j, i), beta_j), "B[{j},{i}] = {} vs {beta_j}", w(j, i));
            assert!(close(w(k, i), beta_k), "B[{k},{i}] = {} vs {beta_k}", w(k, i));
            assert_eq!(w(i, i), 0.0, "diag({i})");
        }
        Ok(())
    }

    #[test]
    fn recommends_with_the_top_contributor_and_honours_exclusions() -> TestResult {
        let x = Interactions::from_triples([
            ("u1", "a", 1.0),
            ("u1", "b", 1.0),
            ("u2", "a", 1.0),
            ("u2", "b", 1.0),
            ("u3", "b", 1.0),
            ("u3", "c", 1.0),
        ])?;
        let ease = Ease::fit(&x, &EaseConfig { lambda: 0.1, similar_n: 5 })?;
        let recs = ease.recommend(&[(0, 1.0)], 5, &HashSet::from([0]));
        assert_eq!(recs.len(), 1);
        assert_eq!((recs[0].item, recs[0].because), (1, Some(0)));
        assert!(ease.recommend(&[(0, 1.0)], 5, &HashSet::from([0, 1])).is_empty());
        // Unknown history items are ignored rather than panicking.
        assert!(ease.recommend(&[(99, 1.0)], 5, &HashSet::new()).is_empty());
        Ok(())
    }

    #[test]
    fn rejects_invalid_lambda() -> Result<(), InteractionsError> {
        let x = Interactions::from_triples([("u", "a", 1.0)])?;
        for lambda in [0.0, -1.0, f64::NAN] {
            let err = Ease::fit(&x, &EaseConfig { lambda, similar_n: 0 }).err();
            assert!(matches!(err, Some(EaseError::InvalidLambda(_))), "{lambda}");
        }
        Ok(())
    }
}
