//! Entitlement checks for Hearth users (CatalogService.BatchCheckEntitlement):
//! users are mapped to their provider accounts, each account is asked about
//! once, answers are cached in Redis for as long as the provider allows
//! (capped by `provider.entitlement_cache_max`), and mapped back in request
//! order. Without a configured provider everyone is allowed.

use std::{collections::HashMap, time::Duration};

use hearth_proto::hearth::provider::v1::{
    CheckEntitlementRequest, EntitlementDecision, UserEntitlement, batch_check_entitlement_request::Target,
    check_entitlement_request,
};

use crate::{
    domain::entitlement,
    error::{ProviderError, Result},
    links::Links,
    state::State,
    upstream::Upstream,
};

/// Provider accounts per CheckEntitlement call (the contract's limit).
const PROVIDER_BATCH: usize = 1000;

#[derive(Clone)]
pub struct Entitlements {
    pub upstream: Option<Upstream>,
    pub links: Links,
    pub state: State,
    pub cache_max: Duration,
}

/// The cache key part naming what is checked.
fn target_key(target: &Target) -> String {
    match target {
        Target::ChannelId(id) => format!("channel:{id}"),
        Target::ProgrammeId(id) => format!("programme:{id}"),
        Target::AssetId(id) => format!("asset:{id}"),
    }
}

fn provider_target(target: &Target) -> check_entitlement_request::Target {
    match target.clone() {
        Target::ChannelId(id) => check_entitlement_request::Target::ChannelId(id),
        Target::ProgrammeId(id) => check_entitlement_request::Target::ProgrammeId(id),
        Target::AssetId(id) => check_entitlement_request::Target::AssetId(id),
    }
}

impl Entitlements {
    /// One answer per user (request order).
    pub async fn check(&self, users: &[String], target: &Target) -> Result<Vec<UserEntitlement>> {
        let Some(upstream) = &self.upstream else {
            return Ok(users
                .iter()
                .map(|u| UserEntitlement { user_id: u.clone(), allowed: true, ..Default::default() })
                .collect());
        };
        let links = self.links.accounts_of(users).await?;
        let accounts = entitlement::accounts_to_ask(users, &links);
        let key = target_key(target);
        let cached = self.state.cached(&key, &accounts).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "entitlement cache unavailable; asking the provider");
            vec![None; accounts.len()]
        });
        let mut decisions: HashMap<String, EntitlementDecision> = HashMap::new();
        let mut missing: Vec<String> = Vec::new();
        for (account, hit) in accounts.iter().zip(cached) {
            match hit {
                Some(decision) => {
                    decisions.insert((*account).to_owned(), decision);
                }
                None => missing.push((*account).to_owned()),
            }
        }
        for chunk in missing.chunks(PROVIDER_BATCH) {
            let request =
                CheckEntitlementRequest { provider_user_ids: chunk.to_vec(), target: Some(provider_target(target)) };
            let answer = upstream.check(request).await.map_err(|s| {
                ProviderError::Unavailable(format!("the provider cannot check entitlements: {}", s.message()))
            })?;
            if answer.decisions.len() != chunk.len()
                || answer.decisions.iter().zip(chunk).any(|(d, asked)| &d.provider_user_id != asked)
            {
                return Err(ProviderError::Unavailable(
                    "the provider answered CheckEntitlement out of order or incompletely".into(),
                ));
            }
            let ttl = entitlement::cache_ttl(
                answer.cache_ttl.as_ref().and_then(hearth_platform::wkt::std_duration),
                self.cache_max,
            );
            if let Err(error) = self.state.cache(&key, &answer.decisions, ttl).await {
                tracing::warn!(%error, "entitlement answers not cached");
            }
            decisions.extend(answer.decisions.into_iter().map(|d| (d.provider_user_id.clone(), d)));
        }
        Ok(entitlement::answers(users, &links, &decisions))
    }
}
