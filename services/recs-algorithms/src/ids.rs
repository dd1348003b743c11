//! Stable maps between the string keys callers use (user ids, channel or
//! programme ids) and the dense indices the algorithms work on.

use std::collections::HashMap;

use thiserror::Error;

/// A dense index into an [`IdMap`]. `u32` halves the memory of index arrays
/// compared with `usize`; four billion keys is far beyond any catalogue.
pub type Index = u32;

/// A dense item index (a column of [`crate::Interactions`]).
pub type ItemIdx = Index;

/// A dense user index (a row of [`crate::Interactions`]).
pub type UserIdx = Index;

/// The map is full: more keys than [`Index`] can address.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("more than {} distinct keys", Index::MAX)]
pub struct IdMapFull;

/// Assigns each distinct key the next dense index, in first-seen order, so
/// the same input always yields the same indices (reproducible splits and
/// rankings) and indices can be mapped back to keys for the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    keys: Vec<String>,
    index: HashMap<String, Index>,
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `key`, assigning the next free one when it is new.
    pub fn get_or_insert(&mut self, key: &str) -> Result<Index, IdMapFull> {
        if let Some(&idx) = self.index.get(key) {
            return Ok(idx);
        }
        let idx = Index::try_from(self.keys.len()).map_err(|_| IdMapFull)?;
        if idx == Index::MAX {
            return Err(IdMapFull);
        }
        self.keys.push(key.to_owned());
        self.index.insert(key.to_owned(), idx);
        Ok(idx)
    }

    /// The index of `key`, if it is known.
    pub fn get(&self, key: &str) -> Option<Index> {
        self.index.get(key).copied()
    }

    /// The key of `idx`, if it is in range.
    pub fn key(&self, idx: Index) -> Option<&str> {
        self.keys.get(idx as usize).map(String::as_str)
    }

    /// All keys, in index order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// How many keys the map holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigns_dense_indices_in_first_seen_order() -> Result<(), IdMapFull> {
        let mut map = IdMap::new();
        assert_eq!(map.get_or_insert("b")?, 0);
        assert_eq!(map.get_or_insert("a")?, 1);
        assert_eq!(map.get_or_insert("b")?, 0);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("a"), Some(1));
        assert_eq!(map.get("zzz"), None);
        assert_eq!(map.key(0), Some("b"));
        assert_eq!(map.key(2), None);
        assert_eq!(map.keys(), ["b".to_owned(), "a".to_owned()]);
        Ok(())
    }
}
