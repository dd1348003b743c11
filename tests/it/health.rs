//! Health and discovery: HTTP liveness/readiness, JWKS, gRPC health.

use hearth_tests::TestApp;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

#[tokio::test]
async fn http_health_and_jwks() {
    let app = TestApp::spawn().await;
    let live = app.http.get(format!("{}/healthz", app.http_url)).send().await.expect("healthz");
    assert_eq!(live.status().as_u16(), 200);
    let ready = app.http.get(format!("{}/readyz", app.http_url)).send().await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200, "{:?}", ready.text().await);

    let jwks: serde_json::Value = app
        .http
        .get(format!("{}/.well-known/jwks.json", app.http_url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks is JSON");
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["kid"], app.config.auth.signing_key_id.clone().unwrap_or_default());
    assert_eq!(key["x"].as_str().map(str::len), Some(43), "32 bytes, base64url");
}

#[tokio::test]
async fn grpc_health_reports_serving() {
    let app = TestApp::spawn().await;
    let channel =
        tonic::transport::Channel::from_shared(app.grpc_url.clone()).expect("url").connect().await.expect("connect");
    let mut health = HealthClient::new(channel);
    for service in ["", "hearth.identity.v1.IdentityService"] {
        let status = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let unknown = health.check(HealthCheckRequest { service: "nope.Service".into() }).await;
    assert_eq!(unknown.expect_err("unknown service").code(), tonic::Code::NotFound);
}

/// Readiness follows the dependencies; liveness does not, so a probe on it
/// restarts no pod during a database outage.
#[tokio::test]
async fn grpc_liveness_stays_serving_while_a_dependency_is_down() {
    let (mut config, _) = hearth_tests::test_config();
    // Nothing listens on port 9: every Postgres ping fails.
    config.database.url = hearth_platform::secret::SecretUrl::new("postgres://postgres@127.0.0.1:9/none".to_owned());
    config.database.acquire_timeout = std::time::Duration::from_millis(300);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let app = hearth::App::start(config, &[hearth::Role::Identity], shutdown).await.expect("starts without Postgres");
    let url = format!("http://{}", app.grpc_addr.expect("a gRPC listener"));
    let channel = tonic::transport::Channel::from_shared(url).expect("url").connect().await.expect("connect");
    let mut health = HealthClient::new(channel);
    let status = |reply: Result<tonic::Response<tonic_health::pb::HealthCheckResponse>, tonic::Status>| {
        reply.expect("health check").into_inner().status
    };
    let not_ready = hearth_tests::eventually("readiness to follow Postgres", || {
        let mut health = health.clone();
        async move {
            let overall = status(health.check(HealthCheckRequest { service: String::new() }).await);
            (overall == ServingStatus::NotServing as i32).then_some(overall)
        }
    })
    .await;
    assert_eq!(not_ready, ServingStatus::NotServing as i32);
    let live =
        status(health.check(HealthCheckRequest { service: hearth_platform::grpc::LIVENESS_SERVICE.into() }).await);
    assert_eq!(live, ServingStatus::Serving as i32, "liveness ignores the dependencies");
}
