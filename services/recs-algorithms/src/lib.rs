//! Hearth's recommendation algorithms: pure, synchronous, no I/O except the
//! MovieLens fetch used by the offline evaluation.
//!
//! - [`Interactions`]: the implicit-feedback users × items matrix, built
//!   from `(user key, item key, weight)` triples with stable id maps.
//! - Models, all implementing [`Recommender`]: [`Ease`] (the production
//!   model), [`ItemKnn`] (explainable baseline, scales to large catalogues)
//!   and [`Popularity`] (the baseline and cold-start fallback). EASE and
//!   ItemKNN also answer `top_similar` and say which history item
//!   contributed most to each recommendation.
//! - [`metrics`], [`split`] and [`evaluate()`]: protocol A (random 80/20
//!   split by interaction, full ranking, Precision/Recall/NDCG@K).
//! - [`movielens`] and [`eval`]: the MovieLens-100k offline evaluation
//!   behind `hearth recs eval`.

pub mod ease;
pub mod eval;
mod evaluate;
mod gram;
mod ids;
mod interactions;
pub mod itemknn;
pub mod metrics;
pub mod movielens;
pub mod popularity;
mod ranking;
pub mod split;

pub use ease::{Ease, EaseConfig, EaseError};
pub use evaluate::evaluate;
pub use ids::{IdMap, IdMapFull, Index, ItemIdx, UserIdx};
pub use interactions::{Interactions, InteractionsBuilder, InteractionsError};
pub use itemknn::{ItemKnn, ItemKnnConfig, ItemKnnError};
pub use metrics::Metrics;
pub use popularity::Popularity;
pub use ranking::{Neighbour, Recommendation, Recommender};
pub use split::{Split, SplitError, split_by_interaction};

/// Caps the threads dense linear algebra (EASE's fit) uses in this process.
/// A serving process sets 1, so a refit beside live requests leaves the
/// other cores to them; 0 means every core (the offline evaluation).
pub fn set_fit_threads(threads: usize) {
    let par = if threads == 1 { faer::Par::Seq } else { faer::Par::rayon(threads) };
    faer::set_global_parallelism(par);
}
