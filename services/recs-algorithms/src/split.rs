//! Protocol A's split: every rating is an implicit positive, and a seeded
//! random 20 % of the interactions is held out for testing.
//!
//! Method: the matrix's distinct (user, item) pairs, in their canonical
//! (user, item) order, are shuffled with ChaCha8 seeded by `seed`
//! (Fisher–Yates via `rand`'s `SliceRandom`), and the first
//! round(fraction × nnz) go to test, the rest to train. A shuffle-then-cut
//! holds out exactly the requested share, unlike an independent coin per
//! interaction, so runs with different seeds differ only in which pairs
//! are held out. Same input, seed and crate versions → same split.
//!
//! Both parts keep the full user and item maps, so rankings are over every
//! item of the data set (items seen only in test can still be ranked).

use rand::{SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::{
    ids::{ItemIdx, UserIdx},
    interactions::{Interactions, InteractionsError},
};

/// Why a split could not be made.
#[derive(Debug, Error, PartialEq)]
pub enum SplitError {
    /// The held-out share must leave something to train on.
    #[error("test fraction must be in [0, 1), got {0}")]
    InvalidFraction(f64),
    /// Rebuilding the training matrix failed.
    #[error(transparent)]
    Interactions(#[from] InteractionsError),
}

/// A train/test split of one matrix.
#[derive(Debug, Clone)]
pub struct Split {
    /// The interactions models are fitted on (same maps as the input).
    pub train: Interactions,
    /// Per user (indexed by [`UserIdx`]), the held-out items, ascending.
    pub test: Vec<Vec<ItemIdx>>,
}

impl Split {
    /// Number of held-out interactions.
    pub fn test_len(&self) -> usize {
        self.test.iter().map(Vec::len).sum()
    }
}

/// Holds out a seeded random `test_fraction` of `data`'s interactions.
pub fn split_by_interaction(data: &Interactions, test_fraction: f64, seed: u64) -> Result<Split, SplitError> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(SplitError::InvalidFraction(test_fraction));
    }
    let mut entries: Vec<(UserIdx, ItemIdx, f32)> = data.entries().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    entries.shuffle(&mut rng);
    let cut = (test_fraction * entries.len() as f64).round() as usize;
    let train_entries = entries.split_off(cut.min(entries.len()));
    let mut test = vec![Vec::new(); data.n_users()];
    for (u, i, _) in entries {
        test[u as usize].push(i);
    }
    for items in &mut test {
        items.sort_unstable();
    }
    let train = Interactions::from_indexed(data.users().clone(), data.items().clone(), train_entries)?;
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(users: usize, items: usize) -> Result<Interactions, InteractionsError> {
        let mut triples = Vec::new();
        for u in 0..users {
            for i in 0..items {
                if (u * 7 + i * 3) % 4 != 0 {
                    triples.push((format!("u{u}"), format!("i{i}"), 1.0));
                }
            }
        }
        Interactions::from_triples(triples)
    }

    #[test]
    fn holds_out_twenty_percent_without_overlap() -> Result<(), Box<dyn std::error::Error>> {
        let x = data(50, 40)?;
        let split = split_by_interaction(&x, 0.2, 1)?;
        let expected = (0.2 * x.nnz() as f64).round() as usize;
        assert_eq!(split.test_len(), expected);
        assert_eq!(split.train.nnz() + split.test_len(), x.nnz());
        assert_eq!((split.train.n_users(), split.train.n_items()), (x.n_users(), x.n_items()));
        for (u, held) in split.test.iter().enumerate() {
            let train = split.train.user_items(u as UserIdx);
            assert!(held.iter().all(|i| train.binary_search(i).is_err()), "user {u} overlaps");
            let mut all: Vec<_> = train.iter().chain(held).copied().collect();
            all.sort_unstable();
            assert_eq!(all, x.user_items(u as UserIdx), "user {u} lost items");
        }
        Ok(())
    }

    #[test]
    fn is_deterministic_per_seed_and_differs_across_seeds() -> Result<(), Box<dyn std::error::Error>> {
        let x = data(30, 30)?;
        let a = split_by_interaction(&x, 0.2, 7)?;
        let b = split_by_interaction(&x, 0.2, 7)?;
        let c = split_by_interaction(&x, 0.2, 8)?;
        assert_eq!(a.test, b.test);
        assert_eq!(a.train, b.train);
        assert_ne!(a.test, c.test);
        Ok(())
    }

    #[test]
    fn rejects_fractions_outside_zero_one() -> Result<(), InteractionsError> {
        let x = data(3, 3)?;
        for f in [-0.1, 1.0, f64::NAN] {
            assert!(matches!(split_by_interaction(&x, f, 1), Err(SplitError::InvalidFraction(_))), "{f}");
        }
        Ok(())
    }
}
