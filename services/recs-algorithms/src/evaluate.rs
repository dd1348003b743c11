//! Protocol A's ranking step: for every user with held-out items, rank all
//! items except the user's training items and score the top K against the
//! held-out ones.

use std::collections::HashSet;

use crate::{
    ids::{ItemIdx, UserIdx},
    interactions::Interactions,
    metrics::{Metrics, MetricsAccumulator},
    ranking::Recommender,
};

/// Mean Precision/Recall/NDCG@`k` of `model` (fitted on `train`) over the
/// users of `test` that have at least one held-out item.
pub fn evaluate(model: &dyn Recommender, train: &Interactions, test: &[Vec<ItemIdx>], k: usize) -> Metrics {
    let mut acc = MetricsAccumulator::new(k);
    for (u, held_out) in test.iter().enumerate() {
        if held_out.is_empty() {
            continue;
        }
        let u = u as UserIdx;
        let exclude: HashSet<ItemIdx> = train.user_items(u).iter().copied().collect();
        let ranked: Vec<ItemIdx> = model.recommend(&train.history(u), k, &exclude).iter().map(|r| r.item).collect();
        let relevant: HashSet<ItemIdx> = held_out.iter().copied().collect();
        acc.add(&ranked, &relevant);
    }
    acc.mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::Recommendation;

    /// Recommends items 0, 1, 2, ... in order, minus the excluded ones.
    struct InOrder(usize);

    impl Recommender for InOrder {
        fn name(&self) -> &'static str {
            "in-order"
        }

        fn recommend(&self, _: &[(ItemIdx, f32)], n: usize, exclude: &HashSet<ItemIdx>) -> Vec<Recommendation> {
            (0..self.0 as ItemIdx)
                .filter(|i| !exclude.contains(i))
                .take(n)
                .map(|item| Recommendation { item, score: 1.0, because: None })
                .collect()
        }
    }

    #[test]
    fn training_items_are_excluded_from_the_ranking() -> Result<(), Box<dyn std::error::Error>> {
        // u0 trained on item 0 and held out item 1: with 0 excluded, item 1
        // is ranked first. u1 has nothing held out and is skipped.
        let train = Interactions::from_triples([("u0", "i0", 1.0), ("u1", "i1", 1.0), ("u1", "i2", 1.0)])?;
        let test = vec![vec![1], vec![]];
        let m = evaluate(&InOrder(3), &train, &test, 1);
        assert_eq!(m.users, 1);
        assert_eq!((m.precision, m.recall, m.ndcg), (1.0, 1.0, 1.0));
        Ok(())
    }
}
