//! Token attacks against a real service: every forged token is refused with
//! UNAUTHENTICATED, locally, by the service that receives it.

use base64::Engine;
use hearth_proto::identity::UpdateProfileRequest;
use hearth_tests::{TestApp, username};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

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

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.register(&username("tok")).await;
    assert_eq!(update_with(&app, &user.access_token).await, tonic::Code::Ok, "the genuine token works");

    let kid = app.config.auth.signing_key_id.clone().unwrap_or_default();
    let der = {
        use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        ed25519_dalek::SigningKey::from_pkcs8_pem(&app.signing_key_pem).expect("test key").to_pkcs8_der().expect("der")
    };
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |exp: i64| json!({"iss": "hearth", "aud": "hearth", "sub": user.user_id, "sid": "s", "iat": now - 7200, "exp": exp});
    let sign = |kid: &str, claims: serde_json::Value| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    };

    let expired = sign(&kid, claims(now - 3600));
    let wrong_kid = sign("someone-else", claims(now + 600));
    let wrong_audience = sign(
        &kid,
        json!({"iss": "hearth", "aud": "other", "sub": user.user_id, "sid": "s", "iat": now, "exp": now + 600}),
    );
    let mut parts: Vec<String> = user.access_token.split('.').map(str::to_owned).collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1]).expect("payload");
    let forged_payload =
        String::from_utf8(payload).expect("utf8").replace(&user.user_id, "00000000-0000-0000-0000-000000000000");
    parts[1] = b64(forged_payload.as_bytes());
    let tampered = parts.join(".");
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

    for (name, token) in [
        ("expired", expired),
        ("unknown kid", wrong_kid),
        ("wrong audience", wrong_audience),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256),
        ("garbage", "abc".to_owned()),
    ] {
        assert_eq!(update_with(&app, &token).await, tonic::Code::Unauthenticated, "{name}");
    }
}
