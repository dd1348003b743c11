//! Token attacks against a real deployment: every forged token is refused,
//! locally, by whichever door it is presented at — a service's gRPC
//! (UNAUTHENTICATED), the WebSocket auth frame (`unauthenticated`, close
//! 4001) and the HTTP API's bearer (401).

use base64::Engine;
use hearth_proto::identity::UpdateProfileRequest;
use hearth_tests::{Registered, TestApp, username};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn update_with(app: &TestApp, token: &str) -> tonic::Code {
    let mut request =
        tonic::Request::new(UpdateProfileRequest { display_name: Some("New Name".into()), ..Default::default() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    match app.identity().await.update_profile(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// Every forgery, named: each is a real attack on an EdDSA JWT verifier.
fn forgeries(app: &TestApp, user: &Registered) -> Vec<(&'static str, String)> {
    let kid = app.config.auth.signing_key_id.clone().unwrap_or_default();
    let signing = {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        ed25519_dalek::SigningKey::from_pkcs8_pem(&app.signing_key_pem).expect("test key")
    };
    let der = {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        signing.to_pkcs8_der().expect("der")
    };
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Well beyond the 30 s leeway.
    let future = now + 3600;
    let claims = |exp: i64| json!({"iss": "hearth", "aud": "hearth", "sub": user.user_id, "sid": "s", "iat": now - 7200, "exp": exp});
    let with = |field: &str, value: Value| {
        let mut c = claims(now + 600);
        c[field] = value;
        c
    };
    let sign = |kid: &str, claims: Value| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    };
    let mut parts: Vec<String> = user.access_token.split('.').map(str::to_owned).collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1]).expect("payload");
    let forged_payload =
        String::from_utf8(payload).expect("utf8").replace(&user.user_id, "00000000-0000-0000-0000-000000000000");
    parts[1] = b64(forged_payload.as_bytes());
    let tampered = parts.join(".");
    let mut flipped: Vec<String> = user.access_token.split('.').map(str::to_owned).collect();
    let mut signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&flipped[2]).expect("signature");
    signature[0] ^= 0x01;
    flipped[2] = b64(&signature);
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string().as_bytes()),
        b64(claims(now + 600).to_string().as_bytes())
    );
    let hs256 = {
        let public = hearth_platform::auth::public_key_pem(&app.signing_key_pem).expect("public key");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims(now + 600), &EncodingKey::from_secret(public.as_bytes())).expect("sign")
    };
    // An RS256 header over a genuine Ed25519 signature of the same input.
    let rs256 = {
        use ed25519_dalek::Signer;
        let input = format!(
            "{}.{}",
            b64(json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string().as_bytes()),
            b64(claims(now + 600).to_string().as_bytes())
        );
        let signature = signing.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    };
    let mut no_exp = claims(now + 600);
    no_exp.as_object_mut().expect("claims object").remove("exp");
    let oversized = sign(&kid, with("pad", "x".repeat(hearth_platform::auth::TOKEN_MAX_BYTES).into()));
    vec![
        ("tampered payload", tampered),
        ("tampered signature", flipped.join(".")),
        ("expired", sign(&kid, claims(now - 3600))),
        ("nbf in the future", sign(&kid, with("nbf", future.into()))),
        ("iat in the future", sign(&kid, with("iat", future.into()))),
        ("wrong issuer", sign(&kid, with("iss", "someone-else".into()))),
        ("wrong audience", sign(&kid, with("aud", "other".into()))),
        ("unknown kid", sign("someone-else", claims(now + 600))),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256),
        ("RS256 header, EdDSA signature", rs256),
        ("missing exp", sign(&kid, no_exp)),
        ("garbage", "abc".to_owned()),
        ("garbage base64", "!!!.@@@.###".to_owned()),
        ("oversized, genuinely signed", oversized),
    ]
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("tok")).await;
    assert_eq!(update_with(&app, &user.access_token).await, tonic::Code::Ok, "the genuine token works");
    let mut wrong = Vec::new();
    for (name, token) in forgeries(&app, &user) {
        let code = update_with(&app, &token).await;
        if code != tonic::Code::Unauthenticated {
            wrong.push(format!("{name}: {code:?}"));
        }
    }
    assert!(wrong.is_empty(), "gRPC accepted or misclassified: {wrong:#?}");
}

/// The same forgeries at the WebSocket auth frame and the HTTP bearer: the
/// gateway verifies locally too, with the same keys and rules.
#[tokio::test]
async fn forged_tokens_are_refused_over_websocket_and_http() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("tokws")).await;
    let mut genuine = app.ws().await;
    assert!(genuine.auth(&user.access_token).await.get("connected").is_some(), "the genuine token connects");
    let mut wrong = Vec::new();
    for (name, token) in forgeries(&app, &user) {
        let mut ws = app.ws().await;
        let reply = ws.auth(&token).await;
        let close = ws.closed().await;
        if reply["error"]["code"] != "unauthenticated" || close != Some(4001) {
            wrong.push(format!("ws {name}: {reply} then close {close:?}"));
        }
        let (status, body) = app.post("/v1/auth/logout", json!({}), Some(&token)).await;
        if status != 401 || body["error"]["code"] != "unauthenticated" {
            wrong.push(format!("http {name}: {status} {body}"));
        }
    }
    assert!(wrong.is_empty(), "accepted or misclassified: {wrong:#?}");
    // None of that touched the genuine session.
    let (status, body) = app.post("/v1/auth/logout", json!({}), Some(&user.access_token)).await;
    assert_eq!(status, 204, "{body}");
}
