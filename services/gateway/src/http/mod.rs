//! The HTTP JSON API: auth endpoints over identity, the invite link page,
//! JWKS, health; and the reference web app's files.

pub mod auth;
pub mod health;
pub mod invite;
pub mod web;

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client's IP: the peer address, or the last hop of the configured
/// forwarding header when the gateway sits behind a trusted proxy.
pub fn client_ip(headers: &HeaderMap, peer: SocketAddr, forwarded_header: Option<&str>) -> String {
    forwarded_header
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or(peer.ip())
        .to_string()
}
