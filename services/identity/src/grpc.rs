//! IdentityService's gRPC handlers: decode and validate the request, apply
//! the domain rules, call the store, shape the response.

use std::{sync::Arc, time::Duration};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use hearth_platform::{
    auth::{Claims, TokenKeys},
    config::{AuthConfig, IdentityConfig},
};
use hearth_proto::identity::{self as pb, get_profile_request::User, identity_service_server::IdentityService};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    domain::{self, Cursor},
    error::{IdentityError, Result},
    events::Events,
    state::Throttle,
    store::{self, Direction, EdgeRow, NewSession, ProfileChange, ProviderCreate, Store, UserRow},
};

/// Converts a database time into a protobuf Timestamp.
pub fn timestamp(at: OffsetDateTime) -> hearth_proto::wkt::Timestamp {
    hearth_proto::wkt::Timestamp { seconds: at.unix_timestamp(), nanos: at.nanosecond() as i32 }
}

fn duration(d: Duration) -> hearth_proto::wkt::Duration {
    hearth_proto::wkt::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

/// The identity service's handlers and what they need.
#[derive(Clone)]
pub struct IdentityApi {
    pub(crate) store: Store,
    pub(crate) throttle: Throttle,
    pub(crate) events: Events,
    pub(crate) keys: TokenKeys,
    pub(crate) auth: AuthConfig,
    pub(crate) limits: IdentityConfig,
    pub(crate) outbox_wake: Arc<tokio::sync::Notify>,
    /// The operator's IPTV platform, when one is configured.
    pub(crate) provider: Option<crate::provider::Provider>,
}

/// A fixed hash to verify against when a username is unknown, so that a
/// wrong username costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        Argon2::default().hash_password(b"hearth-timing-equaliser").map(|h| h.to_string()).unwrap_or_default()
    })
}

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| IdentityError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| IdentityError::Hashing(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| IdentityError::Hashing(e.to_string()))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| IdentityError::Hashing(e.to_string()))?
}

/// A new session's id, its refresh token and the token's stored hash.
fn new_session_secret() -> (Uuid, String, Vec<u8>) {
    let refresh = domain::new_refresh_token();
    let hash = domain::refresh_token_hash(&refresh);
    (Uuid::now_v7(), refresh, hash)
}

/// Most block-list entries ListBlockedIds returns.
const MAX_BLOCKED_IDS: i64 = 10_000;

fn profile(user: UserRow, counts: store::Counts) -> pb::Profile {
    pb::Profile {
        user_id: user.id.to_string(),
        username: user.username,
        display_name: user.display_name,
        avatar_url: user.avatar_url,
        bio: user.bio,
        locale: user.locale,
        created_at: Some(timestamp(user.created_at)),
        follower_count: counts.followers.max(0) as u64,
        following_count: counts.following.max(0) as u64,
    }
}

fn edges(rows: Vec<EdgeRow>, page_size: u32) -> (Vec<pb::FollowEdge>, String) {
    let next = if rows.len() as u32 == page_size {
        rows.last().map(|last| store::cursor_of(last).encode()).unwrap_or_default()
    } else {
        String::new()
    };
    let edges = rows
        .into_iter()
        .map(|edge| pb::FollowEdge {
            since: Some(timestamp(edge.since)),
            profile: Some(profile(edge.user, store::Counts::default())),
        })
        .collect();
    (edges, next)
}

impl IdentityApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<(Claims, Uuid)> {
        let claims = self.keys.authenticate(request.metadata())?;
        let user = Uuid::parse_str(&claims.sub).map_err(|_| IdentityError::SessionRevoked)?;
        Ok((claims, user))
    }

    /// A session to store, expiring with its refresh token.
    fn new_session<'a>(&self, id: Uuid, refresh_hash: &'a [u8]) -> NewSession<'a> {
        NewSession { id, expires_at: OffsetDateTime::now_utc() + self.auth.refresh_token_ttl, refresh_hash }
    }

    /// Opens a session: random refresh token stored hashed, signed access token.
    async fn open_session(
        &self,
        user_id: Uuid,
        roles: &[String],
        new_user: Option<NewUser<'_>>,
    ) -> Result<pb::TokenPair> {
        let (session_id, refresh, hash) = new_session_secret();
        let session = self.new_session(session_id, &hash);
        match new_user {
            Some(user) => {
                self.store
                    .create_user(user_id, user.username, user.display_name, user.locale, &user.password_hash, &session)
                    .await?
            }
            None => self.store.create_session(user_id, &session).await?,
        }
        self.token_pair(user_id, session_id, roles, refresh)
    }

    fn token_pair(&self, user_id: Uuid, session_id: Uuid, roles: &[String], refresh: String) -> Result<pb::TokenPair> {
        let access = self.keys.issue(&user_id.to_string(), &session_id.to_string(), roles)?;
        Ok(pb::TokenPair {
            access_token: access,
            refresh_token: refresh,
            expires_in: Some(duration(self.keys.access_ttl())),
            session_id: session_id.to_string(),
        })
    }

    /// Best effort: the follow is committed, so a failed notification must
    /// not turn the reply into an error.
    async fn notify_follow(&self, follower: Uuid, followee: Uuid) {
        let lookup = async {
            let user = self.store.user(follower).await?;
            let mutual = self.store.follows(followee, follower).await?;
            Ok::<_, IdentityError>(user.map(|u| (u, mutual)))
        };
        match lookup.await {
            Ok(Some((user, mutual))) => self.events.followed(&user, followee, mutual).await,
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "new-follower notification skipped"),
        }
    }

    async fn profile_of(&self, user: UserRow) -> Result<pb::Profile> {
        let counts = self.store.counts(user.id).await?;
        Ok(profile(user, counts))
    }

    async fn register(&self, request: pb::RegisterRequest) -> Result<pb::RegisterResponse> {
        let username = domain::username(&request.username)?;
        domain::new_password(&request.password)?;
        let display_name = if request.display_name.trim().is_empty() {
            username.clone()
        } else {
            domain::display_name(&request.display_name)?
        };
        let locale = domain::locale(&request.locale)?;
        let ip_budget = (!request.client_ip.is_empty())
            .then(|| self.throttle.register_ip(&request.client_ip, self.limits.registrations_per_ip_per_hour));
        if let Some(budget) = &ip_budget
            && let Some(wait) = self.throttle.blocked_for(&[budget]).await
        {
            return Err(IdentityError::Throttled(wait));
        }
        let password_hash = hash_password(request.password).await?;
        let user_id = Uuid::now_v7();
        let tokens = self
            .open_session(
                user_id,
                &[],
                Some(NewUser { username: &username, display_name: &display_name, locale: &locale, password_hash }),
            )
            .await?;
        if let Some(budget) = &ip_budget {
            self.throttle.spend(&[budget]).await;
        }
        tracing::info!(%user_id, "account registered");
        Ok(pb::RegisterResponse { user_id: user_id.to_string(), tokens: Some(tokens) })
    }

    async fn login(&self, request: pb::LoginRequest) -> Result<pb::LoginResponse> {
        // Anything that is not a possible username cannot log in; answer as
        // for a wrong password, without revealing which.
        domain::presented_password(&request.password)?;
        let username = domain::username(&request.username).map_err(|_| IdentityError::BadCredentials)?;
        let user_budget =
            self.throttle.login_user(&username, self.limits.login_attempts_per_user, self.limits.login_window);
        let ip_budget = (!request.client_ip.is_empty()).then(|| {
            self.throttle.login_ip(&request.client_ip, self.limits.login_attempts_per_ip, self.limits.login_window)
        });
        let budgets: Vec<&_> = std::iter::once(&user_budget).chain(ip_budget.as_ref()).collect();
        if let Some(wait) = self.throttle.blocked_for(&budgets).await {
            return Err(IdentityError::Throttled(wait));
        }
        let credentials = self.store.credentials(&username).await?;
        let hash = credentials.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| dummy_hash().to_owned());
        let valid = verify_password(request.password, hash).await?;
        let Some(credentials) = credentials.filter(|_| valid) else {
            self.throttle.spend(&budgets).await;
            return Err(IdentityError::BadCredentials);
        };
        self.throttle.reset(&user_budget).await;
        let tokens = self.open_session(credentials.id, &credentials.roles, None).await?;
        Ok(pb::LoginResponse { user_id: credentials.id.to_string(), tokens: Some(tokens) })
    }

    async fn exchange_provider_token(
        &self,
        request: pb::ExchangeProviderTokenRequest,
    ) -> Result<pb::ExchangeProviderTokenResponse> {
        let token = request.provider_token;
        if token.is_empty() || token.len() > 8192 {
            return Err(domain_field("provider_token", "must be 1–8192 characters"));
        }
        let provider = self
            .provider
            .as_ref()
            .ok_or(IdentityError::Precondition("no IPTV provider is configured ([provider] url)"))?;
        // Refused tokens count against the client's address like failed
        // logins, so nobody can use Hearth to probe the operator's tokens.
        let ip_budget = (!request.client_ip.is_empty()).then(|| {
            self.throttle.login_ip(&request.client_ip, self.limits.login_attempts_per_ip, self.limits.login_window)
        });
        if let Some(budget) = &ip_budget
            && let Some(wait) = self.throttle.blocked_for(&[budget]).await
        {
            return Err(IdentityError::Throttled(wait));
        }
        let user = match provider.verify(&token, &request.client_ip).await {
            Err(refused @ IdentityError::ProviderRefused(_)) => {
                if let Some(budget) = &ip_budget {
                    self.throttle.spend(&[budget]).await;
                }
                return Err(refused);
            }
            other => other?,
        };
        let answer = |user_id: Uuid, tokens, created| pb::ExchangeProviderTokenResponse {
            user_id: user_id.to_string(),
            tokens: Some(tokens),
            created,
            provider_user_id: user.id.clone(),
        };
        if let Some((user_id, roles)) = self.store.provider_account(&user.id).await? {
            let tokens = self.open_session(user_id, &roles, None).await?;
            return Ok(answer(user_id, tokens, false));
        }
        // First sign-in: an account with no usable password (the hash of a
        // random secret nobody holds) and a username from the provider's hint.
        let display_name = if user.display_name.is_empty() {
            domain::provider_username(&user.username_hint, "", 0)
        } else {
            user.display_name.clone()
        };
        let locale = domain::locale(&user.language).unwrap_or_default();
        let password_hash = hash_password(domain::new_refresh_token()).await?;
        for attempt in 0..8 {
            let username = domain::provider_username(&user.username_hint, &display_name, attempt);
            let user_id = Uuid::now_v7();
            let (session_id, refresh, hash) = new_session_secret();
            let session = self.new_session(session_id, &hash);
            let created = self
                .store
                .create_provider_user(user_id, &username, &display_name, &locale, &password_hash, &user.id, &session)
                .await?;
            match created {
                ProviderCreate::Created => {
                    tracing::info!(%user_id, "account created for a provider user");
                    return Ok(answer(user_id, self.token_pair(user_id, session_id, &[], refresh)?, true));
                }
                ProviderCreate::UsernameTaken => continue,
                ProviderCreate::Linked => {
                    // A concurrent sign-in of the same viewer won.
                    let (user_id, roles) = self
                        .store
                        .provider_account(&user.id)
                        .await?
                        .ok_or_else(|| IdentityError::ProviderUnavailable("the provider link vanished".into()))?;
                    let tokens = self.open_session(user_id, &roles, None).await?;
                    return Ok(answer(user_id, tokens, false));
                }
            }
        }
        Err(IdentityError::UsernameTaken)
    }

    /// Failed refreshes count against the client's address (as failed
    /// logins do), so nobody can hammer the session table guessing tokens.
    async fn refresh(&self, request: pb::RefreshRequest, client_ip: Option<String>) -> Result<pb::RefreshResponse> {
        if request.refresh_token.is_empty() {
            return Err(domain_field("refresh_token", "is required"));
        }
        let ip_budget = client_ip
            .map(|ip| self.throttle.refresh_ip(&ip, self.limits.refresh_attempts_per_ip, self.limits.login_window));
        if let Some(budget) = &ip_budget
            && let Some(wait) = self.throttle.blocked_for(&[budget]).await
        {
            return Err(IdentityError::Throttled(wait));
        }
        let outcome = self.rotate(request).await;
        if let (Err(IdentityError::BadRefreshToken | IdentityError::RefreshTokenReused), Some(budget)) =
            (&outcome, &ip_budget)
        {
            self.throttle.spend(&[budget]).await;
        }
        outcome
    }

    /// The client IP of a Refresh call: the one the gateway measured (with
    /// its credential beside it), else the caller's own address.
    fn refresh_client_ip<T>(&self, request: &Request<T>) -> Option<String> {
        let metadata = request.metadata();
        let via_gateway = metadata
            .get(hearth_platform::auth::SERVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| self.keys.verify(token).ok())
            .is_some_and(|claims| claims.service_name() == Some("gateway"));
        let forwarded = metadata
            .get(hearth_platform::auth::CLIENT_IP_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        match forwarded {
            Some(ip) if via_gateway => Some(ip.to_string()),
            _ => request.remote_addr().map(|addr| addr.ip().to_string()),
        }
    }

    async fn rotate(&self, request: pb::RefreshRequest) -> Result<pb::RefreshResponse> {
        let old_hash = domain::refresh_token_hash(&request.refresh_token);
        let (mut tx, row) = self.store.begin_refresh(&old_hash).await?;
        let Some(row) = row else {
            return Err(IdentityError::BadRefreshToken);
        };
        let now = OffsetDateTime::now_utc();
        if row.rotated_at.is_some() {
            // A rotated token came back: someone holds a copy. End the session.
            Store::revoke_session_in(&mut tx, row.session_id, "refresh_token_reuse").await?;
            tx.commit().await?;
            self.events.session_revoked(row.user_id, Some(row.session_id), "refresh_token_reuse").await;
            tracing::warn!(session_id = %row.session_id, user_id = %row.user_id, "refresh token reuse: session revoked");
            return Err(IdentityError::RefreshTokenReused);
        }
        if row.revoked_at.is_some() || row.session_expires_at <= now || row.token_expires_at <= now {
            return Err(IdentityError::BadRefreshToken);
        }
        let refresh = domain::new_refresh_token();
        let new_hash = domain::refresh_token_hash(&refresh);
        Store::rotate(&mut tx, &old_hash, row.session_id, &new_hash, row.session_expires_at).await?;
        tx.commit().await?;
        let tokens = self.token_pair(row.user_id, row.session_id, &row.roles, refresh)?;
        Ok(pb::RefreshResponse { user_id: row.user_id.to_string(), tokens: Some(tokens) })
    }

    async fn list_edges(
        &self,
        user_id: &str,
        direction: Direction,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<pb::FollowEdge>, String)> {
        let user = domain::user_id("user_id", user_id)?;
        let size = domain::page_size(page_size)?;
        let after = Cursor::decode(page_token)?;
        if self.store.user(user).await?.is_none() {
            return Err(IdentityError::UserNotFound);
        }
        let rows = self.store.follow_page(user, direction, after, size).await?;
        Ok(edges(rows, size))
    }
}

struct NewUser<'a> {
    username: &'a str,
    display_name: &'a str,
    locale: &'a str,
    password_hash: String,
}

fn domain_field(field: &'static str, reason: &str) -> IdentityError {
    IdentityError::InvalidField(domain::FieldError { field, reason: reason.to_owned() })
}

/// BatchGetProviderLinks: exactly one list, 1–1000 distinct ids; links
/// in request order.
async fn provider_links(
    store: &store::Store,
    request: pb::BatchGetProviderLinksRequest,
) -> Result<pb::BatchGetProviderLinksResponse> {
    let (users, accounts) = (&request.user_ids, &request.provider_user_ids);
    let by_user = !users.is_empty();
    if by_user != accounts.is_empty() {
        return Err(domain_field("user_ids", "give exactly one of user_ids and provider_user_ids"));
    }
    let (field, given) = if by_user { ("user_ids", users) } else { ("provider_user_ids", accounts) };
    if given.len() > 1000 || given.iter().collect::<std::collections::HashSet<_>>().len() != given.len() {
        return Err(domain_field(field, "must hold 1–1000 distinct ids"));
    }
    let ids = if by_user {
        users.iter().map(|id| domain::user_id("user_ids", id)).collect::<std::result::Result<Vec<_>, _>>()?
    } else {
        if accounts.iter().any(|a| a.is_empty() || a.chars().count() > 256 || a.chars().any(char::is_control)) {
            return Err(domain_field("provider_user_ids", "ids are 1–256 characters without control characters"));
        }
        Vec::new()
    };
    let found = store.provider_links(&ids, if by_user { &[] } else { accounts }).await?;
    let mut links: std::collections::HashMap<String, pb::ProviderLink> = found
        .into_iter()
        .map(|(user, account)| {
            let key = if by_user { user.to_string() } else { account.clone() };
            (key, pb::ProviderLink { user_id: user.to_string(), provider_user_id: account })
        })
        .collect();
    let order: Vec<String> = if by_user { ids.iter().map(Uuid::to_string).collect() } else { accounts.clone() };
    Ok(pb::BatchGetProviderLinksResponse { links: order.iter().filter_map(|id| links.remove(id)).collect() })
}

fn reply<T>(result: Result<T>) -> std::result::Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> std::result::Result<Response<pb::RegisterResponse>, Status> {
        reply(IdentityApi::register(self, request.into_inner()).await)
    }

    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> std::result::Result<Response<pb::LoginResponse>, Status> {
        reply(IdentityApi::login(self, request.into_inner()).await)
    }

    async fn exchange_provider_token(
        &self,
        request: Request<pb::ExchangeProviderTokenRequest>,
    ) -> std::result::Result<Response<pb::ExchangeProviderTokenResponse>, Status> {
        reply(IdentityApi::exchange_provider_token(self, request.into_inner()).await)
    }

    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> std::result::Result<Response<pb::RefreshResponse>, Status> {
        let client_ip = self.refresh_client_ip(&request);
        reply(IdentityApi::refresh(self, request.into_inner(), client_ip).await)
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> std::result::Result<Response<pb::LogoutResponse>, Status> {
        reply(
            async {
                let (claims, user) = self.caller(&request)?;
                let session = Uuid::parse_str(&claims.sid).map_err(|_| IdentityError::SessionRevoked)?;
                self.store.revoke_session(user, session, "logout").await?;
                self.events.session_revoked(user, Some(session), "logout").await;
                Ok(pb::LogoutResponse {})
            }
            .await,
        )
    }

    async fn get_profile(
        &self,
        request: Request<pb::GetProfileRequest>,
    ) -> std::result::Result<Response<pb::GetProfileResponse>, Status> {
        reply(
            async {
                let user = match request.into_inner().user {
                    Some(User::UserId(id)) => self.store.user(domain::user_id("user_id", &id)?).await?,
                    Some(User::Username(name)) => match domain::username(&name) {
                        Ok(name) => self.store.user_by_username(&name).await?,
                        Err(_) => None,
                    },
                    None => return Err(domain_field("user", "set user_id or username")),
                };
                let user = user.ok_or(IdentityError::UserNotFound)?;
                Ok(pb::GetProfileResponse { profile: Some(self.profile_of(user).await?) })
            }
            .await,
        )
    }

    async fn get_profiles(
        &self,
        request: Request<pb::GetProfilesRequest>,
    ) -> std::result::Result<Response<pb::GetProfilesResponse>, Status> {
        reply(
            async {
                let request = request.into_inner();
                if request.user_ids.is_empty() || request.user_ids.len() > 100 {
                    return Err(domain_field("user_ids", "must hold 1–100 ids"));
                }
                let ids = request
                    .user_ids
                    .iter()
                    .map(|id| domain::user_id("user_ids", id))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let rows = self.store.users(&ids).await?;
                Ok(pb::GetProfilesResponse {
                    profiles: rows.into_iter().map(|u| profile(u, store::Counts::default())).collect(),
                })
            }
            .await,
        )
    }

    async fn batch_check_blocks(
        &self,
        request: Request<pb::BatchCheckBlocksRequest>,
    ) -> std::result::Result<Response<pb::BatchCheckBlocksResponse>, Status> {
        reply(
            async {
                let claims = self.keys.authenticate(request.metadata())?;
                if !claims.is_service() {
                    return Err(IdentityError::ServicesOnly("BatchCheckBlocks"));
                }
                let request = request.into_inner();
                let user = domain::user_id("user_id", &request.user_id)?;
                if request.other_user_ids.is_empty() || request.other_user_ids.len() > 1000 {
                    return Err(domain_field("other_user_ids", "must hold 1–1000 ids"));
                }
                let others = request
                    .other_user_ids
                    .iter()
                    .map(|id| domain::user_id("other_user_ids", id))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let blocked = self.store.blocks_with(user, &others).await?;
                Ok(pb::BatchCheckBlocksResponse {
                    blocked_user_ids: others.iter().filter(|o| blocked.contains(o)).map(Uuid::to_string).collect(),
                })
            }
            .await,
        )
    }

    async fn batch_get_provider_links(
        &self,
        request: Request<pb::BatchGetProviderLinksRequest>,
    ) -> std::result::Result<Response<pb::BatchGetProviderLinksResponse>, Status> {
        reply(
            async {
                let claims = self.keys.authenticate(request.metadata())?;
                if !claims.is_service() {
                    return Err(IdentityError::ServicesOnly("BatchGetProviderLinks"));
                }
                let request = request.into_inner();
                provider_links(&self.store, request).await
            }
            .await,
        )
    }

    async fn update_profile(
        &self,
        request: Request<pb::UpdateProfileRequest>,
    ) -> std::result::Result<Response<pb::UpdateProfileResponse>, Status> {
        reply(
            async {
                let (_, user) = self.caller(&request)?;
                let request = request.into_inner();
                let change = ProfileChange {
                    display_name: request.display_name.as_deref().map(domain::display_name).transpose()?,
                    avatar_url: request.avatar_url.as_deref().map(domain::avatar_url).transpose()?,
                    bio: request.bio.as_deref().map(domain::bio).transpose()?,
                    locale: request.locale.as_deref().map(domain::locale).transpose()?,
                };
                let row = self.store.update_profile(user, &change).await?.ok_or(IdentityError::UserNotFound)?;
                Ok(pb::UpdateProfileResponse { profile: Some(self.profile_of(row).await?) })
            }
            .await,
        )
    }

    async fn follow(
        &self,
        request: Request<pb::FollowRequest>,
    ) -> std::result::Result<Response<pb::FollowResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let target = domain::user_id("user_id", &request.get_ref().user_id)?;
                if target == me {
                    return Err(domain_field("user_id", "cannot follow yourself"));
                }
                if self.store.blocked_either_way(me, target).await? {
                    return Err(IdentityError::Precondition("cannot follow: one of you has blocked the other"));
                }
                if self.store.follow(me, target).await? {
                    self.notify_follow(me, target).await;
                }
                Ok(pb::FollowResponse {})
            }
            .await,
        )
    }

    async fn unfollow(
        &self,
        request: Request<pb::UnfollowRequest>,
    ) -> std::result::Result<Response<pb::UnfollowResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let target = domain::user_id("user_id", &request.get_ref().user_id)?;
                self.store.unfollow(me, target).await?;
                Ok(pb::UnfollowResponse {})
            }
            .await,
        )
    }

    async fn list_followers(
        &self,
        request: Request<pb::ListFollowersRequest>,
    ) -> std::result::Result<Response<pb::ListFollowersResponse>, Status> {
        reply(
            async {
                let r = request.into_inner();
                let (followers, next_page_token) =
                    self.list_edges(&r.user_id, Direction::Followers, r.page_size, &r.page_token).await?;
                Ok(pb::ListFollowersResponse { followers, next_page_token })
            }
            .await,
        )
    }

    async fn list_following(
        &self,
        request: Request<pb::ListFollowingRequest>,
    ) -> std::result::Result<Response<pb::ListFollowingResponse>, Status> {
        reply(
            async {
                let r = request.into_inner();
                let (following, next_page_token) =
                    self.list_edges(&r.user_id, Direction::Following, r.page_size, &r.page_token).await?;
                Ok(pb::ListFollowingResponse { following, next_page_token })
            }
            .await,
        )
    }

    async fn block(
        &self,
        request: Request<pb::BlockRequest>,
    ) -> std::result::Result<Response<pb::BlockResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let target = domain::user_id("user_id", &request.get_ref().user_id)?;
                if target == me {
                    return Err(domain_field("user_id", "cannot block yourself"));
                }
                self.store.block(me, target).await?;
                self.events.blocks_changed(me, target, true).await;
                Ok(pb::BlockResponse {})
            }
            .await,
        )
    }

    async fn unblock(
        &self,
        request: Request<pb::UnblockRequest>,
    ) -> std::result::Result<Response<pb::UnblockResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let target = domain::user_id("user_id", &request.get_ref().user_id)?;
                self.store.unblock(me, target).await?;
                self.events.blocks_changed(me, target, false).await;
                Ok(pb::UnblockResponse {})
            }
            .await,
        )
    }

    async fn list_blocks(
        &self,
        request: Request<pb::ListBlocksRequest>,
    ) -> std::result::Result<Response<pb::ListBlocksResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let r = request.into_inner();
                let size = domain::page_size(r.page_size)?;
                let after = Cursor::decode(&r.page_token)?;
                let (blocked, next_page_token) = edges(self.store.block_page(me, after, size).await?, size);
                Ok(pb::ListBlocksResponse { blocked, next_page_token })
            }
            .await,
        )
    }

    async fn list_blocked_ids(
        &self,
        request: Request<pb::ListBlockedIdsRequest>,
    ) -> std::result::Result<Response<pb::ListBlockedIdsResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let ids = self.store.blocked_ids(me, MAX_BLOCKED_IDS).await?;
                Ok(pb::ListBlockedIdsResponse { user_ids: ids.iter().map(Uuid::to_string).collect() })
            }
            .await,
        )
    }

    async fn lookup_usernames(
        &self,
        request: Request<pb::LookupUsernamesRequest>,
    ) -> std::result::Result<Response<pb::LookupUsernamesResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let names = &request.get_ref().usernames;
                if names.is_empty() || names.len() > 20 {
                    return Err(domain_field("usernames", "must hold 1–20 usernames"));
                }
                let names = names.iter().map(|n| domain::username(n)).collect::<std::result::Result<Vec<_>, _>>()?;
                let rows = self.store.users_by_username(&names, me).await?;
                Ok(pb::LookupUsernamesResponse {
                    users: rows
                        .into_iter()
                        .map(|u| hearth_proto::hearth::common::v1::UserRef {
                            user_id: u.id.to_string(),
                            username: u.username,
                            display_name: u.display_name,
                            avatar_url: u.avatar_url,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> std::result::Result<Response<pb::DeleteAccountResponse>, Status> {
        reply(
            async {
                let (_, me) = self.caller(&request)?;
                let password = request.into_inner().password;
                domain::presented_password(&password)?;
                let credentials = self.store.credentials_by_id(me).await?.ok_or(IdentityError::UserNotFound)?;
                if !verify_password(password, credentials.password_hash).await? {
                    return Err(IdentityError::BadCredentials);
                }
                let event = self.events.user_deleted(me, OffsetDateTime::now_utc());
                if !self.store.delete_user(me, &event).await? {
                    return Err(IdentityError::UserNotFound);
                }
                self.outbox_wake.notify_one();
                self.events.session_revoked(me, None, "account_deleted").await;
                tracing::info!(user_id = %me, "account deleted");
                Ok(pb::DeleteAccountResponse {})
            }
            .await,
        )
    }
}
