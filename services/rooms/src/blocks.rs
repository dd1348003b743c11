//! Blocks between users, asked of identity (`BatchCheckBlocks`), so a
//! direct invite never reaches someone who blocked the inviter, or whom
//! the inviter blocked.
//!
//! Blocks protect people, so an identity that cannot answer refuses the
//! act (UNAVAILABLE) rather than letting it through; only a deployment
//! without identity (no blocks can exist) skips the check.

use std::collections::HashSet;

use hearth_platform::{auth::ServiceCredential, grpc::TracedChannel};
use hearth_proto::identity::{BatchCheckBlocksRequest, identity_service_client::IdentityServiceClient};
use tonic::{Request, metadata::MetadataValue};
use uuid::Uuid;

use crate::error::{Result, RoomsError};

/// Users per call (identity's limit).
const BATCH: usize = 1000;

#[derive(Clone)]
pub struct Blocks {
    client: Option<IdentityServiceClient<TracedChannel>>,
    credential: ServiceCredential,
}

impl Blocks {
    pub fn new(client: Option<IdentityServiceClient<TracedChannel>>, credential: ServiceCredential) -> Self {
        Self { client, credential }
    }

    /// Which of `others` have a block with `user`, either way.
    pub async fn between(&self, user: Uuid, others: &[Uuid]) -> Result<HashSet<Uuid>> {
        let mut found = HashSet::new();
        let Some(client) = &self.client else {
            return Ok(found);
        };
        for chunk in others.chunks(BATCH) {
            let bearer = self.credential.bearer()?;
            let value = MetadataValue::try_from(bearer).map_err(|_| RoomsError::Internal("service token".into()))?;
            let mut request = Request::new(BatchCheckBlocksRequest {
                user_id: user.to_string(),
                other_user_ids: chunk.iter().map(Uuid::to_string).collect(),
            });
            request.metadata_mut().insert("authorization", value);
            let answer = client.clone().batch_check_blocks(request).await.map_err(|status| {
                tracing::warn!(code = ?status.code(), message = status.message(), "block check failed");
                RoomsError::Unavailable("identity_unavailable", "blocks cannot be checked right now; retry".into())
            })?;
            found.extend(answer.into_inner().blocked_user_ids.iter().filter_map(|id| Uuid::parse_str(id).ok()));
        }
        Ok(found)
    }
}
