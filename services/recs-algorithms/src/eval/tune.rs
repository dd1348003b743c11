//! Hyper-parameter selection on a validation split carved from the
//! TRAINING part only: the test part never influences λ or k, so the
//! reported test figures are honest estimates.

use super::EvalError;
use crate::{
    Interactions, Recommender,
    ease::{Ease, EaseConfig},
    evaluate::evaluate,
    gram::gram,
    itemknn::{ItemKnn, ItemKnnConfig},
    split::{SplitError, split_by_interaction},
};

/// A validation split's parts.
pub(crate) struct Validation {
    train: Interactions,
    test: Vec<Vec<crate::ItemIdx>>,
    k: usize,
}

/// Mixed into the seed so validation holds out different pairs from the
/// test split's shuffle of the same seed.
const VALIDATION_STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

impl Validation {
    /// Holds out `fraction` of `train` (itself the training part of the
    /// test split) with a seed derived from `seed`.
    pub(crate) fn carve(train: &Interactions, fraction: f64, seed: u64, k: usize) -> Result<Self, SplitError> {
        let split = split_by_interaction(train, fraction, seed ^ VALIDATION_STREAM)?;
        Ok(Self { train: split.train, test: split.test, k })
    }

    fn ndcg(&self, model: &dyn Recommender) -> f64 {
        evaluate(model, &self.train, &self.test, self.k).ndcg
    }

    /// The λ of `grid` with the best validation NDCG@k (the smaller on ties).
    pub(crate) fn best_lambda(&self, grid: &[f64]) -> Result<Tuned<f64>, EvalError> {
        let g = gram(&self.train);
        let mut tried = Vec::with_capacity(grid.len());
        for &lambda in grid {
            let model = Ease::fit_gram(&g, &EaseConfig { lambda, similar_n: 0 })?;
            tried.push((lambda, self.ndcg(&model)));
        }
        Tuned::pick(tried).ok_or(EvalError::EmptyGrid("EASE lambda"))
    }

    /// The (k, shrink) of the grids with the best validation NDCG@k.
    pub(crate) fn best_knn(&self, ks: &[usize], shrinks: &[f64]) -> Result<Tuned<(usize, f64)>, EvalError> {
        let max_k = ks.iter().copied().max().ok_or(EvalError::EmptyGrid("ItemKNN k"))?;
        let mut tried = Vec::with_capacity(ks.len() * shrinks.len());
        for &shrink in shrinks {
            let full = ItemKnn::fit(&self.train, &ItemKnnConfig { k: max_k, shrink, similar_n: 0 })?;
            for &k in ks {
                tried.push(((k, shrink), self.ndcg(&full.with_k(k)?)));
            }
        }
        Tuned::pick(tried).ok_or(EvalError::EmptyGrid("ItemKNN k × shrink"))
    }
}

/// The chosen value and every value tried with its validation NDCG.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned<T> {
    /// The best value.
    pub best: T,
    /// `(value, validation NDCG@k)` in grid order.
    pub tried: Vec<(T, f64)>,
}

impl<T: Clone> Tuned<T> {
    /// The first value with the highest score; `None` for an empty grid.
    fn pick(tried: Vec<(T, f64)>) -> Option<Self> {
        let mut best: Option<&(T, f64)> = None;
        for t in &tried {
            if best.is_none_or(|b| t.1 > b.1) {
                best = Some(t);
            }
        }
        let best = best?.0.clone();
        Some(Self { best, tried })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_best_value() {
        let t = Tuned::pick(vec![(10, 0.1), (20, 0.3), (30, 0.3), (40, 0.2)]);
        assert_eq!(t.map(|t| (t.best, t.tried.len())), Some((20, 4)));
        assert_eq!(Tuned::<u32>::pick(Vec::new()), None);
    }
}
