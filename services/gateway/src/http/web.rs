//! The reference web app (`clients/web`), served from `gateway.web_root`
//! on the same origin as the API, so it needs no CORS and its WebSocket
//! carries the page's origin.
//!
//! Files come from the directory as built; any other path that is not the
//! API's answers with `index.html`, so the app's own routes (`/rooms/…`,
//! `/join/…`) survive a reload or a shared link. Paths under the API's
//! prefixes stay 404: a client with a typo gets an error, not HTML.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::IntoResponse;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Path prefixes that belong to the API; never answered with the app.
const API_PREFIXES: [&str; 3] = ["/v1/", "/i/", "/.well-known/"];

/// What the app may load: its own scripts and styles only; images, video
/// and HLS segments from any http(s) origin (operators' CDNs, posters);
/// hls.js runs its transmuxer in a blob: worker.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: http: data: blob:; media-src 'self' https: http: blob:; \
     connect-src 'self' ws: wss: https: http:; worker-src 'self' blob:; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Why the web app cannot be served.
#[derive(Debug, thiserror::Error)]
#[error(
    "gateway.web_root {root:?} holds no index.html ({source}); build it with clients/build.sh or leave web_root empty"
)]
pub struct WebRootError {
    root: PathBuf,
    source: std::io::Error,
}

/// Checks `root` at start, so a wrong path fails the start instead of
/// every page load.
pub fn check(root: &Path) -> Result<(), WebRootError> {
    std::fs::metadata(root.join("index.html"))
        .map(drop)
        .map_err(|source| WebRootError { root: root.to_owned(), source })
}

/// The app's routes for `root`: a fallback, so the API's routes win.
pub fn routes<S: Clone + Send + Sync + 'static>(root: &Path) -> Router<S> {
    // A missing asset is a 404, never index.html parsed as a script.
    let assets = ServeDir::new(root).precompressed_gzip().precompressed_br();
    let pages = assets.clone().fallback(ServeFile::new(root.join("index.html")));
    let app = tower::service_fn(move |request: Request<axum::body::Body>| {
        let (assets, pages) = (assets.clone(), pages.clone());
        async move {
            if !serves_app(request.method(), request.uri().path()) {
                return Ok::<_, std::convert::Infallible>(StatusCode::NOT_FOUND.into_response());
            }
            let immutable = request.uri().path().starts_with("/assets/");
            let served = if immutable {
                assets.oneshot(request).await.map(|response| response.map(axum::body::Body::new))
            } else {
                pages.oneshot(request).await.map(|response| response.map(axum::body::Body::new))
            };
            let mut response = match served {
                Ok(response) => response,
                Err(error) => match error {},
            };
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(immutable)));
            Ok(response)
        }
    });
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .fallback_service(app)
        .layer(header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .layer(header(HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"))
}

/// GET and HEAD of anything outside the API's prefixes.
fn serves_app(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD) && !API_PREFIXES.iter().any(|prefix| path.starts_with(prefix))
}

/// Vite names files under `/assets/` by content hash, so they never change;
/// everything else (index.html first) is revalidated on every load, so a
/// deploy reaches users at their next reload.
fn cache_control(immutable_asset: bool) -> &'static str {
    if immutable_asset { "public, max-age=31536000, immutable" } else { "no-cache" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_prefixes_are_never_the_app() {
        for path in ["/v1/ws2", "/v1/auth/nope", "/i/", "/.well-known/other"] {
            assert!(!serves_app(&Method::GET, path), "{path}");
        }
        for path in ["/", "/rooms/0193", "/join/abc", "/assets/index-1a2b.js", "/v1", "/index.html"] {
            assert!(serves_app(&Method::GET, path), "{path}");
            assert!(serves_app(&Method::HEAD, path), "{path}");
        }
        assert!(!serves_app(&Method::POST, "/"));
    }

    #[test]
    fn a_missing_index_fails_the_check_with_the_path() {
        let error = check(Path::new("/nonexistent/hearth-web")).expect_err("no index.html");
        assert!(error.to_string().contains("/nonexistent/hearth-web"), "{error}");
    }
}
