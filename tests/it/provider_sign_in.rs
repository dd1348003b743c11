//! Signing in with the operator's token (IdentityService.ExchangeProviderToken)
//! against the reference IPTV provider (`hearth provider-m3u`) over real
//! gRPC: the first sign-in creates and links an account, later ones reuse
//! it, the tokens open a WebSocket session, and refusals keep their meaning.

use std::time::Duration;

use hearth::Role;
use hearth_platform::secret::SecretString;
use hearth_proto::identity::ExchangeProviderTokenRequest;
use hearth_provider_m3u::Running;
use hearth_tests::TestApp;
use tokio_util::sync::CancellationToken;

/// A one-channel reference provider with three viewers.
async fn provider(shutdown: &CancellationToken) -> Running {
    hearth_tests::reference_provider(
        "#EXTM3U\n#EXTINF:-1 group-title=\"News\",Hearth News\nhttp://example.test/news.m3u8\n",
        r#"{"users": [
            {"token": "tok-ann", "id": "op-ann-1", "name": "Ann Smith", "packages": ["News"]},
            {"token": "tok-ann2", "id": "op-ann-2", "name": "Ann Smith"},
            {"token": "tok-eve", "id": "op-eve", "name": "Eve", "suspended": true}
        ]}"#,
        shutdown,
    )
    .await
}

fn exchange(token: &str) -> ExchangeProviderTokenRequest {
    ExchangeProviderTokenRequest { provider_token: token.into(), client_ip: "192.0.2.7".into() }
}

#[tokio::test]
async fn provider_tokens_sign_viewers_in_without_a_second_password() {
    let shutdown = CancellationToken::new();
    let adapter = provider(&shutdown).await;
    let url = format!("http://{}", adapter.addr);
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.url = Some(url);
        config.provider.api_key = Some(SecretString::new("provider-key"));
    })
    .await;
    let mut identity = app.identity().await;

    let first = identity.exchange_provider_token(exchange("tok-ann")).await.expect("first sign-in").into_inner();
    assert!(first.created, "{first:?}");
    assert_eq!(first.provider_user_id, "op-ann-1");
    let again = identity.exchange_provider_token(exchange("tok-ann")).await.expect("second sign-in").into_inner();
    assert!(!again.created);
    assert_eq!(again.user_id, first.user_id, "one Hearth account per provider user");
    assert_ne!(again.tokens.as_ref().map(|t| &t.session_id), first.tokens.as_ref().map(|t| &t.session_id));

    // The account has the provider's name and a username from it; a second
    // provider user with the same name gets another username.
    let profile = |user_id: &str| hearth_proto::identity::GetProfileRequest {
        user: Some(hearth_proto::identity::get_profile_request::User::UserId(user_id.to_owned())),
    };
    let ann = identity.get_profile(profile(&first.user_id)).await.expect("profile").into_inner().profile.expect("p");
    assert_eq!((ann.username.as_str(), ann.display_name.as_str()), ("ann_smith", "Ann Smith"));
    let other = identity.exchange_provider_token(exchange("tok-ann2")).await.expect("other ann").into_inner();
    assert!(other.created);
    let other = identity.get_profile(profile(&other.user_id)).await.expect("profile").into_inner().profile.expect("p");
    assert_eq!(other.username, "ann_smith_2");

    // The tokens open a WebSocket session like a password login's.
    let access = first.tokens.expect("tokens").access_token;
    let mut ws = app.ws().await;
    let connected = ws.auth(&access).await;
    assert_eq!(connected["connected"]["userId"], first.user_id.as_str(), "{connected}");

    // The same over the gateway's HTTP API.
    let (status, body) = app.post("/v1/auth/provider", serde_json::json!({"provider_token": "tok-ann"}), None).await;
    assert_eq!((status, body["user_id"].as_str()), (200, Some(first.user_id.as_str())), "{body}");
    let (status, body) = app.post("/v1/auth/provider", serde_json::json!({"provider_token": "nope"}), None).await;
    assert_eq!(status, 401, "{body}");

    // Refusals keep their meaning.
    let refused = identity.exchange_provider_token(exchange("not-a-token")).await.expect_err("unknown token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let suspended = identity.exchange_provider_token(exchange("tok-eve")).await.expect_err("suspended");
    assert_eq!(suspended.code(), tonic::Code::PermissionDenied);
    let empty = identity.exchange_provider_token(exchange("")).await.expect_err("empty");
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);

    // Refused tokens are throttled per address like failed logins.
    let mut codes = Vec::new();
    for _ in 0..app.config.identity.login_attempts_per_ip + 1 {
        let probe = ExchangeProviderTokenRequest { provider_token: "guess".into(), client_ip: "198.51.100.9".into() };
        codes.push(identity.exchange_provider_token(probe).await.expect_err("refused").code());
    }
    assert_eq!(codes.last(), Some(&tonic::Code::ResourceExhausted), "{codes:?}");
    assert!(codes[..codes.len() - 1].iter().all(|c| *c == tonic::Code::Unauthenticated), "{codes:?}");
    shutdown.cancel();
}

#[tokio::test]
async fn without_a_provider_the_exchange_is_a_precondition_failure_and_a_dead_one_unavailable() {
    let app = TestApp::spawn().await;
    let mut identity = app.identity().await;
    let refused = identity.exchange_provider_token(exchange("tok-ann")).await.expect_err("no provider");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{refused:?}");

    // A provider that is configured but not listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let app = TestApp::spawn_with(Role::ALL, |config| {
        config.provider.url = Some(format!("http://127.0.0.1:{port}"));
        config.provider.request_timeout = Duration::from_secs(2);
    })
    .await;
    let mut identity = app.identity().await;
    let down = identity.exchange_provider_token(exchange("tok-ann")).await.expect_err("provider down");
    assert_eq!(down.code(), tonic::Code::Unavailable, "{down:?}");
}
