//! The operator's IPTV platform as identity uses it: who a provider session
//! token belongs to (IptvProvider.VerifyUserToken, proto/hearth/provider).

use hearth_platform::{
    config::{ProviderConfig, ServicesConfig},
    grpc::{GrpcError, TracedChannel},
};
use hearth_proto::hearth::provider::v1::{self as provider, iptv_provider_client::IptvProviderClient};
use tonic::Code;

use crate::error::{IdentityError, Result};

/// A verified provider user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUser {
    pub id: String,
    pub display_name: String,
    pub username_hint: String,
    pub language: String,
}

/// Calls the configured IptvProvider; cheap to clone.
#[derive(Clone)]
pub struct Provider {
    client: IptvProviderClient<TracedChannel>,
    api_key: Option<String>,
}

impl Provider {
    /// The provider of `config`, None when none is configured.
    pub fn from_config(config: &ProviderConfig, services: &ServicesConfig) -> Result<Option<Self>, GrpcError> {
        let Some(url) = config.url.as_deref().filter(|u| !u.is_empty()) else { return Ok(None) };
        let channel = hearth_platform::grpc::channel(url, services.connect_timeout, config.request_timeout)?;
        Ok(Some(Self {
            client: IptvProviderClient::new(channel),
            api_key: config.api_key.as_ref().map(|k| k.expose().to_owned()),
        }))
    }

    /// Who the token belongs to. The provider's refusals keep their meaning
    /// (UNAUTHENTICATED / PERMISSION_DENIED); anything else is UNAVAILABLE.
    pub async fn verify(&self, token: &str, client_ip: &str) -> Result<ProviderUser> {
        let mut request = tonic::Request::new(provider::VerifyUserTokenRequest {
            token: token.to_owned(),
            client_ip: client_ip.to_owned(),
        });
        if let Some(key) = &self.api_key {
            let value = format!("Bearer {key}")
                .parse()
                .map_err(|_| IdentityError::ProviderUnavailable("the provider API key is not a valid header".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        let answer = match self.client.clone().verify_user_token(request).await {
            Ok(answer) => answer.into_inner(),
            Err(status) => {
                return Err(match status.code() {
                    Code::Unauthenticated | Code::InvalidArgument => {
                        IdentityError::ProviderRefused(status.message().to_owned())
                    }
                    Code::PermissionDenied => IdentityError::ProviderSuspended(status.message().to_owned()),
                    code => IdentityError::ProviderUnavailable(format!("{code:?}: {}", status.message())),
                });
            }
        };
        user(answer)
    }
}

/// Checks the provider's answer against the contract.
fn user(answer: provider::VerifyUserTokenResponse) -> Result<ProviderUser> {
    let bad = |why: &str| IdentityError::ProviderUnavailable(format!("the provider answered {why}"));
    let user = answer.user.ok_or_else(|| bad("without a user"))?;
    let id = user.provider_user_id;
    if id.is_empty() || id.chars().count() > 256 || id.chars().any(char::is_control) {
        return Err(bad("an invalid provider_user_id"));
    }
    let display_name: String =
        user.display_name.chars().filter(|c| !c.is_control()).take(64).collect::<String>().trim().to_owned();
    Ok(ProviderUser {
        id,
        display_name,
        username_hint: user.username_hint.chars().take(64).collect(),
        language: user.language.chars().take(35).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(id: &str, name: &str) -> provider::VerifyUserTokenResponse {
        provider::VerifyUserTokenResponse {
            user: Some(provider::ProviderUser {
                provider_user_id: id.into(),
                display_name: name.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn answers_outside_the_contract_are_refused() {
        assert_eq!(user(answer("u-1", "  Ann\u{7} ")).expect("valid").display_name, "Ann");
        assert!(user(answer("", "Ann")).is_err());
        assert!(user(answer("a\nb", "Ann")).is_err());
        assert!(user(answer(&"x".repeat(257), "Ann")).is_err());
        assert!(user(provider::VerifyUserTokenResponse::default()).is_err());
    }
}
