//! The reference web app served by the gateway (`gateway.web_root`): its
//! files, its routes answered with index.html, the API untouched, and the
//! invite page linking the app's join route.

use std::path::PathBuf;

use hearth::{App, Role};
use hearth_tests::{TestApp, test_config};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A built app in miniature: index.html and one hashed asset.
fn web_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!("hearth-web-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(root.join("assets")).expect("create the web root");
    std::fs::write(root.join("index.html"), "<!doctype html><title>Hearth app</title><div id=\"root\"></div>")
        .expect("write index.html");
    std::fs::write(root.join("assets/app-1a2b3c.js"), "console.log('hearth')").expect("write an asset");
    root
}

#[tokio::test]
async fn the_gateway_serves_the_app_beside_the_api() {
    let root = web_root();
    let dir = root.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(Role::ALL, |config| config.gateway.web_root = dir).await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.http_url)).send();

    // The app's routes all answer with index.html, revalidated each load,
    // under a CSP that allows only the app's own scripts.
    for path in ["/", "/rooms/0193a0b0-0000-7000-8000-000000000000", "/join/abcDEF123", "/signin"] {
        let page = get(path).await.expect("page");
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert!(headers["content-type"].to_str().unwrap_or_default().starts_with("text/html"), "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(page.text().await.expect("body").contains("Hearth app"), "{path}");
    }

    // Hashed assets are immutable; a missing one is a 404, not HTML.
    let asset = get("/assets/app-1a2b3c.js").await.expect("asset");
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap_or_default().contains("immutable"));
    assert!(asset.headers()["content-type"].to_str().unwrap_or_default().contains("javascript"));
    assert_eq!(get("/assets/app-gone.js").await.expect("missing asset").status(), 404);

    // The API keeps its own answers: unknown API paths are 404, not the app.
    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
    for path in ["/v1/nope", "/v1/auth/nope", "/.well-known/nope"] {
        let response = get(path).await.expect("api path");
        assert_eq!(response.status(), 404, "{path}");
        assert!(!response.text().await.unwrap_or_default().contains("Hearth app"), "{path}");
    }
    let post = app.http.post(format!("{}/", app.http_url)).send().await.expect("post");
    assert!(post.status().is_client_error(), "POST / is {}", post.status());

    // No path escapes the root.
    for path in ["/../Cargo.toml", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fetc%2fpasswd"] {
        let response = get(path).await.expect("traversal");
        let body = response.text().await.unwrap_or_default();
        assert!(!body.contains("root:") && !body.contains("[package]"), "{path}: {body}");
    }

    // The invite page offers the app's join route.
    let (_, mut host) = app.user_ws(&app.ws_url, &[]).await;
    let created = host
        .call(json!({"createRoom": {"kind": "ROOM_KIND_WATCH_PARTY", "title": "Film night", "media": {"assetId": "m-1"}}}))
        .await;
    let room = created["createRoom"]["room"]["roomId"].as_str().expect("room id").to_owned();
    let invite = host.call(json!({"createInvite": {"roomId": room}})).await;
    let code = invite["createInvite"]["invite"]["code"].as_str().expect("code").to_owned();
    let html = get(&format!("/i/{code}")).await.expect("invite page").text().await.expect("html");
    assert!(html.contains(&format!("href=\"/join/{code}\"")), "{html}");
    let _ = std::fs::remove_dir_all(root);
}

#[tokio::test]
async fn a_web_root_without_index_html_fails_the_start_with_its_path() {
    let (mut config, database) = test_config();
    config.gateway.web_root = "/nonexistent/hearth-web-dist".into();
    hearth::migrate(&config).await.expect("migrate");
    let error = App::start(config.clone(), &[Role::Gateway], CancellationToken::new())
        .await
        .err()
        .expect("a gateway with no app to serve must not start");
    assert!(error.to_string().contains("/nonexistent/hearth-web-dist"), "{error}");
    // The test database goes with a TestApp on the same config.
    drop(TestApp::start(config, database, &[]).await);
}
