//! Token keys built once from a fixed Ed25519 key, so seed tokens stay
//! valid across runs and the fuzzer can sign headers and claims of its own
//! to reach the checks that follow the signature.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer, SigningKey};
use hearth_platform::auth::TokenKeys;
use hearth_platform::config::AuthConfig;
use hearth_platform::secret::SecretString;

/// The `kid` the fixed key is published under.
pub const KID: &str = "fuzz";

fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_bytes(&[7; 32]))
}

/// The configuration `keys` is built from (default issuer, audience, leeway).
pub fn config() -> AuthConfig {
    let pem = signing_key().to_pkcs8_pem(LineEnding::LF).expect("a fixed key encodes as PEM");
    AuthConfig {
        signing_key: Some(SecretString::new(pem.to_string())),
        signing_key_id: Some(KID.into()),
        ..AuthConfig::default()
    }
}

/// Verification keys for the fixed key, built once per process.
pub fn keys() -> &'static TokenKeys {
    static KEYS: OnceLock<TokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| TokenKeys::from_config(&config()).expect("the fixed key loads"))
}

/// A compact JWS of exactly these header and claims bytes, signed with the
/// fixed key (EdDSA), whatever they contain.
pub fn sign(header: &[u8], claims: &[u8]) -> String {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = signing_key().sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
