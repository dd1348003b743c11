//! Access-token verification (`TokenKeys::verify`) of arbitrary strings,
//! and of tokens carrying fuzzer-chosen header and claims under a valid
//! signature of the configured key, which reach the algorithm, key id,
//! claims and expiry checks behind the signature. Whatever verifies must
//! carry the configured issuer and audience and be unexpired, and the
//! verified-token cache must never admit what verification refused.
//!
//! Input: byte 0 = 0 → the rest is `header JSON \n claims JSON`, signed
//! here; anything else → the whole input (lossy UTF-8) is the token.
#![no_main]

use hearth_fuzz::jwt;
use hearth_platform::auth::AuthError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = match data.split_first() {
        Some((0, rest)) => {
            let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b"{}"[..]),
            };
            jwt::sign(header, claims)
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    check(&token);
});

fn check(token: &str) {
    let keys = jwt::keys();
    let config = jwt::config();
    let first = keys.verify(token);
    if let Ok(claims) = &first {
        assert_eq!(claims.iss, config.issuer, "accepted a foreign issuer");
        assert_eq!(claims.aud, config.audience, "accepted a foreign audience");
        assert!(claims.exp.saturating_add(config.leeway.as_secs()) >= jwt::now_secs(), "accepted an expired token");
    }
    // The second call is answered from the cache when the first succeeded.
    match (&first, keys.verify(token)) {
        (Ok(a), Ok(b)) => assert_eq!(a, &b, "cache returned other claims"),
        (Ok(_), Err(AuthError::Expired)) | (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("verified, then refused from the cache: {e}"),
        (Err(e), Ok(_)) => panic!("refused ({e}), then accepted"),
    }
}
