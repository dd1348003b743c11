//! Because-you-watched: one replica at a time (the holder of a Redis
//! lease) refits EASE (hearth-recs-algorithms) on everyone's recent,
//! time-decayed taste every `recommendations.recompute_interval`, and
//! stores the top-N similar items per item and the top-N per active user
//! with the history item that explains each entry. Requests read the
//! stored lists; they never wait for the model.

use std::{collections::HashSet, time::Instant};

use hearth_platform::{config::RecommendationsConfig, redis::Lease};
use hearth_recs_algorithms::{Ease, EaseConfig, InteractionsBuilder, Recommender};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Scored, Store};

/// Life of the model lease.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a refit produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refit {
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
}

/// Why a refit failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Store(#[from] crate::error::RecsError),
    #[error("model: {0}")]
    Fit(String),
}

/// Refits now: reads the training set, fits EASE off the async runtime,
/// stores the lists.
pub async fn refit(store: &Store, config: &RecommendationsConfig) -> Result<Refit, ModelError> {
    let started = Instant::now();
    let rows = store
        .training_set(
            config.model_window.as_secs_f64(),
            config.affinity_half_life.as_secs_f64().max(1.0),
            i64::from(config.model_max_items),
        )
        .await?;
    if rows.is_empty() {
        return Ok(Refit::default());
    }
    let (lambda, top_n) = (config.ease_lambda, config.top_n as usize);
    let (items, users, stats) = tokio::task::spawn_blocking(move || fit(&rows, lambda, top_n))
        .await
        .map_err(|e| ModelError::Fit(e.to_string()))??;
    store.store_neighbours(&items).await?;
    store.store_user_recommendations(&users).await?;
    tracing::info!(
        users = stats.users,
        items = stats.items,
        interactions = stats.interactions,
        seconds = started.elapsed().as_secs_f64(),
        "because-you-watched recomputed"
    );
    Ok(stats)
}

type Lists = (Vec<(String, Vec<Scored>)>, Vec<(Uuid, Vec<Scored>)>, Refit);

/// The model's lists from (user, item, score) rows.
fn fit(rows: &[(Uuid, String, f64)], lambda: f64, top_n: usize) -> Result<Lists, ModelError> {
    let mut builder = InteractionsBuilder::new();
    for (user, item, score) in rows {
        let weight = *score as f32;
        if weight.is_finite() && weight > 0.0 {
            builder.push(&user.to_string(), item, weight).map_err(|e| ModelError::Fit(e.to_string()))?;
        }
    }
    let x = builder.build();
    let ease = Ease::fit(&x, &EaseConfig { lambda, similar_n: top_n }).map_err(|e| ModelError::Fit(e.to_string()))?;
    let key = |idx: u32| x.items().key(idx).map(str::to_owned);
    let mut items = Vec::with_capacity(x.n_items());
    for idx in 0..x.n_items() as u32 {
        let Some(item) = key(idx) else { continue };
        let list: Vec<Scored> = ease
            .top_similar(idx, top_n)
            .iter()
            .filter_map(|n| Some(Scored { item: key(n.item)?, score: n.score, because: None }))
            .collect();
        items.push((item, list));
    }
    let mut users = Vec::with_capacity(x.n_users());
    for u in 0..x.n_users() as u32 {
        let Some(user) = x.users().key(u).and_then(|k| Uuid::parse_str(k).ok()) else { continue };
        let history = x.history(u);
        let seen: HashSet<u32> = history.iter().map(|(i, _)| *i).collect();
        let list: Vec<Scored> = ease
            .recommend(&history, top_n, &seen)
            .into_iter()
            .filter_map(|r| Some(Scored { item: key(r.item)?, score: r.score, because: r.because.and_then(key) }))
            .collect();
        users.push((user, list));
    }
    let stats = Refit { users: x.n_users(), items: x.n_items(), interactions: x.nnz() };
    Ok((items, users, stats))
}

/// Refits every `recompute_interval` while this replica holds the lease.
pub async fn run(store: Store, lease: Lease, config: RecommendationsConfig, shutdown: CancellationToken) {
    let lease_owner = lease.clone();
    lease_owner
        .lead(shutdown, |leadership| {
            let (store, config) = (store.clone(), config.clone());
            async move {
                loop {
                    if let Err(error) = refit(&store, &config).await {
                        tracing::warn!(%error, "because-you-watched not recomputed");
                    }
                    let retention = time::Duration::try_from(config.seen_retention).unwrap_or(time::Duration::hours(6));
                    let pruned = store.prune_seen(time::OffsetDateTime::now_utc() - retention).await;
                    if let Err(error) = pruned {
                        tracing::warn!(%error, "applied event ids not pruned");
                    }
                    tokio::select! {
                        () = leadership.cancelled() => return,
                        () = tokio::time::sleep(config.recompute_interval) => {}
                    }
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_explain_themselves_by_a_watched_item() {
        let users: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        let mut rows = Vec::new();
        // Everyone who watched news also watched weather; the last user
        // watched only news.
        for user in &users[..5] {
            rows.push((*user, "channel:news".to_owned(), 3.0));
            rows.push((*user, "channel:weather".to_owned(), 2.0));
        }
        rows.push((users[0], "channel:sport".to_owned(), 1.0));
        rows.push((users[5], "channel:news".to_owned(), 1.0));
        let (items, lists, stats) = fit(&rows, 1.0, 5).expect("fit");
        assert_eq!((stats.users, stats.items), (6, 3));
        let news = items.iter().find(|(i, _)| i == "channel:news").expect("news");
        assert_eq!(news.1.first().map(|s| s.item.as_str()), Some("channel:weather"));
        let last = lists.iter().find(|(u, _)| *u == users[5]).expect("the news-only viewer");
        assert_eq!(
            last.1.first().map(|s| (s.item.as_str(), s.because.as_deref())),
            Some(("channel:weather", Some("channel:news")))
        );
    }
}
