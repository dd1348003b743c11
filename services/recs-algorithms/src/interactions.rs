//! The implicit-feedback matrix (users × items) every model is fitted on.
//!
//! Stored as CSR (compressed sparse rows): one user's history is a
//! contiguous slice, which is what fitting (co-occurrence counts) and
//! recommending (a user's history) both read.

use thiserror::Error;

use crate::ids::{IdMap, IdMapFull, ItemIdx, UserIdx};

/// Why a matrix could not be built.
#[derive(Debug, Error, PartialEq)]
pub enum InteractionsError {
    /// Implicit feedback is evidence of interest: a weight must be a finite
    /// positive number (a watch, seconds watched, a rating), never NaN,
    /// infinite, zero or negative.
    #[error("interaction ({user}, {item}) has weight {weight}; weights must be finite and > 0")]
    InvalidWeight {
        /// The user's key.
        user: String,
        /// The item's key.
        item: String,
        /// The rejected weight.
        weight: f32,
    },
    /// A dense triple names an index outside its map.
    #[error("triple ({user}, {item}) is outside a {users} × {items} matrix")]
    OutOfRange {
        /// The user index.
        user: UserIdx,
        /// The item index.
        item: ItemIdx,
        /// Rows of the matrix.
        users: usize,
        /// Columns of the matrix.
        items: usize,
    },
    /// Too many distinct keys.
    #[error(transparent)]
    Full(#[from] IdMapFull),
}

/// Accumulates `(user key, item key, weight)` triples; see
/// [`Interactions::from_triples`].
#[derive(Debug, Default)]
pub struct InteractionsBuilder {
    users: IdMap,
    items: IdMap,
    triples: Vec<(UserIdx, ItemIdx, f32)>,
}

impl InteractionsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one interaction; repeated `(user, item)` pairs are summed.
    pub fn push(&mut self, user: &str, item: &str, weight: f32) -> Result<(), InteractionsError> {
        if !(weight.is_finite() && weight > 0.0) {
            return Err(InteractionsError::InvalidWeight { user: user.to_owned(), item: item.to_owned(), weight });
        }
        let u = self.users.get_or_insert(user)?;
        let i = self.items.get_or_insert(item)?;
        self.triples.push((u, i, weight));
        Ok(())
    }

    /// The matrix of everything pushed.
    pub fn build(self) -> Interactions {
        Interactions::assemble(self.users, self.items, self.triples)
    }
}

/// A users × items matrix of summed implicit-feedback weights, with the key
/// maps that translate its indices back to the caller's ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    users: IdMap,
    items: IdMap,
    /// Row `u` is `indices[indptr[u]..indptr[u + 1]]`, sorted by item.
    indptr: Vec<usize>,
    indices: Vec<ItemIdx>,
    weights: Vec<f32>,
}

impl Interactions {
    /// Builds the matrix from `(user key, item key, weight)` triples.
    /// Keys get dense indices in first-seen order; duplicates are summed.
    pub fn from_triples<I, U, T>(triples: I) -> Result<Self, InteractionsError>
    where
        I: IntoIterator<Item = (U, T, f32)>,
        U: AsRef<str>,
        T: AsRef<str>,
    {
        let mut builder = InteractionsBuilder::new();
        for (user, item, weight) in triples {
            builder.push(user.as_ref(), item.as_ref(), weight)?;
        }
        Ok(builder.build())
    }

    /// Builds a matrix over existing key maps from dense triples: how a
    /// split keeps the train part's rows and columns aligned with the whole.
    pub fn from_indexed(
        users: IdMap,
        items: IdMap,
        triples: Vec<(UserIdx, ItemIdx, f32)>,
    ) -> Result<Self, InteractionsError> {
        for &(user, item, weight) in &triples {
            if user as usize >= users.len() || item as usize >= items.len() {
                return Err(InteractionsError::OutOfRange { user, item, users: users.len(), items: items.len() });
            }
            if !(weight.is_finite() && weight > 0.0) {
                return Err(InteractionsError::InvalidWeight {
                    user: users.key(user).unwrap_or_default().to_owned(),
                    item: items.key(item).unwrap_or_default().to_owned(),
                    weight,
                });
            }
        }
        Ok(Self::assemble(users, items, triples))
    }

    /// Sorts validated triples into CSR, summing duplicates.
    fn assemble(users: IdMap, items: IdMap, mut triples: Vec<(UserIdx, ItemIdx, f32)>) -> Self {
        triples.sort_unstable_by_key(|&(u, i, _)| (u, i));
        let mut indptr = vec![0usize; users.len() + 1];
        let mut indices: Vec<ItemIdx> = Vec::with_capacity(triples.len());
        let mut weights: Vec<f32> = Vec::with_capacity(triples.len());
        let mut last: Option<(UserIdx, ItemIdx)> = None;
        for (u, i, w) in triples {
            if last == Some((u, i)) {
                if let Some(sum) = weights.last_mut() {
                    *sum += w;
                }
                continue;
            }
            last = Some((u, i));
            indices.push(i);
            weights.push(w);
            indptr[u as usize + 1] += 1;
        }
        for u in 0..users.len() {
            indptr[u + 1] += indptr[u];
        }
        Self { users, items, indptr, indices, weights }
    }

    /// Rows: the user key map.
    pub fn users(&self) -> &IdMap {
        &self.users
    }

    /// Columns: the item key map.
    pub fn items(&self) -> &IdMap {
        &self.items
    }

    /// Number of users (rows).
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Number of items (columns).
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct (user, item) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The items user `u` interacted with, ascending (empty when out of range).
    pub fn user_items(&self, u: UserIdx) -> &[ItemIdx] {
        self.row_range(u).map_or(&[], |r| &self.indices[r])
    }

    /// The weights matching [`Self::user_items`].
    pub fn user_weights(&self, u: UserIdx) -> &[f32] {
        self.row_range(u).map_or(&[], |r| &self.weights[r])
    }

    /// User `u`'s history as `(item, weight)` pairs: the input of
    /// [`crate::Recommender::recommend`].
    pub fn history(&self, u: UserIdx) -> Vec<(ItemIdx, f32)> {
        self.user_items(u).iter().copied().zip(self.user_weights(u).iter().copied()).collect()
    }

    /// Every stored `(user, item, weight)`, by user then item.
    pub fn entries(&self) -> impl Iterator<Item = (UserIdx, ItemIdx, f32)> + '_ {
        (0..self.n_users()).flat_map(move |u| {
            let u = u as UserIdx;
            self.user_items(u).iter().zip(self.user_weights(u)).map(move |(&i, &w)| (u, i, w))
        })
    }

    /// Per item, the users who interacted with it and their weights (the
    /// transpose, CSC): ItemKNN's similarity pass walks items' users.
    pub fn by_item(&self) -> Vec<Vec<(UserIdx, f32)>> {
        let mut columns = vec![Vec::new(); self.n_items()];
        for (u, i, w) in self.entries() {
            columns[i as usize].push((u, w));
        }
        columns
    }

    fn row_range(&self, u: UserIdx) -> Option<std::ops::Range<usize>> {
        let u = u as usize;
        let (&start, &end) = (self.indptr.get(u)?, self.indptr.get(u + 1)?);
        Some(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_csr_with_stable_ids_and_summed_duplicates() -> Result<(), InteractionsError> {
        let x = Interactions::from_triples([
            ("alice", "news", 1.0),
            ("bob", "film", 2.0),
            ("alice", "film", 1.0),
            ("alice", "news", 0.5),
        ])?;
        assert_eq!((x.n_users(), x.n_items(), x.nnz()), (2, 2, 3));
        assert_eq!(x.users().get("alice"), Some(0));
        assert_eq!(x.items().get("film"), Some(1));
        assert_eq!(x.user_items(0), [0, 1]);
        assert_eq!(x.user_weights(0), [1.5, 1.0]);
        assert_eq!(x.history(1), vec![(1, 2.0)]);
        assert_eq!(x.user_items(9), [] as [ItemIdx; 0]);
        assert_eq!(x.entries().collect::<Vec<_>>(), vec![(0, 0, 1.5), (0, 1, 1.0), (1, 1, 2.0)]);
        assert_eq!(x.by_item(), vec![vec![(0, 1.5)], vec![(0, 1.0), (1, 2.0)]]);
        Ok(())
    }

    #[test]
    fn rejects_non_positive_or_non_finite_weights() {
        for weight in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let err = Interactions::from_triples([("u", "i", weight)]);
            assert!(matches!(err, Err(InteractionsError::InvalidWeight { .. })), "{weight}");
        }
    }

    #[test]
    fn indexed_triples_must_fit_the_maps() -> Result<(), IdMapFull> {
        let mut users = IdMap::new();
        users.get_or_insert("u")?;
        let mut items = IdMap::new();
        items.get_or_insert("i")?;
        let ok = Interactions::from_indexed(users.clone(), items.clone(), vec![(0, 0, 1.0)]);
        assert!(ok.is_ok());
        let err = Interactions::from_indexed(users, items, vec![(0, 1, 1.0)]);
        assert!(matches!(err, Err(InteractionsError::OutOfRange { item: 1, .. })));
        Ok(())
    }
}
