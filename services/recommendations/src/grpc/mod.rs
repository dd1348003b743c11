//! The recommendations role's gRPC handlers: `lists` serves the four
//! recommendation lists, `shares` sharing and the feed, `privacy` the
//! sharing settings and hidden sessions; `display` turns items into what
//! apps show. `service` implements the generated trait by forwarding.

mod display;
mod lists;
mod privacy;
mod service;
mod shares;

use hearth_platform::{auth::TokenKeys, config::RecommendationsConfig, validate};
use hearth_proto::hearth::common::v1::PageRequest;
use tonic::Request;
use uuid::Uuid;

use crate::{
    error::{RecsError, Result},
    events::Events,
    peers::{Caller, Peers},
    state::State,
    store::Store,
};

/// Default page size of every list (recommendations.proto).
const PAGE_DEFAULT: u32 = 20;

/// The handlers and what they need; cheap to clone.
#[derive(Clone)]
pub struct RecsApi {
    pub store: Store,
    pub state: State,
    pub events: Events,
    pub peers: Peers,
    pub tokens: TokenKeys,
    pub config: RecommendationsConfig,
}

impl RecsApi {
    /// The signed-in user behind a request, with credentials to forward.
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        let claims = self.tokens.authenticate(request.metadata())?;
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| RecsError::Denied("not_a_user", "recommendations are for signed-in users".into()))?;
        let authorization =
            request.metadata().get("authorization").cloned().ok_or(hearth_platform::auth::AuthError::Missing)?;
        Ok(Caller { id, authorization })
    }
}

/// A page of a list: offset and size (default 20, at most 100).
fn page(request: Option<&PageRequest>, filters: &[&str]) -> Result<validate::Page> {
    let defaulted = request.map(|p| PageRequest {
        page_size: if p.page_size == 0 { PAGE_DEFAULT } else { p.page_size },
        page_token: p.page_token.clone(),
    });
    let defaulted = defaulted.unwrap_or(PageRequest { page_size: PAGE_DEFAULT, page_token: String::new() });
    Ok(validate::Page::parse(Some(&defaulted), filters)?)
}

/// An opaque id for a recommendation, for attributing later viewing.
fn recommendation_id(list: &str, item: &str) -> String {
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{list}:{item}").as_bytes());
    format!("{list}-{}", id.simple())
}
