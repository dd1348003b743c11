//! Access tokens: EdDSA (Ed25519) JWTs that identity signs and every service
//! verifies locally, with several verification keys at once for rotation.

use std::{
    collections::HashMap,
    io::Write,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine;
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;

/// The claims of a Hearth access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id (UUID).
    pub sub: String,
    /// The session id (UUID): logout and refresh-token reuse revoke it.
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
    /// Operator roles such as `admin`; empty for viewers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl Claims {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }

    /// A Hearth process calling another on its own behalf
    /// ([`TokenKeys::issue_service`]); user ids are UUIDs, so no user token
    /// can pass for one.
    pub fn is_service(&self) -> bool {
        self.sub.starts_with(SERVICE_SUBJECT_PREFIX) && self.roles.iter().any(|r| r == "service")
    }

    /// The service name of a service token (`gateway`, `polls`, …).
    pub fn service_name(&self) -> Option<&str> {
        if self.is_service() { self.sub.strip_prefix(SERVICE_SUBJECT_PREFIX) } else { None }
    }
}

/// This process's own credential for calling other Hearth services,
/// reissued before it expires. Cheap to clone.
#[derive(Clone)]
pub struct ServiceCredential {
    keys: TokenKeys,
    name: String,
    instance: String,
    current: Arc<std::sync::Mutex<Option<(String, u64)>>>,
}

impl ServiceCredential {
    pub fn new(keys: TokenKeys, name: &str, instance: &str) -> Self {
        Self { keys, name: name.to_owned(), instance: instance.to_owned(), current: Default::default() }
    }

    /// `Bearer <token>`, reissued once half its lifetime has passed.
    pub fn bearer(&self) -> Result<String, AuthError> {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = now_secs();
        if let Some((token, renew_at)) = current.as_ref()
            && now < *renew_at
        {
            return Ok(format!("Bearer {token}"));
        }
        let token = self.keys.issue_service(&self.name, &self.instance)?;
        let renew_at = now + self.keys.access_ttl().as_secs() / 2;
        let bearer = format!("Bearer {token}");
        *current = Some((token, renew_at));
        Ok(bearer)
    }
}

/// The header a gateway's service credential travels in, beside the
/// user's own `authorization`, where a service honours values the gateway
/// measured for the user (quiz response times).
pub const SERVICE_HEADER: &str = "hearth-service-authorization";

/// The metadata in which the gateway passes the client's IP on calls
/// whose message has no field for it (Refresh). Honoured only beside the
/// gateway's credential in [`SERVICE_HEADER`].
pub const CLIENT_IP_HEADER: &str = "hearth-client-ip";

/// Subjects of service tokens start with this.
const SERVICE_SUBJECT_PREFIX: &str = "service:";

/// Longest token accepted (Hearth's own are ~400 bytes): a huge token is
/// refused before any parsing, and never fills the verified cache.
pub const TOKEN_MAX_BYTES: usize = 8 * 1024;

/// Verified tokens remembered at most; the cache starts over beyond.
const VERIFIED_MAX: usize = 100_000;

/// Why a token or key was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing access token")]
    Missing,
    #[error("malformed authorization header")]
    MalformedHeader,
    #[error("token has no key id (kid)")]
    MissingKid,
    #[error("token signed with an unknown key id")]
    UnknownKid,
    #[error("token algorithm is not EdDSA")]
    WrongAlgorithm,
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` lies further in the future than the leeway: a
    /// token minted ahead of time (or by a clock far ahead) is refused
    /// until it becomes valid.
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("this process holds no signing key")]
    NoSigningKey,
    #[error("invalid key configuration: {0}")]
    KeyConfig(String),
}

struct SigningMaterial {
    kid: String,
    key: EncodingKey,
}

/// One public key, as published in the JWKS document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// The JSON Web Key Set (RFC 7517) of every accepted verification key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Signs and verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenKeys {
    inner: Arc<Inner>,
}

struct Inner {
    signing: Option<SigningMaterial>,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: u64,
    /// Tokens already verified, with their claims: an Ed25519 check costs
    /// ~50 µs, and a connection's token is presented on every call it makes.
    verified: std::sync::Mutex<HashMap<String, Claims>>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn jwk(kid: &str, key: &VerifyingKey) -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes()),
        kid: kid.into(),
        alg: "EdDSA".into(),
        use_: "sig".into(),
    }
}

/// A new random Ed25519 private key as PKCS#8 PEM.
pub fn generate_signing_key_pem() -> Result<String, AuthError> {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    key.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).map_err(|e| AuthError::KeyConfig(e.to_string()))
}

/// The SPKI PEM public key of a PKCS#8 PEM private key.
pub fn public_key_pem(private_pem: &str) -> Result<String, AuthError> {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    let key = SigningKey::from_pkcs8_pem(private_pem).map_err(|e| AuthError::KeyConfig(e.to_string()))?;
    key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(|e| AuthError::KeyConfig(e.to_string()))
}

/// The dev key file's contents, creating it (once, atomically) if missing.
fn dev_key(path: &Path) -> Result<String, AuthError> {
    let io = |e: std::io::Error| AuthError::KeyConfig(format!("{}: {e}", path.display()));
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let pem = generate_signing_key_pem()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes()).map_err(io)?;
            tracing::warn!(
                path = %path.display(),
                "no auth.signing_key configured: generated a development signing key; configure a real key in production"
            );
            Ok(pem)
        }
        // Another process won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path).map_err(io),
        Err(e) => Err(io(e)),
    }
}

/// A short stable key id derived from the public key.
fn derived_kid(key: &VerifyingKey) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

impl TokenKeys {
    /// Loads the configured keys, or the shared development key when none is
    /// configured.
    pub fn from_config(config: &AuthConfig) -> Result<Self, AuthError> {
        let private_pem = match &config.signing_key {
            Some(pem) => pem.expose().to_owned(),
            None => dev_key(&config.dev_key_path)?,
        };
        let signing_key = SigningKey::from_pkcs8_pem(&private_pem).map_err(|e| AuthError::KeyConfig(e.to_string()))?;
        let verifying_key = signing_key.verifying_key();
        let kid = config.signing_key_id.clone().unwrap_or_else(|| derived_kid(&verifying_key));
        let der = signing_key.to_pkcs8_der().map_err(|e| AuthError::KeyConfig(e.to_string()))?;
        let signing = SigningMaterial { kid: kid.clone(), key: EncodingKey::from_ed_der(der.as_bytes()) };

        let mut verifying = HashMap::new();
        let mut jwks = Jwks { keys: Vec::new() };
        verifying.insert(kid.clone(), DecodingKey::from_ed_der(verifying_key.as_bytes()));
        jwks.keys.push(jwk(&kid, &verifying_key));
        for extra in &config.verification_keys {
            let key = VerifyingKey::from_public_key_pem(&extra.public_key)
                .map_err(|e| AuthError::KeyConfig(format!("verification key {}: {e}", extra.kid)))?;
            verifying.insert(extra.kid.clone(), DecodingKey::from_ed_der(key.as_bytes()));
            jwks.keys.push(jwk(&extra.kid, &key));
        }

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.required_spec_claims = ["exp", "iat", "iss", "aud", "sub"].iter().map(|s| s.to_string()).collect();

        Ok(Self {
            inner: Arc::new(Inner {
                signing: Some(signing),
                verifying,
                jwks,
                validation,
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                ttl: config.access_token_ttl,
                leeway: config.leeway.as_secs(),
                verified: Default::default(),
            }),
        })
    }

    /// Issues an access token for a user's session.
    pub fn issue(&self, user_id: &str, session_id: &str, roles: &[String]) -> Result<String, AuthError> {
        let signing = self.inner.signing.as_ref().ok_or(AuthError::NoSigningKey)?;
        let iat = now_secs();
        let claims = Claims {
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat,
            exp: iat + self.inner.ttl.as_secs(),
            roles: roles.to_vec(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signing.kid.clone());
        jsonwebtoken::encode(&header, &claims, &signing.key).map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// A token for this process to call other Hearth services as itself
    /// (`service:<name>`, role `service`), valid as long as user tokens.
    pub fn issue_service(&self, name: &str, instance: &str) -> Result<String, AuthError> {
        self.issue(&format!("{SERVICE_SUBJECT_PREFIX}{name}"), instance, &["service".to_owned()])
    }

    /// Lifetime of issued access tokens.
    pub fn access_ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// Verifies signature, algorithm, key id, issuer, audience, expiry and
    /// that the token is already valid (`nbf`, `iat`, within the leeway).
    /// A token verified before is only checked for expiry again.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > TOKEN_MAX_BYTES {
            return Err(AuthError::Invalid(format!("token longer than {TOKEN_MAX_BYTES} bytes")));
        }
        let cached = self.verified_cache().get(token).cloned();
        if let Some(claims) = cached {
            // Saturating: `exp` is whatever the signer wrote, up to u64::MAX.
            if claims.exp.saturating_add(self.inner.leeway) >= now_secs() {
                return Ok(claims);
            }
            self.verified_cache().remove(token);
            return Err(AuthError::Expired);
        }
        let claims = self.verify_uncached(token)?;
        let mut cache = self.verified_cache();
        if cache.len() >= VERIFIED_MAX {
            cache.clear();
        }
        cache.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn verified_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Claims>> {
        self.inner.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn verify_uncached(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(AuthError::MissingKid)?;
        let key = self.inner.verifying.get(&kid).ok_or(AuthError::UnknownKid)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.inner.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                _ => AuthError::Invalid(e.to_string()),
            })?;
        // jsonwebtoken checks `nbf` but never `iat`: a token issued in the
        // future would otherwise outlive its intended lifetime.
        if claims.iat > now_secs().saturating_add(self.inner.leeway) {
            return Err(AuthError::NotYetValid);
        }
        Ok(claims)
    }

    /// Verifies the `authorization: Bearer …` metadata of a gRPC request.
    pub fn authenticate(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Claims, AuthError> {
        let value = metadata.get("authorization").ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::MalformedHeader)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::MalformedHeader)?;
        self.verify(token.trim())
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Jwks {
        &self.inner.jwks
    }
}

impl From<AuthError> for tonic::Status {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::NoSigningKey | AuthError::KeyConfig(_) => tonic::Status::internal(err.to_string()),
            _ => tonic::Status::unauthenticated(err.to_string()),
        }
    }
}

/// Checks `authorization: Bearer <key>` against a key shared out of band
/// (a provider API key, the ingest key), in constant time. `what` names
/// the key in the refusal.
pub fn check_static_key(metadata: &tonic::metadata::MetadataMap, key: &str, what: &str) -> Result<(), tonic::Status> {
    let presented = metadata.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let same = |a: &[u8], b: &[u8]| a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    match presented {
        Some(p) if same(p.as_bytes(), key.as_bytes()) => Ok(()),
        Some(_) => Err(tonic::Status::unauthenticated(format!("wrong {what}"))),
        None => Err(tonic::Status::unauthenticated(format!("missing `authorization: Bearer <{what}>`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;

    fn config(pem: &str) -> AuthConfig {
        AuthConfig { signing_key: Some(SecretString::new(pem)), ..AuthConfig::default() }
    }

    #[test]
    fn issued_tokens_verify() {
        let keys = TokenKeys::from_config(&config(&generate_signing_key_pem().unwrap())).unwrap();
        let token = keys.issue("u1", "s1", &[]).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
    }

    #[test]
    fn tokens_from_another_key_are_refused() {
        let a = TokenKeys::from_config(&config(&generate_signing_key_pem().unwrap())).unwrap();
        let b = TokenKeys::from_config(&config(&generate_signing_key_pem().unwrap())).unwrap();
        let token = a.issue("u1", "s1", &[]).unwrap();
        assert!(matches!(b.verify(&token), Err(AuthError::UnknownKid)));
    }

    /// Found by fuzz/fuzz_targets/jwt.rs: the cached-token expiry check
    /// overflowed (a panic in debug builds, "expired" in release) on the
    /// second presentation of a valid token whose `exp` is near u64::MAX.
    #[test]
    fn far_future_expiry_verifies_again_from_the_cache() {
        let keys = TokenKeys::from_config(&config(&generate_signing_key_pem().unwrap())).unwrap();
        let signing = keys.inner.signing.as_ref().unwrap();
        let claims = Claims {
            iss: "hearth".into(),
            aud: "hearth".into(),
            sub: "u1".into(),
            sid: "s1".into(),
            iat: now_secs(),
            exp: u64::MAX,
            roles: vec![],
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signing.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &signing.key).unwrap();
        assert_eq!(keys.verify(&token).unwrap().exp, u64::MAX);
        assert_eq!(keys.verify(&token).unwrap().exp, u64::MAX, "cached verdict");
    }

    #[test]
    fn rotated_keys_still_verify() {
        let old_pem = generate_signing_key_pem().unwrap();
        let old = TokenKeys::from_config(&config(&old_pem)).unwrap();
        let token = old.issue("u1", "s1", &[]).unwrap();
        let kid = old.jwks().keys[0].kid.clone();
        let mut new_config = config(&generate_signing_key_pem().unwrap());
        new_config
            .verification_keys
            .push(crate::config::VerificationKeyConfig { kid, public_key: public_key_pem(&old_pem).unwrap() });
        let new = TokenKeys::from_config(&new_config).unwrap();
        assert_eq!(new.verify(&token).unwrap().sub, "u1");
        assert_eq!(new.jwks().keys.len(), 2);
    }

    /// Signs arbitrary claims with the key of `pem`, under its kid.
    fn sign(pem: &str, keys: &TokenKeys, claims: serde_json::Value) -> String {
        let der = SigningKey::from_pkcs8_pem(pem).unwrap().to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.jwks().keys[0].kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    fn claims_at(iat: u64, nbf: Option<u64>) -> serde_json::Value {
        let mut claims = serde_json::json!({
            "iss": "hearth", "aud": "hearth", "sub": "u1", "sid": "s1", "iat": iat, "exp": now_secs() + 600,
        });
        if let Some(nbf) = nbf {
            claims["nbf"] = nbf.into();
        }
        claims
    }

    #[test]
    fn tokens_not_yet_valid_are_refused() {
        let pem = generate_signing_key_pem().unwrap();
        let keys = TokenKeys::from_config(&config(&pem)).unwrap();
        let leeway = AuthConfig::default().leeway.as_secs();
        let now = now_secs();
        for (what, claims) in [
            ("nbf beyond the leeway", claims_at(now, Some(now + leeway + 120))),
            ("iat beyond the leeway", claims_at(now + leeway + 120, None)),
        ] {
            let token = sign(&pem, &keys, claims);
            assert!(matches!(keys.verify(&token), Err(AuthError::NotYetValid)), "{what}");
            // Refused again: a refusal is never cached as a success.
            assert!(keys.verify(&token).is_err(), "{what}, twice");
        }
    }

    #[test]
    fn oversized_tokens_are_refused_even_when_signed() {
        let pem = generate_signing_key_pem().unwrap();
        let keys = TokenKeys::from_config(&config(&pem)).unwrap();
        let mut claims = claims_at(now_secs(), None);
        claims["pad"] = "x".repeat(TOKEN_MAX_BYTES).into();
        assert!(matches!(keys.verify(&sign(&pem, &keys, claims)), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn clock_skew_within_the_leeway_is_tolerated() {
        let pem = generate_signing_key_pem().unwrap();
        let keys = TokenKeys::from_config(&config(&pem)).unwrap();
        let leeway = AuthConfig::default().leeway.as_secs();
        let now = now_secs();
        for (what, claims) in [
            ("nbf inside the leeway", claims_at(now, Some(now + leeway / 2))),
            ("iat inside the leeway", claims_at(now + leeway / 2, None)),
            ("nbf in the past", claims_at(now - 60, Some(now - 60))),
        ] {
            assert_eq!(keys.verify(&sign(&pem, &keys, claims)).unwrap().sub, "u1", "{what}");
        }
    }
}
