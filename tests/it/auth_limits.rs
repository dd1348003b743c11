//! Every rate-limited auth endpoint over HTTP, as a client meets it:
//! registrations, failed logins and refused provider tokens per client IP,
//! failed refreshes per client IP (failed logins per username are in
//! auth_http.rs). A spent budget answers 429 `rate_limited` with a retry
//! delay, even to a request that would otherwise succeed, and only for the
//! address that spent it.

use hearth::Role;
use hearth_platform::secret::SecretString;
use hearth_provider_m3u::Running;
use hearth_tests::{PASSWORD, TestApp, username};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// POSTs as a client at `ip` (the gateway trusts `x-forwarded-for` here).
async fn post_from(app: &TestApp, ip: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}{path}", app.http_url))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_limited(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 429, "{what}: {body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{what}: {body}");
    assert!(body["error"]["retry_after_ms"].as_u64().unwrap_or(0) > 0, "{what} says when to retry: {body}");
}

async fn app_behind_proxy(tweak: impl FnOnce(&mut hearth_platform::Config)) -> TestApp {
    TestApp::spawn_with(Role::ALL, |c| {
        c.gateway.client_ip_header = Some("x-forwarded-for".into());
        tweak(c);
    })
    .await
}

#[tokio::test]
async fn registrations_are_limited_per_ip() {
    let app = app_behind_proxy(|c| c.identity.registrations_per_ip_per_hour = 2).await;
    let register = |ip: &'static str| {
        let app = &app;
        async move {
            post_from(app, ip, "/v1/auth/register", json!({"username": username("reg"), "password": PASSWORD})).await
        }
    };
    for _ in 0..2 {
        let (status, body) = register("198.51.100.1").await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = register("198.51.100.1").await;
    assert_limited(status, &body, "the third registration from one IP");
    let (status, body) = register("198.51.100.2").await;
    assert_eq!(status, 201, "another IP has its own budget: {body}");
}

#[tokio::test]
async fn failed_logins_are_limited_per_ip_across_usernames() {
    let app = app_behind_proxy(|c| c.identity.login_attempts_per_ip = 3).await;
    let victim = username("ipvictim");
    app.register(&victim).await;
    // A password spray: one guess each for many usernames.
    for _ in 0..3 {
        let body = json!({"username": username("spray"), "password": "wrong password"});
        let (status, reply) = post_from(&app, "198.51.100.3", "/v1/auth/login", body).await;
        assert_eq!(status, 401, "{reply}");
    }
    let right = json!({"username": victim, "password": PASSWORD});
    let (status, body) = post_from(&app, "198.51.100.3", "/v1/auth/login", right.clone()).await;
    assert_limited(status, &body, "a login from the spraying IP");
    let (status, body) = post_from(&app, "198.51.100.4", "/v1/auth/login", right).await;
    assert_eq!(status, 200, "the same account from another IP: {body}");
}

#[tokio::test]
async fn failed_refreshes_are_limited_per_ip() {
    let app = app_behind_proxy(|c| c.identity.refresh_attempts_per_ip = 3).await;
    let user = app.register(&username("refr")).await;
    for i in 0..3 {
        let guess = json!({"refresh_token": format!("guessed-token-{i}")});
        let (status, body) = post_from(&app, "198.51.100.5", "/v1/auth/refresh", guess).await;
        assert_eq!(status, 401, "{body}");
    }
    let genuine = json!({"refresh_token": user.refresh_token});
    let (status, body) = post_from(&app, "198.51.100.5", "/v1/auth/refresh", genuine.clone()).await;
    assert_limited(status, &body, "a refresh from the guessing IP");
    // Refused before the token was looked at: it still works elsewhere, once.
    let (status, body) = post_from(&app, "198.51.100.6", "/v1/auth/refresh", genuine).await;
    assert_eq!(status, 200, "the genuine token from another IP: {body}");
    // Successful refreshes spend nothing.
    let mut token = body["refresh_token"].as_str().unwrap_or_default().to_owned();
    for _ in 0..4 {
        let (status, body) = post_from(&app, "198.51.100.6", "/v1/auth/refresh", json!({"refresh_token": token})).await;
        assert_eq!(status, 200, "{body}");
        token = body["refresh_token"].as_str().unwrap_or_default().to_owned();
    }
}

/// Refreshes straight over gRPC (no gateway) count against the caller's
/// own address, and a forged `hearth-client-ip` without the gateway's
/// credential beside it is ignored.
#[tokio::test]
async fn direct_grpc_refreshes_count_against_the_peer_address() {
    let app = TestApp::spawn_with(Role::ALL, |c| c.identity.refresh_attempts_per_ip = 2).await;
    let user = app.register(&username("refg")).await;
    let mut identity = app.identity().await;
    let call = |token: &str, ip: &str| {
        let mut request =
            tonic::Request::new(hearth_proto::identity::RefreshRequest { refresh_token: token.to_owned() });
        request.metadata_mut().insert(hearth_platform::auth::CLIENT_IP_HEADER, ip.parse().expect("ascii"));
        request
    };
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let refused = identity.refresh(call("guess", ip)).await.expect_err("a guessed token");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }
    let limited = identity.refresh(call(&user.refresh_token, "203.0.113.3")).await.expect_err("spent");
    assert_eq!(limited.code(), tonic::Code::ResourceExhausted, "{limited:?}");
}

/// A one-viewer reference provider.
async fn provider(shutdown: &CancellationToken) -> Running {
    hearth_tests::reference_provider(
        "#EXTM3U\n#EXTINF:-1,Hearth News\nhttp://example.test/news.m3u8\n",
        r#"{"users": [{"token": "tok-viv", "id": "op-viv", "name": "Viv"}]}"#,
        shutdown,
    )
    .await
}

#[tokio::test]
async fn refused_provider_tokens_are_limited_per_ip() {
    let shutdown = CancellationToken::new();
    let adapter = provider(&shutdown).await;
    let url = format!("http://{}", adapter.addr);
    let app = app_behind_proxy(|c| {
        c.identity.login_attempts_per_ip = 2;
        c.provider.url = Some(url);
        c.provider.api_key = Some(SecretString::new("provider-key"));
    })
    .await;
    for _ in 0..2 {
        let (status, body) =
            post_from(&app, "198.51.100.7", "/v1/auth/provider", json!({"provider_token": "guess"})).await;
        assert_eq!(status, 401, "{body}");
    }
    let genuine = json!({"provider_token": "tok-viv"});
    let (status, body) = post_from(&app, "198.51.100.7", "/v1/auth/provider", genuine.clone()).await;
    assert_limited(status, &body, "a provider sign-in from the guessing IP");
    let (status, body) = post_from(&app, "198.51.100.8", "/v1/auth/provider", genuine).await;
    assert_eq!(status, 201, "the genuine token from another IP: {body}");
    shutdown.cancel();
}
