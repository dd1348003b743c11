//! Writes the seeds that need Rust to make (run by seed.sh):
//! `corpus/ws_frame_proto/` from the JSON frames in `corpus/ws_frame_json/`,
//! and `corpus/jwt/` tokens of the fixed fuzz key.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus

use std::{fs, path::Path};

use hearth_fuzz::jwt;
use hearth_proto::hearth::gateway::v1::ClientFrame;
use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corpus = std::env::args().nth(1).ok_or("usage: seeds <corpus dir>")?;
    let corpus = Path::new(&corpus);
    proto_frames(corpus)?;
    tokens(&corpus.join("jwt"))
}

fn proto_frames(corpus: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let out = corpus.join("ws_frame_proto");
    fs::create_dir_all(&out)?;
    let mut written = 0;
    for entry in fs::read_dir(corpus.join("ws_frame_json"))? {
        let path = entry?.path();
        let Ok(frame) = serde_json::from_str::<ClientFrame>(&fs::read_to_string(&path)?) else { continue };
        let name = path.file_stem().ok_or("unnamed seed")?.to_string_lossy().into_owned();
        fs::write(out.join(format!("{name}.binpb")), frame.encode_to_vec())?;
        written += 1;
    }
    fs::write(out.join("garbage.binpb"), [0x52, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a])?;
    println!("ws_frame_proto: {} seeds", written + 1);
    Ok(())
}

fn tokens(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    fs::create_dir_all(out)?;
    let keys = jwt::keys();
    let header = br#"{"alg":"EdDSA","typ":"JWT","kid":"fuzz"}"#;
    let far = 4_102_444_800u64; // 2100-01-01: signed seeds stay valid
    let claims = |extra: &str| {
        format!(
            r#"{{"iss":"hearth","aud":"hearth","sub":"0190b7a0-0000-7000-8000-000000000001","sid":"s1","iat":1700000000,"exp":{far}{extra}}}"#
        )
    };
    let signed = |header: &[u8], claims: &str| [&[0u8][..], header, b"\n", claims.as_bytes()].concat();
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        // Raw tokens: a real issued one (expired by the time it is fuzzed),
        // a service token, and near misses.
        ("raw-issued.jwt", keys.issue("0190b7a0-0000-7000-8000-000000000001", "s1", &[])?.into_bytes()),
        ("raw-service.jwt", keys.issue_service("gateway", "i1")?.into_bytes()),
        ("raw-signed-valid.jwt", jwt::sign(header, claims("").as_bytes()).into_bytes()),
        ("raw-hs256.jwt", jwt::sign(br#"{"alg":"HS256","kid":"fuzz"}"#, claims("").as_bytes()).into_bytes()),
        ("raw-none.jwt", b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_vec()),
        ("raw-garbage.jwt", b"a.b.c".to_vec()),
        // Signed by the target: header and claims as the fuzzer writes them.
        ("signed-valid", signed(header, &claims(""))),
        ("signed-admin", signed(header, &claims(r#","roles":["admin"]"#))),
        ("signed-expired", signed(header, &claims("").replace(&far.to_string(), "1700000100"))),
        ("signed-nbf", signed(header, &claims(r#","nbf":4102444000"#))),
        ("signed-foreign-iss", signed(header, &claims("").replace(r#""iss":"hearth""#, r#""iss":"other""#))),
        ("signed-aud-array", signed(header, &claims("").replace(r#""aud":"hearth""#, r#""aud":["hearth"]"#))),
        ("signed-no-kid", signed(br#"{"alg":"EdDSA"}"#, &claims(""))),
        ("signed-other-kid", signed(br#"{"alg":"EdDSA","kid":"old"}"#, &claims(""))),
        ("signed-hs256", signed(br#"{"alg":"HS256","kid":"fuzz"}"#, &claims(""))),
        (
            "signed-jwk",
            signed(br#"{"alg":"EdDSA","kid":"fuzz","jwk":{"kty":"OKP","crv":"Ed25519","x":"AA"}}"#, &claims("")),
        ),
        ("signed-crit", signed(br#"{"alg":"EdDSA","kid":"fuzz","crit":["exp"],"b64":false}"#, &claims(""))),
        ("signed-dup-iss", signed(header, &claims(r#","iss":"other""#))),
        ("signed-big-exp", signed(header, &claims("").replace(&far.to_string(), "18446744073709551615"))),
        ("signed-float-exp", signed(header, &claims("").replace(&far.to_string(), "4.1e9"))),
        ("signed-not-json", signed(header, "not json")),
    ];
    for (name, bytes) in &seeds {
        fs::write(out.join(name), bytes)?;
    }
    println!("jwt: {} seeds", seeds.len());
    Ok(())
}
