//! Which provider account a Hearth user is, asked of identity (which owns
//! the links made by ExchangeProviderToken) with this replica's service
//! credential. Viewing events name provider users by the thousand per
//! second, so answers are remembered for a while, misses briefly.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use hearth_platform::{auth::ServiceCredential, grpc::TracedChannel};
use hearth_proto::identity::{BatchGetProviderLinksRequest, identity_service_client::IdentityServiceClient};
use tonic::Request;

use crate::error::{ProviderError, Result};

/// Links remembered at most; the memory starts over beyond.
const REMEMBERED_MAX: usize = 200_000;
/// A known link is remembered this long (links change only when an
/// account is deleted).
const KNOWN_TTL: Duration = Duration::from_secs(600);
/// An absent link is remembered this long (the viewer may sign in to
/// Hearth any moment).
const ABSENT_TTL: Duration = Duration::from_secs(30);
/// Ids per identity call.
const BATCH: usize = 1000;

/// Provider account → (Hearth user if linked, when learnt).
type Remembered = HashMap<String, (Option<String>, Instant)>;

#[derive(Clone)]
pub struct Links {
    identity: IdentityServiceClient<TracedChannel>,
    credential: ServiceCredential,
    by_account: Arc<Mutex<Remembered>>,
}

impl Links {
    pub fn new(identity: IdentityServiceClient<TracedChannel>, credential: ServiceCredential) -> Self {
        Self { identity, credential, by_account: Default::default() }
    }

    async fn ask(&self, request: BatchGetProviderLinksRequest) -> Result<Vec<(String, String)>> {
        let mut call = Request::new(request);
        let bearer = self.credential.bearer()?;
        let value =
            bearer.parse().map_err(|_| ProviderError::Unavailable("service credential is not a header".into()))?;
        call.metadata_mut().insert("authorization", value);
        let links = self
            .identity
            .clone()
            .batch_get_provider_links(call)
            .await
            .map_err(|s| ProviderError::Unavailable(format!("identity cannot say who is linked: {}", s.message())))?
            .into_inner()
            .links;
        Ok(links.into_iter().map(|l| (l.user_id, l.provider_user_id)).collect())
    }

    /// Hearth user → provider account, for the users that have one.
    pub async fn accounts_of(&self, users: &[String]) -> Result<HashMap<String, String>> {
        let mut found = HashMap::new();
        for chunk in users.chunks(BATCH) {
            let request = BatchGetProviderLinksRequest { user_ids: chunk.to_vec(), provider_user_ids: Vec::new() };
            found.extend(self.ask(request).await?);
        }
        Ok(found)
    }

    /// Provider account → Hearth user, for the accounts that have one.
    pub async fn users_of(&self, accounts: &[&str]) -> Result<HashMap<String, String>> {
        let now = Instant::now();
        let mut found = HashMap::new();
        let mut unknown: Vec<String> = Vec::new();
        {
            let remembered = self.by_account.lock().unwrap_or_else(PoisonError::into_inner);
            for account in accounts {
                match remembered.get(*account) {
                    Some((user, at))
                        if now.duration_since(*at) < if user.is_some() { KNOWN_TTL } else { ABSENT_TTL } =>
                    {
                        if let Some(user) = user {
                            found.insert((*account).to_owned(), user.clone());
                        }
                    }
                    _ => unknown.push((*account).to_owned()),
                }
            }
        }
        unknown.sort();
        unknown.dedup();
        for chunk in unknown.chunks(BATCH) {
            let request = BatchGetProviderLinksRequest { user_ids: Vec::new(), provider_user_ids: chunk.to_vec() };
            let links: HashMap<String, String> = self.ask(request).await?.into_iter().map(|(u, a)| (a, u)).collect();
            let mut remembered = self.by_account.lock().unwrap_or_else(PoisonError::into_inner);
            if remembered.len() + chunk.len() > REMEMBERED_MAX {
                remembered.clear();
            }
            for account in chunk {
                let user = links.get(account).cloned();
                if let Some(user) = &user {
                    found.insert(account.clone(), user.clone());
                }
                remembered.insert(account.clone(), (user, now));
            }
        }
        Ok(found)
    }
}
