//! The four recommendation lists: trending now, friends watching now,
//! because you watched, and starting soon.

use std::collections::{HashMap, HashSet};

use hearth_platform::validate::FieldError;
use hearth_proto::hearth::{
    common::v1::UserRef,
    recommendations::v1::{
        Explanation, ExplanationKind, ItemKind, ListBecauseYouWatchedRequest, ListBecauseYouWatchedResponse,
        ListFriendsWatchingRequest, ListFriendsWatchingResponse, ListStartingSoonRequest, ListStartingSoonResponse,
        ListTrendingRequest, ListTrendingResponse, Recommendation, RecommendedItem,
    },
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{RecsApi, page, recommendation_id};
use crate::{
    domain::{
        explain,
        items::Item,
        locale,
        privacy::{self, Activity, Relation},
    },
    error::{RecsError, Result},
    peers::Caller,
    state::now_ms,
    store::Scored,
};

/// Friends watching one item: who, the latest start, and a room to join.
type Watchers = (Vec<Uuid>, i64, Option<Uuid>);

/// Seeds of a personal because-you-watched list computed on the fly.
const SEEDS: i64 = 20;
/// Liked channels considered for starting soon.
const LIKED_CHANNELS: i64 = 50;

fn entry(list: &str, item: RecommendedItem, key: &str, explanation: Explanation) -> Recommendation {
    Recommendation { recommendation_id: recommendation_id(list, key), item: Some(item), explanation: Some(explanation) }
}

impl RecsApi {
    pub(crate) async fn list_trending(&self, caller: &Caller, r: ListTrendingRequest) -> Result<ListTrendingResponse> {
        if r.kinds.len() > 4 {
            return Err(FieldError::new("kinds", "at most 4 kinds").into());
        }
        let kinds: HashSet<i32> = r.kinds.iter().copied().filter(|k| *k != ItemKind::Unspecified as i32).collect();
        let region = match r.region.trim() {
            "" => String::new(),
            raw => locale::region(raw)
                .ok_or_else(|| RecsError::field("region", "invalid_region", "must be an ISO 3166-1 alpha-2 code"))?,
        };
        let language = r.language.trim().to_ascii_lowercase();
        let primary = match language.as_str() {
            "" => String::new(),
            raw => locale::language(raw)
                .filter(|_| raw.len() <= 35)
                .ok_or_else(|| RecsError::field("language", "invalid_language", "must be a BCP 47 language tag"))?,
        };
        let kinds_filter = format!("{:?}", {
            let mut k: Vec<_> = kinds.iter().collect();
            k.sort();
            k
        });
        let page = page(r.page.as_ref(), &[&kinds_filter, &region, &language])?;
        // The narrowest scope asked for: region, else language, else all.
        let scope = if !region.is_empty() {
            format!("r:{region}")
        } else if !primary.is_empty() {
            format!("l:{primary}")
        } else {
            "all".to_owned()
        };
        let wanted = (page.offset + u64::from(page.size)) as usize;
        let half_life = self.config.trending_half_life.as_millis() as i64;
        let ranked = self.state.trending(&scope, now_ms(), half_life, wanted).await?;
        let items: Vec<Item> = ranked
            .iter()
            .filter_map(|(key, _)| Item::parse(key))
            .filter(|item| kinds.is_empty() || kinds.contains(&(item.kind() as i32)))
            .collect();
        let window: Vec<Item> = items.into_iter().skip(page.offset as usize).take(page.size as usize * 2).collect();
        let shown = self.display(caller, &window).await;
        let text = explain::trending(&region);
        let recommendations: Vec<Recommendation> = window
            .iter()
            .filter_map(|item| {
                let key = item.key();
                let display = shown.get(&key)?.clone();
                let explanation = Explanation {
                    kind: ExplanationKind::Trending as i32,
                    text: text.clone(),
                    count: display.viewer_count,
                    ..Default::default()
                };
                Some(entry("trending", display, &key, explanation))
            })
            .take(page.size as usize)
            .collect();
        let next = page.response(recommendations.len());
        Ok(ListTrendingResponse { recommendations, page: next })
    }

    pub(crate) async fn list_friends_watching(
        &self,
        caller: &Caller,
        r: ListFriendsWatchingRequest,
    ) -> Result<ListFriendsWatchingResponse> {
        let page = page(r.page.as_ref(), &[])?;
        let max = self.config.max_friends as usize;
        let following = self.peers.following(caller, caller.id, max).await?;
        if following.is_empty() {
            return Ok(ListFriendsWatchingResponse { recommendations: Vec::new(), page: page.response(0) });
        }
        let sharing = self.store.sharing(&following).await?;
        let sharers: Vec<Uuid> =
            following.iter().copied().filter(|f| sharing.get(f).is_some_and(|s| s.share_activity)).collect();
        let sessions = self.state.watching_many(&sharers).await?;
        let watching: Vec<Uuid> = sessions.keys().copied().collect();
        let followers: HashSet<Uuid> = if watching.is_empty() {
            HashSet::new()
        } else {
            self.peers.followers(caller, caller.id, 100_000).await?.into_iter().collect()
        };
        let blocked =
            if watching.is_empty() { HashSet::new() } else { self.peers.blocks_with(caller.id, &watching).await? };
        let now = now_ms();
        let mut by_item: HashMap<String, Watchers> = HashMap::new();
        for (friend, list) in &sessions {
            let Some(settings) = sharing.get(friend) else { continue };
            let relation = Relation {
                viewer_follows: true,
                friend_follows: followers.contains(friend),
                blocked: blocked.contains(friend),
            };
            for session in list {
                let activity = Activity { sensitive: session.sensitive, hidden: false };
                if !privacy::may_see(settings, relation, activity, now) {
                    continue;
                }
                let entry = by_item.entry(session.item.clone()).or_insert((Vec::new(), 0, None));
                entry.0.push(*friend);
                entry.1 = entry.1.max(session.since_ms);
                entry.2 = entry.2.or(session.room);
            }
        }
        let mut ranked: Vec<(String, Watchers)> = by_item.into_iter().collect();
        ranked.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(b.1.1.cmp(&a.1.1)).then(a.0.cmp(&b.0)));
        let window: Vec<_> = ranked.into_iter().skip(page.offset as usize).take(page.size as usize).collect();
        // The items, and the rooms friends watch them in (joinable only if
        // the caller may see them), displayed in one pass.
        let mut items: Vec<Item> = window.iter().filter_map(|(key, _)| Item::parse(key)).collect();
        items.extend(window.iter().filter_map(|(_, (_, _, room))| room.map(|r| Item::Room(r.to_string()))));
        let shown = self.display(caller, &items).await;
        let people: Vec<Uuid> =
            window.iter().flat_map(|(_, (friends, _, _))| friends.iter().take(3).copied()).collect();
        let refs = self.peers.profiles.refs(&people).await;
        let mut recommendations = Vec::new();
        for (key, (friends, _, room)) in window {
            let Some(mut display) = shown.get(&key).cloned() else { continue };
            let users: Vec<UserRef> = friends.iter().take(3).filter_map(|f| refs.get(f).cloned()).collect();
            let first = users
                .first()
                .map(|u| if u.display_name.is_empty() { u.username.clone() } else { u.display_name.clone() });
            if display.join_room_id.is_empty()
                && let Some(room) = room
                && shown.contains_key(&Item::Room(room.to_string()).key())
            {
                display.join_room_id = room.to_string();
            }
            let explanation = Explanation {
                kind: ExplanationKind::FriendsWatching as i32,
                text: explain::friends_watching(&first.unwrap_or_else(|| "A friend".into()), friends.len()),
                users,
                count: friends.len() as u64,
                ..Default::default()
            };
            recommendations.push(entry("friends", display, &key, explanation));
        }
        let next = page.response(recommendations.len());
        Ok(ListFriendsWatchingResponse { recommendations, page: next })
    }

    pub(crate) async fn list_because_you_watched(
        &self,
        caller: &Caller,
        r: ListBecauseYouWatchedRequest,
    ) -> Result<ListBecauseYouWatchedResponse> {
        let seed = match &r.seed {
            None => None,
            Some(media) => Some(
                Item::from_media(media)
                    .ok_or_else(|| RecsError::field("seed", "invalid_media", "a channel, programme or VOD asset"))?,
            ),
        };
        let seed_key = seed.as_ref().map(Item::key).unwrap_or_default();
        let page = page(r.page.as_ref(), &[&seed_key])?;
        let scored: Vec<Scored> = match &seed {
            Some(seed) => {
                if self.peers.catalog.is_some()
                    && !matches!(seed, Item::Asset(_))
                    && self.display(caller, std::slice::from_ref(seed)).await.is_empty()
                {
                    return Err(RecsError::NotFound("media_not_found", "the seed is not in the catalog".into()));
                }
                self.store
                    .neighbours(&seed.key())
                    .await?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| Scored { because: Some(seed.key()), ..s })
                    .collect()
            }
            None => match self.store.user_recommendations(caller.id).await? {
                Some(list) => list,
                None => self.on_the_fly(caller.id).await?,
            },
        };
        let window: Vec<Scored> = scored.into_iter().skip(page.offset as usize).take(page.size as usize).collect();
        let mut items: Vec<Item> = window.iter().filter_map(|s| Item::parse(&s.item)).collect();
        items.extend(window.iter().filter_map(|s| s.because.as_deref().and_then(Item::parse)));
        let shown = self.display(caller, &items).await;
        let mut recommendations = Vec::new();
        for scored in &window {
            let Some(display) = shown.get(&scored.item).cloned() else { continue };
            let because = scored.because.as_deref().and_then(Item::parse);
            let seed_title =
                because.as_ref().and_then(|b| shown.get(&b.key())).map(|d| d.title.clone()).unwrap_or_default();
            let explanation = Explanation {
                kind: ExplanationKind::BecauseYouWatched as i32,
                text: explain::because_you_watched(if seed_title.is_empty() { "this" } else { &seed_title }),
                seed: because.as_ref().and_then(Item::media),
                seed_title,
                ..Default::default()
            };
            recommendations.push(entry("byw", display, &scored.item, explanation));
        }
        let next = page.response(window.len());
        Ok(ListBecauseYouWatchedResponse { recommendations, page: next })
    }

    /// A personal list before the model has one for this user: the
    /// neighbours of their strongest recent interests, weighted by them.
    async fn on_the_fly(&self, user: Uuid) -> Result<Vec<Scored>> {
        let half_life = self.config.affinity_half_life.as_secs_f64();
        let tastes = self.store.tastes(user, half_life, SEEDS).await?;
        let seen: HashSet<&str> = tastes.iter().map(|(i, _)| i.as_str()).collect();
        let mut totals: HashMap<String, (f64, String, f64)> = HashMap::new();
        for (seed, weight) in &tastes {
            for neighbour in self.store.neighbours(seed).await?.unwrap_or_default() {
                if seen.contains(neighbour.item.as_str()) {
                    continue;
                }
                let contribution = weight * neighbour.score;
                let entry = totals.entry(neighbour.item.clone()).or_insert((0.0, seed.clone(), 0.0));
                entry.0 += contribution;
                if contribution > entry.2 {
                    entry.1 = seed.clone();
                    entry.2 = contribution;
                }
            }
        }
        let mut list: Vec<Scored> = totals
            .into_iter()
            .map(|(item, (score, because, _))| Scored { item, score, because: Some(because) })
            .collect();
        list.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.item.cmp(&b.item)));
        list.truncate(self.config.top_n as usize);
        Ok(list)
    }

    pub(crate) async fn list_starting_soon(
        &self,
        caller: &Caller,
        r: ListStartingSoonRequest,
    ) -> Result<ListStartingSoonResponse> {
        let horizon = match &r.horizon {
            None => std::time::Duration::from_secs(3 * 3600),
            Some(d) => hearth_platform::wkt::std_duration(d)
                .filter(|d| (900..=43_200).contains(&d.as_secs()))
                .ok_or_else(|| RecsError::field("horizon", "invalid_horizon", "must be 15 minutes to 12 hours"))?,
        };
        let page = page(r.page.as_ref(), &[&horizon.as_secs().to_string()])?;
        let half_life = self.config.affinity_half_life.as_secs_f64();
        let mine: Vec<String> = self
            .store
            .tastes(caller.id, half_life, 200)
            .await?
            .into_iter()
            .filter_map(|(item, _)| match Item::parse(&item) {
                Some(Item::Channel(id)) => Some(id),
                _ => None,
            })
            .take(LIKED_CHANNELS as usize)
            .collect();
        // Friends' channels, only of friends who share their activity.
        let following = self.peers.following(caller, caller.id, self.config.max_friends as usize).await?;
        let sharing = self.store.sharing(&following).await?;
        let now = now_ms();
        let sharers: Vec<Uuid> = following
            .iter()
            .copied()
            .filter(|f| sharing.get(f).is_some_and(|s| s.share_activity && s.paused_until_ms.is_none_or(|p| p <= now)))
            .collect();
        let theirs: Vec<String> = self
            .store
            .liked_channels(&sharers, half_life, LIKED_CHANNELS)
            .await?
            .into_iter()
            .filter(|c| !mine.contains(c))
            .collect();
        let friends_like: HashSet<&String> = theirs.iter().collect();
        let channels: Vec<String> = mine.iter().chain(theirs.iter()).cloned().collect();
        let start = OffsetDateTime::now_utc();
        let until = start + horizon;
        let mut upcoming: Vec<(OffsetDateTime, hearth_proto::hearth::provider::v1::Programme, bool)> = self
            .peers
            .now_next(&channels)
            .await
            .into_iter()
            .filter_map(|n| {
                let next = n.next?;
                let at = next.start_time.as_ref().and_then(hearth_platform::wkt::datetime)?;
                (at > start && at <= until).then(|| (at, next, friends_like.contains(&n.channel_id)))
            })
            .collect();
        upcoming.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.programme_id.cmp(&b.1.programme_id)));
        let window: Vec<_> = upcoming.into_iter().skip(page.offset as usize).take(page.size as usize).collect();
        let items: Vec<Item> = window.iter().map(|(_, p, _)| Item::Programme(p.programme_id.clone())).collect();
        let shown = self.display(caller, &items).await;
        let mut recommendations = Vec::new();
        for (at, programme, friends) in &window {
            let key = Item::Programme(programme.programme_id.clone()).key();
            let Some(display) = shown.get(&key).cloned() else { continue };
            let minutes = (*at - start).whole_minutes();
            let kind =
                if *friends { ExplanationKind::StartingSoonFriendsLike } else { ExplanationKind::StartingSoonYouLike };
            let explanation = Explanation {
                kind: kind as i32,
                text: explain::starting_soon(minutes, *friends),
                ..Default::default()
            };
            recommendations.push(entry("soon", display, &key, explanation));
        }
        let next = page.response(window.len());
        Ok(ListStartingSoonResponse { recommendations, page: next })
    }
}
