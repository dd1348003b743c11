//! MovieLens-100k in RecBole's atomic-file form (`ml-100k.inter`): the
//! public data set the published reference figures are measured on.
//!
//! The file is a TSV with the header
//! `user_id:token  item_id:token  rating:float  timestamp:float` and
//! 100,000 rows (943 users, 1,682 items). It is fetched on demand into a
//! local cache ([`fetch`]) and never committed.

mod fetch;

use std::{
    collections::HashSet,
    fs::File,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
};

pub use fetch::{FetchError, cached_path, default_cache_dir, fetch};
use thiserror::Error;

use crate::interactions::{Interactions, InteractionsBuilder, InteractionsError};

/// The columns RecBole's atomic `.inter` file must start with.
pub const HEADER: [&str; 4] = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"];

/// The published shape of ML-100k: (rows, users, items).
pub const SHAPE: (usize, usize, usize) = (100_000, 943, 1_682);

/// One row of `ml-100k.inter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// The user's token.
    pub user: String,
    /// The movie's token.
    pub item: String,
    /// 1 to 5 stars (protocol A ignores the value).
    pub rating: f32,
    /// Unix seconds.
    pub timestamp: f64,
}

/// Why the data could not be read.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The first line is not RecBole's `.inter` header.
    #[error("unexpected header {found:?}; expected {expected:?}", expected = HEADER.join("\t"))]
    Header {
        /// The line found.
        found: String,
    },
    /// A data row is malformed.
    #[error("line {line}: {reason}")]
    Row {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The file holds no data row.
    #[error("no ratings in the file")]
    Empty,
    /// The interactions could not be built.
    #[error(transparent)]
    Interactions(#[from] InteractionsError),
}

/// Reads `ml-100k.inter` from `path`.
pub fn load(path: &Path) -> Result<Vec<Rating>, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })?;
    parse(BufReader::new(file)).map_err(|e| match e {
        LoadError::Io { source, .. } => LoadError::Io { path: path.to_owned(), source },
        other => other,
    })
}

/// Parses the `.inter` format from any reader.
pub fn parse(reader: impl BufRead) -> Result<Vec<Rating>, LoadError> {
    let io = |source| LoadError::Io { path: PathBuf::new(), source };
    let mut lines = reader.lines();
    let header = lines.next().transpose().map_err(io)?.ok_or(LoadError::Empty)?;
    let columns: Vec<&str> = header.trim_end_matches('\r').split('\t').collect();
    if columns.len() < HEADER.len() || columns[..HEADER.len()] != HEADER {
        return Err(LoadError::Header { found: header });
    }
    let mut ratings = Vec::new();
    for (n, line) in lines.enumerate() {
        let line = line.map_err(io)?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        ratings.push(parse_row(line).map_err(|reason| LoadError::Row { line: n + 2, reason })?);
    }
    if ratings.is_empty() {
        return Err(LoadError::Empty);
    }
    Ok(ratings)
}

fn parse_row(line: &str) -> Result<Rating, String> {
    let mut fields = line.split('\t');
    let mut next = |name: &str| fields.next().filter(|f| !f.is_empty()).ok_or_else(|| format!("missing {name}"));
    let user = next("user_id")?.to_owned();
    let item = next("item_id")?.to_owned();
    let rating_field = next("rating")?;
    let rating: f32 = rating_field.parse().map_err(|_| format!("rating {rating_field:?} is not a number"))?;
    let timestamp_field = next("timestamp")?;
    let timestamp: f64 =
        timestamp_field.parse().map_err(|_| format!("timestamp {timestamp_field:?} is not a number"))?;
    if !rating.is_finite() {
        return Err(format!("rating {rating_field:?} is not finite"));
    }
    Ok(Rating { user, item, rating, timestamp })
}

/// Protocol A's matrix: every rating is an implicit positive of weight 1.
///
/// `max_users` keeps only the users with the lowest ids (numerically when
/// every id is a number, as in ML-100k, else lexicographically): a smaller,
/// deterministic problem for CI. Items are those the kept users rated.
pub fn implicit_interactions(ratings: &[Rating], max_users: Option<usize>) -> Result<Interactions, LoadError> {
    let kept = max_users.map(|limit| lowest_users(ratings, limit));
    let mut builder = InteractionsBuilder::new();
    for r in ratings {
        if kept.as_ref().is_none_or(|k| k.contains(r.user.as_str())) {
            builder.push(&r.user, &r.item, 1.0)?;
        }
    }
    Ok(builder.build())
}

/// The `limit` smallest user ids.
fn lowest_users(ratings: &[Rating], limit: usize) -> HashSet<&str> {
    let mut users: Vec<&str> = ratings.iter().map(|r| r.user.as_str()).collect::<HashSet<_>>().into_iter().collect();
    if users.iter().all(|u| u.parse::<u64>().is_ok()) {
        users.sort_unstable_by_key(|u| u.parse::<u64>().unwrap_or(u64::MAX));
    } else {
        users.sort_unstable();
    }
    users.into_iter().take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
                          196\t242\t3\t881250949\n\
                          10\t302\t3\t891717742\n\
                          2\t242\t1\t878887116\n\
                          196\t302\t4\t880606923\n";

    #[test]
    fn parses_rows() -> Result<(), LoadError> {
        let ratings = parse(SAMPLE.as_bytes())?;
        assert_eq!(ratings.len(), 4);
        assert_eq!(
            ratings[0],
            Rating { user: "196".into(), item: "242".into(), rating: 3.0, timestamp: 881_250_949.0 }
        );
        Ok(())
    }

    #[test]
    fn rejects_wrong_header_bad_rows_and_empty_files() {
        assert!(matches!(parse("user\titem\n1\t2\n".as_bytes()), Err(LoadError::Header { .. })));
        let bad = format!("{}\n1\t2\tfive\t0\n", HEADER.join("\t"));
        assert!(matches!(parse(bad.as_bytes()), Err(LoadError::Row { line: 2, .. })));
        let short = format!("{}\n1\t2\n", HEADER.join("\t"));
        assert!(matches!(parse(short.as_bytes()), Err(LoadError::Row { line: 2, .. })));
        assert!(matches!(parse(format!("{}\n", HEADER.join("\t")).as_bytes()), Err(LoadError::Empty)));
        assert!(matches!(parse("".as_bytes()), Err(LoadError::Empty)));
    }

    #[test]
    fn implicit_matrix_keeps_the_lowest_numeric_user_ids() -> Result<(), LoadError> {
        let ratings = parse(SAMPLE.as_bytes())?;
        let all = implicit_interactions(&ratings, None)?;
        assert_eq!((all.n_users(), all.n_items(), all.nnz()), (3, 2, 4));
        assert!(all.entries().all(|(_, _, w)| w == 1.0));
        // Numerically 2 and 10 are lowest (lexicographically "10" < "196" < "2").
        let two = implicit_interactions(&ratings, Some(2))?;
        let mut users = two.users().keys().to_vec();
        users.sort();
        assert_eq!(users, ["10", "2"]);
        assert_eq!(two.nnz(), 2);
        Ok(())
    }
}
