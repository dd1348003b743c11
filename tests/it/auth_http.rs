//! The HTTP auth API end to end: register, login, refresh with rotation and
//! reuse detection, logout, validation and conflicts.

use hearth_tests::{PASSWORD, TestApp, username};
use serde_json::json;

#[tokio::test]
async fn register_login_refresh_logout() {
    let app = TestApp::spawn().await;
    let name = username("ann");
    let registered = app.register(&name).await;
    assert!(!registered.user_id.is_empty());
    assert!(registered.access_token.split('.').count() == 3, "a JWT");

    let (status, body) =
        app.post("/v1/auth/login", json!({"username": name.to_uppercase(), "password": PASSWORD}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], registered.user_id.as_str(), "usernames are case-insensitive");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap_or(0) > 0);

    let (status, refreshed) =
        app.post("/v1/auth/refresh", json!({"refresh_token": registered.refresh_token}), None).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["refresh_token"], registered.refresh_token.as_str(), "refresh rotates");

    let access = refreshed["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, _) = app.post("/v1/auth/logout", json!({}), Some(&access)).await;
    assert_eq!(status, 204);
    // The session is over: its refresh token no longer works.
    let (status, body) = app.post("/v1/auth/refresh", json!({"refresh_token": refreshed["refresh_token"]}), None).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_session() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("bob")).await;
    let (status, first) = app.post("/v1/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
    assert_eq!(status, 200);
    // The old token comes back (stolen copy): refused, and the whole family dies.
    let (status, body) = app.post("/v1/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("revoked"), "{body}");
    let (status, _) = app.post("/v1/auth/refresh", json!({"refresh_token": first["refresh_token"]}), None).await;
    assert_eq!(status, 401, "the legitimate successor is revoked too");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let name = username("cat");
    app.register(&name).await;
    let (s1, wrong) = app.post("/v1/auth/login", json!({"username": name, "password": "not the password"}), None).await;
    let (s2, unknown) =
        app.post("/v1/auth/login", json!({"username": username("nobody"), "password": "not the password"}), None).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong["error"]["message"], unknown["error"]["message"]);
}

#[tokio::test]
async fn duplicate_username_is_a_conflict() {
    let app = TestApp::spawn().await;
    let name = username("dup");
    app.register(&name).await;
    let (status, body) =
        app.post("/v1/auth/register", json!({"username": name.to_uppercase(), "password": PASSWORD}), None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "already_exists");
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"username": "ab", "password": PASSWORD}), "username"),
        (json!({"username": "has space", "password": PASSWORD}), "username"),
        (json!({"username": username("shortpw"), "password": "123456789"}), "password"),
        (json!({"username": username("dn"), "password": PASSWORD, "display_name": "bad\u{7}name"}), "display_name"),
        (json!({"username": username("loc"), "password": PASSWORD, "locale": "not a locale"}), "locale"),
    ];
    for (body, field) in cases {
        let (status, reply) = app.post("/v1/auth/register", body, None).await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["code"], "invalid_argument");
        assert_eq!(reply["error"]["field"], field, "{reply}");
    }
    // Nothing was half-written: a valid registration of a refused name still works.
    let (status, body) = app.post("/v1/auth/register", json!({"username": "x", "password": 5}), None).await;
    assert_eq!(status, 400, "wrong JSON types are refused: {body}");
    let (status, body) = app
        .post("/v1/auth/register", json!({"username": username("ok"), "password": PASSWORD, "extra": 1}), None)
        .await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
}

#[tokio::test]
async fn login_is_throttled_per_username() {
    let app = TestApp::spawn_with(hearth::Role::ALL, |c| c.identity.login_attempts_per_user = 3).await;
    let name = username("eve");
    app.register(&name).await;
    for _ in 0..3 {
        let (status, _) =
            app.post("/v1/auth/login", json!({"username": name, "password": "wrong password"}), None).await;
        assert_eq!(status, 401);
    }
    let (status, body) = app.post("/v1/auth/login", json!({"username": name, "password": PASSWORD}), None).await;
    assert_eq!(status, 429, "even the right password waits once the budget is spent: {body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["retry_after_ms"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test]
async fn logout_needs_a_token() {
    let app = TestApp::spawn().await;
    let (status, body) = app.post("/v1/auth/logout", json!({}), None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = app.post("/v1/auth/logout", json!({}), Some("not-a-jwt")).await;
    assert_eq!(status, 401);
}
